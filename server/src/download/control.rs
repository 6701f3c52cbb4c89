//! Pause and resume: a paused job keeps its partial files and finished ranges, stays paused
//! across restarts (its state file records that the user paused it, and no server takes it
//! over), and continues from them when resumed, on whichever server the user asks.

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

fn conflict(job_id: &str, model_name: &str, why: &str) -> AppError {
    AppError {
        job_id: Some(job_id.to_string()),
        ..AppError::new(
            ErrorCode::Conflict,
            format!("the download of {model_name} {why}"),
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
    /// Stops a queued or running job, keeping its partial files and finished ranges; answers
    /// once it is `paused`. The server that runs it stops it: this one, or (through a pause
    /// request on the volume, see `shared`) another one. A paused job belongs to no server
    /// until a user resumes it.
    pub async fn pause(&self, id: &str) -> Result<DownloadJob, AppError> {
        self.settled(id).await;
        let Some(job) = self.find(id) else {
            return self.pause_shared(id).await;
        };
        {
            let mut state = job.lock();
            if let Some(why) = pause_refusal(state.status) {
                return Err(conflict(id, &job.plan().model_name, why));
            }
            state.paused_by_user = true;
        }
        job.stop();
        let view = settled(&job, |s| s == JobStatus::Paused || s.is_finished()).await;
        if view.status != JobStatus::Paused {
            job.lock().paused_by_user = false;
        }
        // Its final state reaches the volume and its lease goes (see `run`).
        self.settled(id).await;
        tracing::info!(job = %id, "download paused by the user");
        Ok(self.view(&job))
    }

    /// Pauses a job another server runs: a pause request its owner's tick carries out.
    async fn pause_shared(&self, id: &str) -> Result<DownloadJob, AppError> {
        let file = self
            .shared
            .volume
            .read(id)
            .ok_or_else(|| AppError::not_found(format!("no download job {id}")))?;
        if let Some(why) = pause_refusal(file.status()) {
            return Err(conflict(id, &file.plan.model_name, why));
        }
        self.shared.volume.request_pause(id).map_err(|e| {
            AppError::internal(format!("cannot ask the owner to pause job {id}: {e}"))
        })?;
        tracing::info!(job = %id, "pause requested from the server that runs the download");
        let deadline = Instant::now() + SETTLE;
        let mut last = file;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match self.shared.volume.read(id) {
                Some(f) if f.status() == JobStatus::Paused || f.status().is_finished() => {
                    self.shared.volume.remove_pause(id);
                    return Ok(self.file_view(f));
                }
                Some(f) => last = f,
                None => return Err(AppError::not_found(format!("no download job {id}"))),
            }
        }
        Ok(self.file_view(last))
    }

    /// Queues a paused job again, on this server (it takes the job's lease), with the tokens
    /// it kept here or the environment's; one that waits for a token the server does not have
    /// is a 409 saying to start the download again with it.
    pub async fn resume(self: &Arc<Self>, id: &str) -> Result<DownloadJob, AppError> {
        self.settled(id).await;
        if let Some(job) = self.find(id) {
            let why = resume_refusal(job.status()).unwrap_or("is not paused");
            return Err(conflict(id, &job.plan().model_name, why));
        }
        let deadline = Instant::now() + SETTLE;
        loop {
            let file = self
                .shared
                .volume
                .read(id)
                .ok_or_else(|| AppError::not_found(format!("no download job {id}")))?;
            if let Some(why) = resume_refusal(file.status()) {
                return Err(conflict(id, &file.plan.model_name, why));
            }
            // Taking the lease over waits a moment for rivals (see `lease::take_over`).
            let (downloads, paused) = (self.clone(), file.clone());
            let taken = tokio::task::spawn_blocking(move || {
                downloads.take_paused(&paused, Tokens::default())
            })
            .await
            .map_err(|e| AppError::internal(format!("job {id} could not resume: {e}")))?
            .map_err(|e| match e.field {
                Some(_) => conflict(
                    id,
                    &file.plan.model_name,
                    &format!(
                        "{}: start the download again (POST /api/models/download) with the token",
                        e.message.trim_start_matches("this download ")
                    ),
                ),
                None => e,
            })?;
            if let Some(job) = taken {
                tracing::info!(job = %id, "download resumed");
                return Ok(self.view(&job));
            }
            // Its lease is held: the owner is still writing the pause, or another server
            // resumes it at this moment.
            if Instant::now() >= deadline {
                return Err(conflict(
                    id,
                    &file.plan.model_name,
                    "is being paused or resumed by another server; try again in a moment",
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
