use leptos::prelude::*;

use crate::domain::{AppError, DatasetFolder, ExportRequest, ExportResult, ModelBlockPreview};

/// Dataset folders under `DATASETS_DIR`.
#[server]
pub async fn dataset_folders() -> Result<Vec<DatasetFolder>, AppError> {
    crate::port::service()?.dataset_folders().await
}

/// Generates and saves an AI Toolkit training config.
#[server]
pub async fn export_config(request: ExportRequest) -> Result<ExportResult, AppError> {
    crate::port::service()?.export_config(request).await
}

/// The `model:` block an export would write for an installed base model, and why.
#[server]
pub async fn preview_model_block(base_model_id: String) -> Result<ModelBlockPreview, AppError> {
    crate::port::service()?
        .preview_model_block(&base_model_id)
        .await
}
