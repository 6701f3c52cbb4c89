//! Two server processes on one MODELS_DIR add and remove custom models concurrently.
//! No update may be lost, and the database must parse at every moment.

mod common;

use common::process::Process;
use serde_json::{json, Value};

const PER_SERVER: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_update_is_lost_and_the_file_always_parses() {
    let dir = tempfile::tempdir().unwrap();
    let models_dir = dir.path().to_path_buf();
    let a = Process::start(&models_dir, &[]).await;
    let b = Process::start(&models_dir, &[]).await;

    // A reader that parses the database as often as it can while the writers run.
    let reader = common::db_reader::DbReader::start(models_dir.join("installed-models.json"));

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
    let reads = reader.stop();
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
