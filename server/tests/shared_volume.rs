//! Three server processes on one MODELS_DIR (pods on one network volume): one download per
//! model, takeover of a dead owner's job, cancel and pause/resume from any server, stale and
//! live leases, download settings, and hundreds of concurrent changes that every server sees.

mod common;
mod fakes;

use std::{
    collections::BTreeSet,
    path::Path,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use common::{api::Api, process::Process};
use fakes::hub::{self, FakeFile, Hub};
use serde_json::{json, Value};

const MODEL: &str = "zimage-turbo-training-adapter";
const KEY: &str =
    "hf/ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors";
const INSTALLED: &str =
    "adapter/zimage-turbo-training-adapter/zimage_turbo_training_adapter_v2.safetensors";
/// `MODELS_LEASE_SECS` in these tests: a lease not renewed for this long is stale.
const LEASE_SECS: u64 = 3;

async fn server(models: &Path, hub: &Hub) -> Process {
    Process::start(
        models,
        &[
            ("HF_ENDPOINT", &hub.base),
            ("CIVITAI_ENDPOINT", &hub.base),
            ("MODELS_ALLOW_PRIVATE_URLS", "true"),
            ("MODELS_LEASE_SECS", &LEASE_SECS.to_string()),
        ],
    )
    .await
}

async fn three(models: &Path, hub: &Hub) -> Vec<Process> {
    vec![
        server(models, hub).await,
        server(models, hub).await,
        server(models, hub).await,
    ]
}

/// A file served slowly enough to outlive the lease expiry several times over.
fn slow_file(hub: &Hub, size: usize, seed: u8, pause_ms: u64) -> Vec<u8> {
    let bytes = hub::safetensors(size, seed);
    hub.put(
        KEY,
        FakeFile {
            throttle: Some(Duration::from_millis(pause_ms)),
            ..FakeFile::new(bytes.clone())
        },
    );
    bytes
}

fn took_over(p: &Process) -> usize {
    p.log()
        .matches("taking over a download whose server stopped")
        .count()
}

/// What is left in `.downloads/` besides job files: partial folders, leases.
fn leftovers(models: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(models.join(".downloads"))
        .unwrap()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        match name.as_str() {
            "jobs" => {}
            "leases" => out.extend(
                std::fs::read_dir(entry.path())
                    .unwrap()
                    .flatten()
                    .map(|e| format!("leases/{}", e.file_name().to_string_lossy())),
            ),
            _ => out.push(name),
        }
    }
    out
}

/// Waits (at most 2 s) until `.downloads/` holds nothing but job files: the owner releases a
/// lease just after writing the job's final state, which other servers may already report.
async fn no_leftovers(models: &Path) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !leftovers(models).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left over: {:?}",
            leftovers(models)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn installed_ids(api: &Api) -> Vec<String> {
    let (_, body) = api.get("/api/models/installed").await;
    body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_model_started_on_three_servers_downloads_once_and_no_live_lease_is_stolen() {
    let hub = hub::start().await;
    // About 6 s at 40 ms per 64 KiB: twice the lease expiry, so a live owner is tested.
    let bytes = slow_file(&hub, 9 << 20, 70, 40);
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let servers = three(&models, &hub).await;
    let apis: Vec<Api> = servers.iter().map(Process::api).collect();

    let body = json!({ "modelId": MODEL });
    let (a, b, c) = tokio::join!(
        apis[0].post("/api/models/download", body.clone()),
        apis[1].post("/api/models/download", body.clone()),
        apis[2].post("/api/models/download", body.clone()),
    );
    for (status, answer) in [&a, &b, &c] {
        assert_eq!(*status, 202, "{answer}");
    }
    let id = a.1["jobId"].as_str().unwrap().to_string();
    assert_eq!(b.1["jobId"], id.as_str(), "one job per model per volume");
    assert_eq!(c.1["jobId"], id.as_str(), "one job per model per volume");

    // Every server follows the progress of the one job while it runs.
    for api in &apis {
        api.wait(&id, Duration::from_secs(10), |j| {
            j["status"] == "downloading" && j["bytesDownloaded"].as_u64().unwrap_or(0) > 0
        })
        .await;
    }
    for api in &apis {
        let job = api
            .wait(&id, Duration::from_secs(60), |j| j["status"] == "completed")
            .await;
        assert_eq!(job["bytesDownloaded"], bytes.len(), "{job}");
    }
    let served = hub.served();
    assert!(
        served < bytes.len() as u64 * 11 / 10,
        "{served} bytes served for one copy of {}",
        bytes.len()
    );
    assert_eq!(std::fs::read(models.join(INSTALLED)).unwrap(), bytes);
    for api in &apis {
        assert_eq!(installed_ids(api).await.len(), 1, "one installed record");
        let (_, jobs) = api.get("/api/models/download").await;
        assert_eq!(jobs["jobs"].as_array().unwrap().len(), 1, "{jobs}");
    }
    // The owner kept its lease for longer than the expiry: nobody took it over.
    for s in &servers {
        assert_eq!(took_over(s), 0, "a live lease was taken over:\n{}", s.log());
    }
    no_leftovers(&models).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_owner_s_download_is_finished_by_another_server() {
    let hub = hub::start().await;
    let bytes = slow_file(&hub, 6 << 20, 71, 20);
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let mut servers = three(&models, &hub).await;
    let id = servers[0].api().start(MODEL).await;
    servers[0]
        .api()
        .wait(&id, Duration::from_secs(20), |j| {
            j["bytesDownloaded"].as_u64().unwrap_or(0) > 2 << 20
        })
        .await;
    let mut owner = servers.remove(0);
    owner.child.kill().unwrap(); // SIGKILL: the lease is never released
    owner.child.wait().unwrap();
    let killed = Instant::now();

    let job = servers[0]
        .api()
        .wait(&id, Duration::from_secs(LEASE_SECS + 30), |j| {
            j["status"] == "completed"
        })
        .await;
    println!(
        "taken over and finished {:?} after the kill",
        killed.elapsed()
    );
    assert_eq!(job["bytesDownloaded"], bytes.len());
    assert_eq!(std::fs::read(models.join(INSTALLED)).unwrap(), bytes);
    let (_, record) = servers[1].api().get("/api/models/installed").await;
    assert_eq!(
        record["models"][0]["files"][0]["sha256"],
        FakeFile::new(bytes.clone()).sha()
    );
    assert_eq!(
        servers.iter().map(took_over).sum::<usize>(),
        1,
        "exactly one server took the job over"
    );
    // It resumed from the partial the dead server left.
    assert!(hub.highest_resume_offset().unwrap_or(0) > 1 << 20);
    no_leftovers(&models).await;
    assert_eq!(
        std::fs::read_dir(models.join(".downloads/jobs"))
            .unwrap()
            .count(),
        1,
        "one job file, completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_on_another_server_stops_the_owner_s_transfer() {
    let hub = hub::start().await;
    slow_file(&hub, 8 << 20, 72, 30);
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let servers = three(&models, &hub).await;
    let owner = servers[0].api();
    let id = owner.start(MODEL).await;
    owner
        .wait(&id, Duration::from_secs(20), |j| {
            j["bytesDownloaded"].as_u64().unwrap_or(0) > 1 << 20
        })
        .await;
    assert!(models
        .join(".downloads/zimage-turbo-training-adapter.parts")
        .exists());

    let (status, answer) = servers[1]
        .api()
        .delete(&format!("/api/models/download/{id}"))
        .await;
    assert_eq!(status, 200, "{answer}");
    for s in &servers {
        let job = s.api().finished(&id).await;
        assert_eq!(job["status"], "cancelled", "{job}");
    }
    // The owner stopped its connections and removed its own partial files; nothing installed.
    let deadline = Instant::now() + Duration::from_secs(5);
    while hub.state.in_flight.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < deadline, "the transfer goes on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let served = hub.served();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hub.served(), served, "bytes still flow after the cancel");
    no_leftovers(&models).await;
    assert!(!models.join(INSTALLED).exists());
    assert!(servers[0]
        .log()
        .contains("cancel requested by another server"));
}

/// Waits until the fake hub sends no body any more and no byte flows for half a second.
async fn transfer_stopped(hub: &Hub, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while hub.state.in_flight.load(Ordering::SeqCst) > 0 {
        assert!(
            Instant::now() < deadline,
            "the transfer goes on after the {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let served = hub.served();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hub.served(), served, "bytes still flow after the {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pause_on_another_server_holds_for_all_and_a_resume_anywhere_finishes_it() {
    let hub = hub::start().await;
    let bytes = slow_file(&hub, 8 << 20, 74, 30);
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let mut servers = three(&models, &hub).await;
    let id = servers[0].api().start(MODEL).await;
    servers[0]
        .api()
        .wait(&id, Duration::from_secs(20), |j| {
            j["bytesDownloaded"].as_u64().unwrap_or(0) > 1 << 20
        })
        .await;

    // Paused through a server that does not run it: the owner stops its transfer.
    let (status, answer) = servers[1]
        .api()
        .post(&format!("/api/models/download/{id}/pause"), json!({}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "paused", "{answer}");
    transfer_stopped(&hub, "pause").await;
    assert!(servers[0]
        .log()
        .contains("pause requested by another server"));
    let kept = servers[2].api().job(&id).await["bytesDownloaded"]
        .as_u64()
        .unwrap();
    assert!(kept > 1 << 20, "the paused job shows its bytes: {kept}");

    // Its former owner dies; a paused job is not an orphan: nobody takes it over.
    let served = hub.served();
    let mut owner = servers.remove(0);
    owner.child.kill().unwrap();
    owner.child.wait().unwrap();
    tokio::time::sleep(Duration::from_secs(LEASE_SECS + 2)).await;
    for s in &servers {
        let job = s.api().job(&id).await;
        assert_eq!(job["status"], "paused", "{job}");
        assert_eq!(job["bytesDownloaded"], kept, "{job}");
        assert_eq!(took_over(s), 0, "a paused job was taken over:\n{}", s.log());
    }
    assert_eq!(hub.served(), served, "nothing downloads while paused");

    // Resumed on the other server: it finishes from the kept ranges.
    hub.update(KEY, |f| f.throttle = None);
    let (status, answer) = servers[1]
        .api()
        .post(&format!("/api/models/download/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, 200, "{answer}");
    for s in &servers {
        let job = s
            .api()
            .wait(&id, Duration::from_secs(30), |j| j["status"] == "completed")
            .await;
        assert_eq!(job["bytesDownloaded"], bytes.len(), "{job}");
    }
    assert!(hub.highest_resume_offset().unwrap_or(0) >= kept / 2);
    assert_eq!(std::fs::read(models.join(INSTALLED)).unwrap(), bytes);
    let (_, record) = servers[0].api().get("/api/models/installed").await;
    assert_eq!(
        record["models"][0]["files"][0]["sha256"],
        FakeFile::new(bytes.clone()).sha()
    );
    // A second resume is refused: the job is no longer paused.
    let (status, answer) = servers[0]
        .api()
        .post(&format!("/api/models/download/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, 409, "{answer}");
    no_leftovers(&models).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn download_settings_saved_on_one_server_reach_the_others_without_a_restart() {
    let hub = hub::start().await;
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let servers = three(&models, &hub).await;
    let settings = "/api/models/download/settings";
    let (status, saved) = servers[0]
        .api()
        .put(
            settings,
            json!({"rateLimitBytesPerSecond": 5_000_000, "maxConcurrentJobs": 3}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let deadline = Instant::now() + Duration::from_secs(2) + Duration::from_millis(500);
    for s in &servers[1..] {
        loop {
            let (_, now) = s.api().get(settings).await;
            if now == saved {
                break;
            }
            assert!(Instant::now() < deadline, "{now} is not {saved}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_lease_of_a_server_on_another_machine_is_taken_over_after_the_expiry() {
    let hub = hub::start().await;
    let bytes = slow_file(&hub, 4 << 20, 73, 20);
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    // A server downloads, then dies; its lease is rewritten to look like a server on another
    // machine (whose process nobody here can check), so only the expiry can free it.
    let mut first = server(&models, &hub).await;
    let id = first.api().start(MODEL).await;
    first
        .api()
        .wait(&id, Duration::from_secs(20), |j| {
            j["bytesDownloaded"].as_u64().unwrap_or(0) > 1 << 20
        })
        .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let lease_path = models.join(".downloads/leases/zimage-turbo-training-adapter.parts.lease");
    let mut lease: Value = serde_json::from_slice(&std::fs::read(&lease_path).unwrap()).unwrap();
    assert_eq!(lease["jobId"], id.as_str());
    assert_eq!(lease["token"], 1);
    lease["owner"]["host"] = json!("another-machine/pid:[1]");
    std::fs::write(&lease_path, serde_json::to_vec(&lease).unwrap()).unwrap();
    // And a lease whose job file was never written (a server died between the two): it goes
    // once stale too.
    lease["jobId"] = json!("never-written");
    std::fs::write(
        models.join(".downloads/leases/other.parts.lease"),
        serde_json::to_vec(&lease).unwrap(),
    )
    .unwrap();

    hub.update(KEY, |f| f.throttle = None);
    let started = Instant::now();
    let servers = [server(&models, &hub).await, server(&models, &hub).await];
    // Within the expiry the lease is respected...
    tokio::time::sleep(Duration::from_millis(LEASE_SECS * 1000 / 2)).await;
    let job = servers[0].api().job(&id).await;
    assert_eq!(job["status"], "downloading", "{job}");
    assert_eq!(servers.iter().map(took_over).sum::<usize>(), 0);
    // ...then one server takes it over and finishes it.
    let job = servers[1]
        .api()
        .wait(&id, Duration::from_secs(LEASE_SECS + 30), |j| {
            j["status"] == "completed"
        })
        .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(LEASE_SECS),
        "taken over after {took:?}, before the lease expired"
    );
    assert_eq!(job["bytesDownloaded"], bytes.len());
    assert_eq!(std::fs::read(models.join(INSTALLED)).unwrap(), bytes);
    assert_eq!(servers.iter().map(took_over).sum::<usize>(), 1);
    no_leftovers(&models).await;
}

/// Adds, removes, installs and deletes through three servers at once; the database must parse
/// at every moment, no change may be lost, and every server must list the same at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_hundred_concurrent_changes_through_three_servers_lose_nothing() {
    const ADDS_PER_SERVER: usize = 150;
    const INSTALLS: usize = 24;
    let hub = hub::start().await;
    for i in 0..INSTALLS {
        hub.put(
            &format!("url/f{i}.safetensors"),
            FakeFile::new(hub::safetensors(50_000, i as u8)),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let servers = three(&models, &hub).await;
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();

    let reader = common::db_reader::DbReader::start(models.join("installed-models.json"));

    let mut tasks = Vec::new();
    for s in 0..3 {
        for i in 0..ADDS_PER_SERVER {
            let (here, other) = (Api::new(&bases[s]), Api::new(&bases[(s + 1) % 3]));
            tasks.push(tokio::spawn(async move {
                let id = here
                    .add_custom(json!({"name": format!("shared {s} {i}"), "url": format!("https://203.0.113.7/{s}/{i}.safetensors")}))
                    .await;
                if i % 3 == 0 {
                    let (status, answer) = other.delete(&format!("/api/models?id={id}")).await;
                    assert_eq!(status, 200, "remove {id}: {answer}");
                    (1 + 1, None)
                } else {
                    (1, Some(id))
                }
            }));
        }
    }
    let mut installs = Vec::new();
    for i in 0..INSTALLS {
        let apis: Vec<Api> = (0..3).map(|k| Api::new(&bases[(i + k) % 3])).collect();
        let link = format!("{}/blob/url/f{i}.safetensors", hub.cdn);
        installs.push(tokio::spawn(async move {
            let model = apis[0]
                .add_custom(json!({"name": format!("file {i}"), "url": link, "type": "lora"}))
                .await;
            let job = apis[1].start(&model).await;
            // Another server than the one asked sees it finish.
            let done = apis[2]
                .wait(&job, Duration::from_secs(60), |j| {
                    ["completed", "failed", "cancelled"]
                        .contains(&j["status"].as_str().unwrap_or(""))
                })
                .await;
            assert_eq!(done["status"], "completed", "{done}");
            let installed = done["installedModelId"].as_str().unwrap().to_string();
            let mut ops = 3;
            if i % 2 == 0 {
                let (status, answer) = apis[0]
                    .delete(&format!("/api/models/installed?id={installed}"))
                    .await;
                assert_eq!(status, 200, "{answer}");
                ops += 1;
                (ops, None)
            } else {
                (ops, Some(installed))
            }
        }));
    }
    let mut ops = 0;
    let mut kept = BTreeSet::new();
    for task in tasks {
        let (n, id) = task.await.unwrap();
        ops += n;
        kept.extend(id);
    }
    let mut kept_installed = BTreeSet::new();
    for task in installs {
        let (n, id) = task.await.unwrap();
        ops += n;
        kept_installed.extend(id);
    }
    let finished = Instant::now();
    let reads = reader.stop();
    assert!(ops >= 600, "only {ops} operations");

    // Every server lists exactly what was added and not removed, within 2 s.
    for base in &bases {
        let api = Api::new(base);
        loop {
            let (_, listed) = api.get("/api/models?query=shared").await;
            let ids: BTreeSet<String> = listed["models"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["builtIn"] == false)
                .map(|m| m["id"].as_str().unwrap().to_string())
                .collect();
            let installed: BTreeSet<String> = installed_ids(&api).await.into_iter().collect();
            if ids == kept && installed == kept_installed {
                break;
            }
            assert!(
                finished.elapsed() < Duration::from_secs(2),
                "{base} still disagrees after 2 s: {} of {} custom models, {} of {} installed",
                ids.len(),
                kept.len(),
                installed.len(),
                kept_installed.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(
        kept.len(),
        3 * (ADDS_PER_SERVER - ADDS_PER_SERVER.div_ceil(3))
    );
    println!("{ops} operations through three servers, {reads} concurrent reads, none lost");
}
