use app::port::ModelService;
use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{error::ApiQuery, models::IdQuery, ApiError, ApiState};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/models/installed", get(list).delete(delete))
        .route("/api/models/installed/verify", post(verify))
}

/// `GET /api/models/installed` → `{"models", "totalDiskUsage", "diskFree"}`.
async fn list(State(service): State<ApiState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        serde_json::to_value(service.list_installed().await?).map_err(ApiError::internal)?,
    ))
}

/// `DELETE /api/models/installed?id=<id>` → 200 `{"model": {...}}`, 404 for an unknown id.
async fn delete(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<Json<Value>, ApiError> {
    let model = service.delete_installed(&id).await?;
    Ok(Json(json!({ "model": model })))
}

/// `POST /api/models/installed/verify?id=<id>` → `{"verification": {...}}`.
async fn verify(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<Json<Value>, ApiError> {
    let verification = service.verify_installed(&id).await?;
    Ok(Json(json!({ "verification": verification })))
}
