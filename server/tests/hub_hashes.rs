//! The Hub's published LFS sha256 over real HTTP (fake Hub in `fakes/hub.rs`, which publishes
//! it in the tree and `?blobs=true` info answers and as `X-Linked-Etag`, like the real one): a
//! file already on the volume is hard-linked instead of fetched, for a custom and a built-in
//! model; a download whose bytes differ from the published hash is refused and not installed.

mod common;
mod fakes;

use std::{
    os::unix::fs::MetadataExt,
    time::{Duration, Instant},
};

use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

/// A built-in model whose catalog entry pins no sha256 (the tree API's listing gives it).
const ADAPTER: &str = "zimage-turbo-training-adapter";
const ADAPTER_KEY: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";

async fn server_for(hub: &Hub) -> (common::TestServer, common::api::Api) {
    let server = common::start(&[("HF_ENDPOINT", &hub.base)]).await;
    let api = server.api();
    (server, api)
}

/// Uploads `bytes` as `name` (an adapter); its record.
async fn upload(api: &common::api::Api, name: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = api
        .upload_with(name, bytes, &[("type", "adapter"), ("family", "zimage")])
        .await;
    assert_eq!(status, 201, "{body}");
    body["model"].clone()
}

/// Lists until the background refresh has the built-in's exact size (and so its LFS sha256).
async fn until_listed(api: &common::api::Api, id: &str) {
    let started = Instant::now();
    loop {
        let (_, models) = api.get("/api/models").await;
        let sized = models["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == id && m["sizeBytes"].is_u64());
        if sized {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{id} never listed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn same_inode(a: &std::path::Path, b: &std::path::Path) -> bool {
    std::fs::metadata(a).unwrap().ino() == std::fs::metadata(b).unwrap().ino()
}

#[tokio::test]
async fn a_custom_hub_model_whose_lfs_sha256_is_installed_is_linked_not_downloaded() {
    let hub = hub::start().await;
    let bytes = hub::safetensors(300_000, 41);
    hub.put(
        "hf/acme/dup-lora/lora.safetensors",
        FakeFile::new(bytes.clone()),
    );
    let (server, api) = server_for(&hub).await;
    upload(&api, "mine.safetensors", bytes.clone()).await;

    let (status, added) = api
        .post(
            "/api/models",
            json!({"huggingfaceRepo": "acme/dup-lora", "huggingfaceFiles": ["lora.safetensors"],
                   "type": "adapter", "family": "zimage"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        added["model"]["sizeBytes"],
        bytes.len(),
        "the info answer's LFS size"
    );
    let said = added["alreadyInstalled"].as_str().unwrap_or_default();
    assert!(
        said.starts_with("already installed as mine (adapter/mine.safetensors)"),
        "{added}"
    );

    let job = api
        .finished(&api.start(added["model"]["id"].as_str().unwrap()).await)
        .await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["files"][0]["note"],
        "reused from adapter/mine.safetensors"
    );
    assert_eq!(hub.served(), 0, "the CDN served nothing");
    let (_, list) = api.get("/api/models/installed").await;
    let record = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == job["installedModelId"])
        .unwrap()
        .clone();
    let linked = server
        .models_dir
        .join(record["files"][0]["path"].as_str().unwrap());
    assert!(same_inode(
        &linked,
        &server.models_dir.join("adapter/mine.safetensors")
    ));
}

#[tokio::test]
async fn a_built_in_whose_listed_lfs_sha256_is_installed_is_linked_not_downloaded() {
    let hub = hub::start().await;
    let bytes = hub::safetensors(200_000, 42);
    hub.put(ADAPTER_KEY, FakeFile::new(bytes.clone()));
    let (server, api) = server_for(&hub).await;
    upload(&api, "have.safetensors", bytes.clone()).await;
    until_listed(&api, ADAPTER).await;

    let job = api.finished(&api.start(ADAPTER).await).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["files"][0]["note"],
        "reused from adapter/have.safetensors"
    );
    assert_eq!(hub.served(), 0, "the CDN served nothing");
    let (_, list) = api.get("/api/models/installed").await;
    let installed = list["models"].as_array().unwrap();
    assert_eq!(installed.len(), 2, "{list}");
    assert!(installed
        .iter()
        .all(|m| m["files"][0]["sha256"] == installed[0]["files"][0]["sha256"]));
    let _ = server;
}

#[tokio::test]
async fn a_download_whose_bytes_differ_from_the_listed_lfs_sha256_is_refused() {
    let hub = hub::start().await;
    // The tree API lists one hash, the body has another, and the resolve answer carries no
    // X-Linked-Etag: only the listing can catch it.
    let declared = FakeFile::new(hub::safetensors(150_000, 44)).sha();
    hub.put(
        ADAPTER_KEY,
        FakeFile {
            published_sha: Some(declared.clone()),
            no_linked_etag: true,
            ..FakeFile::new(hub::safetensors(150_000, 43))
        },
    );
    let (server, api) = server_for(&hub).await;
    until_listed(&api, ADAPTER).await;

    let job = api.finished(&api.start(ADAPTER).await).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "integrity_failed", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("does not match its published sha256")
            && message.contains(&format!("expected {declared}")),
        "{message}"
    );
    assert!(hub.served() > 0, "it was downloaded");
    let (_, list) = api.get("/api/models/installed").await;
    assert_eq!(list["models"], json!([]), "nothing installed");
    assert!(
        !server.models_dir.join("adapter").exists()
            || walk(&server.models_dir.join("adapter")).is_empty(),
        "no file in a model folder"
    );
}

#[tokio::test]
async fn a_custom_hub_model_whose_file_changed_on_the_hub_since_it_was_added_installs_the_new_file()
{
    let hub = hub::start().await;
    let key = "hf/acme/retrained/lora.safetensors";
    let first = hub::safetensors(150_000, 47);
    hub.put(key, FakeFile::new(first.clone()));
    let (server, api) = server_for(&hub).await;
    let (status, added) = api
        .post(
            "/api/models",
            json!({"huggingfaceRepo": "acme/retrained", "huggingfaceFiles": ["lora.safetensors"],
                   "type": "lora", "family": "flux"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["model"]["sizeBytes"], first.len());
    // The author pushes a retrained LoRA to main: another size, another LFS sha256.
    let retrained = hub::safetensors(180_000, 48);
    let (new_size, new_sha) = (retrained.len(), FakeFile::new(retrained.clone()).sha());
    hub.put(key, FakeFile::new(retrained));

    let job = api
        .finished(&api.start(added["model"]["id"].as_str().unwrap()).await)
        .await;
    assert_eq!(job["status"], "completed", "{job}");
    let (_, list) = api.get("/api/models/installed").await;
    let file = &list["models"][0]["files"][0];
    assert_eq!(file["sizeBytes"], new_size, "{list}");
    assert_eq!(file["sha256"], new_sha.as_str(), "{list}");
    let on_disk = server.models_dir.join(file["path"].as_str().unwrap());
    assert_eq!(std::fs::metadata(on_disk).unwrap().len(), new_size as u64);
    // The list's card now says the size on the volume, not the one listed at add time.
    let (_, models) = api.get("/api/models").await;
    let card = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == added["model"]["id"])
        .unwrap()
        .clone();
    assert_eq!(card["sizeBytes"], new_size, "{card}");
}

#[tokio::test]
async fn a_custom_hub_model_whose_bytes_differ_from_its_info_lfs_sha256_is_refused() {
    let hub = hub::start().await;
    let declared = FakeFile::new(hub::safetensors(120_000, 46)).sha();
    hub.put(
        "hf/acme/liar/model.safetensors",
        FakeFile {
            published_sha: Some(declared.clone()),
            no_linked_etag: true,
            ..FakeFile::new(hub::safetensors(120_000, 45))
        },
    );
    let (_server, api) = server_for(&hub).await;
    let id = api
        .add_custom(
            json!({"huggingfaceRepo": "acme/liar", "huggingfaceFiles": ["model.safetensors"],
                           "type": "lora", "family": "flux"}),
        )
        .await;
    let job = api.finished(&api.start(&id).await).await;
    assert_eq!(job["status"], "failed", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("expected {declared}")),
        "{message}"
    );
    let (_, list) = api.get("/api/models/installed").await;
    assert_eq!(list["models"], json!([]));
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
