//! What CivitAI knows about an installed model, looked up by its file's sha256
//! (`/api/v1/model-versions/by-hash/{sha256}`), and the user's preview preference.

use serde::{Deserialize, Serialize};

/// The outcome of the last lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CivitaiStatus {
    /// CivitAI knows the file: the fields below are filled.
    Found,
    /// CivitAI answered 404: kept, so it is not asked again until the user says so.
    NotFound,
    /// CivitAI could not be asked or failed (`message` says why); "look up again" retries.
    Failed,
}

/// A preview image saved beside the model (`<stem>.preview.<ext>`), served by
/// `GET /api/models/installed/preview?id=`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CivitaiPreview {
    /// Relative to `MODELS_DIR`.
    pub path: String,
    pub content_type: String,
    /// CivitAI rates the image above PG (`nsfw`, `nsfwLevel`): hidden until clicked, unless
    /// the user opted in.
    pub nsfw: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// The newest published version of the model on CivitAI, when it is not the installed one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CivitaiUpdate {
    /// RFC 3339, UTC.
    pub checked_at: String,
    /// The newer version, or `None` when the installed one is the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    /// Its page, to open it on CivitAI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
}

/// CivitAI's metadata for an installed model (kept in its record, schema 4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CivitaiInfo {
    pub status: CivitaiStatus,
    /// RFC 3339, UTC.
    pub checked_at: String,
    /// The file's sha256 that was looked up (lower-case hex).
    pub sha256: String,
    /// Why a lookup failed, or why the preview was not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_name: Option<String>,
    /// CivitAI's `baseModel` ("Flux.1 D", "SDXL 1.0", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model: Option<String>,
    /// `trainedWords`: they win over the file's own trigger words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trained_words: Vec<String>,
    /// The version's description as plain text (CivitAI sends HTML; tags are dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<CivitaiPreview>,
    /// The last "Check for updates".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<CivitaiUpdate>,
}

impl CivitaiInfo {
    /// A lookup that found nothing or failed, for `sha256`.
    pub fn without_match(
        status: CivitaiStatus,
        sha256: &str,
        checked_at: String,
        message: Option<String>,
    ) -> Self {
        Self {
            status,
            checked_at,
            sha256: sha256.to_string(),
            message,
            model_id: None,
            version_id: None,
            model_name: None,
            version_name: None,
            base_model: None,
            trained_words: Vec::new(),
            description: None,
            page_url: None,
            preview: None,
            update: None,
        }
    }

    /// "DreamShaper · 8" for a found model.
    pub fn title(&self) -> Option<String> {
        let model = self.model_name.as_deref()?;
        Some(
            match self.version_name.as_deref().filter(|v| !v.is_empty()) {
                Some(version) => format!("{model} · {version}"),
                None => model.to_string(),
            },
        )
    }
}

/// The user's display preferences, kept in the models database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preferences {
    /// Show previews CivitAI rates NSFW without a click.
    pub show_nsfw_previews: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_names_model_and_version() {
        let mut info = CivitaiInfo::without_match(
            CivitaiStatus::Found,
            "ab",
            "2026-01-01T00:00:00Z".into(),
            None,
        );
        assert_eq!(info.title(), None);
        info.model_name = Some("DreamShaper".into());
        assert_eq!(info.title().as_deref(), Some("DreamShaper"));
        info.version_name = Some("8".into());
        assert_eq!(info.title().as_deref(), Some("DreamShaper · 8"));
    }
}
