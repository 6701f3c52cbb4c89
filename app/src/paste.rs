//! What people copy from their browser's address bar, read into the Add form's fields:
//! Hugging Face repo, file and folder links, and CivitAI model, version and download links.
//! Plain functions (no I/O), so they compile to WASM and are unit-tested here.

/// A link the Add form understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pasted {
    /// `huggingface.co/<org>/<repo>[/(blob|resolve|tree)/<revision>[/<path>]]`.
    Huggingface {
        repo: String,
        /// The branch, tag or commit named by the link (`main` included).
        revision: Option<String>,
        /// A file (`blob`, `resolve`) the link points at.
        file: Option<String>,
        /// A folder (`tree`) the link points at, when it is not the repo's top.
        folder: Option<String>,
    },
    /// A CivitAI link, kept as written: the server reads its model and version ids
    /// (`sources::civitai::parse_ref`, the one home of those rules) and says what is wrong.
    Civitai { url: String },
}

/// Why a link cannot be added as a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasteError {
    /// Not a link (a plain `owner/name` stays what it is).
    NotALink,
    /// A link the form cannot use, with what to do instead.
    Unsupported(String),
}

const HF_HOSTS: [&str; 3] = ["huggingface.co", "www.huggingface.co", "hf.co"];
const CIVITAI_HOSTS: [&str; 4] = [
    "civitai.com",
    "www.civitai.com",
    "civitai.red",
    "www.civitai.red",
];

/// Reads a pasted link. Text without a scheme and host is `NotALink`.
pub fn parse_pasted(text: &str) -> Result<Pasted, PasteError> {
    let text = text.trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or(PasteError::NotALink)?;
    // Drop the fragment and the query (`?download=true`).
    let rest = rest.split('#').next().unwrap_or_default();
    let rest = rest.split('?').next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    if HF_HOSTS.contains(&host.as_str()) {
        huggingface(path)
    } else if CIVITAI_HOSTS.contains(&host.as_str()) {
        Ok(Pasted::Civitai {
            url: text.to_string(),
        })
    } else {
        Err(PasteError::Unsupported(format!(
            "{host} is neither Hugging Face nor CivitAI: use the Direct link source for other sites"
        )))
    }
}

fn huggingface(path: &str) -> Result<Pasted, PasteError> {
    let parts: Vec<String> = path
        .split('/')
        .filter(|p| !p.is_empty())
        .map(percent_decode)
        .collect();
    match parts.first().map(String::as_str) {
        Some("datasets" | "spaces") => {
            return Err(PasteError::Unsupported(
                "this links a dataset or a Space, not a model repository".into(),
            ))
        }
        Some("api") | None => {
            return Err(PasteError::Unsupported(
                "link a model repository: https://huggingface.co/<owner>/<name>".into(),
            ))
        }
        _ => {}
    }
    let [owner, name, rest @ ..] = parts.as_slice() else {
        return Err(PasteError::Unsupported(
            "link a model repository: https://huggingface.co/<owner>/<name>".into(),
        ));
    };
    let repo = format!("{owner}/{name}");
    let (kind, revision, sub) = match rest {
        [] => (None, None, String::new()),
        [kind, revision, sub @ ..] if matches!(kind.as_str(), "blob" | "resolve" | "tree") => {
            (Some(kind.as_str()), Some(revision.clone()), sub.join("/"))
        }
        [kind] if kind == "tree" => (None, None, String::new()),
        _ => (None, None, String::new()),
    };
    let sub = (!sub.is_empty()).then_some(sub);
    Ok(Pasted::Huggingface {
        repo,
        revision,
        file: sub
            .clone()
            .filter(|_| matches!(kind, Some("blob" | "resolve"))),
        folder: sub.filter(|_| kind == Some("tree")),
    })
}

/// `%2F` and friends back to bytes (revisions like `refs%2Fpr%2F1`); malformed escapes stay.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hf(repo: &str, revision: Option<&str>, file: Option<&str>, folder: Option<&str>) -> Pasted {
        Pasted::Huggingface {
            repo: repo.into(),
            revision: revision.map(Into::into),
            file: file.map(Into::into),
            folder: folder.map(Into::into),
        }
    }

    #[test]
    fn hugging_face_links_fill_repo_revision_and_file() {
        let cases = [
            (
                "https://huggingface.co/org/repo",
                hf("org/repo", None, None, None),
            ),
            (
                "https://huggingface.co/org/repo/",
                hf("org/repo", None, None, None),
            ),
            (
                "  https://www.huggingface.co/org/repo  ",
                hf("org/repo", None, None, None),
            ),
            (
                "https://hf.co/org/repo#model-card",
                hf("org/repo", None, None, None),
            ),
            (
                "https://huggingface.co/org/repo/blob/main/unet/model.safetensors",
                hf(
                    "org/repo",
                    Some("main"),
                    Some("unet/model.safetensors"),
                    None,
                ),
            ),
            (
                "https://huggingface.co/org/repo/resolve/v1.0/x.gguf?download=true",
                hf("org/repo", Some("v1.0"), Some("x.gguf"), None),
            ),
            (
                "https://huggingface.co/org/repo/tree/main/vae",
                hf("org/repo", Some("main"), None, Some("vae")),
            ),
            (
                "https://huggingface.co/org/repo/tree/dev",
                hf("org/repo", Some("dev"), None, None),
            ),
            (
                "https://huggingface.co/org/repo/blob/refs%2Fpr%2F3/a%20b.safetensors",
                hf("org/repo", Some("refs/pr/3"), Some("a b.safetensors"), None),
            ),
            (
                "http://huggingface.co/org/repo/discussions",
                hf("org/repo", None, None, None),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_pasted(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn civitai_links_are_kept_for_the_server() {
        for text in [
            "https://civitai.com/models/4384/dreamshaper",
            "https://civitai.com/models/4384?modelVersionId=128713",
            "https://civitai.com/api/download/models/128713",
            "https://www.civitai.red/models/4384?modelVersionId=7",
        ] {
            assert_eq!(
                parse_pasted(text),
                Ok(Pasted::Civitai { url: text.into() }),
                "{text}"
            );
        }
    }

    #[test]
    fn what_cannot_be_a_model_says_why() {
        assert_eq!(parse_pasted("org/repo"), Err(PasteError::NotALink));
        assert_eq!(parse_pasted(""), Err(PasteError::NotALink));
        for text in [
            "https://huggingface.co/datasets/org/set",
            "https://huggingface.co/spaces/org/app",
            "https://huggingface.co/org",
            "https://huggingface.co/",
            "https://example.com/model.safetensors",
        ] {
            assert!(
                matches!(parse_pasted(text), Err(PasteError::Unsupported(_))),
                "{text}"
            );
        }
    }
}
