//! Searching Hugging Face and CivitAI from the Add tab: the query, a page of results, and what
//! a result offers to add (a Hub repo's files, a CivitAI model's versions).

use serde::{Deserialize, Serialize};

use super::{AppError, ModelFamily, ModelType, Wire};

/// Where a search looks. On the wire `hf` or `civitai`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SearchSource {
    #[default]
    #[serde(rename = "hf")]
    Huggingface,
    #[serde(rename = "civitai")]
    Civitai,
}

impl SearchSource {
    pub const ALL: [SearchSource; 2] = [SearchSource::Huggingface, SearchSource::Civitai];

    pub fn label(self) -> &'static str {
        match self {
            SearchSource::Huggingface => "Hugging Face",
            SearchSource::Civitai => "CivitAI",
        }
    }
}

impl Wire for SearchSource {
    const VARIANTS: &'static [Self] = &Self::ALL;
    fn wire(self) -> &'static str {
        match self {
            SearchSource::Huggingface => "hf",
            SearchSource::Civitai => "civitai",
        }
    }
}

/// The order of results: most downloaded, most liked, or newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    #[default]
    Downloads,
    Likes,
    Newest,
}

impl SearchSort {
    pub const ALL: [SearchSort; 3] = [SearchSort::Downloads, SearchSort::Likes, SearchSort::Newest];

    pub fn label(self) -> &'static str {
        match self {
            SearchSort::Downloads => "Most downloaded",
            SearchSort::Likes => "Most liked",
            SearchSort::Newest => "Newest",
        }
    }
}

impl Wire for SearchSort {
    const VARIANTS: &'static [Self] = &Self::ALL;
    fn wire(self) -> &'static str {
        match self {
            SearchSort::Downloads => "downloads",
            SearchSort::Likes => "likes",
            SearchSort::Newest => "newest",
        }
    }
}

/// The base models a search can be narrowed to, by CivitAI's `baseModel` name; on the Hub the
/// same choice is the `base_model:` tag of the reference repo.
pub const BASE_MODELS: [(&str, &str); 8] = [
    ("Flux.1 D", "black-forest-labs/FLUX.1-dev"),
    ("Flux.1 S", "black-forest-labs/FLUX.1-schnell"),
    ("Flux.2 D", "black-forest-labs/FLUX.2-dev"),
    ("SDXL 1.0", "stabilityai/stable-diffusion-xl-base-1.0"),
    ("Qwen", "Qwen/Qwen-Image"),
    ("ZImageTurbo", "Tongyi-MAI/Z-Image-Turbo"),
    ("SD 1.5", "stable-diffusion-v1-5/stable-diffusion-v1-5"),
    (
        "Illustrious",
        "OnomaAIResearch/Illustrious-xl-early-release-v0",
    ),
];

/// Our family for a base model as CivitAI names it ("Flux.1 D", "Illustrious") or as a Hub
/// repo id ("black-forest-labs/FLUX.1-dev"); `Custom` for any other.
pub fn family_of_base(base: &str) -> ModelFamily {
    let b = base.to_ascii_lowercase();
    let name = b.rsplit('/').next().unwrap_or_default();
    if name.starts_with("flux") {
        ModelFamily::Flux
    } else if name.starts_with("sdxl")
        || name.starts_with("stable-diffusion-xl")
        || ["pony", "illustrious", "noobai"].contains(&name)
        || name.starts_with("illustrious-xl")
    {
        ModelFamily::Sdxl
    } else if name.starts_with("qwen") {
        ModelFamily::Qwen
    } else if name.starts_with("zimage") || name.starts_with("z-image") {
        ModelFamily::Zimage
    } else {
        ModelFamily::Custom
    }
}

/// Longest query text and cursor accepted.
pub const MAX_QUERY_CHARS: usize = 200;

/// `GET /api/search?source=hf|civitai&q=&type=&baseModel=&sort=&cursor=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchQuery {
    pub source: SearchSource,
    pub q: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub model_type: Option<ModelType>,
    /// One of [`BASE_MODELS`]' CivitAI names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model: Option<String>,
    pub sort: SearchSort,
    /// The next page, as the previous page's `nextCursor` gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl SearchQuery {
    /// Refuses what no site could mean, naming the field; trims the text.
    pub fn checked(mut self) -> Result<Self, AppError> {
        self.q = self.q.trim().to_string();
        if self.q.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::invalid(
                "q",
                format!("the search text is longer than {MAX_QUERY_CHARS} characters"),
            ));
        }
        super::check_text("q", &self.q, false)?;
        if let Some(base) = &self.base_model {
            if !BASE_MODELS.iter().any(|(name, _)| name == base) {
                let known: Vec<&str> = BASE_MODELS.iter().map(|(n, _)| *n).collect();
                return Err(AppError::invalid(
                    "baseModel",
                    format!("unknown base model {base:?}; one of: {}", known.join(", ")),
                ));
            }
        }
        if let Some(cursor) = &self.cursor {
            let printable = cursor.chars().all(|c| c.is_ascii_graphic());
            if cursor.is_empty() || cursor.len() > MAX_QUERY_CHARS || !printable {
                return Err(AppError::invalid(
                    "cursor",
                    "the page cursor is not one this server gave: search again",
                ));
            }
        }
        Ok(self)
    }
}

/// One model found on Hugging Face or CivitAI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub source: SearchSource,
    /// `owner/name` on the Hub; the model id on CivitAI.
    pub id: String,
    pub name: String,
    pub author: Option<String>,
    /// Our type, when the source says what it is.
    #[serde(rename = "type")]
    pub model_type: Option<ModelType>,
    /// CivitAI's base model of the newest version, or the Hub's `base_model:` tag.
    pub base_model: Option<String>,
    pub downloads: u64,
    pub likes: u64,
    pub license: Option<String>,
    /// A safe-for-work preview image (CivitAI).
    pub preview_url: Option<String>,
    /// Needs a token to download (a gated Hub repo).
    pub gated: bool,
    /// Last change (Hub) or newest version's publication (CivitAI), as the source wrote it.
    pub updated_at: Option<String>,
    /// The source's page for people.
    pub page_url: String,
}

/// A page of results and the cursor of the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    pub results: Vec<SearchResult>,
    pub next_cursor: Option<String>,
    /// Results left out because they are not safe for work.
    pub hidden_nsfw: u32,
}

/// One file of a Hub repo, from the tree API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoFile {
    pub path: String,
    pub size_bytes: Option<u64>,
    /// The LFS sha256, for files stored with LFS.
    pub sha256: Option<String>,
    /// The main weights: picked until the user changes the choice.
    pub preselected: bool,
}

/// `GET /api/search/hf/files?repo=&revision=`: every file of a repo at a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoFiles {
    pub repo: String,
    pub revision: String,
    pub files: Vec<RepoFile>,
}

/// A file of a CivitAI version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionFile {
    pub name: String,
    pub size_bytes: Option<u64>,
    pub primary: bool,
}

/// A published version of a CivitAI model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CivitaiVersion {
    pub id: u64,
    pub name: String,
    pub base_model: String,
    pub published_at: Option<String>,
    pub trained_words: Vec<String>,
    pub files: Vec<VersionFile>,
    pub preview_url: Option<String>,
}

/// `GET /api/search/civitai/{modelId}`: a model and its versions, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CivitaiModel {
    pub id: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub model_type: ModelType,
    pub civitai_type: String,
    pub versions: Vec<CivitaiVersion>,
    pub page_url: String,
}

impl CivitaiModel {
    /// The link the add form takes for `version_id`.
    pub fn version_link(&self, version_id: u64) -> String {
        format!(
            "https://civitai.com/models/{}?modelVersionId={version_id}",
            self.id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::from_wire;

    #[test]
    fn wire_names_are_serde_names() {
        for s in SearchSource::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.wire());
            assert_eq!(from_wire::<SearchSource>(s.wire()), Some(s));
        }
        for s in SearchSort::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.wire());
            assert_eq!(from_wire::<SearchSort>(s.wire()), Some(s));
        }
    }

    #[test]
    fn base_models_of_both_sites_map_to_our_families() {
        for (base, family) in [
            ("Flux.1 D", ModelFamily::Flux),
            ("black-forest-labs/FLUX.1-dev", ModelFamily::Flux),
            ("SDXL 1.0", ModelFamily::Sdxl),
            (
                "stabilityai/stable-diffusion-xl-base-1.0",
                ModelFamily::Sdxl,
            ),
            ("Illustrious", ModelFamily::Sdxl),
            ("Qwen", ModelFamily::Qwen),
            ("Qwen/Qwen-Image", ModelFamily::Qwen),
            ("ZImageTurbo", ModelFamily::Zimage),
            ("Tongyi-MAI/Z-Image-Turbo", ModelFamily::Zimage),
            ("SD 1.5", ModelFamily::Custom),
        ] {
            assert_eq!(family_of_base(base), family, "{base}");
        }
        for (name, repo) in BASE_MODELS {
            assert_eq!(
                family_of_base(name),
                family_of_base(repo),
                "{name} and {repo}"
            );
        }
    }

    #[test]
    fn bad_queries_name_their_field() {
        let query = |q: &str, base: Option<&str>, cursor: Option<&str>| SearchQuery {
            q: q.into(),
            base_model: base.map(str::to_string),
            cursor: cursor.map(str::to_string),
            ..Default::default()
        };
        let field = |q: SearchQuery| q.checked().unwrap_err().field.unwrap();
        assert_eq!(field(query(&"x".repeat(201), None, None)), "q");
        assert_eq!(field(query("flux\u{202E}", None, None)), "q");
        assert_eq!(field(query("flux", Some("SD 9"), None)), "baseModel");
        assert_eq!(field(query("flux", None, Some("a b"))), "cursor");
        assert_eq!(field(query("flux", None, Some(""))), "cursor");
        let ok = query("  flux lora ", Some("Flux.1 D"), Some("abc%3D")).checked();
        assert_eq!(ok.unwrap().q, "flux lora");
    }
}
