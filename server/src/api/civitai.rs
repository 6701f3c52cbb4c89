//! CivitAI metadata of installed models, their preview images, update checks, and the
//! preferences: thin adapters over the service.

use app::{domain::Preferences, port::ModelService};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
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
        .route("/api/models/installed/civitai", post(lookup))
        .route("/api/models/installed/preview", get(preview))
        .route("/api/models/installed/check-update", post(check_update))
        .route("/api/models/installed/update", post(download_update))
        .route("/api/preferences", get(preferences).put(set_preferences))
}

/// `POST /api/models/installed/civitai?id=<id>` → `{"model": {...}}` with its `civitai`.
async fn lookup(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<Json<Value>, ApiError> {
    let model = service.lookup_civitai(&id).await?;
    Ok(Json(json!({ "model": model })))
}

/// `GET /api/models/installed/preview?id=<id>` → the saved image with its content type.
async fn preview(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<Response, ApiError> {
    let (bytes, content_type) = service.preview_image(&id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            // Cards show it on every render; a new lookup may replace it within minutes.
            (header::CACHE_CONTROL, "private, max-age=300".to_string()),
            // An image, never a document that runs anything if opened on its own.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/models/installed/check-update?id=<id>` → `{"model": {...}}` with
/// `civitai.update`.
async fn check_update(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<Json<Value>, ApiError> {
    let model = service.check_update(&id).await?;
    Ok(Json(json!({ "model": model })))
}

/// `POST /api/models/installed/update?id=<id>` → 202 `{"jobId"}`: adds and downloads the
/// newer version; the installed one stays.
async fn download_update(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job_id = service.download_update(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "jobId": job_id }))))
}

/// `GET /api/preferences` → `{"showNsfwPreviews"}`.
async fn preferences(State(service): State<ApiState>) -> Result<Json<Preferences>, ApiError> {
    Ok(Json(service.preferences().await?))
}

/// `PUT /api/preferences` `{"showNsfwPreviews": bool}` → the saved preferences.
async fn set_preferences(
    State(service): State<ApiState>,
    ApiJson(preferences): ApiJson<Preferences>,
) -> Result<Json<Preferences>, ApiError> {
    Ok(Json(service.set_preferences(preferences).await?))
}
