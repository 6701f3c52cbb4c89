//! The only code that writes the models database or moves files into the model folders.
//!
//! Every change: exclusive lock on `<db>.lock`, re-read, change, atomic replace (the previous
//! good version is kept as `<db>.bak`). Blocking I/O: call from `spawn_blocking`.

mod atomic;
mod db;
pub mod hashing;
pub mod paths;
mod verify;

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use app::domain::{AppError, ErrorCode, InstalledModel, Verification};

pub use db::{Database, SCHEMA_VERSION};

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

    /// Saves a custom model; its id must be new.
    pub fn add_custom(&self, model: CustomModel) -> Result<CustomModel, AppError> {
        self.update(|db| {
            if db.custom_models.iter().any(|m| m.id == model.id) {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    format!("a custom model with id {} already exists", model.id),
                ));
            }
            db.custom_models.push(model.clone());
            Ok(model)
        })
    }

    /// Moves verified files from the partial folder into place and registers them, as one step
    /// under the lock. `moves` are (partial file, destination relative to `MODELS_DIR`).
    /// An existing destination is never overwritten.
    pub fn install(
        &self,
        moves: &[(PathBuf, String)],
        record: InstalledModel,
    ) -> Result<InstalledModel, AppError> {
        self.update(|db| {
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

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Now as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
