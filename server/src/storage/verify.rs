//! Integrity check of an installed model against its record.

use std::{collections::BTreeSet, fs, path::Path};

use app::domain::{InstalledModel, SourceType, Verification};

use super::{hashing, now_rfc3339, paths};

/// Re-hashes every recorded file; lists missing, changed and unexpected files.
/// "Unexpected" only applies when the model's files share a folder of their own.
pub fn check(models_dir: &Path, model: &InstalledModel) -> Verification {
    let mut missing = Vec::new();
    let mut changed = Vec::new();
    for file in &model.files {
        let Some(path) = paths::resolve(models_dir, &file.path) else {
            missing.push(file.path.clone());
            continue;
        };
        match hashing::sha256_file(&path) {
            Ok((sha, len)) if len == file.size_bytes && sha == file.sha256 => {}
            Ok(_) => changed.push(file.path.clone()),
            Err(_) => missing.push(file.path.clone()),
        }
    }
    let unexpected = own_folder(model)
        .map(|folder| {
            // The model's preview image lives beside it and is its own.
            let preview = model.civitai.as_ref().and_then(|c| c.preview.as_ref());
            let recorded: BTreeSet<&str> = model
                .files
                .iter()
                .map(|f| f.path.as_str())
                .chain(preview.map(|p| p.path.as_str()))
                .collect();
            let mut found = Vec::new();
            list_files(models_dir, &folder, &mut found);
            found.retain(|p| !recorded.contains(p.as_str()));
            found
        })
        .unwrap_or_default();
    Verification {
        checked_at: now_rfc3339(),
        ok: missing.is_empty() && changed.is_empty() && unexpected.is_empty(),
        missing,
        changed,
        unexpected,
    }
}

/// The folder holding all of a model's files, when it is deeper than a category folder.
/// Never for adopted files (`local`): they sit in folders other tools fill.
fn own_folder(model: &InstalledModel) -> Option<String> {
    if model.source == SourceType::Local {
        return None;
    }
    let files: Vec<&str> = model.files.iter().map(|f| f.path.as_str()).collect();
    let folder = paths::common_folder(&files);
    (folder.split('/').count() >= 2).then_some(folder)
}

fn list_files(models_dir: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(models_dir.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let child = format!("{rel}/{name}");
        match entry.file_type() {
            Ok(t) if t.is_dir() => list_files(models_dir, &child, out),
            Ok(_) => out.push(child),
            Err(_) => {}
        }
    }
}
