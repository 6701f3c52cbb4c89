use serde::{Deserialize, Serialize};

use super::AppError;

/// Where a download job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Downloading,
    Verifying,
    Completed,
    Failed,
    Cancelled,
    /// Waiting for the user: the job needs a token the server no longer has (after a restart).
    Paused,
}

impl JobStatus {
    /// The job will not change any more by itself.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// The job holds or waits for a download slot, or waits for a token.
    pub fn is_active(self) -> bool {
        !self.is_finished()
    }
}

/// Progress of one file of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileProgress {
    /// Destination, relative to `MODELS_DIR`.
    pub path: String,
    pub bytes_downloaded: u64,
    pub total_bytes: Option<u64>,
    pub done: bool,
    /// What happened to the file besides a transfer: "reused from <path>" when a file with its
    /// sha256 was already on the volume and was hard-linked, or why it could not be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `GET /api/models/download/{jobId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadJob {
    pub id: String,
    pub model_id: String,
    pub model_name: String,
    pub status: JobStatus,
    pub bytes_downloaded: u64,
    pub total_bytes: Option<u64>,
    /// Smoothed over the last few seconds.
    pub speed_bytes_per_sec: u64,
    pub eta_seconds: Option<u64>,
    pub files: Vec<FileProgress>,
    pub error: Option<AppError>,
    pub installed_model_id: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Bytes of partial files a failed job kept (to resume, or to discard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_bytes: Option<u64>,
    /// Set while the engine waits to try again after a failed attempt (a stalled transfer, an
    /// unreachable host), until new bytes arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrying: Option<Retrying>,
}

/// Why a running job is not receiving data, and when it tries again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retrying {
    /// What failed, as the engine saw it ("no data for 30 s", "connection refused").
    pub reason: String,
    /// Failed attempts in a row so far (from 1).
    pub attempt: u32,
    /// Seconds until the next attempt starts (0: it is under way).
    pub next_in_secs: u64,
}

/// What the page watches to follow changes other servers on the volume make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeState {
    /// Changes whenever the models database is written (by any server).
    pub generation: String,
    /// Some job on the volume is queued, downloading or verifying.
    pub downloading: bool,
}

/// `POST /api/models/download`. Tokens live in memory for this job only; `Debug` redacts them.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DownloadRequest {
    pub model_id: String,
    pub huggingface_token: Option<String>,
    pub civitai_token: Option<String>,
}

impl std::fmt::Debug for DownloadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("DownloadRequest")
            .field("model_id", &self.model_id)
            .field("huggingface_token", &redact(&self.huggingface_token))
            .field("civitai_token", &redact(&self.civitai_token))
            .finish()
    }
}
