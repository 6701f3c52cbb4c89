use serde::{Deserialize, Serialize};

use super::{CivitaiInfo, DuplicateGroup, Identification, ModelFamily, ModelType, SourceType};

/// One file of an installed model. `path` is relative to `MODELS_DIR`, or absolute for a file
/// adopted from an extra scan root (`MODELS_SCAN_DIRS`), which is referenced, never moved or
/// deleted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl Verification {
    /// Files were missing or changed (an extra file in the folder is no damage): downloading
    /// the model again replaces this copy.
    pub fn found_damage(&self) -> bool {
        !self.missing.is_empty() || !self.changed.is_empty()
    }
}

/// A model whose verified files are on the volume.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// What CivitAI knows about the model's main file (looked up by its sha256), once asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub civitai: Option<CivitaiInfo>,
}

impl InstalledModel {
    /// The file CivitAI is asked about: the largest one (a model's weights, not its configs).
    pub fn main_file(&self) -> Option<&InstalledFile> {
        self.files.iter().max_by_key(|f| f.size_bytes)
    }

    /// The trigger words to show and prefill in Export: CivitAI's `trainedWords` when it has
    /// any, else those in the files' own metadata; each once, in order.
    pub fn trigger_words(&self) -> Vec<String> {
        let from_civitai = self
            .civitai
            .as_ref()
            .map(|c| c.trained_words.clone())
            .unwrap_or_default();
        let words: Vec<String> = if from_civitai.iter().any(|w| !w.trim().is_empty()) {
            from_civitai
        } else {
            self.files
                .iter()
                .filter_map(|f| f.identification.as_ref())
                .flat_map(|i| i.trigger_words.iter().cloned())
                .collect()
        };
        let mut out: Vec<String> = Vec::new();
        for word in words.into_iter().map(|w| w.trim().to_string()) {
            if !word.is_empty() && !out.contains(&word) {
                out.push(word);
            }
        }
        out
    }
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
    /// The user's choice: previews CivitAI rates NSFW are shown without a click.
    #[serde(default)]
    pub show_nsfw_previews: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CivitaiStatus, Identification};

    fn model(file_words: &[&str], civitai_words: Option<&[&str]>) -> InstalledModel {
        let mut identification = Identification::unknown("");
        identification.trigger_words = file_words.iter().map(|w| w.to_string()).collect();
        InstalledModel {
            id: "m".into(),
            source_model_id: None,
            name: "m".into(),
            family: ModelFamily::Flux,
            model_type: ModelType::Lora,
            files: vec![InstalledFile {
                path: "lora/m.safetensors".into(),
                size_bytes: 1,
                sha256: "a".repeat(64),
                identification: Some(identification),
            }],
            total_size_bytes: 1,
            installed_at: String::new(),
            source: SourceType::Upload,
            last_verification: None,
            civitai: civitai_words.map(|words| CivitaiInfo {
                trained_words: words.iter().map(|w| w.to_string()).collect(),
                ..CivitaiInfo::without_match(CivitaiStatus::Found, "a", String::new(), None)
            }),
        }
    }

    #[test]
    fn civitai_trigger_words_win_over_the_files_own() {
        type Words = &'static [&'static str];
        let cases: [(Words, Option<Words>, Words); 5] = [
            (&["ohwx"], None, &["ohwx"]),
            (&["ohwx"], Some(&[]), &["ohwx"]),
            (&["ohwx"], Some(&["  "]), &["ohwx"]),
            (
                &["ohwx"],
                Some(&["dsmix", " dsmix ", "style"]),
                &["dsmix", "style"],
            ),
            (&[], None, &[]),
        ];
        for (file, civitai, expected) in cases {
            assert_eq!(
                model(file, civitai).trigger_words(),
                expected,
                "{file:?} {civitai:?}"
            );
        }
    }
}
