//! Turning a model (built-in or custom) into a download plan.

use app::domain::{AppError, SourceType};
use url::Url;

use super::Service;
use crate::{
    download::{FileSource, Plan, PlannedFile},
    registry::{CustomModel, CustomSource, KnownSizes},
    storage::{hf_cache::Survivor, paths, Database},
};

impl Service {
    /// The plan for `model_id`, or 404. A Hub file whose sha256 neither the catalog nor the
    /// add-time check gave gets the one the tree API listed (`listed_sha256`).
    pub(super) fn plan_for(&self, model_id: &str, db: &Database) -> Result<Plan, AppError> {
        let mut plan = self.plan_of(model_id, &db.custom_models)?;
        if let Some(known) = db.known_sizes.get(model_id) {
            with_listed_sha256(&mut plan, known);
        }
        Ok(plan)
    }

    fn plan_of(&self, model_id: &str, custom: &[CustomModel]) -> Result<Plan, AppError> {
        if let Some(m) = self.catalog.get(model_id) {
            return Ok(Plan {
                model_id: m.id.clone(),
                model_name: m.name.clone(),
                family: m.family,
                model_type: m.model_type,
                source: SourceType::Huggingface,
                folder: folder(m.family, m.model_type, &m.id),
                files: m
                    .files
                    .iter()
                    .map(|f| hf_file(&m.repo, &m.revision, &f.path, f.size, f.sha256.clone()))
                    .collect(),
                needs_hf_token: m.gated,
                needs_civitai_token: false,
            });
        }
        let m = custom
            .iter()
            .find(|m| m.id == model_id)
            .ok_or_else(|| AppError::not_found(format!("no model with id {model_id}")))?;
        let files = match &m.source {
            // What the Hub listed when the model was added is no pin: on a branch the file may
            // change, and the resolve answer's newer X-Linked-Etag and size then win.
            CustomSource::Huggingface { repo, revision } => m
                .files
                .iter()
                .map(|f| PlannedFile {
                    listed_sha256: f.sha256.clone(),
                    listed_size: f.size_bytes,
                    ..hf_file(repo, revision, &f.path, None, None)
                })
                .collect(),
            CustomSource::Civitai { version_id, .. } => m
                .files
                .iter()
                .map(|f| PlannedFile {
                    source: FileSource::Civitai {
                        version_id: *version_id,
                        query: f
                            .url
                            .as_deref()
                            .and_then(|u| Url::parse(u).ok())
                            .and_then(|u| u.query().map(|q| format!("?{q}")))
                            .unwrap_or_default(),
                    },
                    dest: f.path.clone(),
                    // CivitAI gives sizes in rounded KB only: the SHA256 is the check.
                    expected_size: None,
                    expected_sha256: f.sha256.clone(),
                    listed_sha256: None,
                    listed_size: None,
                })
                .collect(),
            CustomSource::Url { url } => m
                .files
                .iter()
                .map(|f| PlannedFile {
                    source: FileSource::Url {
                        url: f.url.clone().unwrap_or_else(|| url.clone()),
                    },
                    dest: f.path.clone(),
                    expected_size: f.size_bytes,
                    expected_sha256: f.sha256.clone(),
                    listed_sha256: None,
                    listed_size: None,
                })
                .collect(),
        };
        Ok(Plan {
            model_id: m.id.clone(),
            model_name: m.name.clone(),
            family: m.family,
            model_type: m.model_type,
            source: m.source_type(),
            folder: folder(m.family, m.model_type, &m.id),
            files,
            needs_hf_token: m.requires_token
                && matches!(m.source, CustomSource::Huggingface { .. }),
            needs_civitai_token: m.requires_token
                && matches!(m.source, CustomSource::Civitai { .. }),
        })
    }
}

/// Gives each Hub file without a sha256 (pinned or listed at add time) the one `known` (the tree API's listing of
/// the same repo and revision) has for it.
fn with_listed_sha256(plan: &mut Plan, known: &KnownSizes) {
    for file in &mut plan.files {
        if let FileSource::Huggingface {
            repo,
            revision,
            path,
        } = &file.source
        {
            if file.expected_sha256.is_none() && file.listed_sha256.is_none() {
                file.listed_sha256 = known.sha256_of(repo, revision, path).map(str::to_string);
            }
        }
    }
}

/// The installed files of Hugging Face models, as the Hub knows them (repo and repo path):
/// what can take over the cache entries of a deleted copy.
pub(super) fn hub_files(
    catalog: &crate::registry::Catalog,
    db: &crate::storage::Database,
    models_dir: &std::path::Path,
) -> Vec<Survivor> {
    let repo_of = |source: &str| {
        catalog.get(source).map(|m| m.repo.clone()).or_else(|| {
            db.custom_models
                .iter()
                .find(|c| c.id == source)
                .and_then(|c| match &c.source {
                    CustomSource::Huggingface { repo, .. } => Some(repo.clone()),
                    _ => None,
                })
        })
    };
    let mut out = Vec::new();
    for model in &db.installed {
        let Some(source) = model.source_model_id.as_deref() else {
            continue;
        };
        let Some(repo) = repo_of(source) else {
            continue;
        };
        let prefix = format!("{}/", folder(model.family, model.model_type, source));
        out.extend(model.files.iter().filter_map(|f| {
            Some(Survivor {
                repo: repo.clone(),
                repo_path: f.path.strip_prefix(&prefix)?.to_string(),
                sha256: f.sha256.clone(),
                installed: models_dir.join(&f.path),
            })
        }));
    }
    out
}

fn folder(
    family: app::domain::ModelFamily,
    model_type: app::domain::ModelType,
    id: &str,
) -> String {
    format!(
        "{}/{}",
        paths::category_folder(family, model_type),
        paths::slug(id)
    )
}

fn hf_file(
    repo: &str,
    revision: &str,
    path: &str,
    size: Option<u64>,
    sha256: Option<String>,
) -> PlannedFile {
    let source = match path.strip_suffix('/') {
        Some(folder) => FileSource::HuggingfaceFolder {
            repo: repo.to_string(),
            revision: revision.to_string(),
            folder: folder.to_string(),
        },
        None => FileSource::Huggingface {
            repo: repo.to_string(),
            revision: revision.to_string(),
            path: path.to_string(),
        },
    };
    PlannedFile {
        source,
        dest: path.trim_end_matches('/').to_string(),
        expected_size: size,
        expected_sha256: sha256,
        listed_sha256: None,
        listed_size: None,
    }
}
