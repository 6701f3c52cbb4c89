//! The command line (`model-manager SUBCOMMAND`) as a user runs it: the real binary against
//! the real server binary, pointed at the fake Hugging Face, CivitAI and CDN.

mod common;
mod fakes;

use std::{path::Path, time::Duration};

use common::{
    cli::{Cli, Run},
    process::Process,
};
use fakes::hub::{self, FakeFile, Hub};
use serde_json::Value;

/// A fake hub (with the CivitAI API publishing `civitai`'s sha256), and the real server on it.
struct Env {
    hub: Hub,
    server: Process,
    cli: Cli,
    dir: tempfile::TempDir,
}

async fn env_with(civitai: &FakeFile, vars: &[(&str, &str)]) -> Env {
    let hub = hub::start_with(fakes::civitai_with_sha(&civitai.sha().to_uppercase())).await;
    hub.put("civitai/128713", civitai.clone());
    let dir = tempfile::tempdir().unwrap();
    let datasets = dir.path().join("datasets");
    std::fs::create_dir_all(&datasets).unwrap();
    let datasets = datasets.display().to_string();
    let mut all = vec![
        ("HF_ENDPOINT", hub.base.as_str()),
        ("CIVITAI_ENDPOINT", hub.base.as_str()),
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("DATASETS_DIR", datasets.as_str()),
    ];
    all.extend_from_slice(vars);
    let server = Process::start(&dir.path().join("models"), &all).await;
    let cli = Cli::new(&server.base);
    Env {
        hub,
        server,
        cli,
        dir,
    }
}

async fn env() -> Env {
    env_with(&civitai_file(), &[]).await
}

fn civitai_file() -> FakeFile {
    FakeFile {
        disposition: Some("dreamshaper_8.safetensors".into()),
        ..FakeFile::new(hub::safetensors(300_000, 3))
    }
}

/// A file the CDN sends in 64 KiB pieces with `pause` between them.
fn slow(bytes: Vec<u8>, pause_ms: u64) -> FakeFile {
    FakeFile {
        throttle: Some(Duration::from_millis(pause_ms)),
        ..FakeFile::new(bytes)
    }
}

const ORDER: [&str; 4] = ["queued", "downloading", "verifying", "completed"];

/// `download --json` printed the job as it went: parseable lines, statuses in order, bytes
/// never going back, ending in `completed`. The last line.
fn completed_in_order(run: &Run) -> Value {
    let lines = run.json_lines();
    assert!(!lines.is_empty(), "{run:?}");
    let mut rank = 0;
    let mut bytes = 0;
    for line in &lines {
        let status = line["status"].as_str().unwrap();
        let now = ORDER
            .iter()
            .position(|s| *s == status)
            .unwrap_or_else(|| panic!("unexpected status in {line}"));
        assert!(now >= rank, "statuses out of order: {}", run.stdout);
        let done = line["bytesDownloaded"].as_u64().unwrap();
        assert!(done >= bytes, "bytes went back: {}", run.stdout);
        (rank, bytes) = (now, done);
    }
    let last = lines.last().unwrap().clone();
    assert_eq!(last["status"], "completed", "{}", run.stdout);
    last
}

fn installed_ids(run: &Run) -> Vec<String> {
    run.json()["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hugging_face_file_downloads_with_json_progress_then_verify_and_rm() {
    let env = env().await;
    let bytes = hub::safetensors(4 << 20, 11);
    env.hub
        .put("hf/acme/cli-lora/lora.safetensors", slow(bytes.clone(), 10));
    let target = "acme/cli-lora/lora.safetensors";

    let run = env
        .cli
        .run(&[
            "download", target, "--type", "lora", "--family", "flux", "--json",
        ])
        .await
        .expect(0);
    let last = completed_in_order(&run);
    assert!(
        run.json_lines().len() >= 3,
        "progress along the way: {run:?}"
    );
    assert_eq!(last["bytesDownloaded"], bytes.len() as u64);
    let installed = last["installedModelId"].as_str().unwrap().to_string();

    // The same command again: nothing is added or downloaded twice.
    let again = env.cli.run(&["download", target]).await.expect(0);
    assert!(again.stdout.contains("already installed"), "{again:?}");
    let again = env.cli.run(&["download", target, "--json"]).await.expect(0);
    assert_eq!(again.json()["installed"], true, "{again:?}");
    let list = env
        .cli
        .run(&["list", "--search", "cli-lora", "--json"])
        .await
        .expect(0);
    assert_eq!(
        list.json()["models"].as_array().unwrap().len(),
        1,
        "{list:?}"
    );

    // The table for people, and the installed list for scripts.
    let table = env.cli.run(&["list", "--installed"]).await.expect(0);
    assert!(table.stdout.contains(&installed), "{table:?}");
    assert!(table.stdout.lines().next().unwrap().contains("INTEGRITY"));
    assert!(
        !table.stdout.contains('\x1b'),
        "no colour in a pipe: {table:?}"
    );
    let listed = env
        .cli
        .run(&["list", "--installed", "--json"])
        .await
        .expect(0);
    assert_eq!(installed_ids(&listed), std::slice::from_ref(&installed));

    // Verify: fine, then a changed file fails with a non-zero exit.
    let ok = env.cli.run(&["verify", "--json"]).await.expect(0);
    assert_eq!(
        ok.json()["results"][0]["verification"]["ok"],
        true,
        "{ok:?}"
    );
    let record = &listed.json()["models"][0];
    let file = record["files"][0]["path"].as_str().unwrap();
    let on_disk = env.dir.path().join("models").join(file);
    std::fs::write(&on_disk, b"not the model any more").unwrap();
    let bad = env.cli.run(&["verify", &installed]).await.expect(1);
    assert!(bad.stdout.contains("1 changed"), "{bad:?}");
    assert!(bad.stderr.contains("failed the check"), "{bad:?}");

    // rm asks; "n" or no answer deletes nothing, --yes deletes without asking.
    for answer in ["n\n", ""] {
        let kept = env
            .cli
            .run_with_input(&["rm", &installed], answer)
            .await
            .expect(1);
        assert!(kept.stderr.contains("Delete cli-lora"), "{kept:?}");
        assert!(kept.stderr.contains("nothing deleted"), "{kept:?}");
    }
    let still = env.cli.run(&["list", "--installed", "--json"]).await;
    assert_eq!(installed_ids(&still).len(), 1);
    env.cli
        .run_with_input(&["rm", "acme/cli-lora"], "y\n")
        .await
        .expect(4);
    let gone = env.cli.run(&["rm", &installed, "--yes"]).await.expect(0);
    assert!(gone.stdout.contains("Deleted"), "{gone:?}");
    assert!(!on_disk.exists());
    let none = env.cli.run(&["list", "--installed", "--json"]).await;
    assert!(installed_ids(&none).is_empty());
    env.cli.run(&["rm", &installed, "--yes"]).await.expect(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn civitai_links_direct_links_and_uploads_install() {
    let env = env().await;

    // A CivitAI page link, added and downloaded in one command.
    let run = env
        .cli
        .run(&["download", "https://civitai.com/models/4384", "--json"])
        .await
        .expect(0);
    completed_in_order(&run);

    // A direct link, added first and downloaded by its id.
    let bytes = hub::safetensors(500_000, 12);
    env.hub.put("url/vae.safetensors", FakeFile::new(bytes));
    let link = format!("{}/blob/url/vae.safetensors", env.hub.cdn);
    let added = env
        .cli
        .run(&["add", "url", &link, "--type", "vae", "--json"])
        .await
        .expect(0);
    let id = added.json()["model"]["id"].as_str().unwrap().to_string();
    completed_in_order(&env.cli.run(&["download", &id, "--json"]).await.expect(0));

    // A Hugging Face repo added with `add hf`, then downloaded by ORG/REPO.
    env.hub.put(
        "hf/acme/added/model.safetensors",
        FakeFile::new(hub::safetensors(200_000, 13)),
    );
    let added = env
        .cli
        .run(&["add", "hf", "acme/added", "model.safetensors"])
        .await
        .expect(0);
    assert!(added.stdout.starts_with("Added added as "), "{added:?}");
    let done = env.cli.run(&["download", "acme/added"]).await.expect(0);
    assert!(done.stdout.contains("installed"), "{done:?}");

    // A local file, uploaded.
    let file = env.dir.path().join("my-lora.safetensors");
    std::fs::write(&file, hub::safetensors(310_000, 14)).unwrap();
    let uploaded = env
        .cli
        .run(&["add", file.to_str().unwrap(), "--type", "lora", "--json"])
        .await
        .expect(0);
    assert_eq!(uploaded.json()["model"]["name"], "my-lora", "{uploaded:?}");
    // The same bytes again under another name (--yes: sent without the question a file of
    // an installed size gets): installed, and said to be a second copy.
    let again = env.dir.path().join("my-lora-again.safetensors");
    std::fs::copy(&file, &again).unwrap();
    let twice = env
        .cli
        .run(&["add", again.to_str().unwrap(), "--type", "lora", "--yes"])
        .await
        .expect(0);
    assert!(
        twice
            .stderr
            .contains("Note: already installed as my-lora (lora/my-lora.safetensors)"),
        "{twice:?}"
    );

    let listed = env.cli.run(&["list", "--installed", "--json"]).await;
    assert_eq!(installed_ids(&listed).len(), 5, "{listed:?}");

    // A file the server refuses: a clear error, exit 2, nothing installed.
    let text = env.dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let refused = env.cli.run(&["add", text.to_str().unwrap()]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.starts_with("error: "), "{refused:?}");
    let missing = env
        .cli
        .run(&["add", "/nonexistent/x.safetensors"])
        .await
        .expect(2);
    assert!(missing.stderr.contains("cannot read"), "{missing:?}");
    let listed = env.cli.run(&["list", "--installed", "--json"]).await;
    assert_eq!(installed_ids(&listed).len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detach_jobs_and_cancel() {
    let env = env().await;
    env.hub.put(
        "hf/acme/slow/model.safetensors",
        slow(hub::safetensors(64 << 20, 4), 50),
    );
    let started = env
        .cli
        .run(&["download", "acme/slow/model.safetensors", "--detach"])
        .await
        .expect(0);
    let job = started.stdout.trim().to_string();
    assert_eq!(job.len(), 36, "the job id alone: {started:?}");
    let api = env.server.api();
    api.wait(&job, Duration::from_secs(10), |j| {
        j["status"] == "downloading"
    })
    .await;

    let jobs = env.cli.run(&["jobs", "--json"]).await.expect(0);
    assert_eq!(jobs.json()["jobs"][0]["id"], job.as_str());
    let table = env.cli.run(&["jobs"]).await.expect(0);
    assert!(table.stdout.contains(&job[..8]) && table.stdout.contains("downloading"));

    let paused = env.cli.run(&["pause", &job[..8]]).await.expect(0);
    assert!(paused.stdout.contains("paused"), "{paused:?}");
    api.wait(&job, Duration::from_secs(5), |j| j["status"] == "paused")
        .await;
    let table = env.cli.run(&["jobs"]).await.expect(0);
    assert!(table.stdout.contains("paused"), "{table:?}");
    let resumed = env.cli.run(&["resume", &job[..8]]).await.expect(0);
    assert!(!resumed.stdout.is_empty(), "{resumed:?}");
    api.wait(&job, Duration::from_secs(5), |j| {
        j["status"] == "downloading" || j["status"] == "queued"
    })
    .await;
    // Resuming a job that runs is refused with the server's reason (409), not silently accepted.
    env.cli.run(&["resume", &job[..8]]).await.expect(1);

    let cancelled = env.cli.run(&["cancel", &job[..8]]).await.expect(0);
    assert!(cancelled.stdout.starts_with("Cancelled"), "{cancelled:?}");
    let j = api
        .wait(&job, Duration::from_secs(5), |j| j["status"] == "cancelled")
        .await;
    assert_eq!(j["installedModelId"], Value::Null);
    env.cli.run(&["cancel", "ffffffff"]).await.expect(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_come_from_stdin_or_the_environment_and_a_missing_one_exits_5() {
    let env = env().await;
    env.hub.put(
        "hf/acme/gated-cli/model.safetensors",
        FakeFile::new(hub::safetensors(200_000, 15)),
    );
    env.hub.gate("acme/gated-cli");
    let target = "acme/gated-cli/model.safetensors";

    let refused = env.cli.run(&["download", target]).await.expect(5);
    assert!(refused.stderr.contains("--hf-token-stdin"), "{refused:?}");
    let run = env
        .cli
        .run_with_input(
            &["download", target, "--hf-token-stdin", "--json"],
            &format!("{}\n", hub::GOOD_TOKEN),
        )
        .await
        .expect(0);
    completed_in_order(&run);
    assert!(!run.stdout.contains(hub::GOOD_TOKEN));
    env.cli
        .run_with_input(&["download", target, "--hf-token-stdin"], "")
        .await
        .expect(2);
    let log = env.server.log();
    assert!(!log.contains(hub::GOOD_TOKEN), "the token reached the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_servers_wrong_access_tokens_and_bad_arguments_have_their_exit_codes() {
    // Nothing listens: exit 3 and how to start it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = Cli::new(&format!("http://127.0.0.1:{port}"))
        .run(&["list"])
        .await
        .expect(3);
    assert!(
        down.stderr.contains("is the server running?")
            || down.stderr.contains("Is the server running?"),
        "{down:?}"
    );
    assert!(down.stderr.contains("model-manager serve"), "{down:?}");

    // A server with an access token: none or a wrong one is exit 5; the right one works.
    const TOKEN: &str = "cli-access-token-123456";
    let env = env_with(
        &civitai_file(),
        &[
            ("MODELS_AUTH_TOKEN", TOKEN),
            ("MODELS_AUTH_FAIL_DELAY_MS", "10"),
        ],
    )
    .await;
    let none = env.cli.run(&["list"]).await.expect(5);
    assert!(none.stderr.contains("set MODELS_AUTH_TOKEN"), "{none:?}");
    let wrong = Cli::new(&env.server.base)
        .with_env("MODELS_AUTH_TOKEN", "not-the-token-000000")
        .run(&["jobs"])
        .await
        .expect(5);
    assert!(
        wrong.stderr.contains("refused the access token"),
        "{wrong:?}"
    );
    let right = Cli::new(&env.server.base).with_env("MODELS_AUTH_TOKEN", TOKEN);
    let listed = right.run(&["list", "--json"]).await.expect(0);
    assert!(!listed.json()["models"].as_array().unwrap().is_empty());

    // Usage and not-found errors.
    let bad = right.run(&["list", "--family", "nope"]).await.expect(2);
    assert!(bad.stderr.contains("possible values"), "{bad:?}");
    right.run(&["download"]).await.expect(2);
    right
        .run(&["--server", "localhost:3000", "list"])
        .await
        .expect(2);
    let unknown = right.run(&["download", "no-such-model"]).await.expect(4);
    assert!(unknown.stderr.contains("model-manager list"), "{unknown:?}");
    right.run(&["verify", "no-such-model"]).await.expect(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploading_a_file_the_size_of_an_installed_one_asks_before_sending_it() {
    let env = env().await;
    let bytes = hub::safetensors(250_000, 21);
    let file = |name: &str| {
        let path = env.dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        path
    };
    add_file(&env.cli, &file("mine.safetensors"), &[], "")
        .await
        .expect(0);

    // The same bytes under another name: "n" or no answer sends nothing.
    let copy = file("copy.safetensors");
    for answer in ["n\n", ""] {
        let kept = add_file(&env.cli, &copy, &[], answer).await.expect(1);
        assert!(
            kept.stderr.contains(
                "Probably a duplicate: a file of the same size is already installed as mine"
            ),
            "{kept:?}"
        );
        assert!(kept.stderr.contains("nothing uploaded"), "{kept:?}");
    }
    let list = env.cli.run(&["list", "--installed", "--json"]).await;
    assert_eq!(installed_ids(&list).len(), 1, "{list:?}");

    // "y" sends it, and the answer says it is the same file; --yes does not ask.
    let sent = add_file(&env.cli, &copy, &[], "y\n").await.expect(0);
    assert!(
        sent.stderr.contains("already installed as mine"),
        "{sent:?}"
    );
    let unasked = add_file(&env.cli, &file("third.safetensors"), &["--yes"], "")
        .await
        .expect(0);
    assert!(!unasked.stderr.contains("Upload anyway?"), "{unasked:?}");
    let list = env.cli.run(&["list", "--installed", "--json"]).await;
    assert_eq!(installed_ids(&list).len(), 3, "{list:?}");
}

/// `add PATH` of a LoRA, with `extra` arguments and `input` on stdin.
async fn add_file(cli: &Cli, path: &Path, extra: &[&str], input: &str) -> Run {
    let mut args = vec![
        "add",
        path.to_str().unwrap(),
        "--type",
        "lora",
        "--family",
        "sdxl",
    ];
    args.extend_from_slice(extra);
    cli.run_with_input(&args, input).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_an_ai_toolkit_config_for_an_installed_model() {
    let env = env().await;
    let dataset = env.dir.path().join("datasets").join("cat");
    std::fs::create_dir_all(&dataset).unwrap();
    std::fs::write(dataset.join("1.png"), b"png").unwrap();
    let file = env.dir.path().join("base.safetensors");
    std::fs::write(&file, hub::safetensors(300_000, 16)).unwrap();
    let uploaded = env
        .cli
        .run(&[
            "add",
            file.to_str().unwrap(),
            "--family",
            "sdxl",
            "--type",
            "base_model",
            "--json",
        ])
        .await
        .expect(0);
    let base = uploaded.json()["model"]["id"].as_str().unwrap().to_string();

    let run = env
        .cli
        .run(&[
            "export",
            "--dataset",
            "cat",
            "--base",
            &base,
            "--trigger",
            "sks cat",
            "--json",
        ])
        .await
        .expect(0);
    let result = run.json();
    let saved = Path::new(result["savedPath"].as_str().unwrap());
    assert!(saved.ends_with("cat.yaml"), "{result}");
    let yaml = std::fs::read_to_string(saved).unwrap();
    assert_eq!(yaml, result["yaml"].as_str().unwrap());
    assert!(yaml.contains(&dataset.display().to_string()), "{yaml}");
    assert!(yaml.contains("sks cat"), "{yaml}");

    let people = env
        .cli
        .run(&[
            "export",
            "--dataset",
            "cat",
            "--base",
            "base",
            "--name",
            "cat-v2",
        ])
        .await
        .expect(0);
    assert!(
        people.stdout.contains("Saved ") && people.stdout.contains("cat-v2.yaml"),
        "{people:?}"
    );
    let missing = env
        .cli
        .run(&["export", "--dataset", "dog", "--base", &base])
        .await
        .expect(4);
    assert!(missing.stderr.contains("there are: cat"), "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_help_and_the_server_alias() {
    let cli = Cli::new("http://127.0.0.1:9");
    for shell in ["bash", "zsh", "fish"] {
        let run = cli.run(&["completions", shell]).await.expect(0);
        assert!(run.stdout.contains("model-manager"), "{shell}");
        assert!(
            run.stdout.contains("download") && run.stdout.contains("hf-token-stdin"),
            "{shell}"
        );
    }
    for sub in [
        "list", "add", "download", "jobs", "cancel", "pause", "resume", "verify", "rm", "scan",
        "export",
    ] {
        let help = cli.run(&[sub, "--help"]).await.expect(0);
        assert!(
            help.stdout.contains("Example"),
            "{sub} has no examples: {}",
            help.stdout
        );
    }

    // Started as `server` with no arguments (the image's alias), it serves.
    let dir = tempfile::tempdir().unwrap();
    let alias = dir.path().join("server");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_model-manager"), &alias).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(&alias)
        .env("MODELS_DIR", dir.path().join("models"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("MODELS_MIN_FREE_BYTES", "0")
        .env_remove("MODELS_AUTH_TOKEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "`server` without arguments did not serve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_waits_for_its_token_after_a_restart_says_how_to_give_it_and_resumes() {
    let hub = hub::start().await;
    let target = "acme/gated-restart/model.safetensors";
    hub.put(
        "hf/acme/gated-restart/model.safetensors",
        slow(hub::safetensors(4 << 20, 17), 15),
    );
    hub.gate("acme/gated-restart");
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let vars = [("HF_ENDPOINT", hub.base.as_str())];
    let mut first = Process::start(&models, &vars).await;
    let token = format!("{}\n", hub::GOOD_TOKEN);
    let started = Cli::new(&first.base)
        .run_with_input(
            &["download", target, "--hf-token-stdin", "--detach"],
            &token,
        )
        .await
        .expect(0);
    let job = started.stdout.trim().to_string();
    first
        .api()
        .wait(&job, Duration::from_secs(10), |j| {
            j["bytesDownloaded"].as_u64().unwrap_or(0) > 100_000
        })
        .await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    // After the restart the job waits, paused, for its token: exit 5 and how to give it.
    let second = Process::start(&models, &vars).await;
    let cli = Cli::new(&second.base);
    let waiting = cli.run(&["download", target]).await.expect(5);
    assert!(
        waiting.stderr.contains("waits for a Hugging Face token"),
        "{waiting:?}"
    );
    assert!(waiting.stderr.contains("--hf-token-stdin"), "{waiting:?}");
    // The same command with the token resumes the same job.
    let run = cli
        .run_with_input(&["download", target, "--hf-token-stdin", "--json"], &token)
        .await
        .expect(0);
    let last = run.json_lines().pop().unwrap();
    assert_eq!(
        (last["id"].as_str(), last["status"].as_str()),
        (Some(job.as_str()), Some("completed")),
        "{run:?}"
    );
}

/// `scan` waits for the server's scan to finish and lists what is on the volume but not in
/// the library, with what each file looks like.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_the_model_files_the_library_does_not_know() {
    let env = env().await;
    let empty = env.cli.run(&["scan"]).await.expect(0);
    assert!(empty.stdout.contains("Every model file"), "{empty:?}");

    let stray = env.dir.path().join("models/lora/stray.safetensors");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, hub::safetensors(200_000, 21)).unwrap();
    let table = env.cli.run(&["scan"]).await.expect(0);
    assert!(table.stdout.contains("stray.safetensors"), "{table:?}");
    assert!(
        table.stderr.contains("1 file(s) not in the library"),
        "{table:?}"
    );
    let json = env.cli.run(&["scan", "--json"]).await.expect(0).json();
    assert_eq!(json["phase"], "done", "{json}");
    let files = json["untracked"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{json}");
    assert!(files[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("stray.safetensors"));
    assert_eq!(
        files[0]["sizeBytes"],
        std::fs::metadata(&stray).unwrap().len()
    );
}
