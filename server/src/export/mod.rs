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
mod tests {
    use super::*;
    use app::domain::{InstalledFile, ModelType, SourceType};

    fn installed(family: ModelFamily, source: &str, files: &[&str]) -> InstalledModel {
        InstalledModel {
            id: "x".into(),
            source_model_id: Some(source.into()),
            name: "Test model".into(),
            family,
            model_type: ModelType::BaseModel,
            files: files
                .iter()
                .map(|p| InstalledFile {
                    path: p.to_string(),
                    size_bytes: 10,
                    sha256: "0".repeat(64),
                    identification: None,
                })
                .collect(),
            total_size_bytes: 10,
            installed_at: String::new(),
            source: SourceType::Huggingface,
            last_verification: None,
        }
    }

    fn named(name: &str, family: ModelFamily, source: &str, files: &[&str]) -> InstalledModel {
        InstalledModel {
            name: name.into(),
            model_type: ModelType::Adapter,
            ..installed(family, source, files)
        }
    }

    fn diffusers(folder: &str, subfolders: &[&str]) -> Vec<String> {
        let mut files = vec![format!("{folder}/model_index.json")];
        files.extend(
            subfolders
                .iter()
                .map(|s| format!("{folder}/{s}/weights.safetensors")),
        );
        files
    }

    /// The `model:` block AI Toolkit would read for `base` with `others` installed, parsed
    /// back from the exported YAML, and the warnings.
    fn exported_block(
        base: &InstalledModel,
        others: &[InstalledModel],
    ) -> (serde_json::Value, Vec<String>) {
        let catalog = Catalog::built_in();
        let mut all = others.to_vec();
        all.push(base.clone());
        let volume = Volume {
            models_dir: Path::new("/m"),
            installed: &all,
            catalog: &catalog,
        };
        let block = model_block(base, &volume);
        let (config, yaml) = exported_with(Some(&block.base));
        assert_job_shape(&config, &yaml);
        // Every companion offered is a built-in that is not installed yet.
        for id in &block.companions {
            assert!(catalog.get(id).is_some(), "{id}");
            assert!(volume.installed_from(id).is_none(), "{id} is installed");
        }
        (model_of(&config).clone(), block.warnings)
    }

    /// `keys` plus AI Toolkit's 8-bit settings, as the exporter writes them for big models.
    fn quantized(keys: serde_json::Value) -> serde_json::Value {
        let mut map = keys.as_object().unwrap().clone();
        map.insert("quantize".into(), true.into());
        map.insert("qtype".into(), "qfloat8".into());
        map.insert("low_vram".into(), true.into());
        serde_json::Value::Object(map)
    }

    /// (what, base model, others installed, its `model:` block, words each warning must have)
    type Case<'a> = (
        &'a str,
        InstalledModel,
        Vec<InstalledModel>,
        serde_json::Value,
        &'a [&'a str],
    );

    /// One row per family and layout of shared/reference/ai-toolkit-loading.md.
    #[test]
    fn the_model_block_matches_the_loader_for_each_family_and_layout() {
        use serde_json::json;
        let flux = diffusers("flux/flux-1-dev-diffusers", &FLUX_FOLDERS);
        let flux: Vec<&str> = flux.iter().map(String::as_str).collect();
        let schnell = diffusers("flux/flux-1-schnell-diffusers", &FLUX_FOLDERS);
        let schnell: Vec<&str> = schnell.iter().map(String::as_str).collect();
        let sdxl = diffusers(
            "sdxl/my-sdxl",
            &[
                "unet",
                "vae",
                "text_encoder",
                "text_encoder_2",
                "tokenizer",
                "tokenizer_2",
                "scheduler",
            ],
        );
        let sdxl: Vec<&str> = sdxl.iter().map(String::as_str).collect();
        let qwen = diffusers(
            "qwen/qwen-image",
            &[
                "transformer",
                "text_encoder",
                "tokenizer",
                "vae",
                "scheduler",
            ],
        );
        let qwen: Vec<&str> = qwen.iter().map(String::as_str).collect();
        let zturbo = diffusers(
            "zimage/my-zimage-turbo",
            &["transformer", "text_encoder", "tokenizer", "vae"],
        );
        let zturbo: Vec<&str> = zturbo.iter().map(String::as_str).collect();
        let zextras = diffusers("zimage/zimage-text-encoder-vae", &EXTRAS_FOLDERS);
        let zextras: Vec<&str> = zextras.iter().map(String::as_str).collect();

        let flux_dev_diffusers = installed(ModelFamily::Flux, "flux-1-dev-diffusers", &flux);
        let flux_dev_file = installed(
            ModelFamily::Flux,
            "flux-1-dev",
            &[
                "flux/flux-1-dev/flux1-dev.safetensors",
                "flux/flux-1-dev/ae.safetensors",
            ],
        );
        let schnell_adapter = named(
            "Flux.1 Schnell Training Adapter",
            ModelFamily::Flux,
            "flux-1-schnell-training-adapter",
            &["adapter/s/pytorch_lora_weights.safetensors"],
        );
        let zimage_adapter = named(
            "Z-Image Turbo Training Adapter",
            ModelFamily::Zimage,
            "zimage-turbo-training-adapter",
            &["adapter/z/zimage_turbo_training_adapter_v2.safetensors"],
        );
        let zimage_extras = named(
            "Z-Image Text Encoder and VAE",
            ModelFamily::Zimage,
            "zimage-text-encoder-vae",
            &zextras,
        );
        let qwen_image = installed(ModelFamily::Qwen, "qwen-image", &qwen);
        let deturbo = installed(
            ModelFamily::Zimage,
            "zimage-deturbo-v1-bf16",
            &["zimage/d/z_image_de_turbo_v1_bf16.safetensors"],
        );
        let qwen_file = installed(
            ModelFamily::Qwen,
            "my-qwen",
            &["qwen/q/qwen_image_bf16.safetensors"],
        );

        let cases: Vec<Case> = vec![
            (
                "sdxl single file",
                installed(
                    ModelFamily::Sdxl,
                    "sdxl-base-1.0",
                    &["sdxl/s/sd_xl_base_1.0.safetensors"],
                ),
                vec![],
                json!({"name_or_path": "/m/sdxl/s/sd_xl_base_1.0.safetensors", "arch": "sdxl", "quantize": false}),
                &[],
            ),
            (
                "sdxl diffusers folder",
                installed(ModelFamily::Sdxl, "my-sdxl", &sdxl),
                vec![],
                json!({"name_or_path": "/m/sdxl/my-sdxl", "arch": "sdxl", "quantize": false}),
                &[],
            ),
            (
                "flux.1 dev diffusers",
                flux_dev_diffusers.clone(),
                vec![],
                quantized(json!({"name_or_path": "/m/flux/flux-1-dev-diffusers", "arch": "flux"})),
                &[],
            ),
            (
                "flux.1 dev single file",
                flux_dev_file.clone(),
                vec![],
                quantized(json!({"name_or_path": "black-forest-labs/FLUX.1-dev", "arch": "flux"})),
                &["cannot train FLUX.1", "Flux.1 Dev (diffusers)", "HF_TOKEN"],
            ),
            (
                "flux.1 dev single file, diffusers installed too",
                flux_dev_file,
                vec![flux_dev_diffusers.clone()],
                quantized(json!({"name_or_path": "/m/flux/flux-1-dev-diffusers", "arch": "flux"})),
                &[],
            ),
            (
                "flux.1 schnell diffusers with its adapter",
                installed(ModelFamily::Flux, "flux-1-schnell-diffusers", &schnell),
                vec![schnell_adapter],
                quantized(
                    json!({"name_or_path": "/m/flux/flux-1-schnell-diffusers", "arch": "flux", "assistant_lora_path": "/m/adapter/s/pytorch_lora_weights.safetensors"}),
                ),
                &[],
            ),
            (
                "flux.1 schnell diffusers without its adapter",
                installed(ModelFamily::Flux, "flux-1-schnell-diffusers", &schnell),
                vec![],
                quantized(
                    json!({"name_or_path": "/m/flux/flux-1-schnell-diffusers", "arch": "flux", "assistant_lora_path": "ostris/FLUX.1-schnell-training-adapter"}),
                ),
                &["Flux.1 Schnell Training Adapter"],
            ),
            (
                "qwen-image diffusers",
                qwen_image.clone(),
                vec![],
                quantized(json!({"name_or_path": "/m/qwen/qwen-image", "arch": "qwen_image"})),
                &[],
            ),
            (
                "qwen single file, qwen-image installed",
                qwen_file.clone(),
                vec![qwen_image],
                quantized(
                    json!({"name_or_path": "/m/qwen/q/qwen_image_bf16.safetensors", "arch": "qwen_image", "extras_name_or_path": "/m/qwen/qwen-image"}),
                ),
                &[],
            ),
            (
                "qwen single file alone",
                qwen_file,
                vec![],
                quantized(
                    json!({"name_or_path": "/m/qwen/q/qwen_image_bf16.safetensors", "arch": "qwen_image", "extras_name_or_path": "Qwen/Qwen-Image"}),
                ),
                &["Qwen/Qwen-Image", "Qwen Image Base Model"],
            ),
            (
                "z-image de-turbo file with installed extras",
                deturbo.clone(),
                vec![zimage_extras.clone(), zimage_adapter.clone()],
                quantized(
                    json!({"name_or_path": "/m/zimage/d/z_image_de_turbo_v1_bf16.safetensors", "arch": "zimage", "extras_name_or_path": "/m/zimage/zimage-text-encoder-vae"}),
                ),
                &[],
            ),
            (
                "z-image de-turbo file alone",
                deturbo,
                vec![],
                quantized(
                    json!({"name_or_path": "/m/zimage/d/z_image_de_turbo_v1_bf16.safetensors", "arch": "zimage", "extras_name_or_path": "Tongyi-MAI/Z-Image-Turbo"}),
                ),
                &["Z-Image Text Encoder and VAE"],
            ),
            (
                "z-image turbo diffusers with its adapter",
                installed(ModelFamily::Zimage, "my-zimage-turbo", &zturbo),
                vec![zimage_adapter],
                quantized(
                    json!({"name_or_path": "/m/zimage/my-zimage-turbo", "arch": "zimage", "assistant_lora_path": "/m/adapter/z/zimage_turbo_training_adapter_v2.safetensors"}),
                ),
                &[],
            ),
            (
                "z-image turbo diffusers without its adapter",
                installed(ModelFamily::Zimage, "my-zimage-turbo", &zturbo),
                vec![zimage_extras],
                quantized(
                    json!({"name_or_path": "/m/zimage/my-zimage-turbo", "arch": "zimage", "assistant_lora_path": "ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors"}),
                ),
                &["Z-Image Turbo Training Adapter"],
            ),
            (
                "a custom single-file flux, a diffusers flux installed",
                installed(
                    ModelFamily::Flux,
                    "my-flux",
                    &["flux/f/my_flux.safetensors"],
                ),
                vec![flux_dev_diffusers],
                quantized(json!({"name_or_path": "/m/flux/f/my_flux.safetensors", "arch": "flux"})),
                &["Choose “Flux.1 Dev (diffusers)” (installed) instead"],
            ),
            (
                "custom family",
                installed(ModelFamily::Custom, "mine", &["base/c/c.safetensors"]),
                vec![],
                quantized(json!({"name_or_path": "/m/base/c/c.safetensors"})),
                &["no known family"],
            ),
        ];
        for (case, base, others, want, warnings) in cases {
            let (got, given) = exported_block(&base, &others);
            assert_eq!(got, want, "{case}");
            assert_eq!(given.len(), warnings.len().min(1), "{case}: {given:?}");
            for w in warnings {
                assert!(
                    given.iter().any(|g| g.contains(w)),
                    "{case}: no warning with {w:?} in {given:?}"
                );
            }
        }
    }

    #[test]
    fn a_sharded_transformer_is_never_exported_as_one_shard() {
        let base = installed(
            ModelFamily::Zimage,
            "zimage-x",
            &[
                "zimage/x/diffusion_pytorch_model-00001-of-00002.safetensors",
                "zimage/x/diffusion_pytorch_model-00002-of-00002.safetensors",
            ],
        );
        let (block, warnings) = exported_block(&base, &[]);
        assert_eq!(block["name_or_path"], "/m/zimage/x");
        assert!(
            warnings.iter().any(|w| w.contains("shards")),
            "{warnings:?}"
        );
    }

    const TRIGGER: &str = "ohwx \"cat\": yes # not a comment";

    /// Exports with `base` (or no base model) and reads the YAML back with a YAML parser.
    fn exported_with(base: Option<&BaseModel>) -> (serde_json::Value, String) {
        let yaml = ai_toolkit_yaml(&ConfigInput {
            run_name: "my_run",
            trigger_word: TRIGGER,
            dataset_folder: "/workspace/datasets/cats: [2]",
            training_folder: "output",
            base,
        });
        let parsed = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        (parsed, yaml)
    }

    /// Exports `model` (or no base model), nothing else installed.
    fn exported(model: Option<&InstalledModel>) -> (serde_json::Value, String) {
        let catalog = Catalog::built_in();
        let installed: Vec<InstalledModel> = model.into_iter().cloned().collect();
        let volume = Volume {
            models_dir: Path::new("/m"),
            installed: &installed,
            catalog: &catalog,
        };
        let block = model.map(|m| model_block(m, &volume));
        exported_with(block.as_ref().map(|b| &b.base))
    }

    /// The keys AI Toolkit reads outside `model:`, the same for every family.
    fn assert_job_shape(config: &serde_json::Value, yaml: &str) {
        assert_eq!(config["job"], "extension", "{yaml}");
        assert_eq!(config["config"]["name"], "my_run", "{yaml}");
        assert_eq!(config["meta"]["name"], "[name]", "{yaml}");
        let process = &config["config"]["process"][0];
        assert_eq!(process["type"], "sd_trainer", "{yaml}");
        assert_eq!(process["training_folder"], "output");
        assert_eq!(process["trigger_word"], TRIGGER);
        assert_eq!(process["network"]["type"], "lora");
        assert_eq!(process["network"]["linear"], 16);
        assert_eq!(process["save"]["save_every"], 250);
        let dataset = &process["datasets"][0];
        assert_eq!(dataset["folder_path"], "/workspace/datasets/cats: [2]");
        assert_eq!(dataset["caption_ext"], "txt");
        assert_eq!(dataset["resolution"], serde_json::json!([512, 768, 1024]));
        assert_eq!(process["train"]["steps"], 2000);
        assert_eq!(process["train"]["lr"], 0.0001);
        assert_eq!(process["train"]["optimizer"], "adamw8bit");
        assert_eq!(
            process["train"]["noise_scheduler"],
            process["sample"]["sampler"]
        );
        assert_eq!(
            process["sample"]["prompts"][0],
            format!("a photo of {TRIGGER}")
        );
        assert!(
            process["model"].is_object(),
            "model: must be a mapping\n{yaml}"
        );
    }

    fn model_of(config: &serde_json::Value) -> &serde_json::Value {
        &config["config"]["process"][0]["model"]
    }

    #[test]
    fn every_family_exports_the_keys_ai_toolkit_reads() {
        let cases = [
            (
                installed(
                    ModelFamily::Sdxl,
                    "sdxl-base-1.0",
                    &["sdxl/s/sd_xl_base_1.0.safetensors"],
                ),
                serde_json::json!({"name_or_path": "/m/sdxl/s/sd_xl_base_1.0.safetensors", "arch": "sdxl", "quantize": false}),
                ("ddpm", 6.0, 20),
            ),
            (
                installed(
                    ModelFamily::Flux,
                    "flux-1-dev",
                    &[
                        "flux/d/transformer/a.safetensors",
                        "flux/d/vae/b.safetensors",
                    ],
                ),
                serde_json::json!({"name_or_path": "/m/flux/d", "arch": "flux", "quantize": true, "qtype": "qfloat8", "low_vram": true}),
                ("flowmatch", 4.0, 20),
            ),
            (
                installed(
                    ModelFamily::Flux,
                    "flux-1-schnell",
                    &[
                        "flux/s/transformer/a.safetensors",
                        "flux/s/vae/b.safetensors",
                    ],
                ),
                serde_json::json!({"name_or_path": "/m/flux/s", "arch": "flux", "assistant_lora_path": "ostris/FLUX.1-schnell-training-adapter", "quantize": true, "qtype": "qfloat8", "low_vram": true}),
                ("flowmatch", 4.0, 20),
            ),
            (
                installed(
                    ModelFamily::Qwen,
                    "qwen-image",
                    &["qwen/q/qwen_image_bf16.safetensors"],
                ),
                serde_json::json!({"name_or_path": "/m/qwen/q/qwen_image_bf16.safetensors", "arch": "qwen_image", "extras_name_or_path": "Qwen/Qwen-Image", "quantize": true, "qtype": "qfloat8", "low_vram": true}),
                ("flowmatch", 4.0, 20),
            ),
            (
                installed(
                    ModelFamily::Zimage,
                    "zimage-deturbo-v1-bf16",
                    &["zimage/z/z.safetensors"],
                ),
                serde_json::json!({"name_or_path": "/m/zimage/z/z.safetensors", "arch": "zimage", "extras_name_or_path": "Tongyi-MAI/Z-Image-Turbo", "quantize": true, "qtype": "qfloat8", "low_vram": true}),
                ("flowmatch", 3.0, 25),
            ),
            (
                installed(ModelFamily::Custom, "my-model", &["base/c/c.safetensors"]),
                serde_json::json!({"name_or_path": "/m/base/c/c.safetensors", "quantize": true, "qtype": "qfloat8", "low_vram": true}),
                ("flowmatch", 4.0, 20),
            ),
        ];
        for (model, want, (scheduler, guidance, steps)) in cases {
            let (config, yaml) = exported(Some(&model));
            assert_job_shape(&config, &yaml);
            assert_eq!(model_of(&config), &want, "{yaml}");
            let process = &config["config"]["process"][0];
            assert_eq!(process["train"]["noise_scheduler"], scheduler, "{yaml}");
            assert_eq!(process["sample"]["guidance_scale"], guidance, "{yaml}");
            assert_eq!(process["sample"]["sample_steps"], steps, "{yaml}");
        }
    }

    #[test]
    fn without_a_base_model_the_model_mapping_is_still_a_mapping() {
        let (config, yaml) = exported(None);
        assert_job_shape(&config, &yaml);
        assert_eq!(
            model_of(&config),
            &serde_json::json!({"name_or_path": "", "quantize": false}),
            "{yaml}"
        );
    }

    /// AI Toolkit reads its config with PyYAML (YAML 1.1): it must see exactly what we meant,
    /// e.g. `lr` as a number, not the string "1e-4".
    #[test]
    fn pyyaml_reads_the_same_config() {
        let families = [
            installed(
                ModelFamily::Sdxl,
                "sdxl-base-1.0",
                &["sdxl/s/x.safetensors"],
            ),
            installed(
                ModelFamily::Zimage,
                "zimage-turbo",
                &["zimage/z/z.safetensors"],
            ),
        ];
        for model in families.iter().map(Some).chain([None]) {
            let (ours, yaml) = exported(model);
            let theirs = pyyaml_load(&yaml);
            assert_eq!(theirs, ours, "PyYAML reads this differently:\n{yaml}");
        }
    }

    fn pyyaml_load(yaml: &str) -> serde_json::Value {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (scripts/setup.sh installs PyYAML)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "PyYAML failed; is it installed? (pip install pyyaml)"
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}
