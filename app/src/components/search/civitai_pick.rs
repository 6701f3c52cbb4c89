use leptos::prelude::*;

use super::add::{AddActions, AddState};
use crate::{
    domain::{AddModelRequest, CivitaiModel, SearchResult, SearchSource},
    format,
    server_fns::search::civitai_versions,
};

/// A CivitAI model's published versions (newest first, picked), each with its files, base
/// model and trigger words; then Add or Add and download. Type and family come from CivitAI.
#[component]
pub fn CivitaiPicker(result: SearchResult) -> impl IntoView {
    let model_id: u64 = result.id.parse().unwrap_or_default();
    // Asked when the picker opens, in the browser only: nothing to carry in the page's HTML.
    let model = LocalResource::new(move || civitai_versions(model_id));
    let version = RwSignal::new(None::<u64>);
    let state = AddState::new();
    let prefix = format!("civitai-{model_id}");
    let link = RwSignal::new(None::<String>);
    let blocked = Signal::derive(move || {
        version
            .with(Option::is_none)
            .then_some("Pick a version to add.")
    });
    let on_add = Callback::new(move |download: bool| {
        let request = AddModelRequest {
            civitai_url: link.get_untracked(),
            ..Default::default()
        };
        state.add(SearchSource::Civitai, request, download);
    });
    let versions = move |m: CivitaiModel| {
        if version.get_untracked().is_none() {
            version.set(m.versions.first().map(|v| v.id));
        }
        let group = format!("civitai-{}-version", m.id);
        let shown = m.clone();
        view! {
            <fieldset class="search-pick__versions">
                <legend>"Version"</legend>
                <ul>
                    {shown.versions.into_iter().map(|v| {
                        let id = v.id;
                        let choose = {
                            let m = m.clone();
                            move |_| { version.set(Some(id)); link.set(Some(m.version_link(id))); }
                        };
                        if version.get_untracked() == Some(id) {
                            link.set(Some(m.version_link(id)));
                        }
                        let primary = v.files.iter().find(|f| f.primary).or(v.files.first()).cloned();
                        view! {
                            <li>
                                <label>
                                    <input type="radio" name=group.clone() prop:checked=move || version.get() == Some(id) on:change=choose />
                                    <strong>{v.name.clone()}</strong>
                                    {format!(" · {}", v.base_model)}
                                    {v.published_at.as_deref().map(|d| format!(" · {}", format::date(d)))}
                                </label>
                                {primary.map(|f| view! {
                                    <p class="muted"><code>{f.name}</code>" · "{f.size_bytes.map(format::bytes).unwrap_or_else(|| "size unknown".into())}</p>
                                })}
                                {(!v.trained_words.is_empty()).then(|| view! {
                                    <p class="muted">"Trigger words: "{v.trained_words.join(", ")}</p>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </fieldset>
        }
        .into_any()
    };
    view! {
        {move || match model.get() {
            None => view! { <p class="muted" role="status">"Loading the versions…"</p> }.into_any(),
            Some(Ok(m)) => versions(m),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        }}
        <AddActions state source=SearchSource::Civitai ask_token=true blocked on_add id_prefix=prefix />
    }
}
