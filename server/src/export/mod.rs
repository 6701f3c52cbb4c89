//! The spec's "Export Integration": an AI Toolkit training config (YAML) for a dataset folder
//! and an installed base model, with warnings where AI Toolkit would not load the model as is.

mod ai_toolkit;

use std::path::Path;

use app::domain::{InstalledModel, ModelFamily};

use crate::storage::paths;

pub use ai_toolkit::{ai_toolkit_yaml, ConfigInput, JobConfig};

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

    const TRIGGER: &str = "ohwx \"cat\": yes # not a comment";

    /// Exports `model` (or no base model) and reads the YAML back with a YAML parser.
    fn exported(model: Option<&InstalledModel>) -> (serde_json::Value, String) {
        let mut warnings = vec![];
        let base = model.map(|m| base_model(m, Path::new("/m"), &mut warnings));
        let yaml = ai_toolkit_yaml(&ConfigInput {
            run_name: "my_run",
            trigger_word: TRIGGER,
            dataset_folder: "/workspace/datasets/cats: [2]",
            training_folder: "output",
            base: base.as_ref(),
        });
        let parsed = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        (parsed, yaml)
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
