//! What a model file is, as read from its header alone (`inspect::identify` on the server).

use serde::{Deserialize, Serialize};

use super::{ModelFamily, ModelType};

/// The architecture line a file belongs to, finer than [`ModelFamily`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectedFamily {
    Flux1Dev,
    Flux1Schnell,
    /// FLUX.1, but the file does not say which variant (LoRAs, VAEs, text encoders).
    Flux1,
    Flux2,
    SdxlBase,
    SdxlRefiner,
    /// SDXL, but the file does not say base or refiner (LoRAs, VAEs).
    Sdxl,
    Sd15,
    QwenImage,
    Zimage,
    Unknown,
}

impl DetectedFamily {
    pub fn label(self) -> &'static str {
        match self {
            DetectedFamily::Flux1Dev => "FLUX.1 dev",
            DetectedFamily::Flux1Schnell => "FLUX.1 schnell",
            DetectedFamily::Flux1 => "FLUX.1",
            DetectedFamily::Flux2 => "FLUX.2",
            DetectedFamily::SdxlBase => "SDXL base",
            DetectedFamily::SdxlRefiner => "SDXL refiner",
            DetectedFamily::Sdxl => "SDXL",
            DetectedFamily::Sd15 => "SD 1.5",
            DetectedFamily::QwenImage => "Qwen-Image",
            DetectedFamily::Zimage => "Z-Image",
            DetectedFamily::Unknown => "Unknown family",
        }
    }

    /// The app's family for this line (SD 1.5 and unknown files are `custom`).
    pub fn model_family(self) -> ModelFamily {
        match self {
            DetectedFamily::Flux1Dev
            | DetectedFamily::Flux1Schnell
            | DetectedFamily::Flux1
            | DetectedFamily::Flux2 => ModelFamily::Flux,
            DetectedFamily::SdxlBase | DetectedFamily::SdxlRefiner | DetectedFamily::Sdxl => {
                ModelFamily::Sdxl
            }
            DetectedFamily::QwenImage => ModelFamily::Qwen,
            DetectedFamily::Zimage => ModelFamily::Zimage,
            DetectedFamily::Sd15 | DetectedFamily::Unknown => ModelFamily::Custom,
        }
    }
}

/// What a file holds, finer than [`ModelType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectedKind {
    /// Diffusion model with its VAE and text encoder(s) in one file.
    Checkpoint,
    /// The diffusion model (UNet or transformer) alone.
    DiffusionModel,
    Lora,
    Vae,
    TextEncoder,
    /// ControlNet, IP-Adapter and the like.
    Adapter,
    /// A language model in GGUF (captioner, or a text encoder some families load).
    Captioner,
    Unknown,
}

impl super::Wire for DetectedKind {
    const VARIANTS: &'static [Self] = &[
        DetectedKind::Checkpoint,
        DetectedKind::DiffusionModel,
        DetectedKind::Lora,
        DetectedKind::Vae,
        DetectedKind::TextEncoder,
        DetectedKind::Adapter,
        DetectedKind::Captioner,
        DetectedKind::Unknown,
    ];
    fn wire(self) -> &'static str {
        match self {
            DetectedKind::Checkpoint => "checkpoint",
            DetectedKind::DiffusionModel => "diffusion_model",
            DetectedKind::Lora => "lora",
            DetectedKind::Vae => "vae",
            DetectedKind::TextEncoder => "text_encoder",
            DetectedKind::Adapter => "adapter",
            DetectedKind::Captioner => "captioner",
            DetectedKind::Unknown => "unknown",
        }
    }
}

impl DetectedKind {
    pub fn label(self) -> &'static str {
        match self {
            DetectedKind::Checkpoint => "Checkpoint",
            DetectedKind::DiffusionModel => "Diffusion model only",
            DetectedKind::Lora => "LoRA",
            DetectedKind::Vae => "VAE",
            DetectedKind::TextEncoder => "Text encoder",
            DetectedKind::Adapter => "Adapter",
            DetectedKind::Captioner => "Captioner / LLM",
            DetectedKind::Unknown => "Unknown type",
        }
    }

    /// The app's type for this kind.
    pub fn model_type(self) -> ModelType {
        match self {
            DetectedKind::Checkpoint | DetectedKind::DiffusionModel => ModelType::BaseModel,
            DetectedKind::Lora => ModelType::Lora,
            DetectedKind::Vae => ModelType::Vae,
            DetectedKind::TextEncoder => ModelType::TextEncoder,
            DetectedKind::Adapter => ModelType::Adapter,
            DetectedKind::Captioner => ModelType::Captioner,
            DetectedKind::Unknown => ModelType::Other,
        }
    }
}

/// How sure the identification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Nothing decided it (unknown files, PyTorch pickles that are never opened).
    None,
    /// A guess: the header allows other answers (named in the evidence).
    Low,
    /// Metadata or key names decide it, with no shape check.
    Medium,
    /// Explicit metadata, or key names and shapes agree.
    High,
}

/// The family and type of one file, with what decided them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identification {
    pub family: DetectedFamily,
    pub kind: DetectedKind,
    pub confidence: Confidence,
    /// Finer facts: LoRA format (kohya, diffusers/PEFT, ai-toolkit, LyCORIS), FLUX.2 variant,
    /// latent channels, LLM architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Which tensor names, shapes or metadata decided it, one fact a line.
    pub evidence: Vec<String>,
    /// Set when the user's declared type or family disagrees with the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Trigger words from the file's own metadata (`modelspec.trigger_phrase`, kohya
    /// `ss_tag_frequency`), most important first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trigger_words: Vec<String>,
}

impl Identification {
    /// A file nothing could be read from or nothing matched.
    pub fn unknown(evidence: impl Into<String>) -> Self {
        Self {
            family: DetectedFamily::Unknown,
            kind: DetectedKind::Unknown,
            confidence: Confidence::None,
            detail: None,
            evidence: vec![evidence.into()],
            warning: None,
            trigger_words: Vec::new(),
        }
    }

    /// One line for a card: "LoRA · FLUX.1 (kohya)".
    pub fn summary(&self) -> String {
        let mut out = format!("{} · {}", self.kind.label(), self.family.label());
        if let Some(detail) = &self.detail {
            out.push_str(&format!(" ({detail})"));
        }
        out
    }

    /// A warning when the declared type or family contradicts a sure identification, e.g. a
    /// LoRA added as a base model. Unsure or unknown identifications never warn.
    pub fn mismatch(&self, family: ModelFamily, model_type: ModelType) -> Option<String> {
        if self.confidence < Confidence::Medium {
            return None;
        }
        let found_type = self.kind.model_type();
        if self.kind != DetectedKind::Unknown && found_type != model_type {
            return Some(format!(
                "This file looks like a {} ({}), but it was added as {}: check the type before you use it.",
                self.kind.label(),
                self.family.label(),
                article(model_type.label())
            ));
        }
        let found_family = self.family.model_family();
        if self.family != DetectedFamily::Unknown
            && family != ModelFamily::Custom
            && found_family != family
        {
            return Some(format!(
                "This file looks like {} {}, but it was added as a {} model.",
                self.family.label(),
                self.kind.label(),
                family.label()
            ));
        }
        None
    }
}

fn article(label: &str) -> String {
    let lower = label.to_lowercase();
    let vowel = lower.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {}", if vowel { "an" } else { "a" }, lower)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_s_wire_word_is_serde_s_name() {
        use crate::domain::Wire;
        for kind in DetectedKind::VARIANTS {
            let serde = serde_json::to_value(kind).unwrap();
            assert_eq!(serde, kind.wire(), "{kind:?}");
        }
    }

    use super::*;

    fn id(family: DetectedFamily, kind: DetectedKind, confidence: Confidence) -> Identification {
        Identification {
            family,
            kind,
            confidence,
            detail: None,
            evidence: vec![],
            warning: None,
            trigger_words: vec![],
        }
    }

    #[test]
    fn a_lora_declared_as_a_base_model_warns() {
        let lora = id(DetectedFamily::Flux1, DetectedKind::Lora, Confidence::High);
        let warning = lora
            .mismatch(ModelFamily::Flux, ModelType::BaseModel)
            .unwrap();
        assert!(
            warning.contains("LoRA") && warning.contains("a base model"),
            "{warning}"
        );
        assert_eq!(lora.mismatch(ModelFamily::Flux, ModelType::Lora), None);
    }

    #[test]
    fn a_family_mismatch_warns_but_custom_and_guesses_do_not() {
        let sdxl = id(
            DetectedFamily::SdxlBase,
            DetectedKind::Checkpoint,
            Confidence::High,
        );
        assert!(sdxl
            .mismatch(ModelFamily::Flux, ModelType::BaseModel)
            .unwrap()
            .contains("SDXL base"));
        assert_eq!(
            sdxl.mismatch(ModelFamily::Custom, ModelType::BaseModel),
            None
        );
        let guess = id(DetectedFamily::Sdxl, DetectedKind::Vae, Confidence::Low);
        assert_eq!(guess.mismatch(ModelFamily::Flux, ModelType::Lora), None);
    }

    #[test]
    fn wire_names() {
        let json = serde_json::to_value(id(
            DetectedFamily::Flux1Dev,
            DetectedKind::DiffusionModel,
            Confidence::High,
        ))
        .unwrap();
        assert_eq!(json["family"], "flux1_dev");
        assert_eq!(json["kind"], "diffusion_model");
        assert_eq!(json["confidence"], "high");
        assert!(json.get("warning").is_none());
    }
}
