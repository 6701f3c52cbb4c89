//! The Leptos server functions the page calls, over real HTTP and with the encoding the
//! browser uses (URL-encoded form bodies).

mod common;
mod fakes;

use app::server_fns::{
    export::ExportConfig,
    models::{AddCustomModel, ListModels, PreviewCustomModel, UpdateCustomModel},
    search::{CivitaiVersions, HubRepoFiles, SearchModels},
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
/// A Check whose Hub cannot be reached says so (it used to look like a success: sizes just
/// went missing), and the model can still be added.
#[tokio::test]
async fn a_preview_that_could_not_reach_the_hub_says_so() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let server = common::start(&[("HF_ENDPOINT", &endpoint)]).await;
    let form =
        "request[huggingfaceRepo]=acme/offline&request[huggingfaceFiles][0]=model.safetensors\
                &request[sourceType]=huggingface";
    let (status, body) = call(&server, PreviewCustomModel::PATH, form).await;
    assert_eq!(status, 200, "{body}");
    let preview: Value = serde_json::from_str(&body).unwrap();
    let warning = preview["warning"].as_str().unwrap_or_default();
    assert!(warning.contains("Could not reach Hugging Face"), "{body}");
    assert_eq!(preview["model"]["name"], "offline", "{body}");

    // With the Hub reachable there is no warning (the field is absent).
    let hf = fakes::serve(fakes::huggingface()).await;
    let online = common::start(&[("HF_ENDPOINT", &hf)]).await;
    let form =
        "request[huggingfaceRepo]=acme/public-model&request[huggingfaceFiles][0]=model.safetensors";
    let (status, body) = call(&online, PreviewCustomModel::PATH, form).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .get("warning")
            .is_none(),
        "{body}"
    );
}

/// The edit form sends every field: an emptied name is refused (the URL encoding used to turn
/// it into "absent", so the save quietly kept the old name), an emptied description is cleared.
#[tokio::test]
async fn the_edit_form_refuses_an_empty_name_and_clears_an_empty_description() {
    let server = common::start(&[]).await;
    let client = common::api::Api::new(&server.url(""));
    let (status, body) = client
        .post(
            "/api/models",
            serde_json::json!({"url": "https://203.0.113.7/f/e.safetensors", "name": "E",
                               "description": "old words", "type": "lora"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        &server,
        UpdateCustomModel::PATH,
        "id=e&edit[name]=&edit[type]=lora",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("name"), "{body}");
    let (status, body) = call(
        &server,
        UpdateCustomModel::PATH,
        "id=e&edit[name]=E2&edit[description]=",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let model: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(model["name"], "E2");
    assert_eq!(model["description"], "");
}

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

/// The Add tab's search, a repo's files and a CivitAI model's versions, as the page encodes
/// them (an empty query is a search of everything, most downloaded first).
#[tokio::test]
async fn the_search_functions_read_the_page_encoding() {
    let hub = fakes::hub::start().await;
    hub.put(
        "hf/acme/ink-lora/ink.safetensors",
        fakes::hub::FakeFile::new(fakes::hub::safetensors(1024, 1)),
    );
    let civitai = fakes::serve(fakes::civitai()).await;
    let server = common::start(&[("HF_ENDPOINT", &hub.base), ("CIVITAI_ENDPOINT", &civitai)]).await;
    for form in [
        "",
        "query[source]=hf&query[q]=ink&query[sort]=likes&query[type]=lora",
        "query[source]=civitai&query[q]=ink&query[baseModel]=Flux.1%20D",
    ] {
        let (status, body) = call(&server, SearchModels::PATH, form).await;
        assert_eq!(status, 200, "{form}: {body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            page["results"].as_array().unwrap().len(),
            1,
            "{form}: {body}"
        );
    }
    let (status, body) = call(&server, SearchModels::PATH, "query[baseModel]=SD%209").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("baseModel"), "{body}");

    let (status, body) = call(&server, HubRepoFiles::PATH, "repo=acme/ink-lora").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"preselected\":true"), "{body}");
    let (status, body) = call(&server, CivitaiVersions::PATH, "model_id=4384").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("128713"), "{body}");
}
