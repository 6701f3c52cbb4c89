//! The API check when a model is added: the repo, its revision and the listed files, with
//! their sizes and LFS sha256.

use std::collections::HashMap;

use app::domain::AppError;
use serde::Deserialize;

use super::refusal::{classify, refused};
use crate::{sources::http_error, storage::hashing};

#[derive(Debug, Deserialize)]
struct ApiRepo {
    #[serde(default)]
    gated: serde_json::Value,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Debug, Deserialize)]
struct Sibling {
    rfilename: String,
    size: Option<u64>,
    lfs: Option<Lfs>,
}

#[derive(Debug, Deserialize)]
struct Lfs {
    sha256: String,
    size: Option<u64>,
}

/// What the Hub says about the requested files.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoCheck {
    pub gated_or_private: bool,
    /// Path -> (size, LFS sha256).
    pub files: HashMap<String, (Option<u64>, Option<String>)>,
}

/// Checks the repo and files against `{endpoint}/api/models/{repo}/revision/{rev}?blobs=true`.
pub async fn check_repo(
    client: &reqwest::Client,
    endpoint: &str,
    repo: &str,
    revision: &str,
    files: &[String],
    token: Option<&str>,
) -> Result<RepoCheck, AppError> {
    let url = format!(
        "{endpoint}/api/models/{repo}/revision/{}?blobs=true",
        urlencoding::encode(revision)
    );
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| http_error("Hugging Face", e))?;
    let status = response.status().as_u16();
    let error_code = response
        .headers()
        .get("x-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !(200..300).contains(&status) {
        return Err(refused(
            classify(status, &error_code, token.is_some()),
            status,
            endpoint,
            repo,
            revision,
        ));
    }
    let info: ApiRepo =
        crate::sources::lookup_json(&format!("Hugging Face (for {repo})"), response).await?;
    let by_path: HashMap<&str, &Sibling> = info
        .siblings
        .iter()
        .map(|s| (s.rfilename.as_str(), s))
        .collect();
    let mut checked = HashMap::new();
    let mut missing = Vec::new();
    for file in files {
        if let Some(folder) = file.strip_suffix('/') {
            let prefix = format!("{folder}/");
            if !info
                .siblings
                .iter()
                .any(|s| s.rfilename.starts_with(&prefix))
            {
                missing.push(file.clone());
            }
            continue;
        }
        match by_path.get(file.as_str()) {
            Some(s) => {
                let sha = s
                    .lfs
                    .as_ref()
                    .map(|l| l.sha256.to_ascii_lowercase())
                    .filter(|h| hashing::is_sha256(h));
                let size = s.lfs.as_ref().and_then(|l| l.size).or(s.size);
                checked.insert(file.clone(), (size, sha));
            }
            None => missing.push(file.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(AppError::invalid(
            "huggingfaceFiles",
            format!("{repo} has no file {}", missing.join(", ")),
        ));
    }
    Ok(RepoCheck {
        gated_or_private: info.private
            || !matches!(
                info.gated,
                serde_json::Value::Bool(false) | serde_json::Value::Null
            ),
        files: checked,
    })
}
