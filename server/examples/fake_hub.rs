//! Fake Hugging Face + CivitAI + CDN for the browser tests (`scripts/e2e.sh`): the same fakes
//! the integration tests use, with the files the Playwright flows download. Prints its base URL.
//! Loopback only; not part of the app.

#[path = "../tests/fakes/mod.rs"]
mod fakes;

use std::time::Duration;

use fakes::hub::{self, FakeFile};

#[tokio::main]
async fn main() {
    let slow = |bytes: Vec<u8>, pause_ms: u64| FakeFile {
        throttle: Some(Duration::from_millis(pause_ms)),
        ..FakeFile::new(bytes)
    };
    let civitai_file = FakeFile {
        disposition: Some("dreamshaper_8.safetensors".into()),
        ..slow(hub::safetensors(2 << 20, 3), 5)
    };
    // CivitAI by-hash lookups and previews: end2end/tests/civitai.spec.ts registers answers.
    let meta = fakes::civitai_meta::CivitaiMeta::new();
    let hub = hub::start_with(
        fakes::civitai_with_sha(&civitai_file.sha().to_uppercase()).merge(meta.router()),
    )
    .await;
    // A built-in model (its catalog entry pins no hash; the fake publishes the real one).
    hub.put(
        "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors",
        slow(hub::safetensors(6 << 20, 1), 15),
    );
    // A gated repo, a slow one to cancel, and a public one to add through the form.
    hub.put(
        "hf/acme/gated-e2e/model.safetensors",
        slow(hub::safetensors(2 << 20, 2), 5),
    );
    hub.gate("acme/gated-e2e");
    hub.put(
        "hf/acme/slow-e2e/model.safetensors",
        slow(hub::safetensors(64 << 20, 4), 50),
    );
    // Started "from another server" while the page watches the volume, then cancelled.
    hub.put(
        "hf/acme/volume-e2e/model.safetensors",
        slow(hub::safetensors(64 << 20, 6), 50),
    );
    // Paused and resumed from the downloads panel: about 10 s at full speed.
    hub.put(
        "hf/acme/pausable-e2e/model.safetensors",
        slow(hub::safetensors(32 << 20, 11), 20),
    );
    hub.put(
        "hf/acme/public-e2e/model.safetensors",
        slow(hub::safetensors(3 << 20, 5), 5),
    );
    hub.put("civitai/128713", civitai_file);
    // FLUX.1 dev in the diffusers layout (gated, tiny weights) for the export flow, and a
    // single-file FLUX fine-tune that AI Toolkit cannot train from.
    let flux = "hf/black-forest-labs/FLUX.1-dev";
    for (path, bytes) in [
        (
            "model_index.json",
            br#"{"_class_name": "FluxPipeline"}"#.to_vec(),
        ),
        ("scheduler/scheduler_config.json", b"{}".to_vec()),
        (
            "text_encoder/model.safetensors",
            hub::safetensors(64 << 10, 6),
        ),
        (
            "text_encoder_2/model.safetensors",
            hub::safetensors(64 << 10, 7),
        ),
        ("tokenizer/vocab.json", b"{}".to_vec()),
        ("tokenizer_2/tokenizer_config.json", b"{}".to_vec()),
        (
            "transformer/diffusion_pytorch_model.safetensors",
            hub::safetensors(256 << 10, 8),
        ),
        (
            "vae/diffusion_pytorch_model.safetensors",
            hub::safetensors(64 << 10, 9),
        ),
    ] {
        hub.put(&format!("{flux}/{path}"), FakeFile::new(bytes));
    }
    hub.gate("black-forest-labs/FLUX.1-dev");
    hub.put(
        "hf/acme/flux-single-e2e/model.safetensors",
        FakeFile::new(hub::safetensors(256 << 10, 10)),
    );
    // The container smoke test (scripts/container.sh): slow enough to be stopped mid-way.
    hub.put(
        "hf/acme/container-smoke/model.safetensors",
        slow(hub::safetensors(16 << 20, 6), 10),
    );
    println!("{}", hub.base);
    tokio::signal::ctrl_c().await.ok();
}
