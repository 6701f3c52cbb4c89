//! The only code that writes the models database or moves files into the model folders.
//!
//! Every change: exclusive lock on `<db>.lock`, re-read, change, atomic replace (the previous
//! good version is kept as `<db>.bak`). Blocking I/O: call from `spawn_blocking`.

mod atomic;
mod db;
pub mod dedupe;
pub mod hashing;
pub mod hf_cache;
pub mod paths;
pub mod previews;
mod verify;

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use app::domain::{AppError, ErrorCode, InstalledModel, Verification};

pub use atomic::write_atomic;
pub use db::{Database, HashCacheEntry, SCHEMA_VERSION};

use crate::registry::CustomModel;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "cannot create the models folder {path}: {source}; set MODELS_DIR to a writable folder"
    )]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("the models database {path} is corrupt ({reason}); it was left untouched: fix it, or restore the last good copy {backup}")]
    Corrupt {
        path: PathBuf,
        backup: PathBuf,
        reason: String,
    },
    #[error("cannot read or write the models database {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        AppError::internal(e.to_string())
    }
}

/// The models database and the model folders under `MODELS_DIR`.
#[derive(Debug, Clone)]
pub struct Store {
    models_dir: PathBuf,
    db_path: PathBuf,
}

impl Store {
    /// Creates the spec's folders and checks that an existing database parses.
    pub fn open(models_dir: &Path, db_path: &Path) -> Result<Self, StorageError> {
        let store = Self {
            models_dir: models_dir.to_path_buf(),
            db_path: db_path.to_path_buf(),
        };
        for dir in paths::FOLDERS
            .iter()
            .map(|f| models_dir.join(f))
            .chain([store.partial_dir()])
            .chain(db_path.parent().map(Path::to_path_buf))
        {
            fs::create_dir_all(&dir)
                .map_err(|source| StorageError::CreateDir { path: dir, source })?;
        }
        store.read()?;
        Ok(store)
    }

    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }

    /// Where partial files of uploads and downloads live: on the same volume, never in a model folder.
    pub fn partial_dir(&self) -> PathBuf {
        self.models_dir.join(".downloads")
    }

    fn lock_path(&self) -> PathBuf {
        with_suffix(&self.db_path, ".lock")
    }

    fn backup_path(&self) -> PathBuf {
        with_suffix(&self.db_path, ".bak")
    }

    fn io_err(&self, source: io::Error) -> StorageError {
        StorageError::Io {
            path: self.db_path.clone(),
            source,
        }
    }

    /// The current database. A missing file is an empty database; a corrupt one is an error.
    pub fn read(&self) -> Result<Database, StorageError> {
        match fs::read(&self.db_path) {
            Ok(bytes) => Database::parse(&bytes).map_err(|reason| StorageError::Corrupt {
                path: self.db_path.clone(),
                backup: self.backup_path(),
                reason,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Database::empty()),
            Err(e) => Err(self.io_err(e)),
        }
    }

    /// A fingerprint of the database file (inode, size and modification time): it changes
    /// with every write, by any process, because every write replaces the file with a new one.
    pub fn generation(&self) -> String {
        use std::os::unix::fs::MetadataExt;
        match fs::metadata(&self.db_path) {
            Ok(m) => {
                let modified = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .unwrap_or_default();
                format!("{}-{}-{}", m.ino(), m.len(), modified.as_nanos())
            }
            Err(_) => "none".into(),
        }
    }

    /// Applies `change` under the lock to a freshly read database and writes the result
    /// atomically. If `change` fails, nothing is written.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Database) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let _lock = atomic::FileLock::acquire(&self.lock_path()).map_err(|e| self.io_err(e))?;
        let mut db = self.read()?;
        let before = db.clone();
        let out = change(&mut db)?;
        if db != before {
            db.schema_version = SCHEMA_VERSION;
            if self.db_path.exists() {
                atomic::copy_atomic(&self.db_path, &self.backup_path())
                    .map_err(|e| self.io_err(e))?;
            }
            atomic::write_atomic(&self.db_path, &db.to_bytes()).map_err(|e| self.io_err(e))?;
        }
        Ok(out)
    }

    /// Saves a custom model under a new id derived from its name (`-2`, `-3`, ... when taken
    /// by another custom model, by one of `reserved`, or by the source of an installed record:
    /// a new model never looks installed with the files of a deleted one).
    pub fn add_custom(
        &self,
        mut model: CustomModel,
        reserved: &[String],
    ) -> Result<CustomModel, AppError> {
        self.update(|db| {
            let base = paths::slug(&model.name);
            let taken = |id: &str| {
                reserved.iter().any(|r| r == id)
                    || db.custom_models.iter().any(|m| m.id == id)
                    || db.installed_from(id).is_some()
            };
            model.id = (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|id| !taken(id))
                .expect("an unbounded range always has a free id");
            db.custom_models.push(model.clone());
            Ok(model)
        })
    }

    /// Moves verified files from the partial folder into place and registers them, as one step
    /// under the lock. `moves` are (partial file, destination relative to `MODELS_DIR`).
    /// An existing destination is never overwritten.
    /// Each model file is identified from its header before it moves (see [`identify`]).
    pub fn install(
        &self,
        moves: &[(PathBuf, String)],
        record: InstalledModel,
    ) -> Result<InstalledModel, AppError> {
        self.install_fenced(moves, record, || Ok(()))
    }

    /// As [`Store::install`], after `fence` passes under the lock: a download checks there
    /// that it still holds its lease (another server may have taken the job over).
    pub fn install_fenced(
        &self,
        moves: &[(PathBuf, String)],
        mut record: InstalledModel,
        fence: impl FnOnce() -> Result<(), AppError>,
    ) -> Result<InstalledModel, AppError> {
        identify(moves, &mut record);
        self.update(|db| {
            fence()?;
            if let Some(source) = &record.source_model_id {
                if let Some(existing) = db.installed_from(source) {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        format!("{} is already installed (id {})", record.name, existing.id),
                    ));
                }
            }
            let mut targets = Vec::new();
            for (_, rel) in moves {
                let target = paths::safe_join(&self.models_dir, rel).ok_or_else(|| {
                    AppError::invalid("fileName", format!("{rel} is not a safe path"))
                })?;
                if target.exists() {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        format!("{rel} already exists; it was not overwritten"),
                    ));
                }
                targets.push(target);
            }
            for ((partial, _), target) in moves.iter().zip(&targets) {
                let dir = target.parent().unwrap_or(&self.models_dir);
                fs::create_dir_all(dir).map_err(|e| self.io_err(e))?;
                fs::rename(partial, target).map_err(|e| self.io_err(e))?;
                atomic::sync_dir(dir).map_err(|e| self.io_err(e))?;
            }
            db.installed.push(record.clone());
            Ok(record)
        })
    }

    /// Registers files already on the volume (found by a scan) as an installed model, under
    /// the lock: refused when a record already covers one of them. `record` holds the final
    /// paths. `moves` are (file under
    /// `MODELS_DIR`, destination relative to it) for files the user asked to move into their
    /// folder; an existing destination is never overwritten. Files under extra roots are
    /// recorded by absolute path and never moved.
    pub fn adopt(
        &self,
        moves: &[(PathBuf, String)],
        record: InstalledModel,
    ) -> Result<InstalledModel, AppError> {
        self.update(|db| {
            let taken: Vec<&str> = db.recorded_paths().collect();
            let sources = moves.iter().filter_map(|(from, _)| {
                from.strip_prefix(&self.models_dir)
                    .ok()
                    .map(|r| r.to_string_lossy().into_owned())
            });
            let wanted: Vec<String> = record
                .files
                .iter()
                .map(|f| f.path.clone())
                .chain(sources)
                .collect();
            if let Some(path) = wanted.iter().find(|p| taken.contains(&p.as_str())) {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    format!("{path} is already part of an installed model"),
                ));
            }
            for (from, rel) in moves {
                let target = paths::safe_join(&self.models_dir, rel).ok_or_else(|| {
                    AppError::invalid("paths", format!("{rel} is not a safe path"))
                })?;
                if target.exists() {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        format!("{rel} already exists; nothing was moved"),
                    ));
                }
                let dir = target.parent().unwrap_or(&self.models_dir);
                fs::create_dir_all(dir).map_err(|e| self.io_err(e))?;
                fs::rename(from, &target).map_err(|e| self.io_err(e))?;
                atomic::sync_dir(dir).map_err(|e| self.io_err(e))?;
            }
            db.hash_cache
                .retain(|e| !moves.iter().any(|(from, _)| Path::new(&e.path) == from));
            db.installed.push(record.clone());
            Ok(record)
        })
    }

    /// Drops an installed record and touches no file (for a model whose files are gone).
    pub fn forget(&self, id: &str) -> Result<InstalledModel, AppError> {
        self.update(|db| {
            let index = db
                .installed
                .iter()
                .position(|m| m.id == id)
                .ok_or_else(|| AppError::not_found(format!("no installed model with id {id}")))?;
            Ok(db.installed.remove(index))
        })
    }

    /// Replaces the scan's cache (see [`HashCacheEntry`]).
    pub fn save_hash_cache(&self, entries: Vec<HashCacheEntry>) -> Result<(), AppError> {
        self.update(|db| {
            db.hash_cache = entries;
            Ok(())
        })
    }

    /// Records the exact sizes of models' files (by model id) learnt from the Hub.
    pub fn save_known_sizes(
        &self,
        sizes: Vec<(String, crate::registry::KnownSizes)>,
    ) -> Result<(), AppError> {
        self.update(|db| {
            db.known_sizes.extend(sizes);
            Ok(())
        })
    }

    /// True when every recorded file of `model` is on disk (a stat each, no data read).
    pub fn files_present(&self, model: &InstalledModel) -> bool {
        model
            .files
            .iter()
            .all(|f| paths::resolve(&self.models_dir, &f.path).is_some_and(|p| p.is_file()))
    }

    /// Moves files that an install interrupted by a crash left in a model folder back to their
    /// partial files, so the job verifies and installs them again. `moves` are the install's
    /// (partial file, destination relative to `MODELS_DIR`). A file is moved back only when no
    /// record uses it and its partial is gone; under the lock, so no install is raced.
    /// Returns how many files were moved back.
    pub fn reclaim(&self, moves: &[(PathBuf, String)]) -> Result<usize, AppError> {
        self.update(|db| {
            let mut moved = 0;
            for (partial, rel) in moves {
                let used = db
                    .installed
                    .iter()
                    .any(|m| m.files.iter().any(|f| &f.path == rel));
                let Some(target) = paths::safe_join(&self.models_dir, rel) else {
                    continue;
                };
                if used || !target.is_file() || partial.exists() {
                    continue;
                }
                if let Some(dir) = partial.parent() {
                    fs::create_dir_all(dir).map_err(|e| self.io_err(e))?;
                }
                fs::rename(&target, partial).map_err(|e| self.io_err(e))?;
                self.remove_empty_parents(&target);
                moved += 1;
            }
            Ok(moved)
        })
    }

    /// Removes an installed model: the record first (so a crash never leaves a record that
    /// points at missing files), then its files that no other record still uses.
    pub fn remove_installed(&self, id: &str) -> Result<InstalledModel, AppError> {
        let (removed, still_used) = self.update(|db| {
            let index = db
                .installed
                .iter()
                .position(|m| m.id == id)
                .ok_or_else(|| AppError::not_found(format!("no installed model with id {id}")))?;
            let removed = db.installed.remove(index);
            let still_used: Vec<String> = db
                .installed
                .iter()
                .flat_map(|m| m.files.iter().map(|f| f.path.clone()))
                .collect();
            Ok((removed, still_used))
        })?;
        // The preview first, so the model's own folder can go with its last file.
        if let Some(preview) = removed.civitai.as_ref().and_then(|c| c.preview.as_ref()) {
            self.delete_preview_file(&preview.path);
        }
        for file in removed
            .files
            .iter()
            .filter(|f| !still_used.contains(&f.path))
        {
            if let Some(path) = paths::safe_join(&self.models_dir, &file.path) {
                match fs::remove_file(&path) {
                    Ok(()) => self.remove_empty_parents(&path),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "could not delete a model file")
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Removes folders left empty below the category folder.
    fn remove_empty_parents(&self, file: &Path) {
        let mut dir = file.parent();
        while let Some(d) = dir {
            let depth = d
                .strip_prefix(&self.models_dir)
                .map(|r| r.components().count());
            if !matches!(depth, Ok(n) if n >= 2) || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }

    /// Re-hashes an installed model's files, records and returns the result.
    pub fn verify(&self, id: &str) -> Result<Verification, AppError> {
        let model = self
            .read()?
            .installed
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| AppError::not_found(format!("no installed model with id {id}")))?;
        let result = verify::check(&self.models_dir, &model);
        self.update(|db| {
            if let Some(m) = db.installed.iter_mut().find(|m| m.id == id) {
                m.last_verification = Some(result.clone());
            }
            Ok(())
        })?;
        Ok(result)
    }

    /// Free bytes on the volume that holds `MODELS_DIR`.
    pub fn disk_free(&self) -> u64 {
        fs4::available_space(&self.models_dir).unwrap_or(0)
    }
}

/// Records what each moved file's header says it is. A single-file model whose file
/// contradicts the declared type or family (a LoRA added as a base model) gets a warning;
/// the declared values stay, the user decides.
fn identify(moves: &[(PathBuf, String)], record: &mut InstalledModel) {
    let single = record.files.len() == 1;
    let (family, model_type) = (record.family, record.model_type);
    for (partial, rel) in moves {
        let Some(file) = record.files.iter_mut().find(|f| &f.path == rel) else {
            continue;
        };
        let name = rel.rsplit('/').next().unwrap_or(rel);
        file.identification = crate::inspect::identify_file(partial, name).map(|mut id| {
            if single {
                id.warning = id.mismatch(family, model_type);
            }
            id
        });
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Now as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{InstalledFile, ModelFamily, ModelType, SourceType};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &dir.path().join("installed-models.json")).unwrap();
        (dir, store)
    }

    fn record(id: &str, files: &[&str]) -> InstalledModel {
        InstalledModel {
            id: id.into(),
            source_model_id: Some(format!("src-{id}")),
            name: id.into(),
            family: ModelFamily::Flux,
            model_type: ModelType::BaseModel,
            files: files
                .iter()
                .map(|p| InstalledFile {
                    path: p.to_string(),
                    size_bytes: 1,
                    sha256: "0".repeat(64),
                    identification: None,
                })
                .collect(),
            total_size_bytes: files.len() as u64,
            installed_at: now_rfc3339(),
            source: SourceType::Huggingface,
            last_verification: None,
            civitai: None,
        }
    }

    fn partial(store: &Store, name: &str) -> PathBuf {
        let p = store.partial_dir().join(name);
        fs::write(&p, b"x").unwrap();
        p
    }

    #[test]
    fn a_corrupt_database_is_reported_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("installed-models.json");
        fs::write(&db, b"{\"schemaVersion\": 1, \"installed\": [").unwrap();
        let err = Store::open(dir.path(), &db).unwrap_err().to_string();
        assert!(err.contains("corrupt") && err.contains(".bak"), "{err}");
        assert_eq!(
            fs::read(&db).unwrap(),
            b"{\"schemaVersion\": 1, \"installed\": ["
        );

        fs::write(&db, b"{\"schemaVersion\": 99}").unwrap();
        let err = Store::open(dir.path(), &db).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }

    #[test]
    fn every_write_keeps_the_previous_good_version() {
        let (dir, store) = store();
        store
            .install(
                &[(partial(&store, "a"), "flux/a/a.safetensors".into())],
                record("a", &["flux/a/a.safetensors"]),
            )
            .unwrap();
        store
            .install(
                &[(partial(&store, "b"), "flux/b/b.safetensors".into())],
                record("b", &["flux/b/b.safetensors"]),
            )
            .unwrap();
        let backup =
            Database::parse(&fs::read(dir.path().join("installed-models.json.bak")).unwrap())
                .unwrap();
        assert_eq!(backup.installed.len(), 1);
        assert_eq!(store.read().unwrap().installed.len(), 2);
    }

    #[test]
    fn a_failed_change_writes_nothing() {
        let (dir, store) = store();
        let err = store.update(|db| {
            db.installed.push(record("x", &[]));
            Err::<(), _>(AppError::invalid("x", "no"))
        });
        assert!(err.is_err());
        assert!(!dir.path().join("installed-models.json").exists());
    }

    #[test]
    fn install_never_overwrites_and_delete_keeps_shared_files() {
        let (dir, store) = store();
        fs::create_dir_all(dir.path().join("vae")).unwrap();
        fs::write(dir.path().join("vae/ae.safetensors"), b"old").unwrap();
        let err = store
            .install(
                &[(partial(&store, "p"), "vae/ae.safetensors".into())],
                record("v", &["vae/ae.safetensors"]),
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Conflict);
        assert_eq!(
            fs::read(dir.path().join("vae/ae.safetensors")).unwrap(),
            b"old"
        );
        assert!(store.read().unwrap().installed.is_empty());

        // Two records share flux/shared/ae.safetensors: deleting one keeps it for the other.
        store
            .install(
                &[
                    (partial(&store, "1"), "flux/shared/ae.safetensors".into()),
                    (partial(&store, "2"), "flux/shared/one.safetensors".into()),
                ],
                record(
                    "one",
                    &["flux/shared/ae.safetensors", "flux/shared/one.safetensors"],
                ),
            )
            .unwrap();
        store
            .update(|db| {
                db.installed
                    .push(record("two", &["flux/shared/ae.safetensors"]));
                Ok(())
            })
            .unwrap();
        store.remove_installed("one").unwrap();
        assert!(dir.path().join("flux/shared/ae.safetensors").exists());
        assert!(!dir.path().join("flux/shared/one.safetensors").exists());
        store.remove_installed("two").unwrap();
        assert!(
            !dir.path().join("flux/shared").exists(),
            "empty model folder removed"
        );
        assert!(dir.path().join("flux").exists(), "category folder kept");
        assert_eq!(
            store.remove_installed("two").unwrap_err().code,
            ErrorCode::NotFound
        );
    }

    #[test]
    fn reclaim_moves_back_only_unrecorded_files() {
        let (dir, store) = store();
        let partials = store.partial_dir().join("m.parts");
        store
            .install(
                &[(partial(&store, "kept"), "flux/m/kept.safetensors".into())],
                record("kept", &["flux/m/kept.safetensors"]),
            )
            .unwrap();
        fs::write(dir.path().join("flux/m/stray.safetensors"), b"s").unwrap();
        let moves = [
            (
                partials.join("0.partial"),
                "flux/m/kept.safetensors".to_string(),
            ),
            (
                partials.join("1.partial"),
                "flux/m/stray.safetensors".to_string(),
            ),
            (
                partials.join("2.partial"),
                "flux/m/absent.safetensors".to_string(),
            ),
        ];
        assert_eq!(store.reclaim(&moves).unwrap(), 1);
        assert!(dir.path().join("flux/m/kept.safetensors").exists());
        assert_eq!(fs::read(partials.join("1.partial")).unwrap(), b"s");
        assert!(!dir.path().join("flux/m/stray.safetensors").exists());
    }

    #[test]
    fn a_new_custom_model_avoids_ids_installed_records_came_from() {
        let (_dir, store) = store();
        store
            .update(|db| {
                db.installed.push(InstalledModel {
                    source_model_id: Some("my-lora".into()),
                    ..record("my-lora-1", &[])
                });
                Ok(())
            })
            .unwrap();
        let model = CustomModel {
            id: String::new(),
            name: "My LoRA".into(),
            description: String::new(),
            family: ModelFamily::Custom,
            model_type: ModelType::Lora,
            tags: vec![],
            requires_token: false,
            source: crate::registry::CustomSource::Url {
                url: "https://x/y".into(),
            },
            files: vec![],
            created_at: now_rfc3339(),
        };
        assert_eq!(store.add_custom(model, &[]).unwrap().id, "my-lora-2");
    }

    #[test]
    fn paths_outside_models_dir_are_refused() {
        let (_dir, store) = store();
        let err = store
            .install(
                &[(partial(&store, "e"), "../escape.bin".into())],
                record("e", &["../escape.bin"]),
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
    }
}
