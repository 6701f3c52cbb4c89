//! One module per page.

mod models_page;

pub use models_page::ModelsPage;
