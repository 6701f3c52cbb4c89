//! Server functions of the downloads panel: pause and resume a job, the download settings.

use leptos::prelude::*;

use crate::domain::{AppError, DownloadJob, DownloadSettings, DownloadSettingsUpdate};

/// Pauses a queued or running download; its partial files stay for the resume.
#[server]
pub async fn pause_download(job_id: String) -> Result<DownloadJob, AppError> {
    crate::port::service()?.pause_download(&job_id).await
}

/// Resumes a paused download from what it kept.
#[server]
pub async fn resume_download(job_id: String) -> Result<DownloadJob, AppError> {
    crate::port::service()?.resume_download(&job_id).await
}

/// Forgets every finished download (the panel's "Clear finished"); the ids forgotten.
#[server]
pub async fn clear_finished_downloads() -> Result<Vec<String>, AppError> {
    crate::port::service()?.clear_finished_downloads().await
}

/// The download settings in force.
#[server]
pub async fn current_download_settings() -> Result<DownloadSettings, AppError> {
    crate::port::service()?.download_settings().await
}

/// Saves some of the download settings; the settings in force.
#[server]
pub async fn update_download_settings(
    #[server(default)] update: DownloadSettingsUpdate,
) -> Result<DownloadSettings, AppError> {
    crate::port::service()?
        .update_download_settings(update)
        .await
}
