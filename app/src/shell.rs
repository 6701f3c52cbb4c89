use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    SsrMode, StaticSegment,
};

use crate::{
    components::{AccessBar, ModelDownloadProgress},
    pages::{ExportPage, ModelsPage},
    state::Downloads,
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Downloads::provide();
    view! {
        <Stylesheet id="leptos" href="/pkg/model-manager.css" />
        <Title text="Model Manager" />
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"Model Manager"</A>
                <nav aria-label="Main">
                    <A href="/">"Models"</A>
                    <A href="/export">"Export"</A>
                </nav>
                <AccessBar />
            </header>
            <main class="page">
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    // Async: the whole page is rendered before it is sent, so every read-only
                    // view works with JavaScript off (out-of-order streaming needs scripts).
                    <Route path=StaticSegment("") view=ModelsPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("models") view=ModelsPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("export") view=ExportPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <ModelDownloadProgress />
        </Router>
    }
}
