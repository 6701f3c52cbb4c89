use leptos::prelude::*;

use crate::domain::Wire;

/// `<option>`s for every value of a wire enum (model type, family), labelled by `label`; the
/// one whose wire word equals `selected` is marked. One home for the type and family pickers
/// of the filters, the Add form and the edit form.
pub fn wire_options<T: Wire>(
    label: fn(T) -> &'static str,
    selected: Signal<String>,
) -> impl IntoView {
    T::VARIANTS
        .iter()
        .map(move |&t| {
            let v = t.wire();
            view! { <option value=v selected=move || selected.with(|s| s == v)>{label(t)}</option> }
        })
        .collect_view()
}
