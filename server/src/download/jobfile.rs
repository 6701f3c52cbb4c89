//! Jobs on the volume: one state file per job in `.downloads/jobs/<job-id>.json` (plan,
//! status, progress; never tokens), replaced atomically by the server that runs the job, read
//! by every server. A cancel or pause asked on another server is a `<job-id>.cancel` or
//! `<job-id>.pause` file beside it, which the owner polls. Lease files live in `.downloads/leases/` (see `lease`).

use std::{
    io,
    path::{Path, PathBuf},
};

use app::domain::{DownloadJob, JobStatus};
use serde::{Deserialize, Serialize};

use super::plan::{self, Plan};
use crate::storage::write_atomic;

/// The folders of `.downloads/` that hold job state and leases (never swept as partials).
pub const JOBS: &str = "jobs";
pub const LEASES: &str = "leases";
/// The whole-journal file of earlier versions, read once and replaced by per-job files.
pub const OLD_JOURNAL: &str = "jobs.json";

/// Finished jobs kept for the UI's history.
const KEEP_FINISHED: usize = 50;

/// One job's state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFile {
    pub plan: Plan,
    /// What the API shows, as the owner last wrote it.
    pub job: DownloadJob,
    /// The fencing token of the lease the writer held (0: none).
    #[serde(default)]
    pub token: u64,
    /// Paused by the user: no server resumes it until a user asks (see `control`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused_by_user: bool,
}

impl JobFile {
    pub fn status(&self) -> JobStatus {
        self.job.status
    }
}

/// The job and lease files of one volume.
#[derive(Debug, Clone)]
pub struct Volume {
    dir: PathBuf,
}

impl Volume {
    /// `dir` is `.downloads/`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn job_path(&self, id: &str) -> PathBuf {
        self.dir.join(JOBS).join(format!("{id}.json"))
    }

    fn cancel_path(&self, id: &str) -> PathBuf {
        self.dir.join(JOBS).join(format!("{id}.cancel"))
    }

    fn pause_path(&self, id: &str) -> PathBuf {
        self.dir.join(JOBS).join(format!("{id}.pause"))
    }

    /// The lease of `model_id`'s download: one per model, so one download per model.
    pub fn lease_path(&self, model_id: &str) -> PathBuf {
        self.dir
            .join(LEASES)
            .join(format!("{}.lease", plan::partial_folder(model_id)))
    }

    pub fn write(&self, file: &JobFile) -> io::Result<()> {
        std::fs::create_dir_all(self.dir.join(JOBS))?;
        write_atomic(
            &self.job_path(&file.job.id),
            &serde_json::to_vec_pretty(file).unwrap_or_default(),
        )
    }

    pub fn read(&self, id: &str) -> Option<JobFile> {
        if !valid_id(id) {
            return None;
        }
        let bytes = std::fs::read(self.job_path(id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Every readable job file, newest first.
    pub fn list(&self) -> Vec<JobFile> {
        let mut files: Vec<JobFile> = std::fs::read_dir(self.dir.join(JOBS))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name.strip_suffix(".json")?.to_string();
                self.read(&id)
            })
            .collect();
        files.sort_by(|a, b| b.job.created_at.cmp(&a.job.created_at));
        files
    }

    /// Forgets a job: its state file and any cancel request.
    pub fn remove(&self, id: &str) {
        if valid_id(id) {
            let _ = std::fs::remove_file(self.job_path(id));
            let _ = std::fs::remove_file(self.cancel_path(id));
            let _ = std::fs::remove_file(self.pause_path(id));
        }
    }

    /// Asks the job's owner, whichever server it is, to cancel it.
    pub fn request_cancel(&self, id: &str) -> io::Result<()> {
        std::fs::create_dir_all(self.dir.join(JOBS))?;
        std::fs::write(self.cancel_path(id), b"cancel")
    }

    pub fn remove_cancel(&self, id: &str) {
        if valid_id(id) {
            let _ = std::fs::remove_file(self.cancel_path(id));
        }
    }

    pub fn cancel_requested(&self, id: &str) -> bool {
        self.cancel_path(id).exists()
    }

    /// Asks the job's owner, whichever server it is, to pause it.
    pub fn request_pause(&self, id: &str) -> io::Result<()> {
        std::fs::create_dir_all(self.dir.join(JOBS))?;
        std::fs::write(self.pause_path(id), b"pause")
    }

    pub fn remove_pause(&self, id: &str) {
        if valid_id(id) {
            let _ = std::fs::remove_file(self.pause_path(id));
        }
    }

    pub fn pause_requested(&self, id: &str) -> bool {
        self.pause_path(id).exists()
    }

    /// Finished jobs beyond the history kept, oldest first (given `list`'s newest first).
    pub fn prune(&self, files: &[JobFile]) {
        files
            .iter()
            .filter(|f| f.status().is_finished())
            .skip(KEEP_FINISHED)
            .for_each(|f| self.remove(&f.job.id));
    }
}

/// Job ids are UUIDs; anything else (a path, a dot) never names a file.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use app::domain::{ModelFamily, ModelType, SourceType};

    pub fn file(id: &str, created: &str, status: JobStatus) -> JobFile {
        JobFile {
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
            job: DownloadJob {
                id: id.into(),
                model_id: "m".into(),
                model_name: "M".into(),
                status,
                bytes_downloaded: 0,
                total_bytes: None,
                speed_bytes_per_sec: 0,
                eta_seconds: None,
                files: vec![],
                error: None,
                installed_model_id: None,
                created_at: created.into(),
                partial_bytes: None,
                retrying: None,
            },
            token: 1,
            paused_by_user: false,
        }
    }

    #[test]
    fn files_round_trip_newest_first_and_ids_never_name_other_paths() {
        let dir = tempfile::tempdir().unwrap();
        let volume = Volume::new(dir.path().to_path_buf());
        volume
            .write(&file("a", "2026-01-01T00:00:00Z", JobStatus::Completed))
            .unwrap();
        volume
            .write(&file("b", "2026-01-02T00:00:00Z", JobStatus::Downloading))
            .unwrap();
        let ids: Vec<String> = volume.list().into_iter().map(|f| f.job.id).collect();
        assert_eq!(ids, ["b", "a"]);
        assert!(volume.read("../jobs/a").is_none());
        volume.request_cancel("b").unwrap();
        volume.request_pause("b").unwrap();
        assert!(volume.cancel_requested("b"));
        assert!(volume.pause_requested("b"));
        volume.remove("b");
        assert!(!volume.cancel_requested("b"));
        assert!(!volume.pause_requested("b"));
        assert!(volume.read("b").is_none());
    }

    #[test]
    fn pruning_keeps_the_newest_finished_jobs_and_every_unfinished_one() {
        let dir = tempfile::tempdir().unwrap();
        let volume = Volume::new(dir.path().to_path_buf());
        for i in 0..(KEEP_FINISHED + 3) {
            volume
                .write(&file(
                    &format!("done-{i:03}"),
                    &format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
                    JobStatus::Failed,
                ))
                .unwrap();
        }
        volume
            .write(&file(
                "old-running",
                "2025-01-01T00:00:00Z",
                JobStatus::Paused,
            ))
            .unwrap();
        volume.prune(&volume.list());
        let left = volume.list();
        assert_eq!(left.len(), KEEP_FINISHED + 1);
        assert!(left.iter().any(|f| f.job.id == "old-running"));
        assert!(!left.iter().any(|f| f.job.id == "done-000"));
    }
}
