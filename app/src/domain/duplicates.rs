//! Files with the same sha256, and replacing copies with hard links.

use serde::{Deserialize, Serialize};

/// Installed files with one sha256: copies of each other wherever they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateGroup {
    pub sha256: String,
    pub size_bytes: u64,
    /// Recorded paths (relative to `MODELS_DIR`, absolute under extra roots).
    pub paths: Vec<String>,
    /// Distinct files on disk among `paths` (hard links of one file count once).
    pub distinct_files: u64,
    /// Bytes deduplicating could still free: (distinct files - 1) x size.
    pub reclaimable_bytes: u64,
    /// Bytes hard links among these files already save.
    pub saved_bytes: u64,
}

/// A file deduplication left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DedupeSkip {
    pub path: String,
    pub reason: String,
}

/// `POST /api/models/dedupe`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DedupeResult {
    /// Files replaced by a hard link to their first copy.
    pub linked: Vec<String>,
    pub bytes_saved: u64,
    pub skipped: Vec<DedupeSkip>,
}
