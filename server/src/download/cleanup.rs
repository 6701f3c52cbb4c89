//! The sweep of `.downloads/`, at start-up and every few minutes: no partial file stays
//! forever. A running job's partials are kept; a failed job's partials are kept for a retry
//! until `MODELS_PARTIAL_TTL_HOURS` pass without a write; anything no job owns (an upload or
//! a job a killed server left, a dismissed job's folder) goes once it is `GRACE` old.

use std::{
    collections::HashMap,
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

use app::domain::JobStatus;

use super::{
    jobfile::{JOBS, LEASES, OLD_JOURNAL},
    plan, Downloads,
};

/// Entries no job owns may belong to an upload in progress, or to another server process on
/// the same volume, while they are being written; after this long without a write they are
/// leftovers.
const GRACE: Duration = Duration::from_secs(10 * 60);
/// How often the sweep runs while the server is up.
const SWEEP_EVERY: Duration = GRACE;

/// Whether an entry of `.downloads/` goes: `owner` is the status of the job whose partial
/// folder it is, `idle` the time since anything in it was written.
fn expired(owner: Option<JobStatus>, idle: Duration, partial_ttl: Duration) -> bool {
    match owner {
        Some(status) if status.is_active() => false,
        Some(JobStatus::Failed) => idle >= partial_ttl,
        _ => idle >= GRACE,
    }
}

/// Time since the newest write to `path` or, for a folder, to a file directly in it.
fn idle(path: &Path, now: SystemTime) -> Duration {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let children = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| modified(&e.path()));
    modified(path)
        .into_iter()
        .chain(children)
        .max()
        .and_then(|newest| now.duration_since(newest).ok())
        .unwrap_or_default()
}

impl Downloads {
    /// Deletes what `expired` says in `.downloads/`; job state and leases always stay.
    pub(super) fn sweep(&self, partial_ttl: Duration) {
        let mut owners: HashMap<String, JobStatus> = HashMap::new();
        let mut own = |model_id: &str, status: JobStatus| {
            let owner = owners
                .entry(plan::partial_folder(model_id))
                .or_insert(status);
            if status.is_active() {
                *owner = status;
            }
        };
        // Every job on the volume, and every model whose lease exists: a partial another
        // server is writing is never removed here.
        for file in self.shared.volume.list() {
            own(&file.plan.model_id, file.status());
        }
        for job in self.jobs().iter() {
            own(&job.plan().model_id, job.status());
        }
        let leases = self.shared.volume.dir().join(LEASES);
        for entry in std::fs::read_dir(&leases).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(folder) = name.strip_suffix(".lease") {
                owners.insert(folder.to_string(), JobStatus::Downloading);
            }
        }
        let now = SystemTime::now();
        let dir = self.store.partial_dir();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if [JOBS, LEASES, OLD_JOURNAL].contains(&name.as_str())
                || !expired(owners.get(&name).copied(), idle(&path, now), partial_ttl)
            {
                continue;
            }
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => tracing::info!(path = %path.display(), "removed stale partial download"),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale partial download")
                }
            }
        }
    }

    /// Sweeps every `SWEEP_EVERY` for as long as the engine exists.
    pub(super) fn spawn_sweeper(self: &Arc<Self>, partial_ttl: Duration) {
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_EVERY).await;
                let Some(downloads) = engine.upgrade() else {
                    return;
                };
                let _ = tokio::task::spawn_blocking(move || downloads.sweep(partial_ttl)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn running_jobs_keep_failed_ones_wait_for_the_ttl_and_the_rest_for_the_grace() {
        let ttl = 24 * HOUR;
        assert!(!expired(Some(JobStatus::Downloading), 1000 * HOUR, ttl));
        assert!(!expired(Some(JobStatus::Paused), 1000 * HOUR, ttl));
        assert!(!expired(Some(JobStatus::Failed), 23 * HOUR, ttl));
        assert!(expired(Some(JobStatus::Failed), 24 * HOUR, ttl));
        assert!(!expired(None, GRACE / 2, ttl));
        assert!(expired(None, GRACE, ttl));
        assert!(expired(Some(JobStatus::Cancelled), GRACE, ttl));
    }

    #[test]
    fn idle_counts_from_the_newest_file_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let old = SystemTime::now() - 5 * HOUR;
        std::fs::write(dir.path().join("a"), b"a").unwrap();
        std::fs::write(dir.path().join("b"), b"b").unwrap();
        for name in ["a", "b"] {
            std::fs::File::open(dir.path().join(name))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        std::fs::File::open(dir.path())
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(idle(dir.path(), SystemTime::now()) >= 5 * HOUR - Duration::from_secs(60));
        std::fs::write(dir.path().join("b"), b"fresh").unwrap();
        assert!(idle(dir.path(), SystemTime::now()) < HOUR);
    }
}
