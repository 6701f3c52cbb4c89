//! Downloads against servers that misbehave like real ones: hosts that never answer, servers
//! that ignore `Range` and drop every connection, a resolve HEAD that only has a
//! `Content-Length`, and tree pages on another origin. Over real HTTP, on loopback.

mod common;
mod fakes;

use std::time::{Duration, Instant};

use common::api::{Api, FINISHED};
use fakes::{hub, misbehave};
use serde_json::{json, Value};

const ADAPTER: &str = "zimage-turbo-training-adapter";
const ADAPTER_KEY: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";
/// A built-in model made of folders (listed with the tree API when the job starts).
const FOLDERS: &str = "qwen-image";

struct Env {
    server: common::TestServer,
    api: Api,
}

/// The server with small retry delays and no free-space reserve, plus `vars`.
async fn env(vars: &[(&str, &str)]) -> Env {
    let mut all = vec![
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "50"),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ];
    all.extend_from_slice(vars);
    let server = common::start(&all).await;
    let api = server.api();
    Env { server, api }
}

impl Env {
    async fn start(&self, body: Value) -> String {
        self.api.start_with(body).await
    }

    /// Adds a direct link as a custom LoRA; returns its model id.
    async fn add_link(&self, url: &str) -> String {
        self.api
            .add_custom(json!({"url": url, "type": "lora"}))
            .await
    }

    async fn job(&self, id: &str) -> Value {
        self.api.job(id).await
    }

    async fn finished(&self, id: &str, limit: Duration) -> Value {
        self.api
            .wait(id, limit, |j| {
                FINISHED.contains(&j["status"].as_str().unwrap_or(""))
            })
            .await
    }

    /// Cancels `id` and returns how long it took until the job reads `cancelled`.
    async fn cancel(&self, id: &str) -> Duration {
        let started = Instant::now();
        let (status, _) = self.api.delete(&format!("/api/models/download/{id}")).await;
        assert_eq!(status, 200);
        let job = self
            .api
            .wait(id, Duration::from_secs(5), |j| j["status"] == "cancelled")
            .await;
        assert_eq!(job["status"], "cancelled");
        started.elapsed()
    }
}

async fn until_connected(silent: &misbehave::Silent, count: usize) {
    for _ in 0..250 {
        if silent.connections() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the job never connected");
}

#[tokio::test]
async fn hosts_that_never_answer_fail_their_jobs_and_free_the_slots() {
    let silent = misbehave::silent().await;
    let hub = hub::start().await;
    let bytes = hub::safetensors(50_000, 1);
    hub.put(ADAPTER_KEY, hub::FakeFile::new(bytes.clone()));
    let env = env(&[
        ("HF_ENDPOINT", &hub.base),
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_DOWNLOAD_STALL_SECS", "1"),
        ("MODELS_DOWNLOAD_MAX_ATTEMPTS", "2"),
        ("MODELS_MAX_CONCURRENT_DOWNLOADS", "2"),
    ])
    .await;
    let mut stuck = Vec::new();
    for name in ["a", "b"] {
        let model = env
            .add_link(&format!("{}/{name}.safetensors", silent.base))
            .await;
        stuck.push(env.start(json!({"modelId": model})).await);
    }
    until_connected(&silent, 2).await;
    // Both slots are taken by hosts that accepted the connection and never answer.
    let third = env.start(json!({"modelId": ADAPTER})).await;
    assert_eq!(env.job(&third).await["status"], "queued");

    let job = env.finished(&third, Duration::from_secs(8)).await;
    assert_eq!(job["status"], "completed", "{job}");
    for id in &stuck {
        let job = env.finished(id, Duration::from_secs(2)).await;
        assert_eq!(job["status"], "failed", "{job}");
        assert_eq!(job["error"]["code"], "upstream");
        let message = job["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("did not answer within 1 s") && message.contains("2 attempts"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn cancel_ends_a_job_waiting_for_the_resolve_answer_within_a_second() {
    let silent = misbehave::silent().await;
    let env = env(&[("HF_ENDPOINT", &silent.base)]).await;
    let id = env.start(json!({"modelId": ADAPTER})).await;
    until_connected(&silent, 1).await;
    let took = env.cancel(&id).await;
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
}

#[tokio::test]
async fn cancel_ends_a_job_listing_a_folder_within_a_second() {
    let silent = misbehave::silent().await;
    let env = env(&[("HF_ENDPOINT", &silent.base)]).await;
    let id = env.start(json!({"modelId": FOLDERS})).await;
    until_connected(&silent, 1).await;
    let took = env.cancel(&id).await;
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
}

#[tokio::test]
async fn cancel_ends_a_job_waiting_for_a_direct_link_within_a_second() {
    let silent = misbehave::silent().await;
    let env = env(&[("MODELS_ALLOW_PRIVATE_URLS", "true")]).await;
    let model = env
        .add_link(&format!("{}/lora.safetensors", silent.base))
        .await;
    let id = env.start(json!({"modelId": model})).await;
    until_connected(&silent, 1).await;
    let took = env.cancel(&id).await;
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
}

#[tokio::test]
async fn cancel_ends_a_job_backing_off_within_a_second() {
    let silent = misbehave::silent().await;
    let env = env(&[
        ("HF_ENDPOINT", &silent.base),
        ("MODELS_DOWNLOAD_STALL_SECS", "1"),
        // The first retry waits at least half of this.
        ("MODELS_DOWNLOAD_RETRY_BASE_MS", "20000"),
    ])
    .await;
    let id = env.start(json!({"modelId": ADAPTER})).await;
    until_connected(&silent, 1).await;
    // The attempt times out after 1 s; the job is then waiting to retry.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(silent.connections(), 1, "retried without backing off");
    let took = env.cancel(&id).await;
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
}

#[tokio::test]
async fn cancel_ends_a_queued_job_within_a_second() {
    let silent = misbehave::silent().await;
    let env = env(&[
        ("HF_ENDPOINT", &silent.base),
        ("MODELS_MAX_CONCURRENT_DOWNLOADS", "1"),
    ])
    .await;
    let running = env.start(json!({"modelId": ADAPTER})).await;
    let queued = env.start(json!({"modelId": FOLDERS})).await;
    until_connected(&silent, 1).await;
    assert_eq!(env.job(&queued).await["status"], "queued");
    let took = env.cancel(&queued).await;
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    env.cancel(&running).await;
}

#[tokio::test]
async fn a_server_that_ignores_range_and_drops_every_connection_fails_after_its_attempts() {
    let bytes = hub::safetensors(400_000, 2);
    let len = bytes.len() as u64;
    let flaky = misbehave::flaky(bytes, 200_000).await;
    let env = env(&[
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_DOWNLOAD_MAX_ATTEMPTS", "3"),
    ])
    .await;
    let model = env
        .add_link(&format!("{}/lora.safetensors", flaky.base))
        .await;
    let id = env.start(json!({"modelId": model})).await;
    let job = env.finished(&id, Duration::from_secs(8)).await;
    // The first request got half the file; each start-over from zero is an attempt.
    assert!(flaky.requests() <= 4, "{} requests", flaky.requests());
    assert!(
        flaky.bytes_sent() <= 4 * len / 2,
        "{} bytes pulled for a {len}-byte file",
        flaky.bytes_sent()
    );
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "upstream");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(message.contains("3 attempts"), "{message}");
}

#[tokio::test]
async fn a_resolve_head_with_only_a_content_length_gives_the_job_its_size() {
    let bytes = hub::safetensors(600_000, 3);
    let len = bytes.len() as u64;
    let plain = misbehave::plain_resolve(bytes.clone()).await;
    let env = env(&[("HF_ENDPOINT", &plain)]).await;
    let id = env.start(json!({"modelId": ADAPTER})).await;
    let running = env
        .api
        .wait(&id, Duration::from_secs(5), |j| {
            j["bytesDownloaded"].as_u64().unwrap_or(0) > 150_000
        })
        .await;
    assert_eq!(running["status"], "downloading", "{running}");
    assert_eq!(running["totalBytes"], len, "{running}");
    assert!(running["etaSeconds"].as_u64().is_some(), "{running}");
    let job = env.finished(&id, Duration::from_secs(8)).await;
    assert_eq!(job["status"], "completed", "{job}");
    let installed = env.server.models_dir.join(format!(
        "adapter/{ADAPTER}/zimage_turbo_training_adapter_v2.safetensors"
    ));
    assert_eq!(std::fs::read(installed).unwrap(), bytes);
}

#[tokio::test]
async fn the_token_never_follows_a_tree_page_to_another_origin() {
    let token = "hf_CANARY_pagination_91c2";
    let pages = misbehave::foreign_pages().await;
    let env = env(&[("HF_ENDPOINT", &pages.hub), ("HF_TOKEN", token)]).await;
    let id = env.start(json!({"modelId": FOLDERS})).await;
    env.finished(&id, Duration::from_secs(8)).await;
    let hub_saw = pages.hub_saw.lock().unwrap().clone();
    assert!(
        hub_saw.contains(&Some(format!("Bearer {token}"))),
        "the Hub itself gets the token: {hub_saw:?}"
    );
    let other_saw = pages.other_saw.lock().unwrap().clone();
    assert!(!other_saw.is_empty(), "the next page was not fetched");
    assert!(
        other_saw.iter().all(Option::is_none),
        "another origin got the token: {other_saw:?}"
    );
}
