//! One file's transfer: GET with `Range` from the partial file, retries with backoff on
//! transient errors, start-over when the server ignores `Range` or the content changed,
//! re-resolving expired signed URLs, hashing while writing.

use std::{path::Path, time::Duration};

use app::domain::{AppError, ErrorCode};
use futures_util::StreamExt;
use reqwest::{header, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    net, plan::PlannedFile, progress::Job, resolve::Resolved, writer::Writer, Engine, Fail,
};
use crate::storage::hashing;

/// A file whose bytes are complete in its partial file.
#[derive(Debug)]
pub struct Fetched {
    pub sha256: String,
    pub size: u64,
    /// From `Content-Disposition`, when the server names the file.
    pub file_name: Option<String>,
    /// The source's own sha256 (Hugging Face LFS), to check against.
    pub expected_sha256: Option<String>,
}

/// What the partial file was downloaded from, kept beside it to decide whether to resume.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    identity: Option<String>,
    size: Option<u64>,
}

/// Consecutive failures without progress before a transfer gives up.
const MAX_ATTEMPTS: u32 = 8;

impl Engine {
    pub(super) async fn fetch(
        &self,
        job: &Job,
        index: usize,
        file: &PlannedFile,
        partial: &Path,
    ) -> Result<Fetched, AppError> {
        let meta_path = partial.with_extension("meta.json");
        let mut attempts = 0u32;
        let mut carried: Option<(Sha256, u64)> = None;
        let mut file_name = None;
        loop {
            if job.cancel.is_cancelled() {
                return Err(AppError::new(ErrorCode::Cancelled, "cancelled"));
            }
            let outcome = self
                .attempt(
                    job,
                    index,
                    file,
                    partial,
                    &meta_path,
                    &mut carried,
                    &mut file_name,
                )
                .await;
            match outcome {
                Ok(fetched) => return Ok(fetched),
                Err(Fail::Fatal(e)) => return Err(e),
                Err(Fail::Retry(why)) => {
                    attempts += 1;
                    if attempts >= MAX_ATTEMPTS {
                        return Err(AppError::new(
                            ErrorCode::Upstream,
                            format!("the download kept failing ({why}); the partial file is kept, start the download again to resume"),
                        ));
                    }
                    let wait = self.retry_base * 2u32.saturating_pow(attempts - 1);
                    tracing::warn!(job = %job.id, file = %file.dest, %why, attempt = attempts, "transient error, retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(wait.min(Duration::from_secs(30))) => {}
                        _ = job.cancel.cancelled() => {}
                    }
                }
                Err(Fail::Progressed(why)) => {
                    // Bytes arrived before the error: the next attempt resumes, and the count restarts.
                    attempts = 0;
                    tracing::warn!(job = %job.id, file = %file.dest, %why, "connection lost, resuming");
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        job: &Job,
        index: usize,
        file: &PlannedFile,
        partial: &Path,
        meta_path: &Path,
        carried: &mut Option<(Sha256, u64)>,
        file_name: &mut Option<String>,
    ) -> Result<Fetched, Fail> {
        let tokens = job.tokens();
        let resolved = self
            .resolve(
                &file.source,
                tokens.huggingface.as_deref(),
                tokens.civitai.as_deref(),
            )
            .await?;
        check_expected(file, &resolved)?;
        let expected_size = file.expected_size.or(resolved.size);

        let mut meta: Meta = std::fs::read(meta_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let on_disk = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
        let mut offset = on_disk;
        if resolved.etag.is_some() && meta.identity.is_some() && resolved.etag != meta.identity {
            tracing::info!(job = %job.id, file = %file.dest, "the remote file changed; starting it over");
            offset = 0;
        }
        if expected_size.is_some_and(|s| offset > s) {
            offset = 0;
        }

        let response = self.get_following(&resolved, offset).await?;
        let status = response.status();
        let identity = resolved.etag.clone().or_else(|| {
            response
                .headers()
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(|e| e.trim_matches('"').to_string())
        });
        if let Some(cd) = response
            .headers()
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
        {
            *file_name = net::disposition_file_name(cd).or(file_name.take());
        }
        match status {
            StatusCode::PARTIAL_CONTENT => {
                let start = content_range_start(&response);
                if start != Some(offset) {
                    return Err(Fail::Retry(format!(
                        "the server sent bytes from {start:?}, asked for {offset}"
                    )));
                }
                if offset > 0
                    && identity.is_some()
                    && meta.identity.is_some()
                    && identity != meta.identity
                {
                    tracing::info!(job = %job.id, file = %file.dest, "ETag changed; starting the file over");
                    *carried = None;
                    let _ = std::fs::remove_file(partial);
                    return Err(Fail::Progressed("ETag changed".into()));
                }
            }
            StatusCode::OK => {
                if offset > 0 {
                    tracing::info!(job = %job.id, file = %file.dest, "the server ignored Range; starting the file over");
                }
                offset = 0;
            }
            StatusCode::RANGE_NOT_SATISFIABLE if expected_size == Some(offset) && offset > 0 => {
                return self
                    .complete(
                        partial,
                        offset,
                        carried.take(),
                        file_name.clone(),
                        resolved.sha256.clone(),
                    )
                    .await;
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                let _ = std::fs::remove_file(partial);
                *carried = None;
                return Err(Fail::Retry("the server refused the resume range".into()));
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::GONE
                if resolved.signed =>
            {
                // A signed URL that expired: resolve again from the source, keep the partial.
                return Err(Fail::Retry(format!(
                    "the download link answered {status} (expired?)"
                )));
            }
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                return Err(Fail::Retry(format!("the server answered {s}")));
            }
            s => {
                return Err(Fail::Fatal(AppError::new(
                    ErrorCode::Upstream,
                    format!("the download server answered {s}"),
                )));
            }
        }
        if content_type_is_page(&response) {
            return Err(Fail::Fatal(AppError::new(
                ErrorCode::Upstream,
                "the server sent a web page or an error message instead of the model file",
            )));
        }
        if offset == 0 {
            meta = Meta {
                identity: identity.clone(),
                size: expected_size,
            };
            crate::storage::write_atomic(meta_path, &serde_json::to_vec(&meta).unwrap_or_default())
                .map_err(|e| {
                    Fail::Fatal(AppError::internal(format!(
                        "cannot write the download state: {e}"
                    )))
                })?;
        }
        let total = expected_size.or_else(|| response.content_length().map(|n| n + offset));
        let hasher = carried
            .take()
            .filter(|(_, len)| *len == offset)
            .map(|(h, _)| h);
        let mut writer = Writer::open_keeping(partial, offset, hasher, self.min_free_bytes)
            .map_err(|e| disk_error(&e))?;
        let mut stream = response.bytes_stream();
        let mut received = offset;
        job.set_file_progress(index, received, total);
        let result: Result<(), Fail> = loop {
            let next = tokio::select! {
                next = tokio::time::timeout(self.stall, stream.next()) => next,
                _ = job.cancel.cancelled() => break Err(Fail::Fatal(AppError::new(ErrorCode::Cancelled, "cancelled"))),
            };
            match next {
                Err(_) => {
                    break Err(Fail::Retry(format!(
                        "no data for {} s",
                        self.stall.as_secs()
                    )))
                }
                Ok(None) => break Ok(()),
                Ok(Some(Err(e))) => {
                    break Err(Fail::Retry(format!("connection lost: {}", error_chain(&e))))
                }
                Ok(Some(Ok(chunk))) => {
                    received += chunk.len() as u64;
                    if total.is_some_and(|t| received > t) {
                        break Err(Fail::Fatal(AppError::new(
                            ErrorCode::IntegrityFailed,
                            "the server sent more bytes than the file has",
                        )));
                    }
                    if let Err(e) = writer.send(chunk).await {
                        break Err(disk_error(&e));
                    }
                    job.set_file_progress(index, received, total);
                }
            }
        };
        match result {
            Ok(()) => {
                let (hasher, len) = writer.finish(true).await.map_err(|e| disk_error(&e))?;
                if total.is_some_and(|t| len < t) {
                    *carried = Some((hasher, len));
                    return Err(Fail::Progressed(format!(
                        "the connection closed at {len} of {} bytes",
                        total.unwrap_or(0)
                    )));
                }
                let digest = hashing::hex(&hasher.finalize());
                Ok(Fetched {
                    sha256: digest,
                    size: len,
                    file_name: file_name.clone(),
                    expected_sha256: resolved.sha256.clone(),
                })
            }
            Err(Fail::Retry(why)) => {
                let progressed = received > offset;
                if let Ok(state) = writer.finish(false).await {
                    *carried = Some(state);
                }
                Err(if progressed {
                    Fail::Progressed(why)
                } else {
                    Fail::Retry(why)
                })
            }
            Err(other) => Err(other),
        }
    }

    async fn complete(
        &self,
        partial: &Path,
        len: u64,
        carried: Option<(Sha256, u64)>,
        file_name: Option<String>,
        expected_sha256: Option<String>,
    ) -> Result<Fetched, Fail> {
        let writer = Writer::open(
            partial,
            len,
            carried.filter(|(_, l)| *l == len).map(|(h, _)| h),
        )
        .map_err(|e| disk_error(&e))?;
        let (hasher, size) = writer.finish(true).await.map_err(|e| disk_error(&e))?;
        Ok(Fetched {
            sha256: hashing::hex(&hasher.finalize()),
            size,
            file_name,
            expected_sha256,
        })
    }

    /// GET, following redirects by hand: the token only to its own origin, and every hop of a
    /// user-typed link through the address check.
    async fn get_following(
        &self,
        resolved: &Resolved,
        offset: u64,
    ) -> Result<reqwest::Response, Fail> {
        let mut url = resolved.url.clone();
        for _ in 0..10 {
            if resolved.check_public {
                net::check_public(&url).await.map_err(Fail::Fatal)?;
            }
            let mut request = self
                .http
                .get(url.clone())
                .header(header::ACCEPT_ENCODING, "identity");
            if offset > 0 {
                request = request.header(header::RANGE, format!("bytes={offset}-"));
            }
            if let Some((origin, token)) = &resolved.auth {
                if net::same_origin(&url, origin) {
                    request = request.bearer_auth(token);
                }
            }
            let response = request
                .send()
                .await
                .map_err(|e| Fail::Retry(format!("cannot connect: {}", error_chain(&e))))?;
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Fail::Retry("redirect without Location".into()))?;
                url = url
                    .join(location)
                    .map_err(|_| Fail::Retry(format!("bad redirect {location}")))?;
                continue;
            }
            return Ok(response);
        }
        Err(Fail::Retry("too many redirects".into()))
    }
}

/// The registry's (or user's) size and hash against what the source says now.
fn check_expected(file: &PlannedFile, resolved: &Resolved) -> Result<(), Fail> {
    if let (Some(want), Some(got)) = (&file.expected_sha256, &resolved.sha256) {
        if want != got {
            return Err(Fail::Fatal(AppError::new(
                ErrorCode::IntegrityFailed,
                format!("{} changed at the source: it now has sha256 {got}, the model record expects {want}", file.dest),
            )));
        }
    }
    if let (Some(want), Some(got)) = (file.expected_size, resolved.size) {
        if want != got {
            return Err(Fail::Fatal(AppError::new(
                ErrorCode::IntegrityFailed,
                format!("{} changed at the source: it is now {got} bytes, the model record expects {want}", file.dest),
            )));
        }
    }
    Ok(())
}

fn content_range_start(response: &reqwest::Response) -> Option<u64> {
    let value = response
        .headers()
        .get(header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split('-').next()?.trim().parse().ok()
}

/// A JSON or HTML body is never saved as a model.
fn content_type_is_page(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"))
}

fn disk_error(e: &std::io::Error) -> Fail {
    let code = if e.kind() == std::io::ErrorKind::StorageFull {
        ErrorCode::InsufficientStorage
    } else {
        ErrorCode::Internal
    };
    Fail::Fatal(AppError::new(
        code,
        format!("cannot write the download: {e}"),
    ))
}

/// An error with its causes, for logs and messages ("error sending request: connection reset").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
