//! Direct download links.

use app::domain::{check_text, AppError};
use url::Url;

use super::Resolved;
use crate::{
    download::Fail,
    inspect::{Format, ACCEPTED_EXTENSIONS},
    storage::{hashing, paths},
};

/// An http(s) link with a host. Returns the parsed URL and the file name to save as:
/// `file_name` if given, else the last path segment.
pub fn validate(url: &str, file_name: Option<&str>) -> Result<(Url, String), AppError> {
    let parsed = Url::parse(url.trim()).map_err(|_| {
        AppError::invalid(
            "url",
            format!("{url:?} is not a link: use https://host/path/model.safetensors"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(AppError::invalid(
            "url",
            "only http and https links can be downloaded",
        ));
    }
    let from_url = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .map(|s| {
            urlencoding::decode(s)
                .map(|c| c.into_owned())
                .unwrap_or_else(|_| s.to_string())
        });
    let given = file_name.filter(|n| !n.trim().is_empty());
    if let Some(given) = given {
        check_text("fileName", given, false)?;
    } else if let Some(from_url) = &from_url {
        check_text("url", from_url, false)?;
    }
    let name = given
        .map(str::to_string)
        .or(from_url)
        .and_then(|n| paths::sanitize_file_name(&n))
        .ok_or_else(|| {
            AppError::invalid(
                "fileName",
                "the link has no file name: give one, for example model.safetensors",
            )
        })?;
    // The saved name decides the file's type, so it must be one we can check (the download
    // would refuse it anyway; say so now, while the user is at the form).
    if Format::from_file_name(&name).is_none() {
        return Err(AppError::invalid(
            "fileName",
            format!(
                "{name} is not a model file name: give a file name ending in {ACCEPTED_EXTENSIONS}"
            ),
        ));
    }
    Ok((parsed, name))
}

/// A user-given sha256: 64 hex digits, stored lower-case.
pub fn validate_sha256(sha: Option<&str>) -> Result<Option<String>, AppError> {
    match sha.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if hashing::is_sha256(s) => Ok(Some(s.to_ascii_lowercase())),
        Some(_) => Err(AppError::invalid(
            "sha256",
            "a sha256 is 64 hexadecimal digits",
        )),
    }
}

/// A saved direct link as a download fetches it: every hop, the first one included, passes
/// the address check unless private links are allowed.
pub fn resolve(url: &str, check_public: bool) -> Result<Resolved, Fail> {
    let url = Url::parse(url)
        .map_err(|_| Fail::Fatal(AppError::invalid("url", "the saved link is not valid")))?;
    Ok(Resolved {
        url,
        auth: None,
        etag: None,
        size: None,
        sha256: None,
        check_public,
        signed: false,
        hub: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_names() {
        let (_, name) = validate(
            "https://cdn.example.com/x/My%20Model.safetensors?sig=1",
            None,
        )
        .unwrap();
        assert_eq!(name, "My Model.safetensors");
        let (_, name) = validate("https://cdn.example.com/dl", Some("../../evil.gguf")).unwrap();
        assert_eq!(name, "evil.gguf");
        assert_eq!(
            validate("ftp://x/y.bin", None)
                .unwrap_err()
                .field
                .as_deref(),
            Some("url")
        );
        assert_eq!(
            validate("file:///etc/passwd", None)
                .unwrap_err()
                .field
                .as_deref(),
            Some("url")
        );
        assert_eq!(
            validate("nonsense", None).unwrap_err().field.as_deref(),
            Some("url")
        );
        assert_eq!(
            validate("https://host/", None)
                .unwrap_err()
                .field
                .as_deref(),
            Some("fileName")
        );
    }

    #[test]
    fn a_link_without_a_model_file_name_is_refused_until_one_is_given() {
        let e = validate("https://cdn.example.com/download?id=7", None).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("fileName"));
        assert!(e.message.contains(".safetensors"), "{}", e.message);
        assert!(validate("https://cdn.example.com/x/run.sh", None).is_err());
        let (_, name) = validate(
            "https://cdn.example.com/download?id=7",
            Some("lora.safetensors"),
        )
        .unwrap();
        assert_eq!(name, "lora.safetensors");
    }

    #[test]
    fn names_with_control_or_text_direction_characters_are_refused() {
        let err = validate("https://host/dl", Some("lora\u{202E}srot.safetensors")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("fileName"));
        let err = validate("https://host/x%E2%80%AEfdp.safetensors", None).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("url"));
        let err = validate("https://host/a%0Ab.safetensors", None).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("url"));
    }

    #[test]
    fn sha256_must_be_64_hex() {
        assert_eq!(validate_sha256(None).unwrap(), None);
        assert_eq!(validate_sha256(Some("")).unwrap(), None);
        let upper = "A".repeat(64);
        assert_eq!(validate_sha256(Some(&upper)).unwrap(), Some("a".repeat(64)));
        assert!(validate_sha256(Some("abc")).is_err());
    }
}
