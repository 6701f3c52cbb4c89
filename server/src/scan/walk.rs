//! Listing model files under the scan roots: stats only, no file data.

use std::{
    collections::HashSet,
    fs::{self, Metadata},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use crate::inspect::Format;

/// A model file found under a root.
#[derive(Debug)]
pub struct Candidate {
    pub path: PathBuf,
    pub root: PathBuf,
    pub in_models_dir: bool,
    pub metadata: Metadata,
}

#[derive(Debug, Default)]
pub struct Listing {
    pub files: Vec<Candidate>,
    /// Roots or folders that could not be read.
    pub problems: Vec<String>,
}

/// Every regular file with a model extension under `roots`, each file once (a root inside
/// another is not listed twice). Hidden files and folders (`.downloads`, `.huggingface`) and
/// symbolic links are skipped: links point at files listed where they really are.
pub fn list(roots: &[PathBuf], models_dir: &Path) -> Listing {
    let mut listing = Listing::default();
    let mut seen = HashSet::new();
    for root in roots {
        let in_models_dir = root == models_dir;
        match fs::symlink_metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                listing
                    .problems
                    .push(format!("{} is not a folder", root.display()));
                continue;
            }
            Err(e) => {
                listing
                    .problems
                    .push(format!("cannot read {}: {e}", root.display()));
                continue;
            }
        }
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) => {
                    listing
                        .problems
                        .push(format!("cannot read {}: {e}", dir.display()));
                    continue;
                }
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') {
                    continue;
                }
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                let path = entry.path();
                if metadata.is_dir() {
                    if !roots.iter().any(|r| r == &path && r != root) {
                        stack.push(path);
                    }
                } else if metadata.is_file()
                    && Format::from_file_name(&name).is_some()
                    && seen.insert((metadata.dev(), metadata.ino()))
                {
                    listing.files.push(Candidate {
                        path,
                        root: root.clone(),
                        in_models_dir,
                        metadata,
                    });
                }
            }
        }
    }
    listing.files.sort_by(|a, b| a.path.cmp(&b.path));
    listing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_model_files_once_and_skips_hidden_links_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("models");
        let extra = models.join("comfy");
        for d in [&models, &extra, &models.join(".downloads")] {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(models.join("a.safetensors"), b"x").unwrap();
        fs::write(models.join("notes.txt"), b"x").unwrap();
        fs::write(models.join(".downloads/b.safetensors"), b"x").unwrap();
        fs::write(extra.join("c.gguf"), b"x").unwrap();
        std::os::unix::fs::symlink(models.join("a.safetensors"), extra.join("link.safetensors"))
            .unwrap();
        let listing = list(
            &[models.clone(), extra.clone(), dir.path().join("gone")],
            &models,
        );
        let names: Vec<_> = listing
            .files
            .iter()
            .map(|c| {
                (
                    c.path.strip_prefix(&models).unwrap().display().to_string(),
                    c.in_models_dir,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("a.safetensors".to_string(), true),
                ("comfy/c.gguf".to_string(), false)
            ]
        );
        assert!(
            listing.problems[0].contains("gone"),
            "{:?}",
            listing.problems
        );
    }
}
