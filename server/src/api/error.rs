use app::domain::{AppError, ErrorCode};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

/// An error as the REST API answers it: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl ApiError {
    /// A query string that does not parse: a 400 that says which parameter is wrong.
    pub fn query(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self(AppError::invalid("query", rejection.body_text()))
    }
}

impl ApiError {
    /// A JSON body that does not parse or has the wrong shape: a 400 naming the problem.
    pub fn body(rejection: axum::extract::rejection::JsonRejection) -> Self {
        Self(AppError::invalid("body", rejection.body_text()))
    }

    /// A broken multipart stream (bad encoding, client gone).
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

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
        ErrorCode::Upstream => StatusCode::BAD_GATEWAY,
        ErrorCode::TokenRequired => StatusCode::UNAUTHORIZED,
        ErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        ErrorCode::IntegrityFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Cancelled => StatusCode::CONFLICT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (status_of(self.0.code), Json(json!({ "error": self.0 }))).into_response()
    }
}
