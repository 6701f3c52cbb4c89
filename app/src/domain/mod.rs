//! Wire types: plain serde structs that cross HTTP and the server-function boundary.
//! They compile to WASM, so nothing here touches the network or the disk.

mod download;
mod error;
mod installed;
mod model;
mod request;

pub use download::{DownloadJob, DownloadRequest, FileProgress, JobStatus};
pub use error::{AppError, ErrorCode};
pub use installed::{InstalledFile, InstalledList, InstalledModel, Verification};
pub use model::{Model, ModelFamily, ModelFilter, ModelType, SourceType};
pub use request::AddModelRequest;
