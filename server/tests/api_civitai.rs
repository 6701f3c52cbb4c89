//! CivitAI metadata over real HTTP against a fake CivitAI that misbehaves: files looked up
//! by sha256 once installed (uploads, adoptions, downloads), names, trigger words, plain-text
//! descriptions and one preview saved beside the model and served by the app; 404s cached,
//! failures recorded and looked up again on demand; previews that are slow, too large or not
//! images; NSFW previews and the persisted preference; "Check for updates" and the download
//! of the newer version.

mod common;
mod fakes;

use std::time::{Duration, Instant};

use fakes::{
    civitai_meta::{image_entry, version, CivitaiMeta, PNG, SLOW_PREVIEW},
    hub::{self, FakeFile},
    model_files::{flux_kohya_lora, safetensors_file},
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const TOKEN: &str = "civ_lookup_canary_3e9d";

fn sha(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A distinct small LoRA file per `seed`.
fn lora(seed: usize) -> Vec<u8> {
    safetensors_file(&[(
        "lora_unet_double_blocks_0_img_attn_proj.lora_down.weight",
        vec![4, 8 + seed],
    )])
}

struct Setup {
    server: common::TestServer,
    api: common::api::Api,
    meta: CivitaiMeta,
    hub: hub::Hub,
}

async fn setup(extra: &[(&str, &str)]) -> Setup {
    let meta = CivitaiMeta::new();
    let update_file = FakeFile {
        disposition: Some("dreamshaper_8.safetensors".into()),
        ..FakeFile::new(lora(99))
    };
    let hub = hub::start_with(
        fakes::civitai_with_sha(&update_file.sha().to_uppercase()).merge(meta.router()),
    )
    .await;
    hub.put("civitai/128713", update_file);
    let mut vars = vec![
        ("CIVITAI_ENDPOINT", hub.base.as_str()),
        ("CIVITAI_TOKEN", TOKEN),
        ("MODELS_CIVITAI_LOOKUP", "true"),
    ];
    vars.extend_from_slice(extra);
    let server = common::start(&vars).await;
    let api = server.api();
    Setup {
        server,
        api,
        meta,
        hub,
    }
}

/// Uploads `bytes` as a LoRA; the installed record's id.
async fn upload(api: &common::api::Api, name: &str, bytes: Vec<u8>) -> String {
    let (status, body) = api
        .upload_with(name, bytes, &[("type", "lora"), ("family", "flux")])
        .await;
    assert_eq!(status, 201, "{body}");
    body["model"]["id"].as_str().unwrap().to_string()
}

async fn installed(api: &common::api::Api, id: &str) -> Value {
    let (status, list) = api.get("/api/models/installed").await;
    assert_eq!(status, 200, "{list}");
    list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} is not installed: {list}"))
}

/// Polls the installed record until `until` holds (10 s at most).
async fn wait_for(api: &common::api::Api, id: &str, until: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let model = installed(api, id).await;
        if until(&model) {
            return model;
        }
        assert!(Instant::now() < deadline, "never got there: {model}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn looked_up(m: &Value) -> bool {
    m["civitai"]["status"].is_string()
}

fn settled(m: &Value) -> bool {
    m["civitai"]["preview"].is_object() || m["civitai"]["message"].is_string()
}

#[tokio::test]
async fn an_uploaded_lora_gets_names_trigger_words_a_text_description_and_a_preview() {
    let s = setup(&[]).await;
    let bytes = flux_kohya_lora();
    s.meta.found(
        &sha(&bytes),
        version(
            100,
            4384,
            "7",
            "DreamShaper",
            &["dsmix, vivid", "dsmix"],
            json!([
                {"url": "{base}/preview/clip.mp4", "nsfwLevel": 1, "type": "video"},
                image_entry("ok.png", 1)
            ]),
        ),
    );
    let id = upload(&s.api, "dreamshaper_7.safetensors", bytes.clone()).await;
    let model = wait_for(&s.api, &id, |m| m["civitai"]["preview"].is_object()).await;
    let c = &model["civitai"];
    assert_eq!(c["status"], "found", "{model}");
    assert_eq!(c["sha256"], sha(&bytes));
    assert_eq!(
        (c["modelId"].as_u64(), c["versionId"].as_u64()),
        (Some(4384), Some(100))
    );
    assert_eq!(c["modelName"], "DreamShaper");
    assert_eq!(c["versionName"], "7");
    assert_eq!(c["baseModel"], "Flux.1 D");
    assert_eq!(c["trainedWords"], json!(["dsmix", "vivid"]));
    assert_eq!(c["description"], "Sharp detail & colour.\nWeight 0.8");
    assert_eq!(
        c["pageUrl"],
        format!("{}/models/4384?modelVersionId=100", s.hub.base)
    );
    let preview = &c["preview"];
    assert_eq!(preview["path"], "lora/dreamshaper_7.preview.png");
    assert_eq!(preview["contentType"], "image/png");
    assert_eq!(preview["nsfw"], false);
    assert_eq!(
        std::fs::read(s.server.models_dir.join("lora/dreamshaper_7.preview.png")).unwrap(),
        PNG
    );

    // Served by the app with its type, by record id (never by a path the client names).
    let r = reqwest::get(s.api.url(&format!("/api/models/installed/preview?id={id}")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "private, max-age=300");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap(), PNG);
    let (status, body) = s
        .api
        .get("/api/models/installed/preview?id=../../etc/passwd")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    // The key went to CivitAI's API only, never to the image host.
    assert_eq!(
        s.meta.lookups(),
        [(sha(&bytes).to_uppercase(), Some(format!("Bearer {TOKEN}")))]
    );
    assert!(s.meta.images().iter().all(|(_, auth)| auth.is_none()));
    assert_eq!(s.meta.images().len(), 1, "one image fetched once");

    // The preview is the model's own: verification finds nothing unexpected; delete removes it.
    let (status, body) = s
        .api
        .post(&format!("/api/models/installed/verify?id={id}"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["verification"]["ok"], true, "{body}");
    let (status, _) = s
        .api
        .delete(&format!("/api/models/installed?id={id}"))
        .await;
    assert_eq!(status, 200);
    assert!(!s
        .server
        .models_dir
        .join("lora/dreamshaper_7.preview.png")
        .exists());
}

#[tokio::test]
async fn a_404_is_kept_and_not_asked_again_until_the_user_says_so() {
    let s = setup(&[]).await;
    let bytes = lora(1);
    let id = upload(&s.api, "unknown.safetensors", bytes.clone()).await;
    let model = wait_for(&s.api, &id, looked_up).await;
    assert_eq!(model["civitai"]["status"], "not_found", "{model}");
    assert!(model["civitai"]["checkedAt"].is_string());

    // Another install changes the database: the known 404 is not asked again.
    let other = upload(&s.api, "other.safetensors", lora(2)).await;
    wait_for(&s.api, &other, looked_up).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(s.meta.lookups_of(&sha(&bytes)), 1);

    // CivitAI learns the file; "look up again" asks now.
    s.meta.found(
        &sha(&bytes),
        version(100, 4384, "7", "DreamShaper", &[], json!([])),
    );
    let (status, body) = s
        .api
        .post(&format!("/api/models/installed/civitai?id={id}"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"]["civitai"]["status"], "found");
    assert_eq!(body["model"]["civitai"]["modelName"], "DreamShaper");
    assert_eq!(s.meta.lookups_of(&sha(&bytes)), 2);

    let (status, body) = s
        .api
        .post("/api/models/installed/civitai?id=nope", json!({}))
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn a_failing_civitai_is_recorded_with_its_reason_and_asked_again_on_demand() {
    let s = setup(&[]).await;
    let bytes = lora(3);
    s.meta.fail(&sha(&bytes), 500);
    let id = upload(&s.api, "flaky.safetensors", bytes.clone()).await;
    let model = wait_for(&s.api, &id, looked_up).await;
    assert_eq!(model["civitai"]["status"], "failed", "{model}");
    let message = model["civitai"]["message"].as_str().unwrap();
    assert!(
        message.contains("500") && message.contains("look up again"),
        "{message}"
    );
    assert_eq!(model["name"], "flaky", "nothing else changes");

    s.meta.found(
        &sha(&bytes),
        version(7, 8, "v1", "Flaky", &["flk"], json!([])),
    );
    let (status, body) = s
        .api
        .post(&format!("/api/models/installed/civitai?id={id}"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"]["civitai"]["trainedWords"], json!(["flk"]));
}

#[tokio::test]
async fn previews_that_are_too_large_or_not_images_are_not_kept() {
    let s = setup(&[]).await;
    let cases = [
        ("huge.png", "larger than 8 MiB"),
        ("page.png", "not an image"),
        ("text.html", "not an image"),
        ("missing.png", "answered 404"),
    ];
    let mut ids = Vec::new();
    for (i, (image, _)) in cases.iter().enumerate() {
        let bytes = lora(10 + i);
        s.meta.found(
            &sha(&bytes),
            version(
                10 + i as u64,
                20,
                "v",
                "Bad preview",
                &[],
                json!([image_entry(image, 1)]),
            ),
        );
        ids.push(upload(&s.api, &format!("bad{i}.safetensors"), bytes).await);
    }
    for ((_, says), id) in cases.iter().zip(&ids) {
        let model = wait_for(&s.api, id, settled).await;
        assert_eq!(model["civitai"]["status"], "found", "{model}");
        assert_eq!(model["civitai"]["modelName"], "Bad preview", "{model}");
        assert!(model["civitai"]["preview"].is_null(), "{model}");
        let message = model["civitai"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    let previews: Vec<_> = std::fs::read_dir(s.server.models_dir.join("lora"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".preview."))
        .collect();
    assert!(previews.is_empty(), "{previews:?}");
}

#[tokio::test]
async fn a_slow_preview_does_not_hold_back_the_metadata() {
    let s = setup(&[]).await;
    let bytes = lora(4);
    s.meta.found(
        &sha(&bytes),
        version(
            5,
            6,
            "v5",
            "Slow",
            &["slw"],
            json!([image_entry("slow.png", 1)]),
        ),
    );
    let started = Instant::now();
    let id = upload(&s.api, "slow.safetensors", bytes).await;
    let model = wait_for(&s.api, &id, looked_up).await;
    assert!(
        started.elapsed() < SLOW_PREVIEW,
        "metadata waited for the image"
    );
    assert_eq!(model["civitai"]["trainedWords"], json!(["slw"]));
    assert!(model["civitai"]["preview"].is_null());
    let model = wait_for(&s.api, &id, |m| m["civitai"]["preview"].is_object()).await;
    assert_eq!(model["civitai"]["preview"]["contentType"], "image/png");
}

#[tokio::test]
async fn an_nsfw_preview_is_flagged_and_the_preference_is_kept() {
    let s = setup(&[]).await;
    let bytes = lora(5);
    s.meta.found(
        &sha(&bytes),
        version(
            5,
            6,
            "v5",
            "Spicy",
            &[],
            json!([image_entry("nsfw.png", 8)]),
        ),
    );
    let id = upload(&s.api, "spicy.safetensors", bytes).await;
    let model = wait_for(&s.api, &id, |m| m["civitai"]["preview"].is_object()).await;
    assert_eq!(model["civitai"]["preview"]["nsfw"], true);

    let (status, prefs) = s.api.get("/api/preferences").await;
    assert_eq!((status, prefs), (200, json!({"showNsfwPreviews": false})));
    let (_, list) = s.api.get("/api/models/installed").await;
    assert_eq!(list["showNsfwPreviews"], false);

    let (status, body) = s
        .api
        .put("/api/preferences", json!({"showNsfw": true}))
        .await;
    assert_eq!(status, 400, "an unknown field is refused: {body}");
    let (status, body) = s
        .api
        .put("/api/preferences", json!({"showNsfwPreviews": "yes"}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        s.api.get("/api/preferences").await.1["showNsfwPreviews"],
        false
    );

    let (status, body) = s
        .api
        .put("/api/preferences", json!({"showNsfwPreviews": true}))
        .await;
    assert_eq!((status, body), (200, json!({"showNsfwPreviews": true})));
    let (_, list) = s.api.get("/api/models/installed").await;
    assert_eq!(list["showNsfwPreviews"], true);
}

#[tokio::test]
async fn an_adopted_file_under_a_read_only_root_gets_its_preview_under_the_models_folder() {
    let extra = tempfile::tempdir().unwrap();
    let comfy = extra.path().join("loras");
    std::fs::create_dir_all(&comfy).unwrap();
    let bytes = lora(6);
    let file = comfy.join("comfy_style.safetensors");
    std::fs::write(&file, &bytes).unwrap();
    let s = setup(&[("MODELS_SCAN_DIRS", comfy.to_str().unwrap())]).await;
    s.meta.found(
        &sha(&bytes),
        version(
            9,
            10,
            "v9",
            "Comfy Style",
            &["cmfy"],
            json!([image_entry("ok.png", 1)]),
        ),
    );
    // The scan hashes it; adopting records that sha256.
    let (status, _) = s.api.post("/api/models/scan", json!({})).await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, scan) = s.api.get("/api/models/scan").await;
        if scan["phase"] == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "{scan}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = s
        .api
        .post("/api/models/adopt", json!({"paths": [file]}))
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["model"]["id"].as_str().unwrap().to_string();
    let model = wait_for(&s.api, &id, |m| m["civitai"]["preview"].is_object()).await;
    let path = model["civitai"]["preview"]["path"].as_str().unwrap();
    assert!(path.starts_with(".previews/"), "{path}");
    assert!(s.server.models_dir.join(path).is_file());
    assert_eq!(
        std::fs::read_dir(&comfy).unwrap().count(),
        1,
        "nothing written beside a file under a read-only root"
    );
    assert_eq!(model["civitai"]["trainedWords"], json!(["cmfy"]));
}

#[tokio::test]
async fn check_for_updates_finds_the_newer_version_and_downloads_it_beside_the_old_one() {
    let s = setup(&[]).await;
    let old = lora(7);
    // Version 100 ("7") of model 4384; the fake lists 128713 ("8") as the newest.
    s.meta.found(
        &sha(&old),
        version(100, 4384, "7", "DreamShaper", &[], json!([])),
    );
    let id = upload(&s.api, "dreamshaper_7.safetensors", old).await;
    wait_for(&s.api, &id, looked_up).await;

    let (status, body) = s
        .api
        .post(
            &format!("/api/models/installed/check-update?id={id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let update = &body["model"]["civitai"]["update"];
    assert_eq!(update["versionId"], 128713, "{body}");
    assert_eq!(update["versionName"], "8");
    assert!(update["checkedAt"].is_string());

    let (status, body) = s
        .api
        .post(&format!("/api/models/installed/update?id={id}"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    let job = s.api.finished(body["jobId"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let (_, list) = s.api.get("/api/models/installed").await;
    let names: Vec<&str> = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["files"][0]["path"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"lora/dreamshaper_7.safetensors"),
        "{names:?}"
    );
    assert_eq!(names.len(), 2, "the old version stays: {names:?}");

    // A model CivitAI does not know cannot be checked; a clear 400.
    let unknown = upload(&s.api, "mine.safetensors", lora(8)).await;
    wait_for(&s.api, &unknown, looked_up).await;
    let (status, body) = s
        .api
        .post(
            &format!("/api/models/installed/check-update?id={unknown}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("CivitAI does not know"));
}

#[tokio::test]
async fn the_newest_version_installed_is_up_to_date() {
    let s = setup(&[]).await;
    let bytes = lora(9);
    s.meta.found(
        &sha(&bytes),
        version(128713, 4384, "8", "DreamShaper", &[], json!([])),
    );
    let id = upload(&s.api, "dreamshaper_8.safetensors", bytes).await;
    wait_for(&s.api, &id, looked_up).await;
    let (status, body) = s
        .api
        .post(
            &format!("/api/models/installed/check-update?id={id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let update = &body["model"]["civitai"]["update"];
    assert!(update["checkedAt"].is_string(), "{body}");
    assert!(update["versionId"].is_null(), "{body}");
    let (status, body) = s
        .api
        .post(&format!("/api/models/installed/update?id={id}"), json!({}))
        .await;
    assert_eq!(status, 400, "no newer version to download: {body}");
}

#[tokio::test]
async fn without_the_automatic_lookup_nothing_is_asked_until_the_card_asks() {
    let s = setup(&[("MODELS_CIVITAI_LOOKUP", "false")]).await;
    let bytes = lora(11);
    s.meta
        .found(&sha(&bytes), version(1, 2, "v1", "Manual", &[], json!([])));
    let id = upload(&s.api, "manual.safetensors", bytes).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(s.meta.lookups().is_empty());
    assert!(installed(&s.api, &id).await["civitai"].is_null());
    let (status, body) = s
        .api
        .post(&format!("/api/models/installed/civitai?id={id}"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"]["civitai"]["modelName"], "Manual");
}

#[tokio::test]
async fn a_model_added_from_civitai_keeps_its_ids_and_page_on_the_wire() {
    let s = setup(&[]).await;
    let (status, body) = s
        .api
        .post(
            "/api/models",
            json!({"civitaiUrl": format!("{}/models/4384", s.hub.base)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let expected = json!({
        "modelId": 4384, "versionId": 128713, "versionName": "8",
        "pageUrl": format!("{}/models/4384?modelVersionId=128713", s.hub.base)
    });
    assert_eq!(body["model"]["civitai"], expected);
    assert!(
        body.get("alreadyInstalled").is_none(),
        "nothing on the volume: {body}"
    );
    let (_, list) = s.api.get("/api/models").await;
    let listed = list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == body["model"]["id"])
        .unwrap();
    assert_eq!(listed["civitai"], expected);
}

#[tokio::test]
async fn a_file_already_on_the_volume_is_linked_instead_of_downloaded() {
    let s = setup(&[("MODELS_CIVITAI_LOOKUP", "false")]).await;
    // The bytes CivitAI serves for version 128713, uploaded before under another name.
    let bytes = lora(99);
    let first = upload(&s.api, "already_here.safetensors", bytes.clone()).await;
    // The add form's Check says so before anything transfers.
    use leptos::server_fn::ServerFn;
    let form = format!(
        "request[civitaiUrl]={}&request[sourceType]=civitai",
        urlencoding::encode(&format!("{}/models/4384", s.hub.base))
    );
    let response = s
        .api
        .client
        .post(s.api.url(app::server_fns::models::PreviewCustomModel::PATH))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let preview: Value = response.json().await.unwrap();
    let warning = preview["alreadyInstalled"].as_str().unwrap_or_default();
    assert!(
        warning.starts_with("already installed as already_here (lora/already_here.safetensors)"),
        "{preview}"
    );
    assert!(preview["warning"].is_null(), "{preview}");
    // Adding it says the same in its 201 body, not only the Check before.
    let (status, added) = s
        .api
        .post(
            "/api/models",
            json!({"civitaiUrl": format!("{}/models/4384", s.hub.base)}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        added["alreadyInstalled"], preview["alreadyInstalled"],
        "{added}"
    );
    let model = added["model"]["id"].as_str().unwrap().to_string();
    let before = s.hub.seen().len();
    let job = s.api.finished(&s.api.start(&model).await).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["files"][0]["note"], "reused from lora/already_here.safetensors",
        "{job}"
    );
    assert_eq!(job["files"][0]["bytesDownloaded"], bytes.len() as u64);
    assert_eq!(
        s.hub.seen().len(),
        before,
        "nothing was asked of CivitAI or its CDN"
    );
    // One file on disk under two names: a hard link, verified like a download.
    let installed_id = job["installedModelId"].as_str().unwrap();
    let record = installed(&s.api, installed_id).await;
    let path = s
        .server
        .models_dir
        .join(record["files"][0]["path"].as_str().unwrap());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().ino(),
        std::fs::metadata(s.server.models_dir.join("lora/already_here.safetensors"))
            .unwrap()
            .ino()
    );
    assert_eq!(record["files"][0]["sha256"], sha(&bytes));
    // Deleting the first keeps the second's bytes.
    let (status, _) = s
        .api
        .delete(&format!("/api/models/installed?id={first}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn a_recorded_copy_that_changed_is_not_reused_and_the_job_says_why() {
    let s = setup(&[("MODELS_CIVITAI_LOOKUP", "false")]).await;
    let bytes = lora(99);
    upload(&s.api, "changed.safetensors", bytes.clone()).await;
    // Same size, other bytes: the record's sha256 no longer holds.
    let mut other = bytes.clone();
    let last = other.len() - 1;
    other[last] ^= 0xff;
    std::fs::write(s.server.models_dir.join("lora/changed.safetensors"), &other).unwrap();
    let model = s
        .api
        .add_custom(json!({"civitaiUrl": format!("{}/models/4384", s.hub.base)}))
        .await;
    let job = s.api.finished(&s.api.start(&model).await).await;
    assert_eq!(job["status"], "completed", "{job}");
    let note = job["files"][0]["note"].as_str().unwrap();
    assert!(
        note.contains("no longer has the recorded sha256: downloading"),
        "{note}"
    );
    assert!(s.hub.served() > 0, "downloaded instead");
}

/// The real binary (`model-manager serve`) runs the automatic lookup too, and never logs the
/// CivitAI key.
#[tokio::test]
async fn the_served_binary_looks_installed_files_up() {
    let meta = CivitaiMeta::new();
    let hub = hub::start_with(meta.router()).await;
    let bytes = lora(12);
    meta.found(
        &sha(&bytes),
        version(
            3,
            4,
            "v3",
            "From The Binary",
            &["bin"],
            json!([image_entry("ok.png", 1)]),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let server = common::process::Process::start(
        &dir.path().join("models"),
        &[
            ("CIVITAI_ENDPOINT", hub.base.as_str()),
            ("CIVITAI_TOKEN", TOKEN),
            ("MODELS_CIVITAI_LOOKUP", "true"),
        ],
    )
    .await;
    let api = server.api();
    let id = upload(&api, "binary.safetensors", bytes).await;
    let model = wait_for(&api, &id, |m| m["civitai"]["preview"].is_object()).await;
    assert_eq!(model["civitai"]["modelName"], "From The Binary");
    assert!(!server.log().contains(TOKEN), "the key reached the log");
    let db = std::fs::read_to_string(dir.path().join("models/installed-models.json")).unwrap();
    assert!(!db.contains(TOKEN), "the key reached the disk");
}

/// A file the scan hashed but nobody adopted counts too: the download links it (by absolute
/// path, without moving or changing it).
#[tokio::test]
async fn a_scanned_untracked_copy_is_linked_instead_of_downloaded() {
    let extra = tempfile::tempdir().unwrap();
    let comfy = extra.path().join("loras");
    std::fs::create_dir_all(&comfy).unwrap();
    let bytes = lora(99);
    let stray = comfy.join("dreamshaper_copy.safetensors");
    std::fs::write(&stray, &bytes).unwrap();
    let s = setup(&[
        ("MODELS_SCAN_DIRS", comfy.to_str().unwrap()),
        ("MODELS_CIVITAI_LOOKUP", "false"),
    ])
    .await;
    let (status, _) = s.api.post("/api/models/scan", json!({})).await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, scan) = s.api.get("/api/models/scan").await;
        if scan["phase"] == "done" {
            assert_eq!(scan["untracked"][0]["sha256"], sha(&bytes), "{scan}");
            break;
        }
        assert!(Instant::now() < deadline, "{scan}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let model = s
        .api
        .add_custom(json!({"civitaiUrl": format!("{}/models/4384", s.hub.base)}))
        .await;
    let job = s.api.finished(&s.api.start(&model).await).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["files"][0]["note"],
        format!("reused from {}", stray.display()),
        "{job}"
    );
    assert_eq!(s.hub.served(), 0, "nothing downloaded");
    assert_eq!(
        std::fs::read(&stray).unwrap(),
        bytes,
        "the original is untouched"
    );
}
