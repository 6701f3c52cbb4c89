//! The content checks against files written by the reference implementations: the Python
//! `gguf` package (llama.cpp's own writer) and the Python `safetensors` package. A file they
//! write is accepted; the same file cut short is refused.

use std::{path::Path, process::Command};

use server::inspect::{validate_file, Format};

/// Runs `script` with `out` as its first argument (scripts/setup.sh installs the packages).
fn python(script: &str, out: &Path) {
    let done = Command::new("python3")
        .args(["-c", script])
        .arg(out)
        .output()
        .expect("python3 runs");
    assert!(
        done.status.success(),
        "the reference writer failed (pip install gguf safetensors):\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// The file with its last `n` bytes gone, as a download that died early leaves it.
fn cut_short(path: &Path, n: u64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len - n).unwrap();
}

#[test]
fn a_gguf_written_by_the_gguf_package_is_accepted_and_refused_when_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-captioner.gguf");
    python(
        r#"
import sys
import numpy as np
import gguf
w = gguf.GGUFWriter(sys.argv[1], "qwen2vl")
w.add_name("tiny captioner")
w.add_context_length(128)
w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "cat"])
w.add_tensor("token_embd.weight", np.ones((3, 8), dtype=np.float32))
w.add_tensor("blk.0.attn_q.weight", np.zeros((8, 8), dtype=np.float16))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
"#,
        &path,
    );
    validate_file(&path, Format::Gguf).expect("a real GGUF is accepted");
    cut_short(&path, 16);
    assert!(
        validate_file(&path, Format::Gguf).is_err(),
        "a GGUF whose tensor data is cut short is refused"
    );
}

#[test]
fn a_safetensors_written_by_the_safetensors_package_is_accepted_and_refused_when_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lora.safetensors");
    python(
        r#"
import sys
import numpy as np
from safetensors.numpy import save_file
save_file(
    {
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": np.ones((4, 32), dtype=np.float16),
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": np.zeros((32, 4), dtype=np.float16),
    },
    sys.argv[1],
    metadata={"ss_network_dim": "4", "modelspec.trigger_phrase": "ohwx"},
)
"#,
        &path,
    );
    validate_file(&path, Format::Safetensors).expect("a real safetensors file is accepted");
    cut_short(&path, 8);
    assert!(
        validate_file(&path, Format::Safetensors).is_err(),
        "a safetensors file whose data is cut short is refused"
    );
}
