//! Already on the volume: a planned file whose sha256 is known (catalog, Hub LFS, CivitAI) and
//! that an installed model or the scan already has is hard-linked into the job's partial file
//! instead of transferred, then hashed like a download before it installs. On another
//! filesystem, or when the file changed since it was recorded, the job says why and downloads.

use std::{
    fs, io,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use app::domain::{InstalledFile, InstalledModel};

use crate::storage::{hashing, paths, Database, HashCacheEntry, Store};

use super::{plan::PlannedFile, progress::Job, transfer::Fetched};

/// Files on the volume that should hold `sha256`: present files of installed records, then
/// untracked files the scan hashed and that are unchanged since (device, inode, size, mtime).
/// `size`, when known, must match.
pub fn candidates(
    db: &Database,
    models_dir: &Path,
    sha256: &str,
    size: Option<u64>,
) -> Vec<PathBuf> {
    let size_ok = |n: u64| size.is_none_or(|s| s == n);
    let installed = db
        .installed
        .iter()
        .flat_map(|m| &m.files)
        .filter(|f| f.sha256 == sha256 && size_ok(f.size_bytes))
        .filter_map(|f| paths::resolve(models_dir, &f.path));
    let scanned = db
        .hash_cache
        .iter()
        .filter(|e| e.sha256.as_deref() == Some(sha256) && size_ok(e.size))
        .filter(|e| unchanged(e))
        .map(|e| PathBuf::from(&e.path));
    let mut out: Vec<PathBuf> = Vec::new();
    for path in installed.chain(scanned) {
        if path.is_file() && !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// The first installed model with a present file of `sha256`, and that file.
pub fn installed_copy<'a>(
    db: &'a Database,
    models_dir: &Path,
    sha256: &str,
) -> Option<(&'a InstalledModel, &'a InstalledFile)> {
    db.installed.iter().find_map(|m| {
        // A record whose file went missing is no copy.
        let file = m.files.iter().find(|f| {
            f.sha256 == sha256 && paths::resolve(models_dir, &f.path).is_some_and(|p| p.is_file())
        })?;
        Some((m, file))
    })
}

/// "already installed as X (path)": the first installed model with a file of one of
/// `sha256s`, for adding a model (its check and the add itself): the download will link that
/// file instead of transferring it.
pub fn already_installed<'a>(
    db: &Database,
    models_dir: &Path,
    sha256s: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let (m, file) = sha256s
        .into_iter()
        .find_map(|sha| installed_copy(db, models_dir, sha))?;
    Some(format!(
        "already installed as {} ({}): downloading it links that file instead of transferring it again",
        m.name, file.path
    ))
}

/// Before an upload: "a file of the same size is already installed as X (path)" when a present
/// installed file has exactly `size` bytes; one with the same file name too is named first.
pub fn same_size(db: &Database, models_dir: &Path, file_name: &str, size: u64) -> Option<String> {
    let present = db.installed.iter().flat_map(|m| {
        m.files
            .iter()
            .filter(move |f| f.size_bytes == size && size > 0)
            .filter(|f| paths::resolve(models_dir, &f.path).is_some_and(|p| p.is_file()))
            .map(move |f| (m, f))
    });
    let same_name = |f: &InstalledFile| Path::new(&f.path).file_name() == Some(file_name.as_ref());
    let mut found: Vec<_> = present.collect();
    found.sort_by_key(|(_, f)| !same_name(f));
    let (m, file) = found.first()?;
    let what = if same_name(file) {
        "name and size"
    } else {
        "size"
    };
    Some(format!(
        "a file of the same {what} is already installed as {} ({})",
        m.name, file.path
    ))
}

/// After an upload whose sha256 an installed file already has: the two are the same file.
pub fn uploaded_twice(db: &Database, models_dir: &Path, sha256: &str) -> Option<String> {
    let (m, file) = installed_copy(db, models_dir, sha256)?;
    Some(format!(
        "already installed as {} ({}): the same file (sha256) is now on the volume twice; \
         Deduplicate in the Installed tab replaces the copy with a hard link",
        m.name, file.path
    ))
}

/// The scan's entry still describes the file at its path.
fn unchanged(entry: &HashCacheEntry) -> bool {
    fs::metadata(&entry.path).is_ok_and(|m| {
        (m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec() as u32)
            == (
                entry.device,
                entry.inode,
                entry.size,
                entry.mtime_secs,
                entry.mtime_nanos,
            )
    })
}

/// What linking found.
#[derive(Debug, PartialEq)]
pub enum Linked {
    /// `partial` is now a hard link to `from`.
    Yes { from: PathBuf },
    /// Files with the hash exist but none could be linked; why (shown on the job).
    No { why: String },
    /// No file on the volume has the hash.
    Nothing,
}

/// Hard-links the first candidate to `partial` (replacing a partial download there).
pub fn link_first(candidates: &[PathBuf], partial: &Path) -> Linked {
    let mut why = None;
    for from in candidates {
        if let Some(dir) = partial.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let _ = fs::remove_file(partial);
        match fs::hard_link(from, partial) {
            Ok(()) => return Linked::Yes { from: from.clone() },
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                why.get_or_insert(format!(
                    "{} has the same sha256 but is on another filesystem (no hard link): downloading",
                    from.display()
                ));
            }
            Err(e) => {
                why.get_or_insert(format!(
                    "{} has the same sha256 but cannot be linked ({e}): downloading",
                    from.display()
                ));
            }
        }
    }
    match why {
        Some(why) => Linked::No { why },
        None => Linked::Nothing,
    }
}

/// A partial file must have no other name. A link left by an earlier reuse (the job stopped
/// between linking and installing) would let the engine write, or truncate, the very file it
/// was linked from: an installed model or a file under a read-only extra root. Such a partial
/// is removed with its resume state, and the file is fetched from the start.
pub fn unshare(partial: &Path) {
    if fs::metadata(partial).is_ok_and(|m| m.nlink() > 1) {
        tracing::info!(partial = %partial.display(), "a linked partial file is unlinked before downloading into it");
        for path in [
            partial.to_path_buf(),
            partial.with_extension("meta.json"),
            partial.with_extension("ranges.json"),
        ] {
            let _ = fs::remove_file(path);
        }
    }
}

/// For a planned file with a known sha256: links a copy already on the volume into
/// `partial` and hashes it; `Some` when the job needs no transfer for it. Notes the outcome on
/// the job's file either way.
pub async fn from_volume(
    store: &Store,
    job: &Job,
    index: usize,
    file: &PlannedFile,
    partial: &Path,
) -> Option<Fetched> {
    let sha = file.published_sha256()?.to_string();
    let (store, size, target, want) = (
        store.clone(),
        file.planned_size(),
        partial.to_path_buf(),
        sha.clone(),
    );
    let outcome = tokio::task::spawn_blocking(move || -> Result<(String, u64), Option<String>> {
        let db = store.read().map_err(|_| None)?;
        let found = candidates(&db, store.models_dir(), &want, size);
        let from = match link_first(&found, &target) {
            Linked::Yes { from } => from,
            Linked::No { why } => return Err(Some(why)),
            Linked::Nothing => return Err(None),
        };
        // Verified like a download: the copy may have changed since it was recorded.
        // Shown relative to MODELS_DIR when inside it.
        let shown = from
            .strip_prefix(store.models_dir())
            .unwrap_or(&from)
            .display()
            .to_string();
        match hashing::sha256_file(&target) {
            Ok((got, len)) if got == want => Ok((shown, len)),
            _ => {
                let _ = fs::remove_file(&target);
                Err(Some(format!(
                    "{} no longer has the recorded sha256: downloading",
                    from.display()
                )))
            }
        }
    })
    .await
    .ok()?;
    match outcome {
        Ok((shown, len)) => {
            tracing::info!(job = %job.id, from = %shown, "already on the volume: linked, not downloaded");
            job.file_note(index, format!("reused from {shown}"), Some(len));
            Some(Fetched {
                sha256: sha,
                size: len,
                file_name: None,
                expected_sha256: None,
                hub: None,
            })
        }
        Err(Some(why)) => {
            job.file_note(index, why, None);
            None
        }
        Err(None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{InstalledFile, InstalledModel, ModelFamily, ModelType, SourceType};

    fn record(path: &str, sha: &str, size: u64) -> InstalledModel {
        InstalledModel {
            id: path.into(),
            source_model_id: None,
            name: path.into(),
            family: ModelFamily::Flux,
            model_type: ModelType::Lora,
            files: vec![InstalledFile {
                path: path.into(),
                size_bytes: size,
                sha256: sha.into(),
                identification: None,
            }],
            total_size_bytes: size,
            installed_at: String::new(),
            source: SourceType::Upload,
            last_verification: None,
            civitai: None,
        }
    }

    #[test]
    fn candidates_are_present_files_with_the_hash_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path();
        fs::create_dir_all(models.join("lora")).unwrap();
        fs::write(models.join("lora/a.safetensors"), b"aaaa").unwrap();
        fs::write(models.join("lora/b.safetensors"), b"aaaa").unwrap();
        let stray = dir.path().join("stray.safetensors");
        fs::write(&stray, b"aaaa").unwrap();
        let meta = fs::metadata(&stray).unwrap();
        let sha = "a".repeat(64);
        let mut db = Database::empty();
        db.installed = vec![
            record("lora/a.safetensors", &sha, 4),
            record("lora/gone.safetensors", &sha, 4),
            record("lora/b.safetensors", &"b".repeat(64), 4),
        ];
        let entry = HashCacheEntry {
            path: stray.display().to_string(),
            device: meta.dev(),
            inode: meta.ino(),
            size: 4,
            mtime_secs: meta.mtime(),
            mtime_nanos: meta.mtime_nsec() as u32,
            sha256: Some(sha.clone()),
            identification: app::domain::Identification::unknown(""),
        };
        db.hash_cache = vec![entry.clone()];
        assert_eq!(
            candidates(&db, models, &sha, Some(4)),
            [models.join("lora/a.safetensors"), stray.clone()]
        );
        assert!(
            candidates(&db, models, &sha, Some(5)).is_empty(),
            "size differs"
        );
        assert!(candidates(&db, models, &"c".repeat(64), None).is_empty());
        // A scanned file changed since it was hashed is no candidate.
        db.hash_cache[0].mtime_secs -= 10;
        assert_eq!(
            candidates(&db, models, &sha, None),
            [models.join("lora/a.safetensors")]
        );
    }

    #[test]
    fn the_add_check_names_the_installed_model_whose_file_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::empty();
        db.installed = vec![record("lora/a.safetensors", &"a".repeat(64), 4)];
        assert_eq!(
            already_installed(&db, dir.path(), [&*"a".repeat(64)]),
            None,
            "its file is missing"
        );
        fs::create_dir_all(dir.path().join("lora")).unwrap();
        fs::write(dir.path().join("lora/a.safetensors"), b"abcd").unwrap();
        let warning = already_installed(&db, dir.path(), [&*"a".repeat(64)]).unwrap();
        assert!(
            warning.starts_with("already installed as lora/a.safetensors (lora/a.safetensors)"),
            "{warning}"
        );
        assert_eq!(already_installed(&db, dir.path(), [&*"b".repeat(64)]), None);
    }

    #[test]
    fn an_upload_of_an_installed_size_names_that_model_same_name_first() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("lora")).unwrap();
        for name in ["a", "b", "c"] {
            fs::write(dir.path().join(format!("lora/{name}.safetensors")), b"abcd").unwrap();
        }
        let mut db = Database::empty();
        db.installed = vec![
            record("lora/a.safetensors", &"a".repeat(64), 4),
            record("lora/b.safetensors", &"b".repeat(64), 4),
            record("lora/gone.safetensors", &"d".repeat(64), 7),
        ];
        let models = dir.path();
        assert_eq!(
            same_size(&db, models, "b.safetensors", 4).as_deref(),
            Some("a file of the same name and size is already installed as lora/b.safetensors (lora/b.safetensors)")
        );
        assert_eq!(
            same_size(&db, models, "new.safetensors", 4).as_deref(),
            Some("a file of the same size is already installed as lora/a.safetensors (lora/a.safetensors)")
        );
        assert_eq!(same_size(&db, models, "x.safetensors", 5), None);
        assert_eq!(
            same_size(&db, models, "gone.safetensors", 7),
            None,
            "its file is gone"
        );
        assert_eq!(
            same_size(&db, &dir.path().join("nowhere"), "a.safetensors", 4),
            None
        );
        assert!(uploaded_twice(&db, models, &"b".repeat(64))
            .unwrap()
            .starts_with("already installed as lora/b.safetensors (lora/b.safetensors)"));
        assert_eq!(uploaded_twice(&db, models, &"c".repeat(64)), None);
    }

    #[test]
    fn linking_replaces_a_partial_and_says_why_when_it_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("have.bin");
        fs::write(&from, b"data").unwrap();
        let partial = dir.path().join(".downloads/m/0.partial");
        fs::create_dir_all(partial.parent().unwrap()).unwrap();
        fs::write(&partial, b"half").unwrap();
        assert_eq!(
            link_first(std::slice::from_ref(&from), &partial),
            Linked::Yes { from: from.clone() }
        );
        assert_eq!(fs::read(&partial).unwrap(), b"data");
        assert_eq!(
            fs::metadata(&partial).unwrap().ino(),
            fs::metadata(&from).unwrap().ino()
        );
        assert_eq!(link_first(&[], &partial), Linked::Nothing);
        let gone = dir.path().join("gone.bin");
        assert!(matches!(
            link_first(&[gone], &dir.path().join("x/0.partial")),
            Linked::No { why } if why.contains("cannot be linked")
        ));
    }

    #[test]
    fn a_partial_linked_to_another_file_is_unlinked_before_a_download_writes_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("lora/kept.safetensors");
        fs::create_dir_all(original.parent().unwrap()).unwrap();
        fs::write(&original, b"the user's file").unwrap();
        let partial = dir.path().join("m.parts/0.partial");
        assert!(matches!(
            link_first(std::slice::from_ref(&original), &partial),
            Linked::Yes { .. }
        ));
        fs::write(partial.with_extension("ranges.json"), b"{}").unwrap();
        unshare(&partial);
        assert!(!partial.exists() && !partial.with_extension("ranges.json").exists());
        assert_eq!(fs::read(&original).unwrap(), b"the user's file");
        assert_eq!(fs::metadata(&original).unwrap().nlink(), 1);
        // A partial of its own is kept (it resumes).
        fs::write(&partial, b"half").unwrap();
        unshare(&partial);
        assert_eq!(fs::read(&partial).unwrap(), b"half");
    }
}
