//! One adapter per source of model files.

pub mod civitai;
pub mod direct_url;
pub mod huggingface;
pub mod upload;

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
