//! Family and type of a model file from its header alone: tensor names, shapes and metadata.
//! The rules and their sources are in the shared reference `model-signatures.md`; each rule
//! leaves the fact that decided it as evidence.
//!
//! Order (as SwarmUI, InvokeAI and ComfyUI do it): explicit metadata names the family; then
//! the container decides the type (LoRA suffixes, VAE, text encoder, adapter, diffusion model
//! with or without bundled VAE/text encoders); then key names and shapes decide the family.

use app::domain::{Confidence, DetectedFamily, DetectedKind, Identification};

use super::{Format, ModelHeader};

mod diffusion;
mod gguf;
mod lora;
mod parts;
#[cfg(test)]
mod tests;

use diffusion::*;
use gguf::*;
use lora::*;
use parts::*;

/// Prefixes that wrap a diffusion model's own keys (ComfyUI, ai-toolkit, diffusers single files).
const DIFFUSION_PREFIXES: [&str; 3] = ["model.diffusion_model.", "diffusion_model.", ""];

/// Key endings that only adapter (LoRA / LyCORIS) files have.
const LORA_SUFFIXES: [&str; 12] = [
    ".lora_down.weight",
    ".lora_up.weight",
    ".lora_A.weight",
    ".lora_B.weight",
    ".lora_A.default.weight",
    ".lora.up.weight",
    ".lora.down.weight",
    ".hada_w1_a",
    ".lokr_w1",
    ".lokr_w1_a",
    ".oft_blocks",
    ".lora_linear_layer.up.weight",
];

/// An identification under construction: a family and kind with the facts behind them.
struct Found {
    family: DetectedFamily,
    kind: DetectedKind,
    confidence: Confidence,
    detail: Option<String>,
    evidence: Vec<String>,
}

impl Found {
    fn new(kind: DetectedKind, family: DetectedFamily, confidence: Confidence) -> Self {
        Self {
            family,
            kind,
            confidence,
            detail: None,
            evidence: Vec::new(),
        }
    }

    fn because(mut self, fact: impl Into<String>) -> Self {
        self.evidence.push(fact.into());
        self
    }

    fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn done(self) -> Identification {
        Identification {
            family: self.family,
            kind: self.kind,
            confidence: self.confidence,
            detail: self.detail,
            evidence: self.evidence,
            warning: None,
            trigger_words: Vec::new(),
        }
    }
}

/// A read-only view of the header with the look-ups the rules need.
struct Keys<'a> {
    header: &'a ModelHeader,
}

impl<'a> Keys<'a> {
    fn has(&self, key: &str) -> bool {
        self.header.tensors.contains_key(key)
    }

    fn shape(&self, key: &str) -> Option<&'a [u64]> {
        self.header.tensors.get(key).map(Vec::as_slice)
    }

    /// Dimension `i` of tensor `key`.
    fn dim(&self, key: &str, i: usize) -> Option<u64> {
        self.shape(key).and_then(|s| s.get(i).copied())
    }

    fn any_prefix(&self, prefix: &str) -> bool {
        self.header
            .tensors
            .range(prefix.to_string()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(prefix))
    }

    fn first(&self, test: impl Fn(&str) -> bool) -> Option<&'a str> {
        self.header
            .tensors
            .keys()
            .map(String::as_str)
            .find(|k| test(k))
    }

    fn meta(&self, key: &str) -> Option<&'a str> {
        self.header
            .metadata
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// What `header` (of a file called `name`) is. The name is only a tie-breaker where the
/// sources say the header cannot decide (SD 1.5 vs SDXL VAEs).
pub fn identify(header: &ModelHeader, name: &str) -> Identification {
    let keys = Keys { header };
    let declared = declared_architecture(&keys);
    let found = if header.format == Format::Gguf {
        gguf(&keys)
    } else {
        None
    }
    .or_else(|| by_container(&keys, name));
    let mut found = match (found, declared) {
        (Some(found), None) => found,
        (Some(mut found), Some((family, kind, fact))) => {
            if found.family != family && family != DetectedFamily::Unknown {
                found.evidence.insert(
                    0,
                    format!(
                        "{fact}: the file's own metadata names the family (the tensors alone suggest {})",
                        found.family.label()
                    ),
                );
                found.family = family;
            } else {
                found.evidence.insert(0, fact);
            }
            if found.kind == DetectedKind::Unknown {
                found.kind = kind;
            }
            found.confidence = Confidence::High;
            found
        }
        (None, Some((family, kind, fact))) => {
            Found::new(kind, family, Confidence::Medium).because(fact)
        }
        (None, None) => Found::new(
            DetectedKind::Unknown,
            DetectedFamily::Unknown,
            Confidence::None,
        )
        .because(format!(
            "no known tensor names among {} tensors",
            header.tensors.len()
        )),
    };
    if found.evidence.is_empty() {
        found.evidence.push("no deciding fact".into());
    }
    let mut id = found.done();
    id.trigger_words = super::triggers::trigger_words(&header.metadata);
    id
}

/// The family (and kind) the metadata states: `modelspec.architecture` (SAI ModelSpec,
/// kohya, SwarmUI), else kohya/ai-toolkit `ss_base_model_version`.
fn declared_architecture(keys: &Keys) -> Option<(DetectedFamily, DetectedKind, String)> {
    if let Some(arch) = keys.meta("modelspec.architecture") {
        let lower = arch.to_lowercase();
        let (base, adapter) = lower.split_once('/').unwrap_or((&lower, ""));
        let kind = match adapter {
            "lora" => DetectedKind::Lora,
            "vae" => DetectedKind::Vae,
            "textual-inversion" => DetectedKind::Adapter,
            _ => DetectedKind::Unknown,
        };
        let family = family_from_architecture(base)?;
        return Some((
            family,
            kind,
            format!("metadata modelspec.architecture = {arch:?}"),
        ));
    }
    let version = keys.meta("ss_base_model_version")?;
    let family = family_from_base_version(&version.to_lowercase())?;
    Some((
        family,
        DetectedKind::Lora,
        format!("metadata ss_base_model_version = {version:?}"),
    ))
}

/// ModelSpec / SwarmUI architecture ids (`flux-1-dev`, `Flux.1-dev`, `stable-diffusion-xl-v1-base`).
fn family_from_architecture(base: &str) -> Option<DetectedFamily> {
    let flat = base.replace(['.', '_'], "-");
    Some(match flat.as_str() {
        "flux-1-dev" => DetectedFamily::Flux1Dev,
        "flux-1-schnell" => DetectedFamily::Flux1Schnell,
        "flux-1" | "flux-1-ae" => DetectedFamily::Flux1,
        f if f.starts_with("flux-2") => DetectedFamily::Flux2,
        "stable-diffusion-xl-v1-base" => DetectedFamily::SdxlBase,
        "stable-diffusion-xl-v1-refiner" => DetectedFamily::SdxlRefiner,
        f if f.starts_with("stable-diffusion-xl") => DetectedFamily::Sdxl,
        "stable-diffusion-v1" => DetectedFamily::Sd15,
        f if f.starts_with("qwen-image") => DetectedFamily::QwenImage,
        f if f.starts_with("z-image") => DetectedFamily::Zimage,
        _ => return None,
    })
}

/// kohya and ai-toolkit `ss_base_model_version` values.
fn family_from_base_version(version: &str) -> Option<DetectedFamily> {
    Some(match version {
        v if v.starts_with("sd_v1") || v == "sd_1.5" => DetectedFamily::Sd15,
        v if v.starts_with("sdxl") => DetectedFamily::Sdxl,
        "flux1" | "flux.1" => DetectedFamily::Flux1,
        v if v.starts_with("flux2") => DetectedFamily::Flux2,
        "zimage" => DetectedFamily::Zimage,
        v if v.starts_with("qwen_image") => DetectedFamily::QwenImage,
        _ => return None,
    })
}

/// The type from the container's keys, then the family for that type.
fn by_container(keys: &Keys, name: &str) -> Option<Found> {
    if let Some(suffix) = lora_marker(keys) {
        return Some(lora(keys, &suffix));
    }
    vae(keys, name)
        .or_else(|| text_encoder(keys))
        .or_else(|| adapter(keys))
        .or_else(|| diffusion(keys))
}

fn with_family(mut found: Found, family: DetectedFamily, confidence: Confidence) -> Found {
    found.family = family;
    found.confidence = confidence;
    found
}
