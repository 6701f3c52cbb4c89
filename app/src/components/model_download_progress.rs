use leptos::{prelude::*, task::spawn_local};

use crate::{
    domain::{AppError, DownloadJob, JobStatus},
    format,
    server_fns::{
        downloads::{pause_download, resume_download},
        models::{cancel_download, discard_download},
    },
    state::Downloads,
};

use super::DownloadSettingsForm;

/// A panel tracking every download at once: bar, bytes, speed, ETA, pause, resume, cancel.
/// Finished jobs stay until dismissed; a failed one that kept partial files offers to discard
/// them. After a reload it asks the server which jobs exist. Its settings set the speed limit
/// and how many downloads run at once.
#[component]
pub fn ModelDownloadProgress() -> impl IntoView {
    let downloads = Downloads::get();
    // In the browser only: learn about jobs started before this page was loaded.
    Effect::new(move || downloads.poll());
    let jobs = move || downloads.jobs.get();
    view! {
        <Show when=move || !downloads.jobs.with(Vec::is_empty)>
            <aside class="downloads" aria-label="Downloads">
                // A native disclosure: collapsible by keyboard or touch, also without JavaScript.
                <details class="downloads__details" open>
                <summary class="downloads__title">{move || format!("Downloads ({})", downloads.jobs.with(Vec::len))}</summary>
                <ul class="downloads__list">
                    <For each=jobs key=|j| (j.id.clone(), j.status as u8, j.bytes_downloaded, j.partial_bytes) children=move |job| view! { <JobRow job /> } />
                </ul>
                <DownloadSettingsForm />
                </details>
            </aside>
        </Show>
    }
}

fn status_text(job: &DownloadJob) -> String {
    match job.status {
        JobStatus::Queued => "Queued".into(),
        JobStatus::Downloading => format!(
            "{} of {} · {} · {} left",
            format::bytes(job.bytes_downloaded),
            job.total_bytes
                .map(format::bytes)
                .unwrap_or_else(|| "?".into()),
            format::speed(job.speed_bytes_per_sec),
            format::eta(job.eta_seconds)
        ),
        JobStatus::Verifying => "Verifying…".into(),
        JobStatus::Completed => format!("Installed · {}", format::bytes(job.bytes_downloaded)),
        JobStatus::Failed => "Failed".into(),
        JobStatus::Cancelled => "Cancelled".into(),
        JobStatus::Paused if job.error.is_some() => "Paused: waiting for a token".into(),
        JobStatus::Paused => format!(
            "Paused · {} of {}",
            format::bytes(job.bytes_downloaded),
            job.total_bytes
                .map(format::bytes)
                .unwrap_or_else(|| "?".into())
        ),
    }
}

/// Pause for a job that can pause, Resume for a paused one.
fn pause_or_resume(status: JobStatus) -> Option<&'static str> {
    match status {
        JobStatus::Queued | JobStatus::Downloading => Some("Pause"),
        JobStatus::Paused => Some("Resume"),
        _ => None,
    }
}

#[component]
fn JobRow(job: DownloadJob) -> impl IntoView {
    let downloads = Downloads::get();
    let id = job.id.clone();
    let pct = format::percent(job.bytes_downloaded, job.total_bytes);
    let file = job
        .files
        .iter()
        .find(|f| !f.done)
        .or(job.files.last())
        .map(|f| f.path.rsplit('/').next().unwrap_or(&f.path).to_string())
        .unwrap_or_default();
    let finished = job.status.is_finished();
    let status_class = format!("job job--{:?}", job.status).to_lowercase();
    let action_label = if finished { "Dismiss" } else { "Cancel" };
    let act = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            spawn_local(async move {
                let _ = cancel_download(id).await;
                downloads.poll();
            });
        }
    };
    let refused = RwSignal::new(None::<AppError>);
    let toggle = pause_or_resume(job.status).map(|label| {
        let id = id.clone();
        let toggle = move |_| {
            let id = id.clone();
            spawn_local(async move {
                let answer = match label {
                    "Pause" => pause_download(id).await,
                    _ => resume_download(id).await,
                };
                refused.set(answer.err());
                downloads.poll();
            });
        };
        view! {
            <button type="button" class="btn btn--small" on:click=toggle
                aria-label=format!("{label} {}", job.model_name)>{label}</button>
        }
    });
    let discard = job.partial_bytes.map(|bytes| {
        let id = id.clone();
        let discard = move |_| {
            let id = id.clone();
            spawn_local(async move {
                let _ = discard_download(id).await;
                downloads.poll();
            });
        };
        view! {
            <button type="button" class="btn btn--small" on:click=discard
                aria-label=format!("Discard the partial download of {}", job.model_name)>
                {format!("Discard partial ({})", format::bytes(bytes))}
            </button>
        }
    });
    view! {
        <li class=status_class data-job-id=job.id.clone()>
            <div class="job__head">
                <strong class="job__name">{job.model_name.clone()}</strong>
                <span class="job__actions">
                    {toggle}
                    <button type="button" class="btn btn--small" on:click=act
                        aria-label=format!("{action_label} {}", job.model_name)>{action_label}</button>
                </span>
            </div>
            <div class="job__file">{file}</div>
            <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")>
                <div class="bar__fill" style=format!("width:{pct:.1}%")></div>
            </div>
            <div class="job__status">{status_text(&job)}</div>
            {job.error.clone().map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
            {move || refused.get().map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
            {discard}
        </li>
    }
}
