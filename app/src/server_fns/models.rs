use leptos::prelude::*;

use crate::domain::{
    AddModelRequest, AddedModel, AppError, CustomModelEdit, DownloadJob, DownloadRequest,
    InstalledList, InstalledModel, Model, ModelFilter, ModelPreview, UploadCheck, Verification,
    VolumeState,
};

/// Built-in and custom models that pass `filter`. An empty filter (every field `None`) is sent
/// as no field at all by the URL encoding, so the argument defaults.
#[server]
pub async fn list_models(#[server(default)] filter: ModelFilter) -> Result<Vec<Model>, AppError> {
    crate::port::service()?.list_models(&filter).await
}

/// Adds a custom model (Hugging Face, CivitAI or direct URL); says when its file is already
/// installed.
#[server]
pub async fn add_custom_model(
    #[server(default)] request: AddModelRequest,
) -> Result<AddedModel, AppError> {
    crate::port::service()?.add_custom_model(request).await
}

/// What adding a custom model would save (CivitAI version and file, Hugging Face sizes).
#[server]
pub async fn preview_custom_model(
    #[server(default)] request: AddModelRequest,
) -> Result<ModelPreview, AppError> {
    crate::port::service()?.preview_custom_model(request).await
}

/// Before an upload transfers anything: whether an installed file has exactly this size
/// (and name).
#[server]
pub async fn check_upload(file_name: String, size_bytes: u64) -> Result<UploadCheck, AppError> {
    crate::port::service()?
        .upload_check(&file_name, size_bytes)
        .await
}

/// Edits a custom model: the edit form's fields, all of them (see `CustomModelEdit`).
#[server]
pub async fn update_custom_model(
    id: String,
    #[server(default)] edit: CustomModelEdit,
) -> Result<Model, AppError> {
    crate::port::service()?
        .update_custom_model(&id, edit.into())
        .await
}

/// Removes a custom model that is not installed.
#[server]
pub async fn remove_custom_model(id: String) -> Result<(), AppError> {
    crate::port::service()?.remove_custom_model(&id).await
}

/// Installed models with disk usage and free space.
#[server]
pub async fn list_installed() -> Result<InstalledList, AppError> {
    crate::port::service()?.list_installed().await
}

/// Deletes an installed model and its files.
#[server]
pub async fn delete_installed(id: String) -> Result<InstalledModel, AppError> {
    crate::port::service()?.delete_installed(&id).await
}

/// The integrity check: re-hashes an installed model's files.
#[server]
pub async fn verify_installed(id: String) -> Result<Verification, AppError> {
    crate::port::service()?.verify_installed(&id).await
}

/// Starts (or resumes with tokens) a download; returns the job id.
#[server]
pub async fn start_download(request: DownloadRequest) -> Result<String, AppError> {
    crate::port::service()?.start_download(request).await
}

/// Every download job, newest first.
#[server]
pub async fn download_jobs() -> Result<Vec<DownloadJob>, AppError> {
    crate::port::service()?.download_jobs().await
}

/// The database's generation and whether any download runs on the volume.
#[server]
pub async fn watch_volume() -> Result<VolumeState, AppError> {
    crate::port::service()?.volume_state().await
}

/// Cancels a download; its partial files are removed.
#[server]
pub async fn cancel_download(job_id: String) -> Result<DownloadJob, AppError> {
    crate::port::service()?.cancel_download(&job_id).await
}

/// Dismisses a failed download and deletes the partial files it kept.
#[server]
pub async fn discard_download(job_id: String) -> Result<DownloadJob, AppError> {
    crate::port::service()?.discard_download(&job_id).await
}
