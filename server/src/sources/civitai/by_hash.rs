//! Looking a file up on CivitAI by its sha256 (`GET /api/v1/model-versions/by-hash/{hash}`):
//! what the answer means, the facts kept from it and the one preview image chosen.
//! The API key goes to the CivitAI endpoint only; image URLs are never sent it.

use serde::Deserialize;
use url::Url;

/// Descriptions are kept to this many characters of plain text.
const MAX_DESCRIPTION_CHARS: usize = 4000;
/// CivitAI's image CDN sizes an image by a path segment; this width is enough for a card.
const PREVIEW_WIDTH_SEGMENT: &str = "width=450";

/// Why a lookup could not tell whether CivitAI knows the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("cannot reach CivitAI ({0}); look up again later")]
    Unreachable(String),
    #[error("CivitAI refused the lookup ({0}): check CIVITAI_TOKEN")]
    Refused(u16),
    #[error("CivitAI answered {0}; look up again later")]
    Status(u16),
    #[error("CivitAI sent an answer this version cannot read: {0}")]
    BadAnswer(String),
}

/// What CivitAI said about a hash.
#[derive(Debug, Clone, PartialEq)]
pub enum HashAnswer {
    Found(Box<VersionFacts>),
    /// 404: CivitAI has no file with this hash.
    NotFound,
}

/// What is kept of a found version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionFacts {
    pub model_id: u64,
    pub version_id: u64,
    pub model_name: Option<String>,
    pub version_name: Option<String>,
    pub base_model: Option<String>,
    pub trained_words: Vec<String>,
    /// Plain text (see [`plain_text`]).
    pub description: Option<String>,
    pub page_url: String,
    pub preview: Option<PreviewChoice>,
}

/// The image to save as the model's preview.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewChoice {
    pub url: Url,
    pub nsfw: bool,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashVersion {
    id: u64,
    model_id: Option<u64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    base_model: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    trained_words: Vec<String>,
    #[serde(default)]
    images: Vec<ApiImage>,
    #[serde(default)]
    model: Option<HashModel>,
}

#[derive(Debug, Deserialize)]
struct HashModel {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    nsfw: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiImage {
    url: String,
    /// A boolean in some answers, "None" / "Soft" / "Mature" / "X" in older ones.
    #[serde(default)]
    nsfw: Option<serde_json::Value>,
    /// 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX.
    #[serde(default)]
    nsfw_level: Option<u32>,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl ApiImage {
    /// Rated above PG by CivitAI; with no rating on the image, the model's flag decides.
    fn nsfw(&self, model_nsfw: bool) -> bool {
        if let Some(level) = self.nsfw_level {
            return level > 1;
        }
        match &self.nsfw {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => !s.eq_ignore_ascii_case("none"),
            _ => model_nsfw,
        }
    }
}

/// `{endpoint}/api/v1/model-versions/by-hash/{SHA256}`.
pub fn by_hash_url(endpoint: &str, sha256: &str) -> String {
    format!(
        "{endpoint}/api/v1/model-versions/by-hash/{}",
        sha256.to_ascii_uppercase()
    )
}

/// The model's page on the site the endpoint belongs to.
pub fn page_url(endpoint: &str, model_id: u64, version_id: Option<u64>) -> String {
    match version_id {
        Some(v) => format!("{endpoint}/models/{model_id}?modelVersionId={v}"),
        None => format!("{endpoint}/models/{model_id}"),
    }
}

/// Asks CivitAI about `sha256` (the API key, when given, goes to `endpoint` only).
pub async fn look_up(
    client: &reqwest::Client,
    endpoint: &str,
    token: Option<&str>,
    sha256: &str,
) -> Result<HashAnswer, LookupError> {
    let mut request = client
        .get(by_hash_url(endpoint, sha256))
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| LookupError::Unreachable(reason(&e)))?;
    let status = response.status().as_u16();
    match status {
        200 => {}
        404 => return Ok(HashAnswer::NotFound),
        401 | 403 => return Err(LookupError::Refused(status)),
        _ => return Err(LookupError::Status(status)),
    }
    let body = crate::sources::read_body(response, crate::sources::MAX_ANSWER_BYTES)
        .await
        .map_err(LookupError::Unreachable)?;
    read_answer(&body, endpoint).map(|facts| HashAnswer::Found(Box::new(facts)))
}

fn reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        "the connection failed".into()
    }
}

/// A by-hash answer's body as the facts kept.
pub fn read_answer(body: &[u8], endpoint: &str) -> Result<VersionFacts, LookupError> {
    let version: HashVersion =
        serde_json::from_slice(body).map_err(|e| LookupError::BadAnswer(e.to_string()))?;
    let model_id = version
        .model_id
        .ok_or_else(|| LookupError::BadAnswer("the version names no modelId".into()))?;
    let model_nsfw = version.model.as_ref().and_then(|m| m.nsfw).unwrap_or(false);
    // What CivitAI's users typed reaches the card and the clipboard: cleaned of control and
    // text-direction characters, as search results are, and bounded.
    let text = |s: Option<String>| {
        s.map(|s| bounded(&crate::sources::clean_text(&s), MAX_NAME_CHARS))
            .filter(|s| !s.is_empty())
    };
    Ok(VersionFacts {
        model_id,
        version_id: version.id,
        model_name: text(version.model.and_then(|m| m.name)),
        version_name: text(version.name),
        base_model: text(version.base_model),
        trained_words: trained_words(&version.trained_words),
        description: version
            .description
            .as_deref()
            .map(plain_text)
            .filter(|d| !d.is_empty()),
        page_url: page_url(endpoint, model_id, Some(version.id)),
        preview: choose_preview(&version.images, model_nsfw, endpoint),
    })
}

/// Trigger words as CivitAI lists them; an entry may hold several, comma-separated.
fn trained_words(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in words.iter().flat_map(|w| w.split(',')) {
        let word = bounded(&crate::sources::clean_text(word), MAX_NAME_CHARS);
        if !word.is_empty() && !out.contains(&word) && out.len() < MAX_TRIGGER_WORDS {
            out.push(word);
        }
    }
    out
}

/// Longest name or trigger word kept from an answer, in characters.
const MAX_NAME_CHARS: usize = 200;
/// Most trigger words kept from an answer.
const MAX_TRIGGER_WORDS: usize = 50;

fn bounded(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The first safe-for-work still image, else the first still image (marked NSFW); only
/// images on CivitAI's hosts or the endpoint's.
fn choose_preview(images: &[ApiImage], model_nsfw: bool, endpoint: &str) -> Option<PreviewChoice> {
    let candidates: Vec<PreviewChoice> = images
        .iter()
        .filter(|i| {
            i.kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case("image"))
        })
        .filter_map(|i| {
            Some(PreviewChoice {
                url: image_url(&i.url, endpoint)?,
                nsfw: i.nsfw(model_nsfw),
                width: i.width,
                height: i.height,
            })
        })
        .collect();
    candidates
        .iter()
        .find(|c| !c.nsfw)
        .or(candidates.first())
        .cloned()
}

/// An image URL the server may fetch: https on CivitAI's own hosts (civitai.com, civitai.red
/// and their subdomains such as image.civitai.com), or the configured endpoint's origin. The
/// full-size original is asked for at card width.
pub fn image_url(raw: &str, endpoint: &str) -> Option<Url> {
    let mut url = Url::parse(raw).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let civitai_host = ["civitai.com", "civitai.red"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")));
    let same_origin = Url::parse(endpoint)
        .ok()
        .is_some_and(|e| e.origin() == url.origin());
    if !(same_origin || (civitai_host && url.scheme() == "https")) {
        return None;
    }
    let segments: Option<Vec<String>> =
        url.path_segments().map(|s| s.map(str::to_string).collect());
    if let Some(segments) = segments {
        if segments.iter().any(|s| s == "original=true") {
            let resized: Vec<&str> = segments
                .iter()
                .map(|s| {
                    if s == "original=true" {
                        PREVIEW_WIDTH_SEGMENT
                    } else {
                        s.as_str()
                    }
                })
                .collect();
            url.set_path(&resized.join("/"));
        }
    }
    Some(url)
}

/// HTML as plain text: tags dropped (with the content of `script` and `style`), block ends
/// as line breaks, entities decoded, blank runs collapsed; at most
/// [`MAX_DESCRIPTION_CHARS`]. The page shows it as text, never as HTML.
pub fn plain_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    let mut skipping: Option<&str> = None;
    while let Some(start) = rest.find('<') {
        if skipping.is_none() {
            out.push_str(&rest[..start]);
        }
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[..end].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match skipping {
            Some(s) if tag.starts_with('/') && name == s => skipping = None,
            Some(_) => {}
            None if name == "script" || name == "style" => {
                skipping = Some(if name == "script" { "script" } else { "style" })
            }
            None if matches!(
                name.as_str(),
                "p" | "br"
                    | "div"
                    | "li"
                    | "h1"
                    | "h2"
                    | "h3"
                    | "h4"
                    | "h5"
                    | "h6"
                    | "tr"
                    | "ul"
                    | "ol"
            ) && !out.ends_with('\n') =>
            {
                out.push('\n')
            }
            None => {}
        }
        rest = &after[end + 1..];
    }
    if skipping.is_none() {
        out.push_str(rest);
    }
    let decoded = html_escape::decode_html_entities(&out);
    let mut text = String::new();
    let mut blank_lines = 0;
    for line in decoded.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        text.push_str(&line);
    }
    match text.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENDPOINT: &str = "http://127.0.0.1:4000";

    #[test]
    fn names_and_trigger_words_lose_control_and_direction_characters_and_are_bounded() {
        let mut words = vec![format!("tok\u{2066}en, {}", "x".repeat(500))];
        words.extend((0..80).map(|i| format!("w{i}")));
        let body = serde_json::json!({"id": 1, "modelId": 2, "name": "v\u{202e}1",
            "model": {"name": "Evil\u{0007}\u{202e}gpj.exe"},
            "trainedWords": words});
        let facts = read_answer(body.to_string().as_bytes(), ENDPOINT).unwrap();
        assert_eq!(facts.model_name.as_deref(), Some("Evilgpj.exe"));
        assert_eq!(facts.version_name.as_deref(), Some("v1"));
        assert_eq!(facts.trained_words[0], "token");
        assert_eq!(facts.trained_words[1].chars().count(), MAX_NAME_CHARS);
        assert_eq!(facts.trained_words.len(), MAX_TRIGGER_WORDS);
    }

    #[test]
    fn an_answer_keeps_names_words_text_link_and_one_preview() {
        let body = br#"{"id": 128713, "modelId": 4384, "name": "8", "baseModel": "Flux.1 D",
            "description": "<p>Fine <b>detail</b> &amp; colour.</p><script>alert(1)</script><p>Use at 0.8</p>",
            "trainedWords": ["dsmix, style", "dsmix"],
            "model": {"name": "DreamShaper", "type": "LORA", "nsfw": false},
            "images": [
              {"url": "https://image.civitai.com/x/abc/original=true/1.mp4", "type": "video", "nsfwLevel": 1},
              {"url": "https://image.civitai.com/x/def/original=true/2.jpeg", "nsfwLevel": 8, "width": 512, "height": 768},
              {"url": "https://image.civitai.com/x/ghi/original=true/3.jpeg", "nsfwLevel": 1, "width": 640, "height": 640}
            ]}"#;
        let facts = read_answer(body, ENDPOINT).unwrap();
        assert_eq!((facts.model_id, facts.version_id), (4384, 128713));
        assert_eq!(facts.model_name.as_deref(), Some("DreamShaper"));
        assert_eq!(facts.version_name.as_deref(), Some("8"));
        assert_eq!(facts.base_model.as_deref(), Some("Flux.1 D"));
        assert_eq!(facts.trained_words, ["dsmix", "style"]);
        assert_eq!(
            facts.description.as_deref(),
            Some("Fine detail & colour.\nUse at 0.8")
        );
        assert_eq!(
            facts.page_url,
            "http://127.0.0.1:4000/models/4384?modelVersionId=128713"
        );
        let preview = facts.preview.unwrap();
        assert_eq!(
            preview.url.as_str(),
            "https://image.civitai.com/x/ghi/width=450/3.jpeg",
            "the safe image, at card width"
        );
        assert!(!preview.nsfw);
        assert_eq!((preview.width, preview.height), (Some(640), Some(640)));
    }

    #[test]
    fn nsfw_ratings_in_every_form() {
        let image = |nsfw: Option<serde_json::Value>, level: Option<u32>| ApiImage {
            url: String::new(),
            nsfw,
            nsfw_level: level,
            width: None,
            height: None,
            kind: None,
        };
        use serde_json::json;
        let cases = [
            (image(None, Some(1)), true, false),
            (image(None, Some(2)), false, true),
            (image(None, Some(16)), false, true),
            (image(Some(json!(true)), None), false, true),
            (image(Some(json!(false)), None), true, false),
            (image(Some(json!("None")), None), true, false),
            (image(Some(json!("Mature")), None), false, true),
            (image(None, None), true, true),
            (image(None, None), false, false),
        ];
        for (i, (image, model_nsfw, expected)) in cases.into_iter().enumerate() {
            assert_eq!(image.nsfw(model_nsfw), expected, "case {i}");
        }
    }

    #[test]
    fn only_nsfw_images_give_an_nsfw_preview_and_foreign_hosts_none() {
        let body = br#"{"id": 1, "modelId": 2, "images": [
            {"url": "https://evil.example/x.jpeg", "nsfwLevel": 1},
            {"url": "http://image.civitai.com/plain-http.jpeg", "nsfwLevel": 1},
            {"url": "https://image.civitai.com/a/b.png", "nsfw": "X"}]}"#;
        let preview = read_answer(body, ENDPOINT).unwrap().preview.unwrap();
        assert_eq!(preview.url.as_str(), "https://image.civitai.com/a/b.png");
        assert!(preview.nsfw);
        let none = br#"{"id": 1, "modelId": 2, "images": [{"url": "http://10.0.0.1/x.png"}]}"#;
        assert_eq!(read_answer(none, ENDPOINT).unwrap().preview, None);
    }

    #[test]
    fn image_hosts_allowed() {
        let cases = [
            (
                "https://image.civitai.com/a/original=true/1.jpeg",
                Some("https://image.civitai.com/a/width=450/1.jpeg"),
            ),
            (
                "https://civitai.red/i.png",
                Some("https://civitai.red/i.png"),
            ),
            (
                "http://127.0.0.1:4000/preview/1.png",
                Some("http://127.0.0.1:4000/preview/1.png"),
            ),
            ("http://127.0.0.1:4001/preview/1.png", None),
            ("https://civitai.com.evil.example/i.png", None),
            ("https://notcivitai.com/i.png", None),
            ("file:///etc/passwd", None),
            ("not a url", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                image_url(raw, ENDPOINT).map(|u| u.to_string()).as_deref(),
                expected,
                "{raw}"
            );
        }
    }

    #[test]
    fn answers_that_cannot_be_read_say_so() {
        assert!(matches!(
            read_answer(b"<html>", ENDPOINT),
            Err(LookupError::BadAnswer(_))
        ));
        assert!(matches!(
            read_answer(br#"{"id": 1}"#, ENDPOINT),
            Err(LookupError::BadAnswer(_))
        ));
        assert_eq!(
            by_hash_url("https://civitai.com", "abc"),
            "https://civitai.com/api/v1/model-versions/by-hash/ABC"
        );
    }

    #[test]
    fn html_becomes_plain_text() {
        let cases = [
            ("plain", "plain"),
            ("<p>a</p><p>b</p>", "a\nb"),
            ("a<br>b<br/>c", "a\nb\nc"),
            ("<img src=x onerror=alert(1)>hi", "hi"),
            (
                "<style>p{}</style><p>&lt;b&gt; &quot;q&quot;</p>",
                "<b> \"q\"",
            ),
            ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
            ("a   b\n\n\n\nc", "a b\n\nc"),
            ("broken <a href='x", "broken"),
        ];
        for (html, text) in cases {
            assert_eq!(plain_text(html), text, "{html}");
        }
        assert!(plain_text(&"x".repeat(5000)).chars().count() <= MAX_DESCRIPTION_CHARS + 1);
    }
}
