//! AI Toolkit's job config (`python run.py config/<name>.yaml`) as typed data, serialised by
//! a YAML library: the nesting AI Toolkit reads is the nesting of these structs.

use serde::Serialize;

use super::BaseModel;

/// What the user chose on the export page.
pub struct ConfigInput<'a> {
    pub run_name: &'a str,
    pub trigger_word: &'a str,
    pub dataset_folder: &'a str,
    pub training_folder: &'a str,
    pub base: Option<&'a BaseModel>,
}

#[derive(Debug, Serialize)]
pub struct JobConfig {
    pub job: &'static str,
    pub config: RunConfig,
    pub meta: Meta,
}

#[derive(Debug, Serialize)]
pub struct RunConfig {
    pub name: String,
    pub process: Vec<Process>,
}

#[derive(Debug, Serialize)]
pub struct Meta {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Process {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub training_folder: String,
    pub device: &'static str,
    pub trigger_word: String,
    pub network: Network,
    pub save: Save,
    pub datasets: Vec<Dataset>,
    pub train: Train,
    pub model: Model,
    pub sample: Sample,
}

#[derive(Debug, Serialize)]
pub struct Network {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub linear: u32,
    pub linear_alpha: u32,
}

#[derive(Debug, Serialize)]
pub struct Save {
    pub dtype: &'static str,
    pub save_every: u32,
    pub max_step_saves_to_keep: u32,
}

#[derive(Debug, Serialize)]
pub struct Dataset {
    pub folder_path: String,
    pub caption_ext: &'static str,
    pub caption_dropout_rate: f32,
    pub shuffle_tokens: bool,
    pub cache_latents_to_disk: bool,
    pub resolution: Vec<u32>,
}

#[derive(Debug, Serialize)]
pub struct Train {
    pub batch_size: u32,
    pub steps: u32,
    pub gradient_accumulation_steps: u32,
    pub train_unet: bool,
    pub train_text_encoder: bool,
    pub gradient_checkpointing: bool,
    pub noise_scheduler: &'static str,
    pub optimizer: &'static str,
    pub lr: f64,
    pub dtype: &'static str,
}

/// `model:`: AI Toolkit stops with "name_or_path must be specified" when it is empty.
#[derive(Debug, Serialize)]
pub struct Model {
    pub name_or_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extras_name_or_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_lora_path: Option<String>,
    pub quantize: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_vram: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Sample {
    pub sampler: &'static str,
    pub sample_every: u32,
    pub width: u32,
    pub height: u32,
    pub prompts: Vec<String>,
    pub neg: &'static str,
    pub seed: u64,
    pub walk_seed: bool,
    pub guidance_scale: f32,
    pub sample_steps: u32,
}

impl Model {
    fn from_base(base: Option<&BaseModel>) -> Self {
        let Some(b) = base else {
            return Model {
                name_or_path: String::new(),
                arch: None,
                extras_name_or_path: None,
                assistant_lora_path: None,
                quantize: false,
                qtype: None,
                low_vram: None,
            };
        };
        Model {
            name_or_path: b.name_or_path.clone(),
            arch: b.arch,
            extras_name_or_path: b.extras_name_or_path.clone(),
            assistant_lora_path: b.assistant_lora_path.clone(),
            quantize: b.quantize,
            qtype: b.quantize.then_some("qfloat8"),
            low_vram: b.quantize.then_some(true),
        }
    }
}

impl JobConfig {
    /// The config for one LoRA training run on `input`'s dataset and base model.
    pub fn new(input: &ConfigInput) -> Self {
        let (scheduler, guidance_scale, sample_steps) =
            input.base.map_or(("flowmatch", 4.0, 20), |b| {
                (b.noise_scheduler, b.guidance_scale, b.sample_steps)
            });
        let trigger = input.trigger_word.trim();
        let prompt = if trigger.is_empty() {
            "a photo".to_string()
        } else {
            format!("a photo of {trigger}")
        };
        let process = Process {
            kind: "sd_trainer",
            training_folder: input.training_folder.to_string(),
            device: "cuda:0",
            trigger_word: trigger.to_string(),
            network: Network {
                kind: "lora",
                linear: 16,
                linear_alpha: 16,
            },
            save: Save {
                dtype: "float16",
                save_every: 250,
                max_step_saves_to_keep: 4,
            },
            datasets: vec![Dataset {
                folder_path: input.dataset_folder.to_string(),
                caption_ext: "txt",
                caption_dropout_rate: 0.05,
                shuffle_tokens: false,
                cache_latents_to_disk: true,
                resolution: vec![512, 768, 1024],
            }],
            train: Train {
                batch_size: 1,
                steps: 2000,
                gradient_accumulation_steps: 1,
                train_unet: true,
                train_text_encoder: false,
                gradient_checkpointing: true,
                noise_scheduler: scheduler,
                optimizer: "adamw8bit",
                lr: 0.0001,
                dtype: "bf16",
            },
            model: Model::from_base(input.base),
            sample: Sample {
                sampler: scheduler,
                sample_every: 250,
                width: 1024,
                height: 1024,
                prompts: vec![prompt],
                neg: "",
                seed: 42,
                walk_seed: true,
                guidance_scale,
                sample_steps,
            },
        };
        JobConfig {
            job: "extension",
            config: RunConfig {
                name: input.run_name.to_string(),
                process: vec![process],
            },
            meta: Meta {
                name: "[name]",
                version: "1.0",
            },
        }
    }

    /// The YAML file: a comment saying how to run it, then the config.
    pub fn to_yaml(&self) -> String {
        let body =
            serde_saphyr::to_string(self).expect("the config has only strings, numbers and lists");
        format!(
            "# AI Toolkit training config, generated by Model Manager.\n# Run with: python run.py config/{}.yaml\n{body}",
            self.config.name
        )
    }
}

/// Just the `model:` block for `base`, as it appears in the config.
pub fn model_yaml(base: &BaseModel) -> String {
    #[derive(Serialize)]
    struct Block {
        model: Model,
    }
    serde_saphyr::to_string(&Block {
        model: Model::from_base(Some(base)),
    })
    .expect("the model block has only strings and booleans")
}

/// AI Toolkit's job config for `input`, as YAML.
pub fn ai_toolkit_yaml(input: &ConfigInput) -> String {
    JobConfig::new(input).to_yaml()
}
