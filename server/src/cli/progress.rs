//! A download's progress as the user sees it: live bars on a terminal (the job, then one bar
//! per file, redrawn in place), one JSON object per change with `--json`, or a line per status
//! change and per tenth of the way for logs.

use std::collections::HashMap;

use app::domain::{DownloadJob, JobStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use serde_json::Value;

use super::output::{self, Output};

/// Files with a bar of their own; more are counted in the job's bar only.
const MAX_FILE_BARS: usize = 8;

pub enum Progress {
    Bars(Bars),
    Json(Option<(JobStatus, u64, usize)>),
    Lines(Option<(JobStatus, u64)>),
}

impl Progress {
    pub fn new(output: &Output) -> Self {
        match (output.json, output.bars) {
            (true, _) => Progress::Json(None),
            (false, true) => Progress::Bars(Bars::new()),
            (false, false) => Progress::Lines(None),
        }
    }

    /// Shows `job` (`raw` is the server's JSON of it, printed as is with `--json`).
    pub fn update(&mut self, job: &DownloadJob, raw: &Value) {
        match self {
            Progress::Bars(bars) => bars.update(job),
            Progress::Json(last) => {
                let now = (job.status, job.bytes_downloaded, done_files(job));
                if *last != Some(now) {
                    println!("{raw}");
                    *last = Some(now);
                }
            }
            Progress::Lines(last) => {
                let tenth = tenth(job);
                let changed = match last {
                    Some((status, seen)) => *status != job.status || *seen != tenth,
                    None => true,
                };
                if changed {
                    eprintln!("{}", output::plain_line(job));
                    *last = Some((job.status, tenth));
                }
            }
        }
    }

    /// Leaves the bars on the screen as they are and never draws them again (Ctrl-C: the
    /// terminal has echoed `^C` after them, so the cursor is not where the bars think it is
    /// and clearing them would wipe the wrong lines).
    pub fn freeze(&self) {
        if let Progress::Bars(bars) = self {
            bars.multi.set_draw_target(ProgressDrawTarget::hidden());
        }
    }

    /// Takes the bars off the screen for good (at the end).
    pub fn clear(&self) {
        if let Progress::Bars(bars) = self {
            for bar in bars.job.iter().chain(bars.files.values()) {
                bar.finish_and_clear();
            }
            let _ = bars.multi.clear();
        }
    }
}

fn done_files(job: &DownloadJob) -> usize {
    job.files.iter().filter(|f| f.done).count()
}

/// Which tenth of the way the job is at (0 when the size is unknown).
fn tenth(job: &DownloadJob) -> u64 {
    match job.total_bytes {
        Some(total) if total > 0 => job.bytes_downloaded.saturating_mul(10) / total,
        _ => 0,
    }
}

pub struct Bars {
    multi: MultiProgress,
    job: Option<ProgressBar>,
    files: HashMap<String, ProgressBar>,
}

impl Bars {
    fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            job: None,
            files: HashMap::new(),
        }
    }

    fn style(template: &str) -> ProgressStyle {
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ")
    }

    fn update(&mut self, job: &DownloadJob) {
        let bar = self.job.get_or_insert_with(|| {
            let bar = self.multi.add(
                ProgressBar::new(0)
                    .with_style(Self::style("{prefix:.bold} {wide_bar:.cyan/blue} {msg}"))
                    .with_finish(ProgressFinish::AndClear),
            );
            bar.set_prefix(job.model_name.clone());
            bar
        });
        bar.set_length(job.total_bytes.unwrap_or(0).max(job.bytes_downloaded));
        bar.set_position(job.bytes_downloaded);
        bar.set_message(output::job_summary(job));
        for file in job.files.iter().take(MAX_FILE_BARS) {
            let bar = self.files.entry(file.path.clone()).or_insert_with(|| {
                let bar = self.multi.add(
                    ProgressBar::new(0)
                        .with_style(Self::style("  {prefix:30!} {bar:25} {msg}"))
                        .with_finish(ProgressFinish::AndClear),
                );
                bar.set_prefix(output::file_label(&file.path).to_string());
                bar
            });
            bar.set_length(file.total_bytes.unwrap_or(0).max(file.bytes_downloaded));
            bar.set_position(file.bytes_downloaded);
            bar.set_message(output::file_summary(file));
        }
    }
}
