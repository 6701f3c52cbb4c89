//! CivitAI: the URL forms users paste, the API v1 lookups that turn one into a version with
//! its primary file, the download endpoint a job asks for its signed link, and the search
//! and version picker of the Add tab (`search`).

pub mod by_hash;
mod download;
pub mod preview;
pub mod search;

use app::domain::{AppError, ModelFamily, ModelType};
use serde::Deserialize;
use url::Url;

use super::http_error;

pub use download::resolve_download;

/// What a pasted CivitAI link points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CivitaiRef {
    /// A model page; without a version, the latest published version is meant.
    Model {
        model_id: u64,
        version_id: Option<u64>,
    },
    /// A specific version (version page, download link, or AIR with `@version`).
    Version { version_id: u64 },
}

const FIELD: &str = "civitaiUrl";

/// Parses every form users paste: model pages (with or without slug and `modelVersionId`),
/// `model-versions/{id}`, `api/download/models/{id}`, and AIR urns. Hosts: civitai.com,
/// civitai.red (with or without `www.`) and the configured endpoint's host.
pub fn parse_ref(input: &str, endpoint_host: Option<&str>) -> Result<CivitaiRef, AppError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(AppError::invalid(FIELD, "paste a CivitAI model link"));
    }
    if let Some(air) = input.strip_prefix("urn:air:") {
        return parse_air(air);
    }
    let url = Url::parse(input).map_err(|_| {
        AppError::invalid(
            FIELD,
            format!("{input:?} is not a link; paste one like https://civitai.com/models/4384"),
        )
    })?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches("www.");
    let known = ["civitai.com", "civitai.red"].contains(&host) || Some(host) == endpoint_host;
    if !matches!(url.scheme(), "http" | "https") || !known {
        return Err(AppError::invalid(
            FIELD,
            format!("{host:?} is not CivitAI; paste a link from civitai.com or civitai.red"),
        ));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let id = |s: &str, what: &str| -> Result<u64, AppError> {
        s.parse::<u64>()
            .ok()
            .filter(|n| (1..=2_147_483_647).contains(n))
            .ok_or_else(|| {
                AppError::invalid(FIELD, format!("{s:?} is not a valid CivitAI {what} id"))
            })
    };
    let query_version = url
        .query_pairs()
        .find(|(k, _)| k == "modelVersionId")
        .map(|(_, v)| id(&v, "version"))
        .transpose()?;
    match segments.as_slice() {
        ["models", model, ..] => Ok(CivitaiRef::Model {
            model_id: id(model, "model")?,
            version_id: query_version,
        }),
        ["model-versions", version, ..] => Ok(CivitaiRef::Version {
            version_id: id(version, "version")?,
        }),
        ["api", "download", "models", version] => Ok(CivitaiRef::Version {
            version_id: id(version, "version")?,
        }),
        _ => Err(AppError::invalid(
            FIELD,
            "this CivitAI link points at no model: use a model page, a model-versions link or a download link",
        )),
    }
}

/// `{ecosystem}:{type}:civitai:{modelId}[@{versionId}]`
fn parse_air(air: &str) -> Result<CivitaiRef, AppError> {
    let bad = || {
        AppError::invalid(
            FIELD,
            "an AIR looks like urn:air:sdxl:checkpoint:civitai:827184@2514310",
        )
    };
    let parts: Vec<&str> = air.split(':').collect();
    let [_, _, "civitai", ids] = parts.as_slice() else {
        return Err(bad());
    };
    let (model, version) = match ids.split_once('@') {
        Some((m, v)) => (m, Some(v)),
        None => (*ids, None),
    };
    let model_id = model.parse().map_err(|_| bad())?;
    let version_id = version.map(|v| v.parse().map_err(|_| bad())).transpose()?;
    Ok(CivitaiRef::Model {
        model_id,
        version_id,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiFile {
    pub id: u64,
    pub name: String,
    #[serde(default, rename = "sizeKB")]
    pub size_kb: f64,
    #[serde(default)]
    pub primary: Option<bool>,
    #[serde(default, rename = "type")]
    pub file_type: Option<String>,
    #[serde(default)]
    pub hashes: std::collections::HashMap<String, String>,
    pub download_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersion {
    pub id: u64,
    #[serde(default)]
    pub model_id: Option<u64>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub base_model: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub files: Vec<ApiFile>,
    #[serde(default)]
    pub model: Option<ApiVersionModel>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiVersionModel {
    pub name: String,
    #[serde(rename = "type")]
    pub model_type: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiModel {
    pub id: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub model_type: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub model_versions: Vec<ApiVersion>,
}

/// A version resolved to the file we will download.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub model_id: u64,
    pub model_name: String,
    pub version_id: u64,
    pub version_name: String,
    pub base_model: String,
    pub civitai_type: String,
    pub tags: Vec<String>,
    pub file_name: String,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
    pub download_url: String,
}

/// Looks a reference up through the API v1 of `endpoint`.
pub async fn resolve(
    client: &reqwest::Client,
    endpoint: &str,
    reference: CivitaiRef,
    token: Option<&str>,
) -> Result<Resolved, AppError> {
    let get = |path: String| {
        let mut request = client.get(format!("{endpoint}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    match reference {
        CivitaiRef::Version { version_id } => {
            let version: ApiVersion = json(
                get(format!("/api/v1/model-versions/{version_id}")).await,
                "version",
                version_id,
            )
            .await?;
            let model = version.model.clone();
            let model_id = version.model_id.unwrap_or_default();
            pick(
                version,
                model_id,
                model.as_ref().map(|m| m.name.clone()).unwrap_or_default(),
                model.map(|m| m.model_type).unwrap_or_default(),
                Vec::new(),
            )
        }
        CivitaiRef::Model {
            model_id,
            version_id,
        } => {
            let model: ApiModel = json(
                get(format!("/api/v1/models/{model_id}")).await,
                "model",
                model_id,
            )
            .await?;
            let version = match version_id {
                Some(v) => model
                    .model_versions
                    .iter()
                    .find(|mv| mv.id == v)
                    .cloned()
                    .ok_or_else(|| {
                        AppError::invalid(
                            FIELD,
                            format!("model {model_id} has no published version {v}"),
                        )
                    })?,
                // The API lists published versions newest first.
                None => model.model_versions.first().cloned().ok_or_else(|| {
                    AppError::invalid(FIELD, format!("model {model_id} has no published version"))
                })?,
            };
            pick(version, model.id, model.name, model.model_type, model.tags)
        }
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    response: reqwest::Result<reqwest::Response>,
    what: &str,
    id: u64,
) -> Result<T, AppError> {
    let response = response.map_err(|e| http_error("CivitAI", e))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(AppError::invalid(
            FIELD,
            format!("CivitAI has no {what} {id}"),
        ));
    }
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(AppError::invalid(
            "civitaiToken",
            format!("CivitAI refused access to {what} {id}: give an API key with access"),
        ));
    }
    if !status.is_success() {
        return Err(AppError::new(
            app::domain::ErrorCode::Upstream,
            format!("CivitAI answered {status} for {what} {id}; try again later"),
        ));
    }
    crate::sources::lookup_json(&format!("CivitAI (for {what} {id})"), response).await
}

/// The primary file of a version (else its first model file).
fn pick(
    version: ApiVersion,
    model_id: u64,
    model_name: String,
    civitai_type: String,
    tags: Vec<String>,
) -> Result<Resolved, AppError> {
    let file = version
        .files
        .iter()
        .find(|f| f.primary == Some(true))
        .or_else(|| {
            version
                .files
                .iter()
                .find(|f| f.file_type.as_deref() == Some("Model"))
        })
        .or(version.files.first())
        .cloned()
        .ok_or_else(|| {
            AppError::invalid(
                FIELD,
                format!(
                    "version {} has no downloadable file (archived?)",
                    version.id
                ),
            )
        })?;
    let sha256 = file
        .hashes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("sha256"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .filter(|v| crate::storage::hashing::is_sha256(v));
    Ok(Resolved {
        model_id,
        model_name,
        version_id: version.id,
        version_name: version.name,
        base_model: version.base_model,
        civitai_type,
        tags,
        size_bytes: (file.size_kb > 0.0).then(|| (file.size_kb * 1024.0).round() as u64),
        sha256,
        download_url: file
            .download_url
            .unwrap_or_else(|| format!("/api/download/models/{}", version.id)),
        file_name: file.name,
    })
}

/// CivitAI's model type as ours.
pub fn model_type(civitai_type: &str) -> ModelType {
    match civitai_type.to_ascii_lowercase().as_str() {
        "checkpoint" | "unet" => ModelType::BaseModel,
        "lora" | "locon" | "dora" => ModelType::Lora,
        "vae" => ModelType::Vae,
        "textencoder" | "clip" => ModelType::TextEncoder,
        "visionlanguage" | "llm" => ModelType::Captioner,
        "controlnet" | "clipvision" => ModelType::Adapter,
        _ => ModelType::Other,
    }
}

/// CivitAI's `baseModel` as our family.
pub fn family(base_model: &str) -> ModelFamily {
    app::domain::family_of_base(base_model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<CivitaiRef, AppError> {
        parse_ref(s, Some("127.0.0.1"))
    }

    #[test]
    fn every_url_form_users_paste() {
        use CivitaiRef::*;
        let model = |m, v| Model {
            model_id: m,
            version_id: v,
        };
        assert_eq!(
            parse("https://civitai.com/models/4384").unwrap(),
            model(4384, None)
        );
        assert_eq!(
            parse("https://civitai.com/models/4384/dreamshaper").unwrap(),
            model(4384, None)
        );
        assert_eq!(
            parse("https://civitai.com/models/4384/dreamshaper?modelVersionId=128713").unwrap(),
            model(4384, Some(128713))
        );
        assert_eq!(
            parse("https://www.civitai.red/models/4384?modelVersionId=7").unwrap(),
            model(4384, Some(7))
        );
        assert_eq!(
            parse("https://civitai.com/model-versions/128713").unwrap(),
            Version { version_id: 128713 }
        );
        assert_eq!(
            parse("https://civitai.com/api/download/models/128713?type=Model&format=SafeTensor")
                .unwrap(),
            Version { version_id: 128713 }
        );
        assert_eq!(
            parse("urn:air:sdxl:checkpoint:civitai:827184@2514310").unwrap(),
            model(827184, Some(2514310))
        );
        assert_eq!(
            parse("urn:air:flux1:lora:civitai:42").unwrap(),
            model(42, None)
        );
        assert_eq!(parse("http://127.0.0.1/models/5").unwrap(), model(5, None));
    }

    #[test]
    fn bad_links_name_the_field_and_say_why() {
        for bad in [
            "",
            "not a url",
            "https://example.com/models/4384",
            "https://civitai.com/images/123",
            "https://civitai.com/models/abc",
            "https://civitai.com/models/0",
            "https://civitai.com/models/4384?modelVersionId=x",
            "ftp://civitai.com/models/1",
            "urn:air:sdxl:checkpoint:huggingface:1@2",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("civitaiUrl"), "{bad}");
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn types_and_base_models_map_to_ours() {
        assert_eq!(model_type("Checkpoint"), ModelType::BaseModel);
        assert_eq!(model_type("LORA"), ModelType::Lora);
        assert_eq!(model_type("LoCon"), ModelType::Lora);
        assert_eq!(model_type("VAE"), ModelType::Vae);
        assert_eq!(model_type("Poses"), ModelType::Other);
        assert_eq!(family("Flux.1 D"), ModelFamily::Flux);
        assert_eq!(family("SDXL 1.0"), ModelFamily::Sdxl);
        assert_eq!(family("Illustrious"), ModelFamily::Sdxl);
        assert_eq!(family("Qwen"), ModelFamily::Qwen);
        assert_eq!(family("ZImageTurbo"), ModelFamily::Zimage);
        assert_eq!(family("SD 1.5"), ModelFamily::Custom);
    }
}
