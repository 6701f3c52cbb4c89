//! Every way a model arrives (upload, direct link, CivitAI) records what its file is, over real
//! HTTP; a file that contradicts its declared type gets a visible warning, not a silent fix.

mod common;
mod fakes;

use fakes::{
    hub::{self, FakeFile},
    model_files::{flux_kohya_lora, flux_vae},
};
use serde_json::{json, Value};

/// The identification of the first file of the installed model `id`, from the list route.
async fn listed_identification(server: &common::TestServer, id: &str) -> Value {
    let (status, list) = server.api().get("/api/models/installed").await;
    assert_eq!(status, 200, "{list}");
    list["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} is listed: {list}"))["files"][0]["identification"]
        .clone()
}

#[tokio::test]
async fn an_uploaded_lora_declared_as_a_base_model_is_identified_and_warned_about() {
    let server = common::start(&[]).await;
    let (status, body) = server
        .api()
        .upload_with(
            "mystery.safetensors",
            flux_kohya_lora(),
            &[("type", "base_model"), ("family", "flux")],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["model"]["files"][0]["identification"].clone();
    assert_eq!(id["kind"], "lora", "{id}");
    assert_eq!(id["family"], "flux1", "{id}");
    assert_eq!(id["detail"], "kohya", "{id}");
    assert_eq!(id["confidence"], "high", "{id}");
    assert!(
        id["evidence"][0]
            .as_str()
            .unwrap()
            .contains("lora_unet_double_blocks_0_img_attn_proj"),
        "{id}"
    );
    let warning = id["warning"].as_str().expect("a warning");
    assert!(
        warning.contains("LoRA") && warning.contains("base model"),
        "{warning}"
    );
    // The declared values stay: the user decides.
    assert_eq!(body["model"]["type"], "base_model");
    let model_id = body["model"]["id"].as_str().unwrap();
    assert_eq!(listed_identification(&server, model_id).await, id);

    // The same file declared as what it is: identified, no warning.
    let (status, body) = server
        .api()
        .upload_with(
            "mystery-lora.safetensors",
            flux_kohya_lora(),
            &[("type", "lora"), ("family", "flux")],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = &body["model"]["files"][0]["identification"];
    assert_eq!(id["kind"], "lora");
    assert!(id.get("warning").is_none(), "{id}");
}

#[tokio::test]
async fn a_direct_link_and_a_civitai_file_are_identified_when_installed() {
    let hub = hub::start_with(fakes::civitai_with_sha(
        &FakeFile::new(flux_kohya_lora()).sha().to_uppercase(),
    ))
    .await;
    let server = common::start(&[
        ("HF_ENDPOINT", hub.base.as_str()),
        ("CIVITAI_ENDPOINT", hub.base.as_str()),
        ("MODELS_ALLOW_PRIVATE_URLS", "true"),
        ("MODELS_MIN_FREE_BYTES", "0"),
    ])
    .await;
    let api = server.api();

    // A direct link to a FLUX VAE that the user called a base model.
    hub.put("url/ae.safetensors", FakeFile::new(flux_vae()));
    let url = format!("{}/blob/url/ae.safetensors", hub.cdn);
    let model = api
        .add_custom(json!({"url": url, "type": "base_model", "family": "flux"}))
        .await;
    let installed = api.install(&model).await;
    let id = listed_identification(&server, &installed).await;
    assert_eq!(id["kind"], "vae", "{id}");
    assert_eq!(id["family"], "flux1", "{id}");
    assert!(id["warning"].as_str().unwrap().contains("VAE"), "{id}");

    // A CivitAI LoRA: identified as what CivitAI says, so no warning.
    hub.put(
        "civitai/128713",
        FakeFile {
            disposition: Some("dreamshaper_8.safetensors".into()),
            ..FakeFile::new(flux_kohya_lora())
        },
    );
    let model = api
        .add_custom(json!({"civitaiUrl": "https://civitai.com/model-versions/128713"}))
        .await;
    let record_id = api.install(&model).await;
    let id = listed_identification(&server, &record_id).await;
    assert_eq!(
        (id["kind"].as_str(), id["family"].as_str()),
        (Some("lora"), Some("flux1")),
        "{id}"
    );
    assert!(id.get("warning").is_none(), "{id}");
}
