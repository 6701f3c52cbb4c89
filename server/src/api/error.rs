//! The one place where errors become HTTP answers: `AppError`s, axum's extractor rejections,
//! unknown routes and wrong methods under `/api`, and server-function errors.

use app::domain::{AppError, ErrorCode};
use axum::{
    body::Body,
    extract::{
        multipart::MultipartRejection,
        rejection::{JsonRejection, PathRejection, QueryRejection},
        FromRequest, FromRequestParts, Request,
    },
    http::{header::CONTENT_LENGTH, Method, StatusCode, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

/// Largest JSON body the API reads; larger ones get 413 `too_large`.
pub const JSON_BODY_LIMIT: usize = 1 << 20;

/// An error as the REST API answers it: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

/// A JSON body whose rejections are answered as [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string whose rejections are answered as [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters whose rejections are answered as [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

fn too_large() -> AppError {
    AppError::new(
        ErrorCode::TooLarge,
        format!("the request body is larger than the limit of {JSON_BODY_LIMIT} bytes"),
    )
}

impl ApiError {
    /// An extractor's rejection, by its status: 413 `too_large`, 415 `unsupported_type`,
    /// anything else a 400 about `field`.
    fn rejected(field: &str, status: StatusCode, text: String) -> Self {
        Self(match status {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::new(ErrorCode::UnsupportedType, text),
            _ => AppError::invalid(field, text),
        })
    }

    /// A broken multipart stream (bad encoding, client gone or stalled).
    pub fn multipart(e: axum::extract::multipart::MultipartError) -> Self {
        Self(AppError::invalid(
            "file",
            format!("the upload could not be read: {}", e.body_text()),
        ))
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self(AppError::internal(e.to_string()))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::rejected("body", r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::rejected("query", r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::rejected("path", r.status(), r.body_text())
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(r: MultipartRejection) -> Self {
        Self::rejected("body", r.status(), r.body_text())
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (status_of(self.0.code), Json(json!({ "error": self.0 }))).into_response()
    }
}

/// An error as a server function answers it: the error object itself, with its status.
pub fn server_fn_error(error: AppError) -> Response {
    (status_of(error.code), Json(error)).into_response()
}

/// Any path under `/api` that no route has.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError(AppError::not_found(format!(
        "there is no API route {method} {}",
        uri.path()
    )))
}

/// A route that exists, asked with a method it does not have.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError(AppError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} does not accept {method}", uri.path()),
    ))
}

/// Server functions read their body whole, up to the body limit, and answer 500 past it:
/// a declared length over the limit gets 413 `too_large` (as a server-function error) first.
pub async fn refuse_large_body(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > JSON_BODY_LIMIT as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(too_large())).into_response();
    }
    next.run(request).await
}

/// The header server functions put on their error answers.
const SERVER_FN_ERROR: &str = "serverfnerror";

/// Server functions answer every error with 500; this gives the answer the status of the
/// error's code, as the REST API does. Redirects of plain form posts are left alone.
pub async fn server_fn_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, JSON_BODY_LIMIT).await else {
        return ApiError::internal("the server function's error could not be read").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = status_of(error.code);
    }
    Response::from_parts(parts, Body::from(bytes))
}
