//! The download routes over real HTTP against fake Hugging Face, CivitAI and CDN servers.

mod common;
mod fakes;

use std::time::Duration;

use common::api::Api;
use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

const ADAPTER_REPO: &str = "ostris/zimage_turbo_training_adapter";
const ADAPTER_FILE: &str = "zimage_turbo_training_adapter_v2.safetensors";

struct Env {
    hub: Hub,
    server: common::TestServer,
    api: Api,
}

async fn env(extra: &[(&str, &str)]) -> Env {
    env_with(axum::Router::new(), extra).await
}

/// The server pointed at a fake hub (Hugging Face and CivitAI on one origin) that also
/// serves `routes`, e.g. the CivitAI API v1 fake.
async fn env_with(routes: axum::Router, extra: &[(&str, &str)]) -> Env {
    let hub = hub::start_with(routes).await;
    let mut vars = vec![
        ("HF_ENDPOINT", hub.base.clone()),
        ("CIVITAI_ENDPOINT", hub.base.clone()),
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "50".to_string()),
        ("MODELS_DOWNLOAD_STALL_SECS", "3".to_string()),
        ("MODELS_MIN_FREE_BYTES", "0".to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = common::start(&refs).await;
    let api = server.api();
    Env { hub, server, api }
}

impl Env {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.api.post(path, body).await
    }

    /// Polls until `until` holds, at most 30 s.
    async fn wait(&self, id: &str, until: impl Fn(&Value) -> bool) -> Value {
        self.api.wait(id, Duration::from_secs(30), until).await
    }

    async fn finished(&self, id: &str) -> Value {
        self.api.finished(id).await
    }

    async fn start(&self, body: Value) -> String {
        self.api.start_with(body).await
    }

    fn partials_left(&self) -> Vec<String> {
        std::fs::read_dir(self.server.models_dir.join(".downloads"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n != "jobs" && n != "leases")
            .collect()
    }

    async fn add_custom(&self, body: Value) -> String {
        self.api.add_custom(body).await
    }
}

#[tokio::test]
async fn a_built_in_model_downloads_verifies_and_installs_in_its_folder() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(3 << 20, 1);
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile {
            throttle: Some(Duration::from_millis(10)),
            ..FakeFile::new(bytes.clone())
        },
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;

    // While it runs, a second request is the same job (202 with its id): one download per
    // model per volume.
    let (status, answer) = env
        .post(
            "/api/models/download",
            json!({"modelId": "zimage-turbo-training-adapter"}),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["jobId"], id);

    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["bytesDownloaded"], bytes.len());
    assert_eq!(job["totalBytes"], bytes.len());
    assert_eq!(job["files"][0]["done"], true);
    let rel = format!("adapter/zimage-turbo-training-adapter/{ADAPTER_FILE}");
    assert_eq!(
        std::fs::read(env.server.models_dir.join(&rel)).unwrap(),
        bytes
    );

    let installed: Value = env
        .api
        .client
        .get(env.server.url("/api/models/installed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let record = &installed["models"][0];
    assert_eq!(record["id"], job["installedModelId"]);
    assert_eq!(record["sourceModelId"], "zimage-turbo-training-adapter");
    assert_eq!(record["files"][0]["path"], rel);
    assert_eq!(
        record["files"][0]["sha256"],
        FakeFile::new(bytes.clone()).sha()
    );
    let models: Value = env
        .api
        .client
        .get(env.server.url("/api/models?query=adapter"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["models"][0]["installed"], true);

    let (status, answer) = env
        .post(
            "/api/models/download",
            json!({"modelId": "zimage-turbo-training-adapter"}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already installed"));
    assert!(env.partials_left().is_empty(), "{:?}", env.partials_left());
    let all: Value = env
        .api
        .client
        .get(env.server.url("/api/models/download"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["jobs"][0]["id"], id);
}

#[tokio::test]
async fn unknown_models_are_404() {
    let env = env(&[]).await;
    let (status, answer) = env
        .post("/api/models/download", json!({"modelId": "no-such-model"}))
        .await;
    assert_eq!(status, 404, "{answer}");
    let r = env
        .api
        .client
        .get(env.server.url("/api/models/download/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_dropped_connection_resumes_with_range() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(2 << 20, 2);
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile {
            drop_after: Some(700_000),
            throttle: Some(Duration::from_millis(5)),
            ..FakeFile::new(bytes.clone())
        },
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    let seen = env.hub.seen();
    let resumed = seen
        .iter()
        .find(|s| s.range.is_some())
        .expect("a ranged request");
    let start = resumed.resume_offset().expect("an open-ended resume range");
    assert!(
        start >= 300_000,
        "resumed from {start}: the bytes already on disk were fetched again"
    );
    assert_eq!(resumed.status, 206);
    let installed = env.server.models_dir.join(format!(
        "adapter/zimage-turbo-training-adapter/{ADAPTER_FILE}"
    ));
    assert_eq!(std::fs::read(installed).unwrap(), bytes);
}

#[tokio::test]
async fn a_server_that_ignores_range_gets_a_clean_start_over() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(1 << 20, 3);
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile {
            drop_after: Some(600_000),
            ignore_range: true,
            throttle: Some(Duration::from_millis(5)),
            ..FakeFile::new(bytes.clone())
        },
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    let seen = env.hub.seen();
    assert!(
        seen.iter().any(|s| s.range.is_some() && s.status == 200),
        "{seen:?}"
    );
    let installed = env.server.models_dir.join(format!(
        "adapter/zimage-turbo-training-adapter/{ADAPTER_FILE}"
    ));
    assert_eq!(
        std::fs::read(installed).unwrap(),
        bytes,
        "the file must not be the old prefix plus a full copy"
    );
}

#[tokio::test]
async fn a_changed_etag_starts_the_file_over_with_the_new_content() {
    let env = env(&[]).await;
    let old = hub::safetensors(1 << 20, 4);
    let new = hub::safetensors(1 << 20, 5);
    let key = "hf/acme/evolving/model.safetensors";
    env.hub.put(
        key,
        FakeFile {
            drop_after: Some(700_000),
            throttle: Some(Duration::from_millis(20)),
            ..FakeFile::new(old)
        },
    );
    let model = env.add_custom(json!({"name": "Evolving", "huggingfaceRepo": "acme/evolving", "huggingfaceFiles": ["model.safetensors"], "huggingfaceToken": hub::GOOD_TOKEN})).await;
    let id = env.start(json!({"modelId": model})).await;
    // Mid-download: part of the old file is on disk when the file changes on the server (a
    // new ETag); the connection then drops and the resume finds the new version.
    env.wait(&id, |j| {
        j["bytesDownloaded"].as_u64().unwrap_or(0) > 100_000
    })
    .await;
    env.hub
        .update(key, |f| f.bytes = bytes::Bytes::from(new.clone()));
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    let resumed: Vec<_> = env.hub.seen().into_iter().skip(1).collect();
    assert!(
        resumed.iter().all(|s| s.range.is_none()),
        "the new content was fetched from its start, not resumed: {resumed:?}"
    );
    let path = env
        .server
        .models_dir
        .join("base/evolving/model.safetensors");
    assert_eq!(std::fs::read(path).unwrap(), new);
}

#[tokio::test]
async fn a_wrong_hash_fails_and_installs_nothing() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(1 << 20, 6);
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile {
            published_sha: Some("ab".repeat(32)),
            ..FakeFile::new(bytes)
        },
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "integrity_failed");
    assert!(
        job["error"]["message"].as_str().unwrap().contains("sha256"),
        "{job}"
    );
    assert!(!env
        .server
        .models_dir
        .join("adapter/zimage-turbo-training-adapter")
        .exists());
    assert!(env.partials_left().is_empty(), "{:?}", env.partials_left());
    let installed: Value = env
        .api
        .client
        .get(env.server.url("/api/models/installed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(installed["models"], json!([]));
}

/// A file that matches its published sha256 but is cut short (its header promises more
/// tensor data than the file holds) is refused by the content check and never installed.
#[tokio::test]
async fn a_truncated_model_file_with_a_matching_hash_is_not_installed() {
    let env = env(&[]).await;
    let mut bytes = hub::safetensors(1 << 20, 6);
    bytes.truncate(bytes.len() - 100);
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile::new(bytes),
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "integrity_failed");
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not a valid model file"),
        "{job}"
    );
    assert!(!env
        .server
        .models_dir
        .join("adapter/zimage-turbo-training-adapter")
        .exists());
    assert!(env.partials_left().is_empty(), "{:?}", env.partials_left());
}

#[tokio::test]
async fn cancel_mid_download_removes_the_partial_file() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(8 << 20, 7);
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile {
            throttle: Some(Duration::from_millis(20)),
            ..FakeFile::new(bytes)
        },
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    let running = env
        .wait(&id, |j| {
            j["bytesDownloaded"].as_u64().unwrap_or(0) > 200_000
        })
        .await;
    assert_eq!(running["status"], "downloading");
    assert!(
        running["speedBytesPerSec"].as_u64().unwrap() > 0,
        "{running}"
    );
    assert!(running["etaSeconds"].as_u64().is_some(), "{running}");
    assert!(!env.partials_left().is_empty());

    let r = env
        .api
        .client
        .delete(env.server.url(&format!("/api/models/download/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "cancelled");
    for _ in 0..50 {
        if env.partials_left().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(env.partials_left().is_empty(), "{:?}", env.partials_left());
    assert!(!env
        .server
        .models_dir
        .join("adapter/zimage-turbo-training-adapter")
        .exists());
}

#[tokio::test]
async fn too_little_disk_space_is_refused_before_starting() {
    let env = env(&[("MODELS_MIN_FREE_BYTES", "1000000000000000000")]).await;
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile::new(hub::safetensors(1000, 8)),
    );
    let (status, answer) = env
        .post(
            "/api/models/download",
            json!({"modelId": "flux-1-dev", "huggingfaceToken": "x"}),
        )
        .await;
    assert_eq!(status, 507, "{answer}");
    assert_eq!(answer["error"]["code"], "insufficient_storage");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("24.1 GB"),
        "{answer}"
    );
    let all: Value = env
        .api
        .client
        .get(env.server.url("/api/models/download"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["jobs"], json!([]));
    assert!(env.hub.seen().is_empty(), "nothing was fetched");
}

#[tokio::test]
async fn civitai_downloads_use_content_disposition_and_need_a_key_when_login_only() {
    let bytes = hub::safetensors(1 << 20, 9);
    let file = FakeFile {
        disposition: Some("dreamshaper_8 (final).safetensors".into()),
        ..FakeFile::new(bytes.clone())
    };
    let env = env_with(fakes::civitai_with_sha(&file.sha().to_uppercase()), &[]).await;
    env.hub.put("civitai/128713", file);
    env.hub.login_only(128713);
    let model = env
        .add_custom(json!({"civitaiUrl": "https://civitai.com/models/4384"}))
        .await;

    let id = env.start(json!({"modelId": model})).await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["code"], "token_required");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("logged in") && message.contains("API key"),
        "{job}"
    );

    let id = env
        .start(json!({"modelId": model, "civitaiToken": hub::CIVITAI_KEY}))
        .await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    // Saved under the name the server gave, in the LoRA folder.
    let path = env
        .server
        .models_dir
        .join(format!("lora/{model}/dreamshaper_8 (final).safetensors"));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(
        job["files"][0]["path"],
        format!("lora/{model}/dreamshaper_8 (final).safetensors")
    );
    // The key went to the CivitAI API only, never to the storage host.
    assert!(
        env.hub.seen().iter().all(|s| s.auth.is_none()),
        "{:?}",
        env.hub.seen()
    );
}

#[tokio::test]
async fn a_civitai_file_with_the_wrong_sha256_is_not_installed() {
    let env = env_with(fakes::civitai(), &[]).await;
    env.hub.put(
        "civitai/128713",
        FakeFile::new(hub::safetensors(100_000, 11)),
    );
    let model = env
        .add_custom(json!({"civitaiUrl": "https://civitai.com/model-versions/128713"}))
        .await;
    let id = env.start(json!({"modelId": model})).await;
    let job = env.finished(&id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "integrity_failed");
    assert!(env.partials_left().is_empty());
    assert!(!env.server.models_dir.join(format!("lora/{model}")).exists());
}

#[tokio::test]
async fn a_direct_url_to_loopback_is_refused_unless_allowed() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(100_000, 10);
    env.hub
        .put("url/lora.safetensors", FakeFile::new(bytes.clone()));
    let url = format!("{}/blob/url/lora.safetensors", env.hub.cdn);
    let (status, answer) = env
        .post("/api/models", json!({"url": url, "type": "lora"}))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MODELS_ALLOW_PRIVATE_URLS"),
        "{answer}"
    );

    let allowed = self::env(&[("MODELS_ALLOW_PRIVATE_URLS", "true")]).await;
    allowed
        .hub
        .put("url/lora.safetensors", FakeFile::new(bytes.clone()));
    let url = format!("{}/blob/url/lora.safetensors", allowed.hub.cdn);
    let sha = FakeFile::new(bytes.clone()).sha();
    let model = allowed
        .add_custom(json!({"url": url, "type": "lora", "sha256": sha}))
        .await;
    let id = allowed.start(json!({"modelId": model})).await;
    let job = allowed.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        std::fs::read(allowed.server.models_dir.join("lora/lora/lora.safetensors")).unwrap(),
        bytes
    );
}

#[tokio::test]
async fn deleting_a_finished_job_forgets_it() {
    let env = env(&[]).await;
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile::new(hub::safetensors(10_000, 12)),
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    assert_eq!(env.finished(&id).await["status"], "completed");
    let r = env
        .api
        .client
        .delete(env.server.url(&format!("/api/models/download/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = env
        .api
        .client
        .get(env.server.url(&format!("/api/models/download/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The model stays installed.
    let installed: Value = env
        .api
        .client
        .get(env.server.url("/api/models/installed"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(installed["models"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_stalled_transfer_shows_retrying_with_its_reason_until_cancelled() {
    let env = env(&[
        ("MODELS_DOWNLOAD_STALL_SECS", "1"),
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "4000"),
    ])
    .await;
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile {
            stall_at: Some(300_000),
            ..FakeFile::new(hub::safetensors(2 << 20, 3))
        },
    );
    let id = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    let job = env.wait(&id, |j| !j["retrying"].is_null()).await;
    assert_eq!(job["status"], "downloading", "{job}");
    let retrying = &job["retrying"];
    assert!(
        retrying["reason"]
            .as_str()
            .unwrap()
            .contains("no data for 1 s"),
        "{job}"
    );
    assert_eq!(retrying["attempt"], 1, "{job}");
    assert!(retrying["nextInSecs"].as_u64().unwrap() <= 4, "{job}");
    assert!(job["bytesDownloaded"].as_u64().unwrap() >= 300_000, "{job}");
    let (status, cancelled) = env.api.delete(&format!("/api/models/download/{id}")).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["retrying"].is_null(), "{cancelled}");
}

#[tokio::test]
async fn an_unreachable_host_shows_retrying_with_its_reason() {
    let env = env(&[
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "4000"),
    ])
    .await;
    // A port nothing listens on: the connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let model = env
        .add_custom(json!({
            "url": format!("http://127.0.0.1:{port}/lost.safetensors"),
            "name": "Lost", "type": "lora", "family": "flux"
        }))
        .await;
    let id = env.start(json!({ "modelId": model })).await;
    let job = env.wait(&id, |j| !j["retrying"].is_null()).await;
    assert_eq!(job["status"], "downloading", "{job}");
    let reason = job["retrying"]["reason"].as_str().unwrap();
    assert!(!reason.is_empty(), "{job}");
    assert!(job["retrying"]["attempt"].as_u64().unwrap() >= 1, "{job}");
    env.api.delete(&format!("/api/models/download/{id}")).await;
}

#[tokio::test]
async fn clear_finished_forgets_finished_jobs_and_leaves_running_ones() {
    let env = env(&[]).await;
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile::new(hub::safetensors(10_000, 12)),
    );
    let done = env
        .start(json!({"modelId": "zimage-turbo-training-adapter"}))
        .await;
    assert_eq!(env.finished(&done).await["status"], "completed");
    env.hub.put(
        "hf/acme/slow/model.safetensors",
        FakeFile {
            throttle: Some(Duration::from_millis(50)),
            ..FakeFile::new(hub::safetensors(8 << 20, 4))
        },
    );
    let slow = env
        .add_custom(json!({
            "huggingfaceRepo": "acme/slow", "huggingfaceFiles": ["model.safetensors"],
            "name": "Slow", "type": "lora", "family": "flux"
        }))
        .await;
    let running = env.start(json!({ "modelId": slow })).await;

    let (status, answer) = env
        .post("/api/models/download/clear-finished", json!({}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cleared"], json!([done]));
    let (_, list) = env.api.get("/api/models/download").await;
    let ids: Vec<&str> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [running.as_str()], "{list}");
    // The installed model stays installed; a second clear has nothing to do.
    let (_, installed) = env.api.get("/api/models/installed").await;
    assert_eq!(installed["models"].as_array().unwrap().len(), 1);
    let (_, again) = env
        .post("/api/models/download/clear-finished", json!({}))
        .await;
    assert_eq!(again["cleared"], json!([]));
    env.api
        .delete(&format!("/api/models/download/{running}"))
        .await;
}

#[tokio::test]
async fn a_download_request_without_a_model_id_says_so() {
    let env = env(&[]).await;
    for body in [
        json!({}),
        json!({"modelId": " "}),
        json!({"modelID": "flux-1-dev"}),
    ] {
        let (status, answer) = env.post("/api/models/download", body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["field"], "modelId", "{answer}");
    }
}

#[tokio::test]
async fn a_copy_found_damaged_by_verify_is_downloaded_again_and_an_intact_one_is_not() {
    let env = env(&[]).await;
    let bytes = hub::safetensors(1 << 20, 7);
    env.hub.put(
        &format!("hf/{ADAPTER_REPO}/{ADAPTER_FILE}"),
        FakeFile::new(bytes.clone()),
    );
    let model = "zimage-turbo-training-adapter";
    let installed = env.api.install(model).await;
    let again = json!({"modelId": model});

    // Intact: a second download is refused and changes nothing.
    let (status, answer) = env.post("/api/models/download", again.clone()).await;
    assert_eq!(status, 409, "{answer}");

    // The file is damaged in place (same size, other bytes), and verify says so.
    let path = env
        .server
        .models_dir
        .join(format!("adapter/{model}/{ADAPTER_FILE}"));
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    std::fs::write(&path, &damaged).unwrap();
    let (status, answer) = env
        .post(
            &format!("/api/models/installed/verify?id={installed}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["verification"]["ok"], false, "{answer}");

    // "Download again" repairs it: the damaged copy goes, the file comes back verified.
    let (status, answer) = env.post("/api/models/download", again).await;
    assert_eq!(status, 202, "{answer}");
    let job = env.finished(answer["jobId"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let (_, list) = env.api.get("/api/models/installed").await;
    let records = list["models"].as_array().unwrap();
    assert_eq!(records.len(), 1, "one record, the new one: {list}");
    assert_ne!(records[0]["id"], installed);
    assert_eq!(records[0]["files"][0]["sha256"], FakeFile::new(bytes).sha());
}
