//! Job state as the engine updates it and the API reads it: counters and a smoothed speed.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::domain::{AppError, DownloadJob, FileProgress, JobStatus, Retrying};
use tokio_util::sync::CancellationToken;

use super::plan::Plan;

/// Speed is averaged over this window.
const WINDOW: Duration = Duration::from_secs(5);
/// How often the speed is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

/// Tokens for one job, in memory only.
#[derive(Clone, Default)]
pub struct Tokens {
    pub huggingface: Option<String>,
    pub civitai: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<redacted>)")
    }
}

#[derive(Debug)]
pub struct State {
    pub status: JobStatus,
    pub files: Vec<FileProgress>,
    pub error: Option<AppError>,
    pub installed_model_id: Option<String>,
    /// The user paused the job (`POST .../pause`): it stays paused, across restarts too, until
    /// resumed. (A job paused by a shutdown resumes at the next start.)
    pub paused_by_user: bool,
    samples: VecDeque<(Instant, u64)>,
    /// The last failed attempt while no new bytes came since: why, which attempt, and when
    /// the next one starts.
    retry: Option<(String, u32, Instant)>,
}

/// One download job.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub created_at: String,
    pub plan: Mutex<Plan>,
    pub state: Mutex<State>,
    pub tokens: Mutex<Tokens>,
    /// Stops the run (cancel, pause, shutdown, a lost lease); a resumed job runs as a new `Job`.
    stop: Mutex<CancellationToken>,
    /// Held by the job's writer threads, which outlive a cancelled transfer while they write
    /// what was queued and save the range journal: the job settles only once they are done.
    pub writing: Busy,
}

/// A guard that writer threads hold while they may still touch a job's partial files.
#[derive(Debug, Clone, Default)]
pub struct Busy(Arc<()>);

impl Busy {
    /// Whether no writer thread holds a copy any more.
    pub fn idle(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
}

impl Job {
    pub fn new(id: String, created_at: String, plan: Plan, tokens: Tokens) -> Self {
        let files = file_list(&plan);
        Self {
            id,
            created_at,
            plan: Mutex::new(plan),
            state: Mutex::new(State {
                status: JobStatus::Queued,
                files,
                error: None,
                installed_model_id: None,
                paused_by_user: false,
                samples: VecDeque::new(),
                retry: None,
            }),
            tokens: Mutex::new(tokens),
            stop: Mutex::new(CancellationToken::new()),
            writing: Busy::default(),
        }
    }

    /// The token the current run stops on.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops the current run, whatever it waits for.
    pub fn stop(&self) {
        self.stop_token().cancel();
    }

    /// Whether the current run was told to stop.
    pub fn stopped(&self) -> bool {
        self.stop_token().is_cancelled()
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn plan(&self) -> Plan {
        self.plan.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn tokens(&self) -> Tokens {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn status(&self) -> JobStatus {
        self.lock().status
    }

    pub fn set_status(&self, status: JobStatus) {
        self.lock().status = status;
    }

    /// Replaces the file list (after a folder was expanded).
    pub fn set_files(&self, plan: &Plan) {
        self.lock().files = file_list(plan);
    }

    /// A failed attempt the engine will retry after `wait`: shown as `retrying` until new bytes
    /// arrive.
    pub fn note_retry(&self, why: &str, attempt: u32, wait: Duration) {
        self.lock().retry = Some((why.to_string(), attempt, Instant::now() + wait));
    }

    /// Records the progress of file `index`.
    pub fn set_file_progress(&self, index: usize, bytes: u64, total: Option<u64>) {
        let mut state = self.lock();
        let grew = state
            .files
            .get(index)
            .is_some_and(|f| bytes > f.bytes_downloaded);
        if grew {
            state.retry = None;
        }
        if let Some(f) = state.files.get_mut(index) {
            f.bytes_downloaded = bytes;
            if total.is_some() {
                f.total_bytes = total;
            }
        }
        // One speed sample per SAMPLE_EVERY is plenty, and keeps the window a few dozen long.
        let now = Instant::now();
        if state
            .samples
            .back()
            .is_some_and(|(t, _)| now.duration_since(*t) < SAMPLE_EVERY)
        {
            return;
        }
        let sum = state.files.iter().map(|f| f.bytes_downloaded).sum();
        state.samples.push_back((now, sum));
        while state
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
        {
            state.samples.pop_front();
        }
    }

    /// Notes what happened to file `index` ("reused from ..."); `bytes` it now has.
    pub fn file_note(&self, index: usize, note: String, bytes: Option<u64>) {
        let mut state = self.lock();
        if let Some(f) = state.files.get_mut(index) {
            f.note = Some(note);
            if let Some(bytes) = bytes {
                f.bytes_downloaded = bytes;
                f.total_bytes = Some(bytes);
            }
        }
    }

    pub fn file_done(&self, index: usize, path: String) {
        let mut state = self.lock();
        if let Some(f) = state.files.get_mut(index) {
            f.done = true;
            f.path = path;
        }
    }

    /// The wire view, with speed and ETA computed now.
    pub fn snapshot(&self) -> DownloadJob {
        let plan = self.plan();
        let state = self.lock();
        let bytes: u64 = state.files.iter().map(|f| f.bytes_downloaded).sum();
        let total: Option<u64> = state.files.iter().map(|f| f.total_bytes).sum();
        let speed = if state.status == JobStatus::Downloading {
            speed(&state.samples, bytes, Instant::now())
        } else {
            0
        };
        DownloadJob {
            id: self.id.clone(),
            model_id: plan.model_id.clone(),
            model_name: plan.model_name.clone(),
            status: state.status,
            bytes_downloaded: bytes,
            total_bytes: total,
            speed_bytes_per_sec: speed,
            eta_seconds: eta(bytes, total, speed),
            files: state.files.clone(),
            error: state.error.clone(),
            installed_model_id: state.installed_model_id.clone(),
            created_at: self.created_at.clone(),
            partial_bytes: None,
            retrying: retrying(&state, Instant::now()),
        }
    }
}

/// The wire form of the last failed attempt, while the job is queued or downloading.
fn retrying(state: &State, now: Instant) -> Option<Retrying> {
    let active = matches!(state.status, JobStatus::Queued | JobStatus::Downloading);
    let (reason, attempt, next) = state.retry.as_ref().filter(|_| active)?;
    Some(Retrying {
        reason: reason.clone(),
        attempt: *attempt,
        next_in_secs: next.saturating_duration_since(now).as_secs_f64().ceil() as u64,
    })
}

/// Every planned file, nothing downloaded yet.
fn file_list(plan: &Plan) -> Vec<FileProgress> {
    plan.files
        .iter()
        .map(|f| FileProgress {
            path: format!("{}/{}", plan.folder, f.dest),
            bytes_downloaded: 0,
            total_bytes: f.planned_size(),
            done: false,
            note: None,
        })
        .collect()
}

/// Bytes per second over the window: from the oldest sample still in it to now. A stalled
/// transfer decays towards zero instead of showing its last speed.
pub fn speed(samples: &VecDeque<(Instant, u64)>, bytes_now: u64, now: Instant) -> u64 {
    let Some((t0, b0)) = samples
        .iter()
        .find(|(t, _)| now.duration_since(*t) <= WINDOW)
    else {
        return 0;
    };
    let elapsed = now.duration_since(*t0).as_secs_f64().max(1.0);
    (bytes_now.saturating_sub(*b0) as f64 / elapsed) as u64
}

pub fn eta(bytes: u64, total: Option<u64>, speed: u64) -> Option<u64> {
    let total = total?;
    (speed > 0).then(|| total.saturating_sub(bytes).div_ceil(speed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_averaged_and_decays_when_stalled() {
        let t = Instant::now();
        let samples: VecDeque<_> = [
            (t, 0),
            (t + Duration::from_secs(1), 100),
            (t + Duration::from_secs(2), 200),
        ]
        .into();
        assert_eq!(speed(&samples, 200, t + Duration::from_secs(2)), 100);
        // No new bytes for two more seconds: the average falls.
        assert_eq!(speed(&samples, 200, t + Duration::from_secs(4)), 50);
        // Everything older than the window: zero.
        assert_eq!(speed(&samples, 200, t + Duration::from_secs(30)), 0);
    }

    #[test]
    fn a_retry_shows_until_new_bytes_arrive_and_only_while_running() {
        use super::super::plan::{FileSource, PlannedFile};
        use app::domain::{ModelFamily, ModelType, SourceType};
        let plan = Plan {
            model_id: "m".into(),
            model_name: "M".into(),
            family: ModelFamily::Flux,
            model_type: ModelType::Lora,
            source: SourceType::Url,
            folder: "lora".into(),
            files: vec![PlannedFile {
                source: FileSource::Url {
                    url: "http://x/a".into(),
                },
                dest: "a.safetensors".into(),
                expected_size: Some(1000),
                expected_sha256: None,
                listed_sha256: None,
                listed_size: None,
            }],
            needs_hf_token: false,
            needs_civitai_token: false,
        };
        let job = Job::new("j".into(), String::new(), plan, Tokens::default());
        job.set_status(JobStatus::Downloading);
        job.set_file_progress(0, 100, Some(1000));
        job.note_retry("no data for 30 s", 2, Duration::from_secs(4));
        let shown = job.snapshot().retrying.expect("retrying while it waits");
        assert_eq!(shown.reason, "no data for 30 s");
        assert_eq!(shown.attempt, 2);
        assert!((3..=4).contains(&shown.next_in_secs));
        // The same bytes again (a resume that got nothing): still retrying.
        job.set_file_progress(0, 100, Some(1000));
        assert!(job.snapshot().retrying.is_some());
        job.set_status(JobStatus::Paused);
        assert_eq!(
            job.snapshot().retrying,
            None,
            "a paused job is not retrying"
        );
        job.set_status(JobStatus::Downloading);
        job.set_file_progress(0, 101, Some(1000));
        assert_eq!(job.snapshot().retrying, None, "new bytes end it");
    }

    #[test]
    fn eta_needs_a_total_and_a_speed() {
        assert_eq!(eta(50, Some(150), 10), Some(10));
        assert_eq!(eta(50, None, 10), None);
        assert_eq!(eta(50, Some(150), 0), None);
    }
}
