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
