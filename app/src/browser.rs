//! Thin adapters over browser APIs the downloads panel uses: the clock, the viewport width and
//! the `Notification` API. On the server they answer "not available".

/// The browser's `Notification` permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// The browser has no notifications (or this is the server).
    Unsupported,
    /// Not asked yet: ask on a user gesture.
    Ask,
    Granted,
    Denied,
}

/// Seconds since the Unix epoch by the browser's clock; `None` on the server.
pub fn now_secs() -> Option<i64> {
    #[cfg(target_arch = "wasm32")]
    return Some((js_sys::Date::now() / 1000.0) as i64);
    #[cfg(not(target_arch = "wasm32"))]
    None
}

/// Whether the viewport is narrower than the docked panel's breakpoint (64rem at 16 px): the
/// panel is then a bar at the bottom that expands on demand.
pub fn narrow() -> bool {
    #[cfg(target_arch = "wasm32")]
    return leptos::prelude::window()
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .is_some_and(|w| w < 1024.0);
    #[cfg(not(target_arch = "wasm32"))]
    false
}

pub fn permission() -> Permission {
    #[cfg(target_arch = "wasm32")]
    {
        use web_sys::{Notification, NotificationPermission};
        let window = leptos::prelude::window();
        if !js_sys::Reflect::has(&window, &"Notification".into()).unwrap_or(false) {
            return Permission::Unsupported;
        }
        match Notification::permission() {
            NotificationPermission::Granted => Permission::Granted,
            NotificationPermission::Denied => Permission::Denied,
            _ => Permission::Ask,
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    Permission::Unsupported
}

/// Asks for permission (call it from a click); the answer.
pub async fn ask_permission() -> Permission {
    #[cfg(target_arch = "wasm32")]
    {
        if permission() == Permission::Unsupported {
            return Permission::Unsupported;
        }
        if let Ok(promise) = web_sys::Notification::request_permission() {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
    }
    permission()
}

/// Shows a system notification when the user allowed them; otherwise nothing.
pub fn notify(title: &str, body: &str) {
    #[cfg(target_arch = "wasm32")]
    if permission() == Permission::Granted {
        let options = web_sys::NotificationOptions::new();
        options.set_body(body);
        let _ = web_sys::Notification::new_with_options(title, &options);
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (title, body);
}

/// Publishes the bottom bar's height to the stylesheet (`--downloads-h` on the root element),
/// which keeps that much room below the page and scrolls focused controls above it.
pub fn reserve_bottom(px: i32) {
    #[cfg(target_arch = "wasm32")]
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("style", &format!("--downloads-h:{px}px"));
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = px;
}

/// Keeps focused controls above the bottom bar `bar` (narrow screens). Browsers scroll a
/// control from outside the viewport into view above the bar (`scroll-padding-bottom`), but
/// leave one that is already inside the viewport where it is, even under the bar: such a
/// control is scrolled up by the part the bar covers.
pub fn keep_focus_above(bar: leptos::prelude::NodeRef<leptos::html::Aside>) {
    #[cfg(target_arch = "wasm32")]
    {
        use leptos::prelude::*;
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::focusin, move |ev| {
            let Some(panel) = bar.try_get_untracked().flatten() else {
                return;
            };
            let Some(el) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            else {
                return;
            };
            if !narrow() || panel.contains(Some(el.as_ref())) {
                return;
            }
            let covered =
                el.get_bounding_client_rect().bottom() - panel.get_bounding_client_rect().top();
            if covered > 0.0 {
                window().scroll_by_with_x_and_y(0.0, covered + 8.0);
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = bar;
}

/// What the page says when its WASM has stopped (a panic aborts it: most likely a lazily
/// loaded part that could not be fetched, the connection having dropped): a banner with a
/// link that reloads the page, instead of controls that silently do nothing.
pub const STOPPED: &str = "This page stopped working: part of it could not be loaded (the connection to the server may have dropped).";

/// Shows the `STOPPED` banner at the top of the page (once). Call it from the panic hook.
pub fn show_stopped() {
    #[cfg(target_arch = "wasm32")]
    {
        let document = leptos::prelude::document();
        if document.get_element_by_id("page-stopped").is_some() {
            return;
        }
        let (Ok(banner), Ok(link), Some(body)) = (
            document.create_element("div"),
            document.create_element("a"),
            document.body(),
        ) else {
            return;
        };
        let href = leptos::prelude::window()
            .location()
            .href()
            .unwrap_or_default();
        let _ = banner.set_attribute("id", "page-stopped");
        let _ = banner.set_attribute("class", "page-stopped");
        let _ = banner.set_attribute("role", "alert");
        banner.set_text_content(Some(&format!("{STOPPED} ")));
        let _ = link.set_attribute("class", "btn btn--small");
        let _ = link.set_attribute("href", &href);
        // Past the router (whose click handler is part of the stopped WASM): a plain load.
        let _ = link.set_attribute("rel", "external");
        link.set_text_content(Some("Reload the page"));
        let _ = banner.append_child(&link);
        let _ = body.prepend_with_node_1(&banner);
    }
}

/// Text the user typed into the server's HTML before the page became interactive: each text
/// field (with an id) whose value differs from the one the server rendered. Hydration sets
/// every field to its initial state, so `restore_typed` puts these back afterwards.
pub fn typed_before_hydration() -> Vec<(String, String)> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let Ok(fields) = leptos::prelude::document().query_selector_all("input[id], textarea[id]")
        else {
            return Vec::new();
        };
        (0..fields.length())
            .filter_map(|i| fields.item(i))
            .filter_map(|node| {
                if let Some(input) = node.dyn_ref::<web_sys::HtmlInputElement>() {
                    let text = matches!(
                        input.type_().as_str(),
                        "text" | "search" | "url" | "number" | "password" | ""
                    );
                    (text && input.value() != input.default_value())
                        .then(|| (input.id(), input.value()))
                } else {
                    let area = node.dyn_ref::<web_sys::HtmlTextAreaElement>()?;
                    (Ok(area.value()) != area.default_value()).then(|| (area.id(), area.value()))
                }
            })
            .collect()
    }
    #[cfg(not(target_arch = "wasm32"))]
    Vec::new()
}

/// Puts typed text back into its fields after hydration, with an `input` event each, so the
/// page's state follows (the search filters, the Add form's fields).
pub fn restore_typed(typed: Vec<(String, String)>) {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        let document = leptos::prelude::document();
        for (id, value) in typed {
            let Some(element) = document.get_element_by_id(&id) else {
                continue;
            };
            if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
                input.set_value(&value);
            } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
                area.set_value(&value);
            } else {
                continue;
            }
            let init = web_sys::EventInit::new();
            init.set_bubbles(true);
            if let Ok(event) = web_sys::Event::new_with_event_init_dict("input", &init) {
                let _ = element.dispatch_event(&event);
            }
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = typed;
}
