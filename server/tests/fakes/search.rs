//! The search endpoints of the fake Hub (`GET /api/models?search=`, over the repos the hub
//! holds) and of the fake CivitAI (`GET /api/v1/models?query=`), shaped like the real ones
//! (external-apis.md). They misbehave on purpose for some search words: `ratelimited` (429),
//! `broken` (500), `slow` (answers after 3 s), `hostile` (names with markup and text-direction
//! characters, ids that are paths, a script link as preview).

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use super::hub::HubState;

/// A 1x1 PNG, the fake CivitAI's preview image.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// What the search words ask the fake to do wrong, if anything.
async fn misbehave(words: &str, civitai: bool) -> Option<Response> {
    let words = words.to_ascii_lowercase();
    if words.contains("ratelimited") {
        let body = if civitai {
            json!({"error": "Too Many Requests"})
        } else {
            json!({"error": "Rate limit reached. You reached free usage limit (reset hourly)."})
        };
        return Some((StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response());
    }
    if words.contains("broken") {
        return Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "Internal Server Error"})),
            )
                .into_response(),
        );
    }
    if words.contains("slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    None
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string()
}

fn offset(cursor: Option<&String>) -> usize {
    cursor
        .and_then(|c| c.strip_prefix('o'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A repo's stable made-up counts.
fn counts(repo: &str) -> (u64, u64) {
    let h = repo
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    (1000 + h % 90_000, 10 + h % 900)
}

/// `GET /api/models?search=&sort=&direction=-1&limit=&full=&filter=&pipeline_tag=&cursor=`
/// over the repos the hub holds; paged with `Link: <...cursor=oN>; rel="next"`.
pub async fn hub_search(
    State(state): State<Arc<HubState>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    state
        .searches
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let search = get("search").unwrap_or_default();
    if let Some(r) = misbehave(&search, false).await {
        return r;
    }
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        state
            .search_auth
            .lock()
            .unwrap()
            .push(auth.to_str().unwrap_or_default().to_string());
    }
    let filters: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "filter")
        .map(|(_, v)| v.clone())
        .collect();
    let pipeline = get("pipeline_tag");
    let mut repos: Vec<String> = {
        let files = state.files.lock().unwrap();
        let mut repos: Vec<String> = files
            .keys()
            .filter_map(|k| {
                let mut parts = k.strip_prefix("hf/")?.splitn(3, '/');
                Some(format!("{}/{}", parts.next()?, parts.next()?))
            })
            .collect();
        repos.sort();
        repos.dedup();
        repos
    };
    let gated = state.gated.lock().unwrap().clone();
    let mut items: Vec<Value> = repos
        .drain(..)
        .filter(|r| {
            search
                .split_whitespace()
                .all(|w| r.to_lowercase().contains(&w.to_lowercase()))
        })
        .map(|repo| {
            let lora = repo.contains("lora");
            let mut tags = vec![json!("diffusers"), json!("safetensors"), json!("license:apache-2.0")];
            if lora {
                tags.push(json!("lora"));
            }
            if repo.to_lowercase().contains("flux") {
                tags.push(json!("base_model:black-forest-labs/FLUX.1-dev"));
                tags.push(json!(if lora {
                    "base_model:adapter:black-forest-labs/FLUX.1-dev"
                } else {
                    "base_model:finetune:black-forest-labs/FLUX.1-dev"
                }));
            }
            let (downloads, likes) = counts(&repo);
            json!({
                "_id": format!("{:024x}", downloads), "id": repo, "modelId": repo,
                "author": repo.split('/').next(), "downloads": downloads, "likes": likes,
                "private": false, "gated": if gated.contains(&repo) { json!("auto") } else { json!(false) },
                "pipeline_tag": "text-to-image", "library_name": "diffusers", "tags": tags,
                "createdAt": format!("2025-{:02}-01T00:00:00.000Z", 1 + likes % 12),
                "lastModified": "2026-01-01T00:00:00.000Z",
            })
        })
        .filter(|m| {
            let tags = m["tags"].as_array().unwrap();
            filters.iter().all(|f| tags.iter().any(|t| t == f))
                && pipeline.as_ref().is_none_or(|p| m["pipeline_tag"] == *p)
        })
        .collect();
    if search.contains("hostile") {
        items.push(json!({"id": "../../etc/passwd", "downloads": 1, "likes": 1, "tags": []}));
        items.push(
            json!({"id": "acme/hostile-author", "author": "ev\u{202E}il<script>alert(1)</script>",
            "downloads": 5, "likes": 1, "tags": ["license:<b>mit</b>"], "gated": false}),
        );
    }
    let key = match get("sort").as_deref() {
        Some("likes") => "likes",
        Some("createdAt") => "createdAt",
        _ => "downloads",
    };
    // Newest first compares the ISO dates as text; the counts as numbers.
    items.sort_by(|a, b| match key {
        "createdAt" => b[key].as_str().cmp(&a[key].as_str()),
        _ => b[key].as_u64().cmp(&a[key].as_u64()),
    });
    let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(20);
    let from = offset(get("cursor").as_ref());
    let page: Vec<Value> = items.iter().skip(from).take(limit).cloned().collect();
    let mut response = Json(page).into_response();
    if from + limit < items.len() {
        let link = format!(
            "<http://{}/api/models?search={}&limit={limit}&cursor=o{}>; rel=\"next\"",
            host(&headers),
            urlencoding::encode(&search),
            from + limit
        );
        response
            .headers_mut()
            .insert(header::LINK, link.parse().unwrap());
    }
    response
}

/// The fake CivitAI's models: (id, name, type, nsfw, base model, version id, file).
const CIVITAI_MODELS: [(u64, &str, &str, bool, &str, u64, &str); 4] = [
    (
        4384,
        "DreamShaper",
        "LORA",
        false,
        "Flux.1 D",
        128713,
        "dreamshaper_8.safetensors",
    ),
    (
        5000,
        "Ink Sketch",
        "LORA",
        false,
        "Flux.1 D",
        5001,
        "ink_sketch.safetensors",
    ),
    (
        6000,
        "Marble Base",
        "Checkpoint",
        false,
        "SDXL 1.0",
        6001,
        "marble.safetensors",
    ),
    (
        6660,
        "Ink After Dark",
        "LORA",
        true,
        "Flux.1 D",
        6661,
        "dark.safetensors",
    ),
];

/// A CivitAI model as `/api/v1/models` lists it and `/api/v1/models/{id}` shows it.
pub fn civitai_model(id: u64, host: &str, sha: &str) -> Option<Value> {
    let (id, name, kind, nsfw, base, version, file) =
        CIVITAI_MODELS.into_iter().find(|m| m.0 == id)?;
    let image = |n: &str, level: u32| json!({"url": format!("http://{host}/img/{n}.png"), "nsfwLevel": level, "width": 1, "height": 1, "type": "image"});
    let mut versions = vec![json!({
        "id": version, "modelId": id, "name": "v1", "baseModel": base, "baseModelType": "Standard",
        "publishedAt": "2026-02-01T00:00:00.000Z", "availability": "Public", "nsfwLevel": 1,
        "trainedWords": [name.to_lowercase().replace(' ', "_")],
        "stats": {"downloadCount": id * 3, "thumbsUpCount": id / 10},
        "files": [
            {"id": version * 10, "name": file, "type": "Model", "sizeKB": 2048.0,
             "metadata": {"format": "SafeTensor", "size": "pruned", "fp": "fp16"},
             "hashes": {"SHA256": sha}, "primary": true,
             "downloadUrl": format!("https://civitai.com/api/download/models/{version}")}
        ],
        "images": [image("risque", 8), image(&format!("{id}"), 1)],
        "downloadUrl": format!("https://civitai.com/api/download/models/{version}")
    })];
    if id == 4384 {
        versions.push(json!({
            "id": 100, "modelId": 4384, "name": "7", "baseModel": "SDXL 1.0",
            "publishedAt": "2025-02-01T00:00:00.000Z", "trainedWords": [],
            "files": [{"id": 1000, "name": "dreamshaper_7.safetensors", "type": "Model", "sizeKB": 4096.0,
                       "hashes": {"SHA256": sha}, "primary": true}],
            "images": []
        }));
        versions[0]["name"] = json!("8");
    }
    Some(json!({
        "id": id, "name": name, "type": kind, "nsfw": nsfw, "poi": false,
        "description": "<p>made up</p>", "allowCommercialUse": ["Image"],
        "creator": {"username": "fakeuser"}, "tags": ["style"],
        "stats": {"downloadCount": id * 3, "thumbsUpCount": id / 10, "commentCount": 0},
        "modelVersions": versions
    }))
}

/// `GET /api/v1/models?limit=&nsfw=&sort=&query=&types=&baseModels=&cursor=`, paged with
/// `metadata.nextCursor`.
pub async fn civitai_search(
    State(sha): State<Arc<String>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let all = |k: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let query = get("query").unwrap_or_default();
    if let Some(r) = misbehave(&query, true).await {
        return r;
    }
    let host = host(&headers);
    let (types, bases) = (all("types"), all("baseModels"));
    let mut items: Vec<Value> = CIVITAI_MODELS
        .iter()
        .filter_map(|m| civitai_model(m.0, &host, &sha))
        .filter(|m| {
            let name = m["name"].as_str().unwrap().to_lowercase();
            query
                .split_whitespace()
                .all(|w| name.contains(&w.to_lowercase()))
                && (types.is_empty() || types.iter().any(|t| m["type"] == *t))
                && (bases.is_empty()
                    || bases
                        .iter()
                        .any(|b| m["modelVersions"][0]["baseModel"] == *b))
        })
        .collect();
    if query.contains("hostile") {
        items.push(json!({
            "id": 7000, "name": "Evil\u{202E}gnp.exe <img src=x onerror=alert(1)>", "type": "LORA", "nsfw": false,
            "stats": {"downloadCount": 1, "thumbsUpCount": 1},
            "modelVersions": [{"id": 7001, "baseModel": "Flux.1 D",
                "images": [{"url": "javascript:alert(1)", "nsfwLevel": 1, "type": "image"}]}]
        }));
    }
    match get("sort").as_deref() {
        Some("Newest") => items.sort_by_key(|m| std::cmp::Reverse(m["id"].as_u64())),
        Some("Highest Rated") => {
            items.sort_by_key(|m| std::cmp::Reverse(m["stats"]["thumbsUpCount"].as_u64()))
        }
        _ => items.sort_by_key(|m| std::cmp::Reverse(m["stats"]["downloadCount"].as_u64())),
    }
    let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(20);
    let from: usize = get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let next = (from + limit < items.len()).then(|| (from + limit).to_string());
    let page: Vec<Value> = items.into_iter().skip(from).take(limit).collect();
    Json(json!({"items": page, "metadata": {"nextCursor": next, "pageSize": limit}}))
        .into_response()
}

/// `GET /img/{name}`: the preview images.
pub async fn image() -> Response {
    ([(header::CONTENT_TYPE, "image/png")], PNG).into_response()
}
