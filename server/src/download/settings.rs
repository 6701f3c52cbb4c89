//! The download settings in force: the environment's defaults, overridden by what a user saved
//! in the models database, applied to running jobs without a restart (the rate at once, more
//! concurrent jobs at once, fewer as running jobs finish, connections from the next range or
//! attempt on).

use std::sync::atomic::Ordering;

use app::domain::{AppError, DownloadSettings, DownloadSettingsUpdate};

use super::{Downloads, Engine};
use crate::config::Config;

/// The settings the environment gives.
pub(super) fn from_config(config: &Config) -> DownloadSettings {
    DownloadSettings {
        max_concurrent_jobs: u32::try_from(config.max_concurrent_downloads.max(1))
            .unwrap_or(u32::MAX),
        rate_limit_bytes_per_second: config.download_limit,
        connections_per_file: u32::try_from(config.download_connections).unwrap_or(u32::MAX),
    }
}

impl Engine {
    /// Connections per large file now.
    pub(super) fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// New attempts use `n` connections; every host's cap follows at once.
    fn set_connections(&self, n: usize) {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        self.connections.store(n, Ordering::Relaxed);
        for gate in hosts.values() {
            gate.resize(n);
        }
    }
}

impl Downloads {
    /// The settings in force.
    pub fn settings(&self) -> DownloadSettings {
        DownloadSettings {
            max_concurrent_jobs: u32::try_from(self.slots.size()).unwrap_or(u32::MAX),
            rate_limit_bytes_per_second: self.engine.limit.rate(),
            connections_per_file: u32::try_from(self.engine.connections()).unwrap_or(u32::MAX),
        }
    }

    /// At start: the saved settings over the environment's.
    pub fn apply_saved(&self, saved: DownloadSettingsUpdate) {
        if saved != DownloadSettingsUpdate::default() {
            self.apply(saved.applied_to(self.defaults));
        }
    }

    /// Checks `update`, saves it in the database (over what was saved before) and applies the
    /// result; nothing changes when it is refused or cannot be saved.
    pub fn update_settings(
        &self,
        update: DownloadSettingsUpdate,
    ) -> Result<DownloadSettings, AppError> {
        update.check()?;
        let saved = self.store.update(|db| {
            db.download_settings = db.download_settings.merged(update);
            Ok(db.download_settings)
        })?;
        let settings = saved.applied_to(self.defaults);
        self.apply(settings);
        tracing::info!(?settings, "download settings changed");
        Ok(settings)
    }

    /// Follows settings saved by another server on the volume: when the database changed
    /// (its generation, see `Store::generation`), the saved settings are read again and
    /// applied if they differ from those in force. Called by the shared tick every second.
    pub(super) fn reload_settings(&self) {
        let generation = self.store.generation();
        let mut seen = self
            .settings_generation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *seen == generation {
            return;
        }
        match self.store.read() {
            Ok(db) => {
                *seen = generation;
                let settings = db.download_settings.applied_to(self.defaults);
                if settings != self.settings() {
                    self.apply(settings);
                    tracing::info!(?settings, "download settings changed on the volume");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the download settings saved on the volume")
            }
        }
    }

    fn apply(&self, settings: DownloadSettings) {
        self.slots
            .resize(settings.max_concurrent_jobs.max(1) as usize);
        self.engine
            .limit
            .set_rate(settings.rate_limit_bytes_per_second);
        self.engine
            .set_connections(settings.connections_per_file.max(1) as usize);
    }
}
