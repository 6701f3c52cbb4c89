//! What a job downloads: each file's source, destination and what it must hash to.
//! Serialisable, so the journal can resume a job after a restart (it never holds tokens).

use std::path::{Path, PathBuf};

use app::domain::{AppError, ErrorCode, ModelFamily, ModelType, SourceType};
use serde::{Deserialize, Serialize};

use crate::{inspect::Format, storage::paths};

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
    /// The LFS sha256 the Hub listed for it (a custom model's add-time check, or the tree
    /// API's listing kept with the known sizes): checked when neither the resolve answer
    /// (`X-Linked-Etag`) nor `expected_sha256` gives one, and what a copy already on the
    /// volume is found by. A newer `X-Linked-Etag` wins (the file may have changed on the Hub
    /// since it was listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_sha256: Option<String>,
    /// The size the Hub listed with `listed_sha256` (a custom model's add-time check): the
    /// estimate for progress and free space until the source answers. Not a pin: the file
    /// may have changed since, and then the resolve answer's size is the one downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_size: Option<u64>,
}

impl PlannedFile {
    /// The size the file should have before the source answers: the pinned one, else the one
    /// the Hub listed.
    pub fn planned_size(&self) -> Option<u64> {
        self.expected_size.or(self.listed_size)
    }

    /// The sha256 the file should have before the source answers: the pinned one, else the
    /// one the Hub listed.
    pub fn published_sha256(&self) -> Option<&str> {
        self.expected_sha256
            .as_deref()
            .or(self.listed_sha256.as_deref())
    }
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
    /// Sum of the planned sizes, when every one is known.
    pub fn known_size(&self) -> Option<u64> {
        self.files.iter().map(PlannedFile::planned_size).sum()
    }

    /// Refuses, before anything is downloaded, a destination that would leave the model's
    /// folder, and a CivitAI or direct-link file whose name is not an accepted model type.
    pub fn check(&self) -> Result<(), AppError> {
        self.files.iter().try_for_each(PlannedFile::check)
    }

    /// Each file's partial in `dir` and its destination relative to `MODELS_DIR`: what an
    /// install moves into place, and what a start after a crash inside it moves back.
    pub fn moves(&self, dir: &Path) -> Vec<(PathBuf, String)> {
        self.files
            .iter()
            .enumerate()
            .map(|(index, f)| {
                (
                    partial_file(dir, index),
                    format!("{}/{}", self.folder, f.dest),
                )
            })
            .collect()
    }
}

impl PlannedFile {
    fn check(&self) -> Result<(), AppError> {
        if !paths::is_safe_relative(&self.dest) {
            return Err(AppError::invalid(
                "files",
                format!(
                    "{:?} is not a path inside the model's folder (no leading /, no .., no backslashes); nothing was downloaded",
                    self.dest
                ),
            ));
        }
        let single = matches!(
            self.source,
            FileSource::Civitai { .. } | FileSource::Url { .. }
        );
        if single && Format::from_file_name(&self.dest).is_none() {
            return Err(AppError::new(
                ErrorCode::UnsupportedType,
                format!(
                    "{} is not a model file name: it must end in {}; add the model again with such a file name",
                    self.dest,
                    crate::inspect::ACCEPTED_EXTENSIONS
                ),
            ));
        }
        Ok(())
    }

    /// The name the fetched file is installed under. A CivitAI server's own name
    /// (`Content-Disposition`) may rename the file, but only its stem: the extension stays the
    /// planned one, so a remote name never decides the file's type.
    pub fn installed_name(&self, remote: Option<&str>) -> String {
        let planned = || self.dest.clone();
        let (FileSource::Civitai { .. }, Some(remote), Some((_, extension))) =
            (&self.source, remote, self.dest.rsplit_once('.'))
        else {
            return planned();
        };
        let base = remote.rsplit(['/', '\\']).next().unwrap_or(remote);
        let wanted = format!(".{extension}");
        paths::sanitize_file_name(&format!("{}{wanted}", paths::file_stem(base)))
            .filter(|name| name.len() > wanted.len() && name.ends_with(&wanted))
            .unwrap_or_else(planned)
    }
}

/// A job's folder of partial files under `.downloads/`: `<slug>.parts`, which no model id can
/// turn into the journal's `jobs.json` or an upload's partial file.
pub fn partial_folder(model_id: &str) -> String {
    format!("{}.parts", paths::slug(model_id))
}

/// The partial file of the `index`th planned file.
pub fn partial_file(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("{index}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(source: FileSource, dest: &str) -> PlannedFile {
        PlannedFile {
            source,
            dest: dest.into(),
            expected_size: None,
            expected_sha256: None,
            listed_sha256: None,
            listed_size: None,
        }
    }

    fn civitai(dest: &str) -> PlannedFile {
        file(
            FileSource::Civitai {
                version_id: 1,
                query: String::new(),
            },
            dest,
        )
    }

    #[test]
    fn a_remote_name_renames_the_stem_never_the_extension() {
        let f = civitai("dreamshaper_8.safetensors");
        assert_eq!(f.installed_name(None), "dreamshaper_8.safetensors");
        assert_eq!(
            f.installed_name(Some("dreamshaper_8 (final).safetensors")),
            "dreamshaper_8 (final).safetensors"
        );
        assert_eq!(f.installed_name(Some("evil.sh")), "evil.safetensors");
        assert_eq!(f.installed_name(Some("../../x.gguf")), "x.safetensors");
        assert_eq!(f.installed_name(Some("..")), "dreamshaper_8.safetensors");
        let long = format!("{}.sh", "a".repeat(400));
        assert!(f.installed_name(Some(&long)).ends_with("a.safetensors"));
        let url = file(
            FileSource::Url {
                url: "http://x/y".into(),
            },
            "y.gguf",
        );
        assert_eq!(url.installed_name(Some("other.bin")), "y.gguf");
    }

    #[test]
    fn unsafe_or_non_model_destinations_are_refused_before_downloading() {
        assert!(civitai("evil.sh").check().is_err());
        assert!(civitai("lora.safetensors").check().is_ok());
        let hf = |dest: &str| {
            file(
                FileSource::Huggingface {
                    repo: "a/b".into(),
                    revision: "main".into(),
                    path: dest.into(),
                },
                dest,
            )
        };
        assert!(hf("config.json").check().is_ok());
        for bad in ["unet/../../x.safetensors", "/etc/passwd", "a\\..\\b", ""] {
            let err = hf(bad).check().unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn partial_folders_never_collide_with_the_journal() {
        assert_eq!(partial_folder("jobs.json"), "jobs.json.parts");
        assert_ne!(partial_folder("jobs.json"), "jobs.json");
    }
}
