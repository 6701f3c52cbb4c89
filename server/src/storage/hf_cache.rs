//! The standard huggingface_hub cache (`$HF_HUB_CACHE`, by default `$HF_HOME/hub`), filled
//! with links to the files installed here, so AI Toolkit, diffusers and every huggingface_hub
//! user load them by repo id, offline, and never download them again:
//!
//! ```text
//! models--{org}--{name}/blobs/{etag}                 -> the installed file (a link, no copy)
//! models--{org}--{name}/snapshots/{commit}/{path}    -> ../../blobs/{etag}
//! models--{org}--{name}/refs/{revision}              the commit, as text
//! ```
//!
//! Blobs this module links are symbolic links into the model folders; when a model is deleted
//! they dangle and [`prune`] removes them with the snapshot entries that point at them.

use std::{
    fs, io,
    path::{Component, Path, PathBuf},
};

use super::atomic::write_atomic;

/// One file of a Hub repo as installed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFile {
    /// Its path in the repo (`transformer/config.json`).
    pub repo_path: String,
    /// The Hub's etag: the LFS sha256, or the git blob sha1 of a small file.
    pub etag: String,
    /// Where it is installed (absolute).
    pub installed: PathBuf,
}

/// The files of one repo at one commit.
#[derive(Debug, Clone)]
pub struct HubSnapshot<'a> {
    pub repo: &'a str,
    pub revision: &'a str,
    /// The 40-hex commit the revision resolved to (`X-Repo-Commit`).
    pub commit: &'a str,
    pub files: &'a [HubFile],
}

/// `models--{org}--{name}`, as huggingface_hub names a model repo's folder.
pub fn repo_folder(repo: &str) -> String {
    format!("models--{}", repo.replace('/', "--"))
}

/// Links `snapshot`'s files into the cache under `hub_cache`. Idempotent; never copies.
pub fn publish(hub_cache: &Path, snapshot: &HubSnapshot) -> io::Result<()> {
    if !is_commit(snapshot.commit) || !safe_part(snapshot.revision) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: revision {:?} resolved to {:?}, not a commit hash",
                snapshot.repo, snapshot.revision, snapshot.commit
            ),
        ));
    }
    let repo_dir = hub_cache.join(repo_folder(snapshot.repo));
    let blobs = repo_dir.join("blobs");
    let tree = repo_dir.join("snapshots").join(snapshot.commit);
    fs::create_dir_all(&blobs)?;
    for file in snapshot.files {
        if !safe_part(&file.etag) || !safe_relative(&file.repo_path) {
            continue;
        }
        let blob = blobs.join(&file.etag);
        replace_link(&blob, &relative_link(&blobs, &file.installed)?)?;
        let entry = tree.join(&file.repo_path);
        let parent = entry.parent().unwrap_or(&tree);
        fs::create_dir_all(parent)?;
        replace_link(&entry, &relative_link(parent, &blob)?)?;
    }
    let refs = repo_dir.join("refs");
    fs::create_dir_all(&refs)?;
    if snapshot.revision != snapshot.commit {
        write_atomic(&refs.join(snapshot.revision), snapshot.commit.as_bytes())?;
    }
    Ok(())
}

/// An installed file that can serve a Hub file: the same repo path of the same repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survivor {
    pub repo: String,
    pub repo_path: String,
    pub sha256: String,
    pub installed: PathBuf,
}

/// After a model is deleted: a cache entry whose file is gone is pointed at another installed
/// copy of the same file (`survivors`: another model from the same repo), else removed with
/// its link, then empty snapshot folders, refs to missing snapshots and empty repo folders go.
/// Files huggingface_hub wrote itself are left alone. Returns how many links were removed.
pub fn prune(hub_cache: &Path, survivors: &[Survivor]) -> io::Result<usize> {
    let mut removed = 0;
    let Ok(repos) = fs::read_dir(hub_cache) else {
        return Ok(0);
    };
    for repo in repos.flatten() {
        let dir = repo.path();
        let name = repo.file_name().to_string_lossy().into_owned();
        if !name.starts_with("models--") {
            continue;
        }
        let same_repo: Vec<&Survivor> = survivors
            .iter()
            .filter(|s| repo_folder(&s.repo) == name)
            .collect();
        relink(&dir, &same_repo)?;
        removed += remove_dangling_links(&dir.join("blobs"))?;
        removed += remove_dangling_links(&dir.join("snapshots"))?;
        remove_stale_refs(&dir)?;
        for sub in ["blobs", "snapshots", "refs"] {
            let _ = fs::remove_dir(dir.join(sub));
        }
        let _ = fs::remove_dir(&dir);
    }
    Ok(removed)
}

/// Points each blob whose file is gone at a survivor with the same repo path (and, for an LFS
/// blob, the same sha256).
fn relink(repo_dir: &Path, survivors: &[&Survivor]) -> io::Result<()> {
    if survivors.is_empty() {
        return Ok(());
    }
    let blobs = repo_dir.join("blobs");
    for (repo_path, entry) in snapshot_entries(&repo_dir.join("snapshots"))? {
        if fs::metadata(&entry).is_ok() {
            continue;
        }
        let Some(etag) = fs::read_link(&entry)
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
        else {
            continue;
        };
        let lfs = etag.len() == 64;
        let found = survivors
            .iter()
            .find(|s| s.repo_path == repo_path && (!lfs || s.sha256.eq_ignore_ascii_case(&etag)));
        if let Some(survivor) = found {
            let blob = blobs.join(&etag);
            replace_link(&blob, &relative_link(&blobs, &survivor.installed)?)?;
        }
    }
    Ok(())
}

/// Every link under `snapshots/<commit>/`, with its path in the repo.
fn snapshot_entries(snapshots: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
        for entry in fs::read_dir(dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type()?.is_dir() {
                walk(&path, &rel, out)?;
            } else {
                out.push((rel, path));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for commit in fs::read_dir(snapshots).into_iter().flatten().flatten() {
        if commit.file_type()?.is_dir() {
            walk(&commit.path(), "", &mut out)?;
        }
    }
    Ok(out)
}

/// Symbolic links under `dir` (recursively) whose target does not exist; empty folders go too.
fn remove_dangling_links(dir: &Path) -> io::Result<usize> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            removed += remove_dangling_links(&path)?;
            let _ = fs::remove_dir(&path);
        } else if kind.is_symlink() && fs::metadata(&path).is_err() {
            fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn remove_stale_refs(repo_dir: &Path) -> io::Result<()> {
    let Ok(refs) = fs::read_dir(repo_dir.join("refs")) else {
        return Ok(());
    };
    for entry in refs.flatten() {
        let commit = fs::read_to_string(entry.path()).unwrap_or_default();
        if !repo_dir.join("snapshots").join(commit.trim()).is_dir() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Points `link` at `target`, replacing whatever link was there.
fn replace_link(link: &Path, target: &Path) -> io::Result<()> {
    match fs::symlink_metadata(link) {
        Ok(m) if m.file_type().is_symlink() => {
            if fs::read_link(link)? == target {
                return Ok(());
            }
            fs::remove_file(link)?;
        }
        // A real file huggingface_hub downloaded itself: it already serves the path.
        Ok(_) => return Ok(()),
        Err(_) => {}
    }
    std::os::unix::fs::symlink(target, link)
}

/// `target` as seen from `from_dir` (`../../blobs/x`), so the cache keeps working when the
/// volume is mounted elsewhere; absolute when the two share no root.
fn relative_link(from_dir: &Path, target: &Path) -> io::Result<PathBuf> {
    let from = fs::canonicalize(from_dir)?;
    let to = match target.parent() {
        Some(parent) => fs::canonicalize(parent)?.join(target.file_name().unwrap_or_default()),
        None => target.to_path_buf(),
    };
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common <= 1 {
        return Ok(to);
    }
    let mut out: PathBuf = from
        .components()
        .skip(common)
        .map(|_| Component::ParentDir)
        .collect();
    out.extend(to.components().skip(common));
    Ok(out)
}

fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One path segment: no separators, not `.` or `..`.
fn safe_part(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

fn safe_relative(path: &str) -> bool {
    path.split('/').all(safe_part)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn installed(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn files_are_reachable_by_repo_path_and_pruned_with_their_model() {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        let cache = dir.path().join("models/.huggingface/hub");
        let files = vec![
            HubFile {
                repo_path: "model_index.json".into(),
                etag: "a".repeat(40),
                installed: installed(&models, "flux/x/model_index.json", b"{}"),
            },
            HubFile {
                repo_path: "transformer/weights.safetensors".into(),
                etag: "b".repeat(64),
                installed: installed(&models, "flux/x/transformer/weights.safetensors", b"w"),
            },
        ];
        let snapshot = HubSnapshot {
            repo: "acme/flux",
            revision: "main",
            commit: COMMIT,
            files: &files,
        };
        publish(&cache, &snapshot).unwrap();
        publish(&cache, &snapshot).unwrap();
        let repo = cache.join("models--acme--flux");
        let weights = repo.join(format!(
            "snapshots/{COMMIT}/transformer/weights.safetensors"
        ));
        assert_eq!(fs::read(&weights).unwrap(), b"w");
        assert_eq!(fs::read_to_string(repo.join("refs/main")).unwrap(), COMMIT);
        // Links, not copies, and relative ones.
        assert!(fs::read_link(&weights).unwrap().starts_with("../.."));
        assert!(fs::read_link(repo.join("blobs").join("b".repeat(64)))
            .unwrap()
            .is_relative());

        assert_eq!(prune(&cache, &[]).unwrap(), 0);
        fs::remove_dir_all(models.join("flux")).unwrap();
        assert_eq!(prune(&cache, &[]).unwrap(), 4);
        assert!(!repo.exists(), "the repo folder goes when nothing is left");
    }

    #[test]
    fn a_revision_that_is_no_commit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = HubSnapshot {
            repo: "acme/x",
            revision: "main",
            commit: "",
            files: &[],
        };
        assert!(publish(dir.path(), &snapshot).is_err());
    }

    #[test]
    fn a_file_another_model_still_has_stays_in_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        let cache = dir.path().join("cache");
        let sha = "c".repeat(64);
        let older = installed(
            &models,
            "flux/full/vae/diffusion_pytorch_model.safetensors",
            b"v",
        );
        let newer = installed(
            &models,
            "flux/vae-only/vae/diffusion_pytorch_model.safetensors",
            b"v",
        );
        for copy in [&older, &newer] {
            let files = [HubFile {
                repo_path: "vae/diffusion_pytorch_model.safetensors".into(),
                etag: sha.clone(),
                installed: copy.clone(),
            }];
            let snapshot = HubSnapshot {
                repo: "acme/flux",
                revision: "main",
                commit: COMMIT,
                files: &files,
            };
            publish(&cache, &snapshot).unwrap();
        }
        // The newer copy's model is deleted; the older one is still installed.
        fs::remove_dir_all(models.join("flux/vae-only")).unwrap();
        let survivor = Survivor {
            repo: "acme/flux".into(),
            repo_path: "vae/diffusion_pytorch_model.safetensors".into(),
            sha256: sha.clone(),
            installed: older.clone(),
        };
        assert_eq!(prune(&cache, &[survivor]).unwrap(), 0);
        let entry = cache.join(format!(
            "models--acme--flux/snapshots/{COMMIT}/vae/diffusion_pytorch_model.safetensors"
        ));
        assert_eq!(fs::read(&entry).unwrap(), b"v");
        assert_eq!(
            fs::canonicalize(&entry).unwrap(),
            fs::canonicalize(&older).unwrap()
        );
    }
}
