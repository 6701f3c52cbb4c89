//! Hub downloads are visible to Hugging Face tools: the reference client, Python
//! `huggingface_hub`, offline and pointed at our `HF_HOME`, finds our bytes by repo id, for a
//! single file and for a diffusers folder; deleting the model takes them out of its cache.

mod common;
mod fakes;

use std::{path::Path, process::Command};

use common::api::Api;
use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

struct Env {
    hub: Hub,
    server: common::TestServer,
    api: Api,
}

async fn env() -> Env {
    let hub = hub::start().await;
    let server = common::start(&[
        ("HF_ENDPOINT", hub.base.as_str()),
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "50"),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ])
    .await;
    let api = server.api();
    Env { hub, server, api }
}

impl Env {
    /// Adds a custom Hugging Face model, downloads it and returns its installed record id.
    async fn install(&self, repo: &str, files: &[&str]) -> String {
        self.install_as(repo, repo, files).await
    }

    /// As `install`, under the custom model name `name`.
    async fn install_as(&self, name: &str, repo: &str, files: &[&str]) -> String {
        let model = self
            .api
            .add_custom(json!({
                "name": name, "huggingfaceRepo": repo, "huggingfaceFiles": files, "family": "flux", "type": "base_model"
            }))
            .await;
        self.api.install(&model).await
    }

    fn hf_home(&self) -> std::path::PathBuf {
        self.server.models_dir.join(".huggingface")
    }
}

/// Runs `script` with huggingface_hub, offline, on our `HF_HOME`; its stdout as JSON.
fn huggingface_hub(hf_home: &Path, script: &str) -> Value {
    let out = Command::new("python3")
        .args(["-c", script])
        .env("HF_HOME", hf_home)
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .output()
        .expect("python3 runs (scripts/setup.sh installs huggingface_hub)");
    assert!(
        out.status.success(),
        "huggingface_hub failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn huggingface_hub_finds_a_downloaded_file_offline_and_loses_it_with_the_model() {
    let env = env().await;
    let weights = hub::safetensors(256 << 10, 3);
    env.hub.put(
        "hf/acme/single/model.safetensors",
        FakeFile::new(weights.clone()),
    );
    let installed = env.install("acme/single", &["model.safetensors"]).await;

    let found = huggingface_hub(
        &env.hf_home(),
        r#"
import json
from huggingface_hub import hf_hub_download
path = hf_hub_download("acme/single", "model.safetensors")
print(json.dumps({"path": path, "bytes": list(open(path, "rb").read(64))}))
"#,
    );
    let path = found["path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), weights, "{path}");
    // A link to the installed file, not a second copy on the volume.
    let real = std::fs::canonicalize(path).unwrap();
    assert!(
        real.starts_with(
            std::fs::canonicalize(&env.server.models_dir)
                .unwrap()
                .join("flux")
        ),
        "{}",
        real.display()
    );

    let (status, answer) = env
        .api
        .delete(&format!("/api/models/installed?id={installed}"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        !env.hf_home().join("hub/models--acme--single").exists(),
        "the cache still lists a deleted model"
    );
}

#[tokio::test]
async fn snapshot_download_finds_a_diffusers_folder_offline() {
    let env = env().await;
    let parts = [
        (
            "model_index.json",
            br#"{"_class_name": "FluxPipeline"}"#.to_vec(),
        ),
        (
            "transformer/diffusion_pytorch_model.safetensors",
            hub::safetensors(128 << 10, 5),
        ),
        ("vae/config.json", br#"{"latent_channels": 16}"#.to_vec()),
        (
            "vae/diffusion_pytorch_model.safetensors",
            hub::safetensors(64 << 10, 6),
        ),
    ];
    for (path, bytes) in &parts {
        env.hub.put(
            &format!("hf/acme/pipe/{path}"),
            FakeFile::new(bytes.clone()),
        );
    }
    env.install("acme/pipe", &["model_index.json", "transformer/", "vae/"])
        .await;

    let found = huggingface_hub(
        &env.hf_home(),
        r#"
import json, os
from huggingface_hub import snapshot_download
root = snapshot_download("acme/pipe")
files = {}
for folder, _, names in os.walk(root):
    for name in names:
        path = os.path.join(folder, name)
        files[os.path.relpath(path, root)] = path
print(json.dumps(files))
"#,
    );
    let found = found.as_object().unwrap();
    assert_eq!(found.len(), parts.len(), "{found:?}");
    for (path, bytes) in &parts {
        let at = found[*path].as_str().unwrap();
        assert_eq!(&std::fs::read(at).unwrap(), bytes, "{path}");
    }
}

/// Two models hold the same Hub file; deleting the one the cache points at must not take the
/// file away from huggingface_hub while the other is still installed.
#[tokio::test]
async fn deleting_one_of_two_copies_keeps_the_file_in_the_cache() {
    let env = env().await;
    let weights = hub::safetensors(64 << 10, 4);
    env.hub.put(
        "hf/acme/shared/model.safetensors",
        FakeFile::new(weights.clone()),
    );
    // Two models that share a file (the same source twice is refused at add time, so the
    // second also takes the repo's config).
    env.hub.put(
        "hf/acme/shared/config.json",
        FakeFile::new(br#"{"_class_name": "FluxTransformer2DModel"}"#.to_vec()),
    );
    let first = env
        .install_as("Shared A", "acme/shared", &["model.safetensors"])
        .await;
    let second = env
        .install_as(
            "Shared B",
            "acme/shared",
            &["model.safetensors", "config.json"],
        )
        .await;
    let (status, answer) = env
        .api
        .delete(&format!("/api/models/installed?id={second}"))
        .await;
    assert_eq!(status, 200, "{answer}");

    let found = huggingface_hub(
        &env.hf_home(),
        r#"
import json
from huggingface_hub import hf_hub_download
print(json.dumps({"path": hf_hub_download("acme/shared", "model.safetensors")}))
"#,
    );
    let path = found["path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), weights);
    let (_, installed) = env.api.get("/api/models/installed").await;
    assert!(installed.to_string().contains(&first), "{installed}");
}
