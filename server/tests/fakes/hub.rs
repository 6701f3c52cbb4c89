//! A fake Hugging Face hub (resolve protocol, tree API), a fake CivitAI download endpoint and
//! a fake CDN with Range support, all on loopback. Files can misbehave on purpose: drop the
//! connection, ignore Range, stream slowly, change, or publish the wrong hash.

#![allow(dead_code)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{any, get},
    Json, Router,
};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::hf_error;

pub const GOOD_TOKEN: &str = "hf_CANARY_good_4d1f9b";
pub const NO_ACCESS_TOKEN: &str = "hf_CANARY_noaccess_77aa";
pub const CIVITAI_KEY: &str = "civ_CANARY_key_5e0c";

#[derive(Clone, Default)]
pub struct FakeFile {
    pub bytes: Bytes,
    /// Published sha256 (X-Linked-Etag, the LFS sha256 of the tree and info answers);
    /// defaults to the real one.
    pub published_sha: Option<String>,
    /// The resolve answer carries no `X-Linked-Etag` (only the tree and info answers publish
    /// the LFS sha256), as a Hub file served without it would.
    pub no_linked_etag: bool,
    /// Drop the connection after this many bytes of the body, once.
    pub drop_after: Option<u64>,
    pub ignore_range: bool,
    /// Pause this long after every 64 KiB.
    pub throttle: Option<Duration>,
    /// Stop sending, without closing the connection, at this offset of the file: every
    /// request that reaches it hangs (a stalled transfer).
    pub stall_at: Option<u64>,
    /// `Content-Disposition` file name (CivitAI).
    pub disposition: Option<String>,
    /// Signed CDN links stop working (403, as S3 answers) once `Hub::expire_links` is called.
    pub expiring_links: bool,
    /// The sha256 of `bytes`, worked out once by `Hub::put` and `Hub::update`.
    pub known_sha: Option<String>,
}

impl FakeFile {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes: Bytes::from(bytes),
            ..Default::default()
        }
    }
    pub fn sha(&self) -> String {
        self.known_sha
            .clone()
            .unwrap_or_else(|| format!("{:x}", Sha256::digest(&self.bytes)))
    }
    /// The sha256 the Hub publishes for it (LFS oid, `X-Linked-Etag`).
    pub fn published(&self) -> String {
        self.published_sha.clone().unwrap_or_else(|| self.sha())
    }
}

/// One request the CDN saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub key: String,
    pub range: Option<String>,
    pub auth: Option<String>,
    pub status: u16,
}

impl Seen {
    /// Where an open-ended resume (`Range: bytes=N-`) asked to start.
    pub fn resume_offset(&self) -> Option<u64> {
        self.range
            .as_ref()?
            .strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse()
            .ok()
    }
}

#[derive(Default)]
pub struct HubState {
    /// Key: `hf/{repo}/{path}`, `civitai/{versionId}` or `url/{name}`.
    pub files: Mutex<HashMap<String, FakeFile>>,
    pub gated: Mutex<Vec<String>>,
    /// CivitAI versions that need a key.
    pub login_only: Mutex<Vec<u64>>,
    pub seen: Mutex<Vec<Seen>>,
    pub cdn: Mutex<String>,
    /// Body bytes the CDN has sent, every request together.
    pub served: std::sync::atomic::AtomicU64,
    /// Signed links carry the epoch they were issued in; `expire_links` starts a new one.
    pub link_epoch: std::sync::atomic::AtomicU64,
    /// Bodies being sent now, and the most at any moment.
    pub in_flight: std::sync::atomic::AtomicU64,
    pub max_in_flight: std::sync::atomic::AtomicU64,
    /// Searches answered (`GET /api/models`), and the `Authorization` headers they carried.
    pub searches: std::sync::atomic::AtomicU64,
    pub search_auth: Mutex<Vec<String>>,
    /// Tree listings of a whole repo answered.
    pub trees: std::sync::atomic::AtomicU64,
}

/// One body being sent, counted in `in_flight` until it ends or the client goes.
struct Flight(Arc<HubState>);

impl Flight {
    fn start(state: Arc<HubState>) -> Self {
        use std::sync::atomic::Ordering::SeqCst;
        let now = state.in_flight.fetch_add(1, SeqCst) + 1;
        state.max_in_flight.fetch_max(now, SeqCst);
        Self(state)
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

pub struct Hub {
    pub base: String,
    pub cdn: String,
    pub state: Arc<HubState>,
}

impl Hub {
    pub fn put(&self, key: &str, mut file: FakeFile) {
        file.known_sha = None;
        file.known_sha = Some(file.sha());
        self.state
            .files
            .lock()
            .unwrap()
            .insert(key.to_string(), file);
    }
    pub fn update(&self, key: &str, change: impl FnOnce(&mut FakeFile)) {
        let mut files = self.state.files.lock().unwrap();
        let file = files.get_mut(key).expect("known file");
        change(file);
        file.known_sha = None;
        file.known_sha = Some(file.sha());
    }
    pub fn gate(&self, repo: &str) {
        self.state.gated.lock().unwrap().push(repo.to_string());
    }
    pub fn login_only(&self, version: u64) {
        self.state.login_only.lock().unwrap().push(version);
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
    /// The furthest offset a download resumed from, if it resumed at all.
    pub fn highest_resume_offset(&self) -> Option<u64> {
        self.seen().iter().filter_map(Seen::resume_offset).max()
    }
    /// Body bytes the CDN has sent so far.
    pub fn served(&self) -> u64 {
        self.state.served.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// The most bodies the CDN was sending at one moment.
    pub fn max_in_flight(&self) -> u64 {
        self.state
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Every signed link issued so far expires.
    pub fn expire_links(&self) {
        self.state
            .link_epoch
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

pub async fn start() -> Hub {
    start_with(Router::new()).await
}

/// The hub with `extra` routes on the same origin (e.g. the CivitAI API v1 fake).
pub async fn start_with(extra: Router) -> Hub {
    let state = Arc::new(HubState::default());
    let cdn = super::serve(
        Router::new()
            .route("/blob/{*key}", get(cdn))
            .with_state(state.clone()),
    )
    .await;
    *state.cdn.lock().unwrap() = cdn.clone();
    let base = super::serve(
        Router::new()
            .route("/{owner}/{name}/resolve/{rev}/{*path}", any(resolve))
            .route("/api/models/{owner}/{name}/tree/{rev}/{*folder}", get(tree))
            .route("/api/models/{owner}/{name}/tree/{rev}", get(repo_tree))
            .route("/api/models", get(super::search::hub_search))
            .route("/api/models/{owner}/{name}/revision/{rev}", get(info))
            .route("/api/download/models/{version}", get(civitai_download))
            .with_state(state.clone())
            .merge(extra),
    )
    .await;
    Hub { base, cdn, state }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

async fn resolve(
    State(state): State<Arc<HubState>>,
    Path((owner, name, _rev, path)): Path<(String, String, String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let repo = format!("{owner}/{name}");
    let token = bearer(&headers);
    if let Some(t) = &token {
        if t != GOOD_TOKEN && t != NO_ACCESS_TOKEN {
            return hf_error(
                StatusCode::UNAUTHORIZED,
                None,
                "Invalid credentials in Authorization header",
            );
        }
    }
    let files = state.files.lock().unwrap();
    if !files.keys().any(|k| k.starts_with(&format!("hf/{repo}/"))) {
        let status = if token.is_some() {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::UNAUTHORIZED
        };
        return hf_error(status, Some("RepoNotFound"), "Repository not found");
    }
    if state.gated.lock().unwrap().contains(&repo) {
        match token.as_deref() {
            None => return hf_error(StatusCode::UNAUTHORIZED, Some("GatedRepo"), &format!("Access to model {repo} is restricted. You must have access to it and be authenticated to access it. Please log in.")),
            Some(NO_ACCESS_TOKEN) => return hf_error(StatusCode::FORBIDDEN, Some("GatedRepo"), &format!("Access to model {repo} is restricted and you are not in the authorized list. Visit https://huggingface.co/{repo} to ask for access.")),
            _ => {}
        }
    }
    let key = format!("hf/{repo}/{path}");
    let Some(file) = files.get(&key) else {
        return hf_error(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            &format!("{path} does not exist on \"main\""),
        );
    };
    let sha = file.published();
    let cdn = state.cdn.lock().unwrap().clone();
    let epoch = state.link_epoch.load(std::sync::atomic::Ordering::SeqCst);
    let _ = method;
    let mut found = Response::builder()
        .status(StatusCode::FOUND)
        .header(
            header::LOCATION,
            format!("{cdn}/blob/{key}?X-Amz-Signature=fake&Expires=1900000000&epoch={epoch}"),
        )
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if !file.no_linked_etag {
        found = found.header("x-linked-etag", format!("\"{sha}\""));
    }
    found
        .header("x-linked-size", file.bytes.len().to_string())
        .header("x-repo-commit", "0123456789abcdef0123456789abcdef01234567")
        .body(Body::from("Found. Redirecting"))
        .unwrap()
}

/// Model info with `siblings`; with `?blobs=true`, as on the real Hub, each with its size,
/// git blob id and `lfs: {sha256, size, pointerSize}` (note: `sha256` here, `oid` in the tree).
async fn info(
    State(state): State<Arc<HubState>>,
    Path((owner, name, _rev)): Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let prefix = format!("hf/{owner}/{name}/");
    let blobs = q.get("blobs").is_some_and(|b| b == "true");
    let files = state.files.lock().unwrap();
    let siblings: Vec<_> = files
        .iter()
        .filter_map(|(k, f)| {
            let path = k.strip_prefix(&prefix)?;
            Some(if blobs {
                json!({"rfilename": path, "size": f.bytes.len(), "blobId": "a".repeat(40),
                       "lfs": {"sha256": f.published(), "size": f.bytes.len(), "pointerSize": 134}})
            } else {
                json!({"rfilename": path})
            })
        })
        .collect();
    if siblings.is_empty() {
        return hf_error(
            StatusCode::NOT_FOUND,
            Some("RepoNotFound"),
            "Repository not found",
        );
    }
    let gated = state
        .gated
        .lock()
        .unwrap()
        .contains(&format!("{owner}/{name}"));
    Json(json!({"id": format!("{owner}/{name}"), "private": false, "gated": if gated { json!("auto") } else { json!(false) }, "siblings": siblings})).into_response()
}

async fn tree(
    State(state): State<Arc<HubState>>,
    Path((owner, name, _rev, folder)): Path<(String, String, String, String)>,
) -> Response {
    let prefix = format!("hf/{owner}/{name}/");
    let files = state.files.lock().unwrap();
    let entries: Vec<_> = files
        .iter()
        .filter_map(|(k, f)| {
            let path = k.strip_prefix(&prefix)?;
            path.starts_with(&format!("{folder}/")).then(|| {
                json!({"type": "file", "oid": "a".repeat(40), "size": f.bytes.len(), "path": path,
                       "lfs": {"oid": f.published(), "size": f.bytes.len(), "pointerSize": 134}})
            })
        })
        .collect();
    if entries.is_empty() {
        return hf_error(
            StatusCode::NOT_FOUND,
            Some("EntryNotFound"),
            "no such folder",
        );
    }
    Json(entries).into_response()
}

/// `GET /api/models/{repo}/tree/{rev}?recursive=true`: every file of the repo, two entries a
/// page (`Link: rel="next"`, as the Hub pages long listings), folders included. A repo named
/// `*hostile*` also lists paths that leave the repo; `*slowtree*` answers after 3 s;
/// `*endless*` names a next page forever.
async fn repo_tree(
    State(state): State<Arc<HubState>>,
    Path((owner, name, rev)): Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    state
        .trees
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if name.contains("slowtree") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if rev != "main" {
        return hf_error(
            StatusCode::NOT_FOUND,
            Some("RevisionNotFound"),
            "Invalid rev id",
        );
    }
    let prefix = format!("hf/{owner}/{name}/");
    let mut entries: Vec<serde_json::Value> = {
        let files = state.files.lock().unwrap();
        let mut folders = std::collections::BTreeSet::new();
        let mut entries: Vec<_> = files
            .iter()
            .filter_map(|(k, f)| {
                let path = k.strip_prefix(&prefix)?;
                if let Some((folder, _)) = path.rsplit_once('/') {
                    folders.insert(folder.to_string());
                }
                Some(json!({"type": "file", "oid": "a".repeat(40), "size": f.bytes.len(), "path": path,
                       "lfs": {"oid": f.published(), "size": f.bytes.len(), "pointerSize": 134}}))
            })
            .collect();
        entries.extend(
            folders
                .into_iter()
                .map(|d| json!({"type": "directory", "oid": "b".repeat(40), "size": 0, "path": d})),
        );
        entries
    };
    if entries.is_empty() {
        let status = if bearer(&headers).is_some() {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::UNAUTHORIZED
        };
        return hf_error(status, Some("RepoNotFound"), "Repository not found");
    }
    if name.contains("hostile") {
        for path in [
            "../../outside.safetensors",
            "/etc/passwd",
            "evil\\win.bin",
            "ok/\u{202E}txt.safetensors",
        ] {
            entries.push(json!({"type": "file", "oid": "c".repeat(40), "size": 1, "path": path}));
        }
    }
    entries.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    let from: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let page: Vec<_> = entries.iter().skip(from).take(2).cloned().collect();
    let mut response = Json(page).into_response();
    // `*endless*`: a next page every time, as a broken endpoint might.
    if from + 2 < entries.len() || name.contains("endless") {
        let next = format!(
            "</api/models/{owner}/{name}/tree/{rev}?recursive=true&cursor={}>; rel=\"next\"",
            from + 2
        );
        response
            .headers_mut()
            .insert(header::LINK, next.parse().unwrap());
    }
    response
}

async fn civitai_download(
    State(state): State<Arc<HubState>>,
    Path(version): Path<u64>,
    headers: HeaderMap,
) -> Response {
    if state.login_only.lock().unwrap().contains(&version)
        && bearer(&headers).as_deref() != Some(CIVITAI_KEY)
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "Unauthorized", "message": "The creator of this asset requires you to be logged in to download it"}))).into_response();
    }
    let key = format!("civitai/{version}");
    if !state.files.lock().unwrap().contains_key(&key) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "File not found"})),
        )
            .into_response();
    }
    let cdn = state.cdn.lock().unwrap().clone();
    Response::builder()
        .status(StatusCode::TEMPORARY_REDIRECT)
        .header(
            header::LOCATION,
            format!("{cdn}/blob/{key}?X-Amz-Expires=86400&X-Amz-Signature=abc"),
        )
        .header(header::CACHE_CONTROL, "no-store, max-age=0")
        .body(Body::empty())
        .unwrap()
}

async fn cdn(
    State(state): State<Arc<HubState>>,
    Path(key): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let file = {
        let mut files = state.files.lock().unwrap();
        match files.get_mut(&key) {
            Some(f) => {
                let snapshot = f.clone();
                f.drop_after = None; // drops only once
                Some(snapshot)
            }
            None => None,
        }
    };
    let Some(file) = file else {
        state.seen.lock().unwrap().push(Seen {
            key,
            range,
            auth,
            status: 404,
        });
        return StatusCode::NOT_FOUND.into_response();
    };
    let epoch = state.link_epoch.load(std::sync::atomic::Ordering::SeqCst);
    if file.expiring_links
        && !query
            .unwrap_or_default()
            .ends_with(&format!("epoch={epoch}"))
    {
        state.seen.lock().unwrap().push(Seen {
            key,
            range,
            auth,
            status: 403,
        });
        return Response::builder()
            .status(StatusCode::FORBIDDEN)
            .header(header::CONTENT_TYPE, "application/xml")
            .body(Body::from(
                "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            ))
            .unwrap();
    }
    let len = file.bytes.len() as u64;
    let asked = range
        .as_deref()
        .filter(|_| !file.ignore_range)
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'));
    let start = asked.and_then(|(s, _)| s.parse::<u64>().ok());
    let last = asked
        .and_then(|(_, e)| e.parse::<u64>().ok())
        .map_or(len.saturating_sub(1), |e| e.min(len.saturating_sub(1)));
    let status = match start {
        Some(s) if s >= len => {
            state.seen.lock().unwrap().push(Seen {
                key,
                range,
                auth,
                status: 416,
            });
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .body(Body::empty())
                .unwrap();
        }
        Some(_) => StatusCode::PARTIAL_CONTENT,
        None => StatusCode::OK,
    };
    state.seen.lock().unwrap().push(Seen {
        key,
        range,
        auth,
        status: status.as_u16(),
    });
    let from = start.unwrap_or(0);
    let to = if start.is_some() { last + 1 } else { len };
    let body = file.bytes.slice(from as usize..to as usize);
    let drop_after = file.drop_after;
    let throttle = file.throttle;
    let stall_after = file.stall_at.map(|at| at.saturating_sub(from));
    let served = state.clone();
    let flight = Flight::start(state.clone());
    let stream = async_stream(body, drop_after, throttle, stall_after).map(move |chunk| {
        let _ = &flight;
        if let Ok(c) = &chunk {
            served
                .served
                .fetch_add(c.len() as u64, std::sync::atomic::Ordering::SeqCst);
        }
        chunk
    });
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, (to - from).to_string())
        .header(header::ETAG, format!("\"{}\"", file.sha()));
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {from}-{}/{len}", to - 1),
        );
    }
    if let Some(name) = &file.disposition {
        response = response.header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        );
    }
    response.body(Body::from_stream(stream)).unwrap()
}

fn async_stream(
    body: Bytes,
    drop_after: Option<u64>,
    throttle: Option<Duration>,
    stall_after: Option<u64>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    const CHUNK: usize = 64 * 1024;
    futures_util::stream::unfold((body, 0u64), move |(rest, sent)| async move {
        if rest.is_empty() {
            return None;
        }
        if drop_after.is_some_and(|d| sent >= d) {
            return Some((
                Err(std::io::Error::other("dropped on purpose")),
                (Bytes::new(), sent),
            ));
        }
        if stall_after.is_some_and(|s| sent >= s) {
            std::future::pending::<()>().await;
        }
        if let Some(pause) = throttle {
            tokio::time::sleep(pause).await;
        }
        let mut n = rest.len().min(CHUNK);
        if let Some(d) = drop_after {
            n = n.min((d - sent) as usize).max(1);
        }
        if let Some(s) = stall_after {
            n = n.min((s - sent) as usize);
        }
        let chunk = rest.slice(..n);
        Some((Ok(chunk), (rest.slice(n..), sent + n as u64)))
    })
}

/// A valid safetensors file of about `size` bytes whose content depends on `seed`.
pub fn safetensors(size: usize, seed: u8) -> Vec<u8> {
    use safetensors::tensor::{Dtype, TensorView};
    let data: Vec<u8> = (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let tensors = HashMap::from([(
        "weight".to_string(),
        TensorView::new(Dtype::U8, vec![size], &data).unwrap(),
    )]);
    safetensors::serialize(tensors, None).unwrap()
}
