//! The job journal: `.downloads/jobs.json`, rewritten atomically on every status change, so a
//! restarted server resumes unfinished jobs. It holds plans and progress, never tokens.

use std::{sync::Arc, time::Duration};

use app::domain::{AppError, ErrorCode, FileProgress, JobStatus};
use serde::{Deserialize, Serialize};

use super::{plan::Plan, progress::Job, Downloads, Tokens};
use crate::storage::{write_atomic, Database};

/// The journal's file name in `.downloads/`.
pub(super) const JOURNAL: &str = "jobs.json";

/// Finished jobs kept for the UI's history.
const KEEP_FINISHED: usize = 50;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: String,
    created_at: String,
    plan: Plan,
    status: JobStatus,
    error: Option<AppError>,
    installed_model_id: Option<String>,
    /// Paused by the user: stays paused at the next start (see `control`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    paused_by_user: bool,
    /// Each file's progress when the journal was saved, so a restarted server shows the
    /// bytes of finished and paused jobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileProgress>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    version: u32,
    jobs: Vec<Entry>,
}

impl Downloads {
    fn journal_path(&self) -> std::path::PathBuf {
        self.store.partial_dir().join(JOURNAL)
    }

    pub(super) fn save_journal(&self) {
        let _guard = self.journal_lock.lock().unwrap_or_else(|e| e.into_inner());
        let jobs = self.jobs().clone();
        let finished = jobs.iter().filter(|j| j.status().is_finished()).count();
        let skip = finished.saturating_sub(KEEP_FINISHED);
        let mut skipped = 0;
        let entries = jobs
            .iter()
            .filter(|j| {
                if j.status().is_finished() && skipped < skip {
                    skipped += 1;
                    return false;
                }
                true
            })
            .map(|j| {
                let state = j.lock();
                Entry {
                    id: j.id.clone(),
                    created_at: j.created_at.clone(),
                    plan: j.plan(),
                    status: state.status,
                    error: state.error.clone(),
                    installed_model_id: state.installed_model_id.clone(),
                    paused_by_user: state.paused_by_user,
                    files: state.files.clone(),
                }
            })
            .collect();
        let doc = Doc {
            version: 1,
            jobs: entries,
        };
        let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        if let Err(e) = write_atomic(&self.journal_path(), &bytes) {
            tracing::error!(error = %e, "cannot write the download journal");
        }
    }

    /// At start-up: reloads the journal and reconciles it with the database and the model
    /// folders (see `reconcile`); unfinished jobs resume (their partial files are kept), or wait
    /// as `paused` when they need a token this process does not have. Then sweeps
    /// `.downloads/` now and every few minutes (see `cleanup`).
    pub fn resume_from_journal(self: &Arc<Self>, partial_ttl: Duration) -> usize {
        let mut doc = self.read_journal();
        self.reconcile(&mut doc);
        let resumed = self.load(doc);
        self.sweep(partial_ttl);
        self.spawn_sweeper(partial_ttl);
        resumed
    }

    fn read_journal(&self) -> Doc {
        match std::fs::read(self.journal_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::error!(error = %e, "the download journal is unreadable; unfinished jobs are not resumed");
                Doc::default()
            }),
            Err(_) => Doc::default(),
        }
    }

    /// Applies `reconcile` to every job of the journal.
    fn reconcile(&self, doc: &mut Doc) {
        let db = match self.store.read() {
            Ok(db) => db,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the models database to reconcile the journal");
                return;
            }
        };
        for entry in &mut doc.jobs {
            match reconcile(entry, &db) {
                Fix::Keep => {}
                Fix::Installed(id) => {
                    tracing::info!(job = %entry.id, model = %id, "the job was installed before the server stopped");
                    entry.status = JobStatus::Completed;
                    entry.error = None;
                    entry.installed_model_id = Some(id);
                    self.remove_partials(&entry.plan);
                }
                Fix::Reclaim => {
                    let moves = entry.plan.moves(&self.partial_dir(&entry.plan));
                    match self.store.reclaim(&moves) {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(job = %entry.id, files = n, "an interrupted install was moved back to finish it")
                        }
                        Err(e) => {
                            tracing::warn!(job = %entry.id, error = %e.message, "cannot move back an interrupted install")
                        }
                    }
                }
            }
        }
    }

    /// Loads the journal's jobs; unfinished ones resume or wait for a token.
    fn load(self: &Arc<Self>, doc: Doc) -> usize {
        let mut resumed = 0;
        for entry in doc.jobs {
            let job = Arc::new(Job::new(
                entry.id,
                entry.created_at,
                entry.plan,
                Tokens::default(),
            ));
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
            let plan = job.plan();
            self.jobs().push(job.clone());
            if entry.status.is_finished()
                || (entry.status == JobStatus::Paused && entry.paused_by_user)
            {
                continue;
            }
            if self.check_tokens(&plan, &Tokens::default()).is_err() {
                let mut state = job.lock();
                state.status = JobStatus::Paused;
                state.error = Some(AppError::new(
                    ErrorCode::TokenRequired,
                    "the server restarted and tokens are never stored: give the token again to resume this download",
                ));
                continue;
            }
            *job.tokens.lock().unwrap_or_else(|e| e.into_inner()) =
                self.with_env(Tokens::default());
            job.set_status(JobStatus::Queued);
            self.spawn(job);
            resumed += 1;
        }
        self.save_journal();
        resumed
    }
}

/// What a start finds an unfinished job of the journal to be, given the database.
#[derive(Debug, PartialEq)]
enum Fix {
    /// Finished: nothing to do.
    Keep,
    /// The database has the model (as the record with this id): the server stopped after the
    /// install, before the journal heard of it. The job is completed and its partials go.
    Installed(String),
    /// Not installed: files a killed install had already moved into the model folder go back
    /// to their partials (when no record uses them), and the job resumes from there.
    Reclaim,
}

fn reconcile(entry: &Entry, db: &Database) -> Fix {
    if entry.status.is_finished() {
        return Fix::Keep;
    }
    match db.installed_from(&entry.plan.model_id) {
        Some(record) => Fix::Installed(record.id.clone()),
        None => Fix::Reclaim,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{InstalledModel, ModelFamily, ModelType, SourceType};

    fn entry(status: JobStatus) -> Entry {
        Entry {
            id: "job".into(),
            created_at: String::new(),
            plan: Plan {
                model_id: "m".into(),
                model_name: "M".into(),
                family: ModelFamily::Flux,
                model_type: ModelType::Lora,
                source: SourceType::Url,
                folder: "lora/m".into(),
                files: vec![],
                needs_hf_token: false,
                needs_civitai_token: false,
            },
            status,
            error: None,
            installed_model_id: None,
            paused_by_user: false,
            files: vec![],
        }
    }

    #[test]
    fn unfinished_jobs_end_installed_or_resume_after_moving_files_back() {
        let mut db = Database::empty();
        assert_eq!(reconcile(&entry(JobStatus::Downloading), &db), Fix::Reclaim);
        assert_eq!(reconcile(&entry(JobStatus::Paused), &db), Fix::Reclaim);
        assert_eq!(reconcile(&entry(JobStatus::Failed), &db), Fix::Keep);
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
        });
        assert_eq!(
            reconcile(&entry(JobStatus::Verifying), &db),
            Fix::Installed("m-1234".into())
        );
        assert_eq!(reconcile(&entry(JobStatus::Completed), &db), Fix::Keep);
    }
}
