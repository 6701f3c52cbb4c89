//! The Downloads panel's controls over real HTTP against the fake hub and CDN (which counts
//! every body byte it sends): download settings changed at run time (the rate of a running
//! download, more concurrent jobs), pause and resume, and cancel answering `cancelled`.

mod common;
mod fakes;

use std::time::{Duration, Instant};

use common::api::Api;
use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

const KEY: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";
const MODEL: &str = "zimage-turbo-training-adapter";
const INSTALLED: &str =
    "adapter/zimage-turbo-training-adapter/zimage_turbo_training_adapter_v2.safetensors";
const SETTINGS: &str = "/api/models/download/settings";

struct Env {
    hub: Hub,
    server: common::TestServer,
    api: Api,
}

async fn env(extra: &[(&str, &str)]) -> Env {
    let hub = hub::start().await;
    let mut vars = vec![
        ("HF_ENDPOINT", hub.base.as_str()),
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "50"),
        ("MODELS_DOWNLOAD_STALL_SECS", "5"),
        ("MODELS_MIN_FREE_BYTES", "0"),
        ("MODELS_DOWNLOAD_CONNECTIONS", "2"),
        ("MODELS_DOWNLOAD_RANGE_BYTES", "262144"),
    ];
    vars.extend_from_slice(extra);
    let server = common::start(&vars).await;
    let api = server.api();
    Env { hub, server, api }
}

fn downloaded(j: &Value) -> u64 {
    j["bytesDownloaded"].as_u64().unwrap_or(0)
}

impl Env {
    async fn wait(&self, id: &str, until: impl Fn(&Value) -> bool) -> Value {
        self.api.wait(id, Duration::from_secs(15), until).await
    }

    async fn put_settings(&self, body: Value) -> Value {
        let (status, answer) = self.api.put(SETTINGS, body).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// Bytes per second over `window`, as the CDN served them and as the job counted them.
    async fn rates(&self, id: &str, window: Duration) -> (f64, f64) {
        let (served, job, t) = (
            self.hub.served(),
            downloaded(&self.api.job(id).await),
            Instant::now(),
        );
        tokio::time::sleep(window).await;
        let secs = t.elapsed().as_secs_f64();
        (
            (self.hub.served() - served) as f64 / secs,
            (downloaded(&self.api.job(id).await) - job) as f64 / secs,
        )
    }
}

#[tokio::test]
async fn settings_come_from_the_environment_and_a_put_changes_only_what_it_names() {
    let env = env(&[
        ("MODELS_DOWNLOAD_LIMIT", "200M"),
        ("MODELS_MAX_CONCURRENT_DOWNLOADS", "3"),
    ])
    .await;
    let (status, settings) = env.api.get(SETTINGS).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(
        settings,
        json!({"maxConcurrentJobs": 3, "rateLimitBytesPerSecond": 200 << 20, "connectionsPerFile": 2})
    );
    let changed = env.put_settings(json!({"connectionsPerFile": 8})).await;
    assert_eq!(
        changed,
        json!({"maxConcurrentJobs": 3, "rateLimitBytesPerSecond": 200 << 20, "connectionsPerFile": 8})
    );
    for (body, field) in [
        (json!({"maxConcurrentJobs": 0}), "maxConcurrentJobs"),
        (json!({"connectionsPerFile": "16"}), "connectionsPerFile"),
        (
            json!({"rateLimitBytesPerSecond": -5}),
            "rateLimitBytesPerSecond",
        ),
        (json!({"rateLimit": 5}), "rateLimit"),
    ] {
        let (status, answer) = env.api.put(SETTINGS, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    // A refused change changed nothing, and the database holds only what was chosen.
    assert_eq!(env.api.get(SETTINGS).await.1, changed);
    let db = std::fs::read_to_string(env.server.models_dir.join("installed-models.json")).unwrap();
    let db: Value = serde_json::from_str(&db).unwrap();
    assert_eq!(db["schemaVersion"], server::storage::SCHEMA_VERSION);
    assert_eq!(db["downloadSettings"], json!({"connectionsPerFile": 8}));
}

#[tokio::test]
async fn a_put_changes_the_rate_of_a_running_download_within_ten_percent() {
    let env = env(&[("MODELS_DOWNLOAD_LIMIT", "512K")]).await;
    let bytes = hub::safetensors(16 << 20, 61);
    env.hub.put(KEY, FakeFile::new(bytes.clone()));
    let id = env.api.start(MODEL).await;
    env.wait(&id, |j| downloaded(j) > 256 << 10).await;
    let (served, counted) = env.rates(&id, Duration::from_secs(2)).await;
    let before = 512.0 * 1024.0;
    assert!(
        (0.85..=1.15).contains(&(counted / before)),
        "{counted:.0} B/s before the change"
    );

    let limit = 2u64 << 20;
    env.put_settings(json!({"rateLimitBytesPerSecond": limit}))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (served_after, counted_after) = env.rates(&id, Duration::from_secs(4)).await;
    for (what, rate) in [
        ("served by the CDN", served_after),
        ("counted by the job", counted_after),
    ] {
        assert!(
            (0.9..=1.1).contains(&(rate / limit as f64)),
            "{rate:.0} B/s {what} with a limit of {limit} B/s (before: {served:.0} served)"
        );
    }
    env.put_settings(json!({"rateLimitBytesPerSecond": 0}))
        .await;
    let job = env.api.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        std::fs::read(env.server.models_dir.join(INSTALLED)).unwrap(),
        bytes
    );
}

#[tokio::test]
async fn raising_concurrency_starts_a_queued_job_and_lowering_it_lets_running_jobs_finish() {
    let env = env(&[
        ("MODELS_MAX_CONCURRENT_DOWNLOADS", "1"),
        ("MODELS_DOWNLOAD_LIMIT", "1M"),
    ])
    .await;
    let second_key = "hf/acme/second/model.safetensors";
    env.hub
        .put(KEY, FakeFile::new(hub::safetensors(4 << 20, 62)));
    env.hub
        .put(second_key, FakeFile::new(hub::safetensors(4 << 20, 63)));
    let second = env
        .api
        .add_custom(json!({"name": "Second", "huggingfaceRepo": "acme/second", "huggingfaceFiles": ["model.safetensors"]}))
        .await;
    let first = env.api.start(MODEL).await;
    env.wait(&first, |j| downloaded(j) > 0).await;
    let queued = env.api.start(&second).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.api.job(&queued).await["status"], "queued");

    env.put_settings(json!({"maxConcurrentJobs": 2})).await;
    let started = Instant::now();
    env.wait(&queued, |j| downloaded(j) > 0).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(env.api.job(&first).await["status"], "downloading");

    // Fewer slots than running jobs: both go on to the end.
    env.put_settings(json!({"maxConcurrentJobs": 1, "rateLimitBytesPerSecond": 0}))
        .await;
    for id in [first, queued] {
        let job = env.api.finished(&id).await;
        assert_eq!(job["status"], "completed", "{job}");
    }
}

#[tokio::test]
async fn a_paused_job_keeps_its_ranges_and_resumes_from_them() {
    let env = env(&[
        ("MODELS_DOWNLOAD_LIMIT", "4M"),
        ("MODELS_DOWNLOAD_CONNECTIONS", "4"),
    ])
    .await;
    // Ranges in flight when the job pauses were pushed whole into socket buffers (4 of
    // 256 KiB): small against the file, as against any real model file.
    let bytes = hub::safetensors(16 << 20, 64);
    let size = bytes.len() as u64;
    env.hub.put(KEY, FakeFile::new(bytes.clone()));
    let id = env.api.start(MODEL).await;
    env.wait(&id, |j| downloaded(j) > size / 4).await;

    let (status, paused) = env
        .api
        .post(&format!("/api/models/download/{id}/pause"), json!({}))
        .await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["status"], "paused", "{paused}");
    assert_eq!(paused["id"], id.as_str());
    let kept = downloaded(&paused);
    assert!(kept > size / 4, "{paused}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = env.api.job(&id).await;
    assert_eq!(
        (still["status"].as_str(), downloaded(&still)),
        (Some("paused"), kept)
    );
    let served = env.hub.served();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.hub.served(), served, "nothing is fetched while paused");
    assert!(
        env.server
            .models_dir
            .join(".downloads/zimage-turbo-training-adapter.parts/0.partial")
            .exists(),
        "the partial file is kept"
    );

    let (status, again) = env
        .api
        .post(&format!("/api/models/download/{id}/pause"), json!({}))
        .await;
    assert_eq!(status, 409, "{again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already paused"),
        "{again}"
    );

    env.put_settings(json!({"rateLimitBytesPerSecond": 0}))
        .await;
    let (status, resumed) = env
        .api
        .post(&format!("/api/models/download/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, 200, "{resumed}");
    assert!(
        ["queued", "downloading"].contains(&resumed["status"].as_str().unwrap()),
        "{resumed}"
    );
    let job = env.api.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        std::fs::read(env.server.models_dir.join(INSTALLED)).unwrap(),
        bytes
    );
    let twice = env.hub.served().saturating_sub(size);
    assert!(
        twice < size / 10,
        "{twice} of {size} bytes were served twice"
    );

    let (status, done) = env
        .api
        .post(&format!("/api/models/download/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, 409, "{done}");
    let (status, _) = env
        .api
        .post("/api/models/download/no-such-job/pause", json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = env
        .api
        .post("/api/models/download/no-such-job/resume", json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_queued_job_pauses_and_cancel_answers_cancelled() {
    let env = env(&[
        ("MODELS_MAX_CONCURRENT_DOWNLOADS", "1"),
        ("MODELS_DOWNLOAD_LIMIT", "1M"),
    ])
    .await;
    env.hub
        .put(KEY, FakeFile::new(hub::safetensors(8 << 20, 65)));
    env.hub.put(
        "hf/acme/second/model.safetensors",
        FakeFile::new(hub::safetensors(1 << 20, 66)),
    );
    let second = env
        .api
        .add_custom(json!({"name": "Second", "huggingfaceRepo": "acme/second", "huggingfaceFiles": ["model.safetensors"]}))
        .await;
    let running = env.api.start(MODEL).await;
    env.wait(&running, |j| downloaded(j) > 0).await;
    let queued = env.api.start(&second).await;
    let (status, paused) = env
        .api
        .post(&format!("/api/models/download/{queued}/pause"), json!({}))
        .await;
    assert_eq!(
        (status, paused["status"].as_str()),
        (200, Some("paused")),
        "{paused}"
    );

    let (status, cancelled) = env
        .api
        .delete(&format!("/api/models/download/{running}"))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert!(!env
        .server
        .models_dir
        .join(".downloads/zimage-turbo-training-adapter.parts")
        .exists());
    // The freed slot does not wake the paused job.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.api.job(&queued).await["status"], "paused");
}
