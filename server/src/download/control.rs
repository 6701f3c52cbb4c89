//! Pause and resume: a paused job keeps its partial files and finished ranges, stays paused
//! across restarts (the journal records who paused it), and continues from them when resumed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use app::domain::{AppError, DownloadJob, ErrorCode, JobStatus};

use super::{progress::Job, Downloads, Tokens};

/// How long a pause or cancel waits for the job's runner to stop (it stops within a second;
/// this bounds a disk that hangs).
const SETTLE: Duration = Duration::from_secs(5);

/// Why `status` does not allow a pause, if it does not.
fn pause_refusal(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Queued | JobStatus::Downloading => None,
        JobStatus::Paused => Some("is already paused"),
        JobStatus::Verifying => Some("is being verified and installed; it can no longer be paused"),
        JobStatus::Completed => Some("has finished (installed); there is nothing to pause"),
        JobStatus::Failed => Some("has failed; start the download again to retry it"),
        JobStatus::Cancelled => Some("was cancelled; start the download again"),
    }
}

/// Why `status` does not allow a resume, if it does not.
fn resume_refusal(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Paused => None,
        JobStatus::Queued | JobStatus::Downloading | JobStatus::Verifying => {
            Some("is not paused (it is queued, downloading or being installed)")
        }
        JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled => {
            Some("has finished; only a paused download can be resumed (start it again instead)")
        }
    }
}

fn conflict(job: &Job, why: &str) -> AppError {
    AppError {
        job_id: Some(job.id.clone()),
        ..AppError::new(
            ErrorCode::Conflict,
            format!("the download of {} {why}", job.plan().model_name),
        )
    }
}

/// The job once its status passes `done` (or after [`SETTLE`]).
pub(super) async fn settled(job: &Job, done: impl Fn(JobStatus) -> bool) -> DownloadJob {
    let deadline = Instant::now() + SETTLE;
    while !done(job.status()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    job.snapshot()
}

impl Downloads {
    fn found(&self, id: &str) -> Result<Arc<Job>, AppError> {
        self.find(id)
            .ok_or_else(|| AppError::not_found(format!("no download job {id}")))
    }

    /// Stops a queued or running job, keeping its partial files and finished ranges; answers
    /// once it is `paused`.
    pub async fn pause(&self, id: &str) -> Result<DownloadJob, AppError> {
        let job = self.found(id)?;
        {
            let mut state = job.lock();
            if let Some(why) = pause_refusal(state.status) {
                return Err(conflict(&job, why));
            }
            state.paused_by_user = true;
        }
        job.stop();
        let view = settled(&job, |s| s == JobStatus::Paused || s.is_finished()).await;
        if view.status != JobStatus::Paused {
            job.lock().paused_by_user = false;
        }
        tracing::info!(job = %id, "download paused by the user");
        Ok(self.view(&job))
    }

    /// Queues a paused job again with the tokens it has (in memory since it was paused, or
    /// from the environment); one that waits for a token the server does not have is a 409
    /// saying to start the download again with it.
    pub fn resume(self: &Arc<Self>, id: &str) -> Result<DownloadJob, AppError> {
        let job = self.found(id)?;
        if let Some(why) = resume_refusal(job.status()) {
            return Err(conflict(&job, why));
        }
        self.resume_with(&job, None).map_err(|e| match e.field {
            Some(_) => conflict(
                &job,
                &format!(
                    "{}: start the download again (POST /api/models/download) with the token",
                    e.message.trim_start_matches("this download ")
                ),
            ),
            None => e,
        })?;
        Ok(self.view(&job))
    }

    /// Resumes paused `job`, with `tokens` (a new download request) or the ones it kept.
    pub(super) fn resume_with(
        self: &Arc<Self>,
        job: &Arc<Job>,
        tokens: Option<Tokens>,
    ) -> Result<(), AppError> {
        let kept = job.tokens();
        let tokens = match tokens {
            Some(new) => Tokens {
                huggingface: new.huggingface.or(kept.huggingface),
                civitai: new.civitai.or(kept.civitai),
            },
            None => kept,
        };
        self.check_tokens(&job.plan(), &tokens)?;
        *job.tokens.lock().unwrap_or_else(|e| e.into_inner()) = self.with_env(tokens);
        job.rearm();
        {
            let mut state = job.lock();
            state.status = JobStatus::Queued;
            state.error = None;
            state.paused_by_user = false;
        }
        tracing::info!(job = %job.id, "download resumed");
        self.spawn(job.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unfinished_jobs_pause_and_only_paused_ones_resume() {
        use JobStatus::*;
        let all = [
            Queued,
            Downloading,
            Verifying,
            Completed,
            Failed,
            Cancelled,
            Paused,
        ];
        let pausable: Vec<_> = all
            .into_iter()
            .filter(|s| pause_refusal(*s).is_none())
            .collect();
        assert_eq!(pausable, [Queued, Downloading]);
        let resumable: Vec<_> = all
            .into_iter()
            .filter(|s| resume_refusal(*s).is_none())
            .collect();
        assert_eq!(resumable, [Paused]);
    }
}
