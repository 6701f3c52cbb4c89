use leptos::{prelude::*, task::spawn_local};

use crate::{
    components::{described_by, FieldError, ModelSelector},
    domain::{
        AppError, Companion, DownloadRequest, ExportRequest, ExportResult, ModelBlockPreview,
        ModelType,
    },
    format,
    server_fns::{
        export::{dataset_folders, export_config, preview_model_block},
        models::start_download,
    },
    state::{Downloads, Hydrated},
};

/// Export to AI Toolkit: a dataset folder, a trigger word, a run name and (optionally) an
/// installed base model become a training config, saved on the server and downloadable.
#[component]
pub fn ExportPage() -> impl IntoView {
    let datasets = Resource::new(|| (), |_| dataset_folders());
    let dataset = RwSignal::new(String::new());
    // `?trigger=` prefills it (a LoRA card's "Use in Export").
    let trigger = RwSignal::new(
        leptos_router::hooks::use_query_map()
            .with_untracked(|q| q.get("trigger"))
            .unwrap_or_default(),
    );
    let run_name = RwSignal::new(String::new());
    let base = RwSignal::new(None::<String>);
    let downloads = Downloads::get();
    // Refetched when a download finishes: an installed companion changes the block.
    let block = Resource::new(
        move || {
            (
                base.get().filter(|id| !id.is_empty()),
                downloads.version.get(),
            )
        },
        |(id, _)| async move {
            match id {
                Some(id) => preview_model_block(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let result = RwSignal::new(None::<ExportResult>);
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let hydrated = Hydrated::get();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let request = ExportRequest {
            dataset_folder: dataset.get_untracked(),
            trigger_word: trigger.get_untracked(),
            run_name: run_name.get_untracked(),
            base_model_id: base.get_untracked(),
        };
        spawn_local(async move {
            match export_config(request).await {
                Ok(r) => result.set(Some(r)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    view! {
        <section class="export" data-hydrated=move || hydrated.yes().to_string()>
            <h1>"Export to AI Toolkit"</h1>
            <form class="form panel" on:submit=submit novalidate>
                <div class="field">
                    <label for="dataset">"Dataset folder *"</label>
                    <Transition fallback=|| view! { <p class="muted">"Loading folders…"</p> }>
                        {move || Suspend::new(async move {
                            match datasets.await {
                                Ok(list) if list.is_empty() => view! { <p class="empty" id="dataset">"No dataset folders found on the server."</p> }.into_any(),
                                Ok(list) => view! {
                                    <select id="dataset" required aria-describedby=described_by(error, "datasetFolder") on:change=move |ev| dataset.set(event_target_value(&ev))>
                                        <option value="">"Choose a folder"</option>
                                        {list.into_iter().map(|d| view! {
                                            <option value=d.path.clone()>{format!("{} ({} images)", d.name, d.image_count)}</option>
                                        }).collect_view()}
                                    </select>
                                }.into_any(),
                                Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                    <FieldError error field="datasetFolder" />
                </div>
                <div class="grid-2">
                    <div class="field">
                        <label for="trigger">"Trigger word"</label>
                        <input id="trigger" type="text" placeholder="ohwx" aria-describedby=described_by(error, "triggerWord") prop:value=move || trigger.get()
                            on:input=move |ev| trigger.set(event_target_value(&ev)) />
                        <FieldError error field="triggerWord" />
                    </div>
                    <div class="field">
                        <label for="run-name">"Run name *"</label>
                        <input id="run-name" type="text" placeholder="my_first_lora" required aria-describedby=described_by(error, "runName") prop:value=move || run_name.get()
                            on:input=move |ev| run_name.set(event_target_value(&ev)) />
                        <FieldError error field="runName" />
                    </div>
                </div>
                <ModelSelector model_type=ModelType::BaseModel value=base label="Base model" />
                <FieldError error field="baseModelId" />
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match block.await {
                            Ok(Some(preview)) => view! { <ModelBlockView preview /> }.into_any(),
                            Ok(None) => ().into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                        }
                    })}
                </Transition>
                {move || error.get().filter(|e| e.field.is_none()).map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
                <div class="form__actions">
                    <button type="submit" class="btn btn--primary" disabled=move || busy.get() || hydrated.not_yet()>"Create config"</button>
                </div>
            </form>
            {move || result.get().map(|r| {
                let href = format!("data:text/yaml;charset=utf-8,{}", format::encode(&r.yaml));
                view! {
                    <section class="panel export__result" aria-label="Generated config">
                        <h2>"AI Toolkit config"</h2>
                        <p class="success" role="status">"Saved on the server as " <code>{r.saved_path.clone()}</code></p>
                        {(!r.warnings.is_empty()).then(|| view! {
                            <ul class="warnings">{r.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}</ul>
                        })}
                        <a class="btn" href=href download=r.file_name.clone()>{format!("Download {}", r.file_name)}</a>
                        <pre class="yaml"><code>{r.yaml.clone()}</code></pre>
                    </section>
                }
            })}
        </section>
    }
}

/// The `model:` block the config will have for the chosen base model, why, and what is missing.
#[component]
fn ModelBlockView(preview: ModelBlockPreview) -> impl IntoView {
    view! {
        <section class="model-block" aria-label="Model block">
            <h2>"What the config will load"</h2>
            <pre class="yaml"><code>{preview.yaml}</code></pre>
            <ul class="notes">{preview.notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
            {(!preview.warnings.is_empty()).then(|| view! {
                <ul class="warnings">{preview.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
            })}
            {(!preview.companions.is_empty()).then(|| view! {
                <div class="companions">
                    {preview.companions.into_iter().map(|c| view! { <CompanionAction companion=c /> }).collect_view()}
                </div>
            })}
        </section>
    }
}

/// One click to download a missing companion; a gated one goes to its card, which asks for
/// the token.
#[component]
fn CompanionAction(companion: Companion) -> impl IntoView {
    if companion.requires_token {
        let href = format!("/?q={}", format::encode(&companion.name));
        return view! {
            <a class="btn" href=href>{format!("Get {} (needs a Hugging Face token)", companion.name)}</a>
        }
        .into_any();
    }
    let downloads = Downloads::get();
    let error = RwSignal::new(None::<String>);
    let started = RwSignal::new(false);
    let model_id = companion.model_id.clone();
    let start = move |_| {
        let request = DownloadRequest {
            model_id: model_id.clone(),
            ..Default::default()
        };
        started.set(true);
        spawn_local(async move {
            match start_download(request).await {
                Ok(_) => downloads.poll(),
                Err(e) => {
                    started.set(false);
                    error.set(Some(e.message));
                }
            }
        });
    };
    let hydrated = Hydrated::get();
    view! {
        <button type="button" class="btn" disabled=move || started.get() || hydrated.not_yet() on:click=start>
            {move || if started.get() { format!("Downloading {}…", companion.name) } else { format!("Download {}", companion.name) }}
        </button>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
    .into_any()
}
