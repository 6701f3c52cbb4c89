//! What a download asks the Hub: a HEAD on the resolve URL (following the Hub's own redirects
//! with the token, stopping at the CDN's), and the tree API for a folder's files.

use app::domain::AppError;
use reqwest::{header, Method, Response};
use url::Url;

use super::{
    classify, clean_etag, download_refusal, next_link, resolve_url, tree_files, tree_url,
    ListedFile, Subject, TreeEntry, MAX_TREE_PAGES,
};
use crate::{
    download::{net, Fail},
    sources::remote::{header_str, header_u64, redirect_target, HubIdentity, Resolved, Transport},
    storage::hashing,
};

/// What the resolve answers said so far (the Hub's headers, on every hop).
#[derive(Default)]
struct Seen {
    etag: Option<String>,
    size: Option<u64>,
    linked_sha: Option<String>,
    commit: Option<String>,
}

impl Seen {
    fn read(&mut self, response: &Response) {
        if let Some(linked) = header_str(response, "x-linked-etag") {
            let linked = clean_etag(&linked);
            if hashing::is_sha256(&linked) {
                self.linked_sha = Some(linked.to_ascii_lowercase());
            }
            self.etag = Some(linked);
        }
        if let Some(s) = header_u64(response, "x-linked-size") {
            self.size = Some(s);
        }
        if let Some(c) = header_str(response, "x-repo-commit") {
            self.commit = Some(c);
        }
    }

    /// The file served by the Hub itself: its ETag and length stand in for the LFS ones.
    fn read_final(&mut self, response: &Response) {
        if self.etag.is_none() {
            self.etag = header_str(response, "etag").map(|e| clean_etag(&e));
        }
        if self.size.is_none() {
            self.size = header_u64(response, header::CONTENT_LENGTH.as_str()).filter(|n| *n > 0);
        }
    }

    fn resolved(self, url: Url, auth: Option<(Url, String)>, signed: bool) -> Resolved {
        let hub = self
            .commit
            .zip(self.etag.clone())
            .map(|(commit, etag)| HubIdentity { commit, etag });
        Resolved {
            url,
            auth,
            hub,
            etag: self.etag,
            size: self.size,
            sha256: self.linked_sha,
            check_public: false,
            signed,
        }
    }
}

fn endpoint_url<T: Transport>(transport: &T) -> Result<Url, Fail> {
    Url::parse(transport.hf_endpoint())
        .map_err(|_| Fail::Fatal(AppError::internal("HF_ENDPOINT is not a URL")))
}

/// HEAD on `/resolve/`, following only same-origin redirects (renamed repos) with the token; an
/// absolute redirect to the CDN is where the GET goes, without the token.
pub async fn resolve<T: Transport>(
    transport: &T,
    repo: &str,
    revision: &str,
    path: &str,
    token: Option<&str>,
) -> Result<Resolved, Fail> {
    let endpoint = endpoint_url(transport)?;
    let mut url = Url::parse(&resolve_url(transport.hf_endpoint(), repo, revision, path))
        .map_err(|_| Fail::Fatal(AppError::internal("bad resolve URL")))?;
    let mut seen = Seen::default();
    for _ in 0..10 {
        let request = transport
            .client()
            .request(Method::HEAD, url.clone())
            .header(header::ACCEPT_ENCODING, "identity");
        let response = transport
            .send(net::with_token(request, &url, &endpoint, token))
            .await?;
        seen.read(&response);
        let status = response.status();
        if status.is_redirection() {
            let next = redirect_target(&response, &url)?;
            if net::same_origin(&next, &endpoint) {
                url = next;
                continue;
            }
            return Ok(seen.resolved(next, None, true));
        }
        if status.is_success() {
            seen.read_final(&response);
            let auth = token.map(|t| (url.clone(), t.to_string()));
            return Ok(seen.resolved(url, auth, false));
        }
        let subject = Subject {
            repo,
            path,
            revision,
            had_token: token.is_some(),
            endpoint: transport.hf_endpoint(),
        };
        return Err(refusal(&response, &subject));
    }
    Err(Fail::Retry("too many redirects from Hugging Face".into()))
}

/// Every file under `folder/` with the tree API (paginated with `Link: rel="next"`; the token
/// goes to the endpoint's origin only, wherever a next page is).
pub async fn list_folder<T: Transport>(
    transport: &T,
    repo: &str,
    revision: &str,
    folder: &str,
    token: Option<&str>,
) -> Result<Vec<ListedFile>, Fail> {
    let endpoint = endpoint_url(transport)?;
    let first = tree_url(transport.hf_endpoint(), repo, revision, folder);
    let mut next =
        Some(Url::parse(&first).map_err(|_| Fail::Fatal(AppError::internal("bad tree URL")))?);
    let mut out = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > MAX_TREE_PAGES {
            return Err(Fail::Fatal(AppError::invalid(
                "huggingfaceFiles",
                format!("{repo}/{folder} lists more than {MAX_TREE_PAGES} pages of files: name the files to download instead of the folder"),
            )));
        }
        let request = net::with_token(transport.client().get(url.clone()), &url, &endpoint, token);
        let response = transport.send(request).await?;
        if !response.status().is_success() {
            let subject = Subject {
                repo,
                path: folder,
                revision,
                had_token: token.is_some(),
                endpoint: transport.hf_endpoint(),
            };
            return Err(refusal(&response, &subject));
        }
        next = header_str(&response, "link")
            .and_then(|l| next_link(&l))
            .and_then(|n| url.join(&n).ok());
        let entries: Vec<TreeEntry> = transport.json(response).await?;
        out.extend(tree_files(entries));
    }
    Ok(out)
}

/// A Hub error answer: retried when transient, else the job's error (see `refusal`).
fn refusal(response: &Response, subject: &Subject<'_>) -> Fail {
    let status = response.status();
    let code = header_str(response, "x-error-code").unwrap_or_default();
    let why = classify(status.as_u16(), &code, subject.had_token);
    match download_refusal(why, status.as_u16(), subject) {
        Some(error) => Fail::Fatal(error),
        None => Fail::Retry(format!("Hugging Face answered {status}")),
    }
}
