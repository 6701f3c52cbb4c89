//! One large file fetched as parallel ranges: several connections take pieces in file order,
//! idle ones split the largest range still in flight, a failed connection gives its rest back
//! and retries after a backoff while the others go on. The range journal keeps every finished
//! range across attempts and restarts; an expired signed URL ends the attempt (the caller
//! resolves again, nothing is lost), a changed file starts over, and a server that ignores
//! `Range` sends the caller back to one stream.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

use app::domain::{AppError, ErrorCode};
use futures_util::future::try_join_all;
use reqwest::{header, StatusCode};
use sha2::Sha256;

use super::{
    net,
    progress::Job,
    ranged_writer::{Chunks, RangeState, RangedWriter},
    ranges::{Done, Schedule},
    resolve::Resolved,
    retry::backoff,
    transfer::{content_type_is_page, disk_error, Fetched, Meta},
    Engine, Fail,
};
use crate::storage::hashing;

/// How a ranged attempt ended when it did not deliver the file.
#[derive(Debug)]
pub enum Stop {
    Fail(Fail),
    /// The server answered a range with the whole file: fetch it as one stream.
    NoRanges,
}

impl From<Fail> for Stop {
    fn from(f: Fail) -> Self {
        Stop::Fail(f)
    }
}

/// The range journal beside a partial file.
pub fn journal_path(partial: &Path) -> std::path::PathBuf {
    partial.with_extension("ranges.json")
}

/// Where a one-stream transfer can resume `partial`: the contiguous prefix the range journal
/// records (the journal then goes: one stream appends), or the file's length.
pub fn single_stream_offset(partial: &Path) -> u64 {
    let on_disk = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    let journal = journal_path(partial);
    match RangeState::read(&journal) {
        Some(state) => {
            let _ = std::fs::remove_file(&journal);
            state.done.contiguous_end(0).min(on_disk)
        }
        None => on_disk,
    }
}

/// What a ranged attempt starts from: the range journal, or a one-stream partial file (its
/// prefix), unless the remote file is another one now.
fn starting_state(partial: &Path, identity: Option<&String>, size: u64) -> RangeState {
    let on_disk = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
    let saved = RangeState::read(&journal_path(partial)).or_else(|| {
        let meta: Meta = std::fs::read(partial.with_extension("meta.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut done = Done::default();
        done.insert(0, on_disk);
        Some(RangeState {
            identity: meta.identity,
            size,
            done,
        })
    });
    decide_start(saved, identity, size, on_disk)
}

/// The resume decision: keep what the journal records only if it is the same remote file
/// (same size, same identity when both are known) and the partial file still holds it.
pub fn decide_start(
    saved: Option<RangeState>,
    identity: Option<&String>,
    size: u64,
    on_disk: u64,
) -> RangeState {
    let fresh = RangeState {
        identity: identity.cloned(),
        size,
        done: Done::default(),
    };
    let Some(mut saved) = saved else {
        return fresh;
    };
    let same_file =
        saved.size == size && !matches!((&saved.identity, identity), (Some(a), Some(b)) if a != b);
    let on_disk_holds_it = saved.done.end() <= on_disk;
    if !same_file || !on_disk_holds_it {
        return fresh;
    }
    if saved.identity.is_none() {
        saved.identity = identity.cloned();
    }
    saved
}

/// What the connections of one attempt share.
struct Shared<'a> {
    job: &'a Job,
    index: usize,
    resolved: &'a Resolved,
    size: u64,
    schedule: Mutex<Schedule>,
    chunks: Chunks,
    /// Bytes of the file on disk or received, for progress.
    have: AtomicU64,
    /// The ETag every range must carry: the journal's (direct links), or the first answer's.
    etag: Mutex<Option<String>>,
    /// The file name a `Content-Disposition` gave.
    file_name: Mutex<Option<String>>,
}

impl Engine {
    /// Whether a file of `size` bytes is fetched as ranges.
    pub(super) fn ranged(&self, size: Option<u64>) -> bool {
        self.connections() > 1 && size.is_some_and(|s| s >= 4 * self.range_bytes)
    }

    /// The size of a file its source did not give (a direct link, a CivitAI redirect), asked
    /// with a one-byte range; `None` when the server does not serve ranges (or says nothing
    /// useful): the file then comes as one stream.
    pub(super) async fn probe_size(&self, resolved: &Resolved) -> Result<Option<u64>, Fail> {
        let response = self.get_following(resolved, 0, Some(0)).await?;
        if response.status() != StatusCode::PARTIAL_CONTENT {
            return Ok(None);
        }
        Ok(content_range(&response).and_then(|(_, total)| total))
    }

    /// One attempt at `partial` with parallel ranges; `carried` keeps the prefix hash between
    /// attempts.
    pub(super) async fn attempt_ranged(
        &self,
        job: &Job,
        index: usize,
        resolved: &Resolved,
        size: u64,
        partial: &Path,
        carried: &mut Option<(Sha256, u64)>,
    ) -> Result<Fetched, Stop> {
        let state = starting_state(partial, resolved.etag.as_ref(), size);
        if state.done.bytes() == 0 {
            let _ = std::fs::remove_file(partial);
            *carried = None;
        }
        let missing = state.done.missing(size);
        let had = state.done.bytes();
        // Without an identity from the source (a direct link), the ETag the ranges were
        // fetched with is the identity: every answer must carry the same.
        let known_etag = state.identity.clone().filter(|_| resolved.etag.is_none());
        let writer = RangedWriter::open(
            partial,
            journal_path(partial),
            state,
            carried.take(),
            self.min_free_bytes,
            job.writing.clone(),
        )
        .map_err(|e| Stop::Fail(disk_error(&e)))?;
        let pieces = missing
            .iter()
            .map(|(s, e)| (e - s).div_ceil(self.range_bytes))
            .sum::<u64>();
        let workers = self.connections().min(pieces.max(1) as usize);
        let shared = Shared {
            job,
            index,
            resolved,
            size,
            schedule: Mutex::new(Schedule::new(
                &missing,
                self.range_bytes,
                workers,
                (self.range_bytes / 16).max(64 << 10),
            )),
            chunks: writer.chunks(),
            have: AtomicU64::new(had),
            etag: Mutex::new(known_etag),
            file_name: Mutex::new(None),
        };
        job.set_file_progress(index, had, Some(size));
        let outcome = try_join_all((0..workers).map(|id| self.worker(&shared, id))).await;
        let file_name = shared
            .file_name
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        drop(shared.chunks);
        let complete = outcome.is_ok();
        let written = writer.finish(complete).await;
        let received = |w: &super::ranged_writer::Written| w.done.bytes() > had;
        match (outcome, written) {
            (_, Err(e)) => Err(Stop::Fail(disk_error(&e))),
            (Ok(_), Ok(w)) if w.hashed == size => Ok(Fetched {
                sha256: hashing::hex(&sha2::Digest::finalize(w.hasher)),
                size,
                file_name,
                expected_sha256: resolved.sha256.clone(),
                hub: resolved.hub.clone(),
            }),
            (Ok(_), Ok(w)) => {
                let why = format!("{} of {size} bytes arrived", w.done.bytes());
                let progressed = received(&w);
                *carried = Some((w.hasher, w.hashed));
                Err(Stop::Fail(progress_or_retry(progressed, why)))
            }
            (Err(Stop::Fail(Fail::Retry(why))), Ok(w)) if why == CHANGED => {
                drop(w);
                let _ = std::fs::remove_file(partial);
                let _ = std::fs::remove_file(journal_path(partial));
                tracing::info!(job = %job.id, "the file changed on the server during the download; starting it over");
                Err(Stop::Fail(Fail::Retry(CHANGED.into())))
            }
            (Err(Stop::NoRanges), Ok(_)) => {
                let _ = std::fs::remove_file(partial);
                let _ = std::fs::remove_file(journal_path(partial));
                Err(Stop::NoRanges)
            }
            (Err(Stop::Fail(Fail::Retry(why) | Fail::Progressed(why))), Ok(w)) => {
                let progressed = received(&w);
                *carried = Some((w.hasher, w.hashed));
                Err(Stop::Fail(progress_or_retry(progressed, why)))
            }
            (Err(stop), Ok(w)) => {
                *carried = Some((w.hasher, w.hashed));
                Err(stop)
            }
        }
    }

    /// One connection: takes ranges until none is left; a failed range goes back to the
    /// schedule and this connection waits (backoff with jitter) before its next one. Gives up
    /// after `max_attempts` failures in a row without a byte.
    async fn worker(&self, shared: &Shared<'_>, id: usize) -> Result<(), Stop> {
        let mut failed = 0u32;
        loop {
            let next = shared
                .schedule
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next(id);
            let Some((start, end)) = next else {
                return Ok(());
            };
            let _permit = self.host_slot(&shared.resolved.url).await;
            match self.fetch_range(shared, id, start, end).await {
                Ok(()) => failed = 0,
                Err(RangeFail::Retry { why, progressed }) => {
                    shared
                        .schedule
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .give_back(id);
                    failed = if progressed { 1 } else { failed + 1 };
                    if failed >= self.max_attempts {
                        return Err(Stop::Fail(Fail::Retry(why)));
                    }
                    let wait = backoff(self.retry_base, failed, fastrand::f64());
                    tracing::warn!(job = %shared.job.id, range = %format!("{start}-{end}"), %why, failed, "retrying a range");
                    shared.job.note_retry(&why, failed, wait);
                    tokio::time::sleep(wait).await;
                }
                Err(RangeFail::Stop(stop)) => return Err(stop),
            }
        }
    }

    /// A connection slot on `url`'s host: jobs fetching from one host share its
    /// `MODELS_DOWNLOAD_CONNECTIONS`.
    async fn host_slot(&self, url: &url::Url) -> Option<super::gate::Pass> {
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or(0)
        );
        let slots = self
            .hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(host)
            .or_insert_with(|| super::gate::Gate::new(self.connections()))
            .clone();
        slots.enter().await
    }

    /// GETs `start..end` and streams it to the writer, stopping early where a steal moved the
    /// end of this range.
    async fn fetch_range(
        &self,
        shared: &Shared<'_>,
        id: usize,
        start: u64,
        end: u64,
    ) -> Result<(), RangeFail> {
        let retry = |why: String, progressed| RangeFail::Retry { why, progressed };
        let mut response = self
            .get_following(shared.resolved, start, Some(end - 1))
            .await
            .map_err(|f| match f {
                Fail::Retry(why) => retry(why, false),
                other => RangeFail::Stop(Stop::Fail(other)),
            })?;
        if let Some(first) = self.check_range_answer(shared, &response, start)? {
            shared.chunks.identify(first).await;
        }
        let mut pos = start;
        loop {
            let chunk = match tokio::time::timeout(self.stall, response.chunk()).await {
                Err(_) => {
                    let why = format!("no data for {} s", self.stall.as_secs());
                    return Err(retry(why, pos > start));
                }
                Ok(Err(e)) => {
                    let why = format!("connection lost: {}", net::error_chain(&e));
                    return Err(retry(why, pos > start));
                }
                Ok(Ok(None)) => {
                    let why = format!("the connection closed at byte {pos} of range {start}-{end}");
                    return Err(retry(why, pos > start));
                }
                Ok(Ok(Some(chunk))) => chunk,
            };
            let allowed = {
                let mut schedule = shared.schedule.lock().unwrap_or_else(|e| e.into_inner());
                let stop_at = schedule.advance(id, pos);
                let n = (chunk.len() as u64).min(stop_at.saturating_sub(pos));
                schedule.advance(id, pos + n);
                n
            };
            if allowed > 0 {
                self.limit.take(allowed).await;
                let bytes = chunk.slice(..allowed as usize);
                if shared.chunks.send(pos, bytes).await.is_err() {
                    return Err(RangeFail::Stop(Stop::Fail(Fail::Retry(
                        "the writer stopped".into(),
                    ))));
                }
                pos += allowed;
                let have = shared.have.fetch_add(allowed, Ordering::Relaxed) + allowed;
                shared
                    .job
                    .set_file_progress(shared.index, have, Some(shared.size));
            }
            if allowed < chunk.len() as u64 || pos >= end {
                // Done, or the rest was taken by an idle connection: this connection ends.
                return Ok(());
            }
        }
    }

    /// A range answer must be the asked bytes of the same file. Returns the ETag when it is
    /// the first one seen for a file its source gave no identity.
    fn check_range_answer(
        &self,
        shared: &Shared<'_>,
        response: &reqwest::Response,
        start: u64,
    ) -> Result<Option<String>, RangeFail> {
        let status = response.status();
        let stop = |f: Fail| Err(RangeFail::Stop(Stop::Fail(f)));
        match status {
            StatusCode::PARTIAL_CONTENT => {}
            StatusCode::OK => return Err(RangeFail::Stop(Stop::NoRanges)),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::GONE
                if shared.resolved.signed =>
            {
                // An expired signed URL: the attempt ends, the caller resolves again.
                return stop(Fail::Retry(format!(
                    "the download link answered {status} (expired?)"
                )));
            }
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                return Err(RangeFail::Retry {
                    why: format!("the server answered {s}"),
                    progressed: false,
                });
            }
            s => {
                return stop(Fail::Fatal(AppError::new(
                    ErrorCode::Upstream,
                    format!("the download server answered {s}"),
                )))
            }
        }
        if content_type_is_page(response) {
            return stop(Fail::Fatal(AppError::new(
                ErrorCode::Upstream,
                "the server sent a web page or an error message instead of the model file",
            )));
        }
        let (from, total) = content_range(response).unwrap_or((u64::MAX, None));
        if total.is_some_and(|t| t != shared.size) {
            return stop(Fail::Retry(CHANGED.into()));
        }
        if from != start {
            return Err(RangeFail::Retry {
                why: format!("the server sent bytes from {from}, asked for {start}"),
                progressed: false,
            });
        }
        if let Some(name) = response
            .headers()
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(net::disposition_file_name)
        {
            *shared.file_name.lock().unwrap_or_else(|e| e.into_inner()) = Some(name);
        }
        if let Some(tag) = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
        {
            let tag = tag.trim().trim_start_matches("W/").trim_matches('"');
            let mut first = shared.etag.lock().unwrap_or_else(|e| e.into_inner());
            match first.as_deref() {
                None => {
                    *first = Some(tag.to_string());
                    return Ok(Some(tag.to_string()).filter(|_| shared.resolved.etag.is_none()));
                }
                Some(seen) if seen != tag => return stop(Fail::Retry(CHANGED.into())),
                Some(_) => {}
            }
        }
        Ok(None)
    }
}

/// The reason of an attempt that found the remote file changed (its partial is discarded).
const CHANGED: &str = "the file changed on the server";

enum RangeFail {
    /// This range failed; another connection (or this one, later) takes it again.
    Retry { why: String, progressed: bool },
    /// The whole attempt ends.
    Stop(Stop),
}

fn progress_or_retry(progressed: bool, why: String) -> Fail {
    if progressed {
        Fail::Progressed(why)
    } else {
        Fail::Retry(why)
    }
}

/// `Content-Range: bytes START-END/TOTAL` as (START, TOTAL).
fn content_range(response: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let value = response
        .headers()
        .get(header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split('-').next()?.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(identity: Option<&str>, size: u64, done: &[(u64, u64)]) -> RangeState {
        let mut d = Done::default();
        for &(s, e) in done {
            d.insert(s, e);
        }
        RangeState {
            identity: identity.map(str::to_string),
            size,
            done: d,
        }
    }

    #[test]
    fn the_resume_decision_keeps_ranges_only_of_the_same_file_still_on_disk() {
        let v1 = Some("v1".to_string());
        let v2 = Some("v2".to_string());
        // (saved, remote identity now, remote size, partial length) -> bytes kept
        let cases = [
            (None, v1.as_ref(), 100, 0, 0, "nothing saved"),
            (
                Some(state(Some("v1"), 100, &[(0, 40), (60, 80)])),
                v1.as_ref(),
                100,
                80,
                60,
                "same file",
            ),
            (
                Some(state(Some("v1"), 100, &[(0, 40)])),
                v2.as_ref(),
                100,
                40,
                0,
                "ETag changed",
            ),
            (
                Some(state(Some("v1"), 100, &[(0, 40)])),
                v1.as_ref(),
                120,
                40,
                0,
                "size changed",
            ),
            (
                Some(state(None, 100, &[(0, 40)])),
                v2.as_ref(),
                100,
                40,
                40,
                "identity learnt now",
            ),
            (
                Some(state(Some("v1"), 100, &[(0, 40)])),
                None,
                100,
                40,
                40,
                "source gives no identity",
            ),
            (
                Some(state(Some("v1"), 100, &[(0, 40), (60, 80)])),
                v1.as_ref(),
                100,
                50,
                0,
                "partial file shorter than the journal",
            ),
        ];
        for (saved, identity, size, on_disk, kept, why) in cases {
            let start = decide_start(saved, identity, size, on_disk);
            assert_eq!(start.done.bytes(), kept, "{why}");
            assert_eq!(start.size, size, "{why}");
            if kept == 0 {
                assert_eq!(start.identity.as_ref(), identity, "{why}");
            }
        }
    }
}
