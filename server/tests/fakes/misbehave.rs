//! Servers that misbehave the way real ones did: a host that accepts connections and never
//! answers, a file server that ignores `Range` and drops every connection half-way, a
//! Hub-compatible server whose resolve HEAD answers 200 with only a `Content-Length`, and a
//! tree listing whose next page is on another origin. All on loopback.

#![allow(dead_code)]

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{any, get},
    Json, Router,
};
use bytes::Bytes;
use serde_json::json;

/// Accepts TCP connections and holds them open without ever sending a byte.
pub struct Silent {
    pub base: String,
    accepted: Arc<AtomicUsize>,
}

impl Silent {
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

pub async fn silent() -> Silent {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    Silent { base, accepted }
}

/// Serves one file at any path, always in full (200, `Range` ignored), and drops every
/// connection after `drop_after` bytes of the body.
pub struct Flaky {
    pub base: String,
    requests: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
}

impl Flaky {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct FlakyState {
    bytes: Bytes,
    drop_after: usize,
    requests: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
}

pub async fn flaky(bytes: Vec<u8>, drop_after: usize) -> Flaky {
    async fn file(State(s): State<FlakyState>) -> Response {
        s.requests.fetch_add(1, Ordering::SeqCst);
        let len = s.bytes.len();
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(s.bytes.slice(..s.drop_after)),
            Err(std::io::Error::other("dropped on purpose")),
        ];
        s.sent.fetch_add(s.drop_after as u64, Ordering::SeqCst);
        Response::builder()
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, len.to_string())
            .header(header::CONNECTION, "close")
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .unwrap()
    }
    let state = FlakyState {
        bytes: Bytes::from(bytes),
        drop_after,
        requests: Arc::default(),
        sent: Arc::default(),
    };
    let (requests, sent) = (state.requests.clone(), state.sent.clone());
    let base = super::serve(Router::new().fallback(get(file)).with_state(state)).await;
    Flaky {
        base,
        requests,
        sent,
    }
}

/// A Hub-compatible server (a mirror, a proxy) whose `/resolve/` answers HEAD with 200 and a
/// `Content-Length`, no `X-Linked-*` headers and no redirect; the GET streams the file
/// chunked (no length), slowly.
pub async fn plain_resolve(bytes: Vec<u8>) -> String {
    async fn resolve(State(bytes): State<Bytes>, method: Method) -> Response {
        if method == Method::HEAD {
            // Hyper answers a HEAD with this body's length and without the body.
            return Response::builder()
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from(bytes))
                .unwrap();
        }
        let chunks: Vec<Bytes> = bytes
            .chunks(16 * 1024)
            .map(Bytes::copy_from_slice)
            .collect();
        let stream = futures_util::stream::unfold(chunks.into_iter(), |mut rest| async move {
            let chunk = rest.next()?;
            tokio::time::sleep(Duration::from_millis(30)).await;
            Some((Ok::<_, std::io::Error>(chunk), rest))
        });
        Response::builder()
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from_stream(stream))
            .unwrap()
    }
    super::serve(
        Router::new()
            .route("/{owner}/{name}/resolve/{rev}/{*path}", any(resolve))
            .with_state(Bytes::from(bytes)),
    )
    .await
}

/// A tree listing whose first page links its next page on another origin (`other`), which
/// records the `Authorization` header of every request it gets.
pub struct ForeignPages {
    pub hub: String,
    /// `Authorization` of each request the other origin got (None: no header).
    pub other_saw: Arc<Mutex<Vec<Option<String>>>>,
    /// `Authorization` of each tree request the hub got.
    pub hub_saw: Arc<Mutex<Vec<Option<String>>>>,
}

fn auth(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub async fn foreign_pages() -> ForeignPages {
    type Saw = Arc<Mutex<Vec<Option<String>>>>;
    async fn record(State(saw): State<Saw>, headers: HeaderMap) -> Response {
        saw.lock().unwrap().push(auth(&headers));
        Json(json!([])).into_response()
    }
    async fn tree(State((saw, other)): State<(Saw, String)>, headers: HeaderMap) -> Response {
        saw.lock().unwrap().push(auth(&headers));
        let next = format!("<{other}/api/models/x/y/tree/main/page2?cursor=abc>; rel=\"next\"");
        (StatusCode::OK, [(header::LINK, next)], Json(json!([]))).into_response()
    }
    let other_saw: Saw = Arc::default();
    let hub_saw: Saw = Arc::default();
    let other = super::serve(
        Router::new()
            .fallback(get(record))
            .with_state(other_saw.clone()),
    )
    .await;
    let hub = super::serve(
        Router::new()
            .route("/api/models/{owner}/{name}/tree/{rev}/{*folder}", get(tree))
            .with_state((hub_saw.clone(), other)),
    )
    .await;
    ForeignPages {
        hub,
        other_saw,
        hub_saw,
    }
}
