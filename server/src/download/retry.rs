//! How a download step is retried: a bounded number of failed attempts in a row, each followed
//! by an exponential backoff with jitter; cancelling the job ends any attempt or wait at once.

use std::{future::Future, time::Duration};

use app::domain::{AppError, ErrorCode};

use super::{progress::Job, Engine, Fail};

/// The longest wait between two attempts.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// The wait after failed attempt number `failed` (from 1): `base`·2^(failed−1), capped at
/// `MAX_WAIT`, of which the upper half is random ("equal jitter", `jitter` in 0..1): the
/// retries of many jobs spread out, and each still waits at least half.
pub fn backoff(base: Duration, failed: u32, jitter: f64) -> Duration {
    let doubled = 2u32.saturating_pow(failed.saturating_sub(1));
    let full = base.saturating_mul(doubled).min(MAX_WAIT);
    full / 2 + (full / 2).mul_f64(jitter.clamp(0.0, 1.0))
}

/// The end of a job its user cancelled.
pub fn cancelled() -> AppError {
    AppError::new(ErrorCode::Cancelled, "cancelled")
}

/// The attempts of one step of a job (a file, a folder listing).
pub struct Retries<'a> {
    engine: &'a Engine,
    job: &'a Job,
    /// Names the step in the final error: "gave up on {what} after N attempts: {why}{advice}".
    what: String,
    advice: &'static str,
    failed: u32,
}

impl Engine {
    pub(super) fn retries<'a>(
        &'a self,
        job: &'a Job,
        what: String,
        advice: &'static str,
    ) -> Retries<'a> {
        Retries {
            engine: self,
            job,
            what,
            advice,
            failed: 0,
        }
    }
}

impl Retries<'_> {
    /// Runs one attempt; cancelling the job ends it at once, whatever it is waiting for.
    pub async fn run<T>(&self, attempt: impl Future<Output = Result<T, Fail>>) -> Result<T, Fail> {
        let stop = self.job.stop_token();
        tokio::select! {
            outcome = attempt => outcome,
            _ = stop.cancelled() => Err(Fail::Fatal(cancelled())),
        }
    }

    /// After a failed attempt: the error when it is final or `max_attempts` failed in a row
    /// (an attempt that made progress starts the count again); otherwise waits before the
    /// next attempt, or until the job is cancelled.
    pub async fn after(&mut self, fail: Fail) -> Result<(), AppError> {
        let why = match fail {
            Fail::Fatal(e) => return Err(e),
            Fail::Progressed(why) => {
                self.failed = 0;
                why
            }
            Fail::Retry(why) => {
                self.failed += 1;
                why
            }
        };
        if self.failed >= self.engine.max_attempts {
            return Err(AppError::new(
                ErrorCode::Upstream,
                format!(
                    "gave up on {} after {} attempts: {why}{}",
                    self.what, self.failed, self.advice
                ),
            ));
        }
        let wait = backoff(self.engine.retry_base, self.failed.max(1), fastrand::f64());
        tracing::warn!(job = %self.job.id, what = %self.what, %why, failed = self.failed, wait_ms = wait.as_millis() as u64, "retrying");
        self.job.note_retry(&why, self.failed.max(1), wait);
        let stop = self.job.stop_token();
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = stop.cancelled() => Err(cancelled()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_keeps_at_least_half() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(base, 1, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(base, 3, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(base, 3, 0.5), Duration::from_millis(1500));
        assert_eq!(backoff(base, 20, 1.0), MAX_WAIT);
        assert_eq!(backoff(base, 20, 0.0), MAX_WAIT / 2);
        assert_eq!(backoff(base, u32::MAX, 1.0), MAX_WAIT);
    }
}
