//! Exact sizes of Hub models (built-in, and custom ones whose sizes are unknown) from the
//! tree API, kept in the database and refreshed in the background: a round starts when the
//! server starts and when a list is asked for while an entry is missing or older than
//! `MODELS_CATALOG_REFRESH_HOURS`; one round at a time, and a model whose sizes could not be
//! learnt is not asked again before `RETRY_AFTER`.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use super::Service;
use crate::{
    registry::{sizes_of, KnownSizes},
    sources::huggingface,
    storage::Database,
};

/// A model whose sizes could not be learnt waits this long before it is asked again.
const RETRY_AFTER: Duration = Duration::from_secs(600);

/// Whether a round runs, and when each model's sizes last failed to come.
#[derive(Default)]
pub struct SizeRefresh {
    running: AtomicBool,
    failed: Mutex<HashMap<String, Instant>>,
}

impl SizeRefresh {
    fn failed(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A model whose sizes the tree API can tell: id, repo, revision, paths.
type Wanted = (String, String, String, Vec<String>);

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Service {
    fn refresh_interval_secs(&self) -> u64 {
        self.config.catalog_refresh_hours.saturating_mul(3600)
    }

    /// The Hub models whose sizes are missing or stale in `db`.
    fn wanted_sizes(&self, db: &Database) -> Vec<Wanted> {
        let (now, interval) = (now_secs(), self.refresh_interval_secs());
        let stale = |id: &str, repo: &str, revision: &str| {
            !db.known_sizes
                .get(id)
                .is_some_and(|k| k.fresh_for(repo, revision, now, interval))
        };
        let built_in = self
            .catalog
            .models()
            .iter()
            .filter(|m| m.size_bytes().is_none() && stale(&m.id, &m.repo, &m.revision))
            .map(|m| {
                let paths = m.paths().into_iter().map(str::to_string).collect();
                (m.id.clone(), m.repo.clone(), m.revision.clone(), paths)
            });
        let custom = db.custom_models.iter().filter_map(|m| {
            let (repo, revision, paths) = m.unsized_hub_files()?;
            stale(&m.id, repo, revision).then(|| {
                let paths = paths.into_iter().map(str::to_string).collect();
                (m.id.clone(), repo.to_string(), revision.to_string(), paths)
            })
        });
        built_in.chain(custom).collect()
    }

    /// Starts a background round when some size is missing or stale (and was not asked in
    /// vain less than `RETRY_AFTER` ago), unless a round runs.
    pub fn refresh_sizes(&self, db: &Database) {
        let mut wanted = self.wanted_sizes(db);
        {
            let failed = self.size_refresh.failed();
            wanted.retain(|(id, ..)| failed.get(id).is_none_or(|t| t.elapsed() >= RETRY_AFTER));
        }
        if wanted.is_empty() || self.size_refresh.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let Some(me) = self.me.upgrade() else {
            self.size_refresh.running.store(false, Ordering::SeqCst);
            return;
        };
        tokio::spawn(async move {
            me.size_round(wanted).await;
            me.size_refresh.running.store(false, Ordering::SeqCst);
        });
    }

    /// Lists each repo once and saves the sizes learnt, in one database write.
    async fn size_round(&self, wanted: Vec<Wanted>) {
        let c = &self.config;
        let mut learnt = Vec::new();
        let mut listings = std::collections::HashMap::new();
        for (id, repo, revision, paths) in wanted {
            let key = (repo.clone(), revision.clone());
            if !listings.contains_key(&key) {
                let listed = huggingface::repo_files(
                    &self.http,
                    &c.hf_endpoint,
                    &repo,
                    &revision,
                    c.hf_token.as_deref(),
                    std::time::Duration::from_secs(c.search_timeout_secs),
                )
                .await;
                if let Err(e) = &listed {
                    tracing::debug!(%repo, error = %e.message, "exact sizes not learnt this time");
                }
                listings.insert(key.clone(), listed.ok());
            }
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            let files = match listings.get(&key) {
                Some(Some(listed)) => sizes_of(&paths, &listed.files),
                _ => None,
            };
            let mut failed = self.size_refresh.failed();
            match &files {
                Some(_) => failed.remove(&id),
                None => failed.insert(id.clone(), Instant::now()),
            };
            drop(failed);
            if let Some(files) = files {
                learnt.push((
                    id,
                    KnownSizes {
                        repo,
                        revision,
                        files,
                        checked_at_secs: now_secs(),
                    },
                ));
            }
        }
        let missed = self.size_refresh.failed().len();
        if missed > 0 {
            tracing::info!(
                missed,
                "some exact sizes could not be learnt from the Hub; asked again in 10 min"
            );
        }
        if learnt.is_empty() {
            return;
        }
        let count = learnt.len();
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.save_known_sizes(learnt)).await {
            Ok(Ok(())) => tracing::info!(count, "exact sizes learnt from the Hub"),
            Ok(Err(e)) => tracing::warn!(error = %e.message, "exact sizes not saved"),
            Err(e) => tracing::warn!(error = %e, "exact sizes not saved"),
        }
    }
}
