//! Dataset folders and AI Toolkit configs for the export page.

use std::path::{Path, PathBuf};

use app::domain::{
    AppError, Companion, DatasetFolder, ExportRequest, ExportResult, InstalledModel,
    ModelBlockPreview, ModelType,
};

use super::Service;
use crate::{
    export::{ai_toolkit_yaml, model_block, ConfigInput, ModelBlock, Volume},
    storage::{paths, write_atomic},
};

const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "webp", "bmp"];

fn image_count(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    e.path()
                        .extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| {
                            IMAGE_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str())
                        })
                })
                .count() as u64
        })
        .unwrap_or(0)
}

impl Service {
    /// Folders directly under `DATASETS_DIR`, with how many images each holds.
    pub(super) fn dataset_folders(&self) -> Vec<DatasetFolder> {
        let root = &self.config.datasets_dir;
        let mut out: Vec<DatasetFolder> = std::fs::read_dir(root)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| DatasetFolder {
                        path: e.path().display().to_string(),
                        name: e.file_name().to_string_lossy().to_string(),
                        image_count: image_count(&e.path()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Validates the request, writes the YAML under `EXPORTS_DIR` (atomically) and returns it.
    pub(super) fn build_export(&self, request: &ExportRequest) -> Result<ExportResult, AppError> {
        let run_name = paths::slug(request.run_name.trim());
        if request.run_name.trim().is_empty() {
            return Err(AppError::invalid("runName", "give the training run a name"));
        }
        let dataset = PathBuf::from(request.dataset_folder.trim());
        let known = self
            .dataset_folders()
            .into_iter()
            .any(|d| Path::new(&d.path) == dataset);
        if !known {
            return Err(AppError::invalid(
                "datasetFolder",
                format!(
                    "choose a dataset folder under {}",
                    self.config.datasets_dir.display()
                ),
            ));
        }
        if request.trigger_word.chars().count() > 100 {
            return Err(AppError::invalid(
                "triggerWord",
                "the trigger word is longer than 100 characters",
            ));
        }
        let block = match request.base_model_id.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(id) => Some(self.model_block(id)?),
        };
        let (mut warnings, notes) = match &block {
            Some(b) => (b.warnings.clone(), b.notes.clone()),
            None => (
                vec![
                    "No base model chosen: set model.name_or_path and model.arch in AI Toolkit."
                        .into(),
                ],
                vec![],
            ),
        };
        if image_count(&dataset) == 0 {
            warnings.push(format!(
                "{} has no images directly inside it ({}): AI Toolkit would have nothing to train on. Put the images and their .txt captions in the folder itself.",
                dataset.display(),
                IMAGE_EXTENSIONS.join(", ")
            ));
        }
        let yaml = ai_toolkit_yaml(&ConfigInput {
            run_name: &run_name,
            trigger_word: &request.trigger_word,
            dataset_folder: &dataset.display().to_string(),
            training_folder: "output",
            base: block.as_ref().map(|b| &b.base),
        });
        let file_name = format!("{run_name}.yaml");
        std::fs::create_dir_all(&self.config.exports_dir).map_err(|e| {
            AppError::internal(format!(
                "cannot create {}: {e}",
                self.config.exports_dir.display()
            ))
        })?;
        let saved = self.config.exports_dir.join(&file_name);
        write_atomic(&saved, yaml.as_bytes())
            .map_err(|e| AppError::internal(format!("cannot save {}: {e}", saved.display())))?;
        Ok(ExportResult {
            yaml,
            saved_path: saved.display().to_string(),
            file_name,
            warnings,
            notes,
        })
    }

    /// The `model:` block for installed base model `id`, from what is on the volume.
    fn model_block(&self, id: &str) -> Result<ModelBlock, AppError> {
        let db = self.store.read()?;
        let model = db.installed.iter().find(|m| m.id == id).ok_or_else(|| {
            AppError::invalid("baseModelId", format!("no installed model with id {id}"))
        })?;
        check_base(model)?;
        let mut block = model_block(
            model,
            &Volume {
                models_dir: &self.config.models_dir,
                installed: &db.installed,
                catalog: &self.catalog,
            },
        );
        block.notes.push(format!(
            "Run AI Toolkit with HF_HOME={}: every file downloaded here from Hugging Face is in that cache, so repo ids load offline instead of being downloaded again.",
            self.config.hf_home.display()
        ));
        Ok(block)
    }

    /// What the export page shows under the base model selector.
    pub(super) fn model_block_preview(&self, id: &str) -> Result<ModelBlockPreview, AppError> {
        let block = self.model_block(id)?;
        let companions = block
            .companions
            .iter()
            .filter_map(|id| self.catalog.get(id))
            .map(|m| Companion {
                model_id: m.id.clone(),
                name: m.name.clone(),
                requires_token: m.gated,
            })
            .collect();
        Ok(ModelBlockPreview {
            yaml: crate::export::model_yaml(&block.base),
            notes: block.notes,
            warnings: block.warnings,
            companions,
        })
    }
}

fn check_base(model: &InstalledModel) -> Result<(), AppError> {
    if model.model_type != ModelType::BaseModel {
        return Err(AppError::invalid(
            "baseModelId",
            format!("{} is not a base model", model.name),
        ));
    }
    Ok(())
}
