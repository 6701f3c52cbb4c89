//! CivitAI metadata of installed models: the lookup by sha256 (automatic once a record's
//! hash is known, whichever way it was installed, and on demand from the card), its preview
//! image, "Check for updates" and the download of a newer version, and the preferences.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use app::domain::{
    AddModelRequest, AppError, CivitaiInfo, CivitaiStatus, CivitaiUpdate, CivitaiVersion,
    DownloadRequest, ErrorCode, InstalledModel, Preferences,
};

use super::Service;
use crate::{
    config::Config,
    sources::civitai::{
        self,
        by_hash::{self, HashAnswer, PreviewChoice},
        preview,
    },
    storage::{hashing::is_sha256, now_rfc3339, previews::PreviewBytes, Store},
};

/// How often the watch looks for records not yet looked up (a stat of the database; it is
/// read only when it changed).
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// Between two automatic lookups.
const PACE: Duration = Duration::from_secs(1);
/// A failed automatic lookup is asked again after this long...
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(3600);
/// ...checked this often.
const RETRY_ROUND: Duration = Duration::from_secs(600);
/// A by-hash or model answer.
const API_TIMEOUT: Duration = Duration::from_secs(20);

/// The clients and the records being looked up now.
pub(super) struct Lookups {
    /// For the API: the key goes there only, and redirects are not followed.
    api: reqwest::Client,
    /// For images: no key; redirects only to CivitAI's hosts or the endpoint's.
    images: reqwest::Client,
    endpoint: String,
    token: Option<String>,
    busy: Mutex<HashSet<String>>,
}

impl Lookups {
    pub(super) fn new(config: &Config) -> Arc<Self> {
        let agent = concat!("model-manager/", env!("CARGO_PKG_VERSION"));
        let endpoint = config.civitai_endpoint.clone();
        let allowed = endpoint.clone();
        let images = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(agent)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                let ok = attempt.previous().len() < 5
                    && by_hash::image_url(attempt.url().as_str(), &allowed).is_some();
                if ok {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .expect("the HTTP client builds with static settings");
        let api = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(API_TIMEOUT)
            .user_agent(agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client builds with static settings");
        Arc::new(Self {
            api,
            images,
            endpoint,
            token: config.civitai_token.clone(),
            busy: Mutex::new(HashSet::new()),
        })
    }

    /// Marks `id` as being looked up until the guard drops (also when the request that
    /// asked is dropped mid-way); `None` when it already is.
    fn claim(self: &Arc<Self>, id: &str) -> Option<Claim> {
        let fresh = self
            .busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string());
        fresh.then(|| Claim {
            lookups: self.clone(),
            id: id.to_string(),
        })
    }
}

/// A lookup in progress; dropping it lets the next one in.
struct Claim {
    lookups: Arc<Lookups>,
    id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.lookups
            .busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// Whether the automatic lookup asks about a record: never looked up, or a lookup that
/// failed (rate limited, CivitAI down, unreachable) at least `RETRY_FAILED_AFTER` ago.
fn due(info: Option<&CivitaiInfo>, now: SystemTime) -> bool {
    let Some(info) = info else {
        return true;
    };
    info.status == CivitaiStatus::Failed
        && humantime::parse_rfc3339(&info.checked_at)
            .ok()
            .and_then(|at| now.duration_since(at).ok())
            .is_none_or(|age| age >= RETRY_FAILED_AFTER)
}

/// The record's main file's sha256, when it is known.
fn known_sha(model: &InstalledModel) -> Option<String> {
    model
        .main_file()
        .map(|f| f.sha256.clone())
        .filter(|s| is_sha256(s))
}

/// A lookup's answer as the record keeps it.
fn info_from(answer: Result<HashAnswer, by_hash::LookupError>, sha: &str) -> CivitaiInfo {
    let now = now_rfc3339();
    match answer {
        Ok(HashAnswer::Found(f)) => CivitaiInfo {
            model_id: Some(f.model_id),
            version_id: Some(f.version_id),
            model_name: f.model_name,
            version_name: f.version_name,
            base_model: f.base_model,
            trained_words: f.trained_words,
            description: f.description,
            page_url: Some(f.page_url),
            ..CivitaiInfo::without_match(CivitaiStatus::Found, sha, now, None)
        },
        Ok(HashAnswer::NotFound) => {
            CivitaiInfo::without_match(CivitaiStatus::NotFound, sha, now, None)
        }
        Err(e) => CivitaiInfo::without_match(CivitaiStatus::Failed, sha, now, Some(e.to_string())),
    }
}

/// Fetches the chosen preview and saves it beside the model, or notes why not.
async fn save_preview(
    lookups: Arc<Lookups>,
    store: Store,
    id: String,
    sha: String,
    choice: PreviewChoice,
) {
    let fetched = preview::fetch(&lookups.images, &choice.url).await;
    let saved = tokio::task::spawn_blocking(move || match fetched {
        Ok(image) => store.save_preview(
            &id,
            &sha,
            PreviewBytes {
                bytes: &image.bytes,
                extension: image.kind.extension(),
                content_type: image.kind.content_type(),
                nsfw: choice.nsfw,
                width: choice.width,
                height: choice.height,
            },
        ),
        Err(e) => {
            tracing::info!(model = %id, reason = %e, "CivitAI preview not kept");
            store.note_preview_problem(&id, &sha, e.to_string())
        }
    })
    .await;
    if let Ok(Err(e)) = saved {
        tracing::warn!(error = %e.message, "cannot save a CivitAI preview");
    }
}

/// Which version is newer than the installed one: the API lists published versions newest
/// first, so the first one when the installed version is listed after it. An installed
/// version CivitAI no longer lists (unpublished, early access) is compared by id, which
/// CivitAI hands out in creation order: an older listed version is never offered as an update.
fn newer_version(versions: &[CivitaiVersion], installed_version: u64) -> Option<&CivitaiVersion> {
    let newest = versions.first()?;
    let listed = versions.iter().any(|v| v.id == installed_version);
    let newer = if listed {
        newest.id != installed_version
    } else {
        newest.id > installed_version
    };
    newer.then_some(newest)
}

impl Service {
    /// Looks records up on CivitAI in the background once their sha256 is known and they have
    /// never been looked up (`MODELS_CIVITAI_LOOKUP`), whichever server installed them.
    pub(super) fn watch_civitai(self: &Arc<Self>) {
        if !self.config.civitai_lookup {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut seen = String::new();
            let mut round = std::time::Instant::now();
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let Some(service) = weak.upgrade() else {
                    return;
                };
                // Failed lookups come round again even when nothing else changes.
                if round.elapsed() >= RETRY_ROUND {
                    (seen, round) = (String::new(), std::time::Instant::now());
                }
                for (i, model) in service
                    .not_looked_up(&mut seen)
                    .await
                    .into_iter()
                    .enumerate()
                {
                    // Paced: a volume of many models (or the first start after an upgrade)
                    // is not a burst that CivitAI rate-limits.
                    if i > 0 {
                        tokio::time::sleep(PACE).await;
                    }
                    if let Err(e) = service.look_up(model).await {
                        tracing::debug!(error = %e.message, "CivitAI lookup skipped");
                    }
                }
            }
        });
    }

    /// Present records with a known sha256 and no CivitAI answer, when the database changed
    /// since `seen`.
    async fn not_looked_up(&self, seen: &mut String) -> Vec<InstalledModel> {
        let generation = self.store.generation();
        if generation == *seen {
            return Vec::new();
        }
        *seen = generation;
        self.blocking(|store| {
            Ok(store
                .read()?
                .installed
                .into_iter()
                .filter(|m| due(m.civitai.as_ref(), SystemTime::now()) && known_sha(m).is_some())
                .filter(|m| store.files_present(m))
                .collect())
        })
        .await
        .unwrap_or_default()
    }

    /// Asks CivitAI about a record's main file and records the answer (a 404 is kept as
    /// `not_found`); the preview is fetched after, in the background.
    async fn look_up(&self, model: InstalledModel) -> Result<InstalledModel, AppError> {
        let sha = known_sha(&model).ok_or_else(|| {
            AppError::invalid(
                "id",
                format!("{} has no sha256 yet: verify its files first", model.name),
            )
        })?;
        let lookups = self.civitai.clone();
        let Some(claim) = lookups.claim(&model.id) else {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!("{} is being looked up on CivitAI already", model.name),
            ));
        };
        let answer = by_hash::look_up(
            &lookups.api,
            &lookups.endpoint,
            lookups.token.as_deref(),
            &sha,
        )
        .await;
        drop(claim);
        let choice = match &answer {
            Ok(HashAnswer::Found(f)) => f.preview.clone(),
            _ => None,
        };
        let info = info_from(answer, &sha);
        tracing::info!(model = %model.id, status = ?info.status, "looked up on CivitAI");
        let id = model.id.clone();
        let saved = self
            .blocking(move |store| store.set_civitai(&id, info))
            .await?
            .ok_or_else(|| {
                AppError::not_found(format!("{} changed or was deleted meanwhile", model.name))
            })?;
        let has_preview = saved.civitai.as_ref().is_some_and(|c| c.preview.is_some());
        if let (Some(choice), false) = (choice, has_preview) {
            tokio::spawn(save_preview(
                lookups,
                self.store.clone(),
                saved.id.clone(),
                sha,
                choice,
            ));
        }
        Ok(saved)
    }

    async fn installed_record(&self, id: &str) -> Result<InstalledModel, AppError> {
        let id = id.to_string();
        self.blocking(move |store| {
            store
                .read()?
                .installed
                .into_iter()
                .find(|m| m.id == id)
                .ok_or_else(|| AppError::not_found(format!("no installed model with id {id}")))
        })
        .await
    }

    /// "Look up on CivitAI" / "look up again": asks now, whatever the last answer was.
    pub(super) async fn look_up_installed(&self, id: &str) -> Result<InstalledModel, AppError> {
        let model = self.installed_record(id).await?;
        self.look_up(model).await
    }

    /// The saved preview image of an installed model and its content type.
    pub async fn preview_image(&self, id: &str) -> Result<(Vec<u8>, String), AppError> {
        let id = id.to_string();
        self.blocking(move |store| {
            let (path, content_type) = store.preview_file(&id)?;
            let bytes = std::fs::read(&path)
                .map_err(|e| AppError::internal(format!("cannot read {}: {e}", path.display())))?;
            Ok((bytes, content_type))
        })
        .await
    }

    /// "Check for updates": asks CivitAI for the model's versions (looking the file up first
    /// when it never was) and records whether a newer one exists.
    pub(super) async fn check_update(&self, id: &str) -> Result<InstalledModel, AppError> {
        let mut model = self.installed_record(id).await?;
        if model.civitai.as_ref().map(|c| c.status) != Some(CivitaiStatus::Found) {
            model = self.look_up(model).await?;
        }
        let info = model
            .civitai
            .clone()
            .filter(|c| c.status == CivitaiStatus::Found);
        let (Some(info), Some(sha)) = (info, known_sha(&model)) else {
            return Err(AppError::invalid(
                "id",
                format!(
                    "CivitAI does not know {}: updates can be checked only for models found there",
                    model.name
                ),
            ));
        };
        let (Some(model_id), Some(version_id)) = (info.model_id, info.version_id) else {
            return Err(AppError::internal("a found CivitAI record has no ids"));
        };
        let lookups = self.civitai.clone();
        // The same lookup as the Add tab's version picker (one home for `/api/v1/models/{id}`
        // on this path), on the client that sends the key to CivitAI's API only.
        let versions = civitai::search::model_versions(
            &lookups.api,
            &lookups.endpoint,
            model_id,
            lookups.token.as_deref(),
            Duration::from_secs(self.config.search_timeout_secs),
        )
        .await?;
        let newer = newer_version(&versions, version_id);
        let update = CivitaiUpdate {
            checked_at: now_rfc3339(),
            version_id: newer.map(|v| v.id),
            version_name: newer.map(|v| v.name.clone()),
            page_url: newer.map(|v| by_hash::page_url(&lookups.endpoint, model_id, Some(v.id))),
        };
        let id = model.id.clone();
        self.blocking(move |store| store.set_civitai_update(&id, &sha, update))
            .await?
            .ok_or_else(|| AppError::not_found(format!("{} changed meanwhile", model.name)))
    }

    /// Adds the newer version found by "Check for updates" as a custom model (or finds it
    /// added already) and starts its download; the installed one stays. The job id.
    pub(super) async fn download_update(&self, id: &str) -> Result<String, AppError> {
        let model = self.installed_record(id).await?;
        let Some(page) = model
            .civitai
            .as_ref()
            .and_then(|c| c.update.as_ref())
            .and_then(|u| u.page_url.clone())
        else {
            return Err(AppError::invalid(
                "id",
                format!(
                    "no newer version of {} is known: check for updates first",
                    model.name
                ),
            ));
        };
        let request = AddModelRequest {
            civitai_url: Some(page),
            model_type: Some(model.model_type),
            family: Some(model.family),
            ..Default::default()
        };
        let (custom, _) = self.build_custom(request).await?;
        let existing = self
            .blocking(|store| Ok(store.read()?.custom_models))
            .await?
            .into_iter()
            .find(|m| m.same_source(&custom));
        let model_id = match existing {
            Some(added) => added.id,
            None => {
                let reserved: Vec<String> =
                    self.catalog.models().iter().map(|m| m.id.clone()).collect();
                self.blocking(move |store| store.add_custom(custom, &reserved))
                    .await?
                    .id
            }
        };
        app::port::ModelService::start_download(
            self,
            DownloadRequest {
                model_id,
                ..Default::default()
            },
        )
        .await
    }

    pub(super) async fn read_preferences(&self) -> Result<Preferences, AppError> {
        self.blocking(|store| Ok(store.read()?.preferences)).await
    }

    pub(super) async fn save_preferences(
        &self,
        preferences: Preferences,
    ) -> Result<Preferences, AppError> {
        let saved = self
            .blocking(move |store| store.set_preferences(preferences))
            .await?;
        tracing::info!(show_nsfw = saved.show_nsfw_previews, "preferences saved");
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: u64) -> CivitaiVersion {
        CivitaiVersion {
            id,
            name: format!("v{id}"),
            base_model: String::new(),
            published_at: None,
            trained_words: vec![],
            files: vec![],
            preview_url: None,
        }
    }

    #[test]
    fn the_automatic_lookup_asks_new_records_and_failed_ones_an_hour_later() {
        let now = SystemTime::now();
        let at = |secs_ago: u64| {
            humantime::format_rfc3339_seconds(now - Duration::from_secs(secs_ago)).to_string()
        };
        let info = |status, secs_ago| CivitaiInfo::without_match(status, "a", at(secs_ago), None);
        assert!(due(None, now), "never looked up");
        assert!(
            !due(Some(&info(CivitaiStatus::Failed, 60)), now),
            "failed a minute ago"
        );
        assert!(
            due(Some(&info(CivitaiStatus::Failed, 3_700)), now),
            "failed an hour ago"
        );
        assert!(
            !due(Some(&info(CivitaiStatus::NotFound, 99_999)), now),
            "a 404 is kept"
        );
        assert!(!due(Some(&info(CivitaiStatus::Found, 99_999)), now));
    }

    #[test]
    fn the_newest_version_is_an_update_unless_it_is_installed() {
        let versions = [version(30), version(20), version(10)];
        assert_eq!(newer_version(&versions, 20).map(|v| v.id), Some(30));
        assert_eq!(newer_version(&versions, 10).map(|v| v.id), Some(30));
        assert!(newer_version(&versions, 30).is_none());
        assert!(newer_version(&[], 30).is_none());
        // A version CivitAI no longer lists (unpublished): the newest listed is offered when
        // it came after it, never when it is older.
        assert_eq!(newer_version(&versions, 5).map(|v| v.id), Some(30));
        assert!(newer_version(&versions, 35).is_none());
    }

    #[test]
    fn answers_become_what_the_record_keeps() {
        let sha = "a".repeat(64);
        let not_found = info_from(Ok(HashAnswer::NotFound), &sha);
        assert_eq!(not_found.status, CivitaiStatus::NotFound);
        assert_eq!(not_found.sha256, sha);
        let failed = info_from(Err(by_hash::LookupError::Status(500)), &sha);
        assert_eq!(failed.status, CivitaiStatus::Failed);
        assert!(failed.message.unwrap().contains("500"));
    }
}
