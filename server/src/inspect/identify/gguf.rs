//! GGUF files: the architecture its metadata declares (diffusion models, LLM captioners).

use super::*;

/// GGUF files: `general.architecture` first (city96's converter, llama.cpp), tensor names after.
pub(super) fn gguf(keys: &Keys) -> Option<Found> {
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
