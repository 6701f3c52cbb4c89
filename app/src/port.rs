//! The service port: what server functions (and the REST API) ask of the backend.
//! Declared here, implemented in the `server` crate, provided through Leptos context.

use std::sync::Arc;

use crate::domain::{
    AddModelRequest, AddedModel, AdoptRequest, AppError, CivitaiModel, DatasetFolder, DedupeResult,
    DownloadJob, DownloadRequest, DownloadSettings, DownloadSettingsUpdate, ExportRequest,
    ExportResult, InstalledList, InstalledModel, Model, ModelBlockPreview, ModelFilter,
    ModelPreview, ModelUpdate, Preferences, RepoFiles, ScanStatus, SearchPage, SearchQuery,
    UploadCheck, Verification, VolumeState,
};

#[async_trait::async_trait]
pub trait ModelService: Send + Sync + 'static {
    /// A page of models found on Hugging Face or CivitAI (cached briefly; NSFW left out).
    async fn search(&self, query: SearchQuery) -> Result<SearchPage, AppError>;
    /// Every file of a Hub repo at a revision (default `main`) with sizes, the main weights
    /// preselected.
    async fn hub_repo_files(
        &self,
        repo: &str,
        revision: Option<&str>,
    ) -> Result<RepoFiles, AppError>;
    /// A CivitAI model and its published versions, for picking one.
    async fn civitai_model(&self, model_id: u64) -> Result<CivitaiModel, AppError>;
    /// Built-in and custom models that pass `filter`, with their install status.
    async fn list_models(&self, filter: &ModelFilter) -> Result<Vec<Model>, AppError>;
    /// Validates, resolves (Hugging Face / CivitAI lookups) and saves a custom model; says
    /// when its file (by published sha256) is already installed.
    async fn add_custom_model(&self, request: AddModelRequest) -> Result<AddedModel, AppError>;
    /// Validates and resolves like `add_custom_model`, without saving.
    async fn preview_custom_model(
        &self,
        request: AddModelRequest,
    ) -> Result<ModelPreview, AppError>;
    /// Before an upload: whether an installed file has exactly `size_bytes` (and the name).
    async fn upload_check(&self, file_name: &str, size_bytes: u64)
        -> Result<UploadCheck, AppError>;
    /// Edits a custom model's name, description, tags, type or family.
    async fn update_custom_model(&self, id: &str, update: ModelUpdate) -> Result<Model, AppError>;
    /// Removes a custom model that is not installed.
    async fn remove_custom_model(&self, id: &str) -> Result<(), AppError>;
    /// Installed models, their total size and the volume's free space.
    async fn list_installed(&self) -> Result<InstalledList, AppError>;
    /// Deletes an installed model's record and the files no other record uses.
    async fn delete_installed(&self, id: &str) -> Result<InstalledModel, AppError>;
    /// Re-hashes an installed model's files against its record.
    async fn verify_installed(&self, id: &str) -> Result<Verification, AppError>;
    /// Drops the record of a model whose files are gone; touches no file.
    async fn forget_installed(&self, id: &str) -> Result<InstalledModel, AppError>;
    /// Replaces copies inside `MODELS_DIR` (same sha256) with hard links; what it saved.
    async fn dedupe(&self) -> Result<DedupeResult, AppError>;
    /// Starts a background scan of the volume unless one runs; its status.
    async fn start_scan(&self) -> Result<ScanStatus, AppError>;
    /// The scan's progress and the untracked files it found.
    async fn scan_status(&self) -> Result<ScanStatus, AppError>;
    /// Registers files found by the scan as one installed model.
    async fn adopt(&self, request: AdoptRequest) -> Result<InstalledModel, AppError>;
    /// Looks an installed model up on CivitAI by its main file's sha256 now ("look up
    /// again"); the record with the answer (its preview follows in the background).
    async fn lookup_civitai(&self, id: &str) -> Result<InstalledModel, AppError>;
    /// "Check for updates": whether CivitAI has a newer version of an installed model.
    async fn check_update(&self, id: &str) -> Result<InstalledModel, AppError>;
    /// Adds the newer version found by `check_update` and starts its download; the job id.
    async fn download_update(&self, id: &str) -> Result<String, AppError>;
    /// The user's display preferences.
    async fn preferences(&self) -> Result<Preferences, AppError>;
    /// Saves the user's display preferences.
    async fn set_preferences(&self, preferences: Preferences) -> Result<Preferences, AppError>;
    /// Queues a download (or resumes a paused one with new tokens); returns the job id.
    async fn start_download(&self, request: DownloadRequest) -> Result<String, AppError>;
    async fn download_job(&self, job_id: &str) -> Result<DownloadJob, AppError>;
    /// Every job on the volume (whichever server runs it), newest first.
    async fn download_jobs(&self) -> Result<Vec<DownloadJob>, AppError>;
    /// The database's generation and whether any job runs: the page polls it to see changes
    /// other servers on the volume make.
    async fn volume_state(&self) -> Result<VolumeState, AppError>;
    /// Cancels a job; its partial files are removed.
    async fn cancel_download(&self, job_id: &str) -> Result<DownloadJob, AppError>;
    /// Dismisses a finished job and deletes the partial files it kept (cancels an unfinished one).
    async fn discard_download(&self, job_id: &str) -> Result<DownloadJob, AppError>;
    /// Forgets every finished job (installed, failed, cancelled) as "Dismiss" does, for every
    /// server on the volume; the ids forgotten.
    async fn clear_finished_downloads(&self) -> Result<Vec<String>, AppError>;
    /// Stops a queued or running job, keeping its partial files; it stays paused (also across
    /// restarts) until resumed.
    async fn pause_download(&self, job_id: &str) -> Result<DownloadJob, AppError>;
    /// Queues a paused job again; it continues from what it kept.
    async fn resume_download(&self, job_id: &str) -> Result<DownloadJob, AppError>;
    /// The download settings in force.
    async fn download_settings(&self) -> Result<DownloadSettings, AppError>;
    /// Saves and applies a change to some of the download settings; the settings in force.
    async fn update_download_settings(
        &self,
        update: DownloadSettingsUpdate,
    ) -> Result<DownloadSettings, AppError>;
    /// Dataset folders the export page can choose from.
    async fn dataset_folders(&self) -> Result<Vec<DatasetFolder>, AppError>;
    /// Writes an AI Toolkit config for a dataset and an installed base model.
    async fn export_config(&self, request: ExportRequest) -> Result<ExportResult, AppError>;
    /// The `model:` block an export would write for an installed base model, and why.
    async fn preview_model_block(&self, base_model_id: &str)
        -> Result<ModelBlockPreview, AppError>;
}

/// The shared handle the server puts into context.
pub type SharedService = Arc<dyn ModelService>;

/// The service from Leptos context, for server functions.
pub fn service() -> Result<SharedService, AppError> {
    leptos::prelude::use_context::<SharedService>()
        .ok_or_else(|| AppError::internal("the model service is not available in this context"))
}
