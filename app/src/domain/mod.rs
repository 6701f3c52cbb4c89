//! Wire types: plain serde structs that cross HTTP and the server-function boundary.
//! They compile to WASM, so nothing here touches the network or the disk.

mod access;
mod download;
mod duplicates;
mod error;
mod export;
mod identify;
mod installed;
mod model;
mod request;
mod scan;

pub use access::AccessStatus;
pub use download::{DownloadJob, DownloadRequest, FileProgress, JobStatus};
pub use duplicates::{DedupeResult, DedupeSkip, DuplicateGroup};
pub use error::{AppError, ErrorCode};
pub use export::{Companion, DatasetFolder, ExportRequest, ExportResult, ModelBlockPreview};
pub use identify::{Confidence, DetectedFamily, DetectedKind, Identification};
pub use installed::{InstalledFile, InstalledList, InstalledModel, Verification};
pub use model::{Model, ModelFamily, ModelFilter, ModelLayout, ModelType, SourceType};
pub use request::{check_text, check_token, AddModelRequest, ModelPreview, PreviewFile};
pub use scan::{AdoptRequest, ScanPhase, ScanStatus, UntrackedFile};

/// A snake_case wire value ("base_model", "flux") as its enum, or `None`.
pub fn from_wire<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).ok()
}

/// An enum as its snake_case wire value.
pub fn to_wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        assert_eq!(
            from_wire::<ModelType>("base_model"),
            Some(ModelType::BaseModel)
        );
        assert_eq!(from_wire::<ModelFamily>("nope"), None);
        assert_eq!(to_wire(&ModelFamily::Zimage), "zimage");
    }
}
