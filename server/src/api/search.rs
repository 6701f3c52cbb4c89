//! `/api/search`: models found on Hugging Face and CivitAI, a Hub repo's files and a CivitAI
//! model's versions, for adding one (through `POST /api/models`).

use app::{domain::SearchQuery, port::ModelService};
use axum::{extract::State, routing::get, Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::{
    error::{ApiPath, ApiQuery},
    ApiError, ApiState,
};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/search", get(search))
        .route("/api/search/hf/files", get(hub_files))
        .route("/api/search/civitai/{model_id}", get(civitai_model))
}

fn json(value: impl serde::Serialize) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        serde_json::to_value(value).map_err(ApiError::internal)?,
    ))
}

/// `GET /api/search?source=hf|civitai&q=&type=&baseModel=&sort=&cursor=` →
/// `{results: [...], nextCursor, hiddenNsfw}`.
async fn search(
    State(service): State<ApiState>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    json(service.search(query).await?)
}

#[derive(Deserialize)]
struct FilesQuery {
    repo: String,
    revision: Option<String>,
}

/// `GET /api/search/hf/files?repo=&revision=` → `{repo, revision, files: [{path, sizeBytes,
/// sha256, preselected}]}`.
async fn hub_files(
    State(service): State<ApiState>,
    ApiQuery(q): ApiQuery<FilesQuery>,
) -> Result<Json<Value>, ApiError> {
    json(
        service
            .hub_repo_files(&q.repo, q.revision.as_deref())
            .await?,
    )
}

/// `GET /api/search/civitai/{modelId}` → `{id, name, type, civitaiType, versions: [...],
/// pageUrl}`.
async fn civitai_model(
    State(service): State<ApiState>,
    ApiPath(model_id): ApiPath<u64>,
) -> Result<Json<Value>, ApiError> {
    json(service.civitai_model(model_id).await?)
}
