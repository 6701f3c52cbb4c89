//! Fetching a model's preview image once: size-capped, bounded in time, and kept only when
//! both the declared content type and the bytes say it is a JPEG, PNG, WebP or GIF.

use std::time::Duration;

use futures_util::StreamExt;
use url::Url;

/// Larger previews are refused (a card shows them 450 px wide).
pub const MAX_PREVIEW_BYTES: u64 = 8 << 20;
/// The whole fetch, headers to last byte.
pub const PREVIEW_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a preview was not kept (shown on the card).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("the preview could not be fetched ({0})")]
    Unreachable(String),
    #[error("the preview took longer than {}s and was dropped", PREVIEW_TIMEOUT.as_secs())]
    TooSlow,
    #[error("the preview's server answered {0}")]
    Status(u16),
    #[error("the preview is larger than {} MiB and was not kept", MAX_PREVIEW_BYTES >> 20)]
    TooLarge,
    #[error("the preview is not an image ({0}) and was not kept")]
    NotAnImage(String),
}

/// A fetched image, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewImage {
    pub bytes: Vec<u8>,
    pub kind: ImageKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageKind {
    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            ImageKind::Png => "png",
            ImageKind::Webp => "webp",
            ImageKind::Gif => "gif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
        }
    }

    /// The kind the file's first bytes show.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageKind::Gif)
        } else {
            None
        }
    }

    /// The kind a `Content-Type` header names (parameters ignored).
    pub fn from_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(ImageKind::Jpeg),
            "image/png" => Some(ImageKind::Png),
            "image/webp" => Some(ImageKind::Webp),
            "image/gif" => Some(ImageKind::Gif),
            _ => None,
        }
    }
}

/// Fetches `url` (no credentials) within [`PREVIEW_TIMEOUT`] and [`MAX_PREVIEW_BYTES`].
pub async fn fetch(client: &reqwest::Client, url: &Url) -> Result<PreviewImage, PreviewError> {
    tokio::time::timeout(PREVIEW_TIMEOUT, fetch_unbounded(client, url))
        .await
        .map_err(|_| PreviewError::TooSlow)?
}

async fn fetch_unbounded(
    client: &reqwest::Client,
    url: &Url,
) -> Result<PreviewImage, PreviewError> {
    let unreachable = |e: reqwest::Error| {
        PreviewError::Unreachable(if e.is_connect() {
            "cannot connect".into()
        } else if e.is_timeout() {
            "timed out".into()
        } else {
            "the connection failed".into()
        })
    };
    let response = client
        .get(url.clone())
        .header(
            reqwest::header::ACCEPT,
            "image/webp,image/png,image/jpeg,image/gif",
        )
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(PreviewError::Status(response.status().as_u16()));
    }
    let declared = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string();
    let Some(kind) = ImageKind::from_content_type(&declared) else {
        return Err(PreviewError::NotAnImage(format!("Content-Type {declared}")));
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_PREVIEW_BYTES)
    {
        return Err(PreviewError::TooLarge);
    }
    let mut bytes = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(unreachable)?;
        if bytes.len() as u64 + chunk.len() as u64 > MAX_PREVIEW_BYTES {
            return Err(PreviewError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    check(bytes, kind)
}

/// Keeps `bytes` when they are the image kind the header declared.
pub fn check(bytes: Vec<u8>, declared: ImageKind) -> Result<PreviewImage, PreviewError> {
    match ImageKind::sniff(&bytes) {
        Some(kind) if kind == declared => Ok(PreviewImage { bytes, kind }),
        Some(kind) => Err(PreviewError::NotAnImage(format!(
            "declared {} but the bytes are {}",
            declared.content_type(),
            kind.content_type()
        ))),
        None => Err(PreviewError::NotAnImage(format!(
            "declared {} but the bytes are not an image",
            declared.content_type()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn kinds_from_bytes_and_headers() {
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(ImageKind::sniff(PNG), Some(ImageKind::Png));
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a.."), Some(ImageKind::Gif));
        assert_eq!(ImageKind::sniff(b"<html>"), None);
        assert_eq!(ImageKind::sniff(b""), None);
        assert_eq!(
            ImageKind::from_content_type("image/jpeg; charset=binary"),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::from_content_type("IMAGE/PNG"),
            Some(ImageKind::Png)
        );
        assert_eq!(ImageKind::from_content_type("image/svg+xml"), None);
        assert_eq!(ImageKind::from_content_type("text/html"), None);
    }

    #[test]
    fn bytes_must_be_the_declared_image() {
        assert_eq!(
            check(PNG.to_vec(), ImageKind::Png).unwrap().kind,
            ImageKind::Png
        );
        assert!(matches!(
            check(PNG.to_vec(), ImageKind::Jpeg),
            Err(PreviewError::NotAnImage(m)) if m.contains("image/png")
        ));
        assert!(matches!(
            check(b"<html>".to_vec(), ImageKind::Png),
            Err(PreviewError::NotAnImage(_))
        ));
    }
}
