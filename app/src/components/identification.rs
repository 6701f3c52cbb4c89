use leptos::prelude::*;

use crate::domain::{Confidence, Identification};

/// What a file's header says it is: kind and family, confidence, and the evidence behind it.
#[component]
pub fn IdentificationView(identification: Identification) -> impl IntoView {
    let confidence = match identification.confidence {
        Confidence::High => "sure",
        Confidence::Medium => "likely",
        Confidence::Low => "a guess",
        Confidence::None => "not identified",
    };
    let evidence = identification.evidence.clone();
    view! {
        <details class="identification" data-kind=crate::domain::to_wire(&identification.kind)>
            <summary>
                <span class="badge badge--muted">{identification.summary()}</span>
                " " <span class="muted">{confidence}</span>
            </summary>
            <ul class="identification__evidence">
                {evidence.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
            </ul>
        </details>
    }
}

/// The warnings of a model's files (a LoRA added as a base model), shown on its card.
#[component]
pub fn IdentificationWarnings(warnings: Vec<String>) -> impl IntoView {
    (!warnings.is_empty()).then(|| {
        view! {
            <ul class="warnings identification__warnings" role="note">
                {warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
            </ul>
        }
    })
}

/// A LoRA's trigger words from its metadata, with a copy button and a link that prefills
/// the Export page.
#[component]
pub fn TriggerWords(words: Vec<String>) -> impl IntoView {
    let text = words.join(", ");
    let copied = RwSignal::new(false);
    let copy = {
        let text = text.clone();
        move |_| copied.set(crate::clipboard::copy(&text))
    };
    let first = words.first().cloned().unwrap_or_default();
    let export = format!(
        "/export{}",
        crate::format::query_string(&[("trigger", first.as_str())])
    );
    view! {
        <p class="trigger-words">
            "Trigger words: "
            {words.into_iter().map(|w| view! { <code class="trigger-words__word">{w}</code>" " }).collect_view()}
            <button type="button" class="btn btn--small" on:click=copy aria-label=format!("Copy the trigger words: {text}")>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
            " " <a href=export>"Use in Export"</a>
        </p>
    }
}
