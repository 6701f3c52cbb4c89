//! `GET /api/models` over real HTTP.

mod common;

use serde_json::Value;

#[tokio::test]
async fn lists_the_eleven_built_in_models_with_the_spec_fields() {
    let server = common::start(&[]).await;
    let body: Value = reqwest::get(server.url("/api/models"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let models = body["models"].as_array().unwrap();
    assert_eq!(models.len(), 15);
    let dev = models.iter().find(|m| m["id"] == "flux-1-dev").unwrap();
    assert_eq!(dev["name"], "Flux.1 Dev");
    assert_eq!(dev["type"], "base_model");
    assert_eq!(dev["family"], "flux");
    assert_eq!(dev["requiresToken"], true);
    assert_eq!(dev["builtIn"], true);
    assert_eq!(dev["repo"], "black-forest-labs/FLUX.1-dev");
    assert_eq!(dev["installed"], false);
    assert_eq!(dev["sizeBytes"], 23_802_932_552u64 + 335_304_388);
}

#[tokio::test]
async fn filters_by_family_type_and_text() {
    let server = common::start(&[]).await;
    let ids = |url: String| async move {
        let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        body["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(server.url("/api/models?family=sdxl")).await.len(), 3);
    assert_eq!(
        ids(server.url("/api/models?type=captioner")).await,
        ["qwen2.5-vl-7b-instruct-q8"]
    );
    assert_eq!(
        ids(server.url("/api/models?query=turbo%20adapter")).await,
        ["zimage-turbo-training-adapter"]
    );
    assert_eq!(
        ids(server.url("/api/models?query=stabilityai/sdxl-turbo")).await,
        ["sdxl-turbo"]
    );
}

#[tokio::test]
async fn a_bad_filter_is_a_400_with_a_json_error() {
    let server = common::start(&[]).await;
    let response = reqwest::get(server.url("/api/models?family=nope"))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("family"));
}

#[tokio::test]
async fn the_models_page_is_server_rendered() {
    let server = common::start(&[]).await;
    let html = reqwest::get(server.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<h1>Models</h1>"), "{html}");
    assert!(html.contains("SDXL 1.0 Refiner"));
    assert!(
        html.contains("/pkg/model-manager.js"),
        "hydration script missing"
    );
}

#[tokio::test]
async fn a_custom_model_says_when_it_was_added_and_built_ins_say_null() {
    let server = common::start(&[("MODELS_ALLOW_PRIVATE_URLS", "true")]).await;
    let api = server.api();
    let before = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let id = api
        .add_custom(serde_json::json!({
            "url": "http://127.0.0.1:9/added.safetensors",
            "name": "Added", "type": "lora", "family": "flux"
        }))
        .await;
    let (status, body) = api.get("/api/models").await;
    assert_eq!(status, 200, "{body}");
    let models = body["models"].as_array().unwrap();
    let added = models.iter().find(|m| m["id"] == id.as_str()).unwrap();
    let at = added["addedAt"]
        .as_str()
        .expect("addedAt on a custom model");
    assert!(
        at >= before.as_str() && at.ends_with('Z'),
        "{at} (added after {before})"
    );
    let dev = models.iter().find(|m| m["id"] == "flux-1-dev").unwrap();
    assert!(dev.get("addedAt").is_some_and(Value::is_null), "{dev}");
}
