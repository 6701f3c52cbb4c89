use leptos::prelude::*;

use super::{civitai_pick::CivitaiPicker, hub_pick::HubPicker};
use crate::{
    domain::{SearchResult, SearchSource},
    format,
};

/// One result: what it is, its numbers, and the picker when opened.
#[component]
pub fn ResultItem(result: SearchResult, open: RwSignal<Option<String>>) -> impl IntoView {
    let key = format!("{}:{}", result.source.label(), result.id);
    let is_open = {
        let key = key.clone();
        Memo::new(move |_| open.with(|o| o.as_deref() == Some(key.as_str())))
    };
    let toggle = move |_| {
        let now = (!is_open.get_untracked()).then(|| key.clone());
        open.set(now);
    };
    let picker_id = format!("pick-{}", result.id.replace(['/', '.'], "-"));
    let action = match result.source {
        SearchSource::Huggingface => "Choose files",
        SearchSource::Civitai => "Choose version",
    };
    let numbers = format!(
        "{} downloads · {} likes",
        format::compact(result.downloads),
        format::compact(result.likes)
    );
    let picked = result.clone();
    view! {
        <li class="search-result" data-result-id=result.id.clone()>
            {result.preview_url.clone().map(|src| view! {
                <img class="search-result__preview" src=src alt="" loading="lazy" referrerpolicy="no-referrer" width="96" height="96" />
            })}
            <div class="search-result__body">
                <h4>{result.name.clone()}</h4>
                <p class="muted">
                    {result.source.label()}
                    {result.author.clone().map(|a| format!(" · by {a}"))}
                </p>
                <div class="model-card__head">
                    {result.model_type.map(|t| view! { <span class="badge badge--muted">{t.label()}</span> })}
                    {result.base_model.clone().map(|b| view! { <span class="badge">{b}</span> })}
                    {result.gated.then(|| view! { <span class="badge badge--warn" title="Needs a token">"Gated"</span> })}
                </div>
                <p class="search-result__numbers">{numbers}
                    {result.license.clone().map(|l| format!(" · licence: {l}"))}
                    {result.updated_at.clone().map(|d| format!(" · {}", format::date(&d)))}
                </p>
                <p><a href=result.page_url.clone() target="_blank" rel="noopener noreferrer">"Open on "{result.source.label()}</a></p>
                <button type="button" class="btn" aria-expanded=move || is_open.get().to_string()
                    aria-controls={
                        let id = picker_id.clone();
                        move || is_open.get().then(|| id.clone())
                    } on:click=toggle>{action}</button>
                <Show when=move || is_open.get()>
                    {
                        let result = picked.clone();
                        let id = picker_id.clone();
                        view! {
                            <div class="search-pick" id=id>
                                {match result.source {
                                    SearchSource::Huggingface => view! { <HubPicker result /> }.into_any(),
                                    SearchSource::Civitai => view! { <CivitaiPicker result /> }.into_any(),
                                }}
                            </div>
                        }
                    }
                </Show>
            </div>
        </li>
    }
}
