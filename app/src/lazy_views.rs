//! The views whose code is a lazily loaded WASM chunk (`#[lazy]`) and the server renders in
//! place: the Export page and the Models page's Installed and Add tabs. Hydration cannot wait
//! for a chunk in the middle of the page, so before it starts, the browser loads the chunk of
//! the view the server rendered for this URL; the page's first view (Available) needs none.

/// A server-rendered view with its own chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LazyView {
    Export,
    InstalledTab,
    AddTab,
}

/// Which lazy view the server renders for `path` and `query` (`?tab=installed&q=x`), if any.
/// Mirrors the router (`/`, `/models`, `/export`) and `Tab::from_query`.
pub fn rendered_at(path: &str, query: &str) -> Option<LazyView> {
    let path = path.trim_end_matches('/');
    match path {
        "/export" => Some(LazyView::Export),
        "" | "/models" => {
            let tab = query
                .trim_start_matches('?')
                .split('&')
                .find_map(|pair| pair.strip_prefix("tab="));
            match crate::pages::Tab::from_query(tab) {
                crate::pages::Tab::Installed => Some(LazyView::InstalledTab),
                crate::pages::Tab::Add => Some(LazyView::AddTab),
                crate::pages::Tab::Available => None,
            }
        }
        _ => None,
    }
}

/// Loads the chunk of the lazy view the server rendered at the browser's URL.
#[cfg(feature = "hydrate")]
pub async fn preload_rendered() {
    let location = leptos::prelude::window().location();
    let path = location.pathname().unwrap_or_default();
    let query = location.search().unwrap_or_default();
    match rendered_at(&path, &query) {
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
        assert_eq!(rendered_at("/", ""), None);
        assert_eq!(rendered_at("/", "?tab=available&q=flux"), None);
        assert_eq!(
            rendered_at("/", "?q=x&tab=installed"),
            Some(LazyView::InstalledTab)
        );
        assert_eq!(rendered_at("/models", "?tab=add"), Some(LazyView::AddTab));
        assert_eq!(
            rendered_at("/export", "?trigger=ohwx"),
            Some(LazyView::Export)
        );
        assert_eq!(rendered_at("/export/", ""), Some(LazyView::Export));
        assert_eq!(rendered_at("/", "?tab=bogus"), None);
        assert_eq!(rendered_at("/nowhere", "?tab=add"), None);
    }
}
