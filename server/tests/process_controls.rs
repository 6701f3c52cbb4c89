//! The Downloads panel's controls across restarts of the real server binary: saved download
//! settings override the environment's, a paused job stays paused with its byte count and
//! resumes from what it kept, a finished job keeps showing its bytes.

mod common;
mod fakes;

use std::time::Duration;

use common::process::Process;
use fakes::hub::{self, FakeFile};
use serde_json::{json, Value};

const KEY: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";
const MODEL: &str = "zimage-turbo-training-adapter";
const SETTINGS: &str = "/api/models/download/settings";

fn downloaded(j: &Value) -> u64 {
    j["bytesDownloaded"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_settings_override_the_environment_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let vars = [
        ("MODELS_DOWNLOAD_LIMIT", "100M"),
        ("MODELS_DOWNLOAD_CONNECTIONS", "8"),
    ];
    let mut first = Process::start(&models, &vars).await;
    let (status, saved) = first
        .api()
        .put(
            SETTINGS,
            json!({"rateLimitBytesPerSecond": 1 << 20, "maxConcurrentJobs": 3}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let (exit, _) = first.stop_with("TERM", Duration::from_secs(10));
    assert!(exit.success());

    let second = Process::start(&models, &vars).await;
    let (status, settings) = second.api().get(SETTINGS).await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(
        settings,
        json!({"maxConcurrentJobs": 3, "rateLimitBytesPerSecond": 1 << 20, "connectionsPerFile": 8}),
        "saved values win, the rest comes from the environment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_job_stays_paused_across_a_restart_and_resumes_from_its_ranges() {
    let hub = hub::start().await;
    let bytes = hub::safetensors(16 << 20, 71);
    let size = bytes.len() as u64;
    hub.put(KEY, FakeFile::new(bytes.clone()));
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let vars = [
        ("HF_ENDPOINT", hub.base.as_str()),
        ("MODELS_DOWNLOAD_CONNECTIONS", "4"),
        ("MODELS_DOWNLOAD_RANGE_BYTES", "262144"),
        ("MODELS_DOWNLOAD_LIMIT", "4M"),
    ];
    let mut first = Process::start(&models, &vars).await;
    let api = first.api();
    let id = api.start(MODEL).await;
    api.wait(&id, Duration::from_secs(15), |j| downloaded(j) > size / 4)
        .await;
    let (status, paused) = api
        .post(&format!("/api/models/download/{id}/pause"), json!({}))
        .await;
    assert_eq!(
        (status, paused["status"].as_str()),
        (200, Some("paused")),
        "{paused}"
    );
    let kept = downloaded(&paused);
    first.child.kill().unwrap(); // kill -9: what the journal saved at the pause is all there is
    first.child.wait().unwrap();

    let mut second = Process::start(&models, &vars).await;
    let api = second.api();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let job = api.job(&id).await;
    assert_eq!(job["status"], "paused", "{job}\n{}", second.log());
    assert_eq!(downloaded(&job), kept, "{job}");
    let served = hub.served();
    let (status, resumed) = api
        .post(&format!("/api/models/download/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, 200, "{resumed}");
    let job = api.finished(&id).await;
    assert_eq!(job["status"], "completed", "{job}\n{}", second.log());
    let twice = hub.served() - size;
    assert!(
        twice < size / 10,
        "{twice} of {size} bytes were served twice ({served} before the resume)"
    );

    // A finished job shows its bytes after a restart too.
    let (exit, _) = second.stop_with("TERM", Duration::from_secs(10));
    assert!(exit.success());
    let third = Process::start(&models, &vars).await;
    let job = third.api().job(&id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(downloaded(&job), size, "{job}");
}
