use leptos::{prelude::*, task::spawn_local};

use crate::{
    domain::{AppError, CivitaiInfo, CivitaiPreview, CivitaiStatus, CivitaiUpdate},
    format,
    server_fns::civitai::{check_update, download_update, lookup_civitai, set_show_nsfw_previews},
    state::{Downloads, Hydrated},
};

/// What CivitAI knows about an installed model: preview image (an NSFW one hidden until
/// clicked, unless the user opted in), names, base model, page link and description as
/// text; "Look up on CivitAI" / "Look up again"; "Check for updates" and the download of a
/// newer version.
#[component]
pub fn CivitaiSection(
    model_id: String,
    info: Option<CivitaiInfo>,
    /// The user's choice to show NSFW previews without a click (follows the setting live).
    show_nsfw: Signal<bool>,
) -> impl IntoView {
    let downloads = Downloads::get();
    let hydrated = Hydrated::get();
    let info = RwSignal::new(info);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);

    let look_up = {
        let id = model_id.clone();
        move |_| {
            let call = lookup_civitai(id.clone());
            act(busy, error, call, move |model| info.set(model.civitai));
        }
    };
    let check = {
        let id = model_id.clone();
        move |_| {
            let call = check_update(id.clone());
            act(busy, error, call, move |model| info.set(model.civitai));
        }
    };
    let get_update = {
        let id = model_id.clone();
        move |_| {
            act(busy, error, download_update(id.clone()), move |_| {
                note.set(Some(
                    "Downloading the new version as a separate model; this one stays.".into(),
                ));
                downloads.poll();
                downloads.changed();
            });
        }
    };
    let disabled = move || busy.get() || hydrated.not_yet();
    let id = model_id.clone();
    view! {
        <div class="civitai">
            {move || match info.get() {
                None => view! {
                    <p class="muted">"Not looked up on CivitAI yet "
                        <button type="button" class="btn btn--small" on:click=look_up.clone() disabled=disabled>"Look up on CivitAI"</button>
                    </p>
                }.into_any(),
                Some(i) if i.status == CivitaiStatus::Found => view! {
                    <Found id=id.clone() info=i show_nsfw />
                    <div class="model-card__actions">
                        <button type="button" class="btn btn--small" on:click=check.clone() disabled=disabled>"Check for updates"</button>
                        <button type="button" class="btn btn--small" on:click=look_up.clone() disabled=disabled>"Look up again"</button>
                    </div>
                }.into_any(),
                Some(i) => {
                    let text = if i.status == CivitaiStatus::NotFound {
                        format!("Not found on CivitAI (checked {})", format::date(&i.checked_at))
                    } else {
                        format!("CivitAI lookup failed: {}", i.message.clone().unwrap_or_default())
                    };
                    view! {
                        <p class="muted civitai__status" data-status=status_word(i.status)>{text}" "
                            <button type="button" class="btn btn--small" on:click=look_up.clone() disabled=disabled>"Look up again"</button>
                        </p>
                    }.into_any()
                }
            }}
            {move || info.get().and_then(|i| i.update).map(|u| view! {
                <UpdateLine update=u on_get=get_update.clone() disabled=Signal::derive(disabled) />
            })}
            {move || note.get().map(|n| view! { <p class="muted" role="status">{n}</p> })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
    .into_any()
}

fn status_word(status: CivitaiStatus) -> &'static str {
    match status {
        CivitaiStatus::Found => "found",
        CivitaiStatus::NotFound => "not_found",
        CivitaiStatus::Failed => "failed",
    }
}

/// A found model: preview, names with the page link, base model, description.
#[component]
fn Found(id: String, info: CivitaiInfo, show_nsfw: Signal<bool>) -> impl IntoView {
    let title = info.title().unwrap_or_else(|| "CivitAI model".into());
    let description = info.description.clone();
    view! {
        {info.preview.clone().map(|p| view! { <Preview id=id.clone() preview=p title=title.clone() show_nsfw /> })}
        <p class="civitai__title">
            {match info.page_url.clone() {
                Some(url) => view! { <a href=url target="_blank" rel="noopener noreferrer">{title.clone()}" on CivitAI"</a> }.into_any(),
                None => view! { <span>{title.clone()}</span> }.into_any(),
            }}
            {info.base_model.clone().map(|b| view! { " " <span class="badge badge--muted">{b}</span> })}
        </p>
        {info.message.clone().map(|m| view! { <p class="muted">{m}</p> })}
        // Plain text (the server drops CivitAI's HTML): shown as text, never as markup.
        {description.map(|d| view! {
            <details class="civitai__description"><summary>"Description"</summary><p>{d}</p></details>
        })}
    }
}

/// The preview image, from the app's own route; an NSFW one waits for a click.
#[component]
fn Preview(
    id: String,
    preview: CivitaiPreview,
    title: String,
    show_nsfw: Signal<bool>,
) -> impl IntoView {
    let clicked = RwSignal::new(false);
    let nsfw = preview.nsfw;
    let revealed = move || !nsfw || show_nsfw.get() || clicked.get();
    let src = format!(
        "/api/models/installed/preview{}",
        format::query_string(&[("id", id.as_str()), ("v", preview.path.as_str())])
    );
    let alt = format!("Preview of {title}");
    let (width, height) = (preview.width, preview.height);
    view! {
        <div class="civitai__preview" data-nsfw=preview.nsfw.to_string()>
            <Show when=revealed fallback=move || view! {
                <button type="button" class="btn civitai__reveal" on:click=move |_| clicked.set(true)>
                    "NSFW preview hidden: show it"
                </button>
            }>
                <img src=src.clone() alt=alt.clone() loading="lazy" width=width height=height />
            </Show>
        </div>
    }
}

/// The last update check: a newer version with its download, or up to date.
#[component]
fn UpdateLine(
    update: CivitaiUpdate,
    on_get: impl Fn(leptos::ev::MouseEvent) + Clone + Send + Sync + 'static,
    disabled: Signal<bool>,
) -> impl IntoView {
    match update.version_name.clone().or(update.version_id.map(|v| v.to_string())) {
        Some(name) => view! {
            <p class="civitai__update" role="status">
                <strong>"Update available: " {name.clone()}</strong>" "
                {update.page_url.clone().map(|u| view! { <a href=u target="_blank" rel="noopener noreferrer">"See it on CivitAI"</a> " " })}
                <button type="button" class="btn btn--small btn--primary" on:click=on_get disabled=move || disabled.get()>
                    {format!("Download {name}")}
                </button>
            </p>
        }
        .into_any(),
        None => view! {
            <p class="muted civitai__update" role="status">"Up to date (checked " {format::date(&update.checked_at)} ")"</p>
        }
        .into_any(),
    }
}

/// The Installed tab's switch: NSFW previews shown without a click, saved for every page.
#[component]
pub fn NsfwPreference(show: bool) -> impl IntoView {
    let downloads = Downloads::get();
    let hydrated = Hydrated::get();
    let error = RwSignal::new(None::<String>);
    let change = move |ev| {
        let show = event_target_checked(&ev);
        spawn_local(async move {
            match set_show_nsfw_previews(show).await {
                Ok(_) => downloads.changed(),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <p class="preferences">
            <label>
                <input type="checkbox" checked=show on:change=change disabled=move || hydrated.not_yet() />
                " Show NSFW previews without a click"
            </label>
            {move || error.get().map(|e| view! { <span class="error" role="alert">" "{e}</span> })}
        </p>
    }
}

/// Runs one of the card's actions: the buttons are busy while `call` runs, its error is
/// shown, and `done` gets its answer.
fn act<T: 'static>(
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    call: impl std::future::Future<Output = Result<T, AppError>> + 'static,
    done: impl FnOnce(T) + 'static,
) {
    busy.set(true);
    error.set(None);
    spawn_local(async move {
        match call.await {
            Ok(answer) => done(answer),
            Err(e) => error.set(Some(e.message)),
        }
        busy.set(false);
    });
}
