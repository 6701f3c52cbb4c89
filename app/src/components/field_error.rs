use leptos::prelude::*;

use crate::domain::AppError;

/// The server's message for `field`, shown under that field when `error` is about it.
#[component]
pub fn FieldError(error: RwSignal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| e.field.as_deref() == Some(field))
            .map(|e| view! { <p class="field__error" role="alert">{e.message}</p> })
    }
}
