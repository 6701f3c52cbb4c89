//! Several servers on one volume: jobs belong to the volume (state files, see `jobfile`), each
//! run by the one server that holds its model's lease (see `lease`). A tick every second
//! renews this server's leases, writes its jobs' progress, honours cancel requests from other
//! servers, and takes over jobs whose owner stopped renewing.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use app::domain::{AppError, DownloadJob, ErrorCode, JobStatus};

use super::{
    jobfile::{JobFile, Volume},
    lease::{self, Found, Lease, Owner, Verdict, Watch},
    plan::Plan,
    progress::Job,
    Downloads, Tokens,
};
use crate::storage::{now_rfc3339, Database};

/// How often leases are renewed and progress is written.
pub(super) const TICK: Duration = Duration::from_secs(1);
/// A job file that says "running" with no lease at all (its owner died between releasing and
/// writing, or every server was down) is taken over once seen so for this long: a server that
/// creates a job writes its lease first, so this only guards against slow file systems.
const ORPHAN_AFTER: Duration = Duration::from_secs(2);
/// How long `start` waits for another server's job file to appear after its lease.
const NEW_JOB_WAIT: Duration = Duration::from_secs(1);

/// This server's part in sharing the volume.
pub(super) struct Shared {
    pub volume: Volume,
    pub me: Owner,
    /// Leases this server holds, by job id.
    held: Mutex<HashMap<String, (PathBuf, Lease)>>,
    watch: Mutex<Watch>,
    orphans: Mutex<HashMap<String, Instant>>,
    expiry: Duration,
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

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, (PathBuf, Lease)>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hold(&self, path: PathBuf, lease: Lease) {
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
    fn self_test(&self) -> &Result<(), String> {
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
fn job_from_file(file: &JobFile, tokens: Tokens) -> Arc<Job> {
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

/// What to do with a job found on the volume that this server does not run.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Finished, waiting for a token, or run by a live server.
    Leave,
    /// Its lease is stale (`Some(token)`) or it has none (`None`): take it over.
    Take(Option<u64>),
}

/// Decides for one job file: `found` is its model's lease, `verdict` the watch's judgement of
/// it, `orphan_for` how long it has been seen without a lease.
fn look(
    file: &JobFile,
    found: &Found,
    verdict: Verdict,
    orphan_for: Duration,
    startup: bool,
) -> Look {
    let status = file.status();
    let waits_for_token = status == JobStatus::Paused
        && file
            .job
            .error
            .as_ref()
            .is_some_and(|e| e.code == ErrorCode::TokenRequired);
    // A job the user paused belongs to no server until a user resumes it.
    if status.is_finished() || waits_for_token || file.paused_by_user {
        return Look::Leave;
    }
    match found {
        Found::Missing if startup || orphan_for >= ORPHAN_AFTER => Look::Take(None),
        Found::Missing => Look::Leave,
        Found::Lease(l) if l.job_id != file.job.id => Look::Leave,
        Found::Lease(l) if verdict == Verdict::Stale => Look::Take(Some(l.token)),
        Found::Unreadable(_) if verdict == Verdict::Stale => Look::Take(Some(file.token)),
        _ => Look::Leave,
    }
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

    /// Once a second: this server's jobs (cancel requests, leases, progress), then every other
    /// job on the volume (takeovers), then the history.
    pub(super) fn tick(self: &Arc<Self>, startup: bool) -> usize {
        for job in self.jobs().clone() {
            if !job.status().is_active() || job.stopped() {
                continue;
            }
            if self.shared.volume.cancel_requested(&job.id) {
                tracing::info!(job = %job.id, "cancel requested by another server");
                job.lock().paused_by_user = false;
                job.stop();
                continue;
            }
            if self.shared.volume.pause_requested(&job.id) {
                self.shared.volume.remove_pause(&job.id);
                let mut state = job.lock();
                if matches!(state.status, JobStatus::Queued | JobStatus::Downloading) {
                    tracing::info!(job = %job.id, "pause requested by another server");
                    state.paused_by_user = true;
                    drop(state);
                    job.stop();
                    continue;
                }
            }
            let renewed = {
                let mut held = self.shared.held();
                match held.get_mut(&job.id) {
                    Some((path, lease)) => {
                        let path = path.clone();
                        lease::renew(&path, lease).inspect_err(|_| {
                            held.remove(&job.id);
                        })
                    }
                    None => Err(lease::Lost(Found::Missing)),
                }
            };
            if let Err(lease::Lost(found)) = renewed {
                tracing::warn!(job = %job.id, now = ?found, "lost the download's lease to another server: stopping, its partial files stay");
                job.stop();
            }
        }
        self.save_journal();
        self.reload_settings();
        self.look_at_volume(startup)
    }

    /// Takes over what needs an owner; returns how many jobs this server now runs from it.
    fn look_at_volume(self: &Arc<Self>, startup: bool) -> usize {
        let files = self.shared.volume.list();
        let now = Instant::now();
        let mut taken = 0;
        let mut looked = Vec::new();
        for file in &files {
            if self.find(&file.job.id).is_some() {
                continue;
            }
            let path = self.shared.volume.lease_path(&file.plan.model_id);
            let found = lease::read(&path);
            let verdict = {
                let mut watch = self.shared.watch.lock().unwrap_or_else(|e| e.into_inner());
                watch.observe(&path, &found, &self.shared.me, now, self.shared.expiry)
            };
            looked.push(path.clone());
            let orphan_for = {
                let mut orphans = self
                    .shared
                    .orphans
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if found == Found::Missing && file.status().is_active() {
                    now.duration_since(*orphans.entry(file.job.id.clone()).or_insert(now))
                } else {
                    orphans.remove(&file.job.id);
                    Duration::ZERO
                }
            };
            let Look::Take(token) = look(file, &found, verdict, orphan_for, startup) else {
                if file.status().is_finished()
                    && matches!(&found, Found::Lease(l) if l.job_id == file.job.id && verdict == Verdict::Stale)
                {
                    // The owner wrote the final state and stopped before releasing.
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            };
            let lease = match token {
                Some(last) => lease::take_over(&path, &file.job.id, last, &self.shared.me),
                None => {
                    let lease = Lease::new(&file.job.id, &self.shared.me, file.token + 1);
                    lease::create(&path, &lease)
                        .ok()
                        .filter(|&created| created)
                        .map(|_| lease)
                }
            };
            let Some(lease) = lease else { continue };
            let previous = match &found {
                Found::Lease(l) => l.owner.instance.clone(),
                _ => "none".into(),
            };
            tracing::info!(job = %file.job.id, model = %file.plan.model_id, previous_owner = %previous, token = lease.token, "taking over a download whose server stopped");
            self.shared
                .orphans
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&file.job.id);
            self.shared.hold(path, lease);
            if self.adopt(file.clone()) {
                taken += 1;
            }
        }
        self.drop_stale_leases(&files, now, &mut looked);
        self.shared
            .watch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| looked.iter().any(|l| l == p));
        self.shared.volume.prune(&files);
        // Tokens kept for a resume here go once the job is no longer paused (resumed on
        // another server, cancelled, or gone).
        self.paused_tokens().retain(|id, _| {
            files
                .iter()
                .any(|f| f.job.id == *id && f.status() == JobStatus::Paused)
        });
        taken
    }

    /// Removes leases whose job has no state file once they are stale (a server that died
    /// between creating a job's lease and writing its file), so the model can start again.
    fn drop_stale_leases(&self, files: &[JobFile], now: Instant, looked: &mut Vec<PathBuf>) {
        let dir = self.shared.volume.dir().join(super::jobfile::LEASES);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if looked.contains(&path) || path.extension().is_none_or(|e| e != "lease") {
                continue;
            }
            let found = lease::read(&path);
            let job_id = match &found {
                Found::Lease(l) => Some(l.job_id.as_str()),
                _ => None,
            };
            let known = job_id
                .is_some_and(|id| self.find(id).is_some() || files.iter().any(|f| f.job.id == id));
            if known || self.shared.held().values().any(|(p, _)| *p == path) {
                continue;
            }
            let verdict = {
                let mut watch = self.shared.watch.lock().unwrap_or_else(|e| e.into_inner());
                watch.observe(&path, &found, &self.shared.me, now, self.shared.expiry)
            };
            looked.push(path.clone());
            if verdict == Verdict::Stale {
                tracing::info!(lease = %path.display(), "removed a stale lease that names no job");
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    /// Runs a job taken over from the volume, or settles it first: cancelled while nobody ran
    /// it, installed before its owner stopped, or waiting for a token this server lacks.
    /// Whether it runs.
    fn adopt(self: &Arc<Self>, mut file: JobFile) -> bool {
        let id = file.job.id.clone();
        file.token = self.shared.token(&id).unwrap_or(file.token);
        let settle = |file: &mut JobFile, status: JobStatus, error: Option<AppError>| {
            file.job.status = status;
            file.job.error = error;
            file.job.speed_bytes_per_sec = 0;
            file.job.eta_seconds = None;
            self.write_file(file);
            self.shared.volume.remove_cancel(&file.job.id);
            self.shared.release(&file.job.id);
        };
        if self.shared.volume.cancel_requested(&id) {
            self.remove_partials(&file.plan);
            settle(&mut file, JobStatus::Cancelled, None);
            return false;
        }
        if self.shared.volume.pause_requested(&id) {
            self.shared.volume.remove_pause(&id);
            file.paused_by_user = true;
            settle(&mut file, JobStatus::Paused, None);
            return false;
        }
        if let Some(installed) = self.reconcile_file(&file) {
            self.remove_partials(&file.plan);
            file.job.installed_model_id = Some(installed);
            settle(&mut file, JobStatus::Completed, None);
            return false;
        }
        if self.check_tokens(&file.plan, &Tokens::default()).is_err() {
            settle(
                &mut file,
                JobStatus::Paused,
                Some(AppError::new(
                    ErrorCode::TokenRequired,
                    "the server that ran this download stopped, and tokens never leave the server they were given to: give the token again here to resume it",
                )),
            );
            return false;
        }
        let job = job_from_file(&file, self.with_env(Tokens::default()));
        job.set_status(JobStatus::Queued);
        self.jobs().push(job.clone());
        self.spawn(job);
        true
    }

    /// At start-up: the self-test, the old journal moved to job files, every job without a
    /// live owner taken over now, then the tick every second.
    pub(super) fn start_sharing(self: &Arc<Self>) -> usize {
        let _ = self.shared.self_test();
        self.migrate_journal();
        let resumed = self.tick(true);
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(TICK).await;
                let Some(downloads) = engine.upgrade() else {
                    return;
                };
                if downloads.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let _ = tokio::task::spawn_blocking(move || downloads.tick(false)).await;
            }
        });
        resumed
    }

    /// Whether exclusive create and rename work on this volume (`/readyz` detail).
    pub fn leases_safe(&self) -> bool {
        self.shared.locks_safe()
    }

    /// The installed record of a job file's model, if the database has it.
    fn reconcile_file(&self, file: &JobFile) -> Option<String> {
        let db: Database = match self.store.read() {
            Ok(db) => db,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the models database to reconcile a download");
                return None;
            }
        };
        match super::journal::reconcile(file.status(), &file.plan.model_id, &db) {
            super::journal::Fix::Installed(id) => {
                tracing::info!(job = %file.job.id, model = %id, "the job was installed before its server stopped");
                Some(id)
            }
            super::journal::Fix::Reclaim => {
                let moves = file.plan.moves(&self.partial_dir(&file.plan));
                match self.store.reclaim(&moves) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(job = %file.job.id, files = n, "an interrupted install was moved back to finish it")
                    }
                    Err(e) => {
                        tracing::warn!(job = %file.job.id, error = %e.message, "cannot move back an interrupted install")
                    }
                }
                None
            }
            super::journal::Fix::Keep => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::download::jobfile::tests::file;

    fn lease_of(job: &str, token: u64) -> Found {
        Found::Lease(Lease::new(
            job,
            &Owner {
                instance: "other".into(),
                host: "h".into(),
                pid: 1,
            },
            token,
        ))
    }

    #[test]
    fn who_takes_a_job_over() {
        let secs = Duration::from_secs;
        let mut waiting = file("j", "", JobStatus::Paused);
        waiting.job.error = Some(AppError::new(ErrorCode::TokenRequired, "give it"));
        let stopped = file("j", "", JobStatus::Paused);
        let user_paused = JobFile {
            paused_by_user: true,
            ..file("j", "", JobStatus::Paused)
        };
        let running = file("j", "", JobStatus::Downloading);
        let done = file("j", "", JobStatus::Completed);
        // (job, its model's lease, the watch's verdict, orphaned for, at start-up, expected)
        let cases = [
            (
                &running,
                lease_of("j", 3),
                Verdict::Live,
                secs(0),
                false,
                Look::Leave,
            ),
            (
                &running,
                lease_of("j", 3),
                Verdict::Stale,
                secs(0),
                false,
                Look::Take(Some(3)),
            ),
            // A lease for another job of the model: never taken for this one.
            (
                &running,
                lease_of("k", 3),
                Verdict::Stale,
                secs(0),
                false,
                Look::Leave,
            ),
            // No lease: taken once orphaned long enough, or at once at start-up.
            (
                &running,
                Found::Missing,
                Verdict::Stale,
                secs(1),
                false,
                Look::Leave,
            ),
            (
                &running,
                Found::Missing,
                Verdict::Stale,
                ORPHAN_AFTER,
                false,
                Look::Take(None),
            ),
            (
                &running,
                Found::Missing,
                Verdict::Stale,
                secs(0),
                true,
                Look::Take(None),
            ),
            (
                &running,
                Found::Unreadable(String::new()),
                Verdict::Live,
                secs(0),
                false,
                Look::Leave,
            ),
            (
                &running,
                Found::Unreadable(String::new()),
                Verdict::Stale,
                secs(0),
                false,
                Look::Take(Some(1)),
            ),
            // Paused by a stopped server: resumed by another; paused for a token: waits.
            (
                &stopped,
                Found::Missing,
                Verdict::Stale,
                secs(0),
                true,
                Look::Take(None),
            ),
            // Paused by the user: nobody takes it, with or without a (stale) lease.
            (
                &user_paused,
                Found::Missing,
                Verdict::Stale,
                ORPHAN_AFTER,
                true,
                Look::Leave,
            ),
            (
                &user_paused,
                lease_of("j", 3),
                Verdict::Stale,
                secs(0),
                false,
                Look::Leave,
            ),
            (
                &waiting,
                Found::Missing,
                Verdict::Stale,
                secs(0),
                true,
                Look::Leave,
            ),
            (
                &done,
                lease_of("j", 3),
                Verdict::Stale,
                secs(0),
                true,
                Look::Leave,
            ),
        ];
        for (i, (job, found, verdict, orphan_for, startup, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                look(job, &found, verdict, orphan_for, startup),
                want,
                "case {i}"
            );
        }
    }
}
