use serde::{Deserialize, Serialize};

use super::{Model, ModelFamily, ModelType, SourceType};

/// What adding a custom model would save, shown before saving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPreview {
    pub model: Model,
    pub files: Vec<PreviewFile>,
    /// Where it comes from, in words ("CivitAI model 4384, version 8 (128713), Flux.1 D").
    pub detail: String,
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

#[cfg(test)]
mod tests {
    use super::*;

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
