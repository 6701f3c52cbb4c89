//! The job journal: `.downloads/jobs.json`, rewritten atomically on every status change, so a
//! restarted server resumes unfinished jobs. It holds plans and progress, never tokens.

use std::sync::Arc;

use app::domain::{AppError, ErrorCode, JobStatus};
use serde::{Deserialize, Serialize};

use super::{plan::Plan, progress::Job, Downloads, Tokens};
use crate::storage::write_atomic;

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
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    version: u32,
    jobs: Vec<Entry>,
}

impl Downloads {
    fn journal_path(&self) -> std::path::PathBuf {
        self.store.partial_dir().join("jobs.json")
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

    /// At start-up: reloads the journal; unfinished jobs resume (their partial files are kept),
    /// or wait as `paused` when they need a token this process does not have.
    pub fn resume_from_journal(self: &Arc<Self>) -> usize {
        let doc: Doc = match std::fs::read(self.journal_path()) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(doc) => doc,
                Err(e) => {
                    tracing::error!(error = %e, "the download journal is unreadable; unfinished jobs are not resumed");
                    return 0;
                }
            },
            Err(_) => return 0,
        };
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
            }
            let plan = job.plan();
            self.jobs().push(job.clone());
            if entry.status.is_finished() {
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
