//! A direct-link server that misbehaves for the download-lifecycle tests: a file of unknown
//! size (chunked, no `Content-Length`), as many links and CDNs serve generated files.

#![allow(dead_code)]

use axum::{body::Body, http::header, response::Response, routing::get, Router};
use bytes::Bytes;

/// Serves `/{name}`: `total` zero bytes, chunked, without `Content-Length`, `ETag` or
/// `Accept-Ranges`. Returns the base URL.
pub async fn unknown_size(total: u64) -> String {
    const CHUNK: usize = 256 * 1024;
    let chunk = Bytes::from(vec![0u8; CHUNK]);
    let route = move || {
        let chunk = chunk.clone();
        async move {
            let stream = futures_util::stream::unfold(0u64, move |sent| {
                let chunk = chunk.clone();
                async move {
                    (sent < total).then(|| {
                        let n = (total - sent).min(CHUNK as u64) as usize;
                        (Ok::<_, std::io::Error>(chunk.slice(..n)), sent + n as u64)
                    })
                }
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(Body::from_stream(stream))
                .unwrap()
        }
    };
    super::serve(Router::new().route("/{name}", get(route))).await
}
