//! `POST /api/models` and `DELETE /api/models` over real HTTP, against fake CivitAI and
//! Hugging Face servers.

mod common;
mod fakes;

use serde_json::{json, Value};

struct Env {
    server: common::TestServer,
    client: reqwest::Client,
}

async fn env() -> Env {
    let civitai = fakes::serve(fakes::civitai()).await;
    let hf = fakes::serve(fakes::huggingface()).await;
    let server = common::start(&[("CIVITAI_ENDPOINT", &civitai), ("HF_ENDPOINT", &hf)]).await;
    Env {
        server,
        client: reqwest::Client::new(),
    }
}

impl Env {
    async fn add(&self, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.server.url("/api/models"))
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn models(&self) -> Vec<Value> {
        let body: Value = self
            .client
            .get(self.server.url("/api/models"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["models"].as_array().unwrap().clone()
    }
}

fn db(server: &common::TestServer) -> Value {
    serde_json::from_slice(&std::fs::read(server.models_dir.join("installed-models.json")).unwrap())
        .unwrap()
}

#[tokio::test]
async fn every_civitai_url_form_resolves_to_the_right_version_and_file() {
    let env = env().await;
    let cases = [
        ("https://civitai.com/models/4384", 128713, "8"),
        ("https://civitai.com/models/4384/dreamshaper", 128713, "8"),
        (
            "https://civitai.com/models/4384/dreamshaper?modelVersionId=100",
            100,
            "7",
        ),
        (
            "https://civitai.red/models/4384?modelVersionId=100",
            100,
            "7",
        ),
        ("https://civitai.com/model-versions/128713", 128713, "8"),
        (
            "https://civitai.com/api/download/models/100?type=Model&format=SafeTensor",
            100,
            "7",
        ),
        ("urn:air:flux1:lora:civitai:4384@128713", 128713, "8"),
        ("urn:air:flux1:lora:civitai:4384", 128713, "8"),
    ];
    let mut seen = std::collections::HashSet::new();
    for (url, version, version_name) in cases {
        let (status, body) = env.add(json!({ "civitaiUrl": url })).await;
        if !seen.insert(version) {
            // A version added before: a 409 that names the model it was added as.
            assert_eq!(status, 409, "{url}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("already added as \"DreamShaper {version_name}\"")),
                "{url}: {body}"
            );
            continue;
        }
        assert_eq!(status, 201, "{url}: {body}");
        let model = &body["model"];
        assert_eq!(model["source"], "civitai", "{url}");
        assert_eq!(
            model["name"],
            format!("DreamShaper {version_name}"),
            "{url}"
        );
        assert_eq!(model["type"], "lora", "{url}");
        let family = if version == 100 { "sdxl" } else { "flux" };
        assert_eq!(model["family"], family, "{url}");
        assert_eq!(model["sizeBytes"], 2_132_625_705u64, "{url}");
    }
    // What was recorded: the primary file (not the training data), its SHA256, the version.
    let saved = db(&env.server);
    let first = &saved["customModels"][0];
    assert_eq!(first["files"][0]["path"], "dreamshaper_8.safetensors");
    assert_eq!(
        first["files"][0]["sha256"],
        fakes::CIVITAI_SHA_UPPER.to_lowercase()
    );
    assert_eq!(first["source"]["versionId"], 128713);
    assert_eq!(first["source"]["baseModel"], "Flux.1 D");
    // Same name twice (another source) gets distinct ids.
    let (status, body) = env
        .add(
            json!({"url": "https://203.0.113.7/files/ds.safetensors", "name": "DreamShaper 8",
                    "type": "lora"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<_> = env
        .models()
        .await
        .iter()
        .filter(|m| m["builtIn"] == false)
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(
        ids.contains(&"dreamshaper-8".to_string()) && ids.contains(&"dreamshaper-8-2".to_string()),
        "{ids:?}"
    );
}

#[tokio::test]
async fn civitai_errors_are_clear_and_save_nothing() {
    let env = env().await;
    let cases = [
        (
            json!({"civitaiUrl": "https://civitai.com/models/999"}),
            400,
            "civitaiUrl",
            "no model 999",
        ),
        (
            json!({"civitaiUrl": "https://civitai.com/models/4384?modelVersionId=5"}),
            400,
            "civitaiUrl",
            "no published version 5",
        ),
        (
            json!({"civitaiUrl": "https://example.com/models/4384"}),
            400,
            "civitaiUrl",
            "not CivitAI",
        ),
        (
            json!({"civitaiUrl": "https://civitai.com/user/someone"}),
            400,
            "civitaiUrl",
            "points at no model",
        ),
        (
            json!({"civitaiUrl": "https://civitai.com/model-versions/31337"}),
            400,
            "civitaiUrl",
            "no version 31337",
        ),
    ];
    for (body, status, field, text) in cases {
        let (got, answer) = env.add(body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(text),
            "{body}: {answer}"
        );
    }
    assert!(!env.server.models_dir.join("installed-models.json").exists());
}

#[tokio::test]
async fn hugging_face_models_record_sizes_and_lfs_hashes_and_never_the_token() {
    let env = env().await;
    let (status, body) = env
        .add(json!({
            "name": "My Custom Model", "type": "base_model", "sourceType": "huggingface",
            "huggingfaceRepo": "acme/gated-model",
            "huggingfaceFiles": ["model.safetensors", "config.json"],
            "huggingfaceToken": fakes::GOOD_TOKEN,
            "description": "Custom fine-tuned model", "tags": ["custom", "fine-tune"]
        }))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["model"]["id"], "my-custom-model");
    assert_eq!(body["model"]["requiresToken"], true);
    assert_eq!(body["model"]["sizeBytes"], 23_802_932_552u64 + 812);
    assert_eq!(body["model"]["tags"], json!(["custom", "fine-tune"]));
    let saved = db(&env.server);
    assert_eq!(saved["schemaVersion"], server::storage::SCHEMA_VERSION);
    let files = &saved["customModels"][0]["files"];
    assert_eq!(files[0]["sha256"], fakes::SHA_A);
    assert_eq!(files[1]["sha256"], Value::Null);
    let raw = std::fs::read_to_string(env.server.models_dir.join("installed-models.json")).unwrap();
    assert!(!raw.contains("canary"), "the token was written to disk");
}

#[tokio::test]
async fn invalid_repos_paths_and_urls_are_400s_that_name_the_field() {
    let env = env().await;
    let cases = [
        (
            json!({"huggingfaceRepo": "not a repo", "huggingfaceFiles": ["a.safetensors"]}),
            "huggingfaceRepo",
        ),
        (
            json!({"huggingfaceRepo": "../etc", "huggingfaceFiles": ["a.safetensors"]}),
            "huggingfaceRepo",
        ),
        (
            json!({"huggingfaceRepo": "acme/public-model", "huggingfaceFiles": ["../../etc/passwd"]}),
            "huggingfaceFiles",
        ),
        (
            json!({"huggingfaceRepo": "acme/public-model", "huggingfaceFiles": ["/abs.bin"]}),
            "huggingfaceFiles",
        ),
        (
            json!({"huggingfaceRepo": "acme/public-model", "huggingfaceFiles": []}),
            "huggingfaceFiles",
        ),
        (
            json!({"huggingfaceRepo": "acme/public-model", "huggingfaceFiles": ["missing.safetensors"]}),
            "huggingfaceFiles",
        ),
        (
            json!({"huggingfaceRepo": "acme/nothing-here", "huggingfaceFiles": ["a.safetensors"]}),
            "huggingfaceRepo",
        ),
        (
            json!({"huggingfaceRepo": "acme/public-model", "huggingfaceFiles": ["config.json"], "huggingfaceToken": "hf_wrong"}),
            "huggingfaceToken",
        ),
        (
            json!({"huggingfaceRepo": "acme/public-model", "huggingfaceFiles": ["config.json"], "huggingfaceRevision": "v9"}),
            "huggingfaceRevision",
        ),
        (json!({"url": "ftp://host/model.safetensors"}), "url"),
        (json!({"url": "javascript:alert(1)"}), "url"),
        (json!({"url": "https://host/"}), "fileName"),
        (
            json!({"url": "https://host/m.safetensors", "sha256": "xyz"}),
            "sha256",
        ),
        (
            json!({"url": "https://host/m.safetensors", "civitaiUrl": "https://civitai.com/models/1"}),
            "sourceType",
        ),
        (json!({"name": "nothing"}), "sourceType"),
        (
            json!({"url": "https://host/m.safetensors", "type": "weird"}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = env.add(body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_input", "{body}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().len() > 10,
            "{answer}"
        );
    }
    assert!(
        !env.server.models_dir.join("installed-models.json").exists(),
        "a rejected request saved something"
    );
}

#[tokio::test]
async fn custom_models_survive_a_restart_and_can_be_removed() {
    let env = env().await;
    let (status, body) = env
        .add(
            json!({"url": "https://203.0.113.7/files/my-lora.safetensors", "type": "lora",
                    "sha256": fakes::SHA_A.to_uppercase()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["model"]["name"], "my-lora");
    assert_eq!(body["model"]["source"], "url");

    // A second server on the same folder sees it.
    let models_dir = env.server.models_dir.display().to_string();
    let again = common::start(&[("MODELS_DIR", &models_dir)]).await;
    let list: Value = reqwest::get(again.url("/api/models?query=my-lora"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["models"][0]["id"], "my-lora");

    let gone = env
        .client
        .delete(again.url("/api/models?id=my-lora"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 200);
    let again_gone = env
        .client
        .delete(again.url("/api/models?id=my-lora"))
        .send()
        .await
        .unwrap();
    assert_eq!(again_gone.status(), 404);
    let built_in = env
        .client
        .delete(again.url("/api/models?id=flux-1-dev"))
        .send()
        .await
        .unwrap();
    assert_eq!(built_in.status(), 400);
}

#[tokio::test]
async fn custom_models_are_edited_with_patch_and_a_source_is_added_once() {
    let env = env().await;
    let body = json!({"url": "https://203.0.113.7/files/edit-me.safetensors", "type": "lora",
                      "sha256": fakes::SHA_A});
    let (status, added) = env.add(body.clone()).await;
    assert_eq!(status, 201, "{added}");
    let id = added["model"]["id"].as_str().unwrap().to_string();

    // The same link again says it already exists, and saves nothing.
    let (status, again) = env
        .add(
            json!({"url": "https://203.0.113.7/files/edit-me.safetensors",
                                         "name": "Another name", "type": "lora"}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already added as \"edit-me\""),
        "{again}"
    );
    assert_eq!(db(&env.server)["customModels"].as_array().unwrap().len(), 1);

    let patch = |query: &str, body: Value| {
        env.client
            .patch(env.server.url(&format!("/api/models{query}")))
            .json(&body)
            .send()
    };
    let edited = patch(
        &format!("?id={id}"),
        json!({"name": "Portrait LoRA", "tags": ["Portrait", "faces"],
                                                    "family": "sdxl"}),
    )
    .await
    .unwrap();
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(edited["model"]["name"], "Portrait LoRA");
    assert_eq!(edited["model"]["tags"], json!(["portrait", "faces"]));
    assert_eq!(edited["model"]["family"], "sdxl");
    assert_eq!(edited["model"]["type"], "lora", "fields not sent stay");
    let listed = env.models().await;
    let listed = listed.iter().find(|m| m["id"] == id.as_str()).unwrap();
    assert_eq!(listed["name"], "Portrait LoRA");

    // Bad input is a 400 naming the field, and changes nothing.
    let bad = patch(&format!("?id={id}"), json!({"name": "  "}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["field"], "name", "{bad}");
    let bad_type = patch(&format!("?id={id}"), json!({"type": "spaceship"}))
        .await
        .unwrap();
    assert_eq!(bad_type.status(), 400);
    assert_eq!(
        env.models()
            .await
            .iter()
            .find(|m| m["id"] == id.as_str())
            .unwrap()["name"],
        "Portrait LoRA"
    );
    // Unknown and built-in models.
    assert_eq!(
        patch("?id=nope", json!({"name": "x"}))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        patch("?id=flux-1-dev", json!({"name": "x"}))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(patch("", json!({"name": "x"})).await.unwrap().status(), 400);
}
