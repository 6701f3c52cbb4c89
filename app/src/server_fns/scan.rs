use leptos::prelude::*;

use crate::domain::{AdoptRequest, AppError, DedupeResult, InstalledModel, ScanStatus};

/// Starts a scan of the volume (unless one runs); its status.
#[server]
pub async fn start_scan() -> Result<ScanStatus, AppError> {
    crate::port::service()?.start_scan().await
}

/// The scan's progress and the untracked files it found.
#[server]
pub async fn get_scan_status() -> Result<ScanStatus, AppError> {
    crate::port::service()?.scan_status().await
}

/// Registers files found by the scan as one installed model.
#[server]
pub async fn adopt_files(request: AdoptRequest) -> Result<InstalledModel, AppError> {
    crate::port::service()?.adopt(request).await
}

/// Drops the record of a model whose files are gone; touches no file.
#[server]
pub async fn forget_installed(id: String) -> Result<InstalledModel, AppError> {
    crate::port::service()?.forget_installed(&id).await
}

/// Replaces duplicate files inside the models folder with hard links.
#[server]
pub async fn dedupe_files() -> Result<DedupeResult, AppError> {
    crate::port::service()?.dedupe().await
}
