use serde::{Deserialize, Serialize};

use super::{AppError, DownloadRequest, InstalledModel, Model, ModelFamily, ModelType, SourceType};

/// What adding a custom model would save, shown before saving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPreview {
    pub model: Model,
    pub files: Vec<PreviewFile>,
    /// Where it comes from, in words ("CivitAI model 4384, version 8 (128713), Flux.1 D").
    pub detail: String,
    /// What could not be checked (the Hub was unreachable), so the preview does not look like
    /// a success it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// "already installed as X (path)": a file with the same sha256 is on the volume; the
    /// download will link it instead of transferring it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_installed: Option<String>,
}

/// `POST /api/models`'s answer: the saved model and, like the check before it
/// (`ModelPreview::already_installed`), whether its file is already on the volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddedModel {
    pub model: Model,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_installed: Option<String>,
}

/// `GET /api/models/upload/check?fileName=&sizeBytes=`: asked before an upload transfers
/// anything. `already_installed` says "a file of the same size is already installed as X
/// (path)" (same name and size first) when an installed file has exactly that size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_installed: Option<String>,
}

/// `POST /api/models/upload`'s answer: the installed record and, when an installed file
/// already had the upload's sha256, "already installed as X (path)" (the two are duplicates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Uploaded {
    pub model: InstalledModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already_installed: Option<String>,
}

/// The edit form's fields, sent whole by the page: the server functions' URL encoding cannot
/// tell an emptied field from an absent one, so the page never sends "absent" (an emptied
/// description or tag list is cleared; an emptied name is refused).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomModelEdit {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    #[serde(rename = "type")]
    pub model_type: Option<ModelType>,
    pub family: Option<ModelFamily>,
}

impl From<CustomModelEdit> for ModelUpdate {
    fn from(edit: CustomModelEdit) -> Self {
        ModelUpdate {
            name: Some(edit.name),
            description: Some(edit.description),
            tags: Some(edit.tags),
            model_type: edit.model_type,
            family: edit.family,
        }
    }
}

/// Changes to a custom model (`PATCH /api/models?id=`): each field given replaces the saved
/// one; absent fields stay as they are. The source cannot change (add another model instead).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ModelUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(rename = "type")]
    pub model_type: Option<ModelType>,
    pub family: Option<ModelFamily>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewFile {
    pub name: String,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
}

/// `POST /api/models`: a custom model from Hugging Face, CivitAI or a direct URL.
/// Tokens are used for this request only and never stored; `Debug` redacts them.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AddModelRequest {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub model_type: Option<ModelType>,
    pub family: Option<ModelFamily>,
    /// Optional: inferred from which source fields are present.
    pub source_type: Option<SourceType>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub huggingface_repo: Option<String>,
    pub huggingface_files: Option<Vec<String>>,
    pub huggingface_revision: Option<String>,
    pub huggingface_token: Option<String>,
    pub civitai_url: Option<String>,
    pub civitai_token: Option<String>,
    pub url: Option<String>,
    pub file_name: Option<String>,
    pub sha256: Option<String>,
}

impl std::fmt::Debug for AddModelRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("AddModelRequest")
            .field("name", &self.name)
            .field("type", &self.model_type)
            .field("family", &self.family)
            .field("source_type", &self.source_type)
            .field("huggingface_repo", &self.huggingface_repo)
            .field("huggingface_files", &self.huggingface_files)
            .field("huggingface_revision", &self.huggingface_revision)
            .field("huggingface_token", &redact(&self.huggingface_token))
            .field("civitai_url", &self.civitai_url)
            .field("civitai_token", &redact(&self.civitai_token))
            .field("url", &self.url)
            .field("file_name", &self.file_name)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

impl AddModelRequest {
    /// Tokens that could not be sent in an `Authorization` header or a query string are refused
    /// here, naming the field, rather than failing later as an HTTP client error.
    pub fn check_tokens(&self) -> Result<(), AppError> {
        check_tokens(&self.huggingface_token, &self.civitai_token)
    }
}

impl DownloadRequest {
    /// As [`AddModelRequest::check_tokens`].
    pub fn check_tokens(&self) -> Result<(), AppError> {
        check_tokens(&self.huggingface_token, &self.civitai_token)
    }
}

fn check_tokens(huggingface: &Option<String>, civitai: &Option<String>) -> Result<(), AppError> {
    if let Some(token) = huggingface {
        check_token("huggingfaceToken", "Hugging Face", token)?;
    }
    if let Some(token) = civitai {
        check_token("civitaiToken", "CivitAI", token)?;
    }
    Ok(())
}

/// A token is printable ASCII without spaces; whitespace around it (a pasted line break) is
/// trimmed before use and allowed. The message never repeats the token.
pub fn check_token(field: &str, source: &str, token: &str) -> Result<(), AppError> {
    let token = token.trim();
    let problem = if token.contains(['\r', '\n']) {
        "contains a line break".to_string()
    } else if token.contains(char::is_whitespace) {
        "contains a space".to_string()
    } else if let Some(c) = token.chars().find(|c| !c.is_ascii_graphic()) {
        format!(
            "contains the character U+{:04X}, which no token has",
            c as u32
        )
    } else {
        return Ok(());
    };
    Err(AppError::invalid(
        field,
        format!("the {source} token {problem}; paste only the token"),
    ))
}

/// Right-to-left and left-to-right marks, embeddings, overrides and isolates: they make a name
/// display differently from the characters it holds.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Refuses control characters (line breaks and tabs too, unless `multiline`) and bidirectional
/// formatting characters in a name, file name or text the user typed.
pub fn check_text(field: &str, value: &str, multiline: bool) -> Result<(), AppError> {
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    match value
        .chars()
        .find(|&c| (c.is_control() && !allowed(c)) || is_bidi_control(c))
    {
        None => Ok(()),
        Some(c) => {
            let kind = if is_bidi_control(c) {
                "a text-direction control character"
            } else {
                "a control character"
            };
            Err(AppError::invalid(
                field,
                format!("{field} contains {kind} (U+{:04X}); remove it", c as u32),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_must_fit_in_a_header() {
        assert!(check_token("huggingfaceToken", "Hugging Face", "hf_abcDEF123").is_ok());
        assert!(check_token("huggingfaceToken", "Hugging Face", " hf_abc\r\n").is_ok());
        let err =
            check_token("huggingfaceToken", "Hugging Face", "hf_abc\r\nX-Evil: 1").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("huggingfaceToken"));
        assert_eq!(
            err.message,
            "the Hugging Face token contains a line break; paste only the token"
        );
        assert!(!err.message.contains("hf_abc"));
        let err = check_token("civitaiToken", "CivitAI", "abc def").unwrap_err();
        assert!(err.message.contains("contains a space"), "{}", err.message);
        let err = check_token("civitaiToken", "CivitAI", "abc\u{7f}").unwrap_err();
        assert!(err.message.contains("U+007F"), "{}", err.message);
        let req = DownloadRequest {
            model_id: "x".into(),
            civitai_token: Some("a\nb".into()),
            ..Default::default()
        };
        assert_eq!(
            req.check_tokens().unwrap_err().field.as_deref(),
            Some("civitaiToken")
        );
    }

    #[test]
    fn names_refuse_control_and_text_direction_characters() {
        assert!(check_text("name", "Flux Dev — v2 (ü)", false).is_ok());
        assert!(check_text("description", "line one\nline two\ttab", true).is_ok());
        for (bad, multiline) in [
            ("evil\u{202E}fdp.safetensors", false),
            ("a\u{2067}b", true),
            ("a\nb", false),
            ("a\u{0}b", true),
            ("a\u{1b}[31mb", true),
        ] {
            let err = check_text("name", bad, multiline).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("name"), "{bad:?}");
        }
    }

    #[test]
    fn the_spec_example_parses_and_debug_hides_tokens() {
        let req: AddModelRequest = serde_json::from_str(
            r#"{"name":"My Custom Model","type":"base_model","sourceType":"huggingface",
                "huggingfaceRepo":"username/model-name",
                "huggingfaceFiles":["model.safetensors","config.json"],
                "huggingfaceToken":"hf_canary","description":"Custom fine-tuned model",
                "tags":["custom","fine-tune"]}"#,
        )
        .unwrap();
        assert_eq!(req.model_type, Some(ModelType::BaseModel));
        assert_eq!(req.huggingface_files.as_ref().map(Vec::len), Some(2));
        assert!(!format!("{req:?}").contains("hf_canary"));
    }
}
