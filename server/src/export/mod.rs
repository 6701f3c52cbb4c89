//! The spec's "Export Integration": an AI Toolkit training config (YAML) for a dataset folder
//! and an installed base model, with warnings where AI Toolkit would not load the model as is.

use std::path::Path;

use app::domain::{InstalledModel, ModelFamily};

use crate::storage::paths;

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

/// Chooses `arch` and paths for an installed model; `models_dir` is its root on disk.
pub fn base_model(
    model: &InstalledModel,
    models_dir: &Path,
    warnings: &mut Vec<String>,
) -> BaseModel {
    let files: Vec<&str> = model.files.iter().map(|f| f.path.as_str()).collect();
    let folder = paths::common_folder(&files);
    let has = |sub: &str| {
        files
            .iter()
            .any(|f| f.starts_with(&format!("{folder}/{sub}/")))
    };
    let main_file = model
        .files
        .iter()
        .filter(|f| f.path.ends_with(".safetensors"))
        .max_by_key(|f| f.size_bytes)
        .map(|f| models_dir.join(&f.path).display().to_string());
    let folder_path = models_dir.join(&folder).display().to_string();
    let id = model.source_model_id.clone().unwrap_or_default();
    let mut base = BaseModel {
        arch: None,
        name_or_path: main_file.clone().unwrap_or_else(|| folder_path.clone()),
        extras_name_or_path: None,
        assistant_lora_path: None,
        quantize: true,
        noise_scheduler: "flowmatch",
        guidance_scale: 4.0,
        sample_steps: 20,
    };
    match model.family {
        ModelFamily::Flux if id.starts_with("flux-2") => {
            base.arch = Some("flux2");
            base.name_or_path = folder_path;
            if !has("transformer") {
                warnings.push(format!(
                    "{} is installed as single files; AI Toolkit loads FLUX.2 from the diffusers layout (transformer/, vae/, ...). Download the full repo or set name_or_path to black-forest-labs/FLUX.2-dev.",
                    model.name
                ));
            }
        }
        ModelFamily::Flux => {
            base.arch = Some("flux");
            base.name_or_path = folder_path;
            if id == "flux-1-schnell" {
                base.assistant_lora_path = Some("ostris/FLUX.1-schnell-training-adapter".into());
            }
            if !has("transformer") {
                warnings.push(format!(
                    "{} is installed as a single file; AI Toolkit needs FLUX.1 in the diffusers layout (transformer/, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/, vae/). Download the diffusers repo or set name_or_path to black-forest-labs/FLUX.1-dev.",
                    model.name
                ));
            }
        }
        ModelFamily::Sdxl => {
            base.arch = Some("sdxl");
            base.quantize = false;
            base.noise_scheduler = "ddpm";
            base.guidance_scale = 6.0;
        }
        ModelFamily::Qwen => {
            base.arch = Some("qwen_image");
            if has("transformer") {
                base.name_or_path = folder_path;
            } else {
                base.extras_name_or_path = Some("Qwen/Qwen-Image".into());
            }
        }
        ModelFamily::Zimage => {
            base.arch = Some("zimage");
            base.extras_name_or_path = Some("Tongyi-MAI/Z-Image-Turbo".into());
            base.guidance_scale = 3.0;
            base.sample_steps = 25;
        }
        ModelFamily::Custom => warnings.push(format!(
            "{} has no known family, so the config has no arch: set model.arch (sdxl, flux, qwen_image, zimage, ...) before training.",
            model.name
        )),
    }
    if main_file.is_none() && !has("transformer") {
        warnings.push(format!(
            "{} has no .safetensors file for AI Toolkit to load.",
            model.name
        ));
    }
    base
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialise")
}

pub struct ConfigInput<'a> {
    pub run_name: &'a str,
    pub trigger_word: &'a str,
    pub dataset_folder: &'a str,
    pub training_folder: &'a str,
    pub base: Option<&'a BaseModel>,
}

/// AI Toolkit's job config (`python run.py config/<name>.yaml`).
pub fn ai_toolkit_yaml(input: &ConfigInput) -> String {
    let mut model = String::new();
    match input.base {
        Some(b) => {
            model.push_str(&format!("      name_or_path: {}\n", q(&b.name_or_path)));
            if let Some(arch) = b.arch {
                model.push_str(&format!("      arch: {}\n", q(arch)));
            }
            if let Some(extras) = &b.extras_name_or_path {
                model.push_str(&format!("      extras_name_or_path: {}\n", q(extras)));
            }
            if let Some(lora) = &b.assistant_lora_path {
                model.push_str(&format!("      assistant_lora_path: {}\n", q(lora)));
            }
            model.push_str(&format!("      quantize: {}\n", b.quantize));
            if b.quantize {
                model.push_str("      qtype: \"qfloat8\"\n      low_vram: true\n");
            }
        }
        None => model.push_str("      # No base model chosen: set name_or_path and arch in AI Toolkit.\n      name_or_path: \"\"\n"),
    }
    let (scheduler, guidance, steps) = input.base.map_or(("flowmatch", 4.0, 20), |b| {
        (b.noise_scheduler, b.guidance_scale, b.sample_steps)
    });
    let trigger = input.trigger_word.trim();
    let prompt = if trigger.is_empty() {
        "a photo".to_string()
    } else {
        format!("a photo of {trigger}")
    };
    format!(
        r#"# AI Toolkit training config, generated by Model Manager.
# Run with: python run.py config/{file}.yaml
job: extension
config:
  name: {name}
  process:
    - type: "sd_trainer"
      training_folder: {training}
      device: "cuda:0"
      trigger_word: {trigger_q}
      network:
        type: "lora"
        linear: 16
        linear_alpha: 16
      save:
        dtype: "float16"
        save_every: 250
        max_step_saves_to_keep: 4
      datasets:
        - folder_path: {dataset}
          caption_ext: "txt"
          caption_dropout_rate: 0.05
          shuffle_tokens: false
          cache_latents_to_disk: true
          resolution: [512, 768, 1024]
      train:
        batch_size: 1
        steps: 2000
        gradient_accumulation_steps: 1
        train_unet: true
        train_text_encoder: false
        gradient_checkpointing: true
        noise_scheduler: {scheduler_q}
        optimizer: "adamw8bit"
        lr: 0.0001
        dtype: "bf16"
      model:
{model}      sample:
        sampler: {scheduler_q}
        sample_every: 250
        width: 1024
        height: 1024
        prompts:
          - {prompt_q}
        neg: ""
        seed: 42
        walk_seed: true
        guidance_scale: {guidance}
        sample_steps: {steps}
meta:
  name: "[name]"
  version: "1.0"
"#,
        file = input.run_name,
        name = q(input.run_name),
        training = q(input.training_folder),
        trigger_q = q(trigger),
        dataset = q(input.dataset_folder),
        scheduler_q = q(scheduler),
        prompt_q = q(&prompt),
    )
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
                })
                .collect(),
            total_size_bytes: 10,
            installed_at: String::new(),
            source: SourceType::Huggingface,
            last_verification: None,
        }
    }

    #[test]
    fn sdxl_points_at_its_single_file() {
        let mut warnings = vec![];
        let m = installed(
            ModelFamily::Sdxl,
            "sdxl-base-1.0",
            &["sdxl/sdxl-base-1.0/sd_xl_base_1.0.safetensors"],
        );
        let b = base_model(&m, Path::new("/workspace/models"), &mut warnings);
        assert_eq!(b.arch, Some("sdxl"));
        assert_eq!(
            b.name_or_path,
            "/workspace/models/sdxl/sdxl-base-1.0/sd_xl_base_1.0.safetensors"
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn single_file_flux_gets_a_warning_and_the_folder() {
        let mut warnings = vec![];
        let m = installed(
            ModelFamily::Flux,
            "flux-1-dev",
            &[
                "flux/flux-1-dev/flux1-dev.safetensors",
                "flux/flux-1-dev/ae.safetensors",
            ],
        );
        let b = base_model(&m, Path::new("/m"), &mut warnings);
        assert_eq!(b.arch, Some("flux"));
        assert_eq!(b.name_or_path, "/m/flux/flux-1-dev");
        assert!(warnings[0].contains("diffusers layout"), "{warnings:?}");
    }

    #[test]
    fn the_yaml_has_the_ai_toolkit_shape_and_quotes_user_text() {
        let mut warnings = vec![];
        let m = installed(
            ModelFamily::Zimage,
            "zimage-deturbo-v1-bf16",
            &["zimage/z/z.safetensors"],
        );
        let b = base_model(&m, Path::new("/m"), &mut warnings);
        let yaml = ai_toolkit_yaml(&ConfigInput {
            run_name: "my_run",
            trigger_word: "ohwx \"cat\": yes",
            dataset_folder: "/workspace/datasets/cats",
            training_folder: "/workspace/output",
            base: Some(&b),
        });
        assert!(yaml.contains("job: extension\nconfig:\n  name: \"my_run\"\n"));
        assert!(
            yaml.contains("      trigger_word: \"ohwx \\\"cat\\\": yes\"\n"),
            "{yaml}"
        );
        assert!(yaml.contains("        - folder_path: \"/workspace/datasets/cats\"\n"));
        assert!(yaml.contains("      name_or_path: \"/m/zimage/z/z.safetensors\"\n      arch: \"zimage\"\n      extras_name_or_path: \"Tongyi-MAI/Z-Image-Turbo\"\n"));
        assert!(yaml.contains("meta:\n  name: \"[name]\"\n  version: \"1.0\"\n"));
    }
}
