//! Custom models: what users add with `POST /api/models`, persisted in the models database.

use app::domain::{CivitaiSource, Model, ModelFamily, ModelType, SourceType};
use serde::{Deserialize, Serialize};

/// One file of a custom model, as far as the source told us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteFile {
    /// Path inside the repo (Hugging Face) or the file name to save as.
    pub path: String,
    pub size_bytes: Option<u64>,
    /// Lower-case hex, when the source publishes one (LFS oid, CivitAI SHA256, user-given).
    pub sha256: Option<String>,
    /// Where to fetch it, for CivitAI and direct URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Where a custom model's files come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "sourceType",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CustomSource {
    Huggingface {
        repo: String,
        revision: String,
    },
    Civitai {
        model_id: u64,
        version_id: u64,
        version_name: String,
        base_model: String,
        /// The version's page on the site it was added from (absent on models added before).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page_url: Option<String>,
    },
    Url {
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomModel {
    pub id: String,
    pub name: String,
    pub description: String,
    pub family: ModelFamily,
    #[serde(rename = "type")]
    pub model_type: ModelType,
    pub tags: Vec<String>,
    /// The source needs a token (gated or private repo, CivitAI login-only file).
    pub requires_token: bool,
    pub source: CustomSource,
    pub files: Vec<RemoteFile>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl CustomModel {
    pub fn source_type(&self) -> SourceType {
        match self.source {
            CustomSource::Huggingface { .. } => SourceType::Huggingface,
            CustomSource::Civitai { .. } => SourceType::Civitai,
            CustomSource::Url { .. } => SourceType::Url,
        }
    }

    /// True when both fetch the same thing: the same Hugging Face repo, revision and files,
    /// the same CivitAI version, or the same link.
    pub fn same_source(&self, other: &CustomModel) -> bool {
        fn paths(m: &CustomModel) -> Vec<&str> {
            let mut p: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
            p.sort_unstable();
            p
        }
        match (&self.source, &other.source) {
            (
                CustomSource::Huggingface { repo, revision },
                CustomSource::Huggingface {
                    repo: r2,
                    revision: v2,
                },
            ) => repo.eq_ignore_ascii_case(r2) && revision == v2 && paths(self) == paths(other),
            (
                CustomSource::Civitai { version_id, .. },
                CustomSource::Civitai { version_id: v2, .. },
            ) => version_id == v2,
            (CustomSource::Url { url }, CustomSource::Url { url: u2 }) => url == u2,
            _ => false,
        }
    }

    pub fn size_bytes(&self) -> Option<u64> {
        self.files.iter().map(|f| f.size_bytes).sum()
    }

    pub fn to_model(&self, installed_model_id: Option<String>) -> Model {
        self.to_model_sized(installed_model_id, None)
    }

    /// Takes the size and sha256 a download found for the Hub file `path` as its listing (the
    /// file changed on the Hub since the model was added). Other sources are pinned: unchanged.
    pub fn relist(&mut self, path: &str, size: u64, sha256: &str) {
        if !matches!(self.source, CustomSource::Huggingface { .. }) {
            return;
        }
        if let Some(file) = self.files.iter_mut().find(|f| f.path == path) {
            file.size_bytes = Some(size);
            file.sha256 = Some(sha256.to_string());
        }
    }

    /// The Hub repo, revision and paths whose sizes the tree API can tell, when some are unknown.
    pub fn unsized_hub_files(&self) -> Option<(&str, &str, Vec<&str>)> {
        match &self.source {
            CustomSource::Huggingface { repo, revision } if self.size_bytes().is_none() => Some((
                repo,
                revision,
                self.files.iter().map(|f| f.path.as_str()).collect(),
            )),
            _ => None,
        }
    }

    /// As `to_model`, with the sizes the Hub's tree API gave for a Hugging Face model.
    pub fn to_model_sized(
        &self,
        installed_model_id: Option<String>,
        known: Option<&super::KnownSizes>,
    ) -> Model {
        let from_hub = || {
            let (repo, revision, paths) = self.unsized_hub_files()?;
            known
                .filter(|k| k.covers(repo, revision, &paths))
                .map(super::KnownSizes::total)
        };
        Model {
            approx_size_bytes: None,
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            family: self.family,
            model_type: self.model_type,
            size_bytes: self.size_bytes().or_else(from_hub),
            requires_token: self.requires_token,
            source: self.source_type(),
            repo: match &self.source {
                CustomSource::Huggingface { repo, .. } => Some(repo.clone()),
                _ => None,
            },
            license: None,
            built_in: false,
            tags: self.tags.clone(),
            layout: None,
            installed: installed_model_id.is_some(),
            installed_model_id,
            added_at: Some(self.created_at.clone()),
            civitai: match &self.source {
                CustomSource::Civitai {
                    model_id,
                    version_id,
                    version_name,
                    page_url,
                    ..
                } => Some(CivitaiSource {
                    model_id: *model_id,
                    version_id: *version_id,
                    version_name: version_name.clone(),
                    page_url: page_url.clone().unwrap_or_else(|| {
                        format!("https://civitai.com/models/{model_id}?modelVersionId={version_id}")
                    }),
                }),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(source: CustomSource) -> CustomModel {
        CustomModel {
            id: "m".into(),
            name: "m".into(),
            description: String::new(),
            family: ModelFamily::Flux,
            model_type: ModelType::Lora,
            tags: Vec::new(),
            requires_token: false,
            source,
            files: vec![RemoteFile {
                path: "lora.safetensors".into(),
                size_bytes: Some(100),
                sha256: Some("aa".into()),
                url: None,
            }],
            created_at: String::new(),
        }
    }

    #[test]
    fn only_a_hub_listing_takes_what_a_download_found() {
        let hub = CustomSource::Huggingface {
            repo: "acme/x".into(),
            revision: "main".into(),
        };
        let mut listed = model(hub);
        listed.relist("lora.safetensors", 120, "bb");
        listed.relist("other.safetensors", 7, "cc");
        assert_eq!(listed.files[0].size_bytes, Some(120));
        assert_eq!(listed.files[0].sha256.as_deref(), Some("bb"));
        assert_eq!(listed.files.len(), 1);

        let mut pinned = model(CustomSource::Url {
            url: "https://example.com/lora.safetensors".into(),
        });
        pinned.relist("lora.safetensors", 120, "bb");
        assert_eq!(pinned.files[0].size_bytes, Some(100));
        assert_eq!(pinned.files[0].sha256.as_deref(), Some("aa"));
    }
}
