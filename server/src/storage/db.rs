//! The models database document: versioned, human-readable JSON.

use app::domain::{DownloadSettingsUpdate, InstalledModel};
use serde::{Deserialize, Serialize};

use crate::registry::CustomModel;

/// Bump when the document's shape changes; older files are migrated on read.
/// 1: installed and custom models. 2: `downloadSettings`.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    pub schema_version: u32,
    /// Models whose verified files are on the volume.
    #[serde(default)]
    pub installed: Vec<InstalledModel>,
    /// Models the user added (`POST /api/models`), installed or not.
    #[serde(default)]
    pub custom_models: Vec<CustomModel>,
    /// The download settings a user chose (`PUT /api/models/download/settings`); what is not
    /// set here comes from the environment.
    #[serde(default, skip_serializing_if = "is_unset")]
    pub download_settings: DownloadSettingsUpdate,
}

fn is_unset(settings: &DownloadSettingsUpdate) -> bool {
    *settings == DownloadSettingsUpdate::default()
}

impl Database {
    pub fn empty() -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            ..Default::default()
        }
    }

    /// Parses a database file, refusing versions newer than this build understands.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let db: Database = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if db.schema_version > SCHEMA_VERSION {
            return Err(format!(
                "schema version {} is newer than this build understands ({SCHEMA_VERSION}); upgrade Model Manager",
                db.schema_version
            ));
        }
        Ok(db.migrated())
    }

    /// An older document in this version's shape. Version 1 had no download settings: the
    /// field's default (nothing chosen, the environment decides) is its meaning.
    fn migrated(mut self) -> Self {
        self.schema_version = SCHEMA_VERSION;
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the database always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The installed record that came from `source_model_id`, if any.
    pub fn installed_from(&self, source_model_id: &str) -> Option<&InstalledModel> {
        self.installed
            .iter()
            .find(|m| m.source_model_id.as_deref() == Some(source_model_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_database_reads_with_no_download_settings_and_writes_as_version_2() {
        let v1 = br#"{"schemaVersion": 1, "installed": [], "customModels": []}"#;
        let db = Database::parse(v1).unwrap();
        assert_eq!(db.download_settings, DownloadSettingsUpdate::default());
        assert_eq!(db.schema_version, 2);
        let text = String::from_utf8(db.to_bytes()).unwrap();
        assert!(text.contains("\"schemaVersion\": 2"), "{text}");
        assert!(!text.contains("downloadSettings"), "{text}");
    }

    #[test]
    fn download_settings_round_trip_and_newer_versions_are_refused() {
        let mut db = Database::empty();
        db.download_settings.rate_limit_bytes_per_second = Some(200 << 20);
        let back = Database::parse(&db.to_bytes()).unwrap();
        assert_eq!(back, db);
        let v3 = br#"{"schemaVersion": 3}"#;
        assert!(Database::parse(v3).unwrap_err().contains("newer"));
    }
}
