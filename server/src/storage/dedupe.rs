//! Duplicates: installed files with one sha256, and replacing copies inside `MODELS_DIR` with
//! hard links to one of them. The database does not change (paths and content stay the same).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::{self, File},
    io::{self, Read},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use app::domain::{DedupeResult, DedupeSkip, DuplicateGroup, InstalledModel};

use super::{atomic, paths};

/// Groups of recorded model files (weights, not the small configs diffusers folders repeat)
/// with the same sha256 and more than one path.
pub fn groups(models_dir: &Path, installed: &[InstalledModel]) -> Vec<DuplicateGroup> {
    let mut by_sha: BTreeMap<&str, (u64, BTreeSet<&str>)> = BTreeMap::new();
    let weights = installed
        .iter()
        .flat_map(|m| &m.files)
        .filter(|f| crate::inspect::Format::from_file_name(&f.path).is_some());
    for file in weights {
        let entry = by_sha
            .entry(file.sha256.as_str())
            .or_insert((file.size_bytes, BTreeSet::new()));
        entry.1.insert(file.path.as_str());
    }
    by_sha
        .into_iter()
        .filter(|(_, (_, paths))| paths.len() > 1)
        .map(|(sha, (size, recorded))| {
            let present: Vec<(u64, u64)> = recorded
                .iter()
                .filter_map(|p| paths::resolve(models_dir, p))
                .filter_map(|p| fs::metadata(p).ok())
                .map(|m| (m.dev(), m.ino()))
                .collect();
            let distinct = present.iter().collect::<BTreeSet<_>>().len() as u64;
            DuplicateGroup {
                sha256: sha.to_string(),
                size_bytes: size,
                paths: recorded.iter().map(|p| p.to_string()).collect(),
                distinct_files: distinct,
                reclaimable_bytes: distinct.saturating_sub(1) * size,
                saved_bytes: (present.len() as u64 - distinct) * size,
            }
        })
        .collect()
}

/// Bytes that hard links between the groups' files already save.
pub fn saved_by_links(groups: &[DuplicateGroup]) -> u64 {
    groups.iter().map(|g| g.saved_bytes).sum()
}

/// Replaces every copy inside `MODELS_DIR` with a hard link to the group's first file there,
/// after comparing their bytes; says why any file was left alone.
pub fn dedupe(models_dir: &Path, groups: &[DuplicateGroup]) -> DedupeResult {
    let mut result = DedupeResult::default();
    for group in groups {
        let mut keep: Option<(PathBuf, fs::Metadata)> = None;
        for recorded in &group.paths {
            let skip = |reason: String| DedupeSkip {
                path: recorded.clone(),
                reason,
            };
            if Path::new(recorded).is_absolute() {
                result.skipped.push(skip(
                    "under MODELS_SCAN_DIRS: files there are never changed".into(),
                ));
                continue;
            }
            let Some(path) = paths::safe_join(models_dir, recorded) else {
                continue;
            };
            let Ok(meta) = fs::metadata(&path) else {
                result.skipped.push(skip("the file is missing".into()));
                continue;
            };
            let Some((kept, kept_meta)) = &keep else {
                keep = Some((path, meta));
                continue;
            };
            if meta.dev() != kept_meta.dev() {
                result.skipped.push(skip(format!(
                    "on another filesystem than {}: hard links cannot cross filesystems",
                    kept.display()
                )));
            } else if meta.ino() == kept_meta.ino() {
                // Already one file.
            } else {
                match link_copy(kept, &path) {
                    Ok(()) => {
                        result.linked.push(recorded.clone());
                        result.bytes_saved += meta.len();
                    }
                    Err(e) => result.skipped.push(skip(e)),
                }
            }
        }
    }
    result
}

/// Replaces `copy` by a hard link to `kept` if their bytes are equal: the link is made under
/// a temporary name beside the copy and renamed over it, so the path always holds the file.
fn link_copy(kept: &Path, copy: &Path) -> Result<(), String> {
    match same_bytes(kept, copy) {
        Ok(true) => {}
        Ok(false) => {
            return Err(format!(
            "its bytes differ from {} although the records say they are equal: verify both models",
            kept.display()
        ))
        }
        Err(e) => return Err(format!("cannot compare it with {}: {e}", kept.display())),
    }
    let dir = copy.parent().ok_or("no parent folder")?;
    let temp = dir.join(format!(
        ".{}.link",
        copy.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = fs::remove_file(&temp);
    fs::hard_link(kept, &temp).map_err(|e| format!("cannot make a hard link: {e}"))?;
    if let Err(e) = fs::rename(&temp, copy) {
        let _ = fs::remove_file(&temp);
        return Err(format!("cannot replace the copy: {e}"));
    }
    atomic::sync_dir(dir).map_err(|e| e.to_string())
}

fn same_bytes(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    if a.metadata()?.len() != b.metadata()?.len() {
        return Ok(false);
    }
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{InstalledFile, ModelFamily, ModelType, SourceType};

    fn model(id: &str, files: &[(&str, &str)]) -> InstalledModel {
        InstalledModel {
            id: id.into(),
            source_model_id: None,
            name: id.into(),
            family: ModelFamily::Flux,
            model_type: ModelType::Vae,
            files: files
                .iter()
                .map(|(path, sha)| InstalledFile {
                    path: path.to_string(),
                    size_bytes: 4,
                    sha256: sha.to_string(),
                    identification: None,
                })
                .collect(),
            total_size_bytes: 4,
            installed_at: String::new(),
            source: SourceType::Upload,
            last_verification: None,
            civitai: None,
        }
    }

    #[test]
    fn copies_become_one_file_and_differing_bytes_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (p, bytes) in [
            ("a/ae.sft", "same"),
            ("b/ae.sft", "same"),
            ("c/ae.sft", "diff"),
        ] {
            fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
            fs::write(root.join(p), bytes).unwrap();
        }
        let installed = [
            model("one", &[("a/ae.sft", "s")]),
            model("two", &[("b/ae.sft", "s"), ("c/ae.sft", "s")]),
            model("three", &[("/elsewhere/ae.sft", "s")]),
            model("alone", &[("d/x.sft", "t")]),
            model("configs", &[("a/config.json", "c"), ("b/config.json", "c")]),
        ];
        let found = groups(root, &installed);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].distinct_files, 3);
        assert_eq!(found[0].reclaimable_bytes, 8);

        let result = dedupe(root, &found);
        assert_eq!(result.linked, ["b/ae.sft"]);
        assert_eq!(result.bytes_saved, 4);
        let reasons: Vec<&str> = result.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert!(reasons[0].contains("MODELS_SCAN_DIRS"), "{reasons:?}");
        assert!(reasons[1].contains("differ"), "{reasons:?}");
        let ino = |p: &str| fs::metadata(root.join(p)).unwrap().ino();
        assert_eq!(ino("a/ae.sft"), ino("b/ae.sft"));
        assert_eq!(fs::read(root.join("c/ae.sft")).unwrap(), b"diff");

        let after = groups(root, &installed);
        assert_eq!(after[0].distinct_files, 2);
        assert_eq!(saved_by_links(&after), 4);
        // A second run links nothing new.
        assert!(dedupe(root, &after).linked.is_empty());
    }
}
