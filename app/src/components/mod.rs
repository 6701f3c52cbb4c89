//! Reusable components.

mod access_bar;
mod add_custom_model_form;
mod choice;
mod civitai_info;
mod custom_model_edit;
mod download_settings;
mod duplicates;
mod field_error;
mod identification;
mod installed_card;
mod missing_card;
mod model_card;
mod model_download_progress;
mod model_selector;
mod repo_files;
mod search;
mod volume_scan;

pub use access_bar::AccessBar;
pub use add_custom_model_form::AddCustomModelForm;
pub use choice::wire_options;
pub use civitai_info::{CivitaiSection, NsfwPreference};
pub use custom_model_edit::CustomModelActions;
pub use download_settings::DownloadSettingsForm;
pub use duplicates::Duplicates;
pub use field_error::{described_by, error_id, FieldError};
pub use identification::{IdentificationView, IdentificationWarnings, TriggerWords};
pub use installed_card::InstalledCard;
pub use missing_card::MissingCard;
pub use model_card::ModelCard;
pub use model_download_progress::ModelDownloadProgress;
pub use model_selector::ModelSelector;
pub use repo_files::RepoFileChoice;
pub use search::SearchPanel;
pub use volume_scan::VolumeScan;
