use leptos::prelude::*;

use crate::domain::{AppError, DatasetFolder, ExportRequest, ExportResult};

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
