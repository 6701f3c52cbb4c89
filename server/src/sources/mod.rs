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

/// An answer's body as JSON, read within the lookup's timeout.
pub async fn lookup_json<T: serde::de::DeserializeOwned>(
    service: &str,
    response: reqwest::Response,
) -> Result<T, AppError> {
    response.json().await.map_err(|e| {
        let why = if e.is_timeout() {
            "stopped sending its answer".to_string()
        } else {
            format!("sent an answer this app cannot read ({e})")
        };
        AppError::new(
            ErrorCode::Upstream,
            format!("{service} {why}; try again later"),
        )
    })
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

/// An image or page link a site gave, when it is plain http(s).
pub fn web_link(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
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
