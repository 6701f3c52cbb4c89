//! One module per page.

mod export_page;
mod models_page;

pub use export_page::ExportPage;
pub use models_page::ModelsPage;
