//! The volume scan: model files no record covers, and adopting them as installed models.

use serde::{Deserialize, Serialize};

use super::{Identification, ModelFamily, ModelType};

/// Where a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanPhase {
    /// No scan has run since the server started.
    #[default]
    Idle,
    /// Walking the folders and reading headers.
    Listing,
    /// Hashing the untracked files whose sha256 is not cached.
    Hashing,
    Done,
    Failed,
}

/// A model file on the volume that no installed record covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntrackedFile {
    /// Absolute path, as `POST /api/models/adopt` takes it.
    pub path: String,
    /// The scan root it was found under (`MODELS_DIR` or one of `MODELS_SCAN_DIRS`).
    pub root: String,
    /// True under `MODELS_DIR` (can be moved into its folder); false under an extra root
    /// (referenced, never moved or deleted).
    pub in_models_dir: bool,
    pub size_bytes: u64,
    /// `safetensors`, `gguf` or `torch`.
    pub format: String,
    pub identification: Identification,
    /// Lower-case hex, once hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The installed model that already has a file with this sha256: this one is a copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// `GET /api/models/scan`: progress and what the last scan found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanStatus {
    pub phase: ScanPhase,
    /// RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The folders scanned.
    pub roots: Vec<String>,
    /// Model files seen, tracked or not.
    pub files_seen: u64,
    /// Untracked files whose sha256 had to be computed, and how far that got.
    pub files_to_hash: u64,
    pub files_hashed: u64,
    pub bytes_to_hash: u64,
    pub bytes_hashed: u64,
    /// Files whose header this scan read (new or changed files); 0 on a rescan of
    /// unchanged files, which come from the cache.
    pub headers_read: u64,
    pub untracked: Vec<UntrackedFile>,
    /// Why the scan failed, or folders it could not read.
    pub problems: Vec<String>,
}

impl ScanStatus {
    pub fn running(&self) -> bool {
        matches!(self.phase, ScanPhase::Listing | ScanPhase::Hashing)
    }
}

/// `POST /api/models/adopt`: registers files found by a scan as one installed model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdoptRequest {
    /// Absolute paths of the model's files, as the scan lists them.
    pub paths: Vec<String>,
    /// Default: the first file's name without its extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Default: what the first file was identified as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<ModelFamily>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub model_type: Option<ModelType>,
    /// Move files under `MODELS_DIR` into the family/type folder (default: they stay).
    #[serde(default, rename = "move", skip_serializing_if = "Option::is_none")]
    pub move_files: Option<bool>,
}
