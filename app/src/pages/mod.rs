//! One module per page.

mod export_page;
mod models_page;

pub use export_page::ExportPage;
#[cfg(feature = "hydrate")]
pub(crate) use models_page::{__preload_add_tab, __preload_installed_tab};
pub use models_page::{ModelsPage, Tab};
