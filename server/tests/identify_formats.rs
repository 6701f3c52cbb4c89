//! Identification of files written by the reference implementations (Python `safetensors` and
//! `gguf`), with the real key names of each family and type and the real shapes of the tensors
//! whose shape decides. Other tensors are tiny: only the header is read.

use std::{path::Path, process::Command};

use serde_json::{json, Value};
use server::inspect::identify_file;

/// Writes every file of `specs` into `dir` with the reference writers. Each spec is
/// `{file, tensors: {name: shape}, metadata: {k: v}, arch?}`; `.gguf` files get `arch` as
/// `general.architecture` and every metadata entry as a string KV.
fn write_files(dir: &Path, specs: &Value) {
    let script = r#"
import json, os, sys
import numpy as np
import gguf
from safetensors.numpy import save_file
out, specs = sys.argv[1], json.loads(sys.argv[2])
for spec in specs:
    path = os.path.join(out, spec["file"])
    tensors = {k: np.zeros(v, dtype=np.int8) for k, v in spec["tensors"].items()}
    meta = spec.get("metadata", {})
    if path.endswith(".gguf"):
        w = gguf.GGUFWriter(path, spec["arch"])
        for k, v in meta.items():
            w.add_string(k, v)
        for k, t in tensors.items():
            w.add_tensor(k, t.astype(np.float32) if t.ndim == 1 else t.astype(np.float16))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    else:
        save_file(tensors, path, metadata=meta or None)
"#;
    let done = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .arg(specs.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        done.status.success(),
        "the reference writers failed (pip install gguf safetensors):\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// (file, tensors, metadata, GGUF architecture, expected family, expected kind, expected detail).
struct Case {
    file: &'static str,
    tensors: Value,
    metadata: Value,
    arch: &'static str,
    family: &'static str,
    kind: &'static str,
    detail: Option<&'static str>,
}

fn case(file: &'static str, tensors: Value, family: &'static str, kind: &'static str) -> Case {
    Case {
        file,
        tensors,
        metadata: json!({}),
        arch: "",
        family,
        kind,
        detail: None,
    }
}

impl Case {
    fn meta(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }
    fn arch(mut self, arch: &'static str) -> Self {
        self.arch = arch;
        self
    }
    fn detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// The FLUX.1 transformer's keys (BFL names), under `prefix`.
fn flux1(prefix: &str, dev: bool) -> Value {
    let mut t = json!({
        format!("{prefix}double_blocks.0.img_attn.norm.key_norm.scale"): [128],
        format!("{prefix}double_blocks.0.img_attn.qkv.weight"): [9, 3],
        format!("{prefix}single_blocks.37.linear2.weight"): [3, 15],
        format!("{prefix}img_in.weight"): [3072, 64],
        format!("{prefix}vector_in.in_layer.weight"): [3, 768],
        format!("{prefix}final_layer.linear.weight"): [64, 3],
    });
    if dev {
        t[format!("{prefix}guidance_in.in_layer.weight")] = json!([3072, 256]);
    }
    t
}

fn merge(mut a: Value, b: Value) -> Value {
    a.as_object_mut()
        .unwrap()
        .extend(b.as_object().unwrap().clone());
    a
}

fn cases() -> Vec<Case> {
    vec![
        // FLUX.1 dev vs schnell: the guidance embedding.
        case("flux1-dev.safetensors", flux1("", true), "flux1_dev", "diffusion_model"),
        case("flux1-schnell.safetensors", flux1("", false), "flux1_schnell", "diffusion_model"),
        case("flux1-dev-Q4_0.gguf", flux1("", true), "flux1_dev", "diffusion_model").arch("flux"),
        case(
            "flux1-schnell-fp8.safetensors",
            merge(
                flux1("model.diffusion_model.", false),
                json!({
                    "vae.decoder.conv_in.weight": [512, 16, 3, 3],
                    "text_encoders.clip_l.transformer.text_model.final_layer_norm.weight": [768],
                    "text_encoders.t5xxl.transformer.encoder.final_layer_norm.weight": [4096],
                }),
            ),
            "flux1_schnell",
            "checkpoint",
        ),
        case(
            "flux1-dev-diffusers.safetensors",
            json!({
                "x_embedder.weight": [3072, 64],
                "context_embedder.weight": [3, 4096],
                "single_transformer_blocks.0.attn.to_k.weight": [3, 3],
                "transformer_blocks.0.attn.add_k_proj.weight": [3, 3],
                "time_text_embed.guidance_embedder.linear_1.weight": [3072, 256],
            }),
            "flux1_dev",
            "diffusion_model",
        ),
        case(
            "flux2-klein-4b.safetensors",
            json!({
                "double_stream_modulation_img.lin.weight": [18, 3],
                "single_stream_modulation.lin.weight": [9, 3],
                "double_blocks.0.img_attn.norm.key_norm.scale": [128],
                "img_in.weight": [3072, 128],
            }),
            "flux2",
            "diffusion_model",
        ),
        // SDXL base vs refiner: the bundled text encoders and the cross-attention width.
        case(
            "sd_xl_base_1.0.safetensors",
            json!({
                "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
                "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": [640, 2048],
                "model.diffusion_model.label_emb.0.0.weight": [1280, 2816],
                "first_stage_model.decoder.conv_in.weight": [512, 4, 3, 3],
                "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight": [768],
                "conditioner.embedders.1.model.ln_final.bias": [1280],
            }),
            "sdxl_base",
            "checkpoint",
        ),
        case(
            "sd_xl_refiner_1.0.safetensors",
            json!({
                "model.diffusion_model.input_blocks.0.0.weight": [384, 4, 3, 3],
                "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": [768, 1280],
                "model.diffusion_model.label_emb.0.0.weight": [1536, 2560],
                "first_stage_model.decoder.conv_in.weight": [512, 4, 3, 3],
                "conditioner.embedders.0.model.ln_final.bias": [1280],
            }),
            "sdxl_refiner",
            "checkpoint",
        ),
        case(
            "sdxl-unet.safetensors",
            json!({
                "input_blocks.0.0.weight": [320, 4, 3, 3],
                "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": [640, 2048],
            }),
            "sdxl_base",
            "diffusion_model",
        ),
        case(
            "v1-5-pruned-emaonly.safetensors",
            json!({
                "model.diffusion_model.input_blocks.0.0.weight": [320, 4, 3, 3],
                "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": [320, 768],
                "first_stage_model.decoder.conv_in.weight": [512, 4, 3, 3],
                "cond_stage_model.transformer.text_model.embeddings.position_ids": [1, 77],
            }),
            "sd15",
            "checkpoint",
        ),
        case(
            "qwen_image_bf16.safetensors",
            json!({
                "txt_norm.weight": [3584],
                "img_in.weight": [3072, 64],
                "txt_in.weight": [3, 3584],
                "time_text_embed.timestep_embedder.linear_1.weight": [3, 256],
                "transformer_blocks.59.attn.add_k_proj.weight": [3, 3],
                "transformer_blocks.0.img_mlp.net.0.proj.weight": [12, 3],
            }),
            "qwen_image",
            "diffusion_model",
        ),
        case(
            "qwen-image-Q4_K_M.gguf",
            json!({
                "txt_norm.weight": [3584],
                "img_in.weight": [3072, 64],
                "transformer_blocks.0.img_mlp.net.0.proj.weight": [12, 32],
            }),
            "qwen_image",
            "diffusion_model",
        )
        .arch("qwen_image"),
        case(
            "z_image_turbo_bf16.safetensors",
            json!({
                "cap_embedder.0.weight": [2560],
                "cap_embedder.1.weight": [3840, 2560],
                "context_refiner.0.attention.k_norm.weight": [128],
                "noise_refiner.0.attention.k_norm.weight": [128],
                "layers.0.adaLN_modulation.0.weight": [15, 2],
                "layers.0.attention.qkv.weight": [9, 3],
                "x_pad_token": [1, 3840],
            }),
            "zimage",
            "diffusion_model",
        ),
        case(
            "z-image-turbo-Q8_0.gguf",
            json!({
                "cap_embedder.1.weight": [3840, 2560],
                "context_refiner.0.attention.qkv.weight": [9, 32],
            }),
            "zimage",
            "diffusion_model",
        )
        .arch("lumina2"),
        // FLUX VAE vs SDXL VAE: 16 vs 4 latent channels.
        case(
            "ae.safetensors",
            json!({
                "decoder.conv_in.weight": [512, 16, 3, 3],
                "encoder.conv_in.weight": [128, 3, 3, 3],
                "encoder.conv_out.weight": [32, 512, 3, 3],
            }),
            "flux1",
            "vae",
        )
        .detail("16 latent channels"),
        case(
            "sdxl_vae.safetensors",
            json!({
                "decoder.conv_in.weight": [512, 4, 3, 3],
                "encoder.conv_in.weight": [128, 3, 3, 3],
                "post_quant_conv.weight": [4, 4, 1, 1],
                "quant_conv.weight": [8, 8, 1, 1],
            }),
            "sdxl",
            "vae",
        )
        .detail("4 latent channels"),
        case(
            "flux2-vae.safetensors",
            json!({
                "decoder.conv_in.weight": [512, 32, 3, 3],
                "bn.running_mean": [128],
                "bn.running_var": [128],
            }),
            "flux2",
            "vae",
        ),
        case(
            "qwen_image_vae.safetensors",
            json!({
                "decoder.middle.0.residual.0.gamma": [384, 1, 1, 1],
                "decoder.conv1.weight": [384, 16, 3, 3, 3],
            }),
            "qwen_image",
            "vae",
        ),
        // kohya vs diffusers LoRAs, per family.
        case(
            "sdxl-kohya-lora.safetensors",
            json!({
                "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight": [16, 2048],
                "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight": [640, 16],
                "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.alpha": [],
                "lora_te1_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight": [16, 768],
                "lora_te2_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight": [16, 1280],
            }),
            "sdxl",
            "lora",
        )
        .meta(json!({"ss_network_module": "networks.lora", "ss_network_dim": "16"}))
        .detail("kohya"),
        case(
            "sdxl-diffusers-lora.safetensors",
            json!({
                "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": [16, 2048],
                "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight": [640, 16],
            }),
            "sdxl",
            "lora",
        )
        .detail("diffusers / PEFT"),
        case(
            "sd15-kohya-lora.safetensors",
            json!({
                "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": [8, 768],
                "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": [320, 8],
                "lora_te_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight": [8, 768],
            }),
            "sd15",
            "lora",
        )
        .detail("kohya"),
        case(
            "flux-kohya-lora.safetensors",
            json!({
                "lora_unet_double_blocks_0_img_attn_proj.lora_down.weight": [16, 3072],
                "lora_unet_double_blocks_0_img_attn_proj.lora_up.weight": [3072, 16],
                "lora_unet_single_blocks_0_linear1.lora_down.weight": [16, 3072],
            }),
            "flux1",
            "lora",
        )
        .meta(json!({"ss_network_module": "networks.lora_flux"}))
        .detail("kohya"),
        case(
            "flux-diffusers-lora.safetensors",
            json!({
                "transformer.single_transformer_blocks.0.attn.to_k.lora_A.weight": [16, 3072],
                "transformer.single_transformer_blocks.0.attn.to_k.lora_B.weight": [3072, 16],
                "transformer.transformer_blocks.0.attn.add_k_proj.lora_A.weight": [16, 3072],
            }),
            "flux1",
            "lora",
        )
        .detail("diffusers / PEFT"),
        case(
            "flux-ai-toolkit-lora.safetensors",
            json!({
                "diffusion_model.double_blocks.0.img_attn.proj.lora_A.weight": [16, 3072],
                "diffusion_model.double_blocks.0.img_attn.proj.lora_B.weight": [3072, 16],
            }),
            "flux1_dev",
            "lora",
        )
        .meta(json!({
            "software": "{\"name\": \"ai-toolkit\", \"repo\": \"https://github.com/ostris/ai-toolkit\", \"version\": \"0.1.0\"}",
            "modelspec.architecture": "flux-1-dev/lora",
            "ss_tag_frequency": "{\"1_ohwx\": {\"ohwx\": 1}}",
        }))
        .detail("ai-toolkit"),
        case(
            "flux2-lora.safetensors",
            json!({
                "diffusion_model.single_transformer_blocks.0.attn.to_qkv_mlp_proj.lora_A.weight": [16, 3072],
                "diffusion_model.double_stream_modulation_img.linear.lora_A.weight": [16, 3072],
            }),
            "flux2",
            "lora",
        ),
        case(
            "zimage-lora.safetensors",
            json!({
                "diffusion_model.layers.0.attention.to_k.lora_A.weight": [16, 3840],
                "diffusion_model.layers.0.attention.to_k.lora_B.weight": [3840, 16],
            }),
            "zimage",
            "lora",
        ),
        case(
            "qwen-image-lora.safetensors",
            json!({
                "transformer_blocks.0.img_mlp.net.0.proj.lora_A.weight": [16, 3072],
                "transformer_blocks.0.attn.add_k_proj.lora_A.weight": [16, 3072],
            }),
            "qwen_image",
            "lora",
        ),
        case(
            "flux-lokr.safetensors",
            json!({
                "lycoris_single_blocks_0_linear1.lokr_w1": [4, 4],
                "lycoris_single_blocks_0_linear1.lokr_w2": [8, 8],
            }),
            "flux1",
            "lora",
        )
        .detail("LyCORIS"),
        // Text encoders.
        case(
            "clip_l.safetensors",
            json!({
                "text_model.encoder.layers.0.mlp.fc1.weight": [3, 768],
                "text_model.final_layer_norm.weight": [768],
            }),
            "flux1",
            "text_encoder",
        )
        .detail("CLIP-L"),
        case(
            "clip_g.safetensors",
            json!({
                "text_model.encoder.layers.31.mlp.fc1.weight": [5, 1280],
                "text_model.final_layer_norm.weight": [1280],
            }),
            "sdxl",
            "text_encoder",
        ),
        case(
            "t5xxl_fp16.safetensors",
            json!({
                "encoder.block.23.layer.1.DenseReluDense.wi_1.weight": [10, 4],
                "encoder.final_layer_norm.weight": [4096],
            }),
            "flux1",
            "text_encoder",
        )
        .detail("T5-XXL"),
        case(
            "t5-v1_1-xxl-encoder-Q5_K_M.gguf",
            json!({"enc.blk.0.attn_q.weight": [32, 32], "enc.output_norm.weight": [4096]}),
            "flux1",
            "text_encoder",
        )
        .arch("t5encoder"),
        case(
            "qwen_2.5_vl_7b.safetensors",
            json!({
                "model.layers.0.post_attention_layernorm.weight": [3584],
                "model.layers.0.self_attn.k_proj.bias": [512],
                "visual.blocks.0.norm1.weight": [1280],
            }),
            "qwen_image",
            "text_encoder",
        ),
        case(
            "qwen_3_4b.safetensors",
            json!({
                "model.layers.0.post_attention_layernorm.weight": [2560],
                "model.layers.0.self_attn.q_norm.weight": [128],
            }),
            "zimage",
            "text_encoder",
        ),
        // Adapters and captioners.
        case(
            "controlnet-canny-sdxl.safetensors",
            json!({
                "controlnet_cond_embedding.conv_in.weight": [16, 3, 3, 3],
                "controlnet_down_blocks.0.weight": [320, 320, 1, 1],
                "add_embedding.linear_1.weight": [1280, 2816],
            }),
            "sdxl",
            "adapter",
        ),
        case(
            "joycaption-Q4_K_M.gguf",
            json!({"token_embd.weight": [16, 32], "blk.0.attn_q.weight": [32, 32]}),
            "unknown",
            "captioner",
        )
        .arch("llama"),
        case(
            "mmproj-qwen2vl-f16.gguf",
            json!({"v.blk.0.attn_q.weight": [32, 32]}),
            "unknown",
            "captioner",
        )
        .arch("clip")
        .meta(json!({"general.type": "mmproj"})),
    ]
}

#[test]
fn every_family_and_type_written_by_the_reference_libraries_is_identified() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let specs: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({"file": c.file, "tensors": c.tensors, "metadata": c.metadata, "arch": c.arch})
        })
        .collect();
    write_files(dir.path(), &Value::Array(specs));
    let mut failures = Vec::new();
    for case in &cases {
        let id = identify_file(&dir.path().join(case.file), case.file).expect("a model file");
        let json = serde_json::to_value(&id).unwrap();
        let got = (
            json["family"].as_str().unwrap(),
            json["kind"].as_str().unwrap(),
        );
        if got != (case.family, case.kind)
            || case.detail.is_some_and(|d| id.detail.as_deref() != Some(d))
            || id.evidence.is_empty()
        {
            failures.push(format!(
                "{}: expected {} {} {:?}, got {json}",
                case.file, case.family, case.kind, case.detail
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn trigger_words_come_from_the_loras_own_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let lora = json!({"lora_unet_single_blocks_0_linear1.lora_down.weight": [4, 3072]});
    let specs = json!([
        {"file": "ai-toolkit.safetensors", "tensors": lora,
         "metadata": {"ss_tag_frequency": "{\"1_sks dog\": {\"sks dog\": 1}}"}},
        {"file": "modelspec.safetensors", "tensors": lora,
         "metadata": {"modelspec.trigger_phrase": "ohwx, watercolor", "ss_tag_frequency": "{\"1_x\": {\"x\": 5}}"}},
        {"file": "none.safetensors", "tensors": lora},
    ]);
    write_files(dir.path(), &specs);
    let words = |file: &str| {
        identify_file(&dir.path().join(file), file)
            .unwrap()
            .trigger_words
    };
    assert_eq!(words("ai-toolkit.safetensors"), ["sks dog"]);
    assert_eq!(words("modelspec.safetensors"), ["ohwx", "watercolor"]);
    assert!(words("none.safetensors").is_empty());
}

#[test]
fn close_pairs_say_what_decided_them() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = [
        case("dev.safetensors", flux1("", true), "", ""),
        case("schnell.safetensors", flux1("", false), "", ""),
    ];
    let specs: Vec<Value> = pairs
        .iter()
        .map(|c| json!({"file": c.file, "tensors": c.tensors}))
        .collect();
    write_files(dir.path(), &Value::Array(specs));
    for file in ["dev.safetensors", "schnell.safetensors"] {
        let id = identify_file(&dir.path().join(file), file).unwrap();
        assert!(
            id.evidence.iter().any(|e| e.contains("guidance_in")),
            "{file}: {id:?}"
        );
        assert_eq!(
            serde_json::to_value(id.confidence).unwrap(),
            "high",
            "{file}"
        );
    }
}

#[test]
fn pytorch_pickles_and_broken_headers_are_unknown_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pickle = dir.path().join("model.ckpt");
    std::fs::write(&pickle, b"\x80\x02}q\x00.").unwrap();
    let id = identify_file(&pickle, "model.ckpt").unwrap();
    assert!(id.evidence[0].contains("never opened"), "{id:?}");
    let broken = dir.path().join("broken.safetensors");
    std::fs::write(&broken, 5000u64.to_le_bytes()).unwrap();
    let id = identify_file(&broken, "broken.safetensors").unwrap();
    assert!(id.evidence[0].contains("cannot be read"), "{id:?}");
    assert!(identify_file(&broken, "config.json").is_none());
}
