//! Search on Hugging Face and CivitAI for the Add tab, a Hub repo's files and a CivitAI
//! model's versions, each answer kept briefly in memory so paging back and forth or opening
//! the same result again asks the site once.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use app::domain::{AppError, CivitaiModel, RepoFiles, SearchPage, SearchQuery, SearchSource};

use super::Service;
use crate::sources::{civitai, huggingface};

/// How long an answer is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Answers kept at most, per kind.
pub const CACHE_ENTRIES: usize = 256;

/// A small map whose entries expire after a time and whose size is bounded (the oldest entry
/// goes first). Hand-written: three dozen lines against a caching crate's compile time on the
/// build machines; the behaviour is unit-tested below.
pub struct TtlCache<V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value stored under `key` less than the TTL ago.
    pub fn get(&self, key: &str, now: Instant) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| now.duration_since(*at) < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, value: V, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (now, value));
    }
}

/// The three kinds of answers kept.
pub struct SearchCache {
    pages: TtlCache<SearchPage>,
    files: TtlCache<RepoFiles>,
    models: TtlCache<CivitaiModel>,
}

impl Default for SearchCache {
    fn default() -> Self {
        Self {
            pages: TtlCache::new(CACHE_TTL, CACHE_ENTRIES),
            files: TtlCache::new(CACHE_TTL, CACHE_ENTRIES),
            models: TtlCache::new(CACHE_TTL, CACHE_ENTRIES),
        }
    }
}

/// The answer under `key`, else `fetch`'s (kept when it succeeded; errors are not kept).
async fn cached<V: Clone>(
    cache: &TtlCache<V>,
    key: String,
    fetch: impl std::future::Future<Output = Result<V, AppError>>,
) -> Result<V, AppError> {
    if let Some(hit) = cache.get(&key, Instant::now()) {
        return Ok(hit);
    }
    let value = fetch.await?;
    cache.put(key, value.clone(), Instant::now());
    Ok(value)
}

impl Service {
    fn search_timeout(&self) -> Duration {
        Duration::from_secs(self.config.search_timeout_secs)
    }

    /// A page of results from the chosen site.
    pub(super) async fn search_page(&self, query: SearchQuery) -> Result<SearchPage, AppError> {
        let query = query.checked()?;
        let key = serde_json::to_string(&query).map_err(|e| AppError::internal(e.to_string()))?;
        let (c, timeout) = (&self.config, self.search_timeout());
        let fetch = async {
            match query.source {
                SearchSource::Huggingface => {
                    huggingface::search(
                        &self.http,
                        &c.hf_endpoint,
                        &query,
                        c.hf_token.as_deref(),
                        timeout,
                    )
                    .await
                }
                SearchSource::Civitai => {
                    civitai::search::search(
                        &self.http,
                        &c.civitai_endpoint,
                        &query,
                        c.civitai_token.as_deref(),
                        timeout,
                    )
                    .await
                }
            }
        };
        cached(&self.search_cache.pages, key, fetch).await
    }

    /// A Hub repo's files at a revision (default `main`), the main weights preselected.
    pub(super) async fn repo_files(
        &self,
        repo: &str,
        revision: Option<&str>,
    ) -> Result<RepoFiles, AppError> {
        huggingface::validate_repo(repo).map_err(|e| AppError {
            field: Some("repo".into()),
            ..e
        })?;
        let revision = revision
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("main");
        app::domain::check_text("revision", revision, false)?;
        if revision.len() > 200 || revision.contains("..") {
            return Err(AppError::invalid("revision", "not a revision of a repo"));
        }
        let c = &self.config;
        let fetch = huggingface::repo_files(
            &self.http,
            &c.hf_endpoint,
            repo,
            revision,
            c.hf_token.as_deref(),
            self.search_timeout(),
        );
        cached(
            &self.search_cache.files,
            format!("{repo}@{revision}"),
            fetch,
        )
        .await
    }

    /// A CivitAI model and its versions for the version picker.
    pub(super) async fn civitai_versions(&self, model_id: u64) -> Result<CivitaiModel, AppError> {
        if !(1..=2_147_483_647).contains(&model_id) {
            return Err(AppError::invalid(
                "modelId",
                format!("{model_id} is not a CivitAI model id"),
            ));
        }
        let c = &self.config;
        let fetch = civitai::search::model(
            &self.http,
            &c.civitai_endpoint,
            model_id,
            c.civitai_token.as_deref(),
            self.search_timeout(),
        );
        cached(&self.search_cache.models, model_id.to_string(), fetch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_oldest_goes_first() {
        let cache = TtlCache::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        cache.put("a".into(), 1, t0);
        assert_eq!(cache.get("a", t0 + Duration::from_secs(59)), Some(1));
        assert_eq!(cache.get("a", t0 + Duration::from_secs(60)), None);
        cache.put("b".into(), 2, t0 + Duration::from_secs(1));
        cache.put("c".into(), 3, t0 + Duration::from_secs(2));
        assert_eq!(cache.get("a", t0 + Duration::from_secs(2)), None, "bounded");
        assert_eq!(cache.get("b", t0 + Duration::from_secs(2)), Some(2));
        assert_eq!(cache.get("c", t0 + Duration::from_secs(2)), Some(3));
        cache.put("c".into(), 4, t0 + Duration::from_secs(3));
        assert_eq!(
            cache.get("b", t0 + Duration::from_secs(3)),
            Some(2),
            "a replacement evicts nothing"
        );
        cache.put("d".into(), 5, t0 + Duration::from_secs(120));
        assert_eq!(cache.get("d", t0 + Duration::from_secs(120)), Some(5));
        assert_eq!(
            cache.entries.lock().unwrap().len(),
            1,
            "expired entries are dropped"
        );
    }
}
