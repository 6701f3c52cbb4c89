use leptos::prelude::*;
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};

use crate::{
    components::{
        AddCustomModelForm, Duplicates, InstalledCard, MissingCard, ModelCard, VolumeScan,
    },
    domain::{from_wire, to_wire, ModelFamily, ModelFilter, ModelType},
    format,
    server_fns::models::{list_installed, list_models},
    state::Downloads,
};

/// Which tab the URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Available,
    Installed,
    Add,
}

impl Tab {
    pub fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("installed") => Tab::Installed,
            Some("add") => Tab::Add,
            _ => Tab::Available,
        }
    }
}

/// Filters from the URL's query (`q`, `family`, `type`, `installed`); bad values are ignored.
pub fn filter_from_query(get: impl Fn(&str) -> Option<String>) -> ModelFilter {
    ModelFilter {
        query: get("q").filter(|q| !q.trim().is_empty()),
        family: get("family").and_then(|v| from_wire(&v)),
        model_type: get("type").and_then(|v| from_wire(&v)),
        installed: get("installed").and_then(|v| match v.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }),
    }
}

/// The Models page: Available, Installed and Add custom tabs; tab and filters live in the URL.
#[component]
pub fn ModelsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k));
    let tab = Memo::new(move |_| Tab::from_query(param("tab").as_deref()));
    // Effects run only in the browser, so this marks the page as hydrated for tests and CSS.
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));

    let tab_link = move |t: Tab, label: &'static str, value: &'static str| {
        view! {
            <a href=format!("/?tab={value}") role="tab" class="tab"
                aria-selected=move || (tab.get() == t).to_string()>{label}</a>
        }
    };
    view! {
        <section class="models" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Models"</h1>
            <nav class="tabs" role="tablist" aria-label="Model views">
                {tab_link(Tab::Available, "Available", "available")}
                {tab_link(Tab::Installed, "Installed", "installed")}
                {tab_link(Tab::Add, "Add custom", "add")}
            </nav>
            {move || match tab.get() {
                Tab::Available => view! { <AvailableTab /> }.into_any(),
                Tab::Installed => view! { <InstalledTab /> }.into_any(),
                Tab::Add => view! { <section class="panel"><h2>"Add a custom model"</h2><AddCustomModelForm /></section> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn AvailableTab() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let downloads = Downloads::get();
    let filter = Memo::new(move |_| query.with(|q| filter_from_query(|k| q.get(k))));
    let models = Resource::new(
        move || (filter.get(), downloads.version.get()),
        |(f, _)| list_models(f),
    );

    // Writes one query parameter, keeping the others (and the tab) as they are.
    let set = move |key: &'static str, value: String| {
        let current = query.get_untracked();
        let keys = ["q", "family", "type", "installed"];
        let mut pairs: Vec<(&str, String)> = vec![("tab", "available".into())];
        for k in keys {
            let v = if k == key {
                value.clone()
            } else {
                current.get(k).unwrap_or_default()
            };
            pairs.push((k, v));
        }
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        navigate(
            &format!("/{}", format::query_string(&refs)),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let set_q = set.clone();
    let set_family = set.clone();
    let set_type = set.clone();
    let current = move |k: &'static str| query.with(|q| q.get(k).unwrap_or_default());

    view! {
        // With JavaScript off this is a plain GET form (the names are the URL's parameters).
        <form class="filters" role="search" method="get" action="/" on:submit=|ev| ev.prevent_default()>
            <input type="hidden" name="tab" value="available" />
            <div class="field">
                <label for="search">"Search"</label>
                <input id="search" name="q" type="search" placeholder="name, tag or repo"
                    prop:value=move || current("q")
                    on:input=move |ev| set_q("q", event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for="filter-family">"Family"</label>
                <select id="filter-family" name="family" on:change=move |ev| set_family("family", event_target_value(&ev))>
                    <option value="">"All families"</option>
                    {ModelFamily::ALL.map(|f| {
                        let v = to_wire(&f);
                        let vv = v.clone();
                        view! { <option value=v selected=move || current("family") == vv>{f.label()}</option> }
                    }).to_vec()}
                </select>
            </div>
            <div class="field">
                <label for="filter-type">"Type"</label>
                <select id="filter-type" name="type" on:change=move |ev| set_type("type", event_target_value(&ev))>
                    <option value="">"All types"</option>
                    {ModelType::ALL.map(|t| {
                        let v = to_wire(&t);
                        let vv = v.clone();
                        view! { <option value=v selected=move || current("type") == vv>{t.label()}</option> }
                    }).to_vec()}
                </select>
            </div>
            <div class="field">
                <label for="filter-installed">"State"</label>
                <select id="filter-installed" name="installed" on:change=move |ev| set("installed", event_target_value(&ev))>
                    <option value="">"Any"</option>
                    <option value="yes" selected=move || current("installed") == "yes">"Installed"</option>
                    <option value="no" selected=move || current("installed") == "no">"Not installed"</option>
                </select>
            </div>
            <noscript><button type="submit" class="btn">"Apply filters"</button></noscript>
        </form>
        <Transition fallback=|| view! { <p class="empty">"Loading models…"</p> }>
            {move || Suspend::new(async move {
                match models.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"No models match these filters."</p> }.into_any(),
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
                    Err(err) => view! { <p class="error" role="alert">{err.message}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn InstalledTab() -> impl IntoView {
    let downloads = Downloads::get();
    let installed = Resource::new(move || downloads.version.get(), |_| list_installed());
    // The scan comes first: the downloads panel floats over the bottom of the page.
    view! {
        <VolumeScan />
        <Transition fallback=|| view! { <p class="empty">"Loading installed models…"</p> }>
            {move || Suspend::new(async move {
                match installed.await {
                    Ok(list) => {
                        let used = list.total_disk_usage;
                        let free = list.disk_free;
                        let pct = format::percent(used, Some(used + free));
                        view! {
                            <section class="disk" aria-label="Disk usage">
                                <div class="disk__numbers">
                                    <span><strong>{format::bytes(used)}</strong>" used by models"</span>
                                    <span><strong>{format::bytes(free)}</strong>" free on the volume"</span>
                                </div>
                                <div class="bar bar--disk" role="img" aria-label=format!("{pct:.0}% of the space models could use is used")>
                                    <div class="bar__fill" style=format!("width:{pct:.1}%")></div>
                                </div>
                            </section>
                            <Duplicates groups=list.duplicates saved=list.disk_saved />
                            {(!list.missing.is_empty()).then(|| view! {
                                <h2>"Missing models"</h2>
                                <ul class="model-list missing-list">
                                    {list.missing.into_iter().map(|model| view! { <MissingCard model /> }).collect_view()}
                                </ul>
                            }.into_any())}
                            {if list.models.is_empty() {
                                view! { <p class="empty">"Nothing installed yet. "<a href="/?tab=available">"Browse the available models"</a></p> }.into_any()
                            } else {
                                view! {
                                    <ul class="model-list">
                                        {list.models.into_iter().map(|model| view! { <InstalledCard model /> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        }
                        .into_any()
                    }
                    Err(err) => view! { <p class="error" role="alert">{err.message}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_carries_tab_and_filters() {
        assert_eq!(Tab::from_query(Some("installed")), Tab::Installed);
        assert_eq!(Tab::from_query(Some("nonsense")), Tab::Available);
        let f = filter_from_query(|k| match k {
            "q" => Some("turbo".into()),
            "family" => Some("sdxl".into()),
            "type" => Some("bogus".into()),
            "installed" => Some("no".into()),
            _ => None,
        });
        assert_eq!(f.query.as_deref(), Some("turbo"));
        assert_eq!(f.family, Some(ModelFamily::Sdxl));
        assert_eq!(f.model_type, None);
        assert_eq!(f.installed, Some(false));
    }
}
