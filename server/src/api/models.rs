use app::{
    domain::{AddModelRequest, ModelFilter},
    port::ModelService,
};
use axum::{
    extract::{
        rejection::{JsonRejection, QueryRejection},
        Query, State,
    },
    http::StatusCode,
    routing::get,
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiError, ApiState};

pub fn routes() -> Router<ApiState> {
    Router::new().route("/api/models", get(list).post(add).delete(remove))
}

/// `GET /api/models[?query=&family=&type=&installed=]` → `{"models": [...]}`.
async fn list(
    State(service): State<ApiState>,
    filter: Result<Query<ModelFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(filter) = filter.map_err(ApiError::query)?;
    let models = service.list_models(&filter).await?;
    Ok(Json(json!({ "models": models })))
}

/// `POST /api/models` → 201 `{"model": {...}}`.
async fn add(
    State(service): State<ApiState>,
    body: Result<Json<AddModelRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(request) = body.map_err(ApiError::body)?;
    let model = service.add_custom_model(request).await?;
    Ok((StatusCode::CREATED, Json(json!({ "model": model }))))
}

#[derive(Deserialize)]
pub struct IdQuery {
    pub id: String,
}

/// `DELETE /api/models?id=<id>` removes a custom model that is not installed.
async fn remove(
    State(service): State<ApiState>,
    query: Result<Query<IdQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(IdQuery { id }) = query.map_err(ApiError::query)?;
    service.remove_custom_model(&id).await?;
    Ok(Json(json!({ "removed": id })))
}
