//! What the downloads panel shows, as plain functions: the order of the jobs, the overall
//! progress in the page title, the status line, which cancels ask first, and which jobs just
//! ended (for notifications).

use crate::{
    domain::{DownloadJob, JobStatus},
    format,
};

/// A cancel asks for confirmation above this size (bytes)…
pub const CONFIRM_ABOVE_BYTES: u64 = 1_000_000_000;
/// …or once the job has existed this long (seconds).
pub const CONFIRM_AFTER_SECS: i64 = 60;

/// Job ids in panel order: active jobs first, then finished ones, each group newest first
/// (ties by id, so the rows never swap between two polls: a moved row would lose focus).
pub fn ordered_ids(jobs: &[DownloadJob]) -> Vec<String> {
    let mut sorted: Vec<&DownloadJob> = jobs.iter().collect();
    sorted.sort_by(|a, b| {
        (a.status.is_finished(), &b.created_at, &a.id).cmp(&(
            b.status.is_finished(),
            &a.created_at,
            &b.id,
        ))
    });
    sorted.into_iter().map(|j| j.id.clone()).collect()
}

/// Overall progress of the jobs still running (queued, downloading, verifying, paused) whose
/// size is known, in percent; `None` when none runs.
pub fn overall_percent(jobs: &[DownloadJob]) -> Option<f64> {
    let (done, total) = jobs
        .iter()
        .filter(|j| j.status.is_active())
        .filter_map(|j| Some((j.bytes_downloaded, j.total_bytes?)))
        .fold((0u64, 0u64), |(d, t), (jd, jt)| (d + jd.min(jt), t + jt));
    let running = jobs.iter().any(|j| j.status.is_active());
    running.then(|| format::percent(done, Some(total)))
}

/// The page title: "42% · Model Manager" while downloads run.
pub fn title(jobs: &[DownloadJob]) -> String {
    match overall_percent(jobs) {
        Some(pct) => format!("{}% · Model Manager", pct.floor() as u64),
        None => "Model Manager".into(),
    }
}

/// The collapsed bar's text: "Downloads · 2 running · 42%", or how many finished.
pub fn summary(jobs: &[DownloadJob]) -> String {
    let running = jobs.iter().filter(|j| j.status.is_active()).count();
    match overall_percent(jobs) {
        Some(pct) => format!("Downloads · {running} running · {}%", pct.floor() as u64),
        None => format!("Downloads · {} finished", jobs.len()),
    }
}

/// The line under a job's bar.
pub fn status_text(job: &DownloadJob) -> String {
    let of_total = || {
        format!(
            "{} of {}",
            format::bytes(job.bytes_downloaded),
            job.total_bytes
                .map(format::bytes)
                .unwrap_or_else(|| "?".into())
        )
    };
    match job.status {
        JobStatus::Queued => "Queued".into(),
        JobStatus::Downloading => match &job.retrying {
            Some(r) if r.next_in_secs > 0 => format!(
                "Retrying in {} s… ({}) · attempt {} · {}",
                r.next_in_secs,
                r.reason,
                r.attempt,
                of_total()
            ),
            Some(r) => format!(
                "Retrying… ({}) · attempt {} · {}",
                r.reason,
                r.attempt,
                of_total()
            ),
            None if job.speed_bytes_per_sec == 0 => format!("{} · waiting for data…", of_total()),
            None => format!(
                "{} · {} · {} left",
                of_total(),
                format::speed(job.speed_bytes_per_sec),
                format::eta(job.eta_seconds)
            ),
        },
        JobStatus::Verifying => "Verifying…".into(),
        JobStatus::Completed => format!("Installed · {}", format::bytes(job.bytes_downloaded)),
        JobStatus::Failed => "Failed".into(),
        JobStatus::Cancelled => "Cancelled".into(),
        JobStatus::Paused if job.error.is_some() => "Paused: waiting for a token".into(),
        JobStatus::Paused => format!("Paused · {}", of_total()),
    }
}

/// Pause for a job that can pause, Resume for a paused one.
pub fn pause_or_resume(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Queued | JobStatus::Downloading => Some("Pause"),
        JobStatus::Paused => Some("Resume"),
        _ => None,
    }
}

/// Whether cancelling `job` asks first: it is large, or has run for a while (`now`: seconds
/// since the Unix epoch, when the clock is known).
pub fn cancel_needs_confirmation(job: &DownloadJob, now: Option<i64>) -> bool {
    if job.status.is_finished() {
        return false;
    }
    let large = job.total_bytes.unwrap_or(0) > CONFIRM_ABOVE_BYTES;
    let long = match (now, unix_secs(&job.created_at)) {
        (Some(now), Some(created)) => now - created > CONFIRM_AFTER_SECS,
        _ => false,
    };
    large || long
}

/// A job that ended since the last look: what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub job_id: String,
    pub ok: bool,
    /// "Z-Image adapter is installed" / "Z-Image adapter failed: …".
    pub text: String,
}

/// Jobs that were running in `before` and are completed or failed in `after` (a cancel is the
/// user's own doing: no notice).
pub fn endings(before: &[DownloadJob], after: &[DownloadJob]) -> Vec<Ending> {
    after
        .iter()
        .filter(|j| {
            before
                .iter()
                .any(|b| b.id == j.id && !b.status.is_finished())
        })
        .filter_map(|j| {
            let text = match j.status {
                JobStatus::Completed => format!("{} is installed", j.model_name),
                JobStatus::Failed => match &j.error {
                    Some(e) => format!("{} failed: {}", j.model_name, e.message),
                    None => format!("{} failed", j.model_name),
                },
                _ => return None,
            };
            Some(Ending {
                job_id: j.id.clone(),
                ok: j.status == JobStatus::Completed,
                text,
            })
        })
        .collect()
}

/// Seconds since the Unix epoch of an RFC 3339 UTC time ("2026-11-28T10:22:31Z", fractions
/// and a `+00:00` offset allowed); `None` for anything else.
pub fn unix_secs(rfc3339: &str) -> Option<i64> {
    let s = rfc3339.trim();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let utc = s.ends_with('Z') || s.ends_with("+00:00");
    if !utc || !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AppError, ErrorCode, Retrying};

    fn job(id: &str, status: JobStatus, done: u64, total: Option<u64>) -> DownloadJob {
        DownloadJob {
            id: id.into(),
            model_id: format!("m-{id}"),
            model_name: format!("Model {id}"),
            status,
            bytes_downloaded: done,
            total_bytes: total,
            speed_bytes_per_sec: 0,
            eta_seconds: None,
            files: vec![],
            error: None,
            installed_model_id: None,
            created_at: "2026-11-28T10:00:00Z".into(),
            partial_bytes: None,
            retrying: None,
        }
    }

    #[test]
    fn active_jobs_come_first_in_the_servers_order() {
        let jobs = [
            job("a", JobStatus::Completed, 1, Some(1)),
            job("b", JobStatus::Downloading, 0, None),
            job("c", JobStatus::Failed, 0, None),
            job("d", JobStatus::Paused, 0, None),
        ];
        assert_eq!(ordered_ids(&jobs), ["b", "d", "a", "c"]);
        // Newest first; the same second, by id, whatever order the server sent.
        let mut newer = job("z", JobStatus::Queued, 0, None);
        newer.created_at = "2026-11-28T10:00:01Z".into();
        let mut swapped = jobs.to_vec();
        swapped.swap(1, 3);
        swapped.push(newer);
        assert_eq!(ordered_ids(&swapped), ["z", "b", "d", "a", "c"]);
    }

    #[test]
    fn the_title_shows_overall_progress_of_running_jobs_only() {
        let jobs = [
            job("a", JobStatus::Downloading, 30, Some(100)),
            job("b", JobStatus::Queued, 12, Some(100)),
            job("c", JobStatus::Completed, 500, Some(500)),
        ];
        assert_eq!(title(&jobs), "21% · Model Manager");
        assert_eq!(summary(&jobs), "Downloads · 2 running · 21%");
        let done = [job("c", JobStatus::Completed, 500, Some(500))];
        assert_eq!(title(&done), "Model Manager");
        assert_eq!(summary(&done), "Downloads · 1 finished");
        assert_eq!(title(&[]), "Model Manager");
    }

    #[test]
    fn a_stalled_job_says_it_retries_and_why_instead_of_zero_speed() {
        let mut j = job("a", JobStatus::Downloading, 1_000_000, Some(4_000_000));
        assert_eq!(status_text(&j), "1 MB of 4 MB · waiting for data…");
        j.retrying = Some(Retrying {
            reason: "no data for 30 s".into(),
            attempt: 2,
            next_in_secs: 4,
        });
        assert_eq!(
            status_text(&j),
            "Retrying in 4 s… (no data for 30 s) · attempt 2 · 1 MB of 4 MB"
        );
        j.retrying.as_mut().unwrap().next_in_secs = 0;
        assert!(status_text(&j).starts_with("Retrying… (no data for 30 s) · attempt 2"));
    }

    #[test]
    fn large_or_long_downloads_ask_before_cancelling() {
        let now = unix_secs("2026-11-28T10:00:30Z");
        let small = job("a", JobStatus::Downloading, 0, Some(10 << 20));
        assert!(!cancel_needs_confirmation(&small, now));
        let large = job("b", JobStatus::Queued, 0, Some(2_000_000_000));
        assert!(cancel_needs_confirmation(&large, now));
        let later = unix_secs("2026-11-28T10:01:01Z");
        assert!(cancel_needs_confirmation(&small, later));
        assert!(!cancel_needs_confirmation(&small, None));
        let done = job("c", JobStatus::Completed, 0, Some(2_000_000_000));
        assert!(
            !cancel_needs_confirmation(&done, later),
            "dismiss never asks"
        );
    }

    #[test]
    fn completions_and_failures_are_announced_once_cancels_never() {
        let before = [
            job("a", JobStatus::Downloading, 0, None),
            job("b", JobStatus::Verifying, 0, None),
            job("c", JobStatus::Downloading, 0, None),
            job("d", JobStatus::Completed, 0, None),
        ];
        let mut failed = job("b", JobStatus::Failed, 0, None);
        failed.error = Some(AppError::new(ErrorCode::IntegrityFailed, "sha256 differs"));
        let after = [
            job("a", JobStatus::Completed, 0, None),
            failed,
            job("c", JobStatus::Cancelled, 0, None),
            job("d", JobStatus::Completed, 0, None),
            job("e", JobStatus::Completed, 0, None),
        ];
        let ends = endings(&before, &after);
        assert_eq!(
            ends.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
            ["Model a is installed", "Model b failed: sha256 differs"]
        );
        assert!(ends[0].ok && !ends[1].ok);
    }

    #[test]
    fn rfc3339_times_are_read_in_utc() {
        assert_eq!(unix_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_secs("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(unix_secs("2026-11-28T10:22:31.123Z"), Some(1_795_861_351));
        assert_eq!(unix_secs("2026-11-28T10:22:31+00:00"), Some(1_795_861_351));
        assert_eq!(unix_secs("2026-11-28T10:22:31+02:00"), None);
        assert_eq!(unix_secs("yesterday"), None);
    }
}
