use leptos::{prelude::*, task::spawn_local};

use crate::{domain::InstalledModel, format, server_fns::scan::forget_installed, state::Downloads};

/// An installed record whose files have disappeared: download again (when its source is
/// known) or forget it.
#[component]
pub fn MissingCard(model: InstalledModel) -> impl IntoView {
    let downloads = Downloads::get();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let id = model.id.clone();
    let forget = move |_| {
        let id = id.clone();
        busy.set(true);
        spawn_local(async move {
            match forget_installed(id).await {
                Ok(_) => downloads.changed(),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    let again = model.source_model_id.clone().map(|source| {
        move |_| {
            let source = source.clone();
            busy.set(true);
            spawn_local(async move {
                if let Err(e) = downloads.download_again(source).await {
                    error.set(Some(e));
                }
                busy.set(false);
            });
        }
    });
    view! {
        <li class="model-card model-card--missing" data-missing-id=model.id.clone()>
            <div class="model-card__head">
                <h3>{model.name.clone()}</h3>
                <span class="badge badge--warn">"Files missing"</span>
                <span class="badge">{model.family.label()}</span>
                <span class="badge badge--muted">{model.model_type.label()}</span>
            </div>
            <p class="model-card__meta">{format::bytes(model.total_size_bytes)}" recorded; the files are no longer on the volume"</p>
            <ul class="files">
                {model.files.iter().map(|f| view! { <li><code>{f.path.clone()}</code></li> }).collect_view()}
            </ul>
            <div class="model-card__actions">
                {again.map(|again| view! {
                    <button type="button" class="btn btn--primary" on:click=again disabled=move || busy.get()>"Download again"</button>
                })}
                <button type="button" class="btn" on:click=forget disabled=move || busy.get()>"Forget"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </li>
    }
    .into_any()
}
