//! Wire types: plain serde structs that cross HTTP and the server-function boundary.
//! They compile to WASM, so nothing here touches the network or the disk.

mod access;
mod civitai;
mod download;
mod duplicates;
mod error;
mod export;
mod identify;
mod installed;
mod model;
mod request;
mod scan;
mod search;
mod settings;

pub use access::AccessStatus;
pub use civitai::{CivitaiInfo, CivitaiPreview, CivitaiStatus, CivitaiUpdate, Preferences};
pub use download::{DownloadJob, DownloadRequest, FileProgress, JobStatus, Retrying, VolumeState};
pub use duplicates::{DedupeResult, DedupeSkip, DuplicateGroup};
pub use error::{AppError, ErrorCode};
pub use export::{Companion, DatasetFolder, ExportRequest, ExportResult, ModelBlockPreview};
pub use identify::{Confidence, DetectedFamily, DetectedKind, Identification};
pub use installed::{InstalledFile, InstalledList, InstalledModel, Verification};
pub use model::{
    CivitaiSource, Model, ModelFamily, ModelFilter, ModelLayout, ModelSort, ModelType, SourceType,
};
pub use request::{
    check_text, check_token, is_bidi_control, AddModelRequest, AddedModel, CustomModelEdit,
    ModelPreview, ModelUpdate, PreviewFile, UploadCheck, Uploaded,
};
pub use scan::{AdoptRequest, ScanPhase, ScanStatus, UntrackedFile};
pub use search::{
    family_of_base, CivitaiModel, CivitaiVersion, RepoFile, RepoFiles, SearchPage, SearchQuery,
    SearchResult, SearchSort, SearchSource, VersionFile, BASE_MODELS, MAX_QUERY_CHARS,
};
pub use settings::{
    DownloadSettings, DownloadSettingsUpdate, MAX_CONCURRENT_JOBS, MAX_CONNECTIONS_PER_FILE,
    MIN_RATE_LIMIT,
};

/// An enum the URL, forms and JSON name by a snake_case word ("base_model", "flux"). Read and
/// written without serde at run time, so the browser bundle carries no JSON `Value` machinery
/// for it; a test per enum keeps `wire` equal to serde's name.
pub trait Wire: Copy + 'static {
    const VARIANTS: &'static [Self];
    fn wire(self) -> &'static str;
}

/// A snake_case wire value ("base_model", "flux") as its enum, or `None`.
pub fn from_wire<T: Wire>(value: &str) -> Option<T> {
    T::VARIANTS.iter().copied().find(|t| t.wire() == value)
}

/// An enum as its snake_case wire value.
pub fn to_wire<T: Wire>(value: &T) -> String {
    value.wire().to_string()
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
