use leptos::prelude::*;

use crate::domain::AppError;

/// The id of the message shown under the field whose wire name is `field`.
pub fn error_id(field: &str) -> String {
    format!("{field}-error")
}

/// For the field's input: `aria-describedby` naming its error while there is one, so screen
/// readers read the message with the field.
pub fn described_by(
    error: RwSignal<Option<AppError>>,
    field: &'static str,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    move || {
        error
            .with(|e| {
                e.as_ref()
                    .is_some_and(|e| e.field.as_deref() == Some(field))
            })
            .then(|| error_id(field))
    }
}

/// The server's message for `field`, shown under that field when `error` is about it.
#[component]
pub fn FieldError(error: RwSignal<Option<AppError>>, field: &'static str) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| e.field.as_deref() == Some(field))
            .map(|e| view! { <p class="field__error" id=error_id(field) role="alert">{e.message}</p> })
    }
}
