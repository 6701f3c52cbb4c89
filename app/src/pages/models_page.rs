use leptos::prelude::*;
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};

use crate::{
    components::{
        wire_options, AddCustomModelForm, Duplicates, InstalledCard, MissingCard, ModelCard,
        NsfwPreference, SearchPanel, VolumeScan,
    },
    domain::{from_wire, InstalledList, Model, ModelFamily, ModelFilter, ModelSort, ModelType},
    format,
    lazy_views::lazily,
    server_fns::models::{list_installed, list_models},
    state::{Downloads, Hydrated},
};

/// Which tab the URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Available,
    Installed,
    Add,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Available, Tab::Installed, Tab::Add];

    /// The URL's value.
    pub fn wire(self) -> &'static str {
        match self {
            Tab::Available => "available",
            Tab::Installed => "installed",
            Tab::Add => "add",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Available => "Available",
            Tab::Installed => "Installed",
            Tab::Add => "Add custom",
        }
    }

    /// The tab a key moves to from this one (WAI-ARIA tabs: arrows wrap, Home and End).
    pub fn after_key(self, key: &str) -> Option<Tab> {
        let i = Tab::ALL.iter().position(|t| *t == self)?;
        let n = Tab::ALL.len();
        let to = match key {
            "ArrowRight" => (i + 1) % n,
            "ArrowLeft" => (i + n - 1) % n,
            "Home" => 0,
            "End" => n - 1,
            _ => return None,
        };
        Some(Tab::ALL[to])
    }

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
/// The tabs follow the WAI-ARIA pattern: one tab stop, arrow keys, Home and End.
#[component]
pub fn ModelsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k));
    let tab = Memo::new(move |_| Tab::from_query(param("tab").as_deref()));
    let hydrated = Hydrated::get();
    let navigate = use_navigate();
    let refs = Tab::ALL.map(|_| NodeRef::<leptos::html::A>::new());
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let Some(to) = tab.get_untracked().after_key(&ev.key()) else {
            return;
        };
        ev.prevent_default();
        navigate(&format!("/?tab={}", to.wire()), NavigateOptions::default());
        let index = Tab::ALL.iter().position(|t| *t == to).unwrap_or(0);
        if let Some(a) = refs[index].get_untracked() {
            let _ = a.focus();
        }
    };
    let tab_link = move |t: Tab, node_ref: NodeRef<leptos::html::A>| {
        view! {
            <a href=format!("/?tab={}", t.wire()) role="tab" class="tab" id=format!("tab-{}", t.wire())
                node_ref=node_ref aria-controls="tab-panel"
                aria-selected=move || (tab.get() == t).to_string()
                tabindex=move || if tab.get() == t { "0" } else { "-1" }>{t.label()}</a>
        }
    };
    view! {
        <section class="models" data-hydrated=move || hydrated.yes().to_string()>
            <h1>"Models"</h1>
            <div class="tabs" role="tablist" aria-label="Model views" on:keydown=on_key>
                {Tab::ALL.into_iter().zip(refs).map(|(t, r)| tab_link(t, r)).collect_view()}
            </div>
            <div role="tabpanel" id="tab-panel" tabindex="-1"
                aria-labelledby=move || format!("tab-{}", tab.get().wire())>
                {move || match tab.get() {
                    Tab::Available => view! { <AvailableTab /> }.into_any(),
                    // The other tabs are separate WASM chunks, loaded when first shown.
                    Tab::Installed => lazily(installed_tab),
                    Tab::Add => lazily(add_tab),
                }}
            </div>
        </section>
    }
}

#[lazy]
pub(crate) fn installed_tab() -> AnyView {
    view! { <InstalledTab /> }.into_any()
}

#[lazy]
pub(crate) fn add_tab() -> AnyView {
    view! {
        <section class="panel">
            <h2>"Add a custom model"</h2>
            <SearchPanel />
            <h3>"Or give its source"</h3>
            <AddCustomModelForm />
        </section>
    }
    .into_any()
}

#[component]
fn AvailableTab() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let filter = Memo::new(move |_| query.with(|q| filter_from_query(|k| q.get(k))));
    let sort = Memo::new(move |_| {
        ModelSort::from_wire(&query.with(|q| q.get("sort")).unwrap_or_default())
    });
    // The whole list once, as the server rendered it (`AvailableList` follows later changes);
    // search, filters and sort run here, so typing sends no request.
    let first = Resource::new(|| (), |_| list_models(ModelFilter::default()));

    // Writes one query parameter, keeping the others (and the tab) as they are.
    let set = move |key: &'static str, value: String| {
        let current = query.get_untracked();
        let keys = ["q", "family", "type", "installed", "sort"];
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
    let set_sort = set.clone();
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
                    {wire_options(ModelFamily::label, Signal::derive(move || current("family")))}
                </select>
            </div>
            <div class="field">
                <label for="filter-type">"Type"</label>
                <select id="filter-type" name="type" on:change=move |ev| set_type("type", event_target_value(&ev))>
                    <option value="">"All types"</option>
                    {wire_options(ModelType::label, Signal::derive(move || current("type")))}
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
            <div class="field">
                <label for="sort">"Sort by"</label>
                <select id="sort" name="sort" on:change=move |ev| set_sort("sort", event_target_value(&ev))>
                    {ModelSort::ALL.into_iter().map(|s| {
                        view! { <option value=s.wire() selected=move || current("sort") == s.wire()>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <noscript><button type="submit" class="btn">"Apply filters"</button></noscript>
        </form>
        <Suspense fallback=|| view! { <p class="empty">"Loading models…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(all) => view! { <AvailableList all filter sort /> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The catalog, filtered and sorted in the page, kept current in place: the cards are keyed
/// (`card_key`), so a database change (a download finishing, another server) remakes only the
/// cards it changed, and a card keeps what the user was doing on it (a token being typed).
#[component]
fn AvailableList(
    all: Vec<Model>,
    filter: Memo<ModelFilter>,
    sort: Memo<ModelSort>,
) -> impl IntoView {
    let all = RwSignal::new(all);
    Downloads::get().follow(all, || list_models(ModelFilter::default()));
    let shown = Memo::new(move |_| {
        let f = filter.get();
        let mut list: Vec<Model> =
            all.with(|all| all.iter().filter(|m| f.matches(m)).cloned().collect());
        sort.get().apply(&mut list);
        list
    });
    view! {
        <Show when=move || shown.with(|l| !l.is_empty()) fallback=|| view! {
            <p class="empty">"No models match these filters. "
                <a class="btn btn--small" href="/?tab=available">"Clear filters"</a></p>
        }>
            <h2 class="visually-hidden">"Available models"</h2>
            <p class="count" aria-live="polite">{move || format::count(shown.with(Vec::len), "model")}</p>
            <ul class="model-list">
                <For each=move || shown.get() key=|m| card_key(&m.id, m) children=|model| view! { <ModelCard model /> } />
            </ul>
        </Show>
    }
}

#[component]
fn InstalledTab() -> impl IntoView {
    // The list the server renders (and the page hydrates from); later changes reach
    // `InstalledViews` as a signal, so the views are updated in place, not made anew.
    let first = Resource::new(|| (), |_| list_installed());
    // The scan comes first.
    view! {
        <VolumeScan />
        <Suspense fallback=|| view! { <p class="empty">"Loading installed models…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(list) => view! { <InstalledViews list /> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.message}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Disk usage, the NSFW preference, duplicates, missing models and the installed cards, kept
/// current: every database change (an install, another model's CivitAI lookup, another server)
/// refetches the list, and each part is made anew only when its own data changed; the cards are
/// keyed, so a card keeps what the user opened on it (a revealed preview, a verify result).
#[component]
fn InstalledViews(list: InstalledList) -> impl IntoView {
    let list = RwSignal::new(list);
    Downloads::get().follow(list, list_installed);
    let show_nsfw = Memo::new(move |_| list.with(|l| l.show_nsfw_previews));
    let duplicates = Memo::new(move |_| list.with(|l| (l.duplicates.clone(), l.disk_saved)));
    let missing = Memo::new(move |_| list.with(|l| l.missing.clone()));
    let disk = move || {
        let (used, free) = list.with(|l| (l.total_disk_usage, l.disk_free));
        let pct = format::percent(used, Some(used + free));
        view! {
            <div class="disk__numbers">
                <span><strong>{format::bytes(used)}</strong>" used by models"</span>
                <span><strong>{format::bytes(free)}</strong>" free on the volume"</span>
            </div>
            <div class="bar bar--disk" role="img" aria-label=format!("{pct:.0}% of the space models could use is used")>
                <div class="bar__fill" style=format!("width:{pct:.1}%")></div>
            </div>
        }
    };
    view! {
        <section class="disk" aria-label="Disk usage">{disk}</section>
        {move || view! { <NsfwPreference show=show_nsfw.get() /> }}
        {move || {
            let (groups, saved) = duplicates.get();
            view! { <Duplicates groups saved /> }
        }}
        {move || (!missing.with(Vec::is_empty)).then(|| view! {
            <h2>"Missing models"</h2>
            <ul class="model-list missing-list">
                {missing.get().into_iter().map(|model| view! { <MissingCard model /> }).collect_view()}
            </ul>
        })}
        <Show when=move || list.with(|l| !l.models.is_empty()) fallback=|| view! {
            <p class="empty">"Nothing installed yet. "<a href="/?tab=available">"Browse the available models"</a></p>
        }>
            <h2 class="visually-hidden">"Installed models"</h2>
            <ul class="model-list">
                <For each=move || list.with(|l| l.models.clone())
                    key=|m| card_key(&m.id, m)
                    children=move |model| view! { <InstalledCard model show_nsfw /> } />
            </ul>
        </Show>
    }
}

/// A card's identity in its list: its model's `id` and a fingerprint of everything the card
/// shows (`model`), so only a card whose model changed is made anew.
pub fn card_key(id: &str, model: &impl std::hash::Hash) -> (String, u64) {
    use std::hash::{DefaultHasher, Hasher};
    let mut hasher = DefaultHasher::new();
    model.hash(&mut hasher);
    (id.to_string(), hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InstalledModel;

    #[test]
    fn arrow_keys_move_between_tabs_and_wrap() {
        assert_eq!(Tab::Available.after_key("ArrowRight"), Some(Tab::Installed));
        assert_eq!(Tab::Add.after_key("ArrowRight"), Some(Tab::Available));
        assert_eq!(Tab::Available.after_key("ArrowLeft"), Some(Tab::Add));
        assert_eq!(Tab::Installed.after_key("Home"), Some(Tab::Available));
        assert_eq!(Tab::Installed.after_key("End"), Some(Tab::Add));
        assert_eq!(Tab::Installed.after_key("a"), None);
    }

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

    #[test]
    fn a_card_keeps_its_key_until_what_it_shows_changes() {
        let model: InstalledModel = serde_json::from_value(serde_json::json!({
            "id": "a", "sourceModelId": null, "name": "A", "family": "sdxl", "type": "lora",
            "files": [{"path": "loras/a.safetensors", "sizeBytes": 1, "sha256": "00"}],
            "totalSizeBytes": 1, "installedAt": "2026-11-28T00:00:00Z", "source": "upload",
            "lastVerification": null
        }))
        .unwrap();
        let key = card_key(&model.id, &model);
        let again = model.clone();
        assert_eq!(
            card_key(&again.id, &again),
            key,
            "a refetch of the same model"
        );
        let mut renamed = model.clone();
        renamed.name = "B".into();
        assert_ne!(card_key(&renamed.id, &renamed), key);
        assert_eq!(card_key(&renamed.id, &renamed).0, "a");
    }
}
