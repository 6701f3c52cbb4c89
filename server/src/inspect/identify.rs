//! Family and type of a model file from its header alone: tensor names, shapes and metadata.
//! The rules and their sources are in the shared reference `model-signatures.md`; each rule
//! leaves the fact that decided it as evidence.
//!
//! Order (as SwarmUI, InvokeAI and ComfyUI do it): explicit metadata names the family; then
//! the container decides the type (LoRA suffixes, VAE, text encoder, adapter, diffusion model
//! with or without bundled VAE/text encoders); then key names and shapes decide the family.

use app::domain::{Confidence, DetectedFamily, DetectedKind, Identification};

use super::{Format, ModelHeader};

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

/// The key that marks a LoRA / LyCORIS file, if any.
fn lora_marker(keys: &Keys) -> Option<String> {
    keys.first(|k| k.starts_with("lora_") && !k.starts_with("lora_controlnet"))
        .or_else(|| keys.first(|k| LORA_SUFFIXES.iter().any(|s| k.ends_with(s))))
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// LoRAs

fn lora(keys: &Keys, marker: &str) -> Found {
    let format = lora_format(keys);
    let base = Found::new(
        DetectedKind::Lora,
        DetectedFamily::Unknown,
        Confidence::Medium,
    )
    .because(format!("adapter weights such as {marker}"))
    .detail(format);
    // Key names in one spelling: kohya joins module paths with `_`, the others with `.`.
    let flat: Vec<String> = keys
        .header
        .tensors
        .keys()
        .map(|k| k.replace('.', "_"))
        .collect();
    let has = |needle: &str| flat.iter().any(|k| k.contains(needle));
    if has("double_stream_modulation") || has("to_qkv_mlp_proj") || has("ff_linear_in") {
        let key = [
            "double_stream_modulation",
            "to_qkv_mlp_proj",
            "ff_linear_in",
        ]
        .into_iter()
        .find(|n| has(n))
        .unwrap_or_default();
        return with_family(base, DetectedFamily::Flux2, Confidence::High)
            .because(format!("FLUX.2 module names ({key})"));
    }
    if let Some(width) = flux_lora_context_width(keys) {
        if width > 4096 {
            return with_family(base, DetectedFamily::Flux2, Confidence::High).because(format!(
                "text input width {width} (FLUX.1 reads 4096-wide T5 features; FLUX.2 reads wider ones)"
            ));
        }
    }
    if has("double_blocks_") || has("single_blocks_") {
        return with_family(base, DetectedFamily::Flux1, Confidence::High)
            .because("FLUX.1 module names (double_blocks / single_blocks)");
    }
    if has("single_transformer_blocks_") {
        return with_family(base, DetectedFamily::Flux1, Confidence::High)
            .because("diffusers FLUX.1 module names (single_transformer_blocks)");
    }
    if has("img_mlp_net") || has("txt_mlp_net") {
        return with_family(base, DetectedFamily::QwenImage, Confidence::High)
            .because("Qwen-Image module names (transformer_blocks.N.img_mlp.net)");
    }
    if has("noise_refiner")
        || has("context_refiner")
        || has("_attention_to_")
        || has("feed_forward_w")
    {
        return with_family(base, DetectedFamily::Zimage, Confidence::High).because(
            "Z-Image module names (layers.N.attention / noise_refiner / context_refiner)",
        );
    }
    sd_lora_family(keys, &flat, base)
}

fn with_family(mut found: Found, family: DetectedFamily, confidence: Confidence) -> Found {
    found.family = family;
    found.confidence = confidence;
    found
}

/// Who wrote the LoRA, from its key names and metadata.
fn lora_format(keys: &Keys) -> &'static str {
    let module = keys.meta("ss_network_module").unwrap_or_default();
    if keys
        .first(|k| k.contains(".hada_") || k.contains(".lokr_"))
        .is_some()
        || module.starts_with("lycoris")
    {
        "LyCORIS"
    } else if keys.any_prefix("lora_") {
        "kohya"
    } else if keys
        .meta("software")
        .is_some_and(|s| s.contains("ai-toolkit"))
    {
        "ai-toolkit"
    } else if keys
        .first(|k| k.contains(".lora_A.") || k.contains(".lora_B."))
        .is_some()
    {
        "diffusers / PEFT"
    } else {
        "LoRA"
    }
}

/// Input width of a FLUX LoRA's text projection (`txt_in` / `context_embedder`), if present.
fn flux_lora_context_width(keys: &Keys) -> Option<u64> {
    let key = keys.first(|k| {
        (k.contains("txt_in") || k.contains("context_embedder"))
            && (k.ends_with("lora_A.weight") || k.ends_with("lora_down.weight"))
    })?;
    keys.dim(key, 1)
}

/// SD 1.5 vs SDXL LoRAs: the cross-attention width (768 vs 2048), else SDXL's two text
/// encoders or its deeper transformer blocks (InvokeAI's `lora_token_vector_length`).
fn sd_lora_family(keys: &Keys, flat: &[String], base: Found) -> Found {
    let unet = [
        "down_blocks_",
        "up_blocks_",
        "input_blocks_",
        "output_blocks_",
        "mid_block",
    ];
    let is_unet = |k: &String| unet.iter().any(|u| k.contains(u));
    let cross = keys.header.tensors.iter().find(|(k, shape)| {
        (k.contains("attn2_to_k") || k.contains("attn2.to_k"))
            && (k.ends_with("lora_down.weight") || k.ends_with("lora_A.weight"))
            && shape.len() >= 2
    });
    if let Some((key, shape)) = cross {
        let family = match shape[1] {
            768 => DetectedFamily::Sd15,
            2048 | 1280 => DetectedFamily::Sdxl,
            _ => DetectedFamily::Unknown,
        };
        return with_family(base, family, Confidence::High).because(format!(
            "cross-attention input width {} ({key}): 768 is SD 1.5, 2048 is SDXL",
            shape[1]
        ));
    }
    let te1 = flat.iter().any(|k| k.starts_with("lora_te1_"));
    let te2 = flat.iter().any(|k| k.starts_with("lora_te2_"));
    if te1 && te2 {
        return with_family(base, DetectedFamily::Sdxl, Confidence::Medium)
            .because("two text encoders (lora_te1_ and lora_te2_), as SDXL has");
    }
    if flat.iter().any(|k| {
        is_unet(k)
            && k.split("transformer_blocks_")
                .nth(1)
                .and_then(|rest| rest.split('_').next())
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n >= 2)
    }) {
        return with_family(base, DetectedFamily::Sdxl, Confidence::Medium)
            .because("UNet transformer blocks numbered 2 and up (SD 1.5 has only block 0)");
    }
    if flat.iter().any(is_unet) || flat.iter().any(|k| k.starts_with("lora_te_")) {
        return with_family(base, DetectedFamily::Sd15, Confidence::Low)
            .because("UNet or single text-encoder module names without SDXL's deeper blocks");
    }
    base.because("no module name tells the family")
}

// ---------------------------------------------------------------------------------------------
// VAEs

fn vae(keys: &Keys, name: &str) -> Option<Found> {
    if keys.has("decoder.middle.0.residual.0.gamma") {
        return Some(
            Found::new(
                DetectedKind::Vae,
                DetectedFamily::QwenImage,
                Confidence::Medium,
            )
            .because("decoder.middle.0.residual.0.gamma: the Wan-style video VAE Qwen-Image uses")
            .because("Wan 2.1's VAE has the same layout"),
        );
    }
    let conv_in = ["decoder.conv_in.weight", "encoder.conv_in.weight"]
        .into_iter()
        .find(|k| keys.has(k))?;
    let found = Found::new(DetectedKind::Vae, DetectedFamily::Unknown, Confidence::Low).because(
        format!("{conv_in} at the top level: a standalone autoencoder"),
    );
    if keys.has("bn.running_mean") {
        return Some(
            with_family(found, DetectedFamily::Flux2, Confidence::High)
                .because("bn.running_mean: FLUX.2's batch-normalised latent")
                .detail("32 latent channels"),
        );
    }
    let Some(latent) = keys.dim("decoder.conv_in.weight", 1) else {
        return Some(found.because("no decoder.conv_in.weight to read the latent channels from"));
    };
    let found = found.detail(format!("{latent} latent channels"));
    Some(match latent {
        32 => with_family(found, DetectedFamily::Flux2, Confidence::High)
            .because("decoder.conv_in.weight reads 32 latent channels (FLUX.2)"),
        16 => with_family(found, DetectedFamily::Flux1, Confidence::Medium)
            .because("decoder.conv_in.weight reads 16 latent channels: the FLUX.1 autoencoder (Z-Image uses it too; SD3's has the same shape)"),
        4 => four_channel_vae(found, name),
        _ => found.because(format!("{latent} latent channels is no family we know")),
    })
}

/// SD 1.5 and SDXL VAEs have the same shapes: the file name decides, as in InvokeAI.
fn four_channel_vae(found: Found, name: &str) -> Found {
    let lower = name.to_lowercase();
    let found = found.because("decoder.conv_in.weight reads 4 latent channels (SD 1.5 and SDXL VAEs have identical shapes)");
    if lower.contains("xl") {
        with_family(found, DetectedFamily::Sdxl, Confidence::Medium)
            .because(format!("the file name {name:?} says SDXL"))
    } else if ["sd15", "sd-1", "sd1", "v1-5", "1.5"]
        .iter()
        .any(|t| lower.contains(t))
    {
        with_family(found, DetectedFamily::Sd15, Confidence::Medium)
            .because(format!("the file name {name:?} says SD 1.5"))
    } else {
        with_family(found, DetectedFamily::Sdxl, Confidence::Low)
            .because("guessed SDXL: nothing in the header or name tells SD 1.5 apart")
    }
}

// ---------------------------------------------------------------------------------------------
// Text encoders

fn text_encoder(keys: &Keys) -> Option<Found> {
    let te = |family, confidence, detail: &str| {
        Found::new(DetectedKind::TextEncoder, family, confidence).detail(detail.to_string())
    };
    if keys.any_prefix("text_model.encoder.layers.") {
        let width = keys
            .dim("text_model.final_layer_norm.weight", 0)
            .or_else(|| keys.dim("text_model.embeddings.token_embedding.weight", 1))
            .or_else(|| keys.dim("text_model.encoder.layers.0.mlp.fc1.weight", 1));
        let deep = keys.any_prefix("text_model.encoder.layers.30.");
        return Some(match (width, deep) {
            (Some(1280), _) | (None, true) => te(
                DetectedFamily::Sdxl,
                Confidence::Medium,
                "CLIP-G (OpenCLIP bigG)",
            )
            .because("CLIP text model 1280 wide / 32 layers: CLIP-G, SDXL's second text encoder"),
            (Some(768), _) => te(DetectedFamily::Flux1, Confidence::Low, "CLIP-L")
                .because("CLIP text model 768 wide: CLIP-L")
                .because(
                    "CLIP-L is FLUX.1's pooled text encoder, and also the first of SD 1.5 and SDXL",
                ),
            (w, _) => te(DetectedFamily::Unknown, Confidence::Low, "CLIP").because(format!(
                "a CLIP text model {} wide",
                w.map(|w| w.to_string()).unwrap_or_else(|| "?".into())
            )),
        });
    }
    if keys.any_prefix("encoder.block.") {
        let vocab = keys.dim("shared.weight", 0);
        let width = keys
            .dim("encoder.final_layer_norm.weight", 0)
            .or_else(|| keys.dim("encoder.block.0.layer.0.SelfAttention.q.weight", 1))
            .or_else(|| keys.dim("shared.weight", 1));
        let found = Found::new(
            DetectedKind::TextEncoder,
            DetectedFamily::Unknown,
            Confidence::Low,
        )
        .because("encoder.block.N: a T5 encoder");
        return Some(match (vocab, width) {
            (Some(256_384), _) => found
                .detail("UMT5-XXL")
                .because("shared.weight has 256384 rows: UMT5 (Wan), not a family this app trains"),
            (_, Some(4096)) => with_family(found, DetectedFamily::Flux1, Confidence::Medium)
                .detail("T5-XXL")
                .because("model width 4096: T5-XXL, FLUX.1's text encoder"),
            _ => found.detail("T5"),
        });
    }
    if keys.any_prefix("model.layers.") || keys.has("model.embed_tokens.weight") {
        return Some(llm_encoder(keys));
    }
    None
}

/// A Hugging Face language model used as a text encoder: Qwen2.5-VL (Qwen-Image), Qwen3
/// (Z-Image, FLUX.2 Klein), Mistral 3 (FLUX.2 dev).
fn llm_encoder(keys: &Keys) -> Found {
    let width = keys
        .dim("model.layers.0.post_attention_layernorm.weight", 0)
        .or_else(|| keys.dim("model.embed_tokens.weight", 1));
    let qk_norm = keys.has("model.layers.0.self_attn.q_norm.weight");
    let vision = keys.any_prefix("visual.") || keys.any_prefix("model.visual.");
    let te = |family, confidence, detail: &str| {
        Found::new(DetectedKind::TextEncoder, family, confidence).detail(detail.to_string())
    };
    let w = width.map(|w| w.to_string()).unwrap_or_else(|| "?".into());
    match (width, qk_norm, vision) {
        (Some(3584), false, _) => te(DetectedFamily::QwenImage, Confidence::High, "Qwen2.5-VL 7B")
            .because(format!(
                "model.layers with width {w} and no q_norm: Qwen2.5 7B"
            ))
            .because(if vision {
                "a vision tower (visual.*): Qwen2.5-VL, Qwen-Image's text encoder"
            } else {
                "Qwen-Image's text encoder is Qwen2.5-VL 7B"
            }),
        (Some(2560), true, _) => te(DetectedFamily::Zimage, Confidence::Medium, "Qwen3 4B")
            .because(format!("model.layers with q_norm and width {w}: Qwen3 4B"))
            .because("Qwen3 4B is Z-Image's text encoder (FLUX.2 Klein 4B uses it too)"),
        (Some(4096), true, _) => {
            te(DetectedFamily::Flux2, Confidence::Medium, "Qwen3 8B").because(format!(
                "model.layers with q_norm and width {w}: Qwen3 8B, FLUX.2 Klein 9B's text encoder"
            ))
        }
        (Some(5120), false, _) => te(DetectedFamily::Flux2, Confidence::Medium, "Mistral Small 3")
            .because(format!(
                "model.layers with width {w}: Mistral Small 3, FLUX.2 dev's text encoder"
            )),
        _ => te(DetectedFamily::Unknown, Confidence::Low, "language model").because(format!(
            "model.layers with width {w}: a language model no family here uses"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Adapters

fn adapter(keys: &Keys) -> Option<Found> {
    let (key, what) = if keys.any_prefix("control_model.") {
        ("control_model.*", "ControlNet")
    } else if let Some(k) = keys.first(|k| k.starts_with("controlnet_")) {
        (k, "ControlNet")
    } else if keys.any_prefix("ip_adapter.") || keys.any_prefix("ip_adapter_proj_model.") {
        ("ip_adapter.*", "IP-Adapter")
    } else if keys.any_prefix("control_layers.") {
        ("control_layers.*", "ControlNet")
    } else {
        return None;
    };
    let family = if keys.any_prefix("control_layers.") {
        DetectedFamily::Zimage
    } else if keys.first(|k| k.contains("double_blocks.")).is_some()
        || keys.has("transformer_blocks.0.attn.norm_added_k.weight")
    {
        DetectedFamily::Flux1
    } else if keys.has("add_embedding.linear_1.weight") {
        DetectedFamily::Sdxl
    } else {
        DetectedFamily::Unknown
    };
    Some(
        Found::new(DetectedKind::Adapter, family, Confidence::Medium)
            .detail(what)
            .because(format!("{key}: a {what}")),
    )
}

// ---------------------------------------------------------------------------------------------
// Diffusion models and checkpoints

/// The prefix the diffusion model's keys carry, and whether VAE and text encoders come with it.
fn diffusion(keys: &Keys) -> Option<Found> {
    let (prefix, mut found) = DIFFUSION_PREFIXES
        .iter()
        .find_map(|p| diffusion_family(keys, p).map(|f| (*p, f)))?;
    let vae = ["first_stage_model.", "vae."]
        .into_iter()
        .find(|p| keys.any_prefix(p));
    let te = [
        "cond_stage_model.",
        "conditioner.embedders.",
        "text_encoders.",
    ]
    .into_iter()
    .find(|p| keys.any_prefix(p));
    if let (Some(vae), Some(te)) = (vae, te) {
        found.kind = DetectedKind::Checkpoint;
        found.evidence.push(format!(
            "bundles a VAE ({vae}*) and text encoders ({te}*): a full checkpoint"
        ));
    } else {
        let wrapped = if prefix.is_empty() {
            "bare".to_string()
        } else {
            format!("{prefix}*")
        };
        found.evidence.push(format!(
            "{wrapped} diffusion-model keys without a bundled VAE and text encoder: diffusion model only"
        ));
    }
    Some(found)
}

fn diffusion_family(keys: &Keys, p: &str) -> Option<Found> {
    let k = |name: &str| format!("{p}{name}");
    let dm = |family, confidence| Found::new(DetectedKind::DiffusionModel, family, confidence);
    // FLUX.2 before FLUX.1: they share the double-block names.
    if let Some(marker) = [
        "double_stream_modulation_img.lin.weight",
        "double_stream_modulation_img.linear.weight",
        "single_stream_modulation.lin.weight",
        "single_stream_modulation.linear.weight",
    ]
    .into_iter()
    .find(|m| keys.has(&k(m)))
    {
        let context = keys
            .dim(&k("txt_in.weight"), 1)
            .or_else(|| keys.dim(&k("context_embedder.weight"), 1));
        let variant = match context {
            Some(7680) => "Klein 4B",
            Some(12288) => "Klein 9B",
            Some(15360) => "dev",
            _ => "variant unknown",
        };
        let mut found = dm(DetectedFamily::Flux2, Confidence::High)
            .detail(variant)
            .because(format!("{p}{marker}: FLUX.2's shared modulation"));
        if let Some(width) = context {
            found = found.because(format!("text input width {width}: FLUX.2 {variant}"));
        }
        return Some(found);
    }
    if keys.any_prefix(&k("distilled_guidance_layer.")) {
        return Some(
            dm(DetectedFamily::Unknown, Confidence::Medium)
                .detail("Chroma")
                .because(
                    "distilled_guidance_layer: Chroma, a FLUX.1 derivative this app does not train",
                ),
        );
    }
    let bfl = keys.has(&k("double_blocks.0.img_attn.norm.key_norm.scale"))
        && keys.has(&k("img_in.weight"));
    let diffusers =
        keys.has(&k("x_embedder.weight")) && keys.any_prefix(&k("single_transformer_blocks."));
    if bfl || diffusers {
        return Some(flux1(keys, p));
    }
    if keys.has(&k("txt_norm.weight"))
        && keys.has(&k("img_in.weight"))
        && keys.any_prefix(&k("transformer_blocks."))
    {
        return Some(
            dm(DetectedFamily::QwenImage, Confidence::High)
                .because(format!(
                    "{p}txt_norm.weight with img_in/txt_in and transformer_blocks: Qwen-Image"
                ))
                .detail(if keys.has(&k("__index_timestep_zero__")) {
                    "Edit 2511"
                } else {
                    "image"
                }),
        );
    }
    if keys.has(&k("cap_embedder.1.weight")) || keys.any_prefix(&k("all_x_embedder.")) {
        return Some(zimage(keys, p));
    }
    unet(keys, p)
}

fn flux1(keys: &Keys, p: &str) -> Found {
    let k = |name: &str| format!("{p}{name}");
    let (img_in, guidance) = if keys.has(&k("img_in.weight")) {
        ("img_in.weight", "guidance_in.in_layer.weight")
    } else {
        (
            "x_embedder.weight",
            "time_text_embed.guidance_embedder.linear_1.weight",
        )
    };
    let channels = keys.dim(&k(img_in), 1);
    let mut found = Found::new(
        DetectedKind::DiffusionModel,
        DetectedFamily::Flux1,
        Confidence::High,
    )
    .because(format!(
        "{p}{img_in} with FLUX double/single blocks: FLUX.1"
    ));
    match channels {
        Some(128) => {
            return with_family(found, DetectedFamily::Flux2, Confidence::Medium).because(format!(
                "{img_in} reads 128 channels: FLUX.2's packed latent"
            ))
        }
        Some(384) => {
            found = found.detail("Fill").because(format!(
                "{img_in} reads 384 channels: the Fill (inpainting) model"
            ))
        }
        Some(64) | None => {}
        Some(c) => found = found.because(format!("{img_in} reads {c} channels")),
    }
    if keys.has(&k(guidance)) || keys.has(&k("guidance_in.in_layer.bias")) {
        found.family = DetectedFamily::Flux1Dev;
        found.because(format!("{p}{guidance} present: guidance-distilled, so dev"))
    } else {
        found.family = DetectedFamily::Flux1Schnell;
        found.because(format!("no {guidance}: no guidance embedding, so schnell"))
    }
}

fn zimage(keys: &Keys, p: &str) -> Found {
    let key = format!("{p}cap_embedder.1.weight");
    let found = Found::new(
        DetectedKind::DiffusionModel,
        DetectedFamily::Zimage,
        Confidence::Medium,
    );
    match keys.dim(&key, 0) {
        Some(3840) => with_family(found, DetectedFamily::Zimage, Confidence::High)
            .because(format!("{key} is 3840 wide: Z-Image (Lumina 2 is 2304)")),
        Some(w) => with_family(found, DetectedFamily::Unknown, Confidence::Medium)
            .detail("Lumina 2")
            .because(format!(
                "{key} is {w} wide: the Lumina 2 layout, not Z-Image's 3840"
            )),
        None => found.because(format!("{p}all_x_embedder.*: diffusers Z-Image")),
    }
}

/// SD-family UNets (original `input_blocks` or diffusers `down_blocks`): the cross-attention
/// width decides (768 SD 1.5, 1024 SD 2, 2048 SDXL base, 1280 SDXL refiner).
fn unet(keys: &Keys, p: &str) -> Option<Found> {
    let is_unet = keys.has(&format!("{p}input_blocks.0.0.weight"))
        || (p.is_empty() && keys.has("conv_in.weight") && keys.any_prefix("down_blocks."));
    if !is_unet {
        return None;
    }
    let found = Found::new(
        DetectedKind::DiffusionModel,
        DetectedFamily::Unknown,
        Confidence::Medium,
    );
    // The text encoders bundled in a checkpoint decide first (SwarmUI, diffusers).
    if keys.any_prefix("conditioner.embedders.1.model.") {
        return Some(
            with_family(found, DetectedFamily::SdxlBase, Confidence::High)
                .because("conditioner.embedders.1.model.*: CLIP-L plus OpenCLIP bigG, SDXL base"),
        );
    }
    if keys.any_prefix("conditioner.embedders.0.model.") {
        return Some(
            with_family(found, DetectedFamily::SdxlRefiner, Confidence::High)
                .because("conditioner.embedders.0.model.* alone: only OpenCLIP bigG, SDXL refiner"),
        );
    }
    if keys.any_prefix("cond_stage_model.transformer.") {
        return Some(
            with_family(found, DetectedFamily::Sd15, Confidence::High)
                .because("cond_stage_model.transformer.*: CLIP-L text encoder, SD 1.x"),
        );
    }
    let cross = keys
        .header
        .tensors
        .iter()
        .find(|(k, s)| k.starts_with(p) && k.ends_with("attn2.to_k.weight") && s.len() == 2);
    let Some((key, shape)) = cross else {
        return Some(found.because("a UNet without cross-attention weights to read"));
    };
    let (family, what) = match shape[1] {
        768 => (DetectedFamily::Sd15, "SD 1.x"),
        2048 => (DetectedFamily::SdxlBase, "SDXL base"),
        1280 => (DetectedFamily::SdxlRefiner, "SDXL refiner"),
        1024 => (DetectedFamily::Unknown, "SD 2.x"),
        _ => (DetectedFamily::Unknown, "no known UNet"),
    };
    Some(
        with_family(found, family, Confidence::High).because(format!(
            "{key} reads {}-wide text features: {what}",
            shape[1]
        )),
    )
}

// ---------------------------------------------------------------------------------------------
// GGUF

/// GGUF files: `general.architecture` first (city96's converter, llama.cpp), tensor names after.
fn gguf(keys: &Keys) -> Option<Found> {
    let arch = keys.meta("general.architecture")?;
    let fact = format!("GGUF general.architecture = {arch:?}");
    let kind_of_file = keys.meta("general.type").unwrap_or_default();
    let found = match arch {
        "flux" | "qwen_image" | "lumina2" | "sdxl" | "sd1" => {
            let mut found = diffusion(keys)?;
            found.evidence.insert(0, fact);
            return Some(found);
        }
        "t5" | "t5encoder" => {
            let vocab = keys.dim("token_embd.weight", 0);
            let found = Found::new(
                DetectedKind::TextEncoder,
                DetectedFamily::Flux1,
                Confidence::Medium,
            )
            .detail("T5-XXL")
            .because(fact);
            if vocab == Some(256_384) {
                with_family(found, DetectedFamily::Unknown, Confidence::Medium)
                    .detail("UMT5-XXL")
                    .because("token_embd.weight has 256384 rows: UMT5 (Wan)")
            } else {
                found.because("a T5 encoder: FLUX.1's text encoder")
            }
        }
        _ if kind_of_file == "mmproj"
            || kind_of_file == "clip-vision"
            || keys.any_prefix("v.blk.") =>
        {
            Found::new(
                DetectedKind::Captioner,
                DetectedFamily::Unknown,
                Confidence::High,
            )
            .detail("vision projector (mmproj)")
            .because(fact)
            .because("the vision half of a captioning LLM: load it with its language model")
        }
        "llama"
            if keys.dim("token_embd.weight", 0) == Some(131_072)
                && keys.dim("token_embd.weight", 1) == Some(5120) =>
        {
            Found::new(
                DetectedKind::TextEncoder,
                DetectedFamily::Flux2,
                Confidence::Medium,
            )
            .detail("Mistral Small 3")
            .because(fact)
            .because("token_embd.weight 131072 x 5120: Mistral Small 3, FLUX.2 dev's text encoder")
        }
        _ if keys.has("token_embd.weight") || keys.any_prefix("blk.") => {
            let also = match arch {
                "qwen2vl" => " (Qwen-Image can also load it as its text encoder)",
                "qwen3" => " (Z-Image can also load a Qwen3 4B as its text encoder)",
                _ => "",
            };
            Found::new(
                DetectedKind::Captioner,
                DetectedFamily::Unknown,
                Confidence::High,
            )
            .detail(format!("{arch} language model"))
            .because(fact)
            .because(format!(
                "llama.cpp tensor names (token_embd, blk.N): a language model{also}"
            ))
        }
        _ => return None,
    };
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header from (name, shape) pairs and metadata pairs.
    fn header(format: Format, tensors: &[(&str, &[u64])], meta: &[(&str, &str)]) -> ModelHeader {
        let mut h = ModelHeader::new(format);
        for (name, shape) in tensors {
            h.tensors.insert(name.to_string(), shape.to_vec());
        }
        for (k, v) in meta {
            h.metadata.insert(k.to_string(), v.to_string());
        }
        h
    }

    fn st(tensors: &[(&str, &[u64])]) -> ModelHeader {
        header(Format::Safetensors, tensors, &[])
    }

    const FLUX_BLOCKS: [(&str, &[u64]); 3] = [
        ("double_blocks.0.img_attn.norm.key_norm.scale", &[128]),
        ("img_in.weight", &[3072, 64]),
        ("txt_in.weight", &[3072, 4096]),
    ];

    fn with(
        base: &[(&'static str, &'static [u64])],
        more: &[(&'static str, &'static [u64])],
    ) -> ModelHeader {
        st(&[base, more].concat())
    }

    #[test]
    fn table() {
        use DetectedFamily as F;
        use DetectedKind as K;
        let cases: Vec<(&str, ModelHeader, F, K)> = vec![
            ("flux dev", with(&FLUX_BLOCKS, &[("guidance_in.in_layer.weight", &[3072, 256])]), F::Flux1Dev, K::DiffusionModel),
            ("flux schnell", with(&FLUX_BLOCKS, &[]), F::Flux1Schnell, K::DiffusionModel),
            (
                "flux comfy checkpoint",
                st(&[
                    ("model.diffusion_model.double_blocks.0.img_attn.norm.key_norm.scale", &[128]),
                    ("model.diffusion_model.img_in.weight", &[3072, 64]),
                    ("vae.decoder.conv_in.weight", &[512, 16, 3, 3]),
                    ("text_encoders.t5xxl.transformer.shared.weight", &[32128, 4096]),
                ]),
                F::Flux1Schnell,
                K::Checkpoint,
            ),
            (
                "flux diffusers transformer",
                st(&[
                    ("x_embedder.weight", &[3072, 64]),
                    ("single_transformer_blocks.0.attn.to_k.weight", &[3072, 3072]),
                    ("time_text_embed.guidance_embedder.linear_1.weight", &[3072, 256]),
                ]),
                F::Flux1Dev,
                K::DiffusionModel,
            ),
            (
                "flux2 klein 4b",
                st(&[
                    ("double_stream_modulation_img.lin.weight", &[18432, 3072]),
                    ("img_in.weight", &[3072, 128]),
                    ("txt_in.weight", &[3072, 7680]),
                ]),
                F::Flux2,
                K::DiffusionModel,
            ),
            (
                "sdxl base checkpoint",
                st(&[
                    ("model.diffusion_model.input_blocks.0.0.weight", &[320, 4, 3, 3]),
                    ("first_stage_model.decoder.conv_in.weight", &[512, 4, 3, 3]),
                    ("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", &[49408, 768]),
                    ("conditioner.embedders.1.model.ln_final.bias", &[1280]),
                ]),
                F::SdxlBase,
                K::Checkpoint,
            ),
            (
                "sdxl refiner checkpoint",
                st(&[
                    ("model.diffusion_model.input_blocks.0.0.weight", &[384, 4, 3, 3]),
                    ("first_stage_model.decoder.conv_in.weight", &[512, 4, 3, 3]),
                    ("conditioner.embedders.0.model.ln_final.bias", &[1280]),
                ]),
                F::SdxlRefiner,
                K::Checkpoint,
            ),
            (
                "sdxl unet alone",
                st(&[
                    ("input_blocks.0.0.weight", &[320, 4, 3, 3]),
                    ("input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", &[640, 2048]),
                ]),
                F::SdxlBase,
                K::DiffusionModel,
            ),
            (
                "sd15 checkpoint",
                st(&[
                    ("model.diffusion_model.input_blocks.0.0.weight", &[320, 4, 3, 3]),
                    ("first_stage_model.decoder.conv_in.weight", &[512, 4, 3, 3]),
                    ("cond_stage_model.transformer.text_model.embeddings.position_ids", &[1, 77]),
                ]),
                F::Sd15,
                K::Checkpoint,
            ),
            (
                "qwen image",
                st(&[
                    ("txt_norm.weight", &[3584]),
                    ("img_in.weight", &[3072, 64]),
                    ("txt_in.weight", &[3072, 3584]),
                    ("transformer_blocks.0.img_mlp.net.0.proj.weight", &[12288, 3072]),
                ]),
                F::QwenImage,
                K::DiffusionModel,
            ),
            (
                "z-image",
                st(&[
                    ("cap_embedder.1.weight", &[3840, 2560]),
                    ("layers.0.adaLN_modulation.0.weight", &[15360, 256]),
                ]),
                F::Zimage,
                K::DiffusionModel,
            ),
            ("flux vae", st(&[("decoder.conv_in.weight", &[512, 16, 3, 3]), ("encoder.conv_in.weight", &[128, 3, 3, 3])]), F::Flux1, K::Vae),
            ("flux2 vae", st(&[("decoder.conv_in.weight", &[512, 32, 3, 3]), ("bn.running_mean", &[128])]), F::Flux2, K::Vae),
            ("sdxl vae", st(&[("decoder.conv_in.weight", &[512, 4, 3, 3]), ("post_quant_conv.weight", &[4, 4, 1, 1])]), F::Sdxl, K::Vae),
            ("qwen vae", st(&[("decoder.middle.0.residual.0.gamma", &[384, 1, 1, 1])]), F::QwenImage, K::Vae),
            (
                "kohya sdxl lora",
                st(&[
                    ("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight", &[16, 2048]),
                    ("lora_te1_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight", &[16, 768]),
                ]),
                F::Sdxl,
                K::Lora,
            ),
            (
                "kohya sd15 lora",
                st(&[("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", &[8, 768])]),
                F::Sd15,
                K::Lora,
            ),
            (
                "kohya flux lora",
                st(&[("lora_unet_double_blocks_0_img_attn_proj.lora_down.weight", &[16, 3072])]),
                F::Flux1,
                K::Lora,
            ),
            (
                "diffusers flux lora",
                st(&[("transformer.single_transformer_blocks.0.attn.to_k.lora_A.weight", &[16, 3072])]),
                F::Flux1,
                K::Lora,
            ),
            (
                "ai-toolkit zimage lora",
                st(&[("diffusion_model.layers.0.attention.to_k.lora_A.weight", &[16, 3840])]),
                F::Zimage,
                K::Lora,
            ),
            (
                "qwen lora",
                st(&[("transformer_blocks.0.img_mlp.net.0.proj.lora_A.weight", &[16, 3072])]),
                F::QwenImage,
                K::Lora,
            ),
            (
                "flux2 lora",
                st(&[("diffusion_model.single_transformer_blocks.0.attn.to_qkv_mlp_proj.lora_A.weight", &[16, 3072])]),
                F::Flux2,
                K::Lora,
            ),
            ("clip-l", st(&[("text_model.encoder.layers.0.mlp.fc1.weight", &[3072, 768])]), F::Flux1, K::TextEncoder),
            ("t5xxl", st(&[("encoder.block.0.layer.0.SelfAttention.q.weight", &[4096, 4096]), ("shared.weight", &[32128, 4096])]), F::Flux1, K::TextEncoder),
            (
                "qwen2.5-vl",
                st(&[("model.layers.0.post_attention_layernorm.weight", &[3584]), ("visual.blocks.0.norm1.weight", &[1280])]),
                F::QwenImage,
                K::TextEncoder,
            ),
            (
                "qwen3 4b",
                st(&[("model.layers.0.post_attention_layernorm.weight", &[2560]), ("model.layers.0.self_attn.q_norm.weight", &[128])]),
                F::Zimage,
                K::TextEncoder,
            ),
            ("controlnet", st(&[("control_model.input_blocks.0.0.weight", &[320, 4, 3, 3])]), F::Unknown, K::Adapter),
            ("nothing known", st(&[("foo.weight", &[1])]), F::Unknown, K::Unknown),
            (
                "gguf flux",
                header(
                    Format::Gguf,
                    &[("double_blocks.0.img_attn.norm.key_norm.scale", &[128]), ("img_in.weight", &[3072, 64]), ("guidance_in.in_layer.weight", &[3072, 256])],
                    &[("general.architecture", "flux")],
                ),
                F::Flux1Dev,
                K::DiffusionModel,
            ),
            (
                "gguf captioner",
                header(Format::Gguf, &[("token_embd.weight", &[151936, 3584])], &[("general.architecture", "qwen2vl")]),
                F::Unknown,
                K::Captioner,
            ),
            (
                "gguf t5",
                header(Format::Gguf, &[("enc.blk.0.attn_q.weight", &[4096, 4096])], &[("general.architecture", "t5encoder")]),
                F::Flux1,
                K::TextEncoder,
            ),
            (
                "metadata names the family",
                header(
                    Format::Safetensors,
                    &[("lora_unet_something.lora_down.weight", &[4, 8])],
                    &[("modelspec.architecture", "flux-1-dev/lora")],
                ),
                F::Flux1Dev,
                K::Lora,
            ),
            (
                "metadata alone",
                header(Format::Safetensors, &[("foo", &[1])], &[("ss_base_model_version", "sdxl_base_v1-0")]),
                F::Sdxl,
                K::Lora,
            ),
        ];
        for (what, h, family, kind) in cases {
            let id = identify(&h, "model.safetensors");
            assert_eq!((id.family, id.kind), (family, kind), "{what}: {id:?}");
            assert!(!id.evidence.is_empty(), "{what} has evidence");
        }
    }

    #[test]
    fn evidence_names_the_deciding_tensor() {
        let id = identify(&with(&FLUX_BLOCKS, &[]), "x.safetensors");
        assert!(
            id.evidence.iter().any(|e| e.contains("guidance_in")),
            "{id:?}"
        );
        assert_eq!(id.confidence, Confidence::High);
        let lora = identify(
            &st(&[(
                "lora_unet_double_blocks_0_img_attn_proj.lora_down.weight",
                &[16, 3072],
            )]),
            "x.safetensors",
        );
        assert_eq!(lora.detail.as_deref(), Some("kohya"));
    }

    #[test]
    fn the_file_name_only_breaks_the_four_channel_vae_tie() {
        let vae = st(&[("decoder.conv_in.weight", &[512, 4, 3, 3])]);
        assert_eq!(
            identify(&vae, "sd15-vae.safetensors").family,
            DetectedFamily::Sd15
        );
        assert_eq!(
            identify(&vae, "sdxl_vae.safetensors").family,
            DetectedFamily::Sdxl
        );
        let guess = identify(&vae, "vae.safetensors");
        assert_eq!(guess.confidence, Confidence::Low);
    }
}
