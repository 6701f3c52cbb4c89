//! The models database document: versioned, human-readable JSON.

use app::domain::{DownloadSettingsUpdate, Identification, InstalledModel, Preferences};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::registry::{CustomModel, KnownSizes};

/// Bump when the document's shape changes; older files are migrated on read (`migrate`).
/// 1: installed and custom models. 2: `downloadSettings`. 3: `hashCache` (the scan's sha256
/// and identification cache). 4: `knownSizes` (exact sizes of Hub models from the tree API).
/// 5: `civitai` on installed models (the by-hash lookup, its preview and update check) and
/// `preferences` (NSFW previews shown or not).
pub const SCHEMA_VERSION: u32 = 5;

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
    /// What the volume scan learnt about untracked files, valid while the file's identity
    /// and size and mtime are unchanged: a rescan of unchanged files reads no file data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hash_cache: Vec<HashCacheEntry>,
    /// Exact sizes (and LFS sha256) of Hub models' files, by model id, from the tree API;
    /// refreshed in the background (`MODELS_CATALOG_REFRESH_HOURS`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub known_sizes: BTreeMap<String, KnownSizes>,
    /// The user's display preferences (`PUT /api/preferences`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub preferences: Preferences,
}

fn is_default(preferences: &Preferences) -> bool {
    *preferences == Preferences::default()
}

fn is_unset(settings: &DownloadSettingsUpdate) -> bool {
    *settings == DownloadSettingsUpdate::default()
}

/// The scan's cache entry for one file, keyed by (device, inode, size, mtime).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashCacheEntry {
    /// Absolute path where the file was last seen.
    pub path: String,
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub mtime_secs: i64,
    pub mtime_nanos: u32,
    /// Lower-case hex, once hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub identification: Identification,
}

impl HashCacheEntry {
    /// True when `other` describes the same unchanged file.
    pub fn same_file(&self, other: &HashCacheEntry) -> bool {
        (
            self.device,
            self.inode,
            self.size,
            self.mtime_secs,
            self.mtime_nanos,
        ) == (
            other.device,
            other.inode,
            other.size,
            other.mtime_secs,
            other.mtime_nanos,
        )
    }
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
        let mut db: Database = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if db.schema_version > SCHEMA_VERSION {
            return Err(format!(
                "schema version {} is newer than this build understands ({SCHEMA_VERSION}); upgrade Model Manager",
                db.schema_version
            ));
        }
        migrate(&mut db);
        Ok(db)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the database always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Every recorded file path (relative to `MODELS_DIR`, or absolute for extra roots).
    pub fn recorded_paths(&self) -> impl Iterator<Item = &str> {
        self.installed
            .iter()
            .flat_map(|m| m.files.iter().map(|f| f.path.as_str()))
    }

    /// The installed record that came from `source_model_id`, if any.
    pub fn installed_from(&self, source_model_id: &str) -> Option<&InstalledModel> {
        self.installed
            .iter()
            .find(|m| m.source_model_id.as_deref() == Some(source_model_id))
    }
}

/// Brings an older document up to `SCHEMA_VERSION`, one step per version. Version 1 had no
/// download settings: the field's default (nothing chosen, the environment decides) is its
/// meaning. Version 3 added `hashCache`, empty until the first scan (serde's default).
/// Version 4 added `knownSizes`, empty until the first refresh.
/// Version 5 added `civitai` to installed records (absent: not looked up yet, so the lookup
/// runs once for every model installed before) and `preferences` (NSFW previews hidden).
fn migrate(db: &mut Database) {
    if db.schema_version < 3 {
        db.hash_cache.clear();
    }
    if db.schema_version < 4 {
        db.known_sizes.clear();
    }
    if db.schema_version < 5 {
        for model in &mut db.installed {
            model.civitai = None;
        }
        db.preferences = Preferences::default();
    }
    db.schema_version = SCHEMA_VERSION;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_database_reads_with_no_download_settings_and_writes_as_the_current_version() {
        let v1 = br#"{"schemaVersion": 1, "installed": [], "customModels": []}"#;
        let db = Database::parse(v1).unwrap();
        assert_eq!(db.download_settings, DownloadSettingsUpdate::default());
        assert!(db.hash_cache.is_empty());
        assert!(db.known_sizes.is_empty());
        assert_eq!(db.schema_version, SCHEMA_VERSION);
        let text = String::from_utf8(db.to_bytes()).unwrap();
        assert!(
            text.contains(&format!("\"schemaVersion\": {SCHEMA_VERSION}")),
            "{text}"
        );
        assert!(!text.contains("downloadSettings"), "{text}");
    }

    #[test]
    fn a_version_4_database_reads_as_not_looked_up_with_nsfw_previews_hidden() {
        let v4 = br#"{"schemaVersion": 4, "installed": [{"id": "a", "sourceModelId": null,
            "name": "A", "family": "flux", "type": "lora", "files": [], "totalSizeBytes": 0,
            "installedAt": "2026-01-01T00:00:00Z", "source": "upload", "lastVerification": null}]}"#;
        let db = Database::parse(v4).unwrap();
        assert_eq!(db.installed[0].civitai, None);
        assert!(!db.preferences.show_nsfw_previews);
        assert_eq!(db.schema_version, SCHEMA_VERSION);
        let mut chosen = db.clone();
        chosen.preferences.show_nsfw_previews = true;
        assert_eq!(Database::parse(&chosen.to_bytes()).unwrap(), chosen);
    }

    #[test]
    fn download_settings_round_trip_and_newer_versions_are_refused() {
        let mut db = Database::empty();
        db.download_settings.rate_limit_bytes_per_second = Some(200 << 20);
        let back = Database::parse(&db.to_bytes()).unwrap();
        assert_eq!(back, db);
        let newer = format!(r#"{{"schemaVersion": {}}}"#, SCHEMA_VERSION + 1);
        assert!(Database::parse(newer.as_bytes())
            .unwrap_err()
            .contains("newer"));
    }
}
