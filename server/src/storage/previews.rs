//! CivitAI's metadata on installed records, and their preview images: saved beside the
//! model's main file as `<stem>.preview.<ext>` (for a file under a read-only extra root,
//! under `MODELS_DIR/.previews/`), written atomically and deleted with the model.

use std::{fs, path::PathBuf};

use app::domain::{
    AppError, CivitaiInfo, CivitaiPreview, CivitaiUpdate, InstalledModel, Preferences,
};

use super::{atomic, paths, Store};

/// The folder for previews of files outside `MODELS_DIR` (hidden: the scan skips it).
pub const PREVIEWS_FOLDER: &str = ".previews";

/// Where the preview of a record whose main file is `main_path` goes, relative to
/// `MODELS_DIR`.
pub fn preview_rel(main_path: &str, record_id: &str, extension: &str) -> String {
    if main_path.starts_with('/') {
        return hidden_preview_rel(record_id, extension);
    }
    let (dir, name) = main_path.rsplit_once('/').unwrap_or(("", main_path));
    let file = format!("{}.preview.{extension}", paths::file_stem(name));
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

/// The record's own name under the hidden folder: for files outside `MODELS_DIR`, and where
/// the name beside the model is taken by a file this app did not write (ComfyUI and A1111
/// keep their previews under the same `<stem>.preview.<ext>` name).
fn hidden_preview_rel(record_id: &str, extension: &str) -> String {
    format!(
        "{PREVIEWS_FOLDER}/{}.preview.{extension}",
        paths::slug(record_id)
    )
}

/// A checked image to save as a preview.
pub struct PreviewBytes<'a> {
    pub bytes: &'a [u8],
    pub extension: &'a str,
    pub content_type: &'a str,
    pub nsfw: bool,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl Store {
    /// Changes the CivitAI metadata of record `id`, under the lock, when its main file still
    /// has `sha256` (a record replaced meanwhile is left alone): `None` then.
    fn change_civitai(
        &self,
        id: &str,
        sha256: &str,
        change: impl FnOnce(&mut Option<CivitaiInfo>, &mut InstalledModel) -> Result<(), AppError>,
    ) -> Result<Option<InstalledModel>, AppError> {
        self.update(|db| {
            let Some(model) = db.installed.iter_mut().find(|m| m.id == id) else {
                return Ok(None);
            };
            if model.main_file().map(|f| f.sha256.as_str()) != Some(sha256) {
                return Ok(None);
            }
            let mut info = model.civitai.take();
            let result = change(&mut info, model);
            model.civitai = info;
            result?;
            Ok(Some(model.clone()))
        })
    }

    /// Records a lookup's outcome. A preview and update check of the same version are kept.
    pub fn set_civitai(
        &self,
        id: &str,
        mut info: CivitaiInfo,
    ) -> Result<Option<InstalledModel>, AppError> {
        let sha = info.sha256.clone();
        self.change_civitai(id, &sha, |slot, _| {
            if let Some(old) = slot.take() {
                if old.version_id.is_some() && old.version_id == info.version_id {
                    info.preview = old.preview;
                    info.update = old.update;
                } else if let Some(preview) = old.preview {
                    self.delete_preview_file(&preview.path);
                }
            }
            *slot = Some(info);
            Ok(())
        })
    }

    /// Writes the preview image beside the model (replacing an older one) and records it.
    pub fn save_preview(
        &self,
        id: &str,
        sha256: &str,
        image: PreviewBytes<'_>,
    ) -> Result<Option<InstalledModel>, AppError> {
        self.change_civitai(id, sha256, |slot, model| {
            let Some(info) = slot.as_mut() else {
                return Ok(());
            };
            let main = model
                .main_file()
                .map(|f| f.path.clone())
                .unwrap_or_default();
            let mut rel = preview_rel(&main, &model.id, image.extension);
            let ours = info.preview.as_ref().is_some_and(|p| p.path == rel);
            let taken =
                |rel: &str| paths::safe_join(self.models_dir(), rel).is_some_and(|p| p.exists());
            if !ours && taken(&rel) {
                // Never overwrite (nor later delete) a file this record did not write.
                rel = hidden_preview_rel(&model.id, image.extension);
            }
            let target = paths::safe_join(self.models_dir(), &rel)
                .ok_or_else(|| AppError::internal(format!("{rel} is not a safe path")))?;
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir).map_err(|e| self.io_err(e))?;
            }
            atomic::write_atomic(&target, image.bytes).map_err(|e| self.io_err(e))?;
            if let Some(old) = info.preview.take().filter(|p| p.path != rel) {
                self.delete_preview_file(&old.path);
            }
            info.preview = Some(CivitaiPreview {
                path: rel,
                content_type: image.content_type.to_string(),
                nsfw: image.nsfw,
                width: image.width,
                height: image.height,
            });
            info.message = None;
            Ok(())
        })
    }

    /// Records why the preview was not kept.
    pub fn note_preview_problem(
        &self,
        id: &str,
        sha256: &str,
        message: String,
    ) -> Result<Option<InstalledModel>, AppError> {
        self.change_civitai(id, sha256, |slot, _| {
            if let Some(info) = slot.as_mut() {
                info.message = Some(message);
            }
            Ok(())
        })
    }

    /// Records the outcome of "Check for updates".
    pub fn set_civitai_update(
        &self,
        id: &str,
        sha256: &str,
        update: CivitaiUpdate,
    ) -> Result<Option<InstalledModel>, AppError> {
        self.change_civitai(id, sha256, |slot, _| {
            if let Some(info) = slot.as_mut() {
                info.update = Some(update);
            }
            Ok(())
        })
    }

    /// The preview file of record `id` and its content type (never a path a client names).
    pub fn preview_file(&self, id: &str) -> Result<(PathBuf, String), AppError> {
        let model = self
            .read()?
            .installed
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| AppError::not_found(format!("no installed model with id {id}")))?;
        let preview = model
            .civitai
            .and_then(|c| c.preview)
            .ok_or_else(|| AppError::not_found(format!("{id} has no preview image")))?;
        let path = paths::safe_join(self.models_dir(), &preview.path)
            .filter(|p| p.is_file())
            .ok_or_else(|| AppError::not_found(format!("the preview of {id} is gone")))?;
        Ok((path, preview.content_type))
    }

    /// Saves the user's display preferences.
    pub fn set_preferences(&self, preferences: Preferences) -> Result<Preferences, AppError> {
        self.update(|db| {
            db.preferences = preferences;
            Ok(preferences)
        })
    }

    /// Deletes a preview file (relative to `MODELS_DIR`); a missing one is fine.
    pub(super) fn delete_preview_file(&self, rel: &str) {
        if let Some(path) = paths::safe_join(self.models_dir(), rel) {
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "could not delete a preview");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{CivitaiStatus, InstalledFile, ModelFamily, ModelType, SourceType};

    fn store_with_lora(sha: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &dir.path().join("db.json")).unwrap();
        store
            .update(|db| {
                db.installed.push(InstalledModel {
                    id: "m".into(),
                    source_model_id: None,
                    name: "m".into(),
                    family: ModelFamily::Flux,
                    model_type: ModelType::Lora,
                    files: vec![InstalledFile {
                        path: "lora/m.safetensors".into(),
                        size_bytes: 1,
                        sha256: sha.into(),
                        identification: None,
                    }],
                    total_size_bytes: 1,
                    installed_at: String::new(),
                    source: SourceType::Upload,
                    last_verification: None,
                    civitai: None,
                });
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    fn found(sha: &str, version: u64) -> CivitaiInfo {
        CivitaiInfo {
            version_id: Some(version),
            ..CivitaiInfo::without_match(CivitaiStatus::Found, sha, String::new(), None)
        }
    }

    fn png(nsfw: bool) -> PreviewBytes<'static> {
        PreviewBytes {
            bytes: b"\x89PNG\r\n\x1a\n",
            extension: "png",
            content_type: "image/png",
            nsfw,
            width: None,
            height: None,
        }
    }

    #[test]
    fn a_preview_stays_with_its_version_and_goes_when_another_is_found() {
        let sha = "a".repeat(64);
        let (dir, store) = store_with_lora(&sha);
        let file = dir.path().join("lora/m.preview.png");
        store.set_civitai("m", found(&sha, 1)).unwrap().unwrap();
        store.save_preview("m", &sha, png(false)).unwrap().unwrap();
        assert!(file.is_file());
        // Looked up again, same version: the preview is kept.
        let again = store.set_civitai("m", found(&sha, 1)).unwrap().unwrap();
        assert!(again.civitai.unwrap().preview.is_some());
        assert!(file.is_file());
        // Another version: its preview is not this one's.
        let other = store.set_civitai("m", found(&sha, 2)).unwrap().unwrap();
        assert!(other.civitai.unwrap().preview.is_none());
        assert!(!file.exists());
        // A record whose file changed meanwhile is left alone.
        assert!(store
            .set_civitai("m", found(&"b".repeat(64), 3))
            .unwrap()
            .is_none());
        assert!(store
            .save_preview("nope", &sha, png(true))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_preview_another_tool_left_beside_the_model_is_never_overwritten_or_deleted() {
        let sha = "a".repeat(64);
        let (dir, store) = store_with_lora(&sha);
        let theirs = dir.path().join("lora/m.preview.png");
        std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
        std::fs::write(&theirs, b"ComfyUI's preview").unwrap();
        store.set_civitai("m", found(&sha, 1)).unwrap().unwrap();
        let saved = store.save_preview("m", &sha, png(false)).unwrap().unwrap();
        let ours = saved.civitai.unwrap().preview.unwrap().path;
        assert_eq!(ours, ".previews/m.preview.png");
        assert_eq!(std::fs::read(&theirs).unwrap(), b"ComfyUI's preview");
        // Another version found: our preview goes, theirs stays.
        store.set_civitai("m", found(&sha, 2)).unwrap().unwrap();
        assert!(!dir.path().join(&ours).exists());
        assert_eq!(std::fs::read(&theirs).unwrap(), b"ComfyUI's preview");
    }

    #[test]
    fn previews_go_beside_the_model_or_under_the_hidden_folder() {
        let cases = [
            (
                "lora/dreamshaper_8.safetensors",
                "x",
                "jpg",
                "lora/dreamshaper_8.preview.jpg",
            ),
            (
                "flux/my-model/model.v2.safetensors",
                "x",
                "png",
                "flux/my-model/model.v2.preview.png",
            ),
            ("top.gguf", "x", "webp", "top.preview.webp"),
            (
                "/comfy/models/loras/a.safetensors",
                "Local A",
                "jpg",
                ".previews/local-a.preview.jpg",
            ),
        ];
        for (main, id, ext, expected) in cases {
            assert_eq!(preview_rel(main, id, ext), expected, "{main}");
        }
    }
}
