//! Diffusion models and full checkpoints: which transformer or UNet, from key names and shapes.

use super::*;

/// The prefix the diffusion model's keys carry, and whether VAE and text encoders come with it.
pub(super) fn diffusion(keys: &Keys) -> Option<Found> {
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

pub(super) fn diffusion_family(keys: &Keys, p: &str) -> Option<Found> {
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

pub(super) fn flux1(keys: &Keys, p: &str) -> Found {
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

pub(super) fn zimage(keys: &Keys, p: &str) -> Found {
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
pub(super) fn unet(keys: &Keys, p: &str) -> Option<Found> {
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
