//! Searching CivitAI (`/api/v1/models?query=`) and a model's versions for the picker: the
//! query, the answers as ours, what is not safe for work left out.

use std::time::Duration;

use app::domain::{
    AppError, CivitaiModel, CivitaiVersion, ErrorCode, ModelType, SearchPage, SearchQuery,
    SearchResult, SearchSort, SearchSource, VersionFile,
};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::model_type;
use crate::sources::{busy_status, clean_text, lookup, lookup_json};

const SERVICE: &str = "CivitAI";
/// Results per page.
pub const PAGE_SIZE: usize = 20;

/// CivitAI's model types for ours.
fn civitai_types(t: ModelType) -> &'static [&'static str] {
    match t {
        ModelType::BaseModel => &["Checkpoint"],
        ModelType::Lora => &["LORA", "LoCon", "DoRA"],
        ModelType::Vae => &["VAE"],
        ModelType::TextEncoder => &["TextEncoder"],
        ModelType::Captioner => &["VisionLanguage", "LLM"],
        ModelType::Adapter => &["Controlnet"],
        ModelType::Other => &["Other"],
    }
}

/// CivitAI's search URL for `query` (already checked); NSFW models are never asked for.
pub fn search_url(endpoint: &str, query: &SearchQuery) -> Result<String, AppError> {
    let mut url = Url::parse(&format!("{endpoint}/api/v1/models"))
        .map_err(|_| AppError::internal("CIVITAI_ENDPOINT is not a URL"))?;
    {
        let mut pairs = url.query_pairs_mut();
        pairs
            .append_pair("limit", &PAGE_SIZE.to_string())
            .append_pair("nsfw", "false");
        let sort = match query.sort {
            SearchSort::Downloads => "Most Downloaded",
            SearchSort::Likes => "Highest Rated",
            SearchSort::Newest => "Newest",
        };
        pairs.append_pair("sort", sort);
        if !query.q.is_empty() {
            pairs.append_pair("query", &query.q);
        }
        for t in query.model_type.map(civitai_types).unwrap_or_default() {
            pairs.append_pair("types", t);
        }
        if let Some(base) = &query.base_model {
            pairs.append_pair("baseModels", base);
        }
        if let Some(cursor) = &query.cursor {
            pairs.append_pair("cursor", cursor);
        }
    }
    Ok(url.to_string())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stats {
    #[serde(default)]
    download_count: u64,
    #[serde(default)]
    thumbs_up_count: u64,
}

#[derive(Debug, Deserialize)]
struct Creator {
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    url: String,
    #[serde(default)]
    nsfw_level: Option<u32>,
    #[serde(default)]
    nsfw: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl Image {
    /// Rated PG (level 1, or the older `nsfw: "None"`/`false`), and a picture, not a video.
    fn safe_picture(&self) -> bool {
        let rated_safe = match (self.nsfw_level, &self.nsfw) {
            (Some(level), _) => level <= 1,
            (None, Some(Value::String(s))) => s == "None",
            (None, Some(Value::Bool(b))) => !b,
            _ => false,
        };
        rated_safe && self.kind.as_deref().is_none_or(|k| k == "image")
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    name: String,
    #[serde(default, rename = "sizeKB")]
    size_kb: f64,
    #[serde(default)]
    primary: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    base_model: String,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    trained_words: Vec<String>,
    #[serde(default)]
    files: Vec<File>,
    #[serde(default)]
    images: Vec<Image>,
}

impl Version {
    /// The first safe-for-work still image on CivitAI's hosts (or the endpoint's): the same
    /// host rule as the by-hash previews, so the page loads images from nowhere else.
    fn preview(&self, endpoint: &str) -> Option<String> {
        self.images
            .iter()
            .filter(|i| i.safe_picture())
            .find_map(|i| super::by_hash::image_url(&i.url, endpoint))
            .map(String::from)
    }
}

/// A model as CivitAI lists it (search) and shows it (`/api/v1/models/{id}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    id: u64,
    name: String,
    #[serde(rename = "type", default)]
    civitai_type: String,
    #[serde(default)]
    nsfw: bool,
    #[serde(default)]
    creator: Option<Creator>,
    #[serde(default)]
    stats: Stats,
    #[serde(default)]
    allow_commercial_use: Value,
    #[serde(default)]
    model_versions: Vec<Version>,
}

impl Listed {
    /// What the licence allows, in words ("commercial use: Image, RentCivit").
    fn license(&self) -> Option<String> {
        let uses: Vec<String> = match &self.allow_commercial_use {
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(clean_text).collect(),
            Value::String(s) => vec![clean_text(s)],
            _ => return None,
        };
        let uses: Vec<String> = uses.into_iter().filter(|u| u != "None").collect();
        Some(if uses.is_empty() {
            "no commercial use".to_string()
        } else {
            format!("commercial use: {}", uses.join(", "))
        })
    }
}

/// A listed model as a result; `None` for NSFW ones.
pub fn to_result(endpoint: &str, listed: Listed) -> Option<SearchResult> {
    if listed.nsfw {
        return None;
    }
    let newest = listed.model_versions.first();
    Some(SearchResult {
        source: SearchSource::Civitai,
        id: listed.id.to_string(),
        name: clean_text(&listed.name),
        author: listed
            .creator
            .as_ref()
            .and_then(|c| c.username.as_deref())
            .map(clean_text),
        model_type: Some(model_type(&listed.civitai_type)),
        base_model: newest.map(|v| clean_text(&v.base_model)),
        downloads: listed.stats.download_count,
        likes: listed.stats.thumbs_up_count,
        license: listed.license(),
        preview_url: listed
            .model_versions
            .iter()
            .find_map(|v| v.preview(endpoint)),
        gated: false,
        updated_at: newest.and_then(|v| v.published_at.clone()),
        page_url: format!("{endpoint}/models/{}", listed.id),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListAnswer {
    #[serde(default)]
    items: Vec<Listed>,
    #[serde(default)]
    metadata: Option<ListMeta>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    #[serde(default)]
    next_cursor: Value,
}

/// CivitAI's next cursor (a string or a number) when it is one this server passes on.
fn cursor_of(value: &Value) -> Option<String> {
    let cursor = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let fits = !cursor.is_empty()
        && cursor.len() <= app::domain::MAX_QUERY_CHARS
        && cursor.chars().all(|c| c.is_ascii_graphic());
    fits.then_some(cursor)
}

/// What CivitAI said in an error answer.
async fn said(response: reqwest::Response) -> String {
    let body: Value = crate::sources::read_body(response, 64 << 10)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let text = body["message"]
        .as_str()
        .or(body["error"].as_str())
        .unwrap_or_default();
    clean_text(&text.chars().take(200).collect::<String>())
}

fn authorised(client: &reqwest::Client, url: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    // Only ever sent to CIVITAI_ENDPOINT: every URL here is built on it.
    let request = client.get(url);
    match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    }
}

/// Searches CivitAI, NSFW models left out (and counted).
pub async fn search(
    client: &reqwest::Client,
    endpoint: &str,
    query: &SearchQuery,
    token: Option<&str>,
    timeout: Duration,
) -> Result<SearchPage, AppError> {
    let url = search_url(endpoint, query)?;
    let response = lookup(SERVICE, authorised(client, &url, token), timeout).await?;
    let status = response.status().as_u16();
    if let Some(busy) = busy_status(SERVICE, status) {
        return Err(busy);
    }
    if !(200..300).contains(&status) {
        let what = said(response).await;
        return Err(match status {
            400 if query.cursor.is_some() => {
                AppError::invalid("cursor", "CivitAI no longer knows this page: search again")
            }
            _ => AppError::new(
                ErrorCode::Upstream,
                format!("CivitAI answered {status} to the search ({what}); try again later"),
            ),
        });
    }
    let answer: ListAnswer = lookup_json(SERVICE, response).await?;
    let total = answer.items.len();
    let results: Vec<SearchResult> = answer
        .items
        .into_iter()
        .filter_map(|l| to_result(endpoint, l))
        .collect();
    Ok(SearchPage {
        hidden_nsfw: (total - results.len()) as u32,
        next_cursor: answer.metadata.and_then(|m| cursor_of(&m.next_cursor)),
        results,
    })
}

/// A model and its published versions (newest first) for the version picker.
pub async fn model(
    client: &reqwest::Client,
    endpoint: &str,
    model_id: u64,
    token: Option<&str>,
    timeout: Duration,
) -> Result<CivitaiModel, AppError> {
    to_model(
        endpoint,
        listed_model(client, endpoint, model_id, token, timeout).await?,
    )
}

/// A model's published versions, newest first, whatever its rating ("Check for updates" of
/// a model the user has).
pub async fn model_versions(
    client: &reqwest::Client,
    endpoint: &str,
    model_id: u64,
    token: Option<&str>,
    timeout: Duration,
) -> Result<Vec<CivitaiVersion>, AppError> {
    let listed = listed_model(client, endpoint, model_id, token, timeout).await?;
    Ok(versions(endpoint, &listed))
}

/// `GET /api/v1/models/{id}`: the one lookup of a model by id on the search and update paths,
/// its refusals said as a person reads them.
async fn listed_model(
    client: &reqwest::Client,
    endpoint: &str,
    model_id: u64,
    token: Option<&str>,
    timeout: Duration,
) -> Result<Listed, AppError> {
    let url = format!("{endpoint}/api/v1/models/{model_id}");
    let response = lookup(SERVICE, authorised(client, &url, token), timeout).await?;
    let status = response.status().as_u16();
    if let Some(busy) = busy_status(SERVICE, status) {
        return Err(busy);
    }
    match status {
        200..=299 => {}
        404 => return Err(AppError::not_found(format!("CivitAI has no model {model_id}"))),
        401 | 403 => {
            return Err(AppError::new(
                ErrorCode::AccessDenied,
                format!(
                    "CivitAI refused to show model {model_id} ({}): set CIVITAI_TOKEN on the server to an API key with access",
                    said(response).await
                ),
            ))
        }
        _ => {
            return Err(AppError::new(
                ErrorCode::Upstream,
                format!("CivitAI answered {status} for model {model_id}; try again later"),
            ))
        }
    }
    lookup_json(SERVICE, response).await
}

/// A shown model as ours; NSFW models are refused.
pub fn to_model(endpoint: &str, listed: Listed) -> Result<CivitaiModel, AppError> {
    if listed.nsfw {
        return Err(AppError::not_found(format!(
            "CivitAI model {} is marked NSFW, which this app does not show",
            listed.id
        )));
    }
    Ok(CivitaiModel {
        id: listed.id,
        name: clean_text(&listed.name),
        model_type: model_type(&listed.civitai_type),
        civitai_type: clean_text(&listed.civitai_type),
        versions: versions(endpoint, &listed),
        page_url: format!("{endpoint}/models/{}", listed.id),
    })
}

/// A listed model's versions as the page shows them, newest first.
fn versions(endpoint: &str, listed: &Listed) -> Vec<CivitaiVersion> {
    listed
        .model_versions
        .iter()
        .map(|v| CivitaiVersion {
            id: v.id,
            name: clean_text(&v.name),
            base_model: clean_text(&v.base_model),
            published_at: v.published_at.clone(),
            trained_words: v.trained_words.iter().map(|w| clean_text(w)).collect(),
            files: v
                .files
                .iter()
                .map(|f| VersionFile {
                    name: clean_text(&f.name),
                    size_bytes: (f.size_kb > 0.0).then(|| (f.size_kb * 1024.0).round() as u64),
                    primary: f.primary == Some(true),
                })
                .collect(),
            preview_url: v.preview(endpoint),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn search_urls_never_ask_for_nsfw() {
        let cases = [
            (
                SearchQuery {
                    q: "ink".into(),
                    ..Default::default()
                },
                "https://c.ai/api/v1/models?limit=20&nsfw=false&sort=Most+Downloaded&query=ink",
            ),
            (
                SearchQuery {
                    model_type: Some(ModelType::Lora),
                    base_model: Some("Flux.1 D".into()),
                    sort: SearchSort::Likes,
                    cursor: Some("1|2".into()),
                    ..Default::default()
                },
                "https://c.ai/api/v1/models?limit=20&nsfw=false&sort=Highest+Rated&types=LORA&types=LoCon&types=DoRA&baseModels=Flux.1+D&cursor=1%7C2",
            ),
            (
                SearchQuery {
                    sort: SearchSort::Newest,
                    model_type: Some(ModelType::BaseModel),
                    ..Default::default()
                },
                "https://c.ai/api/v1/models?limit=20&nsfw=false&sort=Newest&types=Checkpoint",
            ),
        ];
        for (q, want) in cases {
            assert_eq!(search_url("https://c.ai", &q).unwrap(), want);
        }
    }

    fn listed(value: Value) -> Listed {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn listed_models_read_as_results_with_a_safe_preview() {
        let model = listed(json!({
            "id": 4384, "name": "Ink <b>Style</b>\u{202E}", "type": "LORA", "nsfw": false,
            "creator": {"username": "lykon"},
            "stats": {"downloadCount": 1200, "thumbsUpCount": 50},
            "allowCommercialUse": ["Image", "RentCivit"],
            "modelVersions": [{
                "id": 7, "name": "v2", "baseModel": "Flux.1 D", "publishedAt": "2026-01-01T00:00:00.000Z",
                "images": [
                    {"url": "https://img.example/nsfw.jpeg", "nsfwLevel": 8, "type": "image"},
                    {"url": "javascript:alert(1)", "nsfwLevel": 1, "type": "image"},
                    {"url": "https://image.civitai.com/clip.mp4", "nsfwLevel": 1, "type": "video"},
                    {"url": "https://img.example/elsewhere.jpeg", "nsfwLevel": 1, "type": "image"},
                    {"url": "https://image.civitai.com/ok.jpeg", "nsfwLevel": 1, "type": "image"}
                ]
            }]
        }));
        let r = to_result("https://c.ai", model).unwrap();
        assert_eq!(
            r.name, "Ink <b>Style</b>",
            "kept as text, direction marks removed"
        );
        assert_eq!(r.model_type, Some(ModelType::Lora));
        assert_eq!(r.base_model.as_deref(), Some("Flux.1 D"));
        assert_eq!((r.downloads, r.likes), (1200, 50));
        assert_eq!(
            r.preview_url.as_deref(),
            Some("https://image.civitai.com/ok.jpeg"),
            "safe, a still image, and on CivitAI's image host"
        );
        assert_eq!(
            r.license.as_deref(),
            Some("commercial use: Image, RentCivit")
        );
        assert_eq!(r.page_url, "https://c.ai/models/4384");

        let nsfw = listed(json!({"id": 1, "name": "x", "type": "LORA", "nsfw": true}));
        assert!(to_result("https://c.ai", nsfw).is_none());
        let unrated = listed(json!({"id": 2, "name": "y", "type": "Checkpoint",
            "allowCommercialUse": "None",
            "modelVersions": [{"id": 3, "images": [{"url": "https://img.example/u.jpeg"}]}]}));
        let r = to_result("https://c.ai", unrated).unwrap();
        assert_eq!(r.preview_url, None, "an unrated image is not shown");
        assert_eq!(r.license.as_deref(), Some("no commercial use"));
    }

    #[test]
    fn cursors_pass_only_when_printable() {
        assert_eq!(cursor_of(&json!("12|345")).as_deref(), Some("12|345"));
        assert_eq!(cursor_of(&json!(99)).as_deref(), Some("99"));
        assert_eq!(cursor_of(&json!(null)), None);
        assert_eq!(cursor_of(&json!("a b")), None);
    }

    #[test]
    fn a_shown_model_lists_its_versions_and_files() {
        let model = listed(json!({
            "id": 4384, "name": "Ink", "type": "Checkpoint",
            "modelVersions": [{"id": 7, "name": "v2", "baseModel": "SDXL 1.0", "trainedWords": ["inkstyle"],
                "files": [{"name": "ink.safetensors", "sizeKB": 1.5, "primary": true},
                          {"name": "data.zip", "sizeKB": 0.0}]}]
        }));
        let m = to_model("https://c.ai", model).unwrap();
        assert_eq!(m.model_type, ModelType::BaseModel);
        let v = &m.versions[0];
        assert_eq!(v.trained_words, ["inkstyle"]);
        assert_eq!(v.files[0].size_bytes, Some(1536));
        assert!(v.files[0].primary && !v.files[1].primary);
        assert_eq!(v.files[1].size_bytes, None);
        assert_eq!(
            m.version_link(7),
            "https://civitai.com/models/4384?modelVersionId=7"
        );
        let nsfw = listed(json!({"id": 1, "name": "x", "nsfw": true}));
        assert!(to_model("https://c.ai", nsfw).is_err());
    }
}
