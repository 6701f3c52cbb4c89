//! The Add tab's search of Hugging Face and CivitAI: a query with source, type, base model and
//! sort, sent on submit (never per keystroke); results with preview, downloads, likes, base
//! model and licence; a result opens a picker (a Hub repo's files, a CivitAI model's versions)
//! that adds the model, and downloads it if asked, through the ordinary add and download calls.

mod add;
mod civitai_pick;
mod hub_pick;
mod result;

use leptos::{prelude::*, task::spawn_local};

use super::wire_options;
use crate::{
    domain::{from_wire, AppError, ModelType, SearchQuery, SearchResult, SearchSort, BASE_MODELS},
    format,
    server_fns::search::search_models,
    state::Hydrated,
};
use result::ResultItem;

/// The search form and its results.
#[component]
pub fn SearchPanel() -> impl IntoView {
    let hydrated = Hydrated::get();
    let source = RwSignal::new(String::from("hf"));
    let text = RwSignal::new(String::new());
    let model_type = RwSignal::new(String::new());
    let base = RwSignal::new(String::new());
    let sort = RwSignal::new(String::from("downloads"));
    let results = RwSignal::new(Vec::<SearchResult>::new());
    let next = RwSignal::new(None::<String>);
    let hidden = RwSignal::new(0u32);
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let searched = RwSignal::new(false);
    // The result whose picker is open ("hf:owner/name", "civitai:4384").
    let open = RwSignal::new(None::<String>);

    let query = move |cursor: Option<String>| SearchQuery {
        source: from_wire(&source.get_untracked()).unwrap_or_default(),
        q: text.get_untracked(),
        model_type: from_wire::<ModelType>(&model_type.get_untracked()),
        base_model: Some(base.get_untracked()).filter(|b| !b.is_empty()),
        sort: from_wire(&sort.get_untracked()).unwrap_or_default(),
        cursor,
    };
    let run = move |cursor: Option<String>| {
        let more = cursor.is_some();
        busy.set(true);
        error.set(None);
        if !more {
            open.set(None);
        }
        spawn_local(async move {
            match search_models(query(cursor)).await {
                Ok(page) => {
                    if more {
                        results.update(|r| r.extend(page.results));
                    } else {
                        results.set(page.results);
                    }
                    next.set(page.next_cursor);
                    hidden.set(page.hidden_nsfw);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            searched.set(true);
        });
    };
    let select = move |id: &'static str,
                       label: &'static str,
                       signal: RwSignal<String>,
                       options: AnyView| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <select id=id prop:value=move || signal.get() on:change=move |ev| signal.set(event_target_value(&ev))>
                    {options}
                </select>
            </div>
        }
    };
    let summary = move || {
        let n = results.with(Vec::len);
        let hidden = hidden.get();
        let more = if next.with(Option::is_some) {
            " (more below)"
        } else {
            ""
        };
        let nsfw = match hidden {
            0 => String::new(),
            h => format!(
                " · {} hidden as not safe for work",
                format::count(h as usize, "result")
            ),
        };
        format!("{}{more}{nsfw}", format::count(n, "result"))
    };

    view! {
        <section class="search" aria-labelledby="search-heading">
            <h3 id="search-heading">"Search Hugging Face and CivitAI"</h3>
            <form class="search__form" role="search" novalidate
                on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); run(None) }>
                <div class="field search__text">
                    <label for="search-q">"Search for"</label>
                    <input id="search-q" type="search" placeholder="flux lora, sdxl anime, qwen…"
                        prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
                </div>
                {select("search-source", "Source", source, view! {
                    <option value="hf">"Hugging Face Hub"</option>
                    <option value="civitai">"CivitAI (safe for work)"</option>
                }.into_any())}
                {select("search-type", "Type", model_type, view! {
                    <option value="">"Any type"</option>
                    {wire_options(ModelType::label, model_type.into())}
                }.into_any())}
                {select("search-base", "Base model", base, view! {
                    <option value="">"Any base model"</option>
                    {BASE_MODELS.iter().map(|(name, _)| view! { <option value=*name>{*name}</option> }).collect_view()}
                }.into_any())}
                {select("search-sort", "Sort", sort, wire_options(SearchSort::label, sort.into()).into_any())}
                <div class="form__actions">
                    <button type="submit" class="btn btn--primary" disabled=move || busy.get() || hydrated.not_yet()>
                        {move || if busy.get() { "Searching…" } else { "Search" }}
                    </button>
                </div>
            </form>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
            <Show when=move || searched.get()>
                <p class="search__summary muted" role="status">{summary}</p>
            </Show>
            <ul class="search-results">
                <For each=move || results.get() key=|r| format!("{}:{}", r.source.label(), r.id) let:result>
                    <ResultItem result open />
                </For>
            </ul>
            <Show when=move || next.with(Option::is_some)>
                <button type="button" class="btn" disabled=move || busy.get()
                    on:click=move |_| run(next.get_untracked())>"More results"</button>
            </Show>
        </section>
    }
}
