//! Several servers on one volume: jobs belong to the volume (state files, see `jobfile`), each
//! run by the one server that holds its model's lease (see `lease`). Here: how a job starts
//! or resumes on the volume, and how every server lists every job. The tick that renews
//! leases and takes jobs over is in `tick`.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use app::domain::{AppError, DownloadJob, ErrorCode, JobStatus};

use super::{
    jobfile::{JobFile, Volume},
    lease::{self, Found, Lease, Owner, Watch},
    plan::Plan,
    progress::Job,
    Downloads, Tokens,
};
use crate::storage::now_rfc3339;

/// How often leases are renewed and progress is written.
pub(super) const TICK: Duration = Duration::from_secs(1);
/// A job file that says "running" with no lease at all (its owner died between releasing and
/// writing, or every server was down) is taken over once seen so for this long: a server that
/// creates a job writes its lease first, so this only guards against slow file systems.
pub(super) const ORPHAN_AFTER: Duration = Duration::from_secs(2);
/// How long `start` waits for another server's job file to appear after its lease.
const NEW_JOB_WAIT: Duration = Duration::from_secs(1);

/// This server's part in sharing the volume.
pub(super) struct Shared {
    pub volume: Volume,
    pub me: Owner,
    /// Leases this server holds, by job id.
    held: Mutex<HashMap<String, (PathBuf, Lease)>>,
    pub(super) watch: Mutex<Watch>,
    pub(super) orphans: Mutex<HashMap<String, Instant>>,
    pub(super) expiry: Duration,
    /// The start-up self-test of exclusive create and rename on `.downloads/`.
    safe: OnceLock<Result<(), String>>,
}

impl Shared {
    pub fn new(downloads_dir: PathBuf, expiry: Duration) -> Self {
        Self {
            volume: Volume::new(downloads_dir),
            me: Owner::me(),
            held: Mutex::new(HashMap::new()),
            watch: Mutex::new(Watch::default()),
            orphans: Mutex::new(HashMap::new()),
            expiry,
            safe: OnceLock::new(),
        }
    }

    pub(super) fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, (PathBuf, Lease)>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn hold(&self, path: PathBuf, lease: Lease) {
        self.held().insert(lease.job_id.clone(), (path, lease));
    }

    /// The fencing token this server holds for `job_id`, if it still holds its lease.
    pub fn token(&self, job_id: &str) -> Option<u64> {
        self.held().get(job_id).map(|(_, l)| l.token)
    }

    /// Releases the lease of `job_id` (after its final state was written).
    pub fn release(&self, job_id: &str) {
        if let Some((path, lease)) = self.held().remove(job_id) {
            lease::release(&path, &lease);
        }
    }

    /// A check run under the database lock just before an install: the lease is still ours.
    pub fn fence(&self, job_id: &str) -> impl FnOnce() -> Result<(), AppError> + Send + 'static {
        let held = self.held().get(job_id).cloned();
        move || match held {
            Some((path, lease)) if lease::holds(&path, &lease) => Ok(()),
            _ => Err(AppError::new(
                ErrorCode::Conflict,
                "another server took this download over; it installs the model",
            )),
        }
    }

    /// Whether exclusive create and rename passed the self-test (run at the first call).
    pub fn locks_safe(&self) -> bool {
        self.self_test().is_ok()
    }

    /// Runs the self-test once, saying in the log what it found.
    pub(super) fn self_test(&self) -> &Result<(), String> {
        self.safe.get_or_init(|| {
            let result = lease::self_test(self.volume.dir());
            match &result {
                Ok(()) => tracing::info!(
                    instance = %self.me.instance,
                    "download leases: exclusive create and rename work on this volume"
                ),
                Err(e) => tracing::error!(
                    "download leases are NOT safe on this volume ({e}): do not run several servers on this MODELS_DIR"
                ),
            }
            result
        })
    }
}

/// A job this server runs again, from its state file.
pub(super) fn job_from_file(file: &JobFile, tokens: Tokens) -> Arc<Job> {
    let job = Job::new(
        file.job.id.clone(),
        file.job.created_at.clone(),
        file.plan.clone(),
        tokens,
    );
    {
        let mut state = job.lock();
        state.status = file.job.status;
        state.error = file.job.error.clone();
        state.installed_model_id = file.job.installed_model_id.clone();
        if state.files.len() == file.job.files.len() {
            state.files = file.job.files.clone();
        }
    }
    Arc::new(job)
}

impl Downloads {
    /// The job this volume is downloading `model_id` in (its lease names it), waiting a moment
    /// for a lease being written or a job file that follows its lease.
    pub(super) fn running_job_of(&self, model_id: &str) -> Option<String> {
        let path = self.shared.volume.lease_path(model_id);
        let deadline = Instant::now() + NEW_JOB_WAIT;
        loop {
            match lease::read(&path) {
                Found::Missing => return None,
                Found::Lease(l) => {
                    if self.find(&l.job_id).is_some() {
                        return Some(l.job_id);
                    }
                    match self.shared.volume.read(&l.job_id) {
                        Some(f) if f.status().is_finished() => return None,
                        Some(_) => return Some(l.job_id),
                        None if Instant::now() >= deadline => return Some(l.job_id),
                        None => {}
                    }
                }
                Found::Unreadable(_) if Instant::now() >= deadline => return None,
                Found::Unreadable(_) => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts `plan` on this volume: the job already downloading it (on any server), a paused
    /// job of it resumed with `tokens`, or a new job; exclusive creation of the model's lease
    /// decides between servers that start it at the same moment.
    pub(super) fn start_shared(
        self: &Arc<Self>,
        plan: Plan,
        tokens: Tokens,
    ) -> Result<String, AppError> {
        let path = self.shared.volume.lease_path(&plan.model_id);
        for _ in 0..5 {
            if let Some(id) = self.running_job_of(&plan.model_id) {
                return Ok(id);
            }
            let files = self.shared.volume.list();
            let paused = files
                .iter()
                .find(|f| f.plan.model_id == plan.model_id && f.status() == JobStatus::Paused);
            if let Some(file) = paused {
                match self.take_paused(file, tokens.clone())? {
                    Some(job) => return Ok(job.id.clone()),
                    None => continue,
                }
            }
            self.check_disk(&plan)?;
            let id = uuid::Uuid::new_v4().to_string();
            let lease = Lease::new(&id, &self.shared.me, 1);
            if !self.create_lease(&path, &lease)? {
                continue;
            }
            self.shared.hold(path, lease);
            // A new attempt supersedes the model's finished jobs (a failed try, a cancelled one).
            files
                .iter()
                .filter(|f| f.plan.model_id == plan.model_id && f.status().is_finished())
                .for_each(|f| self.shared.volume.remove(&f.job.id));
            let job = Arc::new(Job::new(id, now_rfc3339(), plan, self.with_env(tokens)));
            self.jobs().push(job.clone());
            self.spawn(job.clone());
            return Ok(job.id.clone());
        }
        Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "{} is being started by another server on this volume; try again in a moment",
                plan.model_name
            ),
        ))
    }

    /// Runs paused job `file` on this server if its lease is free (`None` when another server
    /// holds it), with `tokens` over the ones it kept here since it was paused.
    pub(super) fn take_paused(
        self: &Arc<Self>,
        file: &JobFile,
        tokens: Tokens,
    ) -> Result<Option<Arc<Job>>, AppError> {
        let id = &file.job.id;
        let kept = self.paused_tokens().get(id).cloned().unwrap_or_default();
        let tokens = Tokens {
            huggingface: tokens.huggingface.or(kept.huggingface),
            civitai: tokens.civitai.or(kept.civitai),
        };
        self.check_tokens(&file.plan, &tokens)?;
        let path = self.shared.volume.lease_path(&file.plan.model_id);
        let lease = Lease::new(id, &self.shared.me, file.token + 1);
        if !self.create_lease(&path, &lease)? {
            return Ok(None);
        }
        self.paused_tokens().remove(id);
        self.shared.volume.remove_pause(id);
        let job = job_from_file(file, self.with_env(tokens));
        {
            let mut state = job.lock();
            state.status = JobStatus::Queued;
            state.error = None;
            state.paused_by_user = false;
        }
        self.shared.hold(path, lease);
        self.jobs().push(job.clone());
        self.spawn(job.clone());
        Ok(Some(job))
    }

    fn create_lease(&self, path: &std::path::Path, lease: &Lease) -> Result<bool, AppError> {
        lease::create(path, lease).map_err(|e| {
            AppError::internal(format!(
                "cannot create the download lease {}: {e}",
                path.display()
            ))
        })
    }

    /// A job this server does not run: read from its state file.
    pub(super) fn volume_job(&self, id: &str) -> Option<DownloadJob> {
        self.shared.volume.read(id).map(|f| self.file_view(f))
    }

    /// The wire view of a job file; a failed one says how much its kept partial files hold.
    pub(super) fn file_view(&self, file: JobFile) -> DownloadJob {
        let mut view = file.job;
        view.partial_bytes = None;
        if view.status == JobStatus::Failed {
            view.partial_bytes =
                Some(super::dir_size(&self.partial_dir(&file.plan))).filter(|&n| n > 0);
        }
        view
    }

    /// Every job on the volume, this server's live ones as they are now, newest first.
    pub(super) fn list_shared(&self) -> Vec<DownloadJob> {
        let local = self.jobs().clone();
        let mut out: Vec<DownloadJob> = local.iter().rev().map(|j| self.view(j)).collect();
        for file in self.shared.volume.list() {
            if !local.iter().any(|j| j.id == file.job.id) {
                out.push(self.file_view(file));
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        out
    }

    /// Cancels or forgets a job this server does not run: a finished one is forgotten, one
    /// nobody runs (paused) is cancelled here under its lease, one another server runs gets a
    /// cancel request that its owner carries out (only the owner deletes its partial files).
    pub(super) async fn cancel_shared(&self, id: &str) -> Result<DownloadJob, AppError> {
        let mut file = self
            .shared
            .volume
            .read(id)
            .ok_or_else(|| AppError::not_found(format!("no download job {id}")))?;
        if file.status().is_finished() {
            self.shared.volume.remove(id);
            return Ok(file.job);
        }
        let path = self.shared.volume.lease_path(&file.plan.model_id);
        let lease = Lease::new(id, &self.shared.me, file.token + 1);
        if self.create_lease(&path, &lease)? {
            file.job.status = JobStatus::Cancelled;
            file.job.error = None;
            file.token = lease.token;
            self.remove_partials(&file.plan);
            self.write_file(&file);
            lease::release(&path, &lease);
            tracing::info!(job = %id, "download cancelled, partial files removed");
            return Ok(file.job);
        }
        self.shared.volume.request_cancel(id).map_err(|e| {
            AppError::internal(format!("cannot ask the owner to cancel job {id}: {e}"))
        })?;
        tracing::info!(job = %id, "cancel requested from the server that runs the download");
        // Answers once the owner has stopped it, as a local cancel does.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match self.shared.volume.read(id) {
                Some(f) if f.status().is_finished() => return Ok(self.file_view(f)),
                Some(f) => file = f,
                None => break,
            }
        }
        Ok(self.file_view(file))
    }

    pub(super) fn write_file(&self, file: &JobFile) {
        if let Err(e) = self.shared.volume.write(file) {
            tracing::error!(job = %file.job.id, error = %e, "cannot write the download's state file");
        }
    }

    /// The id of the unfinished job for `model_id` on this volume, if any.
    pub(super) fn active_shared(&self, model_id: &str) -> Option<String> {
        let local = self
            .jobs()
            .iter()
            .find(|j| j.status().is_active() && j.plan().model_id == model_id)
            .map(|j| j.id.clone());
        local.or_else(|| {
            self.shared
                .volume
                .list()
                .into_iter()
                .find(|f| f.plan.model_id == model_id && f.status().is_active())
                .map(|f| f.job.id)
        })
    }
}
