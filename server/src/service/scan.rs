//! The volume scan and adopting what it finds; missing models.

use std::{
    fs,
    path::{Component, Path, PathBuf},
};

use app::domain::{
    AdoptRequest, AppError, Identification, InstalledFile, InstalledModel, ScanStatus, SourceType,
};

use super::Service;
use crate::{
    inspect::Format,
    scan,
    storage::{hashing, now_rfc3339, paths, HashCacheEntry, Store},
};

/// Most files one adopt request may name.
const MAX_ADOPT_FILES: usize = 1000;

/// One file to adopt, checked: where it is and what it is.
struct Adoptee {
    /// As the request named it.
    requested: String,
    /// Canonical path.
    path: PathBuf,
    /// Relative to `MODELS_DIR` when it is under it.
    rel: Option<String>,
    size: u64,
    sha256: String,
    identification: Identification,
}

impl Service {
    /// The folders a scan reads: `MODELS_DIR` first, then `MODELS_SCAN_DIRS`.
    fn scan_roots(&self) -> Vec<PathBuf> {
        std::iter::once(self.config.models_dir.clone())
            .chain(self.config.scan_dirs.iter().cloned())
            .collect()
    }

    pub(super) fn begin_scan(&self) -> ScanStatus {
        self.scanner.start(self.store.clone(), self.scan_roots())
    }

    pub(super) fn current_scan(&self) -> ScanStatus {
        self.scanner.status()
    }

    /// Registers files already on the volume as one installed model.
    pub(super) async fn adopt_files(
        &self,
        request: AdoptRequest,
    ) -> Result<InstalledModel, AppError> {
        check_request(&request)?;
        let roots = self.scan_roots();
        let scanner = self.scanner.clone();
        let installed = self
            .blocking(move |store| {
                let files = request
                    .paths
                    .iter()
                    .map(|p| checked_file(&store, &roots, &scanner, p))
                    .collect::<Result<Vec<_>, _>>()?;
                let (record, moves) = adoption(&request, &files)?;
                let installed = store.adopt(&moves, record)?;
                files.iter().for_each(|f| scanner.adopted(&f.requested));
                Ok(installed)
            })
            .await?;
        tracing::info!(id = %installed.id, files = installed.files.len(), "files adopted");
        Ok(installed)
    }

    /// Drops the record of a model whose files are gone; no file is touched.
    pub(super) async fn forget_record(&self, id: &str) -> Result<InstalledModel, AppError> {
        let id = id.to_string();
        let forgotten = self.blocking(move |store| store.forget(&id)).await?;
        tracing::info!(id = %forgotten.id, "installed record forgotten");
        Ok(forgotten)
    }
}

fn check_request(request: &AdoptRequest) -> Result<(), AppError> {
    if request.paths.is_empty() {
        return Err(AppError::invalid(
            "paths",
            "say which files to adopt: paths lists absolute paths from GET /api/models/scan",
        ));
    }
    if request.paths.len() > MAX_ADOPT_FILES {
        return Err(AppError::invalid(
            "paths",
            format!("at most {MAX_ADOPT_FILES} files at once"),
        ));
    }
    if let Some(name) = &request.name {
        if name.trim().is_empty() || name.chars().count() > 200 {
            return Err(AppError::invalid(
                "name",
                "name must have 1 to 200 characters",
            ));
        }
    }
    Ok(())
}

/// A requested path, checked: an existing model file under a scan root, not hidden (partial
/// downloads), with its identification and sha256 (from the scan or its cache when the file
/// is unchanged, else read now).
fn checked_file(
    store: &Store,
    roots: &[PathBuf],
    scanner: &scan::Scanner,
    requested: &str,
) -> Result<Adoptee, AppError> {
    let invalid = |why: String| AppError::invalid("paths", why);
    let given = Path::new(requested);
    if !given.is_absolute() || given.components().any(|c| c == Component::ParentDir) {
        return Err(invalid(format!(
            "{requested:?} is not an absolute path: use the paths GET /api/models/scan lists"
        )));
    }
    let path = fs::canonicalize(given)
        .map_err(|e| AppError::not_found(format!("no file at {requested}: {e}")))?;
    let metadata = fs::metadata(&path).map_err(|e| invalid(format!("{requested}: {e}")))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    if !metadata.is_file() || Format::from_file_name(&name).is_none() {
        return Err(invalid(format!(
            "{requested} is not a model file ({})",
            crate::inspect::ACCEPTED_EXTENSIONS
        )));
    }
    let root = roots
        .iter()
        .filter_map(|r| fs::canonicalize(r).ok())
        .find(|r| path.starts_with(r))
        .ok_or_else(|| {
            invalid(format!(
                "{requested} is not under MODELS_DIR or MODELS_SCAN_DIRS"
            ))
        })?;
    let inside = path.strip_prefix(&root).unwrap_or(&path);
    if inside
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    {
        return Err(invalid(format!(
            "{requested} is in a hidden folder (partial downloads live there) and cannot be adopted"
        )));
    }
    let models_dir = fs::canonicalize(store.models_dir()).unwrap_or_default();
    let rel = path
        .strip_prefix(&models_dir)
        .ok()
        .map(|r| r.to_string_lossy().into_owned());
    let known = known_entry(store, scanner, requested, &path);
    let identification = match &known {
        Some(entry) => entry.identification.clone(),
        None => crate::inspect::identify_file(&path, &name)
            .unwrap_or_else(|| Identification::unknown("not a model file")),
    };
    let sha256 = match known.and_then(|e| e.sha256) {
        Some(sha) => sha,
        None => {
            hashing::sha256_file(&path)
                .map_err(|e| AppError::internal(format!("cannot read {requested}: {e}")))?
                .0
        }
    };
    Ok(Adoptee {
        requested: requested.to_string(),
        path,
        rel,
        size: metadata.len(),
        sha256,
        identification,
    })
}

/// What the scan or the database cache knows of an unchanged file.
fn known_entry(
    store: &Store,
    scanner: &scan::Scanner,
    requested: &str,
    path: &Path,
) -> Option<HashCacheEntry> {
    let cached = store.read().ok()?.hash_cache.into_iter().find(|e| {
        (e.path == requested || Path::new(&e.path) == path) && scan::entry_still_valid(path, e)
    });
    match (cached, scanner.untracked(requested)) {
        (Some(mut entry), Some(listed)) => {
            entry.sha256 = entry.sha256.or(listed.sha256);
            Some(entry)
        }
        (cached, _) => cached,
    }
}

/// The record (final paths) and the moves of an adoption.
fn adoption(
    request: &AdoptRequest,
    files: &[Adoptee],
) -> Result<(InstalledModel, Vec<(PathBuf, String)>), AppError> {
    let first = &files[0];
    let family = request
        .family
        .unwrap_or_else(|| first.identification.family.model_family());
    let model_type = request
        .model_type
        .unwrap_or_else(|| first.identification.kind.model_type());
    let name = request
        .name
        .as_deref()
        .map(str::trim)
        .map(str::to_string)
        .unwrap_or_else(|| paths::file_stem(&file_name(&first.path)).to_string());
    let moving = request.move_files.unwrap_or(false);
    let mut moves = Vec::new();
    let mut recorded = Vec::new();
    for file in files {
        let path = match (&file.rel, moving) {
            (None, true) => {
                return Err(AppError::invalid(
                    "move",
                    format!(
                        "{} is under MODELS_SCAN_DIRS: files there are referenced, never moved",
                        file.requested
                    ),
                ))
            }
            (None, false) => file.path.display().to_string(),
            (Some(rel), false) => rel.clone(),
            (Some(_), true) => {
                let dest = format!(
                    "{}/{}",
                    paths::category_folder(family, model_type),
                    file_name(&file.path)
                );
                moves.push((file.path.clone(), dest.clone()));
                dest
            }
        };
        let mut identification = file.identification.clone();
        if files.len() == 1 {
            identification.warning = identification.mismatch(family, model_type);
        }
        recorded.push(InstalledFile {
            path,
            size_bytes: file.size,
            sha256: file.sha256.clone(),
            identification: Some(identification),
        });
    }
    let record = InstalledModel {
        id: format!("local-{}", uuid::Uuid::new_v4()),
        source_model_id: None,
        name,
        family,
        model_type,
        total_size_bytes: recorded.iter().map(|f| f.size_bytes).sum(),
        files: recorded,
        installed_at: now_rfc3339(),
        source: SourceType::Local,
        last_verification: None,
        civitai: None,
    };
    Ok((record, moves))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{Confidence, DetectedFamily, DetectedKind, ModelFamily, ModelType};

    fn adoptee(rel: Option<&str>, kind: DetectedKind) -> Adoptee {
        Adoptee {
            requested: "/m/x.safetensors".into(),
            path: PathBuf::from("/m/x.safetensors"),
            rel: rel.map(str::to_string),
            size: 10,
            sha256: "a".repeat(64),
            identification: Identification {
                family: DetectedFamily::Flux1,
                kind,
                confidence: Confidence::High,
                detail: None,
                evidence: vec!["e".into()],
                warning: None,
                trigger_words: vec![],
            },
        }
    }

    #[test]
    fn identification_fills_what_the_request_leaves_out() {
        let files = [adoptee(Some("x.safetensors"), DetectedKind::Lora)];
        let (record, moves) = adoption(&AdoptRequest::default(), &files).unwrap();
        assert_eq!(
            (record.family, record.model_type),
            (ModelFamily::Flux, ModelType::Lora)
        );
        assert_eq!(record.name, "x");
        assert_eq!(record.files[0].path, "x.safetensors");
        assert!(moves.is_empty());
        assert!(record.files[0]
            .identification
            .as_ref()
            .unwrap()
            .warning
            .is_none());
    }

    #[test]
    fn an_override_that_contradicts_the_file_warns_and_moving_goes_to_the_folder() {
        let files = [adoptee(Some("x.safetensors"), DetectedKind::Lora)];
        let request = AdoptRequest {
            model_type: Some(ModelType::BaseModel),
            move_files: Some(true),
            ..Default::default()
        };
        let (record, moves) = adoption(&request, &files).unwrap();
        assert_eq!(record.files[0].path, "flux/x.safetensors");
        assert_eq!(moves[0].1, "flux/x.safetensors");
        assert!(record.files[0]
            .identification
            .as_ref()
            .unwrap()
            .warning
            .is_some());
    }

    #[test]
    fn files_under_extra_roots_are_referenced_never_moved() {
        let files = [adoptee(None, DetectedKind::Vae)];
        let (record, _) = adoption(&AdoptRequest::default(), &files).unwrap();
        assert_eq!(record.files[0].path, "/m/x.safetensors");
        let request = AdoptRequest {
            move_files: Some(true),
            ..Default::default()
        };
        let err = adoption(&request, &files).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("move"));
    }
}
