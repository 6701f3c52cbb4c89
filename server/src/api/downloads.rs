use app::{domain::DownloadRequest, port::ModelService};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{
    error::{ApiJson, ApiPath},
    ApiError, ApiState,
};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/models/download", post(start).get(list))
        .route("/api/models/download/{job_id}", get(job).delete(cancel))
}

/// `POST /api/models/download` → 202 `{"jobId": "..."}`.
async fn start(
    State(service): State<ApiState>,
    ApiJson(request): ApiJson<DownloadRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job_id = service.start_download(request).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobId": job_id }))))
}

/// `GET /api/models/download` → `{"jobs": [...]}`, newest first.
async fn list(State(service): State<ApiState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "jobs": service.download_jobs().await? })))
}

/// `GET /api/models/download/{jobId}` → the job.
async fn job(
    State(service): State<ApiState>,
    ApiPath(job_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let job = service.download_job(&job_id).await?;
    Ok(Json(serde_json::to_value(job).map_err(ApiError::internal)?))
}

/// `DELETE /api/models/download/{jobId}` → cancels; the job as it is now.
async fn cancel(
    State(service): State<ApiState>,
    ApiPath(job_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let job = service.cancel_download(&job_id).await?;
    Ok(Json(serde_json::to_value(job).map_err(ApiError::internal)?))
}
