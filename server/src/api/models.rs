use app::{
    domain::{AddModelRequest, AddedModel, ModelFilter, ModelUpdate},
    port::ModelService,
};
use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    error::{ApiJson, ApiQuery},
    ApiError, ApiState,
};

pub fn routes() -> Router<ApiState> {
    Router::new().route(
        "/api/models",
        get(list).post(add).patch(update).delete(remove),
    )
}

/// `GET /api/models[?query=&family=&type=&installed=]` → `{"models": [...]}`.
async fn list(
    State(service): State<ApiState>,
    ApiQuery(filter): ApiQuery<ModelFilter>,
) -> Result<Json<Value>, ApiError> {
    let models = service.list_models(&filter).await?;
    Ok(Json(json!({ "models": models })))
}

/// `POST /api/models` → 201 `{"model": {...}, "alreadyInstalled"?: "already installed as X
/// (path): ..."}`.
async fn add(
    State(service): State<ApiState>,
    ApiJson(request): ApiJson<AddModelRequest>,
) -> Result<(StatusCode, Json<AddedModel>), ApiError> {
    let added = service.add_custom_model(request).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[derive(Deserialize)]
pub struct IdQuery {
    pub id: String,
}

/// `PATCH /api/models?id=<id>` with `{name?, description?, tags?, type?, family?}` edits a
/// custom model → `{"model": {...}}`.
async fn update(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
    ApiJson(update): ApiJson<ModelUpdate>,
) -> Result<Json<Value>, ApiError> {
    let model = service.update_custom_model(&id, update).await?;
    Ok(Json(json!({ "model": model })))
}

/// `DELETE /api/models?id=<id>` removes a custom model that is not installed.
async fn remove(
    State(service): State<ApiState>,
    ApiQuery(IdQuery { id }): ApiQuery<IdQuery>,
) -> Result<Json<Value>, ApiError> {
    service.remove_custom_model(&id).await?;
    Ok(Json(json!({ "removed": id })))
}
