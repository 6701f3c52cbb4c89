use leptos::{prelude::*, task::spawn_local};

use crate::{
    components::IdentificationView,
    domain::{AdoptRequest, ScanPhase, ScanStatus, UntrackedFile},
    format,
    server_fns::scan::{adopt_files, get_scan_status, start_scan},
    state::{sleep_ms, Downloads, Hydrated},
};

/// The volume scan on the Installed tab: start it, watch its progress, adopt what it found.
#[component]
pub fn VolumeScan() -> impl IntoView {
    let hydrated = Hydrated::get();
    let status = RwSignal::new(None::<ScanStatus>);
    let error = RwSignal::new(None::<String>);
    let initial = Resource::new(|| (), |_| get_scan_status());
    let poll = move || {
        spawn_local(async move {
            loop {
                match get_scan_status().await {
                    Ok(s) => {
                        let running = s.running();
                        status.set(Some(s));
                        if !running {
                            break;
                        }
                    }
                    Err(e) => {
                        error.set(Some(e.message));
                        break;
                    }
                }
                sleep_ms(500).await;
            }
        });
    };
    let scan = move |_| {
        error.set(None);
        spawn_local(async move {
            match start_scan().await {
                Ok(s) => {
                    status.set(Some(s));
                    poll();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <section class="volume-scan" aria-labelledby="volume-scan-title">
            <div class="volume-scan__head">
                <h2 id="volume-scan-title">"Files on the volume"</h2>
                <button type="button" class="btn" on:click=scan
                    disabled=move || hydrated.not_yet() || status.with(|s| s.as_ref().is_some_and(ScanStatus::running))>
                    "Scan the volume"
                </button>
            </div>
            <p class="muted">"Model files placed by other tools (ComfyUI, hf download, wget) that no installed model covers. Adopt one to use it here; files outside the models folder are referenced where they are, never moved or deleted."</p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    if let (Ok(s), None) = (initial.await, status.get_untracked()) {
                        if s.running() {
                            poll();
                        }
                        status.set(Some(s));
                    }
                    view! { <ScanResult status /> }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ScanResult(status: RwSignal<Option<ScanStatus>>) -> impl IntoView {
    move || {
        let s = status.get()?;
        let progress = progress_text(&s);
        let problems = s.problems.clone();
        let files = s.untracked.clone();
        let done = s.phase == ScanPhase::Done;
        Some(view! {
            <p class="volume-scan__progress" role="status">{progress}</p>
            {(!problems.is_empty()).then(|| view! {
                <ul class="warnings">{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            })}
            {if files.is_empty() && done {
                view! { <p class="empty">"No untracked model files."</p> }.into_any()
            } else {
                view! {
                    <ul class="model-list untracked-list">
                        {files.into_iter().map(|file| view! { <UntrackedItem file status /> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        })
    }
}

/// "Scanning…", "Hashing 3 of 10 files (1.2 GB of 40 GB)", "Found 4 untracked files".
fn progress_text(s: &ScanStatus) -> String {
    let found = format!(
        "{} model files seen, {} untracked",
        s.files_seen,
        s.untracked.len()
    );
    match s.phase {
        ScanPhase::Idle => "Not scanned since the server started.".into(),
        ScanPhase::Listing => "Scanning the folders…".into(),
        ScanPhase::Hashing => format!(
            "{found}; hashing {} of {} files ({} of {})…",
            s.files_hashed,
            s.files_to_hash,
            format::bytes(s.bytes_hashed),
            format::bytes(s.bytes_to_hash)
        ),
        ScanPhase::Done => format!("{found}."),
        ScanPhase::Failed => "The scan failed.".into(),
    }
}

#[component]
fn UntrackedItem(file: UntrackedFile, status: RwSignal<Option<ScanStatus>>) -> impl IntoView {
    let downloads = Downloads::get();
    let busy = RwSignal::new(false);
    let move_it = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let path = file.path.clone();
    let adopt = move |_| {
        let request = AdoptRequest {
            paths: vec![path.clone()],
            move_files: Some(move_it.get_untracked()),
            ..Default::default()
        };
        let path = path.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match adopt_files(request).await {
                Ok(_) => {
                    status.update(|s| {
                        if let Some(s) = s {
                            s.untracked.retain(|f| f.path != path);
                        }
                    });
                    downloads.changed();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let sha = file
        .sha256
        .as_deref()
        .map(|s| format!("sha256 {}…", &s[..12.min(s.len())]))
        .unwrap_or_else(|| "hashing…".into());
    let where_ = if file.in_models_dir {
        "in the models folder"
    } else {
        "referenced from an extra folder"
    };
    view! {
        <li class="model-card untracked" data-path=file.path.clone()>
            <div class="model-card__head">
                <h3><code>{file.path.clone()}</code></h3>
            </div>
            <p class="model-card__meta">
                {format::bytes(file.size_bytes)}" · "{file.format.clone()}" · "{where_}" · "{sha}
            </p>
            {file.duplicate_of.clone().map(|name| view! {
                <p class="warnings untracked__duplicate">{format!("Same file as the installed model {name}: adopting it would keep a second copy")}</p>
            })}
            <IdentificationView identification=file.identification.clone() />
            <div class="model-card__actions">
                {file.in_models_dir.then(|| view! {
                    <label class="check">
                        <input type="checkbox" on:change=move |ev| move_it.set(event_target_checked(&ev)) />
                        " Move into its folder"
                    </label>
                })}
                <button type="button" class="btn btn--primary" on:click=adopt disabled=move || busy.get()>
                    {move || if busy.get() { "Adopting…" } else { "Adopt" }}
                </button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </li>
    }
    .into_any()
}
