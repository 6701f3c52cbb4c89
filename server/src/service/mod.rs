//! Implements app's `ModelService` port: orchestrates the registry, sources and storage.

mod civitai;
mod custom;
mod download;
mod export;
mod health;
mod scan;
mod search;
mod sizes;
mod upload;

use std::{sync::Arc, time::Duration};

use app::{
    domain::{
        AddModelRequest, AddedModel, AdoptRequest, AppError, CivitaiModel, DatasetFolder,
        DedupeResult, DownloadJob, DownloadRequest, DownloadSettings, DownloadSettingsUpdate,
        ErrorCode, ExportRequest, ExportResult, InstalledList, InstalledModel, JobStatus, Model,
        ModelBlockPreview, ModelFilter, ModelPreview, ModelUpdate, Preferences, PreviewFile,
        RepoFiles, ScanStatus, SearchPage, SearchQuery, UploadCheck, Verification, VolumeState,
    },
    port::ModelService,
};

use crate::{
    config::Config,
    download::{Downloads, Tokens},
    registry::Catalog,
    storage::{dedupe, hf_cache, StorageError, Store},
};

pub use health::Readiness;
pub use upload::UploadFields;

pub struct Service {
    config: Config,
    catalog: Catalog,
    store: Store,
    http: reqwest::Client,
    downloads: Arc<Downloads>,
    scanner: Arc<crate::scan::Scanner>,
    search_cache: search::SearchCache,
    size_refresh: sizes::SizeRefresh,
    /// This service, for the background work it starts.
    me: std::sync::Weak<Service>,
    civitai: Arc<civitai::Lookups>,
}

impl Service {
    /// Opens the models folder and database; fails clearly if either is unusable.
    pub fn new(config: Config) -> Result<Arc<Self>, StorageError> {
        let store = Store::open(&config.models_dir, &config.db_path)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("model-manager/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        let downloads = Downloads::new(&config, store.clone());
        downloads.apply_saved(store.read()?.download_settings);
        let service = Arc::new_cyclic(|me| Self {
            me: me.clone(),
            size_refresh: sizes::SizeRefresh::default(),
            civitai: civitai::Lookups::new(&config),
            config,
            catalog: Catalog::built_in(),
            store,
            http,
            downloads,
            scanner: crate::scan::Scanner::new(),
            search_cache: search::SearchCache::default(),
        });
        service.watch_civitai();
        Ok(service)
    }

    /// Reconciles the download journal with the database, resumes its unfinished downloads
    /// and starts the sweep of stale partial files; call once the runtime runs.
    pub fn resume_downloads(&self) -> usize {
        let ttl = Duration::from_secs(self.config.partial_ttl_hours.saturating_mul(3600));
        self.downloads.resume_from_journal(ttl)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs blocking storage work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(store))
            .await
            .map_err(|e| AppError::internal(format!("storage task failed: {e}")))?
    }

    /// Installed files that can stand in for Hugging Face cache entries.
    async fn hub_survivors(&self) -> Result<Vec<hf_cache::Survivor>, AppError> {
        let db = self.blocking(|store| Ok(store.read()?)).await?;
        Ok(download::hub_files(
            &self.catalog,
            &db,
            &self.config.models_dir,
        ))
    }
}

#[async_trait::async_trait]
impl ModelService for Service {
    async fn search(&self, query: SearchQuery) -> Result<SearchPage, AppError> {
        self.search_page(query).await
    }

    async fn hub_repo_files(
        &self,
        repo: &str,
        revision: Option<&str>,
    ) -> Result<RepoFiles, AppError> {
        self.repo_files(repo, revision).await
    }

    async fn civitai_model(&self, model_id: u64) -> Result<CivitaiModel, AppError> {
        self.civitai_versions(model_id).await
    }

    async fn list_models(&self, filter: &ModelFilter) -> Result<Vec<Model>, AppError> {
        let (db, present) = self
            .blocking(|store| {
                let db = store.read()?;
                let present: Vec<String> = db
                    .installed
                    .iter()
                    .filter(|m| store.files_present(m))
                    .map(|m| m.id.clone())
                    .collect();
                Ok((db, present))
            })
            .await?;
        // A record whose files are gone does not make its model installed.
        let installed_id = |id: &str| {
            db.installed_from(id)
                .filter(|m| present.contains(&m.id))
                .map(|m| m.id.clone())
        };
        let built_in = self
            .catalog
            .models()
            .iter()
            .map(|m| m.to_model(installed_id(&m.id), db.known_sizes.get(&m.id)));
        let custom = db
            .custom_models
            .iter()
            .map(|m| m.to_model_sized(installed_id(&m.id), db.known_sizes.get(&m.id)));
        self.refresh_sizes(&db);
        Ok(built_in
            .chain(custom)
            .filter(|m| filter.matches(m))
            .collect())
    }

    async fn add_custom_model(&self, request: AddModelRequest) -> Result<AddedModel, AppError> {
        let (model, _) = self.build_custom(request).await?;
        let reserved: Vec<String> = self.catalog.models().iter().map(|m| m.id.clone()).collect();
        let (saved, already_installed) = self
            .blocking(move |store| {
                let db = store.read()?;
                custom::refuse_duplicate(&db.custom_models, &model)?;
                let on_volume = custom::on_volume(&db, store.models_dir(), &model);
                Ok((store.add_custom(model, &reserved)?, on_volume))
            })
            .await?;
        tracing::info!(id = %saved.id, source = ?saved.source_type(), "custom model added");
        Ok(AddedModel {
            model: saved.to_model(None),
            already_installed,
        })
    }

    async fn preview_custom_model(
        &self,
        request: AddModelRequest,
    ) -> Result<ModelPreview, AppError> {
        let (model, warning) = self.build_custom(request).await?;
        let db = self.blocking(|store| Ok(store.read()?)).await?;
        let on_volume = custom::on_volume(&db, self.store.models_dir(), &model);
        let detail = match &model.source {
            crate::registry::CustomSource::Huggingface { repo, revision } => {
                format!("Hugging Face {repo} at {revision}")
            }
            crate::registry::CustomSource::Civitai {
                model_id,
                version_id,
                version_name,
                base_model,
                ..
            } => {
                format!(
                    "CivitAI model {model_id}, version {version_name} ({version_id}), {base_model}"
                )
            }
            crate::registry::CustomSource::Url { url } => format!("Direct link {url}"),
        };
        Ok(ModelPreview {
            files: model
                .files
                .iter()
                .map(|f| PreviewFile {
                    name: f.path.clone(),
                    size_bytes: f.size_bytes,
                    sha256: f.sha256.clone(),
                })
                .collect(),
            model: model.to_model(None),
            detail,
            warning,
            already_installed: on_volume,
        })
    }

    async fn upload_check(
        &self,
        file_name: &str,
        size_bytes: u64,
    ) -> Result<UploadCheck, AppError> {
        self.check_upload(file_name, size_bytes).await
    }

    async fn update_custom_model(&self, id: &str, update: ModelUpdate) -> Result<Model, AppError> {
        let id = id.to_string();
        if self.catalog.get(&id).is_some() {
            return Err(AppError::invalid(
                "id",
                format!("{id} is built in and cannot be edited"),
            ));
        }
        if let Some(job) = self.downloads.active_job(&id) {
            return Err(AppError {
                job_id: Some(job.clone()),
                ..AppError::new(
                    ErrorCode::Conflict,
                    format!("{id} is downloading (job {job}): wait for it or cancel it first"),
                )
            });
        }
        let (model, installed) = self
            .blocking(move |store| {
                store.update(|db| {
                    let installed = db.installed_from(&id).map(|m| m.id.clone());
                    let model = db
                        .custom_models
                        .iter_mut()
                        .find(|m| m.id == id)
                        .ok_or_else(|| {
                            AppError::not_found(format!("no custom model with id {id}"))
                        })?;
                    let moves_files = update.model_type.is_some_and(|t| t != model.model_type)
                        || update.family.is_some_and(|f| f != model.family);
                    if let (true, Some(copy)) = (moves_files, &installed) {
                        return Err(AppError::new(
                            ErrorCode::Conflict,
                            format!(
                                "{id} is installed (id {copy}): its type and family decide its \
                                 folder; delete the installed copy to change them"
                            ),
                        ));
                    }
                    custom::apply_update(model, &update)?;
                    Ok((model.clone(), installed))
                })
            })
            .await?;
        tracing::info!(id = %model.id, "custom model edited");
        Ok(model.to_model(installed))
    }

    async fn remove_custom_model(&self, id: &str) -> Result<(), AppError> {
        let id = id.to_string();
        if self.catalog.get(&id).is_some() {
            return Err(AppError::invalid(
                "id",
                format!("{id} is built in and cannot be removed"),
            ));
        }
        if let Some(job) = self.downloads.active_job(&id) {
            return Err(AppError {
                job_id: Some(job.clone()),
                ..AppError::new(
                    ErrorCode::Conflict,
                    format!("{id} is downloading (job {job}): cancel the download first"),
                )
            });
        }
        self.blocking(move |store| {
            store.update(|db| {
                if let Some(installed) = db.installed_from(&id) {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        format!(
                            "{id} is installed (id {}): delete the installed copy first",
                            installed.id
                        ),
                    ));
                }
                let before = db.custom_models.len();
                db.custom_models.retain(|m| m.id != id);
                if db.custom_models.len() == before {
                    return Err(AppError::not_found(format!("no custom model with id {id}")));
                }
                // What the Hub said of its files goes with it.
                db.known_sizes.remove(&id);
                Ok(())
            })
        })
        .await
    }

    async fn list_installed(&self) -> Result<InstalledList, AppError> {
        self.blocking(|store| {
            let db = store.read()?;
            let show_nsfw_previews = db.preferences.show_nsfw_previews;
            let (models, missing): (Vec<_>, Vec<_>) = db
                .installed
                .into_iter()
                .partition(|m| store.files_present(m));
            let duplicates = dedupe::groups(store.models_dir(), &models);
            Ok(InstalledList {
                total_disk_usage: models.iter().map(|m| m.total_size_bytes).sum(),
                disk_free: store.disk_free(),
                disk_saved: dedupe::saved_by_links(&duplicates),
                duplicates,
                models,
                missing,
                show_nsfw_previews,
            })
        })
        .await
    }

    async fn delete_installed(&self, id: &str) -> Result<InstalledModel, AppError> {
        let id = id.to_string();
        let removed = self
            .blocking(move |store| store.remove_installed(&id))
            .await?;
        tracing::info!(id = %removed.id, name = %removed.name, "installed model deleted");
        // Its links in the Hugging Face cache now dangle: another installed copy takes them
        // over, or they go.
        let survivors = self.hub_survivors().await?;
        if let Err(e) = hf_cache::prune(&self.config.hf_hub_cache, &survivors) {
            tracing::warn!(error = %e, "cannot prune the Hugging Face cache");
        }
        Ok(removed)
    }

    async fn verify_installed(&self, id: &str) -> Result<Verification, AppError> {
        let id = id.to_string();
        self.blocking(move |store| store.verify(&id)).await
    }

    async fn forget_installed(&self, id: &str) -> Result<InstalledModel, AppError> {
        self.forget_record(id).await
    }

    async fn dedupe(&self) -> Result<DedupeResult, AppError> {
        let result = self
            .blocking(|store| {
                let db = store.read()?;
                let groups = dedupe::groups(store.models_dir(), &db.installed);
                Ok(dedupe::dedupe(store.models_dir(), &groups))
            })
            .await?;
        tracing::info!(
            linked = result.linked.len(),
            saved = result.bytes_saved,
            "duplicates replaced by hard links"
        );
        Ok(result)
    }

    async fn start_scan(&self) -> Result<ScanStatus, AppError> {
        Ok(self.begin_scan())
    }

    async fn scan_status(&self) -> Result<ScanStatus, AppError> {
        Ok(self.current_scan())
    }

    async fn adopt(&self, request: AdoptRequest) -> Result<InstalledModel, AppError> {
        self.adopt_files(request).await
    }

    async fn lookup_civitai(&self, id: &str) -> Result<InstalledModel, AppError> {
        self.look_up_installed(id).await
    }

    async fn check_update(&self, id: &str) -> Result<InstalledModel, AppError> {
        Service::check_update(self, id).await
    }

    async fn download_update(&self, id: &str) -> Result<String, AppError> {
        Service::download_update(self, id).await
    }

    async fn preferences(&self) -> Result<Preferences, AppError> {
        self.read_preferences().await
    }

    async fn set_preferences(&self, preferences: Preferences) -> Result<Preferences, AppError> {
        self.save_preferences(preferences).await
    }

    async fn start_download(&self, request: DownloadRequest) -> Result<String, AppError> {
        request.check_tokens()?;
        if request.model_id.trim().is_empty() {
            return Err(AppError::invalid(
                "modelId",
                "say which model to download: modelId is the id of a model from GET /api/models",
            ));
        }
        let db = self.blocking(|store| Ok(store.read()?)).await?;
        let plan = self.plan_for(request.model_id.trim(), &db)?;
        if let Some(installed) = db.installed_from(&plan.model_id) {
            let id = installed.id.clone();
            match Existing::of(installed, self.store.files_present(installed)) {
                Existing::Keep => {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        format!(
                            "{} is already installed (id {id}); a copy whose last verification \
                             found missing or changed files can be downloaded again",
                            plan.model_name
                        ),
                    ))
                }
                // "Download again": the record of the vanished files goes, the files come back.
                Existing::Forget => {
                    self.forget_record(&id).await?;
                }
                // Repair: the damaged copy goes (files and record), a verified one comes.
                Existing::Replace => {
                    self.delete_installed(&id).await?;
                    tracing::info!(id = %id, "damaged copy removed for a new download");
                }
            }
        }
        let clean = |t: Option<String>| t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        let tokens = Tokens {
            huggingface: clean(request.huggingface_token),
            civitai: clean(request.civitai_token),
        };
        // Starting reads and writes the volume's leases and may wait for another server's
        // start to settle: off the async runtime.
        let downloads = self.downloads.clone();
        let job_id = tokio::task::spawn_blocking(move || downloads.start(plan, tokens))
            .await
            .map_err(|e| AppError::internal(format!("the download could not start: {e}")))??;
        tracing::info!(job = %job_id, model = %request.model_id, "download queued");
        Ok(job_id)
    }

    async fn download_job(&self, job_id: &str) -> Result<DownloadJob, AppError> {
        self.downloads.get(job_id)
    }

    async fn download_jobs(&self) -> Result<Vec<DownloadJob>, AppError> {
        Ok(self.downloads.list())
    }

    async fn volume_state(&self) -> Result<VolumeState, AppError> {
        let generation = self.blocking(|store| Ok(store.generation())).await?;
        let downloading = self.downloads.list().iter().any(|j| {
            matches!(
                j.status,
                JobStatus::Queued | JobStatus::Downloading | JobStatus::Verifying
            )
        });
        Ok(VolumeState {
            generation,
            downloading,
        })
    }

    async fn cancel_download(&self, job_id: &str) -> Result<DownloadJob, AppError> {
        self.downloads.cancel(job_id).await
    }

    async fn discard_download(&self, job_id: &str) -> Result<DownloadJob, AppError> {
        let job = self.downloads.discard(job_id).await?;
        tracing::info!(job = %job_id, "download dismissed, partial files discarded");
        Ok(job)
    }

    async fn clear_finished_downloads(&self) -> Result<Vec<String>, AppError> {
        let mut cleared = Vec::new();
        for job in self.downloads.list() {
            if !job.status.is_finished() {
                continue;
            }
            match self.downloads.cancel(&job.id).await {
                Ok(_) => cleared.push(job.id),
                // Another server (or tab) forgot it first.
                Err(e) if e.code == ErrorCode::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        tracing::info!(count = cleared.len(), "finished downloads cleared");
        Ok(cleared)
    }

    async fn pause_download(&self, job_id: &str) -> Result<DownloadJob, AppError> {
        self.downloads.pause(job_id).await
    }

    async fn resume_download(&self, job_id: &str) -> Result<DownloadJob, AppError> {
        self.downloads.resume(job_id).await
    }

    async fn download_settings(&self) -> Result<DownloadSettings, AppError> {
        Ok(self.downloads.settings())
    }

    async fn update_download_settings(
        &self,
        update: DownloadSettingsUpdate,
    ) -> Result<DownloadSettings, AppError> {
        let downloads = self.downloads.clone();
        tokio::task::spawn_blocking(move || downloads.update_settings(update))
            .await
            .map_err(|e| AppError::internal(e.to_string()))?
    }

    async fn dataset_folders(&self) -> Result<Vec<DatasetFolder>, AppError> {
        Ok(self.dataset_folders())
    }

    async fn export_config(&self, request: ExportRequest) -> Result<ExportResult, AppError> {
        self.build_export(&request)
    }

    async fn preview_model_block(
        &self,
        base_model_id: &str,
    ) -> Result<ModelBlockPreview, AppError> {
        self.model_block_preview(base_model_id)
    }
}

/// What a new download of a model does with its installed copy.
#[derive(Debug, PartialEq, Eq)]
enum Existing {
    /// Intact as far as anyone knows: the download is refused (409).
    Keep,
    /// Its files are gone: the record is forgotten, the files come back.
    Forget,
    /// Its last verification found files missing or changed: the copy is deleted and
    /// downloaded again (the card's "Download again" after a failed verify).
    Replace,
}

impl Existing {
    fn of(installed: &InstalledModel, files_present: bool) -> Self {
        if !files_present {
            return Existing::Forget;
        }
        match &installed.last_verification {
            Some(v) if v.found_damage() => Existing::Replace,
            _ => Existing::Keep,
        }
    }
}

#[cfg(test)]
mod existing_tests {
    use super::*;
    use app::domain::Verification;

    fn installed(verification: Option<Verification>) -> InstalledModel {
        let mut model: InstalledModel = serde_json::from_value(serde_json::json!({
            "id": "a", "sourceModelId": "m", "name": "A", "family": "sdxl", "type": "lora",
            "files": [{"path": "lora/a.safetensors", "sizeBytes": 1, "sha256": "00"}],
            "totalSizeBytes": 1, "installedAt": "2026-11-28T00:00:00Z", "source": "huggingface",
            "lastVerification": null
        }))
        .unwrap();
        model.last_verification = verification;
        model
    }

    fn verification(missing: &[&str], changed: &[&str], unexpected: &[&str]) -> Verification {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Verification {
            checked_at: "2026-11-28T00:00:00Z".into(),
            ok: missing.is_empty() && changed.is_empty() && unexpected.is_empty(),
            missing: list(missing),
            changed: list(changed),
            unexpected: list(unexpected),
        }
    }

    #[test]
    fn only_a_copy_found_damaged_is_replaced() {
        use Existing::*;
        let cases = [
            (None, true, Keep),
            (Some(verification(&[], &[], &[])), true, Keep),
            // An extra file in the folder is not damage.
            (Some(verification(&[], &[], &["lora/x.txt"])), true, Keep),
            (
                Some(verification(&[], &["lora/a.safetensors"], &[])),
                true,
                Replace,
            ),
            (
                Some(verification(&["lora/a.safetensors"], &[], &[])),
                true,
                Replace,
            ),
            (None, false, Forget),
            (
                Some(verification(&[], &["lora/a.safetensors"], &[])),
                false,
                Forget,
            ),
        ];
        for (v, present, expected) in cases {
            assert_eq!(
                Existing::of(&installed(v.clone()), present),
                expected,
                "{v:?} {present}"
            );
        }
    }
}
