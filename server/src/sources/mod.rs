//! One home per source of model files: its link and id rules, the lookups when a model is
//! added, and what a download asks it (resolve a file to a URL with its size and identity,
//! list a folder, what its refusals mean). `remote` is the shared shape of a resolved file and
//! the dispatch by kind of source.

pub mod civitai;
pub mod direct_url;
pub mod huggingface;
mod remote;
pub mod upload;

pub use remote::{resolve, HubIdentity, Resolved, SiteTokens, Transport};

use app::domain::{AppError, ErrorCode};

/// A transport failure talking to `service`, as a person reads it.
pub fn http_error(service: &str, e: reqwest::Error) -> AppError {
    let why = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    };
    AppError::new(
        ErrorCode::Upstream,
        format!("{service}: {why}; check the network and try again"),
    )
}
