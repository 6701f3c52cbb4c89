//! The service port: what server functions (and the REST API) ask of the backend.
//! Declared here, implemented in the `server` crate, provided through Leptos context.

use std::sync::Arc;

use crate::domain::{AppError, Model, ModelFilter};

#[async_trait::async_trait]
pub trait ModelService: Send + Sync + 'static {
    /// Built-in and custom models that pass `filter`, with their install status.
    async fn list_models(&self, filter: &ModelFilter) -> Result<Vec<Model>, AppError>;
}

/// The shared handle the server puts into context.
pub type SharedService = Arc<dyn ModelService>;

/// The service from Leptos context, for server functions.
pub fn service() -> Result<SharedService, AppError> {
    leptos::prelude::use_context::<SharedService>()
        .ok_or_else(|| AppError::internal("the model service is not available in this context"))
}
