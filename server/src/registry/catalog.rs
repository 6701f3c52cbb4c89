use app::domain::{Model, ModelFamily, ModelLayout, ModelType, SourceType};

use super::KnownSizes;
use serde::Deserialize;

const CATALOG_JSON: &str = include_str!("catalog.json");

/// One file of a built-in model as the catalog records it.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogFile {
    /// Path inside the repo; a trailing `/` means a whole folder.
    pub path: String,
    pub size: Option<u64>,
    pub sha256: Option<String>,
}

/// A built-in model: a Hugging Face repo and the exact files a trainer needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BuiltIn {
    pub id: String,
    pub name: String,
    pub description: String,
    pub family: ModelFamily,
    #[serde(rename = "type")]
    pub model_type: ModelType,
    /// How a base model's files are laid out (diffusers folders or a single file).
    #[serde(default)]
    pub layout: Option<ModelLayout>,
    pub repo: String,
    pub revision: String,
    pub gated: bool,
    pub license: Option<String>,
    pub tags: Vec<String>,
    pub files: Vec<CatalogFile>,
    /// The approximate total, shown with "≈" until the exact size is known. In the JSON,
    /// `approx_size_from` beside it says where the figure comes from: the reference's sizes
    /// (`shared/reference/external-apis.md` section 3) where it gives them, else the design's
    /// estimate (a unit test keeps both true).
    #[serde(default)]
    pub approx_size: Option<u64>,
}

impl BuiltIn {
    /// Total size when every file's size is known.
    pub fn size_bytes(&self) -> Option<u64> {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The catalog's paths, in order (folders end in `/`).
    pub fn paths(&self) -> Vec<&str> {
        self.files.iter().map(|f| f.path.as_str()).collect()
    }

    /// The exact total: the catalog's own figures, else what the Hub's tree API said (`known`,
    /// when it is about these files of this repo and revision).
    pub fn exact_size(&self, known: Option<&KnownSizes>) -> Option<u64> {
        self.size_bytes().or_else(|| {
            known
                .filter(|k| k.covers(&self.repo, &self.revision, &self.paths()))
                .map(KnownSizes::total)
        })
    }

    /// The wire view, with install status and the sizes the Hub gave filled in by the caller.
    pub fn to_model(
        &self,
        installed_model_id: Option<String>,
        known: Option<&KnownSizes>,
    ) -> Model {
        let size_bytes = self.exact_size(known);
        Model {
            approx_size_bytes: self.approx_size.filter(|_| size_bytes.is_none()),
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            family: self.family,
            model_type: self.model_type,
            size_bytes,
            requires_token: self.gated,
            source: SourceType::Huggingface,
            repo: Some(self.repo.clone()),
            license: self.license.clone(),
            built_in: true,
            tags: self.tags.clone(),
            layout: self.layout,
            installed: installed_model_id.is_some(),
            installed_model_id,
            added_at: None,
            civitai: None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct CatalogDoc {
    models: Vec<BuiltIn>,
}

/// The built-in catalog, parsed once.
#[derive(Debug, Clone)]
pub struct Catalog {
    models: Vec<BuiltIn>,
}

impl Catalog {
    /// The catalog compiled into the binary. Its validity is checked by a unit test.
    pub fn built_in() -> Self {
        let doc: CatalogDoc =
            serde_json::from_str(CATALOG_JSON).expect("catalog.json is checked by unit tests");
        Self { models: doc.models }
    }

    pub fn models(&self) -> &[BuiltIn] {
        &self.models
    }

    pub fn get(&self, id: &str) -> Option<&BuiltIn> {
        self.models.iter().find(|m| m.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalog_has_the_models_of_the_spec_and_their_training_layouts() {
        let catalog = Catalog::built_in();
        assert_eq!(catalog.models().len(), 15);
        let ids: HashSet<_> = catalog.models().iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 15);
        assert!(catalog.get("flux-1-dev").is_some_and(|m| m.gated));
        // FLUX.1 also comes in the diffusers layout AI Toolkit trains from.
        for id in ["flux-1-dev-diffusers", "flux-1-schnell-diffusers"] {
            let m = catalog.get(id).unwrap();
            assert_eq!(m.layout, Some(ModelLayout::Diffusers));
            for folder in [
                "transformer/",
                "text_encoder/",
                "text_encoder_2/",
                "tokenizer/",
                "tokenizer_2/",
                "vae/",
                "scheduler/",
            ] {
                assert!(
                    m.files.iter().any(|f| f.path == folder),
                    "{id} lacks {folder}"
                );
            }
        }
        // Every base model says which layout it is.
        for m in catalog
            .models()
            .iter()
            .filter(|m| m.model_type == ModelType::BaseModel)
        {
            assert!(m.layout.is_some(), "{} has no layout", m.id);
        }
    }

    #[test]
    fn every_estimate_says_where_it_comes_from_and_the_references_figures_add_up() {
        let doc: serde_json::Value = serde_json::from_str(CATALOG_JSON).unwrap();
        for m in doc["models"].as_array().unwrap() {
            let from = m["approx_size_from"].as_str().unwrap_or_default();
            assert_eq!(
                m["approx_size"].is_u64(),
                !from.is_empty(),
                "{}: an estimate and its origin go together",
                m["id"]
            );
        }
        const GIB: f64 = 1_073_741_824.0;
        let approx = |id: &str| Catalog::built_in().get(id).unwrap().approx_size;
        // The reference's figures (external-apis.md section 3), summed.
        let cases = [
            ("zimage-deturbo-v1-bf16", (11.46 * GIB).round() as u64),
            (
                "qwen2.5-vl-7b-instruct-q8",
                (7.54 * GIB).round() as u64 + 1_354_162_912,
            ),
            ("flux-1-schnell", 23_782_506_688 + 335_304_388),
            ("flux-srpo", 47_600_000_000),
        ];
        for (id, reference) in cases {
            assert_eq!(approx(id), Some(reference), "{id}");
        }
        // Not in the reference: the design's estimates, kept and said so.
        for (id, estimate) in [
            ("flux-1-dev-diffusers", 33_700_000_000),
            ("flux-1-schnell-diffusers", 33_700_000_000),
            ("qwen-image", 57_700_000_000),
            ("zimage-text-encoder-vae", 8_210_000_000),
        ] {
            assert_eq!(approx(id), Some(estimate), "{id}");
            let m = doc["models"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == id)
                .unwrap();
            assert!(
                m["approx_size_from"]
                    .as_str()
                    .unwrap()
                    .starts_with("the design's estimate"),
                "{id}"
            );
        }
    }

    #[test]
    fn every_entry_is_well_formed() {
        for m in Catalog::built_in().models() {
            assert!(m.repo.split('/').count() == 2, "{}: repo {}", m.id, m.repo);
            assert!(!m.files.is_empty(), "{} has no files", m.id);
            for f in &m.files {
                assert!(
                    !f.path.starts_with('/') && !f.path.contains(".."),
                    "{}",
                    f.path
                );
                if let Some(hash) = &f.sha256 {
                    assert!(
                        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
                        "{}: bad sha256 {hash}",
                        m.id
                    );
                }
            }
        }
    }

    #[test]
    fn size_is_known_only_when_every_file_size_is() {
        let catalog = Catalog::built_in();
        let dev = catalog.get("flux-1-dev").unwrap();
        assert_eq!(dev.size_bytes(), Some(23_802_932_552 + 335_304_388));
        assert_eq!(catalog.get("flux-1-schnell").unwrap().size_bytes(), None);
    }
}
