//! Turning an `AddModelRequest` into a saved custom model: validation and source lookups.

use app::domain::{
    check_text, AddModelRequest, AppError, ErrorCode, ModelFamily, ModelType, ModelUpdate,
    SourceType,
};
use url::Url;

use super::Service;
use crate::{
    download::net,
    registry::{CustomModel, CustomSource, RemoteFile},
    sources::{civitai, direct_url, huggingface},
    storage::{now_rfc3339, paths},
};

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Which source the request means: `sourceType`, else the one source whose fields are present.
fn source_of(req: &AddModelRequest) -> Result<SourceType, AppError> {
    let present = [
        (
            SourceType::Huggingface,
            non_empty(&req.huggingface_repo).is_some(),
        ),
        (SourceType::Civitai, non_empty(&req.civitai_url).is_some()),
        (SourceType::Url, non_empty(&req.url).is_some()),
    ];
    if let Some(source) = req.source_type {
        return match source {
            SourceType::Upload => Err(AppError::invalid(
                "sourceType",
                "uploads go to POST /api/models/upload as multipart form data",
            )),
            SourceType::Local => Err(AppError::invalid(
                "sourceType",
                "files already on the volume are adopted: POST /api/models/scan, then POST /api/models/adopt",
            )),
            s => Ok(s),
        };
    }
    let mut given = present.iter().filter(|(_, p)| *p).map(|(s, _)| *s);
    match (given.next(), given.next()) {
        (Some(source), None) => Ok(source),
        (None, _) => Err(AppError::invalid(
            "sourceType",
            "give a source: huggingfaceRepo, civitaiUrl or url",
        )),
        (Some(_), Some(_)) => Err(AppError::invalid(
            "sourceType",
            "give one source only (huggingfaceRepo, civitaiUrl or url), or set sourceType",
        )),
    }
}

/// Name and description as given, trimmed and bounded; line breaks only where `multiline`.
fn text(
    value: &Option<String>,
    field: &str,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, AppError> {
    match non_empty(value) {
        Some(v) if v.chars().count() > max => Err(AppError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        )),
        Some(v) => check_text(field, v, multiline).map(|()| Some(v.to_string())),
        None => Ok(None),
    }
}

fn tags(req: &AddModelRequest) -> Result<Vec<String>, AppError> {
    let mut tags: Vec<String> = req
        .tags
        .iter()
        .flatten()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty() && t.len() <= 40)
        .collect();
    tags.iter().try_for_each(|t| check_text("tags", t, false))?;
    tags.dedup();
    tags.truncate(20);
    Ok(tags)
}

/// "already installed as X (path)" when one of the model's files, by the sha256 its source
/// published, is already on the volume: the one answer of the add form's check and of the add.
pub(super) fn on_volume(
    db: &crate::storage::Database,
    models_dir: &std::path::Path,
    model: &CustomModel,
) -> Option<String> {
    let published = model.files.iter().filter_map(|f| f.sha256.as_deref());
    crate::download::reuse::already_installed(db, models_dir, published)
}

/// The saved model that fetches what `model` would, as a 409 that names it.
pub(super) fn refuse_duplicate(saved: &[CustomModel], model: &CustomModel) -> Result<(), AppError> {
    match saved.iter().find(|m| m.same_source(model)) {
        Some(m) => Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "this source was already added as \"{}\" (id {})",
                m.name, m.id
            ),
        )),
        None => Ok(()),
    }
}

/// Applies an edit with the same rules as adding: a name stays non-empty, texts are checked.
pub(super) fn apply_update(model: &mut CustomModel, update: &ModelUpdate) -> Result<(), AppError> {
    if let Some(name) = &update.name {
        model.name = text(&Some(name.clone()), "name", 200, false)?
            .ok_or_else(|| AppError::invalid("name", "give the model a name"))?;
    }
    if let Some(description) = &update.description {
        model.description =
            text(&Some(description.clone()), "description", 2000, true)?.unwrap_or_default();
    }
    if let Some(list) = &update.tags {
        model.tags = tags(&AddModelRequest {
            tags: Some(list.clone()),
            ..Default::default()
        })?;
    }
    if let Some(t) = update.model_type {
        model.model_type = t;
    }
    if let Some(f) = update.family {
        model.family = f;
    }
    Ok(())
}

impl Service {
    /// A custom model from a request, and what could not be checked (the Hub unreachable).
    pub(super) async fn build_custom(
        &self,
        req: AddModelRequest,
    ) -> Result<(CustomModel, Option<String>), AppError> {
        let source = source_of(&req)?;
        req.check_tokens()?;
        let name = text(&req.name, "name", 200, false)?;
        let description = text(&req.description, "description", 2000, true)?.unwrap_or_default();
        let mut model = CustomModel {
            id: String::new(),
            name: name.clone().unwrap_or_default(),
            description,
            family: req.family.unwrap_or(ModelFamily::Custom),
            model_type: req.model_type.unwrap_or(ModelType::BaseModel),
            tags: tags(&req)?,
            requires_token: false,
            source: CustomSource::Url { url: String::new() },
            files: Vec::new(),
            created_at: now_rfc3339(),
        };
        let mut unchecked = None;
        match source {
            SourceType::Huggingface => {
                unchecked = self.resolve_huggingface(&req, &mut model).await?
            }
            SourceType::Civitai => self.resolve_civitai(&req, &mut model).await?,
            SourceType::Url | SourceType::Upload | SourceType::Local => {
                self.resolve_url(&req, &mut model).await?
            }
        }
        if model.name.is_empty() {
            return Err(AppError::invalid("name", "give the model a name"));
        }
        Ok((model, unchecked))
    }

    /// Returns why the repo could not be checked, when the Hub could not be reached.
    async fn resolve_huggingface(
        &self,
        req: &AddModelRequest,
        model: &mut CustomModel,
    ) -> Result<Option<String>, AppError> {
        let repo = non_empty(&req.huggingface_repo)
            .unwrap_or_default()
            .to_string();
        huggingface::validate_repo(&repo)?;
        let files: Vec<String> = req
            .huggingface_files
            .iter()
            .flatten()
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect();
        huggingface::validate_files(&files)?;
        let revision = non_empty(&req.huggingface_revision)
            .unwrap_or("main")
            .to_string();
        if revision.contains("..") || revision.starts_with('/') {
            return Err(AppError::invalid(
                "huggingfaceRevision",
                "not a valid revision",
            ));
        }
        check_text("huggingfaceRevision", &revision, false)?;
        let token = non_empty(&req.huggingface_token).or(self.config.hf_token.as_deref());
        let mut remote: Vec<RemoteFile> = files
            .iter()
            .map(|path| RemoteFile {
                path: path.clone(),
                size_bytes: None,
                sha256: None,
                url: None,
            })
            .collect();
        // With a token, the repo and files must check out. Without one, a check that cannot
        // reach the Hub still saves the model (sizes unknown); a clear "no such repo" does not.
        let mut unchecked = None;
        match huggingface::check_repo(
            &self.http,
            &self.config.hf_endpoint,
            &repo,
            &revision,
            &files,
            token,
        )
        .await
        {
            Ok(check) => {
                model.requires_token =
                    check.gated_or_private || non_empty(&req.huggingface_token).is_some();
                for f in &mut remote {
                    if let Some((size, sha)) = check.files.get(&f.path) {
                        f.size_bytes = *size;
                        f.sha256 = sha.clone();
                    }
                }
            }
            Err(e) if token.is_none() && e.code == app::domain::ErrorCode::Upstream => {
                tracing::warn!(%repo, error = %e.message, "saved without checking the repo");
                unchecked = Some(format!(
                    "Could not reach Hugging Face to check {repo} ({}). It can still be added: \
                     its size and whether it needs a token stay unknown until it downloads.",
                    e.message
                ));
            }
            Err(e) => return Err(e),
        }
        if model.name.is_empty() {
            model.name = repo.rsplit('/').next().unwrap_or(&repo).to_string();
        }
        model.source = CustomSource::Huggingface { repo, revision };
        model.files = remote;
        Ok(unchecked)
    }

    async fn resolve_civitai(
        &self,
        req: &AddModelRequest,
        model: &mut CustomModel,
    ) -> Result<(), AppError> {
        let endpoint_host = Url::parse(&self.config.civitai_endpoint)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        let reference = civitai::parse_ref(
            non_empty(&req.civitai_url).unwrap_or_default(),
            endpoint_host.as_deref(),
        )?;
        let token = non_empty(&req.civitai_token).or(self.config.civitai_token.as_deref());
        let found =
            civitai::resolve(&self.http, &self.config.civitai_endpoint, reference, token).await?;
        if model.name.is_empty() {
            model.name = format!("{} {}", found.model_name, found.version_name)
                .trim()
                .to_string();
        }
        if req.model_type.is_none() {
            model.model_type = civitai::model_type(&found.civitai_type);
        }
        if req.family.is_none() {
            model.family = civitai::family(&found.base_model);
        }
        if model.tags.is_empty() {
            model.tags = found
                .tags
                .iter()
                .take(10)
                .map(|t| t.to_lowercase())
                .collect();
        }
        model.requires_token = non_empty(&req.civitai_token).is_some();
        let file_name = paths::sanitize_file_name(&found.file_name)
            .unwrap_or_else(|| format!("civitai-{}.safetensors", found.version_id));
        model.files = vec![RemoteFile {
            path: file_name,
            size_bytes: found.size_bytes,
            sha256: found.sha256,
            url: Some(found.download_url),
        }];
        model.source = CustomSource::Civitai {
            model_id: found.model_id,
            version_id: found.version_id,
            version_name: found.version_name,
            base_model: found.base_model,
            page_url: Some(civitai::by_hash::page_url(
                &self.config.civitai_endpoint,
                found.model_id,
                Some(found.version_id),
            )),
        };
        Ok(())
    }

    /// A direct link: checked, named, and refused if it points at this machine or a private
    /// network (unless `MODELS_ALLOW_PRIVATE_URLS`). A host that cannot be resolved now is
    /// saved; the download checks the address again.
    async fn resolve_url(
        &self,
        req: &AddModelRequest,
        model: &mut CustomModel,
    ) -> Result<(), AppError> {
        let (url, file_name) = direct_url::validate(
            non_empty(&req.url).unwrap_or_default(),
            non_empty(&req.file_name),
        )?;
        let sha256 = direct_url::validate_sha256(req.sha256.as_deref())?;
        if !self.config.allow_private_urls {
            match net::check_public(&url, &net::system_lookup()).await {
                Err(e) if e.code == ErrorCode::Upstream => {
                    let host = url.host_str().unwrap_or_default();
                    tracing::warn!(%host, error = %e.message, "saved without checking the address");
                }
                checked => checked?,
            }
        }
        if model.name.is_empty() {
            model.name = paths::file_stem(&file_name).to_string();
        }
        model.files = vec![RemoteFile {
            path: file_name,
            size_bytes: None,
            sha256,
            url: Some(url.to_string()),
        }];
        model.source = CustomSource::Url {
            url: url.to_string(),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_inferred_or_must_be_unambiguous() {
        let mut req = AddModelRequest {
            url: Some("https://x/y.safetensors".into()),
            ..Default::default()
        };
        assert_eq!(source_of(&req).unwrap(), SourceType::Url);
        req.civitai_url = Some("https://civitai.com/models/1".into());
        assert_eq!(
            source_of(&req).unwrap_err().field.as_deref(),
            Some("sourceType")
        );
        req.source_type = Some(SourceType::Civitai);
        assert_eq!(source_of(&req).unwrap(), SourceType::Civitai);
        assert!(source_of(&AddModelRequest::default()).is_err());
    }

    fn hf(repo: &str, revision: &str, files: &[&str]) -> CustomModel {
        CustomModel {
            id: repo.replace('/', "-"),
            name: repo.into(),
            description: String::new(),
            family: ModelFamily::Custom,
            model_type: ModelType::BaseModel,
            tags: Vec::new(),
            requires_token: false,
            source: CustomSource::Huggingface {
                repo: repo.into(),
                revision: revision.into(),
            },
            files: files
                .iter()
                .map(|p| RemoteFile {
                    path: p.to_string(),
                    size_bytes: None,
                    sha256: None,
                    url: None,
                })
                .collect(),
            created_at: String::new(),
        }
    }

    #[test]
    fn the_same_source_twice_is_a_conflict_that_names_the_first() {
        let saved = [hf("Org/Repo", "main", &["a.safetensors", "b.safetensors"])];
        let again = hf("org/repo", "main", &["b.safetensors", "a.safetensors"]);
        let err = refuse_duplicate(&saved, &again).unwrap_err();
        assert_eq!(err.code, ErrorCode::Conflict);
        assert!(
            err.message.contains("already added as \"Org/Repo\""),
            "{}",
            err.message
        );
        // Another revision or another file set is another model.
        assert!(refuse_duplicate(
            &saved,
            &hf("org/repo", "dev", &["a.safetensors", "b.safetensors"])
        )
        .is_ok());
        assert!(refuse_duplicate(&saved, &hf("org/repo", "main", &["a.safetensors"])).is_ok());
    }

    #[test]
    fn edits_follow_the_rules_of_adding() {
        let mut model = hf("org/repo", "main", &["a.safetensors"]);
        let update = ModelUpdate {
            name: Some("  My LoRA ".into()),
            tags: Some(vec!["Portrait".into(), " ".into()]),
            model_type: Some(ModelType::Lora),
            ..Default::default()
        };
        apply_update(&mut model, &update).unwrap();
        assert_eq!(model.name, "My LoRA");
        assert_eq!(model.tags, ["portrait"]);
        assert_eq!(model.model_type, ModelType::Lora);
        assert_eq!(model.family, ModelFamily::Custom, "absent fields stay");

        let before = model.clone();
        for bad in [
            ModelUpdate {
                name: Some("   ".into()),
                ..Default::default()
            },
            ModelUpdate {
                name: Some("x".repeat(201)),
                ..Default::default()
            },
            ModelUpdate {
                description: Some("bad\u{0}".into()),
                ..Default::default()
            },
        ] {
            let mut copy = model.clone();
            assert!(apply_update(&mut copy, &bad).is_err(), "{bad:?}");
        }
        assert_eq!(model, before);
    }
}
