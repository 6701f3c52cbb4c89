use leptos::{prelude::*, task::spawn_local};

use super::CustomModelActions;
use crate::{
    domain::{DownloadRequest, JobStatus, Model, ModelFamily, SourceType},
    format,
    server_fns::models::start_download,
    state::{Downloads, Hydrated},
};

/// One model of the catalog: what it is, and its download state with the actions that fit.
#[component]
pub fn ModelCard(model: Model) -> impl IntoView {
    let downloads = Downloads::get();
    let hydrated = Hydrated::get();
    let model_id = model.id.clone();
    let job = {
        let id = model_id.clone();
        Memo::new(move |_| downloads.job_for(&id))
    };
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let installed = model.installed;
    let requires_token = model.requires_token;
    let source = model.source;

    let start = {
        let id = model_id.clone();
        move || {
            let token_value = token.get_untracked().trim().to_string();
            let mut request = DownloadRequest {
                model_id: id.clone(),
                ..Default::default()
            };
            if !token_value.is_empty() {
                match source {
                    SourceType::Civitai => request.civitai_token = Some(token_value),
                    _ => request.huggingface_token = Some(token_value),
                }
            }
            busy.set(true);
            error.set(None);
            spawn_local(async move {
                match start_download(request).await {
                    Ok(_) => {
                        token.set(String::new());
                        downloads.poll();
                    }
                    Err(e) => error.set(Some(e.message)),
                }
                busy.set(false);
            });
        }
    };

    let size = match (model.size_bytes, model.approx_size_bytes) {
        (Some(exact), _) => format::bytes(exact),
        (None, Some(approx)) => format!("≈ {}", format::bytes(approx)),
        (None, None) => "size unknown".to_string(),
    };
    let link = match (&model.source, &model.repo) {
        (SourceType::Huggingface, Some(repo)) => Some(format!("https://huggingface.co/{repo}")),
        _ => None,
    };
    let token_label = if source == SourceType::Civitai {
        "CivitAI API key"
    } else {
        "Hugging Face token"
    };
    let token_id = format!("token-{}", model.id);

    let state_view = move || {
        let job = job.get();
        let status = job.as_ref().map(|j| j.status);
        match (status, job) {
            (Some(JobStatus::Queued | JobStatus::Downloading | JobStatus::Verifying), Some(j)) => {
                let pct = format::percent(j.bytes_downloaded, j.total_bytes);
                let label = match j.status {
                    JobStatus::Queued => "Queued".to_string(),
                    JobStatus::Verifying => "Verifying…".to_string(),
                    _ => format!("{:.0}% · {}", pct, format::speed(j.speed_bytes_per_sec)),
                };
                view! {
                    <div class="card-progress">
                        <div class="bar" role="progressbar" aria-label=format!("Download of {}", j.model_name)
                            aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")
                            aria-valuetext=label.clone()>
                            <div class="bar__fill" style=format!("width:{pct:.1}%")></div>
                        </div>
                        <span class="card-progress__label">{label}</span>
                    </div>
                }
                .into_any()
            }
            (Some(JobStatus::Completed), job) => {
                // "reused from <path>": a file already on the volume was linked, not downloaded.
                let notes: Vec<String> = job
                    .map(|j| j.files.into_iter().filter_map(|f| f.note).collect())
                    .unwrap_or_default();
                view! {
                    <span class="badge badge--ok">"Installed"</span>
                    {notes.into_iter().map(|n| view! { <p class="muted job-note" role="status">{n}</p> }).collect_view()}
                }
                .into_any()
            }
            _ if installed => view! { <span class="badge badge--ok">"Installed"</span> }.into_any(),
            (status, job) => {
                let failed =
                    job.filter(|_| matches!(status, Some(JobStatus::Failed | JobStatus::Paused)));
                let start = start.clone();
                view! {
                    {failed.and_then(|j| j.error).map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
                    {requires_token.then(|| view! {
                        <label class="field field--inline" for=token_id.clone()>
                            <span>{token_label}</span>
                            <input id=token_id.clone() type="password" autocomplete="off"
                                placeholder="used for this download only, never stored"
                                prop:value=move || token.get()
                                on:input=move |ev| token.set(event_target_value(&ev)) />
                        </label>
                    })}
                    <button type="button" class="btn btn--primary" disabled=move || busy.get() || hydrated.not_yet()
                        on:click=move |_| start()>
                        {if status == Some(JobStatus::Failed) { "Retry download" } else if status == Some(JobStatus::Paused) { "Resume download" } else { "Download" }}
                    </button>
                }
                .into_any()
            }
        }
    };

    view! {
        <li class="model-card" data-model-id=model.id.clone() data-size=model.size_bytes.map(|s| s.to_string())>
            <div class="model-card__head">
                <h3>{model.name.clone()}</h3>
                // A custom model's family "Custom" and its "Custom" badge would say it twice.
                {(model.built_in || model.family != ModelFamily::Custom).then(|| view! { <span class="badge">{model.family.label()}</span> })}
                <span class="badge badge--muted">{model.model_type.label()}</span>
                {model.requires_token.then(|| view! { <span class="badge badge--warn" title="Needs a token">"Gated"</span> })}
                {(!model.built_in).then(|| view! { <span class="badge badge--muted">"Custom"</span> })}
            </div>
            <p class="model-card__desc">{model.description.clone()}</p>
            {model.layout.map(|l| view! { <p class="model-card__layout">{l.purpose(model.family)}</p> })}
            {model.repo.clone().map(|repo| match link.clone() {
                Some(href) => view! { <a class="model-card__repo" href=href target="_blank" rel="noopener">{repo}</a> }.into_any(),
                None => view! { <p class="model-card__repo">{repo}</p> }.into_any(),
            })}
            {model.civitai.clone().map(|c| view! {
                <a class="model-card__repo" href=c.page_url target="_blank" rel="noopener noreferrer">
                    {format!("CivitAI model {}, version {}", c.model_id, c.version_name)}
                </a>
            })}
            {(!model.tags.is_empty()).then(|| view! {
                <ul class="tags" aria-label="Tags">{model.tags.iter().map(|t| view! { <li>{t.clone()}</li> }).collect_view()}</ul>
            })}
            <p class="model-card__meta">{size}{model.license.clone().map(|l| format!(" · licence: {l}"))}</p>
            <div class="model-card__actions">
                {state_view}
                {(!model.built_in && !installed).then(|| view! { <CustomModelActions model=model.clone() /> })}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </div>
        </li>
    }
}
