use serde::{Deserialize, Serialize};

use super::Wire;

/// What a model file is for. Serialised as the spec's snake_case names (`base_model`, `lora`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelType {
    BaseModel,
    Lora,
    Vae,
    Adapter,
    TextEncoder,
    Captioner,
    Other,
}

impl ModelType {
    pub const ALL: [ModelType; 7] = [
        ModelType::BaseModel,
        ModelType::Lora,
        ModelType::Vae,
        ModelType::Adapter,
        ModelType::TextEncoder,
        ModelType::Captioner,
        ModelType::Other,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ModelType::BaseModel => "Base model",
            ModelType::Lora => "LoRA",
            ModelType::Vae => "VAE",
            ModelType::Adapter => "Adapter",
            ModelType::TextEncoder => "Text encoder",
            ModelType::Captioner => "Captioner",
            ModelType::Other => "Other",
        }
    }
}

impl Wire for ModelType {
    const VARIANTS: &'static [Self] = &Self::ALL;
    fn wire(self) -> &'static str {
        match self {
            ModelType::BaseModel => "base_model",
            ModelType::Lora => "lora",
            ModelType::Vae => "vae",
            ModelType::Adapter => "adapter",
            ModelType::TextEncoder => "text_encoder",
            ModelType::Captioner => "captioner",
            ModelType::Other => "other",
        }
    }
}

impl Wire for ModelFamily {
    const VARIANTS: &'static [Self] = &Self::ALL;
    fn wire(self) -> &'static str {
        match self {
            ModelFamily::Zimage => "zimage",
            ModelFamily::Qwen => "qwen",
            ModelFamily::Flux => "flux",
            ModelFamily::Sdxl => "sdxl",
            ModelFamily::Custom => "custom",
        }
    }
}

/// The model family (architecture line) a model belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelFamily {
    Zimage,
    Qwen,
    Flux,
    Sdxl,
    Custom,
}

impl ModelFamily {
    pub const ALL: [ModelFamily; 5] = [
        ModelFamily::Zimage,
        ModelFamily::Qwen,
        ModelFamily::Flux,
        ModelFamily::Sdxl,
        ModelFamily::Custom,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ModelFamily::Zimage => "Z-Image",
            ModelFamily::Qwen => "Qwen",
            ModelFamily::Flux => "Flux",
            ModelFamily::Sdxl => "SDXL",
            ModelFamily::Custom => "Custom",
        }
    }
}

/// How a base model's files are laid out, which decides which tools load it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelLayout {
    /// Component folders (`transformer/`, `text_encoder/`, `vae/`, ...), as diffusers saves them.
    Diffusers,
    /// One checkpoint file (plus, for FLUX, the autoencoder beside it).
    SingleFile,
}

impl ModelLayout {
    /// What the layout is and what it is for, for a model of `family`.
    pub fn purpose(self, family: ModelFamily) -> &'static str {
        match (self, family) {
            (ModelLayout::Diffusers, _) => "Diffusers folders: the layout AI Toolkit trains from",
            (ModelLayout::SingleFile, ModelFamily::Flux) => {
                "Single file, for ComfyUI and Forge: AI Toolkit cannot train FLUX from it"
            }
            (ModelLayout::SingleFile, _) => "Single file: AI Toolkit, ComfyUI and Forge load it",
        }
    }
}

/// Where a model's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    Huggingface,
    Civitai,
    Url,
    Upload,
    /// Found on the volume by a scan and adopted (`POST /api/models/adopt`).
    Local,
}

/// A model the user can install: built-in or custom. `GET /api/models` returns these.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub id: String,
    pub name: String,
    pub description: String,
    pub family: ModelFamily,
    #[serde(rename = "type")]
    pub model_type: ModelType,
    /// Total size of the files a trainer needs, when known exactly.
    pub size_bytes: Option<u64>,
    /// The catalog's approximate size, shown ("≈ 23.8 GB") while the exact one is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approx_size_bytes: Option<u64>,
    pub requires_token: bool,
    pub source: SourceType,
    /// The Hugging Face repo id, for models that come from one.
    pub repo: Option<String>,
    /// Licence id as the source states it, when known.
    pub license: Option<String>,
    pub built_in: bool,
    pub tags: Vec<String>,
    /// The file layout of a base model, when known (built-ins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<ModelLayout>,
    pub installed: bool,
    pub installed_model_id: Option<String>,
    /// When the model joined the list (RFC 3339, UTC): a custom model's add time; null for the
    /// built-ins, which come with the program.
    #[serde(default)]
    pub added_at: Option<String>,
    /// Where a model added from CivitAI comes from: its model and version and their page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub civitai: Option<CivitaiSource>,
}

/// A CivitAI model's identity, kept from the moment it is added.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CivitaiSource {
    pub model_id: u64,
    pub version_id: u64,
    pub version_name: String,
    pub page_url: String,
}

/// Search and filter for the model list. Every field is optional; empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<ModelFamily>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub model_type: Option<ModelType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed: Option<bool>,
}

impl ModelFilter {
    /// True when `model` passes every part of the filter. Text matches name, description,
    /// tags, repo and id, case-insensitively, each word on its own.
    pub fn matches(&self, model: &Model) -> bool {
        if self.family.is_some_and(|f| f != model.family)
            || self.model_type.is_some_and(|t| t != model.model_type)
            || self.installed.is_some_and(|i| i != model.installed)
        {
            return false;
        }
        let Some(query) = self.query.as_deref() else {
            return true;
        };
        let haystack = format!(
            "{} {} {} {} {}",
            model.name,
            model.description,
            model.tags.join(" "),
            model.repo.as_deref().unwrap_or_default(),
            model.id
        )
        .to_lowercase();
        query
            .split_whitespace()
            .all(|word| haystack.contains(&word.to_lowercase()))
    }
}

/// The orders the model list offers (`?sort=`); the catalog's own order when none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelSort {
    #[default]
    Catalog,
    Name,
    /// Largest first; unknown sizes last.
    Size,
    Family,
    /// Newest first; the built-ins (no date) last, in catalog order.
    Recent,
}

impl ModelSort {
    pub const ALL: [ModelSort; 5] = [
        Self::Catalog,
        Self::Name,
        Self::Size,
        Self::Family,
        Self::Recent,
    ];

    /// The URL's value (`""` for the catalog order).
    pub fn wire(self) -> &'static str {
        match self {
            Self::Catalog => "",
            Self::Name => "name",
            Self::Size => "size",
            Self::Family => "family",
            Self::Recent => "recent",
        }
    }

    pub fn from_wire(value: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.wire() == value)
            .unwrap_or_default()
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Catalog => "Recommended",
            Self::Name => "Name",
            Self::Size => "Size (largest first)",
            Self::Family => "Family",
            Self::Recent => "Recently added",
        }
    }

    /// Sorts `models` in place; ties keep the catalog order.
    pub fn apply(self, models: &mut [Model]) {
        let name = |m: &Model| m.name.to_lowercase();
        match self {
            Self::Catalog => {}
            Self::Name => models.sort_by_key(name),
            Self::Size => {
                models.sort_by_key(|m| std::cmp::Reverse(m.size_bytes.or(m.approx_size_bytes)))
            }
            Self::Family => models.sort_by_key(|m| (m.family.label(), name(m))),
            Self::Recent => models.sort_by(|a, b| b.added_at.cmp(&a.added_at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_words_are_serde_names() {
        for t in ModelType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.wire());
            assert_eq!(super::super::from_wire::<ModelType>(t.wire()), Some(t));
        }
        for f in ModelFamily::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.wire());
            assert_eq!(super::super::from_wire::<ModelFamily>(f.wire()), Some(f));
        }
        assert_eq!(super::super::from_wire::<ModelType>("spaceship"), None);
    }

    #[test]
    fn sorts_by_name_size_and_family() {
        let mut a = model("beta", ModelFamily::Sdxl, &[]);
        a.size_bytes = Some(5);
        let mut b = model("Alpha", ModelFamily::Sdxl, &[]);
        b.size_bytes = None;
        let mut c = model("gamma", ModelFamily::Flux, &[]);
        c.size_bytes = Some(9);
        let names = |sort: ModelSort| {
            let mut list = vec![a.clone(), b.clone(), c.clone()];
            sort.apply(&mut list);
            list.into_iter().map(|m| m.name).collect::<Vec<_>>()
        };
        assert_eq!(names(ModelSort::Catalog), ["beta", "Alpha", "gamma"]);
        assert_eq!(names(ModelSort::Name), ["Alpha", "beta", "gamma"]);
        assert_eq!(names(ModelSort::Size), ["gamma", "beta", "Alpha"]);
        assert_eq!(names(ModelSort::Family), ["gamma", "Alpha", "beta"]);
        assert_eq!(ModelSort::from_wire("recent"), ModelSort::Recent);
        assert_eq!(ModelSort::from_wire("size"), ModelSort::Size);
        assert_eq!(ModelSort::from_wire("bogus"), ModelSort::Catalog);
    }

    #[test]
    fn recently_added_puts_the_newest_first_and_built_ins_last_in_catalog_order() {
        let mut list = vec![
            model("built-in one", ModelFamily::Flux, &[]),
            model("old custom", ModelFamily::Flux, &[]),
            model("built-in two", ModelFamily::Flux, &[]),
            model("new custom", ModelFamily::Flux, &[]),
        ];
        list[1].added_at = Some("2026-11-01T09:00:00Z".into());
        list[3].added_at = Some("2026-11-28T09:00:00Z".into());
        ModelSort::Recent.apply(&mut list);
        let names: Vec<_> = list.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["new custom", "old custom", "built-in one", "built-in two"]
        );
    }

    fn model(name: &str, family: ModelFamily, tags: &[&str]) -> Model {
        Model {
            id: name.to_lowercase().replace(' ', "-"),
            name: name.into(),
            description: String::new(),
            family,
            model_type: ModelType::BaseModel,
            size_bytes: None,
            approx_size_bytes: None,
            requires_token: false,
            source: SourceType::Huggingface,
            repo: Some(format!("acme/{}", name.to_lowercase().replace(' ', "-"))),
            license: None,
            built_in: true,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            layout: None,
            installed: false,
            installed_model_id: None,
            added_at: None,
            civitai: None,
        }
    }

    #[test]
    fn wire_names_follow_the_spec() {
        let json = serde_json::to_value(model("Flux Dev", ModelFamily::Flux, &[])).unwrap();
        assert_eq!(json["type"], "base_model");
        assert_eq!(json["family"], "flux");
        assert_eq!(json["requiresToken"], false);
        assert_eq!(json["builtIn"], true);
        assert!(json.get("installedModelId").is_some());
    }

    #[test]
    fn filter_by_family_and_words_in_any_order() {
        let flux = model("Flux Dev", ModelFamily::Flux, &["gated", "12b"]);
        let sdxl = model("SDXL Base", ModelFamily::Sdxl, &[]);
        let by_family = ModelFilter {
            family: Some(ModelFamily::Flux),
            ..Default::default()
        };
        assert!(by_family.matches(&flux));
        assert!(!by_family.matches(&sdxl));

        let by_text = ModelFilter {
            query: Some("12B flux".into()),
            ..Default::default()
        };
        assert!(by_text.matches(&flux));
        assert!(!by_text.matches(&sdxl));

        let by_repo = ModelFilter {
            query: Some("ACME/sdxl".into()),
            ..Default::default()
        };
        assert!(by_repo.matches(&sdxl));
        assert!(!by_repo.matches(&flux));
    }
}
