//! One file's transfer: GET with `Range` from the partial file, retried (see `retry`) on
//! transient errors, start-over when the server ignores `Range` or the content changed,
//! re-resolving expired signed URLs, hashing while writing.

use std::path::Path;

use app::domain::{AppError, ErrorCode};
use futures_util::StreamExt;
use reqwest::{header, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    net,
    plan::PlannedFile,
    progress::Job,
    ranged::{self, Stop},
    resolve::{HubIdentity, Resolved},
    writer::Writer,
    Engine, Fail,
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
    /// The Hub's commit and etag of the file, for the huggingface_hub cache.
    pub hub: Option<HubIdentity>,
}

/// What the partial file was downloaded from, kept beside it to decide whether to resume.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Meta {
    pub identity: Option<String>,
    pub size: Option<u64>,
}

impl Engine {
    pub(super) async fn fetch(
        &self,
        job: &Job,
        index: usize,
        file: &PlannedFile,
        partial: &Path,
    ) -> Result<Fetched, AppError> {
        let meta_path = partial.with_extension("meta.json");
        let mut carried: Option<(Sha256, u64)> = None;
        let mut file_name = None;
        let mut ranges_ok = true;
        let mut retries = self.retries(
            job,
            file.dest.clone(),
            "; the partial file is kept, start the download again to resume",
        );
        loop {
            let attempt = self.attempt(
                job,
                index,
                file,
                partial,
                &meta_path,
                &mut carried,
                &mut file_name,
                &mut ranges_ok,
            );
            match retries.run(attempt).await {
                Ok(fetched) => return Ok(fetched),
                Err(fail) => retries.after(fail).await?,
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
        ranges_ok: &mut bool,
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
        let mut expected_size = file.expected_size.or(resolved.size).or(file.listed_size);
        if expected_size.is_none() && *ranges_ok && self.connections() > 1 {
            expected_size = self.probe_size(&resolved).await?;
            *ranges_ok = expected_size.is_some();
        }
        if let Some(size) = expected_size.filter(|s| *ranges_ok && self.ranged(Some(*s))) {
            match self
                .attempt_ranged(job, index, &resolved, size, partial, carried)
                .await
            {
                Err(Stop::NoRanges) => {
                    tracing::info!(job = %job.id, file = %file.dest, "the server ignores Range; one stream");
                    *ranges_ok = false;
                }
                Err(Stop::Fail(fail)) => return Err(fail),
                Ok(fetched) => {
                    return Ok(Fetched {
                        file_name: fetched.file_name.or(file_name.clone()),
                        ..fetched
                    })
                }
            }
        }
        self.attempt_stream(
            job,
            index,
            (file, partial, meta_path),
            &resolved,
            expected_size,
            carried,
            file_name,
        )
        .await
    }

    /// One attempt as a single GET, resumed with `Range` from the partial file.
    #[allow(clippy::too_many_arguments)]
    async fn attempt_stream(
        &self,
        job: &Job,
        index: usize,
        (file, partial, meta_path): (&PlannedFile, &Path, &Path),
        resolved: &Resolved,
        expected_size: Option<u64>,
        carried: &mut Option<(Sha256, u64)>,
        file_name: &mut Option<String>,
    ) -> Result<Fetched, Fail> {
        let mut meta: Meta = std::fs::read(meta_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let on_disk = ranged::single_stream_offset(partial);
        let mut offset = resume_offset(
            on_disk,
            meta.identity.as_ref(),
            resolved.etag.as_ref(),
            expected_size,
        );
        if offset < on_disk {
            tracing::info!(job = %job.id, file = %file.dest, "the remote file changed; starting it over");
        }

        let response = self.get_following(resolved, offset, None).await?;
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
                    return Err(Fail::Retry("the file changed on the server".into()));
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
                    .complete(partial, offset, carried.take(), file_name.clone(), resolved)
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
        let mut writer = Writer::open_keeping(
            partial,
            offset,
            hasher,
            self.min_free_bytes,
            job.writing.clone(),
        )
        .map_err(|e| disk_error(&e))?;
        let mut stream = response.bytes_stream();
        let mut received = offset;
        job.set_file_progress(index, received, total);
        let result: Result<(), Fail> = loop {
            match tokio::time::timeout(self.stall, stream.next()).await {
                Err(_) => {
                    break Err(Fail::Retry(format!(
                        "no data for {} s",
                        self.stall.as_secs()
                    )))
                }
                Ok(None) => break Ok(()),
                Ok(Some(Err(e))) => {
                    break Err(Fail::Retry(format!(
                        "connection lost: {}",
                        net::error_chain(&e)
                    )))
                }
                Ok(Some(Ok(chunk))) => {
                    received += chunk.len() as u64;
                    if total.is_some_and(|t| received > t) {
                        break Err(Fail::Fatal(AppError::new(
                            ErrorCode::IntegrityFailed,
                            "the server sent more bytes than the file has",
                        )));
                    }
                    self.limit.take(chunk.len() as u64).await;
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
                    let why = format!(
                        "the connection closed at {len} of {} bytes",
                        total.unwrap_or(0)
                    );
                    return Err(retry_after(on_disk, offset, received, why));
                }
                let digest = hashing::hex(&hasher.finalize());
                Ok(Fetched {
                    sha256: digest,
                    size: len,
                    file_name: file_name.clone(),
                    expected_sha256: resolved.sha256.clone(),
                    hub: resolved.hub.clone(),
                })
            }
            Err(Fail::Retry(why)) => {
                if let Ok(state) = writer.finish(false).await {
                    *carried = Some(state);
                }
                Err(retry_after(on_disk, offset, received, why))
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
        resolved: &Resolved,
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
            expected_sha256: resolved.sha256.clone(),
            hub: resolved.hub.clone(),
        })
    }

    /// GET, following redirects by hand: the token only to its own origin, and every hop of a
    /// user-typed link through the address check.
    /// Asks for the bytes from `offset` (to `last` included, when given).
    pub(super) async fn get_following(
        &self,
        resolved: &Resolved,
        offset: u64,
        last: Option<u64>,
    ) -> Result<reqwest::Response, Fail> {
        let client = if resolved.check_public {
            &self.links
        } else {
            &self.http
        };
        let mut url = resolved.url.clone();
        for _ in 0..10 {
            if resolved.check_public {
                net::check_public(&url, &self.lookup)
                    .await
                    .map_err(Fail::Fatal)?;
            }
            let mut request = client
                .get(url.clone())
                .header(header::ACCEPT_ENCODING, "identity");
            if offset > 0 || last.is_some() {
                let last = last.map(|l| l.to_string()).unwrap_or_default();
                request = request.header(header::RANGE, format!("bytes={offset}-{last}"));
            }
            if let Some((origin, token)) = &resolved.auth {
                request = net::with_token(request, &url, origin, Some(token));
            }
            let response = self.send(request).await?;
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

/// Where a one-stream attempt resumes: after the `on_disk` bytes, unless the remote file is
/// another one now (its identity changed, or it is shorter than what we have).
fn resume_offset(
    on_disk: u64,
    saved: Option<&String>,
    remote: Option<&String>,
    size: Option<u64>,
) -> u64 {
    let changed = matches!((saved, remote), (Some(a), Some(b)) if a != b);
    if changed || size.is_some_and(|s| on_disk > s) {
        0
    } else {
        on_disk
    }
}

/// The registry's (or user's) size and hash against what the source says now. What the Hub
/// listed when a custom model was added is no pin (`listed_*`): a newer file is downloaded.
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
pub(super) fn content_type_is_page(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html") || ct.starts_with("application/json"))
}

pub(super) fn disk_error(e: &std::io::Error) -> Fail {
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

/// A failed attempt that made the partial file longer (a resumed range that delivered bytes)
/// is progress, and the attempts are counted again; starting over from zero is one more
/// failed attempt, however many bytes it pulled.
fn retry_after(on_disk: u64, offset: u64, received: u64, why: String) -> Fail {
    if offset == on_disk && received > offset {
        Fail::Progressed(why)
    } else {
        Fail::Retry(why)
    }
}

#[cfg(test)]
mod tests {
    use std::{
        net::{IpAddr, Ipv4Addr},
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
    };

    use super::*;
    use crate::{config::Config, download::plan::FileSource};

    #[test]
    fn a_stream_resumes_after_its_bytes_unless_the_file_changed() {
        let (a, b) = (Some("a".to_string()), Some("b".to_string()));
        // (on disk, saved identity, remote identity, remote size) -> offset
        let cases = [
            (0, None, None, None, 0),
            (10, None, None, None, 10),
            (10, a.as_ref(), a.as_ref(), Some(100), 10),
            (10, a.as_ref(), b.as_ref(), Some(100), 0),
            (10, a.as_ref(), None, Some(100), 10),
            (10, None, b.as_ref(), Some(100), 10),
            (100, a.as_ref(), a.as_ref(), Some(100), 100),
            (120, a.as_ref(), a.as_ref(), Some(100), 0),
        ];
        for (on_disk, saved, remote, size, want) in cases {
            assert_eq!(
                resume_offset(on_disk, saved, remote, size),
                want,
                "{on_disk} {saved:?} {remote:?} {size:?}"
            );
        }
    }

    #[test]
    fn only_a_partial_that_grew_is_progress() {
        let progressed = |f: Fail| matches!(f, Fail::Progressed(_));
        // The first attempt, from nothing, got bytes.
        assert!(progressed(retry_after(0, 0, 10, String::new())));
        // A resumed range got bytes.
        assert!(progressed(retry_after(10, 10, 25, String::new())));
        // Nothing arrived.
        assert!(!progressed(retry_after(10, 10, 10, String::new())));
        // The server ignored Range: started over from zero, even past the old length.
        assert!(!progressed(retry_after(10, 0, 8, String::new())));
        assert!(!progressed(retry_after(10, 0, 30, String::new())));
    }

    /// A name that resolves to a public address for the check and to loopback for the
    /// connection (DNS rebinding) must never be connected to.
    #[tokio::test]
    async fn a_link_is_fetched_only_from_the_address_that_was_checked() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        let calls = Arc::new(AtomicUsize::new(0));
        let lookup: net::Lookup = Arc::new(move |_host| {
            let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
            Box::pin(async move {
                // 203.0.113.7 is a public (documentation) address: it is never connected to.
                let ip: IpAddr = if first {
                    Ipv4Addr::new(203, 0, 113, 7).into()
                } else {
                    Ipv4Addr::LOCALHOST.into()
                };
                Ok(vec![ip])
            })
        });
        let config = Config::from_lookup(|name| {
            (name == "MODELS_DOWNLOAD_STALL_SECS").then(|| "1".to_string())
        })
        .unwrap();
        let engine = Engine::new(&config, lookup);
        let source = FileSource::Url {
            url: format!("http://rebind.example:{port}/model.safetensors"),
        };
        let resolved = engine.resolve(&source, None, None).await.unwrap();
        let failure = engine.get_following(&resolved, 0, None).await.unwrap_err();
        assert_eq!(accepted.load(Ordering::SeqCst), 0, "connected to loopback");
        match failure {
            Fail::Fatal(e) => assert!(
                e.message.contains("MODELS_ALLOW_PRIVATE_URLS") && e.message.contains("127.0.0.1"),
                "{e:?}"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
