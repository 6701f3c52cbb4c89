//! What both pickers do last: add the model, then start its download when asked, through the
//! same server functions as the Add form and the cards.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    domain::{AddModelRequest, AppError, DownloadRequest, SearchSource},
    server_fns::models::{add_custom_model, start_download},
    state::{Downloads, Hydrated},
};

/// Where a picker shows how adding went.
#[derive(Clone, Copy)]
pub struct AddState {
    pub busy: RwSignal<bool>,
    pub error: RwSignal<Option<AppError>>,
    pub done: RwSignal<Option<String>>,
    /// The token field's value: sent with the add (checked against the site) and the download.
    pub token: RwSignal<String>,
}

impl AddState {
    pub fn new() -> Self {
        Self {
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
            done: RwSignal::new(None),
            token: RwSignal::new(String::new()),
        }
    }

    /// Adds `request` (with the token for `source`) and downloads it when `download`.
    pub fn add(self, source: SearchSource, mut request: AddModelRequest, download: bool) {
        let downloads = Downloads::get();
        let token = Some(self.token.get_untracked().trim().to_string()).filter(|t| !t.is_empty());
        let mut start = DownloadRequest::default();
        match source {
            SearchSource::Huggingface => {
                request.huggingface_token = token.clone();
                start.huggingface_token = token;
            }
            SearchSource::Civitai => {
                request.civitai_token = token.clone();
                start.civitai_token = token;
            }
        }
        self.busy.set(true);
        self.error.set(None);
        self.done.set(None);
        spawn_local(async move {
            let outcome = async {
                let added = add_custom_model(request).await?;
                let model = added.model;
                downloads.changed();
                let message = if download {
                    start.model_id = model.id.clone();
                    start_download(start).await?;
                    downloads.poll();
                    format!(
                        "Added {} and started its download (see Downloads).",
                        model.name
                    )
                } else {
                    format!("Added {}. Download it from the Available tab.", model.name)
                };
                // The file is already on the volume: said, as the Add form says it.
                Ok::<_, AppError>(match added.already_installed {
                    Some(note) => format!("{message} Note: {note}"),
                    None => message,
                })
            };
            match outcome.await {
                Ok(message) => {
                    self.token.set(String::new());
                    self.done.set(Some(message));
                }
                Err(e) => self.error.set(Some(e)),
            }
            self.busy.set(false);
        });
    }
}

/// The token field, the outcome, and the two buttons.
#[component]
pub fn AddActions(
    state: AddState,
    source: SearchSource,
    /// Show the token field (a gated repo; always offered for CivitAI, optional).
    ask_token: bool,
    /// Why adding is not possible yet (nothing picked), if so.
    blocked: Signal<Option<&'static str>>,
    on_add: Callback<bool>,
    id_prefix: String,
) -> impl IntoView {
    let hydrated = Hydrated::get();
    let token_id = format!("{id_prefix}-token");
    let (label, hint) = match source {
        SearchSource::Huggingface => (
            "Hugging Face token",
            "needed: this repo is gated; used once, never stored",
        ),
        SearchSource::Civitai => ("CivitAI API key", "optional; used once, never stored"),
    };
    let disabled = move || state.busy.get() || hydrated.not_yet() || blocked.with(Option::is_some);
    view! {
        {ask_token.then(|| view! {
            <div class="field">
                <label for=token_id.clone()>{label}</label>
                <input id=token_id.clone() type="password" autocomplete="off" placeholder=hint
                    prop:value=move || state.token.get() on:input=move |ev| state.token.set(event_target_value(&ev)) />
            </div>
        })}
        {move || blocked.get().map(|why| view! { <p class="muted">{why}</p> })}
        {move || state.error.get().map(|e| view! { <p class="error" role="alert">{e.message}</p> })}
        {move || state.done.get().map(|m| view! { <p class="success" role="status">{m}</p> })}
        <div class="form__actions">
            <button type="button" class="btn" disabled=disabled on:click=move |_| on_add.run(false)>"Add"</button>
            <button type="button" class="btn btn--primary" disabled=disabled on:click=move |_| on_add.run(true)>"Add and download"</button>
        </div>
    }
}
