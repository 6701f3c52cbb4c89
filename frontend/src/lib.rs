//! The WASM entry point: hydrates the server-rendered page, nothing else. A view the server
//! rendered from a lazily loaded chunk (the Export page, the Installed or Add tab opened by its
//! URL) has its chunk loaded first, so hydration finds its code (`app::lazy_views`).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic stops the WASM for good (a chunk that could not be fetched does that): log it,
    // and tell the user to reload instead of leaving controls that do nothing.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        app::browser::show_stopped();
    }));
    wasm_bindgen_futures::spawn_local(async {
        app::lazy_views::preload_rendered().await;
        // Hydration resets the fields to their initial state: text typed into the server's
        // HTML meanwhile is put back afterwards.
        let typed = app::browser::typed_before_hydration();
        leptos::mount::hydrate_body(app::App);
        app::browser::restore_typed(typed);
    });
}
