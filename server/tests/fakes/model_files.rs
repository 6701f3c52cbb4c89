//! Model files with the real key names of their family and type, written by Hugging Face's
//! `safetensors` crate; only the tensors whose shape decides have real shapes.

use std::collections::HashMap;

/// A kohya FLUX.1 LoRA as the Hugging Face `safetensors` crate writes it (real key names).
pub fn flux_kohya_lora() -> Vec<u8> {
    safetensors_file(&[
        (
            "lora_unet_double_blocks_0_img_attn_proj.lora_down.weight",
            vec![4, 3072],
        ),
        (
            "lora_unet_double_blocks_0_img_attn_proj.lora_up.weight",
            vec![3072, 4],
        ),
        ("lora_unet_double_blocks_0_img_attn_proj.alpha", vec![]),
    ])
}

/// The FLUX.1 autoencoder's deciding tensors: 16 latent channels.
pub fn flux_vae() -> Vec<u8> {
    safetensors_file(&[
        ("decoder.conv_in.weight", vec![512, 16, 3, 3]),
        ("encoder.conv_in.weight", vec![128, 3, 3, 3]),
    ])
}

pub fn safetensors_file(tensors: &[(&str, Vec<usize>)]) -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let data: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, shape)| vec![0u8; shape.iter().product::<usize>() * 2])
        .collect();
    let views: HashMap<String, TensorView> = tensors
        .iter()
        .zip(&data)
        .map(|((name, shape), bytes)| {
            (
                name.to_string(),
                TensorView::new(Dtype::F16, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

/// An SDXL base checkpoint's deciding keys (bundled VAE and both text encoders).
pub fn sdxl_checkpoint() -> Vec<u8> {
    safetensors_file(&[
        (
            "model.diffusion_model.input_blocks.0.0.weight",
            vec![320, 4, 3, 3],
        ),
        (
            "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight",
            vec![640, 2048],
        ),
        (
            "first_stage_model.decoder.conv_in.weight",
            vec![512, 4, 3, 3],
        ),
        (
            "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight",
            vec![768],
        ),
        ("conditioner.embedders.1.model.ln_final.bias", vec![1280]),
    ])
}
