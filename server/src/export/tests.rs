//! The model block per family, layout and install state: a table of cases.

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
        civitai: None,
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
