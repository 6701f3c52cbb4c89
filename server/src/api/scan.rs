use app::{domain::AdoptRequest, port::ModelService};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{
    error::{ApiJson, ApiQuery},
    models::IdQuery,
    ApiError, ApiState,
};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/models/scan", get(status).post(start))
        .route("/api/models/adopt", post(adopt))
        .route("/api/models/installed/forget", post(forget))
        .route("/api/models/dedupe", post(dedupe))
}

/// `POST /api/models/scan` → 202 with the scan's status; starts a background scan of
/// `MODELS_DIR` and `MODELS_SCAN_DIRS` unless one runs.
async fn start(State(service): State<ApiState>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let status = service.start_scan().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::to_value(status).map_err(ApiError::internal)?),
    ))
}

/// `GET /api/models/scan` → progress and the untracked files.
async fn status(State(service): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let status = service.scan_status().await?;
    Ok(Json(
        serde_json::to_value(status).map_err(ApiError::internal)?,
    ))
}

/// `POST /api/models/adopt` `{"paths", "name"?, "family"?, "type"?, "move"?}` → 201
/// `{"model": {...}}`.
async fn adopt(
    State(service): State<ApiState>,
    ApiJson(request): ApiJson<AdoptRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let model = service.adopt(request).await?;
    Ok((StatusCode::CREATED, Json(json!({ "model": model }))))
}

/// `POST /api/models/installed/forget?id=<id>` → `{"model": {...}}`: drops the record of a
/// missing model, touches no file.
async fn forget(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<Json<Value>, ApiError> {
    let model = service.forget_installed(&id).await?;
    Ok(Json(json!({ "model": model })))
}

/// `POST /api/models/dedupe` → `{"linked", "bytesSaved", "skipped"}`: copies inside
/// `MODELS_DIR` with the same sha256 become hard links to one file.
async fn dedupe(State(service): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let result = service.dedupe().await?;
    Ok(Json(
        serde_json::to_value(result).map_err(ApiError::internal)?,
    ))
}
