//! Exact sizes of a Hub model's files from the tree API, as the database keeps them: the
//! catalog's own figures (and the design's approximate sizes) stand in until they are known.

use app::domain::RepoFile;
use serde::{Deserialize, Serialize};

/// One file's exact size and LFS sha256 (folders: the sum of their files, no sha256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SizedFile {
    pub path: String,
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What the tree API said about a model's files, and when (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownSizes {
    pub repo: String,
    pub revision: String,
    pub files: Vec<SizedFile>,
    pub checked_at_secs: u64,
}

impl KnownSizes {
    pub fn total(&self) -> u64 {
        self.files.iter().map(|f| f.size_bytes).sum()
    }

    /// Still valid for `repo`@`revision` at `now_secs`, refreshed every `interval_secs`.
    pub fn fresh_for(&self, repo: &str, revision: &str, now_secs: u64, interval_secs: u64) -> bool {
        self.repo == repo
            && self.revision == revision
            && now_secs.saturating_sub(self.checked_at_secs) < interval_secs
    }

    /// The LFS sha256 listed for the file `path` of `repo`@`revision`.
    pub fn sha256_of(&self, repo: &str, revision: &str, path: &str) -> Option<&str> {
        if self.repo != repo || self.revision != revision {
            return None;
        }
        self.files
            .iter()
            .find(|f| f.path == path)
            .and_then(|f| f.sha256.as_deref())
    }

    /// Valid sizes for exactly these `paths` of `repo`@`revision` (stale or not).
    pub fn covers(&self, repo: &str, revision: &str, paths: &[&str]) -> bool {
        self.repo == repo
            && self.revision == revision
            && self.files.len() == paths.len()
            && self.files.iter().zip(paths).all(|(f, p)| f.path == *p)
    }
}

/// The sizes of `wanted` (files, or folders ending in `/`) in a repo listing, in order; `None`
/// when one is missing or has no size.
pub fn sizes_of(wanted: &[&str], listed: &[RepoFile]) -> Option<Vec<SizedFile>> {
    wanted
        .iter()
        .map(|path| match path.strip_suffix('/') {
            Some(folder) => {
                let prefix = format!("{folder}/");
                let inside: Vec<&RepoFile> = listed
                    .iter()
                    .filter(|f| f.path.starts_with(&prefix))
                    .collect();
                let sizes: Option<Vec<u64>> = inside.iter().map(|f| f.size_bytes).collect();
                let sizes = sizes.filter(|s| !s.is_empty())?;
                Some(SizedFile {
                    path: path.to_string(),
                    size_bytes: sizes.iter().sum(),
                    sha256: None,
                })
            }
            None => {
                let file = listed.iter().find(|f| f.path == *path)?;
                Some(SizedFile {
                    path: path.to_string(),
                    size_bytes: file.size_bytes?,
                    sha256: file.sha256.clone(),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: Option<u64>) -> RepoFile {
        RepoFile {
            path: path.into(),
            size_bytes: size,
            sha256: size.map(|s| format!("{s:064x}")),
            preselected: false,
        }
    }

    #[test]
    fn a_listed_sha256_is_found_only_for_its_repo_revision_and_file() {
        let known = KnownSizes {
            repo: "o/r".into(),
            revision: "main".into(),
            files: sizes_of(
                &["a.safetensors", "vae/"],
                &[file("a.safetensors", Some(7)), file("vae/w.bin", Some(3))],
            )
            .unwrap(),
            checked_at_secs: 1,
        };
        let sha = format!("{:064x}", 7);
        assert_eq!(
            known.sha256_of("o/r", "main", "a.safetensors"),
            Some(sha.as_str())
        );
        assert_eq!(known.sha256_of("o/r", "v2", "a.safetensors"), None);
        assert_eq!(known.sha256_of("o/other", "main", "a.safetensors"), None);
        assert_eq!(
            known.sha256_of("o/r", "main", "vae/"),
            None,
            "a folder has none"
        );
        assert_eq!(known.sha256_of("o/r", "main", "b.safetensors"), None);
    }

    #[test]
    fn files_and_folders_get_their_exact_sizes() {
        let listed = [
            file("model.safetensors", Some(100)),
            file("vae/config.json", Some(2)),
            file("vae/w.safetensors", Some(30)),
            file("vaex/other.bin", Some(1000)),
        ];
        let sized = sizes_of(&["model.safetensors", "vae/"], &listed).unwrap();
        assert_eq!(sized[0].size_bytes, 100);
        assert_eq!(
            sized[0].sha256.as_deref(),
            Some(format!("{:064x}", 100).as_str())
        );
        assert_eq!(
            (sized[1].size_bytes, sized[1].sha256.clone()),
            (32, None),
            "vaex/ is not vae/"
        );
        assert!(sizes_of(&["missing.bin"], &listed).is_none());
        assert!(sizes_of(&["empty/"], &listed).is_none());
        assert!(
            sizes_of(&["x"], &[file("x", None)]).is_none(),
            "no size, no answer"
        );
    }

    #[test]
    fn entries_age_and_belong_to_their_repo_and_files() {
        let known = KnownSizes {
            repo: "a/b".into(),
            revision: "main".into(),
            files: vec![SizedFile {
                path: "m".into(),
                size_bytes: 5,
                sha256: None,
            }],
            checked_at_secs: 1000,
        };
        assert!(known.fresh_for("a/b", "main", 1000 + 99, 100));
        assert!(!known.fresh_for("a/b", "main", 1000 + 100, 100));
        assert!(!known.fresh_for("a/c", "main", 1000, 100));
        assert!(known.covers("a/b", "main", &["m"]));
        assert!(!known.covers("a/b", "main", &["m", "n"]));
        assert!(!known.covers("a/b", "dev", &["m"]));
        assert_eq!(known.total(), 5);
    }
}
