use leptos::prelude::*;

use crate::domain::{AppError, Model, ModelFilter};

/// Built-in and custom models that pass `filter`.
#[server]
pub async fn list_models(filter: ModelFilter) -> Result<Vec<Model>, AppError> {
    crate::port::service()?.list_models(&filter).await
}
