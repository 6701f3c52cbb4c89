use serde::{Deserialize, Serialize};

use super::{DuplicateGroup, Identification, ModelFamily, ModelType, SourceType};

/// One file of an installed model. `path` is relative to `MODELS_DIR`, or absolute for a file
/// adopted from an extra scan root (`MODELS_SCAN_DIRS`), which is referenced, never moved or
/// deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledFile {
    pub path: String,
    pub size_bytes: u64,
    /// Lower-case hex sha256 of the verified bytes.
    pub sha256: String,
    /// What the file's header says it is; recorded at install (absent on older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identification: Option<Identification>,
}

/// The result of re-hashing an installed model's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// RFC 3339, UTC.
    pub checked_at: String,
    pub ok: bool,
    /// Recorded files that are gone.
    pub missing: Vec<String>,
    /// Recorded files whose size or sha256 no longer match.
    pub changed: Vec<String>,
    /// Files in the model's folder that the record does not list.
    pub unexpected: Vec<String>,
}

/// A model whose verified files are on the volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledModel {
    pub id: String,
    /// The catalog or custom model it was installed from; `None` for a plain upload.
    pub source_model_id: Option<String>,
    pub name: String,
    pub family: ModelFamily,
    #[serde(rename = "type")]
    pub model_type: ModelType,
    pub files: Vec<InstalledFile>,
    pub total_size_bytes: u64,
    /// RFC 3339, UTC.
    pub installed_at: String,
    pub source: SourceType,
    pub last_verification: Option<Verification>,
}

/// `GET /api/models/installed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledList {
    pub models: Vec<InstalledModel>,
    /// Bytes of all installed models' files.
    pub total_disk_usage: u64,
    /// Free bytes on the volume that holds `MODELS_DIR`.
    pub disk_free: u64,
    /// Records whose files have disappeared: never listed as installed; download again
    /// (when `sourceModelId` is set) or forget.
    #[serde(default)]
    pub missing: Vec<InstalledModel>,
    /// Installed files with the same sha256 (`POST /api/models/dedupe` links copies).
    #[serde(default)]
    pub duplicates: Vec<DuplicateGroup>,
    /// Bytes that hard links between recorded files already save (counted once on disk,
    /// more than once in `totalDiskUsage`).
    #[serde(default)]
    pub disk_saved: u64,
}
