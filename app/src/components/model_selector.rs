use leptos::prelude::*;

use crate::{
    domain::{InstalledModel, ModelFamily, ModelType},
    server_fns::models::list_installed,
    state::Downloads,
};

/// Installed models that pass the type and family filters, newest install first.
pub fn matching(
    models: &[InstalledModel],
    model_type: Option<ModelType>,
    family: Option<ModelFamily>,
) -> Vec<InstalledModel> {
    let mut out: Vec<InstalledModel> = models
        .iter()
        .filter(|m| model_type.is_none_or(|t| t == m.model_type))
        .filter(|m| family.is_none_or(|f| f == m.family))
        .cloned()
        .collect();
    out.sort_by(|a, b| b.installed_at.cmp(&a.installed_at));
    out
}

/// A dropdown of installed models, reusable wherever a model is picked (the export page).
/// `on_change` gets the id and the model (or `None` for "no model").
#[component]
pub fn ModelSelector(
    #[prop(optional)] model_type: Option<ModelType>,
    #[prop(optional)] model_family: Option<ModelFamily>,
    #[prop(into)] value: RwSignal<Option<String>>,
    #[prop(optional, into)] on_change: Option<Callback<(Option<String>, Option<InstalledModel>)>>,
    #[prop(into)] label: String,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let downloads = Downloads::get();
    let installed = Resource::new(move || downloads.version.get(), |_| list_installed());
    let id = "model-selector";
    view! {
        <div class="field">
            <label for=id>{label}{required.then_some(" *")}</label>
            <Transition fallback=|| view! { <p class="muted">"Loading installed models…"</p> }>
                {move || Suspend::new(async move {
                    let models = match installed.await {
                        Ok(list) => matching(&list.models, model_type, model_family),
                        Err(e) => return view! { <p class="error">{e.message}</p> }.into_any(),
                    };
                    if models.is_empty() {
                        return view! {
                            <p class="empty" id=id>
                                "No installed model fits here yet. "
                                <a href="/?tab=available&type=base_model">"Download one from the Available tab"</a>
                            </p>
                        }
                        .into_any();
                    }
                    let lookup = models.clone();
                    view! {
                        <select id=id required=required
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                let chosen = (!v.is_empty()).then_some(v);
                                value.set(chosen.clone());
                                if let Some(cb) = on_change {
                                    let model = chosen.as_ref().and_then(|c| lookup.iter().find(|m| &m.id == c).cloned());
                                    cb.run((chosen, model));
                                }
                            }>
                            <option value="" selected=move || value.get().is_none()>{if required { "Choose a model" } else { "No model (set it in AI Toolkit later)" }}</option>
                            {models.into_iter().map(|m| {
                                let mid = m.id.clone();
                                view! {
                                    <option value=m.id.clone() selected=move || value.get().as_deref() == Some(mid.as_str())>
                                        {format!("{} ({}, {})", m.name, m.family.label(), crate::format::bytes(m.total_size_bytes))}
                                    </option>
                                }
                            }).collect_view()}
                        </select>
                    }
                    .into_any()
                })}
            </Transition>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SourceType;

    fn m(id: &str, t: ModelType, f: ModelFamily, at: &str) -> InstalledModel {
        InstalledModel {
            id: id.into(),
            source_model_id: None,
            name: id.into(),
            family: f,
            model_type: t,
            files: vec![],
            total_size_bytes: 0,
            installed_at: at.into(),
            source: SourceType::Upload,
            last_verification: None,
            civitai: None,
        }
    }

    #[test]
    fn filters_by_type_and_family_newest_first() {
        let all = [
            m(
                "a",
                ModelType::BaseModel,
                ModelFamily::Flux,
                "2026-01-01T00:00:00Z",
            ),
            m(
                "b",
                ModelType::Lora,
                ModelFamily::Flux,
                "2026-01-02T00:00:00Z",
            ),
            m(
                "c",
                ModelType::BaseModel,
                ModelFamily::Sdxl,
                "2026-01-03T00:00:00Z",
            ),
        ];
        let ids = |v: Vec<InstalledModel>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(
            ids(matching(&all, Some(ModelType::BaseModel), None)),
            ["c", "a"]
        );
        assert_eq!(
            ids(matching(&all, None, Some(ModelFamily::Flux))),
            ["b", "a"]
        );
        assert_eq!(
            ids(matching(&all, Some(ModelType::Vae), None)),
            Vec::<String>::new()
        );
    }
}
