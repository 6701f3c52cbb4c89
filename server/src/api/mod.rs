//! The REST routes of the spec: thin adapters over the service, one file per resource.

mod civitai;
mod downloads;
mod error;
mod export;
mod health;
mod installed;
mod models;
mod scan;
mod search;
mod upload;

use std::sync::Arc;

use axum::{extract::DefaultBodyLimit, routing::any, Router};

use crate::service::Service;

use error::{method_not_allowed, not_found};
pub use error::{refuse_large_body, server_fn_error, server_fn_status, ApiError, JSON_BODY_LIMIT};

pub type ApiState = Arc<Service>;

/// Every `/api/...` route, with the service as state. Every error, including an unknown
/// path under `/api`, a wrong method and a body over the JSON limit, is answered as JSON.
pub fn router(service: ApiState) -> Router {
    Router::new()
        .merge(models::routes())
        .merge(downloads::routes())
        .merge(installed::routes())
        .merge(export::routes())
        .merge(scan::routes())
        .merge(search::routes())
        .merge(civitai::routes())
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .merge(upload::routes())
        .merge(health::routes())
        .route("/api/{*path}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(service)
}
