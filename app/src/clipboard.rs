//! Copying text to the clipboard (browser only; a no-op on the server).

/// Puts `text` on the clipboard; false when the browser refuses (no secure context).
pub fn copy(text: &str) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        let clipboard = leptos::prelude::window().navigator().clipboard();
        let _ = clipboard.write_text(text);
        true
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = text;
        false
    }
}
