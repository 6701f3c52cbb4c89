//! What a download asks the Hub, and how its answers read: the resolve URL (a HEAD that
//! redirects to the CDN), the tree API that lists a folder (paginated with `Link`), and ETags.

use serde::Deserialize;

use crate::storage::hashing;

/// `{endpoint}/{repo}/resolve/{revision}/{path}`, each part percent-encoded.
pub fn resolve_url(endpoint: &str, repo: &str, revision: &str, path: &str) -> String {
    format!(
        "{endpoint}/{repo}/resolve/{}/{}",
        urlencoding::encode(revision),
        path.split('/')
            .map(|s| urlencoding::encode(s).into_owned())
            .collect::<Vec<_>>()
            .join("/")
    )
}

/// The first page of every file under `folder/` at `revision`.
pub fn tree_url(endpoint: &str, repo: &str, revision: &str, folder: &str) -> String {
    format!(
        "{endpoint}/api/models/{repo}/tree/{}/{folder}?recursive=true",
        urlencoding::encode(revision)
    )
}

/// An ETag as an identity: without `W/` and quotes.
pub fn clean_etag(raw: &str) -> String {
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}

/// Tree pages followed at most for one listing (1,000 entries each on the Hub): a repo or
/// folder of more files, or an endpoint that pages forever, is refused instead of truncated
/// or followed without end.
pub const MAX_TREE_PAGES: usize = 50;

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header
        .split(',')
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            Some(part[start..end].to_string())
        })
}

/// One entry of a tree page.
#[derive(Debug, Deserialize)]
pub struct TreeEntry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: u64,
    lfs: Option<TreeLfs>,
}

#[derive(Debug, Deserialize)]
struct TreeLfs {
    oid: String,
    size: u64,
}

/// A listed file: its path in the repo, size and LFS sha256.
pub type ListedFile = (String, Option<u64>, Option<String>);

/// The files of a tree page (folders left out), with the LFS size and sha256 where there are.
pub fn tree_files(entries: Vec<TreeEntry>) -> impl Iterator<Item = ListedFile> {
    entries.into_iter().filter(|e| e.kind == "file").map(|e| {
        let sha = e
            .lfs
            .as_ref()
            .map(|l| l.oid.to_ascii_lowercase())
            .filter(|h| hashing::is_sha256(h));
        (e.path, Some(e.lfs.map_or(e.size, |l| l.size)), sha)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_links() {
        assert_eq!(
            next_link(r#"<https://hf.co/api/models/a/b/tree/main?cursor=xyz>; rel="next""#)
                .as_deref(),
            Some("https://hf.co/api/models/a/b/tree/main?cursor=xyz")
        );
        assert_eq!(next_link(r#"<https://x>; rel="prev""#), None);
        assert_eq!(clean_etag("W/\"abc\""), "abc");
    }

    #[test]
    fn urls_encode_revision_and_path_parts() {
        assert_eq!(
            resolve_url("https://hf.co", "a/b", "refs/pr/1", "vae/my model.bin"),
            "https://hf.co/a/b/resolve/refs%2Fpr%2F1/vae/my%20model.bin"
        );
        assert_eq!(
            tree_url("https://hf.co", "a/b", "main", "vae"),
            "https://hf.co/api/models/a/b/tree/main/vae?recursive=true"
        );
    }

    #[test]
    fn a_tree_page_lists_files_with_their_lfs_size_and_sha256() {
        let sha = "a".repeat(64);
        let page: Vec<TreeEntry> = serde_json::from_value(serde_json::json!([
            {"type": "directory", "path": "vae", "size": 0},
            {"type": "file", "path": "vae/config.json", "size": 12},
            {"type": "file", "path": "vae/w.safetensors", "size": 130, "lfs": {"oid": sha, "size": 9000}}
        ]))
        .unwrap();
        let files: Vec<_> = tree_files(page).collect();
        assert_eq!(
            files,
            [
                ("vae/config.json".to_string(), Some(12), None),
                ("vae/w.safetensors".to_string(), Some(9000), Some(sha)),
            ]
        );
    }
}
