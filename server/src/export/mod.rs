//! The spec's "Export Integration": an AI Toolkit training config (YAML) for a dataset folder
//! and an installed base model. The `model:` block follows what AI Toolkit's loader accepts per
//! architecture (shared/reference/ai-toolkit-loading.md): a diffusers folder as the folder, a
//! single file as the file, and the extras and training adapters each architecture needs, taken
//! from installed models when they are on the volume. Each choice comes with its reason, and a
//! warning says what AI Toolkit would download instead when something is not installed.

mod ai_toolkit;
mod layout;

use std::path::Path;

use app::domain::{InstalledModel, ModelFamily};

use crate::registry::Catalog;

pub use ai_toolkit::{ai_toolkit_yaml, model_yaml, ConfigInput, JobConfig};
pub use layout::Layout;

/// What AI Toolkit needs to know about the base model.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseModel {
    pub arch: Option<&'static str>,
    pub name_or_path: String,
    pub extras_name_or_path: Option<String>,
    pub assistant_lora_path: Option<String>,
    pub quantize: bool,
    pub noise_scheduler: &'static str,
    pub guidance_scale: f32,
    pub sample_steps: u32,
}

/// The `model:` block for a base model, why each value is what it is, and what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelBlock {
    pub base: BaseModel,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    /// Catalog ids of built-ins that would fill what is missing (one click to download).
    pub companions: Vec<String>,
}

/// What the exporter can see: the volume, its installed models and the catalog.
pub struct Volume<'a> {
    pub models_dir: &'a Path,
    pub installed: &'a [InstalledModel],
    pub catalog: &'a Catalog,
}

/// The folders AI Toolkit's FLUX.1 loader opens under `name_or_path`.
const FLUX_FOLDERS: [&str; 7] = [
    "transformer",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "vae",
    "scheduler",
];
/// What `extras_name_or_path` must supply for a single-file Z-Image or Qwen-Image model.
const EXTRAS_FOLDERS: [&str; 3] = ["tokenizer", "text_encoder", "vae"];

const FLUX_SCHNELL_ADAPTER: (&str, &str) = (
    "flux-1-schnell-training-adapter",
    "ostris/FLUX.1-schnell-training-adapter",
);
const ZIMAGE_TURBO_ADAPTER: (&str, &str) = (
    "zimage-turbo-training-adapter",
    "ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors",
);
const ZIMAGE_EXTRAS: (&str, &str) = ("zimage-text-encoder-vae", "Tongyi-MAI/Z-Image-Turbo");
const QWEN_EXTRAS: (&str, &str) = ("qwen-image", "Qwen/Qwen-Image");

impl Volume<'_> {
    fn path(&self, relative: &str) -> String {
        self.models_dir.join(relative).display().to_string()
    }

    fn installed_from(&self, source_id: &str) -> Option<&InstalledModel> {
        self.installed
            .iter()
            .find(|m| m.source_model_id.as_deref() == Some(source_id))
    }

    /// An installed model of `family` whose diffusers folder holds the extras folders.
    fn extras_folder(&self, family: ModelFamily) -> Option<(String, &InstalledModel)> {
        self.installed
            .iter()
            .filter(|m| m.family == family)
            .find_map(|m| {
                let layout = Layout::of(m);
                let Layout::Diffusers { folder, .. } = &layout else {
                    return None;
                };
                layout
                    .has_all(&EXTRAS_FOLDERS)
                    .then(|| (self.path(folder), m))
            })
    }

    /// "Name" (size, gated) of a catalog entry, for a warning about what to download.
    fn describe(&self, catalog_id: &str) -> String {
        let Some(m) = self.catalog.get(catalog_id) else {
            return String::new();
        };
        let size = m
            .size_bytes()
            .map_or("size not known here".to_string(), app::format::bytes);
        let gated = if m.gated {
            "; gated: AI Toolkit needs HF_TOKEN set to a token that accepted its licence"
        } else {
            ""
        };
        format!(" (“{}” on the Models page; {size}{gated})", m.name)
    }
}

/// Builds the `model:` block for `model` as AI Toolkit's loader for its family wants it.
pub fn model_block(model: &InstalledModel, volume: &Volume) -> ModelBlock {
    let layout = Layout::of(model);
    let mut block = ModelBlock {
        base: BaseModel {
            arch: None,
            name_or_path: main_path(&layout, volume),
            extras_name_or_path: None,
            assistant_lora_path: None,
            quantize: true,
            noise_scheduler: "flowmatch",
            guidance_scale: 4.0,
            sample_steps: 20,
        },
        notes: Vec::new(),
        warnings: Vec::new(),
        companions: Vec::new(),
    };
    match model.family {
        ModelFamily::Flux if source_id(model).starts_with("flux-2") => {
            flux2(model, &layout, &mut block)
        }
        ModelFamily::Flux => flux1(model, &layout, volume, &mut block),
        ModelFamily::Sdxl => sdxl(&layout, &mut block),
        ModelFamily::Qwen => {
            block.base.arch = Some("qwen_image");
            single_or_folder(model, &layout, volume, QWEN_EXTRAS, &mut block);
        }
        ModelFamily::Zimage => {
            block.base.arch = Some("zimage");
            block.base.guidance_scale = 3.0;
            block.base.sample_steps = 25;
            single_or_folder(model, &layout, volume, ZIMAGE_EXTRAS, &mut block);
            if is_zimage_turbo(model) {
                assistant(model, volume, ZIMAGE_TURBO_ADAPTER, &mut block);
            }
        }
        ModelFamily::Custom => block.warnings.push(format!(
            "{} has no known family, so the config has no arch: set model.arch (sdxl, flux, qwen_image, zimage, ...) before training.",
            model.name
        )),
    }
    match layout {
        Layout::Sharded { .. } => block.warnings.push(format!(
            "{} is one model split into shards at the top of its folder; AI Toolkit loads neither one shard nor such a folder. Install it in the diffusers layout (shards under transformer/).",
            model.name
        )),
        Layout::NoWeights => block.warnings.push(format!(
            "{} has no .safetensors file for AI Toolkit to load.",
            model.name
        )),
        _ => {}
    }
    block
}

/// The folder of a diffusers layout, else the checkpoint file, else the folder.
fn main_path(layout: &Layout, volume: &Volume) -> String {
    match layout {
        Layout::Diffusers { folder, .. } | Layout::Sharded { folder } => volume.path(folder),
        Layout::SingleFile { file } => volume.path(&file.path),
        Layout::NoWeights => String::new(),
    }
}

fn source_id(model: &InstalledModel) -> &str {
    model.source_model_id.as_deref().unwrap_or_default()
}

fn is_zimage_turbo(model: &InstalledModel) -> bool {
    let words = format!("{} {}", source_id(model), model.name).to_lowercase();
    words.contains("turbo")
        && !["de-turbo", "deturbo", "de_turbo"]
            .iter()
            .any(|d| words.contains(d))
}

fn flux2(model: &InstalledModel, layout: &Layout, block: &mut ModelBlock) {
    block.base.arch = Some("flux2");
    if layout.has_all(&["transformer"]) {
        block.notes.push("name_or_path is the model's folder: AI Toolkit loads FLUX.2 from the diffusers layout.".into());
    } else {
        block.warnings.push(format!(
            "{} is installed as single files; AI Toolkit loads FLUX.2 from the diffusers layout (transformer/, vae/, ...). Download the full repo or set name_or_path to black-forest-labs/FLUX.2-dev.",
            model.name
        ));
    }
}

fn flux1(model: &InstalledModel, layout: &Layout, volume: &Volume, block: &mut ModelBlock) {
    block.base.arch = Some("flux");
    if let Layout::Diffusers { .. } = layout {
        block.notes.push("name_or_path is the model's folder: AI Toolkit loads FLUX.1 from the diffusers layout (transformer/, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/, vae/, scheduler/).".into());
        let missing = layout.missing(&FLUX_FOLDERS);
        if !missing.is_empty() {
            block.warnings.push(format!(
                "{} lacks {}/ in its folder: AI Toolkit would fail to load it. Download the model again.",
                model.name,
                missing.join("/, ")
            ));
        }
    } else {
        flux1_single_file(model, volume, block);
    }
    if source_id(model).starts_with("flux-1-schnell")
        || model.name.to_lowercase().contains("schnell")
    {
        assistant(model, volume, FLUX_SCHNELL_ADAPTER, block);
    }
}

/// A single-file FLUX.1 with no diffusers copy in the catalog (a custom fine-tune): say which
/// installed model to choose instead, or what to download.
fn flux1_custom_single_file(model: &InstalledModel, volume: &Volume, block: &mut ModelBlock) {
    const LAYOUTS: [&str; 2] = ["flux-1-dev-diffusers", "flux-1-schnell-diffusers"];
    let names = |installed: bool| -> Vec<String> {
        LAYOUTS
            .iter()
            .filter(|id| volume.installed_from(id).is_some() == installed)
            .filter_map(|id| volume.catalog.get(id))
            .map(|m| format!("“{}”", m.name))
            .collect()
    };
    let instead = match names(true).as_slice() {
        [] => format!(
            "Download {} on the Models page and export with it",
            names(false).join(" or ")
        ),
        installed => format!("Choose {} (installed) instead", installed.join(" or ")),
    };
    block.warnings.push(format!(
        "{} is a single file, and AI Toolkit cannot train FLUX.1 from a single file: it needs the diffusers layout (transformer/, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/, vae/). {instead}, or convert this model to that layout.",
        model.name
    ));
    block.companions.extend(
        LAYOUTS
            .into_iter()
            .filter(|id| volume.installed_from(id).is_none())
            .map(str::to_string),
    );
}

/// AI Toolkit cannot train FLUX.1 from a checkpoint file: name the Hub repo of the same model
/// (AI Toolkit downloads it) when it is known, and say what to install instead.
fn flux1_single_file(model: &InstalledModel, volume: &Volume, block: &mut ModelBlock) {
    let id = source_id(model);
    let diffusers_id = format!("{id}-diffusers");
    let Some(diffusers) = volume.catalog.get(&diffusers_id) else {
        flux1_custom_single_file(model, volume, block);
        return;
    };
    if let Some(installed) = volume.installed_from(&diffusers_id) {
        block.base.name_or_path = main_path(&Layout::of(installed), volume);
        block.notes.push(format!(
            "name_or_path is the folder of “{}”: {} is a single file, which AI Toolkit cannot train FLUX.1 from, and the same model is installed in the diffusers layout.",
            installed.name, model.name
        ));
        return;
    }
    block.base.name_or_path = diffusers.repo.clone();
    block.warnings.push(format!(
        "{} is a single file, which AI Toolkit cannot train FLUX.1 from, so the config names the Hub repo {}: AI Toolkit would download its diffusers folders itself{}. Download that model here and export with it to train from the volume.",
        model.name,
        diffusers.repo,
        volume.describe(&diffusers_id)
    ));
    block.companions.push(diffusers_id);
}

fn sdxl(layout: &Layout, block: &mut ModelBlock) {
    block.base.arch = Some("sdxl");
    block.base.quantize = false;
    block.base.noise_scheduler = "ddpm";
    block.base.guidance_scale = 6.0;
    block.notes.push(match layout {
        Layout::Diffusers { .. } => "name_or_path is the model's folder: diffusers loads an SDXL folder whole (pointing at unet/ alone would be mistaken for SD 1.5).".into(),
        _ => "name_or_path is the checkpoint file: AI Toolkit loads single-file SDXL with diffusers' from_single_file, which also reads SDXL's small config files (no weights) from stabilityai/stable-diffusion-xl-base-1.0, from the Hugging Face cache when they are there.".to_string(),
    });
}

/// Z-Image and Qwen-Image: a diffusers folder is loaded whole; a single file needs the
/// tokenizer, text encoder and VAE from `extras_name_or_path`.
fn single_or_folder(
    model: &InstalledModel,
    layout: &Layout,
    volume: &Volume,
    (extras_id, extras_repo): (&str, &str),
    block: &mut ModelBlock,
) {
    match layout {
        Layout::Diffusers { .. } if layout.has_all(&["transformer"]) => {
            block.notes.push("name_or_path is the model's folder: AI Toolkit loads its transformer/ (and, when present, the text encoder and VAE beside it).".into());
            if !layout.has_all(&EXTRAS_FOLDERS) {
                extras(model, volume, (extras_id, extras_repo), block);
            }
        }
        Layout::SingleFile { .. } => {
            block.notes.push("name_or_path is the model file: AI Toolkit loads a single-file transformer of this family.".into());
            extras(model, volume, (extras_id, extras_repo), block);
        }
        _ => {}
    }
}

fn extras(
    model: &InstalledModel,
    volume: &Volume,
    (extras_id, extras_repo): (&str, &str),
    block: &mut ModelBlock,
) {
    if let Some((folder, from)) = volume.extras_folder(model.family) {
        block.notes.push(format!(
            "extras_name_or_path is the folder of “{}”: the tokenizer, text encoder and VAE come from the volume.",
            from.name
        ));
        block.base.extras_name_or_path = Some(folder);
        return;
    }
    block.base.extras_name_or_path = Some(extras_repo.to_string());
    block.warnings.push(format!(
        "No tokenizer, text encoder and VAE for {} are installed, so the config names {extras_repo}: AI Toolkit would download them from there{}.",
        model.name,
        volume.describe(extras_id)
    ));
    block.companions.push(extras_id.to_string());
}

/// `assistant_lora_path`: the installed training adapter's file (both loaders take a local
/// file), else its Hub location.
fn assistant(
    model: &InstalledModel,
    volume: &Volume,
    (adapter_id, hub_path): (&str, &str),
    block: &mut ModelBlock,
) {
    let installed = volume.installed_from(adapter_id).and_then(|a| {
        let Layout::SingleFile { file } = Layout::of(a) else {
            return None;
        };
        Some((a, file.path.clone()))
    });
    if let Some((adapter, file)) = installed {
        block.base.assistant_lora_path = Some(volume.path(&file));
        block.notes.push(format!(
            "assistant_lora_path is the installed “{}”: {} is distilled, and the adapter keeps training from breaking the distillation.",
            adapter.name, model.name
        ));
        return;
    }
    block.base.assistant_lora_path = Some(hub_path.to_string());
    block.warnings.push(format!(
        "{} is distilled and trains with a training adapter, which is not installed, so the config names {hub_path}: AI Toolkit would download it{}.",
        model.name,
        volume.describe(adapter_id)
    ));
    block.companions.push(adapter_id.to_string());
}

#[cfg(test)]
mod tests;
