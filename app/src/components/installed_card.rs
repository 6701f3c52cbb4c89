use leptos::{prelude::*, task::spawn_local};

use crate::{
    components::{CivitaiSection, IdentificationView, IdentificationWarnings, TriggerWords},
    domain::{Identification, InstalledModel, Verification},
    format,
    server_fns::models::{delete_installed, verify_installed},
    state::{copy_text, focus_id, Downloads, Hydrated},
};

/// An installed model: its files and size, what CivitAI knows of it, the integrity check, and
/// delete behind a confirmation. `show_nsfw`: the user's choice to show NSFW previews.
#[component]
pub fn InstalledCard(
    model: InstalledModel,
    #[prop(optional, into)] show_nsfw: Signal<bool>,
) -> impl IntoView {
    let downloads = Downloads::get();
    let hydrated = Hydrated::get();
    let verification = RwSignal::new(model.last_verification.clone());
    let checking = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let id = model.id.clone();

    let verify = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            checking.set(true);
            error.set(None);
            spawn_local(async move {
                match verify_installed(id).await {
                    Ok(v) => verification.set(Some(v)),
                    Err(e) => error.set(Some(e.message)),
                }
                checking.set(false);
            });
        }
    };
    let delete_button = NodeRef::<leptos::html::Button>::new();
    let yes_button = NodeRef::<leptos::html::Button>::new();
    // The confirmation takes focus when it opens, and gives it back to Delete when cancelled.
    Effect::new(move || {
        if confirming.get() {
            if let Some(b) = yes_button.get() {
                let _ = b.focus();
            }
        }
    });
    let cancel = move || {
        confirming.set(false);
        request_animation_frame(move || {
            if let Some(b) = delete_button.get_untracked() {
                let _ = b.focus();
            }
        });
    };
    let delete = move |_| {
        let id = id.clone();
        spawn_local(async move {
            match delete_installed(id).await {
                Ok(_) => {
                    // This card goes away: focus lands on the list, not at the top of the page.
                    focus_id("tab-panel");
                    downloads.changed();
                }
                Err(e) => error.set(Some(e.message)),
            }
            confirming.set(false);
        });
    };
    // A copy whose verification found files missing or changed can be downloaded again, when
    // its source is known: the server replaces the damaged copy with a verified one.
    let source = StoredValue::new(model.source_model_id.clone());
    let repairing = RwSignal::new(false);
    let repair = move |_| {
        let Some(model_id) = source.get_value() else {
            return;
        };
        repairing.set(true);
        error.set(None);
        spawn_local(async move {
            if let Err(e) = downloads.download_again(model_id).await {
                error.set(Some(e));
            }
            repairing.set(false);
        });
    };
    let damaged = move || {
        source.with_value(Option::is_some)
            && verification.with(|v| v.as_ref().is_some_and(Verification::found_damage))
    };
    let files = model.files.clone();
    let warnings: Vec<String> = files
        .iter()
        .filter_map(|f| f.identification.as_ref()?.warning.clone())
        .collect();
    // CivitAI's trigger words win over the files' own.
    let triggers = model.trigger_words();
    view! {
        <li class="model-card" data-installed-id=model.id.clone()>
            <div class="model-card__head">
                <h3>{model.name.clone()}</h3>
                <span class="badge">{model.family.label()}</span>
                <span class="badge badge--muted">{model.model_type.label()}</span>
            </div>
            <p class="model-card__meta">{format::bytes(model.total_size_bytes)}</p>
            <IdentificationWarnings warnings />
            {(!triggers.is_empty()).then(|| view! { <TriggerWords words=triggers /> })}
            <CivitaiSection model_id=model.id.clone() info=model.civitai.clone() show_nsfw />
            <ul class="files">
                {files.into_iter().map(|f| view! { <FileLine path=f.path size=f.size_bytes identification=f.identification /> }).collect_view()}
            </ul>
            <p class="muted">"Installed " <time datetime=model.installed_at.clone()>{format::date(&model.installed_at)}</time></p>
            {move || verification.get().map(|v| view! { <VerificationResult v /> })}
            <div class="model-card__actions">
                <button type="button" class="btn" on:click=verify disabled=move || checking.get() || hydrated.not_yet()>
                    {move || if checking.get() { "Checking…" } else { "Verify files" }}
                </button>
                <Show when=damaged>
                    <button type="button" class="btn btn--primary" on:click=repair
                        disabled=move || repairing.get() || hydrated.not_yet()>"Download again"</button>
                </Show>
                <Show when=move || confirming.get() fallback=move || view! {
                    <button type="button" class="btn btn--danger" disabled=move || hydrated.not_yet()
                        node_ref=delete_button on:click=move |_| confirming.set(true)>"Delete"</button>
                }>
                    // Escape keeps the files, like "Keep".
                    <span class="confirm" role="group" aria-label="Confirm delete"
                        on:keydown=move |ev| if ev.key() == "Escape" { cancel() }>
                        "Delete the files?"
                        <button type="button" class="btn btn--danger" node_ref=yes_button on:click=delete.clone()>"Yes, delete"</button>
                        <button type="button" class="btn" on:click=move |_| cancel()>"Keep"</button>
                    </span>
                </Show>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </li>
    }
    // Erased: the card's full type is deeper than the compiler's query limit in release.
    .into_any()
}

/// One installed file, with a button that copies its path.
#[component]
fn FileLine(path: String, size: u64, identification: Option<Identification>) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let hydrated = Hydrated::get();
    let text = path.clone();
    let copy = move |_| {
        let text = text.clone();
        spawn_local(async move { copied.set(Some(copy_text(text).await)) });
    };
    view! {
        <li>
            <code>{path.clone()}</code>" · "{format::bytes(size)}" "
            <button type="button" class="btn btn--small" on:click=copy
                disabled=move || hydrated.not_yet() aria-label=format!("Copy path {path}")>"Copy path"</button>
            <span class="muted" role="status">{move || match copied.get() {
                Some(true) => "Copied",
                Some(false) => "Copy failed: select the path instead",
                None => "",
            }}</span>
            {identification.map(|identification| view! { <IdentificationView identification /> })}
        </li>
    }
}

#[component]
fn VerificationResult(v: Verification) -> impl IntoView {
    let problems: Vec<String> = v
        .missing
        .iter()
        .map(|p| format!("missing: {p}"))
        .chain(v.changed.iter().map(|p| format!("changed: {p}")))
        .chain(v.unexpected.iter().map(|p| format!("unexpected: {p}")))
        .collect();
    view! {
        <div class=if v.ok { "verify verify--ok" } else { "verify verify--bad" } role="status">
            {if v.ok { "All files match their sha256".to_string() } else { "Integrity problems found".to_string() }}
            " (checked " {v.checked_at.clone()} ")"
            <ul>{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
        </div>
    }
}
