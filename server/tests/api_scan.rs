//! The volume scan, adopting what it finds and missing models, over real HTTP.

mod common;
mod fakes;

use std::{path::Path, time::Duration};

use fakes::{
    hub::{self, FakeFile},
    model_files::{flux_kohya_lora, flux_vae, sdxl_checkpoint},
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Starts a scan and waits until it is done; the final status.
async fn scan(api: &common::api::Api) -> Value {
    let (status, body) = api.post("/api/models/scan", json!({})).await;
    assert_eq!(status, 202, "{body}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = api.get("/api/models/scan").await;
        assert_eq!(status, 200, "{body}");
        if body["phase"] == "done" {
            return body;
        }
        assert_ne!(body["phase"], "failed", "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "scan never finished: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn untracked<'a>(status: &'a Value, path: &Path) -> Option<&'a Value> {
    status["untracked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path.display().to_string())
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn sha(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[tokio::test]
async fn files_placed_by_other_tools_are_found_identified_hashed_and_adopted() {
    let extra = tempfile::tempdir().unwrap();
    let comfy = extra.path().join("ComfyUI/models");
    let server = common::start(&[("MODELS_SCAN_DIRS", comfy.to_str().unwrap())]).await;
    let api = server.api();
    let lora = server.models_dir.join("loras/my_lora.safetensors");
    let checkpoint = comfy.join("checkpoints/sd_xl_base_1.0.safetensors");
    write(&lora, &flux_kohya_lora());
    write(&checkpoint, &sdxl_checkpoint());
    write(
        &server.models_dir.join(".downloads/half.safetensors"),
        &flux_vae(),
    );
    write(&comfy.join("notes.txt"), b"not a model");

    let status = scan(&api).await;
    assert_eq!(status["untracked"].as_array().unwrap().len(), 2, "{status}");
    assert_eq!(status["headersRead"], 2, "{status}");
    let found = untracked(&status, &lora).expect("the LoRA is listed");
    assert_eq!(found["inModelsDir"], true);
    assert_eq!(found["format"], "safetensors");
    assert_eq!(found["sizeBytes"], flux_kohya_lora().len());
    assert_eq!(found["identification"]["kind"], "lora");
    assert_eq!(found["identification"]["family"], "flux1");
    assert_eq!(found["sha256"], sha(&flux_kohya_lora()));
    let found = untracked(&status, &checkpoint).expect("the checkpoint is listed");
    assert_eq!(found["inModelsDir"], false);
    assert_eq!(found["identification"]["family"], "sdxl_base");
    assert_eq!(found["identification"]["kind"], "checkpoint");
    assert!(!found["identification"]["evidence"]
        .as_array()
        .unwrap()
        .is_empty());

    // A rescan of unchanged files reads nothing: identification and hash come from the cache.
    let again = scan(&api).await;
    assert_eq!(again["headersRead"], 0, "{again}");
    assert_eq!(again["filesToHash"], 0, "{again}");
    assert_eq!(again["bytesHashed"], 0, "{again}");
    assert_eq!(
        untracked(&again, &lora).unwrap()["sha256"],
        sha(&flux_kohya_lora())
    );

    // Bad requests change nothing.
    for (body, field) in [
        (json!({"paths": []}), "paths"),
        (json!({"paths": ["relative/x.safetensors"]}), "paths"),
        (json!({"paths": [comfy.join("notes.txt")]}), "paths"),
        (
            json!({"paths": [server.models_dir.join(".downloads/half.safetensors")]}),
            "paths",
        ),
        (json!({"paths": [checkpoint], "move": true}), "move"),
        (json!({"paths": [checkpoint], "name": ""}), "name"),
    ] {
        let (status, answer) = api.post("/api/models/adopt", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let outside = tempfile::NamedTempFile::with_suffix(".safetensors").unwrap();
    let (status, answer) = api
        .post("/api/models/adopt", json!({"paths": [outside.path()]}))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("MODELS_SCAN_DIRS"));
    assert_eq!(
        api.get("/api/models/installed").await.1["models"],
        json!([])
    );

    // The LoRA moves into its folder; type and family come from the identification.
    let (status, answer) = api
        .post("/api/models/adopt", json!({"paths": [lora], "move": true}))
        .await;
    assert_eq!(status, 201, "{answer}");
    let model = &answer["model"];
    assert_eq!(
        (model["type"].as_str(), model["family"].as_str()),
        (Some("lora"), Some("flux"))
    );
    assert_eq!(model["source"], "local");
    assert_eq!(model["name"], "my_lora");
    assert_eq!(model["files"][0]["path"], "lora/my_lora.safetensors");
    assert_eq!(model["files"][0]["sha256"], sha(&flux_kohya_lora()));
    assert!(!lora.exists());
    assert!(server.models_dir.join("lora/my_lora.safetensors").exists());
    let lora_id = model["id"].as_str().unwrap().to_string();

    // The ComfyUI checkpoint is referenced where it is, under a name the user chose.
    let (status, answer) = api
        .post(
            "/api/models/adopt",
            json!({"paths": [checkpoint], "name": "SDXL from ComfyUI"}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let model = &answer["model"];
    assert_eq!(model["files"][0]["path"], checkpoint.display().to_string());
    assert_eq!(
        (model["type"].as_str(), model["family"].as_str()),
        (Some("base_model"), Some("sdxl"))
    );
    let checkpoint_id = model["id"].as_str().unwrap().to_string();
    let (status, answer) = api
        .post("/api/models/adopt", json!({"paths": [checkpoint]}))
        .await;
    assert_eq!(status, 409, "adopting twice: {answer}");

    // Adopted models verify like any other, and the scan no longer lists them.
    let (status, answer) = api
        .post(
            &format!("/api/models/installed/verify?id={checkpoint_id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["verification"]["ok"], true, "{answer}");
    // Adopted where it is, in a folder another tool fills: its neighbours are not "unexpected".
    let deep = server
        .models_dir
        .join("ComfyUI/models/loras/deep.safetensors");
    write(&deep, &flux_kohya_lora());
    write(
        &server.models_dir.join("ComfyUI/models/loras/readme.txt"),
        b"hi",
    );
    scan(&api).await;
    let (status, answer) = api
        .post("/api/models/adopt", json!({"paths": [deep]}))
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["model"]["files"][0]["path"],
        "ComfyUI/models/loras/deep.safetensors"
    );
    let deep_id = answer["model"]["id"].as_str().unwrap().to_string();
    let (_, answer) = api
        .post(
            &format!("/api/models/installed/verify?id={deep_id}"),
            json!({}),
        )
        .await;
    assert_eq!(answer["verification"]["ok"], true, "{answer}");
    let status = scan(&api).await;
    assert_eq!(status["untracked"], json!([]), "{status}");

    // A copy of an installed file is flagged.
    let copy = comfy.join("loras/copy_of_deep.safetensors");
    write(&copy, &flux_kohya_lora());
    let status = scan(&api).await;
    assert_eq!(
        untracked(&status, &copy).unwrap()["duplicateOf"],
        "my_lora",
        "{status}"
    );
    std::fs::remove_file(&copy).unwrap();

    // Deleting a referenced model forgets it and never deletes the file under the extra root.
    let (status, _) = api
        .delete(&format!("/api/models/installed?id={checkpoint_id}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        checkpoint.exists(),
        "a file under MODELS_SCAN_DIRS was deleted"
    );

    // A record whose file disappeared is missing, never installed; forget drops it.
    std::fs::remove_file(server.models_dir.join("lora/my_lora.safetensors")).unwrap();
    let (_, list) = api.get("/api/models/installed").await;
    let installed: Vec<&Value> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(installed, [&json!(deep_id)], "{list}");
    assert_eq!(list["missing"][0]["id"], lora_id, "{list}");
    let (status, answer) = api
        .post(
            &format!("/api/models/installed/forget?id={lora_id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (_, list) = api.get("/api/models/installed").await;
    assert_eq!(list["missing"], json!([]), "{list}");
    let (status, _) = api
        .post("/api/models/installed/forget?id=nope", json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_missing_model_with_a_known_source_can_be_downloaded_again() {
    let hub = hub::start_with(axum::Router::new()).await;
    let server = common::start(&[
        ("HF_ENDPOINT", hub.base.as_str()),
        ("CIVITAI_ENDPOINT", hub.base.as_str()),
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ])
    .await;
    let api = server.api();
    hub.put("url/ae.safetensors", FakeFile::new(flux_vae()));
    let url = format!("{}/blob/url/ae.safetensors", hub.cdn);
    let model = api.add_custom(json!({"url": url, "type": "vae"})).await;
    let first = api.install(&model).await;
    let (_, list) = api.get("/api/models/installed").await;
    let path = list["models"][0]["files"][0]["path"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(server.models_dir.join(&path)).unwrap();

    let (_, models) = api.get("/api/models").await;
    let listed = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == model)
        .unwrap()
        .clone();
    assert_eq!(
        listed["installed"], false,
        "a missing model is not installed: {listed}"
    );
    let (_, list) = api.get("/api/models/installed").await;
    assert_eq!(list["missing"][0]["sourceModelId"], model, "{list}");

    let second = api.install(&model).await;
    assert_ne!(first, second);
    let (_, list) = api.get("/api/models/installed").await;
    assert_eq!(list["missing"], json!([]), "{list}");
    assert_eq!(list["models"][0]["id"], second, "{list}");
    assert_eq!(
        std::fs::read(server.models_dir.join(&path)).unwrap(),
        flux_vae()
    );
}

#[tokio::test]
async fn copies_are_flagged_and_deduplicated_into_hard_links() {
    use std::os::unix::fs::MetadataExt;
    let server = common::start(&[]).await;
    let api = server.api();
    let bytes = flux_vae();
    for name in ["ae.safetensors", "ae-copy.safetensors"] {
        let (status, body) = api
            .upload_with(name, bytes.clone(), &[("type", "vae"), ("family", "flux")])
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, list) = api.get("/api/models/installed").await;
    let group = &list["duplicates"][0];
    assert_eq!(group["sha256"], sha(&bytes), "{list}");
    assert_eq!(group["paths"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(group["reclaimableBytes"], bytes.len(), "{list}");
    assert_eq!(list["diskSaved"], 0);

    let (status, result) = api.post("/api/models/dedupe", json!({})).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["linked"].as_array().unwrap().len(), 1, "{result}");
    assert_eq!(result["bytesSaved"], bytes.len(), "{result}");
    let inode = |name: &str| {
        std::fs::metadata(server.models_dir.join("vae").join(name))
            .unwrap()
            .ino()
    };
    assert_eq!(inode("ae.safetensors"), inode("ae-copy.safetensors"));
    let (_, list) = api.get("/api/models/installed").await;
    assert_eq!(list["diskSaved"], bytes.len(), "{list}");
    assert_eq!(list["duplicates"][0]["reclaimableBytes"], 0, "{list}");
    // Both models still verify, and deleting one leaves the other's file.
    for model in list["models"].as_array().unwrap() {
        let id = model["id"].as_str().unwrap();
        let (_, answer) = api
            .post(&format!("/api/models/installed/verify?id={id}"), json!({}))
            .await;
        assert_eq!(answer["verification"]["ok"], true, "{answer}");
    }
    let first = list["models"][0]["id"].as_str().unwrap().to_string();
    api.delete(&format!("/api/models/installed?id={first}"))
        .await;
    let (_, list) = api.get("/api/models/installed").await;
    let left = list["models"][0]["files"][0]["path"].as_str().unwrap();
    assert_eq!(std::fs::read(server.models_dir.join(left)).unwrap(), bytes);
}
