//! The parts around a diffusion model: VAEs, text encoders and adapters (IP-Adapter, ControlNet).

use super::*;

pub(super) fn vae(keys: &Keys, name: &str) -> Option<Found> {
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
pub(super) fn four_channel_vae(found: Found, name: &str) -> Found {
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

pub(super) fn text_encoder(keys: &Keys) -> Option<Found> {
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
pub(super) fn llm_encoder(keys: &Keys) -> Found {
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

pub(super) fn adapter(keys: &Keys) -> Option<Found> {
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
