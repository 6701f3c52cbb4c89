//! LoRA and LyCORIS files: the adapter format, and the base family from widths and block names.

use super::*;

/// The key that marks a LoRA / LyCORIS file, if any.
pub(super) fn lora_marker(keys: &Keys) -> Option<String> {
    keys.first(|k| k.starts_with("lora_") && !k.starts_with("lora_controlnet"))
        .or_else(|| keys.first(|k| LORA_SUFFIXES.iter().any(|s| k.ends_with(s))))
        .map(str::to_string)
}

// ---------------------------------------------------------------------------------------------
// LoRAs

pub(super) fn lora(keys: &Keys, marker: &str) -> Found {
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
/// Who wrote the LoRA, from its key names and metadata.
pub(super) fn lora_format(keys: &Keys) -> &'static str {
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
pub(super) fn flux_lora_context_width(keys: &Keys) -> Option<u64> {
    let key = keys.first(|k| {
        (k.contains("txt_in") || k.contains("context_embedder"))
            && (k.ends_with("lora_A.weight") || k.ends_with("lora_down.weight"))
    })?;
    keys.dim(key, 1)
}

/// SD 1.5 vs SDXL LoRAs: the cross-attention width (768 vs 2048), else SDXL's two text
/// encoders or its deeper transformer blocks (InvokeAI's `lora_token_vector_length`).
pub(super) fn sd_lora_family(keys: &Keys, flat: &[String], base: Found) -> Found {
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
