//! Static files and their caching: the bundle under `/<site-pkg-dir>` has content-hashed names
//! (`scripts/hash-assets.mjs`), so it is served with brotli or gzip copies made at build time
//! and cached for a year as immutable; everything else (HTML, API answers, `public/` files) is
//! `no-cache`, so a page always names the current build's files. Answers made at run time
//! (the HTML, API and server-function JSON) are compressed on the fly when the browser accepts
//! it; the bundle's precompressed copies are left as they are.

use std::path::Path;

use axum::{http::HeaderValue, response::Response};
use tower_http::{
    compression::{
        predicate::{NotForContentType, Predicate, SizeAbove},
        CompressionLayer, CompressionLevel,
    },
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
};

/// `Cache-Control` of the hashed bundle: a name is never reused for other bytes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of every other answer: revalidate before each use.
pub const NO_CACHE: &str = "no-cache";

/// The bundle folder, served from its precompressed copies when the browser accepts them.
/// Only successful answers are cached: a 404 for a name from an older build is not.
pub fn bundle(dir: &Path) -> axum::Router {
    let cache = SetResponseHeaderLayer::overriding(
        axum::http::header::CACHE_CONTROL,
        |response: &Response<_>| {
            response
                .status()
                .is_success()
                .then_some(HeaderValue::from_static(IMMUTABLE))
        },
    );
    // Caches must keep the brotli, gzip and plain answers apart.
    let vary = SetResponseHeaderLayer::if_not_present(
        axum::http::header::VARY,
        HeaderValue::from_static("accept-encoding"),
    );
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    axum::Router::new().fallback_service(axum::routing::get_service(
        tower::ServiceBuilder::new()
            .layer(cache)
            .layer(vary)
            .service(files),
    ))
}

/// The `no-cache` default for every answer that did not set its own.
pub fn no_cache_by_default() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static(NO_CACHE),
    )
}

/// Brotli or gzip for answers made at run time (the 27 KB HTML of the Models page goes out as
/// about 4 KB). A fast level: they are made per request. Answers under 512 bytes (the polls)
/// stay plain, where compression would only add bytes; images and event streams too. Answers
/// that already carry a `Content-Encoding` (the bundle's precompressed copies) pass through.
pub fn compress_dynamic() -> CompressionLayer<impl Predicate> {
    let worth_it = SizeAbove::new(512)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::GRPC);
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .quality(CompressionLevel::Precise(5))
        .compress_when(worth_it)
}
