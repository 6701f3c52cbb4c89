use leptos::prelude::*;

use crate::{domain::Model, format};

/// One model in the catalog: name, family, type, size and whether it needs a token.
#[component]
pub fn ModelCard(model: Model) -> impl IntoView {
    let size = model
        .size_bytes
        .map(format::bytes)
        .unwrap_or_else(|| "size unknown".to_string());
    view! {
        <li class="model-card" data-model-id=model.id.clone()>
            <div class="model-card__head">
                <h3>{model.name.clone()}</h3>
                <span class="badge">{model.family.label()}</span>
                <span class="badge badge--muted">{model.model_type.label()}</span>
                {model.requires_token.then(|| view! { <span class="badge badge--warn">"Needs token"</span> })}
                {model.installed.then(|| view! { <span class="badge badge--ok">"Installed"</span> })}
            </div>
            <p class="model-card__desc">{model.description.clone()}</p>
            {model.repo.clone().map(|repo| view! { <p class="model-card__repo">{repo}</p> })}
            <p class="model-card__meta">{size}</p>
        </li>
    }
}
