//! The tick every second on each server: this server's jobs (cancel and pause requests from
//! other servers, lease renewals, progress), then every job on the volume whose owner stopped
//! renewing its lease (a takeover), then the history. See `shared` for how a job starts.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use app::domain::{AppError, ErrorCode, JobStatus};

use super::{
    jobfile::JobFile,
    lease::{self, Found, Lease, Verdict},
    shared::{job_from_file, ORPHAN_AFTER, TICK},
    Downloads, Tokens,
};
use crate::storage::Database;

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
    use crate::download::{jobfile::tests::file, lease::Owner};

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
