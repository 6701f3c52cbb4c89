//! The model registry: the built-in catalog (data compiled in from `catalog.json`) and the
//! custom models users add.

mod catalog;
mod custom;
mod sizes;

pub use catalog::{BuiltIn, Catalog, CatalogFile};
pub use custom::{CustomModel, CustomSource, RemoteFile};
pub use sizes::{sizes_of, KnownSizes, SizedFile};
