//! Registering a received upload.

use app::domain::{
    AppError, ErrorCode, InstalledFile, InstalledModel, ModelFamily, ModelType, SourceType,
    UploadCheck, Uploaded,
};

use super::Service;
use crate::{
    download::reuse,
    sources::upload::Received,
    storage::{now_rfc3339, paths},
};

/// The form fields that come with an uploaded file.
#[derive(Debug, Default, Clone)]
pub struct UploadFields {
    pub name: Option<String>,
    pub model_type: Option<ModelType>,
    pub family: Option<ModelFamily>,
}

impl UploadFields {
    /// Sets a text field of the multipart form; unknown fields are an error.
    pub fn set(&mut self, field: &str, value: &str) -> Result<(), AppError> {
        let value = value.trim();
        match field {
            "name" => self.name = Some(value.to_string()).filter(|v| !v.is_empty()),
            "type" => self.model_type = Some(parse_enum(field, value)?),
            "family" => self.family = Some(parse_enum(field, value)?),
            other => {
                return Err(AppError::invalid(
                    other,
                    format!("unknown field {other:?}: send file, name, type and family"),
                ))
            }
        }
        Ok(())
    }
}

/// A snake_case enum value from a form field, with an error that names the field.
fn parse_enum<T: app::domain::Wire>(field: &str, value: &str) -> Result<T, AppError> {
    app::domain::from_wire(value)
        .ok_or_else(|| AppError::invalid(field, format!("{value:?} is not a valid model {field}")))
}

impl Service {
    /// Moves a validated upload into its folder and registers it. An existing file of the
    /// same name is never overwritten.
    pub async fn install_upload(
        &self,
        received: Received,
        fields: UploadFields,
    ) -> Result<Uploaded, AppError> {
        let family = fields.family.unwrap_or(ModelFamily::Custom);
        let model_type = fields.model_type.unwrap_or(ModelType::Other);
        let name = fields
            .name
            .unwrap_or_else(|| paths::file_stem(&received.file_name).to_string());
        if name.chars().count() > 200 {
            return Err(AppError::invalid(
                "name",
                "name is longer than 200 characters",
            ));
        }
        let rel = format!(
            "{}/{}",
            paths::category_folder(family, model_type),
            received.file_name
        );
        let record = InstalledModel {
            id: format!("upload-{}", uuid::Uuid::new_v4()),
            source_model_id: None,
            name,
            family,
            model_type,
            files: vec![InstalledFile {
                path: rel.clone(),
                size_bytes: received.size,
                sha256: received.sha256.clone(),
                identification: None,
            }],
            total_size_bytes: received.size,
            installed_at: now_rfc3339(),
            source: SourceType::Upload,
            last_verification: None,
            civitai: None,
        };
        let partial_path = received.partial.path().to_path_buf();
        let sha256 = received.sha256.clone();
        let (installed, already_installed) = self
            .blocking(move |store| {
                let twice = reuse::uploaded_twice(&store.read()?, store.models_dir(), &sha256);
                Ok((store.install(&[(partial_path, rel)], record)?, twice))
            })
            .await
            .map_err(|e| match e.code {
                ErrorCode::Conflict => AppError {
                    field: Some("file".into()),
                    ..e
                },
                _ => e,
            })?;
        received.partial.moved();
        tracing::info!(id = %installed.id, size = installed.total_size_bytes, "upload installed");
        Ok(Uploaded {
            model: installed,
            already_installed,
        })
    }

    /// Before an upload: whether an installed file has exactly `size_bytes` (and the name).
    pub async fn check_upload(
        &self,
        file_name: &str,
        size_bytes: u64,
    ) -> Result<UploadCheck, AppError> {
        // Named as the upload would be saved.
        let file_name = paths::sanitize_file_name(file_name)
            .ok_or_else(|| AppError::invalid("fileName", "give the name of the file to upload"))?;
        self.blocking(move |store| {
            let db = store.read()?;
            Ok(UploadCheck {
                already_installed: reuse::same_size(
                    &db,
                    store.models_dir(),
                    &file_name,
                    size_bytes,
                ),
            })
        })
        .await
    }
}
