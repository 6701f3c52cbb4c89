use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    SsrMode, StaticSegment,
};

use crate::{
    components::{AccessBar, ModelDownloadProgress},
    lazy_views::lazily,
    pages::{ExportPage, ModelsPage},
    panel,
    state::{focus_id, Downloads, Hydrated},
};

/// The line for `kind` (`js`, `wasm`, `css`) in a site's `hash.txt` ("css: 0123abcd").
pub fn hash_for<'a>(hash_txt: &'a str, kind: &str) -> Option<&'a str> {
    hash_txt.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == kind)
            .then(|| v.trim())
            .filter(|v| !v.is_empty())
    })
}

/// Where the page finds the bundle's `ext` file: `/<pkg>/<output>.<hash>.<ext>` when the site
/// has hashed names (read at each render, so a page names the build that is on disk), else
/// `/<pkg>/<output>.<ext>`.
pub fn bundle_href(options: &LeptosOptions, ext: &str) -> String {
    let hashes = options
        .hash_files
        .then(|| std::fs::read_to_string(&*options.hash_file).ok())
        .flatten()
        .unwrap_or_default();
    let name = match hash_for(&hashes, ext) {
        Some(hash) => format!("{}.{hash}", options.output_name),
        None => options.output_name.to_string(),
    };
    format!("/{}/{name}.{ext}", options.site_pkg_dir)
}

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = bundle_href(&options, "css");
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="stylesheet" href=stylesheet />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The Export page's code is a lazily loaded WASM chunk, like the Models page's later tabs.
#[lazy]
pub(crate) fn export_page() -> AnyView {
    view! { <ExportPage /> }.into_any()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let downloads = Downloads::provide();
    Hydrated::provide();
    view! {
        // "42% · Model Manager" while downloads run.
        <Title text=move || downloads.jobs.with(|jobs| panel::title(jobs)) />
        <Router>
            // The router takes in-page links over, so the link moves focus itself.
            <a class="skip-link" href="#main"
                on:click=|ev| { ev.prevent_default(); focus_id("main") }>"Skip to content"</a>
            <header class="topbar">
                <A href="/" attr:class="brand">"Model Manager"</A>
                <nav aria-label="Main">
                    <A href="/">"Models"</A>
                    <A href="/export">"Export"</A>
                </nav>
                <AccessBar />
            </header>
            <main class="page" id="main" tabindex="-1">
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    // Async: the whole page is rendered before it is sent, so every read-only
                    // view works with JavaScript off (out-of-order streaming needs scripts).
                    <Route path=StaticSegment("") view=ModelsPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("models") view=ModelsPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("export") view=|| lazily(export_page) ssr=SsrMode::Async />
                </Routes>
            </main>
            <ModelDownloadProgress />
        </Router>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_read_by_kind() {
        let txt = "js: aa11\nwasm: bb22\ncss: cc33\n";
        assert_eq!(hash_for(txt, "css"), Some("cc33"));
        assert_eq!(hash_for(txt, "wasm"), Some("bb22"));
        assert_eq!(hash_for(txt, "svg"), None);
        assert_eq!(hash_for("css:\n", "css"), None);
    }

    #[test]
    fn without_a_hash_file_the_plain_name_is_used() {
        let options = LeptosOptions::builder().output_name("mm").build();
        assert_eq!(bundle_href(&options, "css"), "/pkg/mm.css");
    }
}
