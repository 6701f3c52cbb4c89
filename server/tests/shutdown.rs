//! Clean restarts and health checks: SIGTERM/SIGINT stop the real binary within 5 s with the
//! running download paused in the journal, the next start resumes it; `/healthz`, `/readyz`.

mod common;
mod fakes;

use std::time::Duration;

use common::process::Process;
use fakes::hub::{self, FakeFile};
use serde_json::{json, Value};

const KEY: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";
const MODEL: &str = "zimage-turbo-training-adapter";

async fn job(server: &Process, id: &str) -> Value {
    reqwest::get(server.url(&format!("/api/models/download/{id}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait(server: &Process, id: &str, until: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let j = job(server, id).await;
        if until(&j) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} never got there: {}", job(server, id).await);
}

/// Starts a slow download on a fresh server and waits until part of it is on disk.
async fn slow_download(hub: &hub::Hub, models: &std::path::Path) -> (Process, String) {
    let server = Process::start(
        models,
        &[("HF_ENDPOINT", &hub.base), ("CIVITAI_ENDPOINT", &hub.base)],
    )
    .await;
    let r = reqwest::Client::new()
        .post(server.url("/api/models/download"))
        .json(&json!({ "modelId": MODEL }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    wait(&server, &id, |j| {
        j["bytesDownloaded"].as_u64().unwrap_or(0) > 600_000
    })
    .await;
    (server, id)
}

fn journal_status(models: &std::path::Path, id: &str) -> String {
    let file: Value = serde_json::from_slice(
        &std::fs::read(models.join(format!(".downloads/jobs/{id}.json")))
            .expect("the job has a state file"),
    )
    .unwrap();
    file["job"]["status"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_pauses_the_download_into_the_journal_and_the_next_start_resumes_it() {
    let hub = hub::start().await;
    let bytes = hub::safetensors(4 << 20, 51);
    hub.put(
        KEY,
        FakeFile {
            throttle: Some(Duration::from_millis(15)),
            ..FakeFile::new(bytes.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let (mut first, id) = slow_download(&hub, &models).await;

    let (status, took) = first.stop_with("TERM", Duration::from_secs(5));
    assert!(status.success(), "{status:?}\n{}", first.log());
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(journal_status(&models, &id), "paused", "{}", first.log());
    assert!(first.log().contains("download paused"), "{}", first.log());

    hub.update(KEY, |f| f.throttle = None);
    let second = Process::start(
        &models,
        &[("HF_ENDPOINT", &hub.base), ("CIVITAI_ENDPOINT", &hub.base)],
    )
    .await;
    let j = wait(&second, &id, |j| j["status"] == "completed").await;
    assert_eq!(j["status"], "completed");
    let installed = models
        .join("adapter/zimage-turbo-training-adapter/zimage_turbo_training_adapter_v2.safetensors");
    assert_eq!(std::fs::read(installed).unwrap(), bytes);
    // The paused partial was kept and resumed, not started over.
    let resumed_from = hub
        .highest_resume_offset()
        .expect("a ranged request after the restart");
    assert!(resumed_from > 500_000, "resumed from {resumed_from}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_as_cleanly_as_sigterm() {
    let hub = hub::start().await;
    hub.put(
        KEY,
        FakeFile {
            throttle: Some(Duration::from_millis(15)),
            ..FakeFile::new(hub::safetensors(4 << 20, 52))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let (mut server, id) = slow_download(&hub, &models).await;
    let (status, took) = server.stop_with("INT", Duration::from_secs(5));
    assert!(status.success(), "{status:?}\n{}", server.log());
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(journal_status(&models, &id), "paused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_when_the_stop_comes_still_gets_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let mut server = Process::start(&models, &[]).await;
    // A JSON body sent in two halves: the stop arrives between them.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let body = reqwest::Body::wrap_stream(tokio_stream(rx));
    let request = reqwest::Client::new()
        .post(server.url("/api/models"))
        .header("content-type", "application/json")
        .body(body)
        .send();
    let answer = tokio::spawn(request);
    tx.send(Ok(
        br#"{"name": "Direct", "url": "http://example.com/m.safetensors","#.to_vec(),
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(Ok(br#" "type": "lora", "family": "flux"}"#.to_vec()))
        .await
        .unwrap();
    drop(tx);
    let r = answer.await.unwrap().expect("an answer, not a reset");
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let (status, _) = server.stop_with("TERM", Duration::from_secs(5));
    assert!(status.success());
    // New connections are refused once the stop began.
    assert!(reqwest::get(server.url("/healthz")).await.is_err());
}

fn tokio_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn healthz_answers_and_readyz_checks_volume_database_and_space() {
    let server = common::start(&[("MODELS_MIN_FREE_BYTES", "0")]).await;
    let r = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    let r = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ready", "checks": {"volumeWritable": true, "databaseReadable": true, "diskSpace": true, "sharedVolumeLeases": true}})
    );

    // A corrupt database: not ready, and the answer says which check failed, nothing more.
    std::fs::write(server.models_dir.join("installed-models.json"), b"{ nope").unwrap();
    let r = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["databaseReadable"], false);
    assert!(
        !text.contains(&*server.models_dir.to_string_lossy()),
        "{text}"
    );
}

#[tokio::test]
async fn readyz_is_not_ready_below_the_free_space_reserve() {
    let server = common::start(&[("MODELS_MIN_FREE_BYTES", "18000000000000000000")]).await;
    let r = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["checks"]["diskSpace"], false);
    assert_eq!(body["checks"]["volumeWritable"], true);
}
