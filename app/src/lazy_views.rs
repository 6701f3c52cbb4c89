//! The views whose code is a lazily loaded WASM chunk (`#[lazy]`) and the server renders in
//! place: the Export page and the Models page's Installed and Add tabs. (The Downloads panel
//! and the edit form are chunks too, but only ever made in the browser.)
//! Hydration cannot wait for a chunk in the middle of the page, so before it starts, the
//! browser loads the chunk of the view the server rendered for this URL; the page's first view
//! (Available) needs none.

use leptos::prelude::*;

/// Shows a `#[lazy]` view, "Loading…" until its chunk is in. The server renders it in place;
/// one the server rendered has its chunk loaded before hydration (`preload_rendered`).
pub fn lazily<F>(load: impl Fn() -> F + Send + Sync + 'static) -> AnyView
where
    F: std::future::Future<Output = AnyView> + Send + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="empty">"Loading…"</p> }>
            {Suspend::new(load())}
        </Suspense>
    }
    .into_any()
}

/// A server-rendered view with its own chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LazyView {
    Export,
    InstalledTab,
    AddTab,
}

/// Which lazy view the server renders for `path` with the URL's `tab` parameter (decoded, as
/// the router reads it), if any. Mirrors the router (`/`, `/models`, `/export`) and
/// `Tab::from_query`.
pub fn rendered_at(path: &str, tab: Option<&str>) -> Option<LazyView> {
    use crate::pages::Tab;
    match path.trim_end_matches('/') {
        "/export" => Some(LazyView::Export),
        "" | "/models" => match Tab::from_query(tab) {
            Tab::Installed => Some(LazyView::InstalledTab),
            Tab::Add => Some(LazyView::AddTab),
            Tab::Available => None,
        },
        _ => None,
    }
}

/// Loads the chunk of the lazy view the server rendered at the browser's URL, read by the
/// router's own parser (percent-decoding, repeated parameters), so the two never disagree.
#[cfg(feature = "hydrate")]
pub async fn preload_rendered() {
    use leptos_router::location::{BrowserUrl, LocationProvider};
    let Ok(url) = BrowserUrl::current() else {
        return;
    };
    match rendered_at(url.path(), url.search_params().get_str("tab")) {
        Some(LazyView::Export) => crate::shell::__preload_export_page().await,
        Some(LazyView::InstalledTab) => crate::pages::__preload_installed_tab().await,
        Some(LazyView::AddTab) => crate::pages::__preload_add_tab().await,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_follows_the_router_and_the_tab() {
        assert_eq!(rendered_at("/", None), None);
        assert_eq!(rendered_at("/", Some("available")), None);
        assert_eq!(
            rendered_at("/", Some("installed")),
            Some(LazyView::InstalledTab)
        );
        assert_eq!(rendered_at("/models", Some("add")), Some(LazyView::AddTab));
        assert_eq!(rendered_at("/export", None), Some(LazyView::Export));
        assert_eq!(rendered_at("/export/", Some("add")), Some(LazyView::Export));
        assert_eq!(rendered_at("/", Some("bogus")), None);
        assert_eq!(rendered_at("/nowhere", Some("add")), None);
    }
}
