use app::{
    domain::{DownloadRequest, DownloadSettingsUpdate},
    port::ModelService,
};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{
    error::{ApiJson, ApiPath, ApiQuery},
    ApiError, ApiState,
};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/models/download", post(start).get(list))
        .route(
            "/api/models/download/settings",
            get(settings).put(update_settings),
        )
        .route("/api/models/download/clear-finished", post(clear_finished))
        .route("/api/models/download/{job_id}", get(job).delete(cancel))
        .route("/api/models/download/{job_id}/pause", post(pause))
        .route("/api/models/download/{job_id}/resume", post(resume))
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

/// `POST /api/models/download/clear-finished` → `{"cleared": [jobId...]}`: every finished job
/// (installed, failed, cancelled) forgotten, as "Dismiss" does one.
async fn clear_finished(State(service): State<ApiState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "cleared": service.clear_finished_downloads().await? }),
    ))
}

/// `GET /api/models/download/{jobId}` → the job.
async fn job(
    State(service): State<ApiState>,
    ApiPath(job_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let job = service.download_job(&job_id).await?;
    Ok(Json(serde_json::to_value(job).map_err(ApiError::internal)?))
}

/// `?discardPartial=true`: dismissing a failed job also deletes its partial files.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelQuery {
    #[serde(default)]
    discard_partial: bool,
}

/// `DELETE /api/models/download/{jobId}[?discardPartial=true]` → cancels (or dismisses); the
/// job as it is now.
async fn cancel(
    State(service): State<ApiState>,
    ApiPath(job_id): ApiPath<String>,
    ApiQuery(CancelQuery { discard_partial }): ApiQuery<CancelQuery>,
) -> Result<Json<Value>, ApiError> {
    let job = match discard_partial {
        true => service.discard_download(&job_id).await?,
        false => service.cancel_download(&job_id).await?,
    };
    Ok(Json(serde_json::to_value(job).map_err(ApiError::internal)?))
}

/// `POST /api/models/download/{jobId}/pause` → the job, `paused`; 409 when it cannot pause.
async fn pause(
    State(service): State<ApiState>,
    ApiPath(job_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let job = service.pause_download(&job_id).await?;
    Ok(Json(serde_json::to_value(job).map_err(ApiError::internal)?))
}

/// `POST /api/models/download/{jobId}/resume` → the job, queued again; 409 unless paused.
async fn resume(
    State(service): State<ApiState>,
    ApiPath(job_id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let job = service.resume_download(&job_id).await?;
    Ok(Json(serde_json::to_value(job).map_err(ApiError::internal)?))
}

/// `GET /api/models/download/settings` → the settings in force.
async fn settings(State(service): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let settings = service.download_settings().await?;
    Ok(Json(
        serde_json::to_value(settings).map_err(ApiError::internal)?,
    ))
}

/// `PUT /api/models/download/settings` with some of the settings → the settings in force.
async fn update_settings(
    State(service): State<ApiState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let update = DownloadSettingsUpdate::from_json(&body)?;
    let settings = service.update_download_settings(update).await?;
    Ok(Json(
        serde_json::to_value(settings).map_err(ApiError::internal)?,
    ))
}
