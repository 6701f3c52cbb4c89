//! A fake CivitAI for lookups by hash (`/api/v1/model-versions/by-hash/{hash}`, the answer's
//! shape from shared/reference/external-apis.md section 2) and the preview images it links,
//! misbehaving on request: 404s, any status, a slow image, an oversized one, HTML served as
//! an image, an NSFW image. Image URLs are written as `{base}/preview/...` and served on the
//! fake's own origin. Records what was asked and with which Authorization header.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};

/// A real 1x1 PNG (browsers show it).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// How long `slow.png` takes.
pub const SLOW_PREVIEW: Duration = Duration::from_secs(3);

#[derive(Clone)]
enum Answer {
    Found(Value),
    Status(u16),
}

#[derive(Default)]
struct MetaState {
    answers: HashMap<String, Answer>,
    /// (upper-case hash, Authorization header)
    lookups: Vec<(String, Option<String>)>,
    /// (image name, Authorization header)
    images: Vec<(String, Option<String>)>,
}

#[derive(Clone, Default)]
pub struct CivitaiMeta {
    state: Arc<Mutex<MetaState>>,
}

impl CivitaiMeta {
    pub fn new() -> Self {
        Self::default()
    }

    /// By-hash answers `version` for `sha` (any case).
    pub fn found(&self, sha: &str, version: Value) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(sha.to_uppercase(), Answer::Found(version));
    }

    /// By-hash answers `status` (with CivitAI's error body) for `sha`.
    pub fn fail(&self, sha: &str, status: u16) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(sha.to_uppercase(), Answer::Status(status));
    }

    /// How often `sha` was looked up.
    pub fn lookups_of(&self, sha: &str) -> usize {
        let upper = sha.to_uppercase();
        self.state
            .lock()
            .unwrap()
            .lookups
            .iter()
            .filter(|(h, _)| *h == upper)
            .count()
    }

    pub fn lookups(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().lookups.clone()
    }

    pub fn images(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().images.clone()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v1/model-versions/by-hash/{hash}", get(by_hash))
            .route("/preview/{name}", get(image))
            // For the browser flows (scripts/e2e.sh): a test registers the answer for a hash.
            .route("/fake/by-hash/{hash}", axum::routing::post(register))
            .with_state(self.state.clone())
    }
}

fn auth(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn by_hash(
    State(state): State<Arc<Mutex<MetaState>>>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Response {
    // CivitAI upper-cases the hash server-side.
    let upper = hash.to_uppercase();
    let answer = {
        let mut s = state.lock().unwrap();
        s.lookups.push((upper.clone(), auth(&headers)));
        s.answers.get(&upper).cloned()
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    match answer {
        Some(Answer::Found(body)) => {
            let text = body
                .to_string()
                .replace("{base}", &format!("http://{host}"));
            (
                [
                    (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                text,
            )
                .into_response()
        }
        Some(Answer::Status(code)) => (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"error": "Failed to fetch model version details"})),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "Model not found"})),
        )
            .into_response(),
    }
}

async fn register(
    State(state): State<Arc<Mutex<MetaState>>>,
    Path(hash): Path<String>,
    Json(version): Json<Value>,
) -> StatusCode {
    state
        .lock()
        .unwrap()
        .answers
        .insert(hash.to_uppercase(), Answer::Found(version));
    StatusCode::NO_CONTENT
}

async fn image(
    State(state): State<Arc<Mutex<MetaState>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    state
        .lock()
        .unwrap()
        .images
        .push((name.clone(), auth(&headers)));
    let png = |bytes: Vec<u8>| ([(header::CONTENT_TYPE, "image/png")], bytes).into_response();
    match name.as_str() {
        "ok.png" | "nsfw.png" | "update.png" => png(PNG.to_vec()),
        "slow.png" => {
            tokio::time::sleep(SLOW_PREVIEW).await;
            png(PNG.to_vec())
        }
        // 9 MiB: over the app's cap.
        "huge.png" => {
            let mut bytes = PNG.to_vec();
            bytes.resize(9 << 20, 0);
            png(bytes)
        }
        // An error page served with an image type.
        "page.png" => png(b"<html><body>Service Unavailable</body></html>".to_vec()),
        "text.html" => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html>not an image</html>",
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A by-hash answer: version `id` of model `model_id`, with its images (see [`image`]).
pub fn version(
    id: u64,
    model_id: u64,
    name: &str,
    model_name: &str,
    words: &[&str],
    images: Value,
) -> Value {
    json!({
        "id": id, "modelId": model_id, "name": name, "baseModel": "Flux.1 D",
        "baseModelType": "Standard", "status": "Published", "availability": "Public",
        "nsfwLevel": 1, "publishedAt": "2025-12-18T09:16:12.062Z",
        "description": "<p>Sharp <b>detail</b> &amp; colour.</p><script>alert('x')</script><img src=x onerror=alert(1)><p>Weight 0.8</p>",
        "trainedWords": words,
        "model": {"name": model_name, "type": "LORA", "nsfw": false, "poi": false},
        "files": [], "images": images,
        "downloadUrl": format!("https://civitai.com/api/download/models/{id}")
    })
}

/// An image entry of a version, served by this fake as `name`.
pub fn image_entry(name: &str, nsfw_level: u32) -> Value {
    json!({"url": format!("{{base}}/preview/{name}"), "nsfwLevel": nsfw_level,
           "width": 1, "height": 1, "type": "image"})
}
