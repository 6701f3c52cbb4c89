//! Hugging Face: repo id and file path rules (here), the API lookup that records sizes and LFS
//! sha256 of a repo's files when a model is added (`api`), the resolve and tree protocol a
//! download follows (`protocol`: URLs and answers; `download`: the requests), and the one
//! table of the Hub's refusals with the messages of both paths (`refusal`), and the search and
//! file listing the Add tab offers (`search`).

mod api;
mod download;
mod protocol;
mod refusal;
mod search;

use std::collections::HashSet;

use app::domain::{check_text, AppError};

use crate::storage::paths;

pub use api::{check_repo, RepoCheck};
pub use download::{list_folder, resolve};
pub use protocol::{
    clean_etag, next_link, resolve_url, tree_files, tree_url, ListedFile, TreeEntry, MAX_TREE_PAGES,
};
pub use refusal::{classify, download_refusal, Refusal, Subject};
pub use search::{repo_files, search};

/// How messages name the site.
const SERVICE: &str = "Hugging Face";

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

#[cfg(test)]
mod tests {
    use super::*;

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
