use leptos::{prelude::*, task::spawn_local};

use super::{described_by, wire_options, FieldError};
use crate::{
    components::add_custom_model_form::split_list,
    domain::{from_wire, to_wire, AppError, CustomModelEdit, Model, ModelFamily, ModelType},
    lazy_views::lazily,
    server_fns::models::{remove_custom_model, update_custom_model},
    state::{focus_id, Downloads, Hydrated},
};

/// Edit and Remove for a custom model on its card (not shown once it is installed).
#[component]
pub fn CustomModelActions(model: Model) -> impl IntoView {
    let downloads = Downloads::get();
    let hydrated = Hydrated::get();
    let editing = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let remove_button = NodeRef::<leptos::html::Button>::new();
    let yes_button = NodeRef::<leptos::html::Button>::new();
    let id = StoredValue::new(model.id.clone());
    // Closing the edit form (Save, Cancel, Escape) gives focus back to Edit.
    let edit_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |was_editing: Option<bool>| {
        let now = editing.get();
        if was_editing == Some(true) && !now {
            // Not when the card itself was made anew (a save that changed the list).
            request_animation_frame(move || {
                if let Some(b) = edit_button.try_get_untracked().flatten() {
                    let _ = b.focus();
                }
            });
        }
        now
    });
    // The confirmation takes focus when it opens.
    Effect::new(move || {
        if confirming.get() {
            if let Some(b) = yes_button.get() {
                let _ = b.focus();
            }
        }
    });

    let cancel_remove = move || {
        confirming.set(false);
        request_animation_frame(move || {
            if let Some(b) = remove_button.get_untracked() {
                let _ = b.focus();
            }
        });
    };
    let remove = move |_| {
        spawn_local(async move {
            match remove_custom_model(id.get_value()).await {
                Ok(()) => {
                    focus_id("tab-panel");
                    downloads.changed();
                }
                Err(e) => error.set(Some(e)),
            }
            confirming.set(false);
        });
    };
    let general_error = move || {
        error
            .get()
            .filter(|e| e.field.is_none() || e.field.as_deref() == Some("id"))
            .map(|e| view! { <p class="error" role="alert">{e.message}</p> })
    };
    view! {
        <Show when=move || editing.get() fallback=move || view! {
            <button type="button" class="btn" disabled=move || hydrated.not_yet() node_ref=edit_button
                on:click=move |_| { error.set(None); editing.set(true) }>"Edit"</button>
            <Show when=move || confirming.get() fallback=move || view! {
                <button type="button" class="btn btn--danger" node_ref=remove_button
                    disabled=move || hydrated.not_yet() on:click=move |_| confirming.set(true)>"Remove"</button>
            }>
                <span class="confirm" role="group" aria-label="Confirm remove"
                    on:keydown=move |ev| if ev.key() == "Escape" { cancel_remove() }>
                    "Remove from the list?"
                    <button type="button" class="btn btn--danger" node_ref=yes_button on:click=remove>"Yes, remove"</button>
                    <button type="button" class="btn" on:click=move |_| cancel_remove()>"Keep"</button>
                </span>
            </Show>
        }>
            {
                let model = model.clone();
                lazily(move || edit_form(model.clone(), editing, error))
            }
        </Show>
        {general_error}
    }
}

/// The edit form is a lazily loaded WASM chunk, fetched at the first "Edit".
#[lazy]
fn edit_form(model: Model, editing: RwSignal<bool>, error: RwSignal<Option<AppError>>) -> AnyView {
    view! { <EditForm model editing error /> }.into_any()
}

/// The inline form: name, type, family, tags and description, saved with `PATCH` semantics.
#[component]
fn EditForm(
    model: Model,
    editing: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let downloads = Downloads::get();
    let prefix = format!("edit-{}", model.id);
    let name = RwSignal::new(model.name.clone());
    let model_type = RwSignal::new(to_wire(&model.model_type));
    let family = RwSignal::new(to_wire(&model.family));
    let tags = RwSignal::new(model.tags.join(", "));
    let description = RwSignal::new(model.description.clone());
    let busy = RwSignal::new(false);
    let id = model.id.clone();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let update = CustomModelEdit {
            name: name.get_untracked(),
            description: description.get_untracked(),
            tags: split_list(&tags.get_untracked(), &[',']),
            model_type: from_wire(&model_type.get_untracked()),
            family: from_wire(&family.get_untracked()),
        };
        let id = id.clone();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let outcome = update_custom_model(id, update).await;
            // Before the form closes: closing it disposes `busy` with the form.
            busy.set(false);
            match outcome {
                Ok(_) => {
                    editing.set(false);
                    downloads.changed();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let field_id = move |f: &str| format!("{prefix}-{f}");
    // Opening the form puts the cursor in its first field.
    let first = NodeRef::<leptos::html::Input>::new();
    // (On the next frame: the form is built before its chunk's Suspense puts it on the page.)
    Effect::new(move || {
        if first.get().is_some() {
            request_animation_frame(move || {
                if let Some(input) = first.try_get_untracked().flatten() {
                    let _ = input.focus();
                }
            });
        }
    });
    view! {
        // Escape leaves the form without saving, like Cancel.
        <form class="form edit-form" on:submit=save aria-label=format!("Edit {}", model.name)
            on:keydown=move |ev| if ev.key() == "Escape" { error.set(None); editing.set(false) }>
            <div class="field">
                <label for=field_id("name")>"Name"</label>
                <input id=field_id("name") type="text" node_ref=first prop:value=move || name.get()
                    aria-describedby=described_by(error, "name")
                    on:input=move |ev| name.set(event_target_value(&ev)) />
                <FieldError error field="name" />
            </div>
            <div class="grid-2">
                <div class="field">
                    <label for=field_id("type")>"Type"</label>
                    <select id=field_id("type") prop:value=move || model_type.get()
                        on:change=move |ev| model_type.set(event_target_value(&ev))>
                        {wire_options(ModelType::label, model_type.into())}
                    </select>
                </div>
                <div class="field">
                    <label for=field_id("family")>"Family"</label>
                    <select id=field_id("family") prop:value=move || family.get()
                        on:change=move |ev| family.set(event_target_value(&ev))>
                        {wire_options(ModelFamily::label, family.into())}
                    </select>
                </div>
            </div>
            <div class="field">
                <label for=field_id("tags")>"Tags (comma-separated)"</label>
                <input id=field_id("tags") type="text" prop:value=move || tags.get()
                    aria-describedby=described_by(error, "tags")
                    on:input=move |ev| tags.set(event_target_value(&ev)) />
                <FieldError error field="tags" />
            </div>
            <div class="field">
                <label for=field_id("description")>"Description"</label>
                <textarea id=field_id("description") rows="2" prop:value=move || description.get()
                    aria-describedby=described_by(error, "description")
                    on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                <FieldError error field="description" />
            </div>
            <div class="form__actions">
                <button type="submit" class="btn btn--primary" disabled=move || busy.get()>"Save"</button>
                <button type="button" class="btn" on:click=move |_| { error.set(None); editing.set(false) }>"Cancel"</button>
            </div>
        </form>
    }
}
