//! What a download asks CivitAI: its download endpoint, which answers with a redirect to a
//! short-lived signed link (or serves the file itself), and what its refusals mean.

use app::domain::{AppError, ErrorCode};
use reqwest::header;
use serde::Deserialize;
use url::Url;

use crate::{
    download::{net, Fail},
    sources::remote::{redirect_target, transient_status, Resolved, Transport},
};

/// `GET {endpoint}/api/download/models/{id}{query}`: answers 307 to a short-lived signed link.
fn download_url(endpoint: &str, version_id: u64, query: &str) -> String {
    format!("{endpoint}/api/download/models/{version_id}{query}")
}

/// The body of a CivitAI error answer.
#[derive(Debug, Default, Deserialize)]
struct ApiError {
    error: Option<String>,
    message: Option<String>,
}

impl ApiError {
    /// What CivitAI said, if anything.
    fn said(self) -> String {
        self.message.or(self.error).unwrap_or_default()
    }
}

/// A refusal of the download endpoint (transient answers are retried before this), as a
/// person can act on it.
fn download_refusal(status: u16, said: &str, version_id: u64) -> AppError {
    match status {
        401 => AppError::new(
            ErrorCode::TokenRequired,
            format!("CivitAI requires an API key for this file ({said}): create one in your CivitAI account settings and give it as the CivitAI token"),
        ),
        403 => AppError::new(ErrorCode::AccessDenied, format!("CivitAI refused the download: {said}")),
        404 => AppError::new(ErrorCode::NotFound, format!("CivitAI has no file for version {version_id}")),
        410 => AppError::new(ErrorCode::NotFound, format!("CivitAI version {version_id} is archived and cannot be downloaded")),
        _ => AppError::new(ErrorCode::Upstream, format!("CivitAI answered {status}: {said}")),
    }
}

/// `GET /api/download/models/{id}` answers 307 to a short-lived signed URL; the API key goes to
/// CivitAI's origin only.
pub async fn resolve_download<T: Transport>(
    transport: &T,
    version_id: u64,
    query: &str,
    token: Option<&str>,
) -> Result<Resolved, Fail> {
    let url = Url::parse(&download_url(
        transport.civitai_endpoint(),
        version_id,
        query,
    ))
    .map_err(|_| Fail::Fatal(AppError::internal("CIVITAI_ENDPOINT is not a URL")))?;
    let mut request = transport
        .client()
        .get(url.clone())
        .header(header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = transport.send(request).await?;
    let status = response.status();
    let (url, signed) = if status.is_redirection() {
        (redirect_target(&response, &url)?, true)
    } else if status.is_success() {
        // Served directly: fetched again, with ranges, from the same URL.
        (url, false)
    } else if transient_status(status) {
        return Err(Fail::Retry(format!("CivitAI answered {status}")));
    } else {
        let body: ApiError = transport.json(response).await.unwrap_or_default();
        return Err(Fail::Fatal(download_refusal(
            status.as_u16(),
            &body.said(),
            version_id,
        )));
    };
    let endpoint = Url::parse(transport.civitai_endpoint()).ok();
    let auth = token
        .filter(|_| endpoint.as_ref().is_some_and(|e| net::same_origin(&url, e)))
        .map(|t| (url.clone(), t.to_string()));
    Ok(Resolved {
        url,
        auth,
        etag: None,
        size: None,
        sha256: None,
        check_public: false,
        signed,
        hub: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_refusals_say_what_to_do() {
        let cases = [
            (401, ErrorCode::TokenRequired, "API key"),
            (403, ErrorCode::AccessDenied, "refused the download: nope"),
            (404, ErrorCode::NotFound, "no file for version 7"),
            (410, ErrorCode::NotFound, "archived"),
            (400, ErrorCode::Upstream, "answered 400: nope"),
        ];
        for (status, code, says) in cases {
            let e = download_refusal(status, "nope", 7);
            assert_eq!(e.code, code, "{status}");
            assert!(e.message.contains(says), "{status}: {}", e.message);
        }
        assert_eq!(
            download_url("https://civitai.com", 7, "?type=Model"),
            "https://civitai.com/api/download/models/7?type=Model"
        );
    }
}
