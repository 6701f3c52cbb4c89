//! Local fake Hugging Face and CivitAI servers that answer like the real ones
//! (shapes and errors from shared/reference/external-apis.md), on 127.0.0.1 only.
#![allow(dead_code)]

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};
use std::sync::Arc;

pub const GOOD_TOKEN: &str = "hf_good_token_canary_7f3a";
pub const SHA_A: &str = "4610115bb0c89560703c892c59ac2742fa821e60ef5871b33493ba544683abd7";
pub const CIVITAI_SHA_UPPER: &str =
    "879DB523C30D3B9017143D56705015E15A2CB5628762C11D086FED9538ABD7F8";

/// Serves `router` on a free loopback port; returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// An error as the Hub answers it: status, `X-Error-Code`, `X-Error-Message`, JSON body.
pub fn hf_error(status: StatusCode, code: Option<&str>, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(code) = code {
        headers.insert("x-error-code", code.parse().unwrap());
    }
    headers.insert("x-error-message", message.parse().unwrap());
    (status, headers, Json(json!({ "error": message }))).into_response()
}

/// The Hub's `GET /api/models/{repo}/revision/{rev}?blobs=true`.
pub fn huggingface() -> Router {
    async fn info(
        Path((owner, name, revision)): Path<(String, String, String)>,
        headers: HeaderMap,
    ) -> Response {
        let repo = format!("{owner}/{name}");
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Some(auth) = &auth {
            if auth != &format!("Bearer {GOOD_TOKEN}") {
                return hf_error(
                    StatusCode::UNAUTHORIZED,
                    None,
                    "Invalid credentials in Authorization header",
                );
            }
        }
        if revision != "main" {
            return hf_error(
                StatusCode::NOT_FOUND,
                Some("RevisionNotFound"),
                "Invalid rev id",
            );
        }
        let gated = match repo.as_str() {
            "acme/public-model" => json!(false),
            "acme/gated-model" => json!("auto"),
            _ => {
                let status = if auth.is_some() {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::UNAUTHORIZED
                };
                return hf_error(status, Some("RepoNotFound"), "Repository not found");
            }
        };
        Json(json!({
            "id": repo, "sha": "0123456789abcdef0123456789abcdef01234567", "private": false,
            "gated": gated,
            "siblings": [
                {"rfilename": "config.json", "size": 812, "blobId": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                {"rfilename": "model.safetensors", "size": 23802932552u64, "blobId": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                 "lfs": {"sha256": SHA_A, "size": 23802932552u64, "pointerSize": 135}},
                {"rfilename": "vae/diffusion_pytorch_model.safetensors", "size": 335304388,
                 "lfs": {"sha256": SHA_A, "size": 335304388, "pointerSize": 134}}
            ]
        }))
        .into_response()
    }
    Router::new().route("/api/models/{owner}/{name}/revision/{revision}", get(info))
}

fn civitai_file(version_id: u64, name: &str, primary: bool, sha: &str) -> Value {
    json!({
        "id": version_id * 10, "name": name, "type": "Model", "sizeKB": 2082642.29,
        "metadata": {"format": "SafeTensor", "size": "pruned", "fp": "fp16"},
        "pickleScanResult": "Success", "virusScanResult": "Success",
        "hashes": {"AutoV1": "1A2B3C4D", "AutoV2": "879DB523C3", "SHA256": sha, "CRC32": "0A1B2C3D"},
        "primary": primary,
        "downloadUrl": format!("https://civitai.com/api/download/models/{version_id}")
    })
}

fn civitai_version(id: u64, name: &str, base: &str, file: &str, sha: &str) -> Value {
    json!({
        "id": id, "modelId": 4384, "name": name, "baseModel": base, "baseModelType": "Standard",
        "publishedAt": "2023-07-29T00:00:00.000Z", "availability": "Public",
        "files": [
            {"id": id * 10 + 1, "name": "training_data.zip", "type": "Training Data", "sizeKB": 10.0, "hashes": {}},
            civitai_file(id, file, true, sha)
        ],
        "downloadUrl": format!("https://civitai.com/api/download/models/{id}")
    })
}

/// CivitAI API v1: model 4384 (a LoRA for Flux.1 D) with versions 128713 (newest) and 100.
pub fn civitai() -> Router {
    civitai_with_sha(CIVITAI_SHA_UPPER)
}

/// The same, publishing `sha` (upper-case hex, as CivitAI does) for the primary files.
pub fn civitai_with_sha(sha: &str) -> Router {
    async fn model(State(sha): State<Arc<String>>, Path(id): Path<String>) -> Response {
        match id.parse::<u64>() {
            Ok(4384) => Json(json!({
                "id": 4384, "name": "DreamShaper", "type": "LORA", "nsfw": false,
                "tags": ["Anime", "Base Model"],
                "modelVersions": [
                    civitai_version(128713, "8", "Flux.1 D", "dreamshaper_8.safetensors", &sha),
                    civitai_version(100, "7", "SDXL 1.0", "dreamshaper_7.safetensors", &sha)
                ]
            }))
            .into_response(),
            Ok(n) => (
                StatusCode::NOT_FOUND,
                Json(json!({"error": format!("No model with id {n}")})),
            )
                .into_response(),
            Err(_) => (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": "Expected number, received nan"})),
            )
                .into_response(),
        }
    }
    async fn version(State(sha): State<Arc<String>>, Path(id): Path<u64>) -> Response {
        let mut body = match id {
            128713 => civitai_version(128713, "8", "Flux.1 D", "dreamshaper_8.safetensors", &sha),
            100 => civitai_version(100, "7", "SDXL 1.0", "dreamshaper_7.safetensors", &sha),
            _ => {
                return (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": "Model not found"})),
                )
                    .into_response()
            }
        };
        body["model"] = json!({"name": "DreamShaper", "type": "LORA", "nsfw": false, "poi": false});
        Json(body).into_response()
    }
    async fn listed(
        State(sha): State<Arc<String>>,
        Path(id): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_string();
        match id.parse::<u64>().ok().filter(|n| *n != 4384) {
            Some(n) => match search::civitai_model(n, &host, &sha) {
                Some(m) => Json(m).into_response(),
                None => (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": format!("No model with id {n}")})),
                )
                    .into_response(),
            },
            None => model(State(sha), Path(id)).await,
        }
    }
    Router::new()
        .route("/api/v1/models", get(search::civitai_search))
        .route("/img/{name}", get(search::image))
        .route("/api/v1/models/{id}", get(listed))
        .route("/api/v1/model-versions/{id}", get(version))
        .with_state(Arc::new(sha.to_string()))
}

pub mod civitai_meta;
pub mod hub;
pub mod lifecycle;
pub mod misbehave;
pub mod model_files;
pub mod search;
