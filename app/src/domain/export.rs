use serde::{Deserialize, Serialize};

/// A dataset folder the server can see (under `DATASETS_DIR`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetFolder {
    /// Absolute path on the server.
    pub path: String,
    pub name: String,
    pub image_count: u64,
}

/// What the export page sends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportRequest {
    pub dataset_folder: String,
    pub trigger_word: String,
    pub run_name: String,
    /// An installed model's id; optional, as in the spec.
    pub base_model_id: Option<String>,
}

/// The generated AI Toolkit config, saved on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub yaml: String,
    /// Where it was saved on the server.
    pub saved_path: String,
    pub file_name: String,
    /// Things the user must fix or know before training.
    pub warnings: Vec<String>,
    /// Why the `model:` block has the values it has.
    pub notes: Vec<String>,
}

/// The `model:` block an export writes for a base model, shown before exporting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelBlockPreview {
    /// The block as YAML (`model:` and its keys).
    pub yaml: String,
    /// Why each value is what it is (folder or file, extras, adapters).
    pub notes: Vec<String>,
    /// What is missing, and what AI Toolkit would download instead.
    pub warnings: Vec<String>,
    /// Built-in models that would fill what is missing, to download in one click.
    pub companions: Vec<Companion>,
}

/// A built-in model the export would use if it were installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Companion {
    pub model_id: String,
    pub name: String,
    pub requires_token: bool,
}
