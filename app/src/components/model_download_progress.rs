use leptos::{prelude::*, task::spawn_local};

use crate::{
    browser::{self, Permission},
    domain::{AppError, JobStatus},
    format,
    panel::{self, cancel_needs_confirmation, pause_or_resume, status_text},
    server_fns::{
        downloads::{clear_finished_downloads, pause_download, resume_download},
        models::{cancel_download, discard_download},
    },
    state::{focus_id, Downloads},
};

use super::DownloadSettingsForm;

/// The downloads panel. On wide screens it is docked at the right and the page makes room for
/// it; on narrow ones it is a bar at the bottom that expands on demand and folds away when
/// focus leaves it. Active jobs first, then finished ones; pause, resume, cancel (large or long
/// downloads ask first; Escape keeps them), "Clear finished", notices of completed and failed
/// downloads (and the browser's notifications when allowed). After a reload it asks the server
/// which jobs exist.
#[component]
pub fn ModelDownloadProgress() -> impl IntoView {
    let downloads = Downloads::get();
    // In the browser only: learn about jobs started before this page was loaded.
    Effect::new(move || downloads.poll());
    let shown =
        move || !downloads.jobs.with(Vec::is_empty) || !downloads.notices.with(Vec::is_empty);
    // The panel exists only in the browser (after the first poll), so its code is a lazily
    // loaded chunk, fetched when the first download shows; nothing shows while it loads.
    view! {
        <Show when=shown>
            <Suspense fallback=|| ()>{Suspend::new(downloads_panel())}</Suspense>
        </Show>
    }
}

#[lazy]
fn downloads_panel() -> AnyView {
    view! { <DownloadsPanel /> }.into_any()
}

/// The panel itself, while there are jobs or notices.
#[component]
fn DownloadsPanel() -> impl IntoView {
    let downloads = Downloads::get();
    let expanded = RwSignal::new(false);
    let confirming = RwSignal::new(None::<String>);
    let aside = NodeRef::<leptos::html::Aside>::new();
    let toggle_button = NodeRef::<leptos::html::Button>::new();
    let ids = Memo::new(move |_| downloads.jobs.with(|jobs| panel::ordered_ids(jobs)));
    let any_finished = Memo::new(move |_| {
        downloads
            .jobs
            .with(|jobs| jobs.iter().any(|j| j.status.is_finished()))
    });
    let summary = move || downloads.jobs.with(|jobs| panel::summary(jobs));
    let collapse = move || {
        if browser::narrow() {
            expanded.set(false);
        }
    };
    // Escape folds the bar away (a confirmation in a row handles its own Escape first).
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && expanded.get_untracked() && browser::narrow() {
            expanded.set(false);
            if let Some(b) = toggle_button.get_untracked() {
                let _ = b.focus();
            }
        }
    };
    // On a phone the expanded panel would cover the page: it folds when focus leaves it.
    let on_focus_out = move |_| {
        request_animation_frame(move || {
            let Some(panel) = aside.try_get_untracked().flatten() else {
                return;
            };
            let active = document().active_element();
            if !panel.contains(active.as_ref().map(|e| e.as_ref())) {
                collapse();
            }
        });
    };
    // A control focused under the bar is scrolled above it (browsers leave it there when it
    // is inside the viewport).
    Effect::new(move || browser::keep_focus_above(aside));
    // On a phone the page keeps room below its last control for the bar (and focus scrolls
    // controls above it): the bar's height, measured after every change.
    Effect::new(move || {
        downloads.jobs.track();
        downloads.notices.track();
        expanded.track();
        request_animation_frame(move || {
            let height = aside
                .try_get_untracked()
                .flatten()
                .map_or(0, |a| a.offset_height());
            browser::reserve_bottom(height);
        });
    });
    // Gone with the last job: no room kept for it.
    on_cleanup(|| browser::reserve_bottom(0));
    let clear = move |_| {
        spawn_local(async move {
            if clear_finished_downloads().await.is_ok() {
                downloads.notices.set(Vec::new());
                confirming.set(None);
            }
            downloads.poll();
            // The button goes away (and the panel with it when nothing runs).
            focus_id("main");
        });
    };
    view! {
        <aside class="downloads" class:downloads--open=move || expanded.get() aria-labelledby="downloads-title"
                node_ref=aside on:keydown=on_key on:focusout=on_focus_out>
                <h2 id="downloads-title" class="downloads__title">"Downloads"</h2>
                <button type="button" class="downloads__toggle" node_ref=toggle_button
                    aria-expanded=move || expanded.get().to_string() aria-controls="downloads-body"
                    on:click=move |_| expanded.update(|e| *e = !*e)>
                    <span>{summary}</span>
                    <span class="downloads__chevron" aria-hidden="true">{move || if expanded.get() { "▾" } else { "▴" }}</span>
                </button>
                <Notices />
                <div id="downloads-body" class="downloads__body">
                    <NotifyOptIn />
                    <ul class="downloads__list">
                        <For each=move || ids.get() key=|id| id.clone() children=move |id| view! { <JobRow id confirming /> } />
                    </ul>
                    <div class="downloads__footer">
                        <Show when=move || any_finished.get()>
                            <button type="button" class="btn btn--small" on:click=clear>"Clear finished"</button>
                        </Show>
                        <DownloadSettingsForm />
                    </div>
                </div>
            </aside>
    }
}

/// Downloads that completed or failed while the page was open, each until dismissed.
#[component]
fn Notices() -> impl IntoView {
    let downloads = Downloads::get();
    view! {
        <div class="downloads__notices" role="status" aria-live="polite">
            <For each=move || downloads.notices.get() key=|n| n.job_id.clone() children=move |notice| {
                let job_id = notice.job_id.clone();
                let dismiss = move |_| {
                    let job_id = job_id.clone();
                    downloads.notices.update(|all| all.retain(|n| n.job_id != job_id));
                };
                let class = if notice.ok { "notice notice--ok" } else { "notice notice--failed" };
                view! {
                    <p class=class>
                        <span>{notice.text.clone()}</span>
                        <button type="button" class="btn btn--small" on:click=dismiss
                            aria-label=format!("Dismiss the notice: {}", notice.text)>"OK"</button>
                    </p>
                }
            } />
        </div>
    }
}

/// Offers the browser's notifications; asks only when the user clicks.
#[component]
fn NotifyOptIn() -> impl IntoView {
    let permission = RwSignal::new(Permission::Unsupported);
    Effect::new(move || permission.set(browser::permission()));
    let ask = move |_| spawn_local(async move { permission.set(browser::ask_permission().await) });
    view! {
        {move || match permission.get() {
            Permission::Ask => Some(view! {
                <button type="button" class="btn btn--small downloads__notify" on:click=ask>
                    "Notify me when downloads finish"
                </button>
            }.into_any()),
            Permission::Denied => Some(view! {
                <p class="muted">"This browser blocks notifications from this page; finished downloads are shown here."</p>
            }.into_any()),
            _ => None,
        }}
    }
}

/// One job: name, file, bar, status, and its buttons. Keyed by job id and updated in place,
/// so a focused button keeps focus while the job progresses.
#[component]
fn JobRow(id: String, confirming: RwSignal<Option<String>>) -> impl IntoView {
    let downloads = Downloads::get();
    let job = Memo::new({
        let id = id.clone();
        move |_| {
            downloads
                .jobs
                .with(|jobs| jobs.iter().find(|j| j.id == id).cloned())
        }
    });
    let name = job
        .with_untracked(|j| j.as_ref().map(|j| j.model_name.clone()))
        .unwrap_or_default();
    let status = Memo::new(move |_| job.with(|j| j.as_ref().map(|j| j.status)));
    let finished = Memo::new(move |_| status.get().is_some_and(JobStatus::is_finished));
    let toggle_label = Memo::new(move |_| status.get().and_then(pause_or_resume));
    let partial = Memo::new(move |_| job.with(|j| j.as_ref().and_then(|j| j.partial_bytes)));
    let pct = move || {
        job.with(|j| {
            j.as_ref()
                .map_or(0.0, |j| format::percent(j.bytes_downloaded, j.total_bytes))
        })
    };
    let file = move || {
        job.with(|j| {
            let j = j.as_ref()?;
            let f = j.files.iter().find(|f| !f.done).or(j.files.last())?;
            Some(f.path.rsplit('/').next().unwrap_or(&f.path).to_string())
        })
    };
    let refused = RwSignal::new(None::<AppError>);
    let cancel_button = NodeRef::<leptos::html::Button>::new();
    let yes_button = NodeRef::<leptos::html::Button>::new();
    let is_confirming = {
        let id = id.clone();
        Memo::new(move |_| confirming.with(|c| c.as_deref() == Some(id.as_str())))
    };
    Effect::new(move || {
        if is_confirming.get() {
            if let Some(b) = yes_button.get() {
                let _ = b.focus();
            }
        }
    });
    let keep = move || {
        confirming.set(None);
        request_animation_frame(move || {
            if let Some(b) = cancel_button.try_get_untracked().flatten() {
                let _ = b.focus();
            }
        });
    };
    let stop = {
        let id = id.clone();
        move || {
            let id = id.clone();
            confirming.set(None);
            spawn_local(async move {
                let _ = cancel_download(id).await;
                downloads.poll();
            });
        }
    };
    let act = {
        let id = id.clone();
        let stop = stop.clone();
        move |_| {
            let ask = job.with_untracked(|j| {
                j.as_ref()
                    .is_some_and(|j| cancel_needs_confirmation(j, browser::now_secs()))
            });
            if ask {
                confirming.set(Some(id.clone()));
            } else {
                stop();
            }
        }
    };
    let toggle = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            let Some(label) = toggle_label.get_untracked() else {
                return;
            };
            spawn_local(async move {
                let answer = match label {
                    "Pause" => pause_download(id).await,
                    _ => resume_download(id).await,
                };
                refused.set(answer.err());
                downloads.poll();
            });
        }
    };
    let discard = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            spawn_local(async move {
                let _ = discard_download(id).await;
                downloads.poll();
            });
        }
    };
    let on_confirm_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.stop_propagation();
            keep();
        }
    };
    let class = move || {
        let status = status.get().map(|s| format!("{s:?}")).unwrap_or_default();
        format!("job job--{}", status.to_lowercase())
    };
    let (n1, n2, n3, n4, n5) = (
        name.clone(),
        name.clone(),
        name.clone(),
        name.clone(),
        name.clone(),
    );
    view! {
        <li class=class data-job-id=id.clone()>
            <div class="job__head">
                <strong class="job__name">{name.clone()}</strong>
                <span class="job__actions">
                    <button type="button" class="btn btn--small" on:click=toggle
                        hidden=move || toggle_label.get().is_none()
                        aria-label=move || format!("{} {n1}", toggle_label.get().unwrap_or("Pause"))>
                        {move || toggle_label.get().unwrap_or("Pause")}
                    </button>
                    <button type="button" class="btn btn--small" on:click=act node_ref=cancel_button
                        aria-label=move || format!("{} {n2}", if finished.get() { "Dismiss" } else { "Cancel" })>
                        {move || if finished.get() { "Dismiss" } else { "Cancel" }}
                    </button>
                </span>
            </div>
            <Show when=move || is_confirming.get()>
                <div class="confirm job__confirm" role="group" aria-label=format!("Cancel the download of {n3}?")
                    on:keydown=on_confirm_key>
                    <span>"Cancel this download? What it fetched is deleted."</span>
                    <button type="button" class="btn btn--small btn--danger" node_ref=yes_button
                        on:click={let stop = stop.clone(); move |_| stop()}>"Yes, cancel"</button>
                    <button type="button" class="btn btn--small" on:click=move |_| keep()>"Keep downloading"</button>
                </div>
            </Show>
            <div class="job__file">{file}</div>
            <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", pct()) aria-label=format!("Download of {n4}")>
                <div class="bar__fill" style=move || format!("width:{:.1}%", pct())></div>
            </div>
            <div class="job__status">{move || job.with(|j| j.as_ref().map(status_text))}</div>
            {move || job.with(|j| j.as_ref()?.error.clone()).map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
            {move || refused.get().map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
            {move || partial.get().map(|bytes| view! {
                <button type="button" class="btn btn--small" on:click=discard.clone()
                    aria-label=format!("Discard the partial download of {n5}")>
                    {format!("Discard partial ({})", format::bytes(bytes))}
                </button>
            })}
        </li>
    }
}
