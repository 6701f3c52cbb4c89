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
    // The downloads panel (end2end/tests/downloads-panel.spec.ts): two long downloads to tab
    // around, a quick one that completes, one whose published hash is wrong (it fails), and
    // one whose host stops sending after 1 MiB (retrying).
    for (name, seed) in [("panel-a-e2e", 21), ("panel-b-e2e", 22)] {
        hub.put(
            &format!("hf/acme/{name}/model.safetensors"),
            slow(hub::safetensors(64 << 20, seed), 400),
        );
    }
    hub.put(
        "hf/acme/quick-e2e/model.safetensors",
        slow(hub::safetensors(1 << 20, 23), 200),
    );
    hub.put(
        "hf/acme/broken-e2e/model.safetensors",
        FakeFile {
            published_sha: Some("0".repeat(64)),
            ..slow(hub::safetensors(1 << 20, 24), 200)
        },
    );
    hub.put(
        "hf/acme/stall-e2e/model.safetensors",
        FakeFile {
            stall_at: Some(1 << 20),
            ..slow(hub::safetensors(8 << 20, 25), 5)
        },
    );
    hub.put(
        "hf/acme/public-e2e/model.safetensors",
        slow(hub::safetensors(3 << 20, 5), 5),
    );
    // Found by the Add tab's search (end2end/tests/search.spec.ts): a Hub LoRA whose README is
    // not preselected, and CivitAI's "Ink Sketch" (same bytes as DreamShaper: one published sha).
    hub.put(
        "hf/acme/ink-flux-lora-e2e/ink-flux-lora-e2e.safetensors",
        slow(hub::safetensors(2 << 20, 12), 5),
    );
    hub.put(
        "hf/acme/ink-flux-lora-e2e/README.md",
        FakeFile::new(b"# ink".to_vec()),
    );
    hub.put(
        "civitai/5001",
        FakeFile {
            disposition: Some("ink_sketch.safetensors".into()),
            ..civitai_file.clone()
        },
    );
    hub.put("civitai/128713", civitai_file);
    // Enough repos for a second page of Hub search results (20 a page).
    for i in 0..12u8 {
        hub.put(
            &format!("hf/acme/filler-{i:02}/model.safetensors"),
            FakeFile::new(hub::safetensors(1024, i)),
        );
    }
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
