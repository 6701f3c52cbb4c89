use leptos::prelude::*;

use super::add::{AddActions, AddState};
use crate::{
    components::wire_options,
    domain::{
        family_of_base, from_wire, to_wire, AddModelRequest, ModelFamily, ModelType, RepoFile,
        SearchResult, SearchSource,
    },
    format,
    server_fns::search::hub_repo_files,
};

/// A Hub repo's files with their sizes (the tree API), the main weights ticked; type and family
/// prefilled from what the Hub says; then Add or Add and download.
#[component]
pub fn HubPicker(result: SearchResult) -> impl IntoView {
    let repo = result.id.clone();
    // Asked when the picker opens, in the browser only: nothing to carry in the page's HTML.
    let files = LocalResource::new({
        let repo = repo.clone();
        move || hub_repo_files(repo.clone(), None)
    });
    let picked = RwSignal::new(Vec::<String>::new());
    let model_type = RwSignal::new(to_wire(&result.model_type.unwrap_or(ModelType::BaseModel)));
    let family = RwSignal::new(to_wire(
        &result
            .base_model
            .as_deref()
            .map(family_of_base)
            .unwrap_or(ModelFamily::Custom),
    ));
    let state = AddState::new();
    let prefix = format!("hub-{}", repo.replace(['/', '.'], "-"));
    let blocked = Signal::derive(move || {
        picked
            .with(Vec::is_empty)
            .then_some("Tick at least one file to add.")
    });
    let on_add = Callback::new({
        let repo = repo.clone();
        move |download: bool| {
            let request = AddModelRequest {
                name: repo.rsplit('/').next().map(str::to_string),
                model_type: from_wire(&model_type.get_untracked()),
                family: from_wire(&family.get_untracked()),
                huggingface_repo: Some(repo.clone()),
                huggingface_files: Some(picked.get_untracked()),
                ..Default::default()
            };
            state.add(SearchSource::Huggingface, request, download);
        }
    });
    let list = move |all: Vec<RepoFile>| {
        if picked.with_untracked(Vec::is_empty) {
            picked.set(
                all.iter()
                    .filter(|f| f.preselected)
                    .map(|f| f.path.clone())
                    .collect(),
            );
        }
        view! {
            <fieldset class="search-pick__files">
                <legend>"Files"</legend>
                <ul>
                    {all.into_iter().map(|f| {
                        let path = f.path.clone();
                        let checked = {
                            let path = path.clone();
                            move || picked.with(|p| p.contains(&path))
                        };
                        let toggle = {
                            let path = path.clone();
                            move |ev| {
                                let on = event_target_checked(&ev);
                                picked.update(|p| {
                                    p.retain(|x| x != &path);
                                    if on { p.push(path.clone()); }
                                });
                            }
                        };
                        view! {
                            <li><label>
                                <input type="checkbox" prop:checked=checked on:change=toggle />
                                <code>{f.path}</code>
                                " · "{f.size_bytes.map(format::bytes).unwrap_or_else(|| "size unknown".into())}
                            </label></li>
                        }
                    }).collect_view()}
                </ul>
            </fieldset>
        }
        .into_any()
    };
    let total = move || {
        files.get().and_then(Result::ok).map(|all| {
            let bytes: u64 = all
                .files
                .iter()
                .filter(|f| picked.with(|p| p.contains(&f.path)))
                .filter_map(|f| f.size_bytes)
                .sum();
            format!(
                "{} picked, {}",
                format::count(picked.with(Vec::len), "file"),
                format::bytes(bytes)
            )
        })
    };
    view! {
        {move || match files.get() {
            None => view! { <p class="muted" role="status">"Listing the repo's files…"</p> }.into_any(),
            Some(Ok(all)) => list(all.files),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        }}
        <p class="muted">{total}</p>
        <div class="grid-2">
            <div class="field">
                <label for=format!("{prefix}-type")>"Type"</label>
                <select id=format!("{prefix}-type") prop:value=move || model_type.get() on:change=move |ev| model_type.set(event_target_value(&ev))>
                    {wire_options(ModelType::label, model_type.into())}
                </select>
            </div>
            <div class="field">
                <label for=format!("{prefix}-family")>"Family"</label>
                <select id=format!("{prefix}-family") prop:value=move || family.get() on:change=move |ev| family.set(event_target_value(&ev))>
                    {wire_options(ModelFamily::label, family.into())}
                </select>
            </div>
        </div>
        <AddActions state source=SearchSource::Huggingface ask_token=result.gated blocked on_add id_prefix=prefix.clone() />
    }
}
