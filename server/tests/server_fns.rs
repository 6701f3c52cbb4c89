//! The Leptos server functions the page calls, over real HTTP and with the encoding the
//! browser uses (URL-encoded form bodies).

mod common;

use app::server_fns::{
    export::ExportConfig,
    models::{AddCustomModel, ListModels, PreviewCustomModel},
};
use leptos::server_fn::ServerFn;
use serde_json::Value;

async fn call(server: &common::TestServer, path: &str, form: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// What the Available tab sends with no search and no filter (clearing the search box,
/// switching tabs, a finished download refreshing the list): an empty body.
#[tokio::test]
async fn the_model_list_accepts_an_empty_filter() {
    let server = common::start(&[]).await;
    let (status, body) = call(&server, ListModels::PATH, "").await;
    assert_eq!(status, 200, "{body}");
    let models: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(models.len(), 15, "{body}");

    let (status, body) = call(&server, ListModels::PATH, "filter[family]=sdxl").await;
    assert_eq!(status, 200, "{body}");
    let models: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(models.len(), 3, "{body}");
}

/// An empty add form is a validation error a person can act on, not a decoding error.
#[tokio::test]
async fn adding_nothing_says_what_is_missing() {
    let server = common::start(&[]).await;
    for path in [AddCustomModel::PATH, PreviewCustomModel::PATH] {
        let (_, body) = call(&server, path, "").await;
        assert!(
            !body.contains("missing field") && !body.contains("deserializ"),
            "{path}: {body}"
        );
        assert!(
            body.contains("invalid_input") || body.contains("InvalidInput"),
            "{path}: {body}"
        );
    }
}

/// A dataset folder with no images in it gives a config that trains on nothing: say so.
#[tokio::test]
async fn exporting_a_folder_without_images_warns() {
    let datasets = tempfile::tempdir().unwrap();
    let empty = datasets.path().join("empty");
    std::fs::create_dir_all(empty.join("nested")).unwrap();
    std::fs::write(empty.join("nested/1.jpg"), b"img").unwrap();
    let full = datasets.path().join("cats");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("1.jpg"), b"img").unwrap();
    let server = common::start(&[("DATASETS_DIR", datasets.path().to_str().unwrap())]).await;
    let export = |folder: std::path::PathBuf| {
        let form = format!(
            "request[datasetFolder]={}&request[triggerWord]=ohwx&request[runName]=run",
            urlencoding::encode(folder.to_str().unwrap())
        );
        let server = &server;
        async move {
            let (status, body) = call(server, ExportConfig::PATH, &form).await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_str::<Value>(&body).unwrap()["warnings"].clone()
        }
    };
    let warnings = export(empty).await;
    assert!(warnings.to_string().contains("no images"), "{warnings}");
    let warnings = export(full).await;
    assert!(!warnings.to_string().contains("no images"), "{warnings}");
}
