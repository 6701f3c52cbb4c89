//! The download lifecycle under real-world trouble: a disk that fills during a download of
//! unknown size, deleting a model while it downloads, leftovers of a killed server, names that
//! try to decide a file's type, and a model whose id looks like the journal's file name.

mod common;
mod fakes;

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use common::{api::Api, process::Process};
use fakes::{
    hub::{self, FakeFile},
    lifecycle,
};
use serde_json::{json, Value};

const TORCH_ZIP: &[u8] = include_bytes!("fixtures/tiny_torch_zip.pt");
const TORCH_LEGACY: &[u8] = include_bytes!("fixtures/tiny_torch_legacy.pt");

async fn in_process(vars: &[(&str, &str)]) -> (common::TestServer, Api) {
    let server = common::start(vars).await;
    let api = server.api();
    (server, api)
}

/// The real server binary on `models_dir`, pointed at the fake hub; killed when dropped.
async fn spawn(models_dir: &Path, hub: &str, extra: &[(&str, &str)]) -> Process {
    let mut vars = vec![
        ("HF_ENDPOINT", hub),
        ("CIVITAI_ENDPOINT", hub),
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
    ];
    vars.extend_from_slice(extra);
    Process::start(models_dir, &vars).await
}

/// Every file under `dir` (relative paths), sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Bytes in the jobs' partial folders (not the job files and leases, which are rewritten
/// through temporary files at any moment).
fn partial_bytes(models_dir: &Path) -> u64 {
    let downloads = models_dir.join(".downloads");
    files_under(&downloads)
        .iter()
        .filter(|f| {
            f.split('/')
                .next()
                .is_some_and(|top| top.ends_with(".parts"))
        })
        .map(|f| std::fs::metadata(downloads.join(f)).unwrap().len())
        .sum()
}

/// Sets the modification time of `path` (file or folder) to `age` ago.
fn backdate(path: &Path, age: Duration) {
    std::fs::File::open(path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

/// Where a job keeps the partial files of `model_id`.
fn partial_dir(models_dir: &Path, model_id: &str) -> PathBuf {
    models_dir.join(format!(".downloads/{model_id}.parts"))
}

// ---------------------------------------------------------------------------------------------
// Item 6: the free-space reserve holds for downloads of unknown size; partials are removable.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_of_unknown_size_stops_before_the_reserve_and_its_partial_can_be_discarded() {
    // The "disk" is the real volume with MARGIN bytes usable above the reserve; the link
    // streams far more than that, without saying how much.
    const MARGIN: u64 = 200 << 20;
    let link = lifecycle::unknown_size(2 << 30).await;
    let free = fs4::available_space(std::env::temp_dir()).unwrap();
    let reserve = free.saturating_sub(MARGIN).to_string();
    let (server, api) = in_process(&[
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_MIN_FREE_BYTES", &reserve),
    ])
    .await;
    let model = api
        .add_custom(json!({"url": format!("{link}/big.safetensors"), "type": "lora"}))
        .await;
    let id = api.start(&model).await;
    let job = api.finished(&id).await;

    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "insufficient_storage", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("must stay free") && message.contains("MODELS_MIN_FREE_BYTES"),
        "{message}"
    );
    let kept = partial_bytes(&server.models_dir);
    assert!(kept > 0 && kept < 2 << 30, "partial of {kept} bytes");
    assert_eq!(job["partialBytes"], kept, "{job}");

    // Dismissing with "discard partial" frees the space and forgets the job.
    let (status, answer) = api
        .delete(&format!("/api/models/download/{id}?discardPartial=true"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(partial_bytes(&server.models_dir), 0);
    assert_eq!(api.get(&format!("/api/models/download/{id}")).await.0, 404);
}

// Item 6 and 8: what a killed server leaves in `.downloads/` is cleaned at the next start.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_partials_of_failed_jobs_uploads_and_orphans_are_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let downloads = models.join(".downloads");
    let day = Duration::from_secs(24 * 3600);
    let failed_job = |id: &str, model: &str| {
        json!({
            "id": id, "createdAt": "2026-01-01T00:00:00Z", "status": "failed",
            "error": {"code": "upstream", "message": "the download kept failing"},
            "installedModelId": null,
            "plan": {
                "modelId": model, "modelName": model, "family": "custom", "modelType": "lora",
                "source": "url", "folder": format!("lora/{model}"),
                "files": [{"source": {"kind": "url", "url": "http://127.0.0.1:9/x.safetensors"},
                           "dest": "x.safetensors", "expectedSize": null, "expectedSha256": null}],
                "needsHfToken": false, "needsCivitaiToken": false
            }
        })
    };
    std::fs::create_dir_all(&downloads).unwrap();
    write_json(
        &downloads.join("jobs.json"),
        &json!({"version": 1, "jobs": [failed_job("old-job", "old"), failed_job("new-job", "new")]}),
    );
    let mut leftovers = Vec::new();
    for (name, age) in [
        ("old.parts/0.partial", 2 * day),
        ("new.parts/0.partial", Duration::ZERO),
        ("gone.parts/0.partial", day),
        ("upload-0b5e7c1e-1d7a-4c1e-9a57-2f5a3b0c9d11.partial", day),
    ] {
        let path = downloads.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        backdate(&path, age);
        if path.parent().unwrap() != downloads {
            backdate(path.parent().unwrap(), age);
        }
        leftovers.push(name);
    }

    let server = spawn(
        &models,
        "http://127.0.0.1:9",
        &[("MODELS_PARTIAL_TTL_HOURS", "24")],
    )
    .await;
    assert_eq!(
        files_under(&downloads),
        [
            "jobs/new-job.json",
            "jobs/old-job.json",
            "new.parts/0.partial"
        ],
        "only the partial of a recently failed job is kept"
    );
    // The failed jobs are still listed; only the recent one offers a partial to discard.
    let old = server.api().job("old-job").await;
    assert_eq!(old["status"], "failed", "{old}");
    assert!(old["partialBytes"].is_null(), "{old}");
    assert_eq!(server.api().job("new-job").await["partialBytes"], 1000);
}

// ---------------------------------------------------------------------------------------------
// Item 7: a custom model cannot be deleted while it downloads, and nothing gets stuck.

#[tokio::test]
async fn a_custom_model_cannot_be_deleted_while_it_downloads() {
    let hub = hub::start().await;
    let bytes = hub::safetensors(2 << 20, 3);
    hub.put(
        "url/slow.safetensors",
        FakeFile {
            throttle: Some(Duration::from_millis(20)),
            ..FakeFile::new(bytes.clone())
        },
    );
    let (server, api) = in_process(&[
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ])
    .await;
    let link = format!("{}/blob/url/slow.safetensors", hub.cdn);
    let model = api
        .add_custom(json!({"url": link, "name": "Slow LoRA", "type": "lora"}))
        .await;
    let job = api.start(&model).await;

    let (status, answer) = api.delete(&format!("/api/models?id={model}")).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "conflict");
    assert_eq!(answer["error"]["jobId"], job, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains(&job),
        "{answer}"
    );

    // Once the job is cancelled the model can go, and a new one of the same name starts clean.
    api.delete(&format!("/api/models/download/{job}")).await;
    assert_eq!(api.finished(&job).await["status"], "cancelled");
    let (status, answer) = api.delete(&format!("/api/models?id={model}")).await;
    assert!(status < 300, "{status} {answer}");
    let again = api
        .add_custom(json!({"url": link, "name": "Slow LoRA", "type": "lora"}))
        .await;
    let (_, listed) = api.get("/api/models?query=slow").await;
    assert_eq!(listed["models"][0]["id"], again);
    assert_eq!(listed["models"][0]["installed"], false, "{listed}");
    assert!(!server.models_dir.join(format!("lora/{model}")).exists());
}

#[tokio::test]
async fn a_new_custom_model_never_takes_over_the_record_of_a_deleted_one() {
    // A record installed from a custom model that no longer exists (deleted mid-download by
    // an older version): a new model of the same name must not look installed.
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(models.join("lora/my-lora")).unwrap();
    std::fs::write(models.join("lora/my-lora/old.safetensors"), b"old").unwrap();
    write_json(
        &models.join("installed-models.json"),
        &json!({"schemaVersion": 1, "customModels": [], "installed": [{
            "id": "my-lora-1a2b3c4d", "sourceModelId": "my-lora", "name": "My LoRA",
            "family": "custom", "type": "lora", "source": "url",
            "files": [{"path": "lora/my-lora/old.safetensors", "sizeBytes": 3, "sha256": "0".repeat(64)}],
            "totalSizeBytes": 3, "installedAt": "2026-01-01T00:00:00Z", "lastVerification": null
        }]}),
    );
    let models_var = models.display().to_string();
    let (_server, api) = in_process(&[("MODELS_DIR", &models_var)]).await;
    let id = api
        .add_custom(json!({"url": "https://example.com/new.safetensors", "name": "My LoRA", "type": "lora"}))
        .await;
    assert_ne!(id, "my-lora");
    let (_, listed) = api.get("/api/models?query=my%20lora").await;
    assert_eq!(listed["models"][0]["installed"], false, "{listed}");
    let (status, answer) = api.delete(&format!("/api/models?id={id}")).await;
    assert!(status < 300, "{status} {answer}");
}

// ---------------------------------------------------------------------------------------------
// Item 8: a server killed at the worst moments; the next start reconciles.

/// Downloads `model` to completion on a first server process, then stops it (SIGKILL).
/// Returns the job id and the installed record.
async fn install_then_kill(models: &Path, hub: &str, add: Value) -> (String, String, Value) {
    let first = spawn(models, hub, &[]).await;
    let model = first.api().add_custom(add).await;
    let job = first.api().start(&model).await;
    let done = first.api().finished(&job).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, installed) = first.api().get("/api/models/installed").await;
    drop(first);
    (model, job, installed["models"][0].clone())
}

/// Puts the job's state file back to "still downloading", as a kill before its update leaves it.
fn journal_says_downloading(models: &Path, job: &str) {
    let path = models.join(format!(".downloads/jobs/{job}.json"));
    let mut file = read_json(&path);
    file["job"]["status"] = json!("downloading");
    file["job"]["installedModelId"] = Value::Null;
    write_json(&path, &file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_database_write_ends_installed_without_downloading_again() {
    let hub = hub::start().await;
    let bytes = hub::safetensors(1 << 20, 40);
    hub.put("url/one.safetensors", FakeFile::new(bytes.clone()));
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let link = format!("{}/blob/url/one.safetensors", hub.cdn);
    let (model, job, record) = install_then_kill(
        &models,
        &hub.base,
        json!({"url": link, "name": "One", "type": "lora"}),
    )
    .await;
    // The kill came after the database write, before the journal and partials were updated.
    journal_says_downloading(&models, &job);
    std::fs::create_dir_all(partial_dir(&models, &model)).unwrap();
    std::fs::write(partial_dir(&models, &model).join("0.partial"), &bytes).unwrap();
    let fetched_before = hub.seen().len();

    let second = spawn(&models, &hub.base, &[]).await;
    let after = second.api().finished(&job).await;
    assert_eq!(after["status"], "completed", "{after}");
    assert_eq!(after["installedModelId"], record["id"]);
    assert_eq!(hub.seen().len(), fetched_before, "nothing downloaded again");
    assert_eq!(partial_bytes(&models), 0, "the full partial was removed");
    let (_, installed) = second.api().get("/api/models/installed").await;
    assert_eq!(installed["models"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_inside_a_multi_file_install_is_finished_at_the_next_start() {
    let hub = hub::start().await;
    let a = hub::safetensors(300_000, 41);
    let b = hub::safetensors(200_000, 42);
    hub.put("hf/acme/two-files/a.safetensors", FakeFile::new(a.clone()));
    hub.put("hf/acme/two-files/b.safetensors", FakeFile::new(b.clone()));
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let (model, job, record) = install_then_kill(
        &models,
        &hub.base,
        json!({"huggingfaceRepo": "acme/two-files", "huggingfaceFiles": ["a.safetensors", "b.safetensors"]}),
    )
    .await;
    let folder = models.join(format!("base/{model}"));
    assert_eq!(
        record["files"][0]["path"],
        format!("base/{model}/a.safetensors")
    );

    // The kill came inside the install: a.safetensors was moved into the model folder,
    // b.safetensors was still a partial, and no record was written.
    let db_path = models.join("installed-models.json");
    let mut db = read_json(&db_path);
    db["installed"] = json!([]);
    write_json(&db_path, &db);
    journal_says_downloading(&models, &job);
    std::fs::create_dir_all(partial_dir(&models, &model)).unwrap();
    std::fs::rename(
        folder.join("b.safetensors"),
        partial_dir(&models, &model).join("1.partial"),
    )
    .unwrap();

    let second = spawn(&models, &hub.base, &[]).await;
    let after = second.api().finished(&job).await;
    assert_eq!(after["status"], "completed", "{after}");
    assert_eq!(std::fs::read(folder.join("a.safetensors")).unwrap(), a);
    assert_eq!(std::fs::read(folder.join("b.safetensors")).unwrap(), b);
    let (_, installed) = second.api().get("/api/models/installed").await;
    assert_eq!(
        installed["models"][0]["files"], record["files"],
        "{installed}"
    );
    assert_eq!(partial_bytes(&models), 0);
}

// ---------------------------------------------------------------------------------------------
// Item 11: content and an allow-list decide a file's type, never a remote name.

#[tokio::test]
async fn a_civitai_file_name_never_decides_the_extension() {
    // A shell script served as "evil.sh" for a model file: refused, nothing installed.
    let script = b"#!/bin/sh\necho pwned\n".to_vec();
    let file = FakeFile {
        disposition: Some("evil.sh".into()),
        ..FakeFile::new(script)
    };
    let hub = hub::start_with(fakes::civitai_with_sha(&file.sha().to_uppercase())).await;
    hub.put("civitai/128713", file);
    let hub_base = hub.base.clone();
    let (server, api) = in_process(&[
        ("CIVITAI_ENDPOINT", &hub_base),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ])
    .await;
    let model = api
        .add_custom(json!({"civitaiUrl": "https://civitai.com/models/4384"}))
        .await;
    let job = api.finished(&api.start(&model).await).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "integrity_failed", "{job}");
    assert!(!files_under(&server.models_dir)
        .iter()
        .any(|f| f.starts_with("lora/")));

    // A real model file under that name keeps the planned extension.
    let bytes = hub::safetensors(100_000, 12);
    let file = FakeFile {
        disposition: Some("evil.sh".into()),
        ..FakeFile::new(bytes.clone())
    };
    let hub = hub::start_with(fakes::civitai_with_sha(&file.sha().to_uppercase())).await;
    hub.put("civitai/128713", file);
    let hub_base = hub.base.clone();
    let (server, api) = in_process(&[
        ("CIVITAI_ENDPOINT", &hub_base),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ])
    .await;
    let model = api
        .add_custom(json!({"civitaiUrl": "https://civitai.com/models/4384"}))
        .await;
    let job = api.finished(&api.start(&model).await).await;
    assert_eq!(job["status"], "completed", "{job}");
    let installed: Vec<String> = files_under(&server.models_dir)
        .into_iter()
        .filter(|f| f.starts_with("lora/"))
        .collect();
    assert_eq!(installed, [format!("lora/{model}/evil.safetensors")]);
}

#[tokio::test]
async fn a_long_name_keeps_its_extension_and_tiny_fakes_are_refused() {
    let (_server, api) = in_process(&[]).await;
    let long = format!("{}.pt", "a".repeat(300));
    let (status, body) = api.upload(&long, TORCH_ZIP.to_vec()).await;
    assert_eq!(status, 201, "{body}");
    let path = body["model"]["files"][0]["path"].as_str().unwrap();
    assert!(path.ends_with(".pt") && path.len() < 200, "{path}");
    let (status, body) = api.upload("legacy.pth", TORCH_LEGACY.to_vec()).await;
    assert_eq!(status, 201, "{body}");

    // Four bytes that look like a pickle, a zip header with nothing behind it, a GGUF header
    // whose metadata is missing: none is a model.
    let mut gguf = b"GGUF".to_vec();
    gguf.extend(3u32.to_le_bytes());
    gguf.extend(1u64.to_le_bytes());
    gguf.extend(5u64.to_le_bytes());
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend([0u8; 60]);
    for (name, bytes) in [
        ("tiny.pt", vec![0x80, 0x02, 0x8a, 0x0a]),
        ("empty.ckpt", zip),
        ("header.gguf", gguf),
    ] {
        let (status, body) = api.upload(name, bytes).await;
        assert_eq!(status, 415, "{name}: {body}");
    }
}

#[tokio::test]
async fn a_listed_path_that_escapes_is_refused_before_anything_is_downloaded() {
    let hub = hub::start().await;
    hub.put(
        "hf/acme/sneaky/unet/model.safetensors",
        FakeFile::new(hub::safetensors(1000, 1)),
    );
    hub.put(
        "hf/acme/sneaky/unet/../../../escape.safetensors",
        FakeFile::new(hub::safetensors(1000, 2)),
    );
    let hub_base = hub.base.clone();
    let (server, api) =
        in_process(&[("HF_ENDPOINT", &hub_base), ("MODELS_MIN_FREE_BYTES", "0")]).await;
    let model = api
        .add_custom(json!({"huggingfaceRepo": "acme/sneaky", "huggingfaceFiles": ["unet/"]}))
        .await;
    let job = api.finished(&api.start(&model).await).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "invalid_input", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("escape.safetensors") && message.contains("not a path inside"),
        "{job}"
    );
    assert!(hub.seen().is_empty(), "downloaded: {:?}", hub.seen());
    assert_eq!(partial_bytes(&server.models_dir), 0);
}

// ---------------------------------------------------------------------------------------------
// Item 12: a model whose id is the journal's file name.

#[tokio::test]
async fn a_model_named_jobs_json_downloads_like_any_other() {
    let hub = hub::start().await;
    let bytes = hub::safetensors(100_000, 5);
    hub.put("url/j.safetensors", FakeFile::new(bytes.clone()));
    let (server, api) = in_process(&[
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ])
    .await;
    let model = api
        .add_custom(json!({"url": format!("{}/blob/url/j.safetensors", hub.cdn), "name": "jobs.json", "type": "lora"}))
        .await;
    assert_eq!(model, "jobs.json");
    let job = api.finished(&api.start(&model).await).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        std::fs::read(server.models_dir.join("lora/jobs.json/j.safetensors")).unwrap(),
        bytes
    );
    let file = read_json(&server.models_dir.join(format!(
        ".downloads/jobs/{}.json",
        job["id"].as_str().unwrap()
    )));
    assert_eq!(file["job"]["status"], "completed");
}
