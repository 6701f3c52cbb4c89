//! The models database document: versioned, human-readable JSON.

use app::domain::InstalledModel;
use serde::{Deserialize, Serialize};

use crate::registry::CustomModel;

/// Bump when the document's shape changes; older files are migrated on read.
pub const SCHEMA_VERSION: u32 = 1;

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
        Ok(db)
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
