//! Turning a file's source into the URL to fetch and what the source says it must be:
//! the Hugging Face resolve protocol, CivitAI's download redirect, and direct links.

use app::domain::AppError;
use reqwest::{header, Method, StatusCode};
use url::Url;

use super::{net, plan::FileSource, progress::Job, Engine, Fail};
use crate::{
    sources::{
        civitai,
        huggingface::{self, clean_etag, next_link, ListedFile, Subject, TreeEntry},
    },
    storage::hashing,
};

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

fn hub_identity(commit: Option<String>, etag: Option<String>) -> Option<HubIdentity> {
    Some(HubIdentity {
        commit: commit?,
        etag: etag?,
    })
}

fn header_str(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_string)
}

/// A numeric header as sent: `Response::content_length` is the size of the body received,
/// which a HEAD never has.
fn header_u64(response: &reqwest::Response, name: &str) -> Option<u64> {
    header_str(response, name)?.trim().parse().ok()
}

fn transient_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
}

impl Engine {
    pub(super) async fn resolve(
        &self,
        source: &FileSource,
        hf_token: Option<&str>,
        civitai_token: Option<&str>,
    ) -> Result<Resolved, Fail> {
        match source {
            FileSource::Huggingface {
                repo,
                revision,
                path,
            } => self.resolve_hf(repo, revision, path, hf_token).await,
            FileSource::Civitai { version_id, query } => {
                self.resolve_civitai(*version_id, query, civitai_token)
                    .await
            }
            FileSource::Url { url } => {
                // The address check runs on every hop of the GET, the first one included.
                let url = Url::parse(url).map_err(|_| {
                    Fail::Fatal(AppError::invalid("url", "the saved link is not valid"))
                })?;
                Ok(Resolved {
                    url,
                    auth: None,
                    etag: None,
                    size: None,
                    sha256: None,
                    check_public: !self.allow_private_urls,
                    signed: false,
                    hub: None,
                })
            }
            FileSource::HuggingfaceFolder { .. } => Err(Fail::Fatal(AppError::internal(
                "folders are expanded before transfer",
            ))),
        }
    }

    /// HEAD on `/resolve/`, following only same-origin redirects (renamed repos) with the
    /// token; an absolute redirect to the CDN is where the GET goes, without the token.
    async fn resolve_hf(
        &self,
        repo: &str,
        revision: &str,
        path: &str,
        token: Option<&str>,
    ) -> Result<Resolved, Fail> {
        let endpoint = Url::parse(&self.hf_endpoint)
            .map_err(|_| Fail::Fatal(AppError::internal("HF_ENDPOINT is not a URL")))?;
        let mut url = Url::parse(&huggingface::resolve_url(
            &self.hf_endpoint,
            repo,
            revision,
            path,
        ))
        .map_err(|_| Fail::Fatal(AppError::internal("bad resolve URL")))?;
        let (mut etag, mut size, mut linked_sha, mut commit) = (None, None, None, None);
        for _ in 0..10 {
            let request = self
                .http
                .request(Method::HEAD, url.clone())
                .header(header::ACCEPT_ENCODING, "identity");
            let response = self
                .send(net::with_token(request, &url, &endpoint, token))
                .await?;
            if let Some(linked) = header_str(&response, "x-linked-etag") {
                let linked = clean_etag(&linked);
                if hashing::is_sha256(&linked) {
                    linked_sha = Some(linked.to_ascii_lowercase());
                }
                etag = Some(linked);
            }
            if let Some(s) = header_u64(&response, "x-linked-size") {
                size = Some(s);
            }
            if let Some(c) = header_str(&response, "x-repo-commit") {
                commit = Some(c);
            }
            let status = response.status();
            if status.is_redirection() {
                let location = header_str(&response, "location")
                    .ok_or_else(|| Fail::Retry("redirect without Location".into()))?;
                let next = url
                    .join(&location)
                    .map_err(|_| Fail::Retry(format!("bad redirect {location}")))?;
                if net::same_origin(&next, &endpoint) {
                    url = next;
                    continue;
                }
                return Ok(Resolved {
                    url: next,
                    auth: None,
                    hub: hub_identity(commit, etag.clone()),
                    etag,
                    size,
                    sha256: linked_sha,
                    check_public: false,
                    signed: true,
                });
            }
            if status.is_success() {
                if etag.is_none() {
                    etag = header_str(&response, "etag").map(|e| clean_etag(&e));
                }
                if size.is_none() {
                    size =
                        header_u64(&response, header::CONTENT_LENGTH.as_str()).filter(|n| *n > 0);
                }
                let auth = token.map(|t| (url.clone(), t.to_string()));
                return Ok(Resolved {
                    url,
                    auth,
                    hub: hub_identity(commit, etag.clone()),
                    etag,
                    size,
                    sha256: linked_sha,
                    check_public: false,
                    signed: false,
                });
            }
            return Err(hf_failure(
                &response,
                repo,
                path,
                revision,
                token.is_some(),
                &self.hf_endpoint,
            ));
        }
        Err(Fail::Retry("too many redirects from Hugging Face".into()))
    }

    /// `GET /api/download/models/{id}` answers 307 to a short-lived signed URL.
    async fn resolve_civitai(
        &self,
        version_id: u64,
        query: &str,
        token: Option<&str>,
    ) -> Result<Resolved, Fail> {
        let url = Url::parse(&civitai::download_url(
            &self.civitai_endpoint,
            version_id,
            query,
        ))
        .map_err(|_| Fail::Fatal(AppError::internal("CIVITAI_ENDPOINT is not a URL")))?;
        let mut request = self
            .http
            .get(url.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = self.send(request).await?;
        let status = response.status();
        if status.is_redirection() {
            let location = header_str(&response, "location")
                .ok_or_else(|| Fail::Retry("CivitAI redirect without Location".into()))?;
            let next = url
                .join(&location)
                .map_err(|_| Fail::Retry(format!("bad redirect {location}")))?;
            let auth = token
                .filter(|_| net::same_origin(&next, &url))
                .map(|t| (next.clone(), t.to_string()));
            return Ok(Resolved {
                url: next,
                auth,
                etag: None,
                size: None,
                sha256: None,
                check_public: false,
                signed: true,
                hub: None,
            });
        }
        if status.is_success() {
            // Served directly: fetch it again with ranges from the same URL.
            let auth = token.map(|t| (url.clone(), t.to_string()));
            return Ok(Resolved {
                url,
                auth,
                etag: None,
                size: None,
                sha256: None,
                check_public: false,
                signed: false,
                hub: None,
            });
        }
        if transient_status(status) {
            return Err(Fail::Retry(format!("CivitAI answered {status}")));
        }
        let body: civitai::ApiError = self.json(response).await.unwrap_or_default();
        Err(Fail::Fatal(civitai::download_refusal(
            status.as_u16(),
            &body.said(),
            version_id,
        )))
    }

    /// Lists every file under `folder/`, retrying transient failures like a transfer.
    pub(super) async fn list_folder(
        &self,
        job: &Job,
        repo: &str,
        revision: &str,
        folder: &str,
        token: Option<&str>,
    ) -> Result<Vec<ListedFile>, AppError> {
        let mut retries = self.retries(job, format!("listing {folder}/ of {repo}"), "");
        loop {
            let attempt = self.list_hf_folder(repo, revision, folder, token);
            match retries.run(attempt).await {
                Ok(listed) => return Ok(listed),
                Err(fail) => retries.after(fail).await?,
            }
        }
    }

    /// Lists every file under `folder/` with the tree API (paginated with `Link: rel="next"`;
    /// the token goes to the endpoint's origin only, wherever a next page is).
    async fn list_hf_folder(
        &self,
        repo: &str,
        revision: &str,
        folder: &str,
        token: Option<&str>,
    ) -> Result<Vec<ListedFile>, Fail> {
        let endpoint = Url::parse(&self.hf_endpoint)
            .map_err(|_| Fail::Fatal(AppError::internal("HF_ENDPOINT is not a URL")))?;
        let first = huggingface::tree_url(&self.hf_endpoint, repo, revision, folder);
        let mut next =
            Some(Url::parse(&first).map_err(|_| Fail::Fatal(AppError::internal("bad tree URL")))?);
        let mut out = Vec::new();
        while let Some(url) = next.take() {
            let request = net::with_token(self.http.get(url.clone()), &url, &endpoint, token);
            let response = self.send(request).await?;
            if !response.status().is_success() {
                return Err(hf_failure(
                    &response,
                    repo,
                    folder,
                    revision,
                    token.is_some(),
                    &self.hf_endpoint,
                ));
            }
            next = header_str(&response, "link")
                .and_then(|l| next_link(&l))
                .and_then(|n| url.join(&n).ok());
            let entries: Vec<TreeEntry> = self.json(response).await?;
            out.extend(huggingface::tree_files(entries));
        }
        Ok(out)
    }
}

/// A Hub error answer: retried when transient, else the job's error (see
/// `sources::huggingface::refusal`).
fn hf_failure(
    response: &reqwest::Response,
    repo: &str,
    path: &str,
    revision: &str,
    had_token: bool,
    endpoint: &str,
) -> Fail {
    let status = response.status();
    let code = header_str(response, "x-error-code").unwrap_or_default();
    let why = huggingface::classify(status.as_u16(), &code, had_token);
    let subject = Subject {
        repo,
        path,
        revision,
        had_token,
        endpoint,
    };
    match huggingface::download_refusal(why, status.as_u16(), &subject) {
        Some(error) => Fail::Fatal(error),
        None => Fail::Retry(format!("Hugging Face answered {status}")),
    }
}
