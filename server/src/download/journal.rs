//! The job journal: one state file per job in `.downloads/jobs/` (see `jobfile`), written
//! atomically by the server that runs the job on every status change and every second of
//! progress, so any server on the volume lists it and a restarted or surviving server resumes
//! it. It holds plans and progress, never tokens. The start-up reconcile with the database
//! lives here; earlier versions' whole-journal `jobs.json` is moved into job files once.

use std::{sync::Arc, time::Duration};

use app::domain::{AppError, FileProgress, JobStatus};
use serde::Deserialize;

use super::{
    jobfile::{JobFile, OLD_JOURNAL},
    plan::Plan,
    progress::Job,
    Downloads, Tokens,
};
use crate::storage::Database;

/// A job of the old whole-journal file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: String,
    created_at: String,
    plan: Plan,
    status: JobStatus,
    error: Option<AppError>,
    installed_model_id: Option<String>,
    /// Paused by the user: stays paused (see `control`).
    #[serde(default)]
    paused_by_user: bool,
    /// Each file's progress when the journal was saved.
    #[serde(default)]
    files: Vec<FileProgress>,
}

#[derive(Debug, Default, Deserialize)]
struct Doc {
    jobs: Vec<Entry>,
}

impl Downloads {
    /// Writes the state file of every job this server runs (and still holds the lease of).
    pub(super) fn save_journal(&self) {
        let _guard = self.journal_lock.lock().unwrap_or_else(|e| e.into_inner());
        for job in self.jobs().clone() {
            self.save_job(&job);
        }
    }

    /// A job that ended: its final state on the volume, then its lease goes (every server
    /// lists the result), under the journal lock so that no progress write of the tick lands
    /// after it.
    pub(super) fn finish_job(&self, job: &Job) {
        {
            let _guard = self.journal_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.save_job(job);
            self.shared.volume.remove_cancel(&job.id);
            self.shared.release(&job.id);
        }
        self.jobs().retain(|j| j.id != job.id);
    }

    /// Writes `job`'s state file, unless another server took it over.
    pub(super) fn save_job(&self, job: &Job) {
        let Some(token) = self.shared.token(&job.id) else {
            return;
        };
        self.write_file(&JobFile {
            plan: job.plan(),
            job: job.snapshot(),
            token,
            paused_by_user: job.lock().paused_by_user,
        });
    }

    /// At start-up: moves an old journal into job files, takes over every job no live server
    /// runs (reconciled with the database and the model folders, see `reconcile`): unfinished
    /// jobs resume from their partial files, or wait as `paused` when they need a token this
    /// process does not have. Then sweeps `.downloads/` now and every few minutes (see
    /// `cleanup`), and looks at the volume every second (see `shared`).
    pub fn resume_from_journal(self: &Arc<Self>, partial_ttl: Duration) -> usize {
        let resumed = self.start_sharing();
        self.sweep(partial_ttl);
        self.spawn_sweeper(partial_ttl);
        resumed
    }

    /// Replaces the whole-journal `jobs.json` of earlier versions with one file per job.
    pub(super) fn migrate_journal(&self) {
        let path = self.store.partial_dir().join(OLD_JOURNAL);
        let Ok(bytes) = std::fs::read(&path) else {
            return;
        };
        let doc: Doc = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the old download journal is unreadable; its jobs are not resumed");
            Doc::default()
        });
        for entry in doc.jobs {
            let job = Job::new(entry.id, entry.created_at, entry.plan, Tokens::default());
            {
                let mut state = job.lock();
                state.status = entry.status;
                state.error = entry.error;
                state.installed_model_id = entry.installed_model_id;
                state.paused_by_user = entry.paused_by_user;
                if entry.files.len() == state.files.len() {
                    state.files = entry.files;
                }
            }
            self.write_file(&JobFile {
                plan: job.plan(),
                job: job.snapshot(),
                token: 0,
                paused_by_user: entry.paused_by_user,
            });
        }
        let _ = std::fs::remove_file(&path);
        tracing::info!("the download journal was moved to one file per job in .downloads/jobs/");
    }
}

/// What a start finds an unfinished job of the journal to be, given the database.
#[derive(Debug, PartialEq)]
pub(super) enum Fix {
    /// Finished: nothing to do.
    Keep,
    /// The database has the model (as the record with this id): the server stopped after the
    /// install, before the journal heard of it. The job is completed and its partials go.
    Installed(String),
    /// Not installed: files a killed install had already moved into the model folder go back
    /// to their partials (when no record uses them), and the job resumes from there.
    Reclaim,
}

pub(super) fn reconcile(status: JobStatus, model_id: &str, db: &Database) -> Fix {
    if status.is_finished() {
        return Fix::Keep;
    }
    match db.installed_from(model_id) {
        Some(record) => Fix::Installed(record.id.clone()),
        None => Fix::Reclaim,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{InstalledModel, ModelFamily, ModelType, SourceType};

    #[test]
    fn unfinished_jobs_end_installed_or_resume_after_moving_files_back() {
        let mut db = Database::empty();
        assert_eq!(reconcile(JobStatus::Downloading, "m", &db), Fix::Reclaim);
        assert_eq!(reconcile(JobStatus::Paused, "m", &db), Fix::Reclaim);
        assert_eq!(reconcile(JobStatus::Failed, "m", &db), Fix::Keep);
        db.installed.push(InstalledModel {
            id: "m-1234".into(),
            source_model_id: Some("m".into()),
            name: "M".into(),
            family: ModelFamily::Flux,
            model_type: ModelType::Lora,
            files: vec![],
            total_size_bytes: 0,
            installed_at: String::new(),
            source: SourceType::Url,
            last_verification: None,
            civitai: None,
        });
        assert_eq!(
            reconcile(JobStatus::Verifying, "m", &db),
            Fix::Installed("m-1234".into())
        );
        assert_eq!(reconcile(JobStatus::Completed, "m", &db), Fix::Keep);
    }
}
