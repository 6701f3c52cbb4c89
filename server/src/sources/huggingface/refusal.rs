//! What an error answer of the Hub means, and how each path says it: a form field to fix when
//! a model is added, a job error when it downloads.

use app::domain::{AppError, ErrorCode};

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

/// A refusal of the API check, on the form field a person can fix.
pub(super) fn refused(
    why: Refusal,
    status: u16,
    endpoint: &str,
    repo: &str,
    revision: &str,
) -> AppError {
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

/// What a download asked the Hub for, for its messages.
pub struct Subject<'a> {
    pub repo: &'a str,
    /// The file or folder.
    pub path: &'a str,
    pub revision: &'a str,
    pub had_token: bool,
    pub endpoint: &'a str,
}

/// A refusal of a download's resolve or listing, as a person can act on it; `None` for a
/// transient one (try again).
pub fn download_refusal(why: Refusal, status: u16, s: &Subject<'_>) -> Option<AppError> {
    let (repo, page) = (s.repo, format!("{}/{}", s.endpoint, s.repo));
    Some(match why {
        Refusal::Transient => return None,
        Refusal::Gated => AppError::new(
            ErrorCode::TokenRequired,
            format!("{repo} is gated: accept its licence at {page} and give a Hugging Face read token"),
        ),
        Refusal::NotGranted => AppError::new(
            ErrorCode::AccessDenied,
            format!("the token is not authorised for {repo}: request access at {page} with the account that owns the token"),
        ),
        Refusal::BadToken => AppError::new(
            ErrorCode::AccessDenied,
            "Hugging Face rejected the token: check that it is a valid read token",
        ),
        Refusal::NoRepo if s.had_token => AppError::new(
            ErrorCode::NotFound,
            format!("repo {repo} not found on Hugging Face"),
        ),
        Refusal::NoRepo => AppError::new(
            ErrorCode::NotFound,
            format!("repo {repo} not found on Hugging Face (if it is private, give a token)"),
        ),
        Refusal::NoRevision => AppError::new(
            ErrorCode::NotFound,
            format!("{repo} has no revision {}", s.revision),
        ),
        Refusal::NotFound => AppError::new(
            ErrorCode::NotFound,
            format!("file {} not found in {repo}", s.path),
        ),
        Refusal::Denied => AppError::new(
            ErrorCode::AccessDenied,
            format!("Hugging Face refused access to {repo}"),
        ),
        Refusal::Other => AppError::new(
            ErrorCode::Upstream,
            format!("Hugging Face answered {status} for {repo}/{}", s.path),
        ),
    })
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
    fn each_refusal_reads_the_same_on_both_paths() {
        let subject = Subject {
            repo: "acme/model",
            path: "model.safetensors",
            revision: "main",
            had_token: false,
            endpoint: "https://hf.co",
        };
        let at_download =
            |status, code| download_refusal(classify(status, code, false), status, &subject);
        let at_add = |status, code| {
            refused(
                classify(status, code, false),
                status,
                "https://hf.co",
                "acme/model",
                "main",
            )
        };
        assert!(at_download(503, "").is_none(), "transient: retried");
        let gated = at_download(401, "GatedRepo").unwrap();
        assert_eq!(gated.code, ErrorCode::TokenRequired);
        assert!(
            gated.message.contains("https://hf.co/acme/model"),
            "{}",
            gated.message
        );
        assert_eq!(
            at_add(401, "GatedRepo").field.as_deref(),
            Some("huggingfaceToken")
        );
        // A bare 404: the file is missing when downloading, the repo when adding.
        let missing = at_download(404, "").unwrap();
        assert_eq!(missing.code, ErrorCode::NotFound);
        assert!(
            missing.message.contains("file model.safetensors"),
            "{}",
            missing.message
        );
        assert_eq!(at_add(404, "").field.as_deref(), Some("huggingfaceRepo"));
        let revision = at_download(404, "RevisionNotFound").unwrap();
        assert!(
            revision.message.contains("no revision main"),
            "{}",
            revision.message
        );
        assert!(at_download(401, "")
            .unwrap()
            .message
            .contains("private, give a token"));
    }
}
