use app::{domain::ModelFilter, port::SharedService};
use axum::{
    extract::{rejection::QueryRejection, Query, State},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

use super::ApiError;

pub fn routes() -> Router<SharedService> {
    Router::new().route("/api/models", get(list))
}

/// `GET /api/models[?query=&family=&type=&installed=]` → `{"models": [...]}`.
async fn list(
    State(service): State<SharedService>,
    filter: Result<Query<ModelFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(filter) = filter.map_err(ApiError::query)?;
    let models = service.list_models(&filter).await?;
    Ok(Json(json!({ "models": models })))
}
