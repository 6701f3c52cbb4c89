//! Hugging Face: repo id and file path rules, and the API lookup that records sizes and LFS
//! sha256 of a repo's files.

use std::collections::{HashMap, HashSet};

use app::domain::{check_text, AppError, ErrorCode};
use serde::Deserialize;

use super::http_error;
use crate::storage::{hashing, paths};

/// What an error answer of the Hub means: one table for both paths, the API check when a model
/// is added and the resolve and tree calls when it downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 408, 429, 5xx: try again later.
    Transient,
    /// A gated repo asked without a token.
    Gated,
    /// A gated repo whose licence the token's account has not been granted.
    NotGranted,
    /// The token itself is refused.
    BadToken,
    /// No such repo (or a private one, asked without a token).
    NoRepo,
    NoRevision,
    /// What was asked for (the repo for the API check, the file or folder when downloading)
    /// is not there.
    NotFound,
    /// Refused for another reason.
    Denied,
    Other,
}

/// The Hub's status and `X-Error-Code` as a `Refusal`.
pub fn classify(status: u16, error_code: &str, had_token: bool) -> Refusal {
    match (status, error_code) {
        (408 | 429 | 500..=599, _) => Refusal::Transient,
        (401, "GatedRepo") => Refusal::Gated,
        (403, "GatedRepo") => Refusal::NotGranted,
        (401, "") if had_token => Refusal::BadToken,
        (401, _) | (404, "RepoNotFound") => Refusal::NoRepo,
        (404, "RevisionNotFound") => Refusal::NoRevision,
        (404, _) => Refusal::NotFound,
        (403, _) => Refusal::Denied,
        _ => Refusal::Other,
    }
}

/// `owner/name` as the Hub accepts it: letters, digits, `-`, `_`, `.`; no `--` or `..`;
/// not starting or ending with `-` or `.`; at most 96 characters each.
pub fn validate_repo(repo: &str) -> Result<(), AppError> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 96
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && !p.starts_with(['-', '.'])
            && !p.ends_with(['-', '.'])
            && !p.contains("--")
            && !p.contains("..")
    };
    match repo.split_once('/') {
        Some((owner, name)) if part_ok(owner) && part_ok(name) => Ok(()),
        _ => Err(AppError::invalid(
            "huggingfaceRepo",
            format!("{repo:?} is not a Hugging Face repo id: use owner/name, for example black-forest-labs/FLUX.1-dev"),
        )),
    }
}

/// Paths inside the repo: relative, no `..`, no control or text-direction characters; at
/// least one; each file once (a folder, `vae/`, stands for every file under it).
pub fn validate_files(files: &[String]) -> Result<(), AppError> {
    const FIELD: &str = "huggingfaceFiles";
    if files.is_empty() {
        return Err(AppError::invalid(
            FIELD,
            "list at least one file of the repo, for example model.safetensors",
        ));
    }
    if let Some(bad) = files.iter().find(|f| !paths::is_safe_relative(f)) {
        return Err(AppError::invalid(
            FIELD,
            format!("{bad:?} is not a path inside the repo (no leading /, no ..)"),
        ));
    }
    files.iter().try_for_each(|f| check_text(FIELD, f, false))?;
    let normal = |f: &str| {
        f.split('/')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/")
    };
    let folders: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with('/'))
        .map(|f| normal(f) + "/")
        .collect();
    let mut seen = HashSet::new();
    for file in files {
        let path = normal(file) + if file.ends_with('/') { "/" } else { "" };
        if !seen.insert(path.clone()) {
            return Err(AppError::invalid(FIELD, format!("{file} is listed twice")));
        }
        if let Some(folder) = folders
            .iter()
            .find(|d| path.starts_with(d.as_str()) && **d != path)
        {
            return Err(AppError::invalid(
                FIELD,
                format!("{file} is already part of the folder {folder} listed too"),
            ));
        }
    }
    Ok(())
}

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
    let info: ApiRepo = response.json().await.map_err(|e| {
        AppError::new(
            ErrorCode::Upstream,
            format!("Hugging Face sent an unexpected answer for {repo}: {e}"),
        )
    })?;
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

/// A refusal of the API check, on the form field a person can fix.
fn refused(why: Refusal, status: u16, endpoint: &str, repo: &str, revision: &str) -> AppError {
    match why {
        Refusal::BadToken => AppError::invalid(
            "huggingfaceToken",
            "Hugging Face rejected the token: check that it is a valid read token",
        ),
        Refusal::NoRepo | Refusal::NotFound => AppError::invalid(
            "huggingfaceRepo",
            format!("Hugging Face has no repo {repo} (or it is private and needs a token)"),
        ),
        Refusal::NoRevision => AppError::invalid(
            "huggingfaceRevision",
            format!("{repo} has no revision {revision}"),
        ),
        Refusal::Gated | Refusal::NotGranted | Refusal::Denied => AppError::invalid(
            "huggingfaceToken",
            format!("the token has no access to {repo}: accept its licence at {endpoint}/{repo}"),
        ),
        Refusal::Transient | Refusal::Other => AppError::new(
            ErrorCode::Upstream,
            format!("Hugging Face answered {status} for {repo}; try again later"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_reads_every_hub_refusal() {
        let cases = [
            (503, "", false, Refusal::Transient),
            (429, "", true, Refusal::Transient),
            (401, "GatedRepo", false, Refusal::Gated),
            (403, "GatedRepo", true, Refusal::NotGranted),
            (401, "", true, Refusal::BadToken),
            (401, "", false, Refusal::NoRepo),
            (401, "RepoNotFound", true, Refusal::NoRepo),
            (404, "RepoNotFound", true, Refusal::NoRepo),
            (404, "RevisionNotFound", false, Refusal::NoRevision),
            (404, "EntryNotFound", false, Refusal::NotFound),
            // A bare 404 means what was asked is missing, on both paths.
            (404, "", false, Refusal::NotFound),
            (403, "", true, Refusal::Denied),
            (400, "", false, Refusal::Other),
        ];
        for (status, code, token, want) in cases {
            assert_eq!(
                classify(status, code, token),
                want,
                "{status} {code} {token}"
            );
        }
    }

    #[test]
    fn repo_ids_follow_the_hub_rules() {
        for good in [
            "black-forest-labs/FLUX.1-dev",
            "Qwen/Qwen-Image",
            "a/b",
            "user_1/model.v2",
        ] {
            assert!(validate_repo(good).is_ok(), "{good}");
        }
        for bad in [
            "", "flux", "a/b/c", "../x", "a/..", "-a/b", "a/b-", "a--b/c", "a/b c", "a/",
        ] {
            let err = validate_repo(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("huggingfaceRepo"), "{bad}");
        }
    }

    #[test]
    fn file_paths_stay_inside_the_repo() {
        assert!(validate_files(&["model.safetensors".into(), "vae/x.bin".into()]).is_ok());
        assert!(validate_files(&[]).is_err());
        assert!(validate_files(&["../secret".into()]).is_err());
        assert!(validate_files(&["/etc/passwd".into()]).is_err());
    }

    #[test]
    fn each_file_is_listed_once() {
        let files = |list: &[&str]| list.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        assert!(validate_files(&files(&["a.safetensors", "vae/a.safetensors", "text/"])).is_ok());
        for twice in [
            &["a.safetensors", "a.safetensors"][..],
            &["vae/a.bin", "vae//a.bin"],
            &["vae/", "vae/a.bin"],
            &["vae/x/a.bin", "vae/"],
            &["text/", "text//"],
        ] {
            let err = validate_files(&files(twice)).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("huggingfaceFiles"), "{twice:?}");
        }
        let err = validate_files(&files(&["model\u{202E}.safetensors"])).unwrap_err();
        assert!(err.message.contains("text-direction"), "{}", err.message);
    }
}
