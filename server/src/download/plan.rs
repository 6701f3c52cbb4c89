//! What a job downloads: each file's source, destination and what it must hash to.
//! Serialisable, so the journal can resume a job after a restart (it never holds tokens).

use app::domain::{ModelFamily, ModelType, SourceType};
use serde::{Deserialize, Serialize};

/// Where one file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FileSource {
    /// `{HF_ENDPOINT}/{repo}/resolve/{revision}/{path}`.
    Huggingface {
        repo: String,
        revision: String,
        path: String,
    },
    /// Every file under `folder/` of the repo, listed through the tree API when the job starts.
    HuggingfaceFolder {
        repo: String,
        revision: String,
        folder: String,
    },
    /// `{CIVITAI_ENDPOINT}/api/download/models/{versionId}{query}`.
    Civitai { version_id: u64, query: String },
    /// A direct link typed by a user (address checks apply).
    Url { url: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedFile {
    pub source: FileSource,
    /// Destination relative to the model's folder (`repo/sub/path` kept for Hugging Face).
    pub dest: String,
    pub expected_size: Option<u64>,
    /// Lower-case hex, from the registry or the user; the source's own hash is checked too.
    pub expected_sha256: Option<String>,
}

/// A whole job's plan and what to record once it is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub model_id: String,
    pub model_name: String,
    pub family: ModelFamily,
    pub model_type: ModelType,
    pub source: SourceType,
    /// The model's own folder, relative to `MODELS_DIR` (e.g. `flux/flux-1-dev`).
    pub folder: String,
    pub files: Vec<PlannedFile>,
    /// A Hugging Face token is needed (gated or private repo).
    pub needs_hf_token: bool,
    /// A CivitAI key is needed (login-only file).
    pub needs_civitai_token: bool,
}

impl Plan {
    /// Sum of the expected sizes, when every one is known.
    pub fn known_size(&self) -> Option<u64> {
        self.files.iter().map(|f| f.expected_size).sum()
    }
}
