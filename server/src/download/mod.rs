//! The download engine: a queue of jobs with a concurrency limit, each fetching its files with
//! resume and verification, then handing them to storage to install. It never imports axum or
//! leptos; the API reads job snapshots that the engine updates without blocking on readers.

mod cleanup;
mod control;
mod gate;
mod jobfile;
mod journal;
mod lease;
mod limit;
pub(crate) mod net;
pub mod plan;
mod progress;
mod ranged;
mod ranged_writer;
mod ranges;
mod resolve;
mod retry;
pub mod reuse;
mod settings;
mod shared;
mod tick;
mod transfer;
mod writer;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use app::domain::{AppError, DownloadJob, ErrorCode, InstalledFile, InstalledModel, JobStatus};

use crate::{
    config::Config,
    inspect,
    storage::{
        hf_cache::{self, HubFile, HubSnapshot},
        now_rfc3339, paths, Store,
    },
};

pub use plan::{FileSource, Plan, PlannedFile};
pub use progress::Tokens;

use progress::Job;

/// How long a stopped job waits for its writer threads (a queue of chunks and one fsync).
const WRITERS_GRACE: Duration = Duration::from_secs(60);

/// Why an attempt stopped: give up, try again, or try again after the partial file grew.
#[derive(Debug)]
pub enum Fail {
    Fatal(AppError),
    Retry(String),
    Progressed(String),
}

/// What transfers need: the HTTP clients, endpoints and limits.
pub struct Engine {
    /// For the Hugging Face and CivitAI endpoints and the CDNs they redirect to.
    http: reqwest::Client,
    /// For user-typed links: connects only to addresses that pass the private-address check.
    links: reqwest::Client,
    /// Name resolution for that check (the same one `links` connects with).
    lookup: net::Lookup,
    hf_endpoint: String,
    civitai_endpoint: String,
    allow_private_urls: bool,
    retry_base: Duration,
    max_attempts: u32,
    /// No answer (to the response headers), or no data in the body, for this long fails an
    /// attempt.
    stall: Duration,
    /// Free space writers leave on the volume (`MODELS_MIN_FREE_BYTES`).
    min_free_bytes: u64,
    /// Connections per large file (`MODELS_DOWNLOAD_CONNECTIONS`, or the saved setting); read
    /// at each attempt, so a change reaches the next attempt of a running job.
    connections: AtomicUsize,
    /// Bytes per ranged request (`MODELS_DOWNLOAD_RANGE_BYTES`).
    range_bytes: u64,
    /// Every connection of every job together (`MODELS_DOWNLOAD_LIMIT`, or the saved setting).
    limit: limit::RateLimit,
    /// Ranged connections open per host, all jobs together: at most `connections` (resized
    /// with it).
    hosts: Mutex<std::collections::HashMap<String, Arc<gate::Gate>>>,
}

impl Engine {
    fn new(config: &Config, lookup: net::Lookup) -> Self {
        let stall = Duration::from_secs(config.download_stall_secs);
        let client = |resolver: Option<net::PublicOnly>| {
            // Timeouts are per phase: `Engine::send` (to the response headers) and the body's
            // stall timer, which does not count the time the disk makes us wait.
            let builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("model-manager/", env!("CARGO_PKG_VERSION")));
            match resolver {
                Some(resolver) => builder.dns_resolver(resolver),
                None => builder,
            }
            .build()
            .expect("the HTTP client builds with static settings")
        };
        let http = client(None);
        let links = if config.allow_private_urls {
            http.clone()
        } else {
            client(Some(net::PublicOnly(lookup.clone())))
        };
        Self {
            http,
            links,
            lookup,
            hf_endpoint: config.hf_endpoint.clone(),
            civitai_endpoint: config.civitai_endpoint.clone(),
            allow_private_urls: config.allow_private_urls,
            retry_base: Duration::from_millis(config.download_retry_base_ms),
            max_attempts: config.download_max_attempts,
            stall,
            min_free_bytes: config.min_free_bytes,
            connections: AtomicUsize::new(config.download_connections),
            range_bytes: config.download_range_bytes,
            limit: limit::RateLimit::new(config.download_limit),
            hosts: Mutex::new(std::collections::HashMap::new()),
        }
    }
}

/// The jobs of this server process, and its part in the volume's jobs (see `shared`).
pub struct Downloads {
    engine: Engine,
    store: Store,
    env_tokens: Tokens,
    min_free_bytes: u64,
    /// The huggingface_hub cache that Hub downloads are linked into.
    hub_cache: PathBuf,
    /// The jobs this server runs now (it holds their leases).
    jobs: Mutex<Vec<Arc<Job>>>,
    shared: shared::Shared,
    /// Jobs downloading at once (resized by the download settings).
    slots: Arc<gate::Gate>,
    /// The settings the environment gives; the saved ones override them.
    defaults: app::domain::DownloadSettings,
    /// The tokens of jobs paused here, kept in memory for their resume (tokens never reach
    /// the volume; a resume on another server needs them from its environment).
    paused_tokens: Mutex<HashMap<String, Tokens>>,
    /// The database generation whose saved download settings are in force (see `tick`).
    settings_generation: Mutex<String>,
    journal_lock: Mutex<()>,
    /// Set by [`Downloads::pause_all`]: jobs that stop now are paused, not cancelled.
    stopping: AtomicBool,
}

impl Downloads {
    pub fn new(config: &Config, store: Store) -> Arc<Self> {
        Arc::new(Self {
            engine: Engine::new(config, net::system_lookup()),
            store: store.clone(),
            env_tokens: Tokens {
                huggingface: config.hf_token.clone(),
                civitai: config.civitai_token.clone(),
            },
            min_free_bytes: config.min_free_bytes,
            hub_cache: config.hf_hub_cache.clone(),
            jobs: Mutex::new(Vec::new()),
            shared: shared::Shared::new(
                store.partial_dir(),
                Duration::from_secs(config.lease_secs),
            ),
            slots: gate::Gate::new(config.max_concurrent_downloads.max(1)),
            defaults: settings::from_config(config),
            paused_tokens: Mutex::new(HashMap::new()),
            settings_generation: Mutex::new(String::new()),
            journal_lock: Mutex::new(()),
            stopping: AtomicBool::new(false),
        })
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn find(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs().iter().find(|j| j.id == id).cloned()
    }

    /// A job of any server on the volume.
    pub fn get(&self, id: &str) -> Result<DownloadJob, AppError> {
        self.find(id)
            .map(|j| self.view(&j))
            .or_else(|| self.volume_job(id))
            .ok_or_else(|| AppError::not_found(format!("no download job {id}")))
    }

    /// Every job on the volume, newest first.
    pub fn list(&self) -> Vec<DownloadJob> {
        self.list_shared()
    }

    /// The wire view of a job; a failed one says how much its kept partial files hold.
    fn view(&self, job: &Job) -> DownloadJob {
        let mut view = job.snapshot();
        if view.status == JobStatus::Failed {
            view.partial_bytes = Some(dir_size(&self.partial_dir(&job.plan()))).filter(|&n| n > 0);
        }
        view
    }

    /// The id of the unfinished job for `model_id` on the volume, if any.
    pub fn active_job(&self, model_id: &str) -> Option<String> {
        self.active_shared(model_id)
    }

    /// Queues a download of `plan`. The job any server on the volume is already running for
    /// the model is returned instead (the same job id); a paused one is resumed with the new
    /// tokens.
    pub fn start(self: &Arc<Self>, plan: Plan, tokens: Tokens) -> Result<String, AppError> {
        plan.check()?;
        self.start_shared(plan, tokens)
    }

    fn with_env(&self, tokens: Tokens) -> Tokens {
        Tokens {
            huggingface: tokens.huggingface.or(self.env_tokens.huggingface.clone()),
            civitai: tokens.civitai.or(self.env_tokens.civitai.clone()),
        }
    }

    /// A paused job only resumes with the token it waits for.
    fn check_tokens(&self, plan: &Plan, tokens: &Tokens) -> Result<(), AppError> {
        let tokens = self.with_env(tokens.clone());
        if plan.needs_hf_token && tokens.huggingface.is_none() {
            return Err(AppError::invalid(
                "huggingfaceToken",
                "this download waits for a Hugging Face token",
            ));
        }
        if plan.needs_civitai_token && tokens.civitai.is_none() {
            return Err(AppError::invalid(
                "civitaiToken",
                "this download waits for a CivitAI API key",
            ));
        }
        Ok(())
    }

    /// Refuses a job whose known size, with everything already queued, would eat into the
    /// reserve of free space.
    fn check_disk(&self, plan: &Plan) -> Result<(), AppError> {
        let pending: u64 = self
            .list()
            .iter()
            .filter(|s| s.status.is_active())
            .map(|s| {
                s.total_bytes
                    .unwrap_or(0)
                    .saturating_sub(s.bytes_downloaded)
            })
            .sum();
        let needed = plan.known_size().unwrap_or(0) + pending;
        let free = self.store.disk_free();
        if needed.saturating_add(self.min_free_bytes) > free {
            return Err(AppError::new(
                ErrorCode::InsufficientStorage,
                format!(
                    "not enough disk space: {} needs {} (with queued downloads) and {} must stay free, but the volume has {} free",
                    plan.model_name,
                    app::format::bytes(needed),
                    app::format::bytes(self.min_free_bytes),
                    app::format::bytes(free)
                ),
            ));
        }
        Ok(())
    }

    /// Cancels an unfinished job, or forgets a finished one (the progress panel's "dismiss"),
    /// whichever server runs it; partial files are removed by the server that runs the job.
    /// Answers once the job has stopped (`cancelled`).
    pub async fn cancel(&self, id: &str) -> Result<DownloadJob, AppError> {
        self.settled(id).await;
        self.paused_tokens().remove(id);
        match self.find(id) {
            Some(job) => {
                job.lock().paused_by_user = false;
                job.stop();
                Ok(control::settled(&job, |s| s.is_finished()).await)
            }
            None => self.cancel_shared(id).await,
        }
    }

    /// Dismisses a finished job and deletes the partial files it kept ("discard partial")
    /// unless another job of the model now uses them; an unfinished job is cancelled, which
    /// removes them too.
    pub async fn discard(&self, id: &str) -> Result<DownloadJob, AppError> {
        self.settled(id).await;
        if let Some(file) = self.shared.volume.read(id) {
            let in_use = self.shared.volume.lease_path(&file.plan.model_id).exists();
            if file.status().is_finished() && !in_use {
                self.remove_partials(&file.plan);
            }
        }
        self.cancel(id).await
    }

    /// Waits the moment between a local job ending or pausing and its final state reaching the
    /// volume (see `run`), so that a dismiss or resume right after finds the job file.
    async fn settled(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(2);
        let ended = |s: JobStatus| s.is_finished() || s == JobStatus::Paused;
        while self.find(id).is_some_and(|j| ended(j.status())) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn paused_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tokens>> {
        self.paused_tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Server shutdown: stops every queued and running job without removing its partial files,
    /// records it as `paused` in the journal (the next start resumes it), and waits up to
    /// `grace` for the runners to close their files. An install already under way may finish.
    pub async fn pause_all(&self, grace: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let stoppable = |s: JobStatus| matches!(s, JobStatus::Queued | JobStatus::Downloading);
        for job in self.jobs().iter().filter(|j| stoppable(j.status())) {
            job.stop();
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline
            && self
                .jobs()
                .iter()
                .any(|j| stoppable(j.status()) || j.status() == JobStatus::Verifying)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.save_journal();
    }

    fn spawn(self: &Arc<Self>, job: Arc<Job>) {
        let this = self.clone();
        self.save_journal();
        tokio::spawn(async move { this.run(job).await });
    }

    fn partial_dir(&self, plan: &Plan) -> PathBuf {
        self.store
            .partial_dir()
            .join(plan::partial_folder(&plan.model_id))
    }

    fn remove_partials(&self, plan: &Plan) {
        let _ = std::fs::remove_dir_all(self.partial_dir(plan));
    }

    async fn run(self: Arc<Self>, job: Arc<Job>) {
        let outcome = self.run_job(&job).await;
        let settled = writers_done(&job).await;
        if self.shared.token(&job.id).is_none() {
            // Another server took the job over: its partial files and state are its now.
            self.jobs().retain(|j| j.id != job.id);
            return;
        }
        let stopped = job.stopped();
        let pausing =
            stopped && (self.stopping.load(Ordering::SeqCst) || job.lock().paused_by_user);
        let status = match outcome {
            Ok(installed) => {
                job.lock().installed_model_id = Some(installed.id.clone());
                self.remove_partials(&job.plan());
                tracing::info!(job = %job.id, model = %installed.id, "download installed");
                JobStatus::Completed
            }
            Err(_) if pausing => {
                tracing::info!(job = %job.id, "download paused, partial files kept");
                JobStatus::Paused
            }
            Err(e) if e.code == ErrorCode::Cancelled || stopped => {
                // Under a writer that never ended, the files are left to the sweep.
                if settled {
                    self.remove_partials(&job.plan());
                }
                tracing::info!(job = %job.id, "download cancelled, partial files removed");
                JobStatus::Cancelled
            }
            Err(e) => {
                if e.code == ErrorCode::IntegrityFailed {
                    self.remove_partials(&job.plan());
                }
                tracing::warn!(job = %job.id, error = %e.message, "download failed");
                job.lock().error = Some(e);
                JobStatus::Failed
            }
        };
        // Forget the tokens as soon as the job no longer needs them (a paused job keeps them
        // in memory for its resume), before the status lets a resume in.
        if status.is_finished() {
            *job.tokens.lock().unwrap_or_else(|e| e.into_inner()) = Tokens::default();
        }
        job.set_status(status);
        if status == JobStatus::Paused {
            // Kept in memory for a resume on this server (never written to the volume).
            let tokens = job.tokens();
            self.paused_tokens().insert(job.id.clone(), tokens);
        }
        self.finish_job(&job);
    }

    async fn run_job(&self, job: &Job) -> Result<InstalledModel, AppError> {
        let cancelled = || AppError::new(ErrorCode::Cancelled, "cancelled");
        let stop = job.stop_token();
        let _slot = tokio::select! {
            slot = self.slots.enter() => slot.ok_or_else(|| AppError::internal("the download queue closed"))?,
            _ = stop.cancelled() => return Err(cancelled()),
        };
        job.set_status(JobStatus::Downloading);
        self.save_journal();

        let mut plan = self.expand_folders(job).await?;
        // Also what a folder listing added, or a journal brought back: checked before any byte.
        plan.check()?;
        let dir = self.partial_dir(&plan);
        std::fs::create_dir_all(&dir)
            .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;

        let mut files = Vec::new();
        let mut hub = Vec::new();
        let mut relisted = Vec::new();
        for index in 0..plan.files.len() {
            let partial = plan::partial_file(&dir, index);
            let file = &plan.files[index];
            // A file with the expected sha256 already on the volume is linked, not fetched.
            let fetched = match reuse::from_volume(&self.store, job, index, file, &partial).await {
                Some(fetched) => fetched,
                None => {
                    reuse::unshare(&partial);
                    self.engine.fetch(job, index, file, &partial).await?
                }
            };
            let dest = file.installed_name(fetched.file_name.as_deref());
            let rel = format!("{}/{dest}", plan.folder);
            verify_file(file, &fetched, &partial, &dest)?;
            check_format(partial.clone(), dest.clone()).await?;
            job.file_done(index, rel.clone());
            if let (
                FileSource::Huggingface {
                    repo,
                    revision,
                    path,
                },
                Some(id),
            ) = (&file.source, &fetched.hub)
            {
                hub.push(HubEntry {
                    repo: repo.clone(),
                    revision: revision.clone(),
                    commit: id.commit.clone(),
                    file: HubFile {
                        repo_path: path.clone(),
                        etag: id.etag.clone(),
                        installed: self.store.models_dir().join(&rel),
                    },
                });
            }
            if let FileSource::Huggingface { path, .. } = &file.source {
                let listed = (file.listed_size, file.listed_sha256.as_deref());
                if listed.0.is_some() && listed != (Some(fetched.size), Some(&fetched.sha256)) {
                    relisted.push((path.clone(), fetched.size, fetched.sha256.clone()));
                }
            }
            files.push(InstalledFile {
                path: rel,
                size_bytes: fetched.size,
                sha256: fetched.sha256,
                identification: None,
            });
            plan.files[index].dest = dest;
        }
        // The journal learns the final names before any file moves, so a start after a crash
        // inside the install finds them (see `cleanup::reconcile`).
        let moves = plan.moves(&dir);
        *job.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan.clone();
        job.set_status(JobStatus::Verifying);
        self.save_journal();
        let record = InstalledModel {
            id: format!("{}-{}", paths::slug(&plan.model_id), &job.id[..8]),
            source_model_id: Some(plan.model_id.clone()),
            name: plan.model_name.clone(),
            family: plan.family,
            model_type: plan.model_type,
            total_size_bytes: files.iter().map(|f| f.size_bytes).sum(),
            files,
            installed_at: now_rfc3339(),
            source: plan.source,
            last_verification: None,
            civitai: None,
        };
        let store = self.store.clone();
        // Under the database lock, the install first checks the lease is still this server's.
        let fence = self.shared.fence(&job.id);
        let installed =
            tokio::task::spawn_blocking(move || store.install_fenced(&moves, record, fence))
                .await
                .map_err(|e| AppError::internal(e.to_string()))??;
        publish_to_hub_cache(&self.hub_cache, &hub);
        self.relist(&plan.model_id, relisted).await;
        Ok(installed)
    }

    /// A custom Hub model whose files changed on the Hub since it was added: its record takes
    /// the sizes and hashes just installed, so its card says what is on the volume.
    async fn relist(&self, model_id: &str, relisted: Vec<(String, u64, String)>) {
        if relisted.is_empty() {
            return;
        }
        let (store, id) = (self.store.clone(), model_id.to_string());
        let saved = tokio::task::spawn_blocking(move || {
            store.update(|db| {
                if let Some(model) = db.custom_models.iter_mut().find(|m| m.id == id) {
                    for (path, size, sha256) in &relisted {
                        model.relist(path, *size, sha256);
                    }
                }
                Ok(())
            })
        })
        .await;
        if let Ok(Err(e)) = saved {
            tracing::warn!(model = %model_id, error = %e, "cannot record the Hub's new listing");
        }
    }

    /// Replaces Hugging Face folder entries with the files the tree API lists.
    async fn expand_folders(&self, job: &Job) -> Result<Plan, AppError> {
        let mut plan = job.plan();
        if !plan
            .files
            .iter()
            .any(|f| matches!(f.source, FileSource::HuggingfaceFolder { .. }))
        {
            return Ok(plan);
        }
        let token = job.tokens().huggingface;
        let mut files = Vec::new();
        for file in plan.files {
            let FileSource::HuggingfaceFolder {
                repo,
                revision,
                folder,
            } = &file.source
            else {
                files.push(file);
                continue;
            };
            let listed = self
                .engine
                .list_folder(job, repo, revision, folder, token.as_deref())
                .await?;
            for (path, size, sha256) in listed {
                files.push(PlannedFile {
                    source: FileSource::Huggingface {
                        repo: repo.clone(),
                        revision: revision.clone(),
                        path: path.clone(),
                    },
                    dest: path,
                    expected_size: size,
                    expected_sha256: sha256,
                    listed_sha256: None,
                    listed_size: None,
                });
            }
        }
        plan.files = files;
        *job.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan.clone();
        job.set_files(&plan);
        self.check_disk_for_running(&plan, job)?;
        self.save_journal();
        Ok(plan)
    }

    fn check_disk_for_running(&self, plan: &Plan, job: &Job) -> Result<(), AppError> {
        let free = self.store.disk_free();
        let needed = plan
            .known_size()
            .unwrap_or(0)
            .saturating_sub(job.snapshot().bytes_downloaded);
        if needed.saturating_add(self.min_free_bytes) > free {
            return Err(AppError::new(
                ErrorCode::InsufficientStorage,
                format!(
                    "not enough disk space: {} needs {} more, the volume has {} free",
                    plan.model_name,
                    app::format::bytes(needed),
                    app::format::bytes(free)
                ),
            ));
        }
        Ok(())
    }
}

/// Bytes of the files directly in `dir` (0 when it does not exist).
fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// A Hub file installed by a job, for the huggingface_hub cache.
struct HubEntry {
    repo: String,
    revision: String,
    commit: String,
    file: HubFile,
}

/// Links a job's Hub files into the huggingface_hub cache, one snapshot per repo and commit.
/// The model is installed either way: a cache that cannot be written is logged, not fatal.
fn publish_to_hub_cache(hub_cache: &std::path::Path, entries: &[HubEntry]) {
    let mut snapshots: BTreeMap<(&str, &str, &str), Vec<HubFile>> = BTreeMap::new();
    for e in entries {
        snapshots
            .entry((&e.repo, &e.revision, &e.commit))
            .or_default()
            .push(e.file.clone());
    }
    for ((repo, revision, commit), files) in snapshots {
        let snapshot = HubSnapshot {
            repo,
            revision,
            commit,
            files: &files,
        };
        if let Err(e) = hf_cache::publish(hub_cache, &snapshot) {
            tracing::warn!(%repo, error = %e, "cannot link the download into the Hugging Face cache");
        }
    }
}

/// Size and sha256 of a finished file against what the source and registry promise.
fn verify_file(
    file: &PlannedFile,
    fetched: &transfer::Fetched,
    partial: &std::path::Path,
    dest: &str,
) -> Result<(), AppError> {
    let fail = |message: String| Err(reject(partial, message));
    if let Some(want) = file.expected_size {
        if want != fetched.size {
            return fail(format!(
                "{dest} is {} bytes, expected {want}: the download is incomplete or wrong",
                fetched.size
            ));
        }
    }
    // The source's answer first, then the record's, then what the Hub's listing said.
    if let Some(want) = fetched
        .expected_sha256
        .as_deref()
        .or(file.published_sha256())
    {
        if *want != fetched.sha256 {
            return fail(format!("{dest} does not match its published sha256 (expected {want}, got {}); the file was removed", fetched.sha256));
        }
    }
    Ok(())
}

/// Waits (bounded) for the job's writer threads: a stopped transfer's threads still write
/// what was queued and save the range journal, and nothing may remove, pause or hand over
/// the partial files under them. False when one is still busy after the grace.
async fn writers_done(job: &Job) -> bool {
    let deadline = Instant::now() + WRITERS_GRACE;
    while !job.writing.idle() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let idle = job.writing.idle();
    if !idle {
        tracing::warn!(job = %job.id, "a writer thread is still busy after {} s: its partial files stay", WRITERS_GRACE.as_secs());
    }
    idle
}

/// A finished file that is not what it should be: removed, so it never looks installed.
fn reject(partial: &std::path::Path, message: String) -> AppError {
    let _ = std::fs::remove_file(partial);
    AppError::new(ErrorCode::IntegrityFailed, message)
}

/// The content check of a finished file (its header, up to the whole GGUF tensor table), off
/// the async runtime; a file that fails it is removed.
async fn check_format(partial: std::path::PathBuf, dest: String) -> Result<(), AppError> {
    let Some(format) = inspect::Format::from_file_name(&dest) else {
        return Ok(());
    };
    tokio::task::spawn_blocking(move || {
        inspect::validate_file(&partial, format)
            .map_err(|e| reject(&partial, format!("{dest} is not a valid model file: {e}")))
    })
    .await
    .map_err(|e| AppError::internal(format!("checking a downloaded file failed: {e}")))?
}
