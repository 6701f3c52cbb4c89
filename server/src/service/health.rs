//! Readiness: what `/readyz` reports. Only yes/no per check, never paths, sizes or errors, so
//! the route can stay open when access control is on.

use std::{io::Write, path::Path};

use serde::Serialize;

use super::Service;
use crate::storage::Store;

/// The outcome of each readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// A file can be created, written, synced and removed on the models volume.
    pub volume_writable: bool,
    /// The models database can be read (and is not corrupt or from a newer version).
    pub database_readable: bool,
    /// The volume has more free space than `MODELS_MIN_FREE_BYTES`.
    pub disk_space: bool,
    /// Exclusive create and rename passed the start-up self-test on `.downloads/`: several
    /// servers may share this volume. Reported, not required (one server needs neither).
    pub shared_volume_leases: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.volume_writable && self.database_readable && self.disk_space
    }

    /// Runs every check; blocking (disk I/O).
    pub fn check(store: &Store, min_free_bytes: u64) -> Self {
        Self {
            volume_writable: can_write(&store.partial_dir()).is_ok(),
            database_readable: store.read().is_ok(),
            disk_space: store.disk_free() > min_free_bytes,
            shared_volume_leases: false,
        }
    }
}

/// Creates, writes, syncs and removes a probe file in `dir`.
fn can_write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".ready-{}", uuid::Uuid::new_v4()));
    let written = std::fs::File::create(&probe).and_then(|mut f| {
        f.write_all(b"ok")?;
        f.sync_all()
    });
    let removed = std::fs::remove_file(&probe);
    written.and(removed)
}

impl Service {
    /// The readiness checks, off the async runtime.
    pub async fn readiness(&self) -> Readiness {
        let store = self.store.clone();
        let min_free = self.config.min_free_bytes;
        let checks = tokio::task::spawn_blocking(move || Readiness::check(&store, min_free))
            .await
            .unwrap_or(Readiness {
                volume_writable: false,
                database_readable: false,
                disk_space: false,
                shared_volume_leases: false,
            });
        Readiness {
            shared_volume_leases: self.downloads.leases_safe(),
            ..checks
        }
    }

    /// Server shutdown: pauses running downloads into the journal (see
    /// [`crate::download::Downloads::pause_all`]).
    pub async fn pause_downloads(&self, grace: std::time::Duration) {
        self.downloads.pause_all(grace).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_folder_passes_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        can_write(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_folder_that_cannot_be_created_fails() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(can_write(&file.join("sub")).is_err());
    }
}
