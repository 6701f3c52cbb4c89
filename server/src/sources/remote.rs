//! A source's file resolved to where a download GETs it, and what the engine lends the sources
//! to find out: its HTTP client with answer timeouts and the private-address check
//! ([`Transport`]). [`resolve`] dispatches on the kind of source.

use app::domain::AppError;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::{civitai, direct_url, huggingface};
use crate::download::{Fail, FileSource};

/// Where to GET a file and what to expect of it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub url: Url,
    /// Send this token to `url`'s origin only (never across a redirect to another origin).
    pub auth: Option<(Url, String)>,
    /// An identity of the remote content (ETag / X-Linked-Etag), to detect changes on resume.
    pub etag: Option<String>,
    pub size: Option<u64>,
    /// The source's own sha256 (Hugging Face LFS etag).
    pub sha256: Option<String>,
    /// User-typed link: every hop must pass the address check.
    pub check_public: bool,
    /// A short-lived signed URL: a 401/403/410 means "resolve again", not "refused".
    pub signed: bool,
    /// Hugging Face only: the commit the revision resolved to and the file's etag.
    pub hub: Option<HubIdentity>,
}

/// A Hub file's identity at one commit, as huggingface_hub keys its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubIdentity {
    /// `X-Repo-Commit`: 40-hex commit.
    pub commit: String,
    /// `X-Linked-Etag` (LFS sha256) or `ETag` (git blob sha1).
    pub etag: String,
}

/// What a download's source lookups are sent through: the engine's client, answer timeouts
/// and address checks, and the configured sites.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// For the configured sites and the CDNs they redirect to.
    fn client(&self) -> &reqwest::Client;
    /// Sends with the engine's answer timeout; refused or silent hosts are transient.
    async fn send(&self, request: RequestBuilder) -> Result<Response, Fail>;
    /// Reads a JSON body within the answer timeout.
    async fn json<T: DeserializeOwned + Send>(&self, response: Response) -> Result<T, Fail>;
    fn hf_endpoint(&self) -> &str;
    fn civitai_endpoint(&self) -> &str;
    /// Links users typed may point at loopback or private addresses.
    fn private_links_allowed(&self) -> bool;
}

/// Tokens a lookup may send, each to its own site only.
#[derive(Clone, Copy, Default)]
pub struct SiteTokens<'a> {
    pub huggingface: Option<&'a str>,
    pub civitai: Option<&'a str>,
}

/// Where `source` is fetched from now (signed links expire: resolve again on each attempt).
pub async fn resolve<T: Transport>(
    transport: &T,
    source: &FileSource,
    tokens: SiteTokens<'_>,
) -> Result<Resolved, Fail> {
    match source {
        FileSource::Huggingface {
            repo,
            revision,
            path,
        } => huggingface::resolve(transport, repo, revision, path, tokens.huggingface).await,
        FileSource::Civitai { version_id, query } => {
            civitai::resolve_download(transport, *version_id, query, tokens.civitai).await
        }
        FileSource::Url { url } => direct_url::resolve(url, !transport.private_links_allowed()),
        FileSource::HuggingfaceFolder { .. } => Err(Fail::Fatal(AppError::internal(
            "folders are expanded before transfer",
        ))),
    }
}

pub(crate) fn header_str(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// A numeric header as sent: `Response::content_length` is the size of the body received,
/// which a HEAD never has.
pub(crate) fn header_u64(response: &Response, name: &str) -> Option<u64> {
    header_str(response, name)?.trim().parse().ok()
}

/// 408, 429 and 5xx: try again later.
pub(crate) fn transient_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
}

/// Where a redirect answer points, relative to `from`.
pub(crate) fn redirect_target(response: &Response, from: &Url) -> Result<Url, Fail> {
    let location = header_str(response, "location")
        .ok_or_else(|| Fail::Retry(format!("redirect from {} without Location", host(from))))?;
    from.join(&location)
        .map_err(|_| Fail::Retry(format!("bad redirect {location}")))
}

fn host(url: &Url) -> &str {
    url.host_str().unwrap_or_default()
}
