//! What the command line prints: tables and one-line summaries as plain functions of the wire
//! types (unit-tested), and where and how to print them (terminal, colour, JSON).

use std::io::IsTerminal;

use app::{
    domain::{DownloadJob, FileProgress, InstalledModel, JobStatus, Model, Verification},
    format,
};
use comfy_table::{presets, ContentArrangement, Table};
use serde_json::Value;

/// How to print: for people (tables sized to the terminal, colour on a terminal without
/// `NO_COLOR`) or JSON for scripts; progress bars only when stderr is a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub color: bool,
    /// The terminal's width in columns, when stdout is one.
    pub width: Option<u16>,
    /// Live progress bars (stderr is a terminal, and not `--json`).
    pub bars: bool,
    /// Questions can be asked (stdin is a terminal).
    pub interactive: bool,
}

impl Output {
    pub fn detect(json: bool) -> Self {
        let no_color = std::env::var("NO_COLOR").ok();
        let term = std::env::var("TERM").ok();
        let colour = |is_term| use_colour(is_term, no_color.as_deref(), term.as_deref());
        let stdout = console::Term::stdout();
        let color = colour(stdout.is_term());
        let color_err = colour(console::Term::stderr().is_term());
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color_err);
        Self {
            json,
            color,
            width: stdout.size_checked().map(|(_, cols)| cols),
            bars: !json && std::io::stderr().is_terminal(),
            interactive: std::io::stdin().is_terminal(),
        }
    }

    /// A value as one line of JSON on stdout.
    pub fn json_line(&self, value: &Value) {
        println!("{value}");
    }
}

/// Colour only on a terminal, never with a non-empty `NO_COLOR` (no-color.org) or `TERM=dumb`.
pub fn use_colour(is_term: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
    is_term && no_color.is_none_or(str::is_empty) && term != Some("dumb")
}

/// A table with the header row, fitted to `width` when printing to a terminal.
pub fn table(output: &Output, header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    match output.width {
        Some(width) => {
            table
                .set_width(width)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    // comfy-table pads every line to the column widths; trailing spaces help nobody.
    table
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn size(bytes: Option<u64>) -> String {
    bytes.map(format::bytes).unwrap_or_else(|| "–".into())
}

/// A wire enum (family, type, error code) by its JSON name.
pub fn wire_name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn models_table(output: &Output, models: &[Model]) -> String {
    let rows = models
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.name.clone(),
                wire_name(m.family),
                wire_name(m.model_type),
                match (m.size_bytes, m.approx_size_bytes) {
                    (None, Some(approx)) => format!("≈ {}", format::bytes(approx)),
                    (exact, _) => size(exact),
                },
                match (m.installed, m.requires_token) {
                    (true, _) => "installed".into(),
                    (false, true) => "needs token".into(),
                    (false, false) => String::new(),
                },
            ]
        })
        .collect();
    table(
        output,
        &["ID", "NAME", "FAMILY", "TYPE", "SIZE", "STATUS"],
        rows,
    )
}

pub fn installed_table(output: &Output, models: &[InstalledModel]) -> String {
    let rows = models
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.name.clone(),
                wire_name(m.family),
                wire_name(m.model_type),
                format::bytes(m.total_size_bytes),
                m.last_verification
                    .as_ref()
                    .map(verification_summary)
                    .unwrap_or_else(|| "not checked".into()),
            ]
        })
        .collect();
    table(
        output,
        &["ID", "NAME", "FAMILY", "TYPE", "SIZE", "INTEGRITY"],
        rows,
    )
}

/// "ok", or what is wrong: "1 changed, 2 missing".
pub fn verification_summary(v: &Verification) -> String {
    if v.ok {
        return "ok".into();
    }
    let parts: Vec<String> = [
        (v.changed.len(), "changed"),
        (v.missing.len(), "missing"),
        (v.unexpected.len(), "unexpected"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    match parts.is_empty() {
        true => "failed".into(),
        false => parts.join(", "),
    }
}

/// The first 8 characters of a job id, as `jobs` shows it (any unique prefix is accepted).
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub fn jobs_table(output: &Output, jobs: &[DownloadJob]) -> String {
    let rows = jobs
        .iter()
        .map(|j| {
            let active = matches!(j.status, JobStatus::Downloading);
            vec![
                short_id(&j.id).to_string(),
                j.model_name.clone(),
                status_word(j.status).to_string(),
                progress_figure(j.bytes_downloaded, j.total_bytes),
                match active {
                    true => format::speed(j.speed_bytes_per_sec),
                    false => String::new(),
                },
                match active {
                    true => format::eta(j.eta_seconds),
                    false => String::new(),
                },
                j.error
                    .as_ref()
                    .map(|e| e.message.clone())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    table(
        output,
        &[
            "JOB", "MODEL", "STATUS", "PROGRESS", "SPEED", "LEFT", "ERROR",
        ],
        rows,
    )
}

pub fn status_word(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Queued => "queued",
        JobStatus::Downloading => "downloading",
        JobStatus::Verifying => "verifying",
        JobStatus::Completed => "completed",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "cancelled",
        JobStatus::Paused => "paused",
    }
}

/// "45%  1.2 GB / 2.6 GB", or the bytes alone when the size is not known yet.
pub fn progress_figure(done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) if total > 0 => format!(
            "{:.0}%  {} / {}",
            format::percent(done, Some(total)).floor(),
            format::bytes(done),
            format::bytes(total)
        ),
        _ => format::bytes(done),
    }
}

/// The message beside the job's bar: progress, then speed and time left while downloading.
pub fn job_summary(job: &DownloadJob) -> String {
    let figure = progress_figure(job.bytes_downloaded, job.total_bytes);
    match job.status {
        JobStatus::Downloading => format!(
            "{figure}  {}  {} left",
            format::speed(job.speed_bytes_per_sec),
            format::eta(job.eta_seconds)
        ),
        status => format!("{figure}  {}", status_word(status)),
    }
}

/// The message beside one file's bar.
pub fn file_summary(file: &FileProgress) -> String {
    let summary = match file.done {
        true => format!(
            "{}  done",
            size(file.total_bytes.or(Some(file.bytes_downloaded)))
        ),
        false => progress_figure(file.bytes_downloaded, file.total_bytes),
    };
    // "reused from <path>": linked from the volume, not downloaded.
    match &file.note {
        Some(note) => format!("{summary}  ({note})"),
        None => summary,
    }
}

/// A line for logs (stderr is not a terminal): `downloading Flux dev: 45%  1.2 GB / 2.6 GB ...`.
pub fn plain_line(job: &DownloadJob) -> String {
    format!("{}: {}", job.model_name, job_summary(job))
}

/// A path's last component, for a file's bar.
pub fn file_label(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use app::domain::{AppError, ModelFamily, ModelType, SourceType};

    use super::*;

    const PIPE: Output = Output {
        json: false,
        color: false,
        width: None,
        bars: false,
        interactive: false,
    };

    fn job(status: JobStatus, done: u64, total: Option<u64>) -> DownloadJob {
        DownloadJob {
            id: "0123456789abcdef".into(),
            model_id: "m".into(),
            model_name: "Flux dev".into(),
            status,
            bytes_downloaded: done,
            total_bytes: total,
            speed_bytes_per_sec: 40_200_000,
            eta_seconds: Some(185),
            files: vec![],
            error: None,
            installed_model_id: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            partial_bytes: None,
            retrying: None,
        }
    }

    fn model(id: &str, name: &str, installed: bool) -> Model {
        Model {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            family: ModelFamily::Flux,
            model_type: ModelType::Lora,
            size_bytes: Some(23_800_000_000),
            approx_size_bytes: None,
            requires_token: true,
            source: SourceType::Huggingface,
            repo: None,
            license: None,
            built_in: true,
            tags: vec![],
            layout: None,
            installed,
            installed_model_id: None,
            added_at: None,
            civitai: None,
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None, Some("xterm-256color")));
        assert!(use_colour(true, Some(""), None));
        assert!(!use_colour(false, None, Some("xterm")));
        assert!(!use_colour(true, Some("1"), Some("xterm")));
        assert!(!use_colour(true, None, Some("dumb")));
    }

    #[test]
    fn a_job_summary_has_progress_speed_and_time_left_while_downloading() {
        let j = job(JobStatus::Downloading, 1_200_000_000, Some(2_600_000_000));
        assert_eq!(
            job_summary(&j),
            "46%  1.2 GB / 2.6 GB  40.2 MB/s  3 min 05 s left"
        );
        let v = job(JobStatus::Verifying, 2_600_000_000, Some(2_600_000_000));
        assert_eq!(job_summary(&v), "100%  2.6 GB / 2.6 GB  verifying");
        let unknown = job(JobStatus::Queued, 0, None);
        assert_eq!(plain_line(&unknown), "Flux dev: 0 B  queued");
    }

    #[test]
    fn a_percent_never_rounds_up_to_done() {
        assert_eq!(progress_figure(999, Some(1000)), "99%  999 B / 1 KB");
    }

    #[test]
    fn file_summaries_say_when_a_file_is_done() {
        let file = |done, bytes| FileProgress {
            path: "flux/dev/ae.safetensors".into(),
            bytes_downloaded: bytes,
            total_bytes: Some(300_000),
            done,
            note: None,
        };
        assert_eq!(file_summary(&file(true, 300_000)), "300 KB  done");
        assert_eq!(file_summary(&file(false, 150_000)), "50%  150 KB / 300 KB");
        let reused = FileProgress {
            note: Some("reused from lora/a.safetensors".into()),
            ..file(true, 300_000)
        };
        assert_eq!(
            file_summary(&reused),
            "300 KB  done  (reused from lora/a.safetensors)"
        );
        assert_eq!(file_label("flux/dev/ae.safetensors"), "ae.safetensors");
    }

    #[test]
    fn tables_have_a_header_no_trailing_spaces_and_fit_the_terminal() {
        let models = vec![
            model("flux-1-dev", "Flux.1 Dev", false),
            model(
                "sdxl-base",
                "SDXL 1.0 Base with a rather long name to wrap",
                true,
            ),
        ];
        let wide = models_table(&PIPE, &models);
        let lines: Vec<&str> = wide.lines().collect();
        assert_eq!(lines.len(), 3, "{wide}");
        assert!(lines[0].starts_with(" ID"), "{wide}");
        assert!(lines[0].contains("STATUS"));
        assert!(lines[1].contains("flux-1-dev") && lines[1].contains("needs token"));
        assert!(lines[2].contains("installed") && lines[2].contains("23.8 GB"));
        assert!(wide.lines().all(|l| !l.ends_with(' ')));

        let narrow = Output {
            width: Some(60),
            ..PIPE
        };
        let fitted = models_table(&narrow, &models);
        assert!(fitted.lines().all(|l| l.chars().count() <= 60), "{fitted}");
        assert!(fitted.lines().count() > 3, "long names wrap: {fitted}");
    }

    #[test]
    fn jobs_show_short_ids_and_errors() {
        let mut failed = job(JobStatus::Failed, 10, Some(100));
        failed.error = Some(AppError::invalid("x", "the repo is gated"));
        let text = jobs_table(&PIPE, &[job(JobStatus::Downloading, 50, Some(100)), failed]);
        assert!(text.contains("01234567 "), "{text}");
        assert!(!text.contains("0123456789"), "{text}");
        assert!(
            text.contains("40.2 MB/s") && text.contains("3 min 05 s"),
            "{text}"
        );
        assert!(
            text.contains("failed") && text.contains("the repo is gated"),
            "{text}"
        );
    }

    #[test]
    fn verification_summaries_count_what_is_wrong() {
        let v = |ok, changed: Vec<&str>, missing: Vec<&str>| Verification {
            ok,
            missing: missing.into_iter().map(String::from).collect(),
            changed: changed.into_iter().map(String::from).collect(),
            unexpected: vec![],
            checked_at: String::new(),
        };
        assert_eq!(verification_summary(&v(true, vec![], vec![])), "ok");
        assert_eq!(
            verification_summary(&v(false, vec!["a"], vec!["b", "c"])),
            "1 changed, 2 missing"
        );
    }
}
