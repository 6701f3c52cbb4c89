use app::{
    domain::{AppError, ErrorCode, UploadCheck, Uploaded},
    port::ModelService,
};
use axum::{
    extract::{multipart::MultipartRejection, DefaultBodyLimit, Multipart, State},
    http::{header::CONTENT_LENGTH, HeaderMap, StatusCode},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;

use super::{error::ApiQuery, ApiError, ApiState};
use crate::{service::UploadFields, sources::upload};

pub fn routes() -> Router<ApiState> {
    // The upload enforces its own limit while streaming (MODELS_UPLOAD_MAX_BYTES).
    Router::new()
        .route("/api/models/upload", post(upload_file))
        .layer(DefaultBodyLimit::disable())
        .route("/api/models/upload/check", get(check))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CheckQuery {
    file_name: String,
    size_bytes: u64,
}

/// `GET /api/models/upload/check?fileName=&sizeBytes=` → `{"alreadyInstalled"?: "a file of
/// the same size is already installed as X (path)"}`: asked before an upload transfers.
async fn check(
    State(service): State<ApiState>,
    ApiQuery(q): ApiQuery<CheckQuery>,
) -> Result<Json<UploadCheck>, ApiError> {
    Ok(Json(
        service.upload_check(&q.file_name, q.size_bytes).await?,
    ))
}

/// `POST /api/models/upload` (multipart: `file`, and optional `name`, `type`, `family`)
/// → 201 `{"model": {...installed record...}, "alreadyInstalled"?: "already installed as X
/// (path): ..."}` (an installed file had the same sha256).
async fn upload_file(
    State(service): State<ApiState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let mut multipart = multipart?;
    let config = service.config();
    let declared: Option<u64> = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    if let Some(len) = declared {
        if len > config.upload_max_bytes.saturating_add(64 * 1024) {
            return Err(AppError::new(
                ErrorCode::TooLarge,
                format!(
                    "the upload is larger than the limit of {} bytes (MODELS_UPLOAD_MAX_BYTES)",
                    config.upload_max_bytes
                ),
            )
            .into());
        }
        let free = service.store().disk_free();
        if len > free {
            return Err(AppError::new(
                ErrorCode::InsufficientStorage,
                format!("the upload needs {len} bytes but the models volume has {free} free"),
            )
            .into());
        }
    }
    let mut fields = UploadFields::default();
    let mut received = None;
    while let Some(field) = multipart.next_field().await.map_err(ApiError::multipart)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if received.is_some() {
                return Err(AppError::invalid("file", "send one file per upload").into());
            }
            let file_name = field.file_name().unwrap_or_default().to_string();
            let dir = service.store().partial_dir();
            received =
                Some(upload::receive(&dir, &file_name, field, config.upload_max_bytes).await?);
        } else {
            let value = field.text().await.map_err(ApiError::multipart)?;
            fields.set(&name, &value)?;
        }
    }
    let received = received.ok_or_else(|| {
        AppError::invalid(
            "file",
            "no file in the upload: send it in a field named file",
        )
    })?;
    let uploaded = service.install_upload(received, fields).await?;
    Ok((StatusCode::CREATED, Json(uploaded)))
}
