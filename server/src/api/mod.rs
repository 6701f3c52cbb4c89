//! The REST routes of the spec: thin adapters over the service, one file per resource.

mod error;
mod models;

use app::port::SharedService;
use axum::Router;

pub use error::ApiError;

/// Every `/api/...` route, with the service as state.
pub fn router(service: SharedService) -> Router {
    Router::new().merge(models::routes()).with_state(service)
}
