//! Searching the Hub (`/api/models?search=`) and listing a repo's files with their sizes (the
//! tree API, `/api/models/{repo}/tree/{rev}?recursive=true`): the query, the answers as ours,
//! the main weights to preselect.

use std::time::Duration;

use app::domain::{
    AppError, ErrorCode, ModelType, RepoFile, RepoFiles, SearchPage, SearchQuery, SearchResult,
    SearchSort, SearchSource, BASE_MODELS,
};
use serde::Deserialize;
use url::Url;

use super::{
    classify, next_link, protocol::TreeEntry, tree_files, validate_repo, Refusal, MAX_TREE_PAGES,
    SERVICE,
};
use crate::{
    download::net,
    sources::{busy_status, clean_text, lookup, lookup_json, remote::transient_status},
    storage::paths,
};

/// Results per page.
pub const PAGE_SIZE: usize = 20;
/// Extensions of model weights, for the preselection.
const WEIGHTS: [&str; 7] = [
    ".safetensors",
    ".sft",
    ".gguf",
    ".ckpt",
    ".pt",
    ".pth",
    ".bin",
];

/// The Hub's search URL for `query` (already checked).
pub fn search_url(endpoint: &str, query: &SearchQuery) -> Result<String, AppError> {
    let mut url = Url::parse(&format!("{endpoint}/api/models"))
        .map_err(|_| AppError::internal("HF_ENDPOINT is not a URL"))?;
    {
        let mut pairs = url.query_pairs_mut();
        if !query.q.is_empty() {
            pairs.append_pair("search", &query.q);
        }
        let sort = match query.sort {
            SearchSort::Downloads => "downloads",
            SearchSort::Likes => "likes",
            SearchSort::Newest => "createdAt",
        };
        pairs
            .append_pair("sort", sort)
            .append_pair("direction", "-1")
            .append_pair("limit", &PAGE_SIZE.to_string())
            .append_pair("full", "true");
        match query.model_type {
            None => {}
            Some(ModelType::Lora) => {
                pairs.append_pair("filter", "lora");
            }
            Some(ModelType::BaseModel) => {
                pairs.append_pair("pipeline_tag", "text-to-image");
            }
            Some(ModelType::Captioner) => {
                pairs.append_pair("pipeline_tag", "image-text-to-text");
            }
            Some(other) => {
                return Err(AppError::invalid(
                    "type",
                    format!(
                        "Hugging Face search cannot tell a {} apart: search without a type, or on CivitAI",
                        other.label()
                    ),
                ))
            }
        }
        if let Some(base) = &query.base_model {
            let repo = BASE_MODELS
                .iter()
                .find(|(name, _)| name == base)
                .map(|(_, repo)| *repo)
                .unwrap_or_default();
            pairs.append_pair("filter", &format!("base_model:{repo}"));
        }
        if let Some(cursor) = &query.cursor {
            pairs.append_pair("cursor", cursor);
        }
    }
    Ok(url.to_string())
}

/// The `cursor` of the next page, from the answer's `Link: <...>; rel="next"` (the page asks
/// this server for it again: a link a site sends is never followed for a browser).
pub fn next_cursor(link: Option<&str>) -> Option<String> {
    let next = Url::parse(&next_link(link?)?).ok()?;
    let cursor = next
        .query_pairs()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())?;
    let fits = !cursor.is_empty()
        && cursor.len() <= app::domain::MAX_QUERY_CHARS
        && cursor.chars().all(|c| c.is_ascii_graphic());
    fits.then_some(cursor)
}

/// One model of the Hub's list (`full=true`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    id: String,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    downloads: u64,
    #[serde(default)]
    likes: u64,
    #[serde(default)]
    tags: Vec<String>,
    /// The one snake_case field of the Hub's answer.
    #[serde(default, rename = "pipeline_tag")]
    pipeline_tag: Option<String>,
    #[serde(default)]
    gated: serde_json::Value,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// A listed model as a result; `None` for ids that are not a repo the app could add.
pub fn to_result(endpoint: &str, listed: Listed) -> Option<SearchResult> {
    validate_repo(&listed.id).ok()?;
    let tag = |prefix: &str| {
        listed
            .tags
            .iter()
            .find_map(|t| t.strip_prefix(prefix))
            .map(clean_text)
    };
    let has = |t: &str| listed.tags.iter().any(|x| x == t);
    let model_type = if has("lora") {
        Some(ModelType::Lora)
    } else if listed.pipeline_tag.as_deref() == Some("text-to-image") {
        Some(ModelType::BaseModel)
    } else if listed.pipeline_tag.as_deref() == Some("image-text-to-text") && has("gguf") {
        Some(ModelType::Captioner)
    } else {
        None
    };
    let base_model = tag("base_model:adapter:")
        .or_else(|| tag("base_model:finetune:"))
        .or_else(|| tag("base_model:quantized:"))
        .or_else(|| tag("base_model:").filter(|b| !b.contains(':')));
    let name = listed.id.rsplit('/').next().unwrap_or_default().to_string();
    Some(SearchResult {
        source: SearchSource::Huggingface,
        page_url: format!("{endpoint}/{}", listed.id),
        author: listed
            .author
            .map(|a| clean_text(&a))
            .or_else(|| listed.id.split('/').next().map(str::to_string)),
        name,
        model_type,
        base_model,
        downloads: listed.downloads,
        likes: listed.likes,
        license: tag("license:"),
        preview_url: None,
        gated: listed.private
            || !matches!(
                listed.gated,
                serde_json::Value::Bool(false) | serde_json::Value::Null
            ),
        updated_at: listed.last_modified.or(listed.created_at),
        id: listed.id,
    })
}

/// Searches the Hub; the token (the server's `HF_TOKEN`) goes to the Hub's origin only.
pub async fn search(
    client: &reqwest::Client,
    endpoint: &str,
    query: &SearchQuery,
    token: Option<&str>,
    timeout: Duration,
) -> Result<SearchPage, AppError> {
    let url = search_url(endpoint, query)?;
    let response = lookup(SERVICE, authorised(client, &url, endpoint, token)?, timeout).await?;
    let status = response.status().as_u16();
    if let Some(busy) = busy_status(SERVICE, status) {
        return Err(busy);
    }
    if status == 400 && query.cursor.is_some() {
        return Err(AppError::invalid(
            "cursor",
            "Hugging Face no longer knows this page: search again",
        ));
    }
    if !(200..300).contains(&status) {
        return Err(AppError::new(
            ErrorCode::Upstream,
            format!("Hugging Face answered {status} to the search; try again later"),
        ));
    }
    let link = response
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let listed: Vec<Listed> = lookup_json(SERVICE, response).await?;
    Ok(SearchPage {
        results: listed
            .into_iter()
            .filter_map(|l| to_result(endpoint, l))
            .collect(),
        next_cursor: next_cursor(link.as_deref()),
        hidden_nsfw: 0,
    })
}

/// The repo's files at `revision` with sizes and LFS sha256, the main weights preselected.
pub async fn repo_files(
    client: &reqwest::Client,
    endpoint: &str,
    repo: &str,
    revision: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Result<RepoFiles, AppError> {
    let first = format!(
        "{endpoint}/api/models/{repo}/tree/{}?recursive=true",
        urlencoding::encode(revision)
    );
    let mut next = Some(first);
    let mut files = Vec::new();
    for _ in 0..MAX_TREE_PAGES {
        let Some(url) = next.take() else { break };
        let response = lookup(SERVICE, authorised(client, &url, endpoint, token)?, timeout).await?;
        let status = response.status();
        if !status.is_success() {
            let code = response
                .headers()
                .get("x-error-code")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            return Err(listing_refusal(
                status,
                &code,
                token.is_some(),
                endpoint,
                repo,
                revision,
            ));
        }
        // The next page only from the Hub itself: its cursor on our endpoint.
        next = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_link)
            .and_then(|n| Url::parse(&url).ok()?.join(&n).ok())
            .filter(|n| Url::parse(endpoint).is_ok_and(|e| net::same_origin(n, &e)))
            .map(|n| n.to_string());
        let entries: Vec<TreeEntry> = lookup_json(SERVICE, response).await?;
        files.extend(tree_files(entries));
    }
    if next.is_some() {
        return Err(AppError::new(
            ErrorCode::Upstream,
            format!(
                "{repo} lists more than {MAX_TREE_PAGES} pages of files; name the files to add instead of picking them from the list"
            ),
        ));
    }
    Ok(RepoFiles {
        repo: repo.to_string(),
        revision: revision.to_string(),
        files: preselect(
            files
                .into_iter()
                .filter(|(path, _, _)| paths::is_safe_relative(path) && clean_text(path) == *path)
                .map(|(path, size_bytes, sha256)| RepoFile {
                    path,
                    size_bytes,
                    sha256,
                    preselected: false,
                })
                .collect(),
        ),
    })
}

/// A GET of `url` with the token when `url` is on the endpoint's origin.
fn authorised(
    client: &reqwest::Client,
    url: &str,
    endpoint: &str,
    token: Option<&str>,
) -> Result<reqwest::RequestBuilder, AppError> {
    let parsed = Url::parse(url).map_err(|_| AppError::internal("bad Hugging Face URL"))?;
    let origin =
        Url::parse(endpoint).map_err(|_| AppError::internal("HF_ENDPOINT is not a URL"))?;
    Ok(net::with_token(
        client.get(parsed.clone()),
        &parsed,
        &origin,
        token,
    ))
}

/// Why the Hub refused to list a repo, as a person can act on it.
fn listing_refusal(
    status: reqwest::StatusCode,
    code: &str,
    had_token: bool,
    endpoint: &str,
    repo: &str,
    revision: &str,
) -> AppError {
    if transient_status(status) {
        return busy_status(SERVICE, status.as_u16()).unwrap_or_else(|| {
            AppError::new(
                ErrorCode::Upstream,
                format!("Hugging Face did not answer in time ({status}); try again later"),
            )
        });
    }
    match classify(status.as_u16(), code, had_token) {
        Refusal::Gated | Refusal::NotGranted => AppError::new(
            ErrorCode::TokenRequired,
            format!("{repo} is gated: accept its licence at {endpoint}/{repo}, and set HF_TOKEN on the server (a read token of that account) to list its files"),
        ),
        Refusal::BadToken => AppError::new(
            ErrorCode::AccessDenied,
            "Hugging Face rejected the server's HF_TOKEN: check that it is a valid read token",
        ),
        Refusal::NoRepo => AppError::not_found(format!(
            "Hugging Face has no repo {repo} (or it is private and needs a token)"
        )),
        Refusal::NoRevision | Refusal::NotFound => {
            AppError::not_found(format!("{repo} has no revision {revision}"))
        }
        Refusal::Denied => AppError::new(
            ErrorCode::AccessDenied,
            format!("Hugging Face refused access to {repo}"),
        ),
        Refusal::Transient | Refusal::Other => AppError::new(
            ErrorCode::Upstream,
            format!("Hugging Face answered {status} for the files of {repo}; try again later"),
        ),
    }
}

/// Marks the main weights: the largest weights file at the shallowest depth, with the other
/// shards of its set (`-00001-of-00003`). Sorted by path.
pub fn preselect(mut files: Vec<RepoFile>) -> Vec<RepoFile> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let is_weights = |p: &str| {
        WEIGHTS
            .iter()
            .any(|ext| p.to_ascii_lowercase().ends_with(ext))
    };
    let depth = |p: &str| p.matches('/').count();
    let main = files
        .iter()
        .filter(|f| is_weights(&f.path))
        .min_by_key(|f| (depth(&f.path), std::cmp::Reverse(f.size_bytes)))
        .map(|f| shard_set(&f.path));
    if let Some(set) = main {
        for f in &mut files {
            f.preselected = shard_set(&f.path) == set && is_weights(&f.path);
        }
    }
    files
}

/// A shard's set (`model-00002-of-00003.safetensors` → `model-of-00003.safetensors`); any
/// other path is its own set.
fn shard_set(path: &str) -> String {
    let bytes = path.as_bytes();
    // "-NNNNN-of-NNNNN"
    for (i, _) in path.match_indices("-of-") {
        let digits = |r: std::ops::Range<usize>| {
            r.end <= bytes.len() && r.start < r.end && bytes[r].iter().all(u8::is_ascii_digit)
        };
        if i >= 5 && digits(i - 5..i) && digits(i + 4..i + 9) && bytes[i - 6] == b'-' {
            return format!("{}{}", &path[..i - 5], &path[i + 1..]);
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> SearchQuery {
        SearchQuery {
            q: q.into(),
            ..Default::default()
        }
    }

    #[test]
    fn search_urls_ask_what_the_page_asked() {
        let cases = [
            (
                query("flux lora"),
                "https://hf.co/api/models?search=flux+lora&sort=downloads&direction=-1&limit=20&full=true",
            ),
            (
                SearchQuery {
                    sort: SearchSort::Newest,
                    model_type: Some(ModelType::Lora),
                    base_model: Some("Flux.1 D".into()),
                    cursor: Some("eyJ2IjoxfQ==".into()),
                    ..query("")
                },
                "https://hf.co/api/models?sort=createdAt&direction=-1&limit=20&full=true&filter=lora&filter=base_model%3Ablack-forest-labs%2FFLUX.1-dev&cursor=eyJ2IjoxfQ%3D%3D",
            ),
            (
                SearchQuery {
                    sort: SearchSort::Likes,
                    model_type: Some(ModelType::BaseModel),
                    ..query("a&b=c")
                },
                "https://hf.co/api/models?search=a%26b%3Dc&sort=likes&direction=-1&limit=20&full=true&pipeline_tag=text-to-image",
            ),
        ];
        for (q, want) in cases {
            assert_eq!(search_url("https://hf.co", &q).unwrap(), want);
        }
        let vae = SearchQuery {
            model_type: Some(ModelType::Vae),
            ..query("x")
        };
        assert_eq!(
            search_url("https://hf.co", &vae)
                .unwrap_err()
                .field
                .as_deref(),
            Some("type")
        );
    }

    #[test]
    fn the_next_page_is_only_a_cursor() {
        let link = r#"<https://huggingface.co/api/models?search=flux&cursor=eyJ2IjoxfQ%3D%3D>; rel="next""#;
        assert_eq!(next_cursor(Some(link)).as_deref(), Some("eyJ2IjoxfQ=="));
        assert_eq!(next_cursor(None), None);
        assert_eq!(
            next_cursor(Some(r#"<https://h/api/models?x=1>; rel="next""#)),
            None
        );
        let spaced = r#"<https://h/api/models?cursor=a%20b>; rel="next""#;
        assert_eq!(next_cursor(Some(spaced)), None);
    }

    #[test]
    fn listed_models_read_as_results() {
        let listed: Listed = serde_json::from_value(serde_json::json!({
            "id": "acme/flux-ink-lora", "author": "acme", "downloads": 1200, "likes": 33,
            "gated": false, "private": false, "pipeline_tag": "text-to-image",
            "lastModified": "2026-01-02T03:04:05.000Z",
            "tags": ["diffusers", "lora", "license:apache-2.0",
                     "base_model:black-forest-labs/FLUX.1-dev",
                     "base_model:adapter:black-forest-labs/FLUX.1-dev"]
        }))
        .unwrap();
        let r = to_result("https://hf.co", listed).unwrap();
        assert_eq!(r.name, "flux-ink-lora");
        assert_eq!(r.model_type, Some(ModelType::Lora));
        assert_eq!(
            r.base_model.as_deref(),
            Some("black-forest-labs/FLUX.1-dev")
        );
        assert_eq!(r.license.as_deref(), Some("apache-2.0"));
        assert_eq!((r.downloads, r.likes, r.gated), (1200, 33, false));
        assert_eq!(r.page_url, "https://hf.co/acme/flux-ink-lora");

        let gated: Listed = serde_json::from_value(serde_json::json!({
            "id": "bfl/dev", "gated": "auto", "pipeline_tag": "text-to-image",
            "author": "b\u{202E}fl"
        }))
        .unwrap();
        let r = to_result("https://hf.co", gated).unwrap();
        assert!(r.gated);
        assert_eq!(r.model_type, Some(ModelType::BaseModel));
        assert_eq!(
            r.author.as_deref(),
            Some("bfl"),
            "text-direction characters go"
        );

        let hostile: Listed =
            serde_json::from_value(serde_json::json!({"id": "../../etc/passwd"})).unwrap();
        assert!(to_result("https://hf.co", hostile).is_none());
    }

    fn file(path: &str, size: u64) -> RepoFile {
        RepoFile {
            path: path.into(),
            size_bytes: Some(size),
            sha256: None,
            preselected: false,
        }
    }

    #[test]
    fn the_main_weights_are_preselected() {
        let picked = |files: Vec<RepoFile>| {
            preselect(files)
                .into_iter()
                .filter(|f| f.preselected)
                .map(|f| f.path)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            picked(vec![
                file("README.md", 10),
                file("flux-ink.safetensors", 200),
                file("flux-ink-small.safetensors", 100),
                file("samples/big.safetensors", 900),
            ]),
            ["flux-ink.safetensors"]
        );
        assert_eq!(
            picked(vec![
                file("model-00002-of-00002.safetensors", 5),
                file("model-00001-of-00002.safetensors", 9),
                file("other.bin", 1),
                file("config.json", 1),
            ]),
            [
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        assert_eq!(
            picked(vec![
                file("transformer/x.safetensors", 5),
                file("model_index.json", 1)
            ]),
            ["transformer/x.safetensors"]
        );
        assert!(picked(vec![file("README.md", 1)]).is_empty());
        assert_eq!(shard_set("a-00001-of-00003.gguf"), "a-of-00003.gguf");
    }
}
