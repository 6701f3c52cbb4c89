//! Exact sizes of the catalog's models (and of custom Hugging Face models with folders) from
//! the fake Hub's tree API, over real HTTP: the approximate size until they are known, the
//! exact ones kept in the database, a stale entry refreshed, a repo the Hub lacks left alone.

mod common;
mod fakes;

use std::{
    sync::atomic::Ordering::SeqCst,
    time::{Duration, Instant},
};

use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

const ADAPTER: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";

async fn hub_with_catalog_repos() -> (Hub, u64, u64) {
    let hub = hub::start().await;
    let adapter = FakeFile::new(hub::safetensors(40_000, 1));
    let adapter_size = adapter.bytes.len() as u64;
    hub.put(ADAPTER, adapter);
    let mut folders = 0;
    for (path, n) in [
        ("tokenizer/vocab.json", 100),
        ("text_encoder/model.safetensors", 50_000),
        ("vae/diffusion_pytorch_model.safetensors", 20_000),
        ("transformer/diffusion_pytorch_model.safetensors", 90_000),
    ] {
        let file = FakeFile::new(hub::safetensors(n, 2));
        if !path.starts_with("transformer/") {
            folders += file.bytes.len() as u64;
        }
        hub.put(&format!("hf/Tongyi-MAI/Z-Image-Turbo/{path}"), file);
    }
    (hub, adapter_size, folders)
}

fn model<'a>(models: &'a Value, id: &str) -> &'a Value {
    models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

/// Lists until `id` has an exact size; the list.
async fn until_sized(api: &common::api::Api, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (_, models) = api.get("/api/models").await;
        if model(&models, id)["sizeBytes"].is_u64() {
            return models;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{id} never sized"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_catalog_shows_approximate_sizes_until_the_tree_api_gives_the_exact_ones() {
    let (hub, adapter_size, folders) = hub_with_catalog_repos().await;
    let server = common::start(&[("HF_ENDPOINT", &hub.base)]).await;
    let api = server.api();

    let (_, first) = api.get("/api/models").await;
    let deturbo = model(&first, "zimage-deturbo-v1-bf16");
    assert!(deturbo["sizeBytes"].is_null());
    assert_eq!(deturbo["approxSizeBytes"], 12_305_081_303u64);
    let dev = model(&first, "flux-1-dev");
    assert_eq!(dev["sizeBytes"], 23_802_932_552u64 + 335_304_388);
    assert!(
        dev.get("approxSizeBytes").is_none(),
        "no estimate beside an exact size"
    );

    let models = until_sized(&api, "zimage-turbo-training-adapter").await;
    assert_eq!(
        model(&models, "zimage-turbo-training-adapter")["sizeBytes"],
        adapter_size
    );
    let models = until_sized(&api, "zimage-text-encoder-vae").await;
    let encoder = model(&models, "zimage-text-encoder-vae");
    assert_eq!(
        encoder["sizeBytes"], folders,
        "the three folders, not the transformer"
    );
    assert!(encoder.get("approxSizeBytes").is_none());
    // The Hub has no Z-Image De-Turbo here: the estimate stays, and it is not asked again at
    // every list.
    let deturbo = model(&models, "zimage-deturbo-v1-bf16");
    assert!(deturbo["sizeBytes"].is_null());
    assert_eq!(deturbo["approxSizeBytes"], 12_305_081_303u64);
    // Once the round is over (the listings stop), lists ask nothing more.
    let mut listings = hub.state.trees.load(SeqCst);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = hub.state.trees.load(SeqCst);
        if now == listings {
            break;
        }
        listings = now;
    }
    for _ in 0..3 {
        api.get("/api/models").await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hub.state.trees.load(SeqCst), listings, "no new round");

    // Kept in the database with the LFS sha256.
    let db: Value = serde_json::from_slice(
        &std::fs::read(server.models_dir.join("installed-models.json")).unwrap(),
    )
    .unwrap();
    let kept = &db["knownSizes"]["zimage-turbo-training-adapter"];
    assert_eq!(kept["files"][0]["sizeBytes"], adapter_size);
    assert_eq!(kept["files"][0]["sha256"].as_str().unwrap().len(), 64);
    assert!(kept["checkedAtSecs"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_stale_size_is_shown_until_the_refresh_replaces_it() {
    let (hub, adapter_size, _) = hub_with_catalog_repos().await;
    let dir = tempfile::tempdir().unwrap();
    let models_dir = dir.path().join("models");
    std::fs::create_dir_all(&models_dir).unwrap();
    let stale = json!({
        "schemaVersion": 4,
        "knownSizes": {"zimage-turbo-training-adapter": {
            "repo": "ostris/zimage_turbo_training_adapter", "revision": "main",
            "files": [{"path": "zimage_turbo_training_adapter_v2.safetensors", "sizeBytes": 7}],
            "checkedAtSecs": 1
        }}
    });
    std::fs::write(
        models_dir.join("installed-models.json"),
        serde_json::to_vec(&stale).unwrap(),
    )
    .unwrap();
    let dir_str = models_dir.display().to_string();
    let server = common::start(&[("HF_ENDPOINT", &hub.base), ("MODELS_DIR", &dir_str)]).await;
    let api = server.api();
    let (_, first) = api.get("/api/models").await;
    assert_eq!(
        model(&first, "zimage-turbo-training-adapter")["sizeBytes"],
        7
    );
    let started = Instant::now();
    loop {
        let (_, models) = api.get("/api/models").await;
        if model(&models, "zimage-turbo-training-adapter")["sizeBytes"] == adapter_size {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never refreshed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_custom_hub_model_with_a_folder_gets_its_size() {
    let (hub, _, _) = hub_with_catalog_repos().await;
    let server = common::start(&[("HF_ENDPOINT", &hub.base)]).await;
    let api = server.api();
    let id = api
        .add_custom(json!({
            "huggingfaceRepo": "Tongyi-MAI/Z-Image-Turbo",
            "huggingfaceFiles": ["transformer/"],
            "name": "Z transformer", "type": "base_model", "family": "zimage",
        }))
        .await;
    let models = until_sized(&api, &id).await;
    let size = model(&models, &id)["sizeBytes"].as_u64().unwrap();
    assert_eq!(size, hub::safetensors(90_000, 2).len() as u64);
}
