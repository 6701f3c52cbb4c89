//! Two server processes on one MODELS_DIR add and remove custom models concurrently.
//! No update may be lost, and the database must parse at every moment.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn spawn(models_dir: &Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_model-manager"))
        .arg("serve")
        .env("MODELS_DIR", models_dir)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server binary");
    // Owned by the guard at once, so the process is killed on every path.
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if reqwest::get(format!("{}/api/models", server.base))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not start");
}

const PER_SERVER: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_update_is_lost_and_the_file_always_parses() {
    let dir = tempfile::tempdir().unwrap();
    let models_dir = dir.path().to_path_buf();
    let a = spawn(&models_dir).await;
    let b = spawn(&models_dir).await;

    // A reader that parses the database as often as it can while the writers run.
    let db_path = models_dir.join("installed-models.json");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut reads = 0u32;
            while !done.load(Ordering::Relaxed) {
                if let Ok(bytes) = std::fs::read(&db_path) {
                    let parsed: Value = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("half-written database seen: {e}"));
                    assert_eq!(parsed["schemaVersion"], server::storage::SCHEMA_VERSION);
                    reads += 1;
                }
            }
            reads
        })
    };

    // Each server gets PER_SERVER adds; every third model is removed again, through the other server.
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for (who, server, other) in [("a", &a.base, &b.base), ("b", &b.base, &a.base)] {
        for i in 0..PER_SERVER {
            let client = client.clone();
            let (server, other) = (server.clone(), other.clone());
            tasks.push(tokio::spawn(async move {
                let name = format!("model {who} {i}");
                let response = client
                    .post(format!("{server}/api/models"))
                    .json(&json!({"name": name, "url": format!("https://203.0.113.7/{who}/{i}.safetensors")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 201);
                let body: Value = response.json().await.unwrap();
                let id = body["model"]["id"].as_str().unwrap().to_string();
                if i % 3 == 0 {
                    let gone = client
                        .delete(format!("{other}/api/models?id={id}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(gone.status(), 200, "remove {id}");
                    None
                } else {
                    Some(id)
                }
            }));
        }
    }
    let mut kept = Vec::new();
    for task in tasks {
        if let Some(id) = task.await.unwrap() {
            kept.push(id);
        }
    }
    done.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 0, "the reader never saw the database");

    kept.sort();
    let expected = 2 * (PER_SERVER - PER_SERVER.div_ceil(3));
    assert_eq!(kept.len(), expected);
    for server in [&a.base, &b.base] {
        let body: Value = reqwest::get(format!("{server}/api/models?query=model"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut ids: Vec<String> = body["models"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["builtIn"] == false)
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(
            ids, kept,
            "the servers disagree with what was added and removed"
        );
    }
    println!(
        "{} operations, {reads} concurrent reads, no update lost",
        PER_SERVER * 2 + PER_SERVER.div_ceil(3) * 2
    );
}
