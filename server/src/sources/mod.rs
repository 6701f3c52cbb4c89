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

/// A lookup a person waits for (search, a repo's files, a model's versions): sent with
/// `timeout`, transport failures said as a person reads them.
pub async fn lookup(
    service: &str,
    request: reqwest::RequestBuilder,
    timeout: std::time::Duration,
) -> Result<reqwest::Response, AppError> {
    request.timeout(timeout).send().await.map_err(|e| {
        if e.is_timeout() {
            AppError::new(
                ErrorCode::Upstream,
                format!(
                    "{service} did not answer within {} s; try again later",
                    timeout.as_secs()
                ),
            )
        } else {
            http_error(service, e)
        }
    })
}

/// Most of an answer a lookup reads: far above any real listing page or model answer, so a
/// faulty or hostile endpoint cannot fill the server's memory.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// An answer's body, at most `max` bytes, read within the request's timeout.
pub async fn read_body(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| match e.is_timeout() {
        true => "stopped sending its answer".to_string(),
        false => format!("broke off its answer ({})", e.without_url()),
    })? {
        if body.len() + chunk.len() > max {
            return Err(format!("sent an answer larger than {} MiB", max >> 20));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An answer's body as JSON (bounded by `MAX_ANSWER_BYTES`), read within the lookup's timeout.
pub async fn lookup_json<T: serde::de::DeserializeOwned>(
    service: &str,
    response: reqwest::Response,
) -> Result<T, AppError> {
    let upstream = |why: String| {
        AppError::new(
            ErrorCode::Upstream,
            format!("{service} {why}; try again later"),
        )
    };
    let body = read_body(response, MAX_ANSWER_BYTES)
        .await
        .map_err(upstream)?;
    serde_json::from_slice(&body)
        .map_err(|e| upstream(format!("sent an answer this app cannot read ({e})")))
}

/// A refusal every site answers alike: 429 (rate limited) and 5xx; `None` for others.
pub fn busy_status(service: &str, status: u16) -> Option<AppError> {
    let message = match status {
        429 => format!(
            "{service} is rate limiting this server's requests; wait a minute and try again"
        ),
        500..=599 => format!("{service} is failing (it answered {status}); try again later"),
        _ => return None,
    };
    Some(AppError::new(ErrorCode::Upstream, message))
}

/// A name a site gave, safe to show: control and text-direction characters removed.
pub fn clean_text(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control() && !app::domain::is_bidi_control(*c))
        .collect::<String>()
        .trim()
        .to_string()
}

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
