use leptos::prelude::*;

use crate::{
    components::ModelCard,
    domain::{ModelFamily, ModelFilter},
    server_fns::models::list_models,
};

/// The Models page: the catalog, filtered by family through a server function.
#[component]
pub fn ModelsPage() -> impl IntoView {
    let family = RwSignal::new(None::<ModelFamily>);
    let models = Resource::new(
        move || family.get(),
        |family| {
            list_models(ModelFilter {
                family,
                ..Default::default()
            })
        },
    );
    // Effects run only in the browser, so this marks the page as hydrated for tests and CSS.
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));

    let chip = move |label: &'static str, value: Option<ModelFamily>| {
        view! {
            <button
                type="button"
                class="chip"
                aria-pressed=move || (family.get() == value).to_string()
                on:click=move |_| family.set(value)
            >
                {label}
            </button>
        }
    };

    view! {
        <section class="models" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Models"</h1>
            <div class="chips" role="group" aria-label="Filter by family">
                {chip("All", None)}
                {ModelFamily::ALL.map(|f| chip(f.label(), Some(f))).to_vec()}
            </div>
            <Transition fallback=|| view! { <p class="empty">"Loading models…"</p> }>
                {move || Suspend::new(async move {
                    match models.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="empty">"No models match this filter."</p> }.into_any()
                        }
                        Ok(list) => {
                            let count = list.len();
                            view! {
                                <p class="count" aria-live="polite">{format!("{count} models")}</p>
                                <ul class="model-list">
                                    {list.into_iter().map(|model| view! { <ModelCard model /> }).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! { <p class="error" role="alert">{err.message}</p> }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
