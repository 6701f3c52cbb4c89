//! The REST routes of the spec: thin adapters over the service, one file per resource.

mod downloads;
mod error;
mod installed;
mod models;
mod upload;

use std::sync::Arc;

use axum::Router;

use crate::service::Service;

pub use error::ApiError;

pub type ApiState = Arc<Service>;

/// Every `/api/...` route, with the service as state.
pub fn router(service: ApiState) -> Router {
    Router::new()
        .merge(models::routes())
        .merge(downloads::routes())
        .merge(installed::routes())
        .merge(upload::routes())
        .with_state(service)
}
