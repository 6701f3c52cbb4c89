use leptos::{prelude::*, task::spawn_local};

use super::add_custom_model_form::split_list;
use crate::{
    domain::{AppError, RepoFile},
    format,
    server_fns::search::hub_repo_files,
    state::Hydrated,
};

/// The Add form's "List the repo's files": the repo's files with their sizes (the tree API),
/// ticking one writes it into the Files field (the main weights when the field is empty).
#[component]
pub fn RepoFileChoice(
    repo: RwSignal<String>,
    revision: RwSignal<String>,
    files: RwSignal<String>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let hydrated = Hydrated::get();
    let listing = RwSignal::new(None::<Vec<RepoFile>>);
    let busy = RwSignal::new(false);
    let list = move |_| {
        let rev = Some(revision.get_untracked().trim().to_string()).filter(|r| !r.is_empty());
        let name = repo.get_untracked().trim().to_string();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match hub_repo_files(name, rev).await {
                Ok(found) => {
                    if split_list(&files.get_untracked(), &['\n', ',']).is_empty() {
                        let main: Vec<String> = found
                            .files
                            .iter()
                            .filter(|f| f.preselected)
                            .map(|f| f.path.clone())
                            .collect();
                        files.set(main.join("\n"));
                    }
                    listing.set(Some(found.files));
                }
                // Said under the Repository field, whatever the server named.
                Err(e) => error.set(Some(AppError {
                    field: Some("huggingfaceRepo".into()),
                    ..e
                })),
            }
            busy.set(false);
        });
    };
    let row = move |f: RepoFile| {
        let path = f.path.clone();
        let checked = {
            let path = path.clone();
            move || split_list(&files.get(), &['\n', ',']).contains(&path)
        };
        let toggle = move |ev| {
            let on = event_target_checked(&ev);
            let mut list = split_list(&files.get_untracked(), &['\n', ',']);
            list.retain(|p| p != &path);
            if on {
                list.push(path.clone());
            }
            files.set(list.join("\n"));
        };
        let size = f
            .size_bytes
            .map(format::bytes)
            .unwrap_or_else(|| "size unknown".into());
        view! {
            <li><label>
                <input type="checkbox" prop:checked=checked on:change=toggle />
                <code>{f.path}</code>" · "{size}
            </label></li>
        }
    };
    view! {
        <div class="form__actions">
            <button type="button" class="btn" disabled=move || busy.get() || hydrated.not_yet()
                on:click=list>{move || if busy.get() { "Listing…" } else { "List the repo's files" }}</button>
        </div>
        {move || listing.get().map(|all| view! {
            <fieldset class="search-pick__files repo-files">
                <legend>"Files of the repo"</legend>
                <ul>{all.into_iter().map(row).collect_view()}</ul>
            </fieldset>
        })}
    }
}
