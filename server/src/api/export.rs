use app::{domain::ExportRequest, port::ModelService};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{error::ApiJson, ApiError, ApiState};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/export", post(export))
        .route("/api/export/datasets", get(datasets))
}

/// `POST /api/export` `{"datasetFolder", "triggerWord", "runName", "baseModelId"?}` → 201
/// `{"yaml", "savedPath", "fileName", "warnings", "notes"}`: the AI Toolkit config, saved
/// under `EXPORTS_DIR` (what the Export page's server function does).
async fn export(
    State(service): State<ApiState>,
    ApiJson(request): ApiJson<ExportRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let result = service.export_config(request).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(result).map_err(ApiError::internal)?),
    ))
}

/// `GET /api/export/datasets` → `{"datasets": [{path, name, imageCount}]}`: the folders under
/// `DATASETS_DIR` an export may name.
async fn datasets(State(service): State<ApiState>) -> Result<Json<Value>, ApiError> {
    // The trait's method: `Service` has an inherent one of the same name for its own use.
    let datasets = ModelService::dataset_folders(service.as_ref()).await?;
    Ok(Json(json!({ "datasets": datasets })))
}
