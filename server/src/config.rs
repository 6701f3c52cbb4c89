//! Every environment variable the server reads, read once at start-up.

use std::{net::SocketAddr, path::PathBuf};

/// The server's configuration. Secrets (`HF_TOKEN`, `CIVITAI_TOKEN`) are held here in memory
/// only; `Debug` redacts them.
#[derive(Clone)]
pub struct Config {
    pub models_dir: PathBuf,
    /// Extra folders the volume scan reads (`MODELS_SCAN_DIRS`, colon-separated, e.g. a
    /// ComfyUI models folder): files there are referenced, never moved or deleted.
    pub scan_dirs: Vec<PathBuf>,
    pub db_path: PathBuf,
    /// Where the export page looks for dataset folders (`DATASETS_DIR`).
    pub datasets_dir: PathBuf,
    /// Where generated AI Toolkit configs are saved (`EXPORTS_DIR`).
    pub exports_dir: PathBuf,
    /// huggingface_hub's home (`HF_HOME`); AI Toolkit run with the same finds our downloads.
    pub hf_home: PathBuf,
    /// The huggingface_hub cache where Hub downloads are linked (`HF_HUB_CACHE`, `$HF_HOME/hub`).
    pub hf_hub_cache: PathBuf,
    pub hf_endpoint: String,
    pub hf_token: Option<String>,
    pub civitai_endpoint: String,
    pub civitai_token: Option<String>,
    pub site_addr: SocketAddr,
    pub allow_private_urls: bool,
    /// `MODELS_CIVITAI_LOOKUP` (default true): look every installed file up on CivitAI by its
    /// sha256 once it is known. False leaves it to the card's "Look up on CivitAI".
    pub civitai_lookup: bool,
    /// Largest accepted upload, in bytes (`MODELS_UPLOAD_MAX_BYTES`).
    pub upload_max_bytes: u64,
    /// Downloads running at once; more wait in the queue (`MODELS_MAX_CONCURRENT_DOWNLOADS`).
    pub max_concurrent_downloads: usize,
    /// Free space a download must leave on the volume (`MODELS_MIN_FREE_BYTES`).
    pub min_free_bytes: u64,
    /// Seconds a download request may go without an answer (connecting, waiting for the
    /// response headers) or without data between reads of the body before the attempt fails
    /// (`MODELS_DOWNLOAD_STALL_SECS`).
    pub download_stall_secs: u64,
    /// First retry delay in ms, doubled per attempt (`MODELS_DOWNLOAD_RETRY_BASE_MS`).
    pub download_retry_base_ms: u64,
    /// Failed attempts in a row, without the partial file growing, before a download fails
    /// (`MODELS_DOWNLOAD_MAX_ATTEMPTS`).
    pub download_max_attempts: u32,
    /// Hours a failed download's partial files are kept for a retry (`MODELS_PARTIAL_TTL_HOURS`).
    pub partial_ttl_hours: u64,
    /// Seconds a download's lease on the shared volume may go unrenewed before another server
    /// takes the job over (`MODELS_LEASE_SECS`, at least 3); renewed every second.
    pub lease_secs: u64,
    /// Seconds a connection may take to send a request's headers, also the keep-alive idle
    /// time (`MODELS_HTTP_HEADER_TIMEOUT_SECS`).
    pub http_header_timeout_secs: u64,
    /// Seconds a request body may send nothing (`MODELS_HTTP_IDLE_TIMEOUT_SECS`).
    pub http_body_idle_timeout_secs: u64,
    /// Connections served at once (`MODELS_HTTP_MAX_CONNECTIONS`).
    pub http_max_connections: usize,
    /// Connections per large file (`MODELS_DOWNLOAD_CONNECTIONS`, 1 = one stream).
    pub download_connections: usize,
    /// Bytes per ranged request (`MODELS_DOWNLOAD_RANGE_BYTES`); files of at least four of
    /// them are fetched as parallel ranges.
    pub download_range_bytes: u64,
    /// Seconds a search or file listing on Hugging Face / CivitAI may take before the page is
    /// told the site did not answer (`MODELS_SEARCH_TIMEOUT_SECS`).
    pub search_timeout_secs: u64,
    /// Hours exact sizes learnt from the Hub's tree API are kept before they are asked again
    /// (`MODELS_CATALOG_REFRESH_HOURS`).
    pub catalog_refresh_hours: u64,
    /// All downloads together, in bytes per second (`MODELS_DOWNLOAD_LIMIT`); 0 = no limit.
    pub download_limit: u64,
    /// The token that guards every page, server function, asset and REST route
    /// (`MODELS_AUTH_TOKEN`); none: the app is open to whoever reaches its port.
    pub auth_token: Option<String>,
    /// Pause before a wrong token is answered, in ms; wrong tokens are answered one at a time
    /// (`MODELS_AUTH_FAIL_DELAY_MS`).
    pub auth_fail_delay_ms: u64,
}

/// The shortest `MODELS_AUTH_TOKEN` accepted.
pub const MIN_AUTH_TOKEN_LEN: usize = 12;

/// 200 GB: larger than any single model file we know of (FLUX.2 dev is 64.4 GB).
const DEFAULT_UPLOAD_MAX: u64 = 200_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    /// A token from the environment that cannot be sent or is too weak (the value is never
    /// shown).
    #[error("{name} cannot be used: {reason}")]
    BadToken { name: &'static str, reason: String },
}

/// A token variable, trimmed; refused at start-up when it could not be sent as a header
/// (a line break pasted into a secret, say), with the reason and never the value.
fn token(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    source: &str,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = get(name) else {
        return Ok(None);
    };
    app::domain::check_token(name, source, &value).map_err(|e| ConfigError::BadToken {
        name,
        reason: e.message,
    })?;
    Ok(Some(value.trim().to_string()))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let models_dir =
            PathBuf::from(get("MODELS_DIR").unwrap_or_else(|| "/workspace/models".into()));
        let db_path = get("MODELS_DB_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| models_dir.join("installed-models.json"));
        let site_addr_raw =
            get("LEPTOS_SITE_ADDR").unwrap_or_else(|| crate::site::file().site_addr.to_string());
        let site_addr = site_addr_raw.parse().map_err(|_| ConfigError::Invalid {
            name: "LEPTOS_SITE_ADDR",
            value: site_addr_raw.clone(),
            reason: "expected host:port, for example 127.0.0.1:3000",
        })?;
        let allow_private_urls = flag(&get, "MODELS_ALLOW_PRIVATE_URLS", false)?;
        let civitai_lookup = flag(&get, "MODELS_CIVITAI_LOOKUP", true)?;
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(raw) => raw.parse().map_err(|_| ConfigError::Invalid {
                    name,
                    value: raw,
                    reason: "expected a whole number",
                }),
            }
        };
        let upload_max_bytes = number("MODELS_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX)?;
        let max_concurrent_downloads = number("MODELS_MAX_CONCURRENT_DOWNLOADS", 2)? as usize;
        let min_free_bytes = number("MODELS_MIN_FREE_BYTES", 1_000_000_000)?;
        let download_stall_secs = number("MODELS_DOWNLOAD_STALL_SECS", 30)?.max(1);
        let download_retry_base_ms = number("MODELS_DOWNLOAD_RETRY_BASE_MS", 500)?;
        let download_max_attempts = number("MODELS_DOWNLOAD_MAX_ATTEMPTS", 8)?.clamp(1, 100) as u32;
        let partial_ttl_hours = number("MODELS_PARTIAL_TTL_HOURS", 24)?;
        let datasets_dir =
            PathBuf::from(get("DATASETS_DIR").unwrap_or_else(|| "/workspace/datasets".into()));
        let exports_dir = get("EXPORTS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| models_dir.join("exports"));
        let hf_home = get("HF_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| models_dir.join(".huggingface"));
        let hf_hub_cache = get("HF_HUB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let scan_raw = get("MODELS_SCAN_DIRS").unwrap_or_default();
        let scan_dirs: Vec<PathBuf> = scan_raw
            .split(':')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect();
        if scan_dirs.iter().any(|d| !d.is_absolute()) {
            return Err(ConfigError::Invalid {
                name: "MODELS_SCAN_DIRS",
                value: scan_raw,
                reason:
                    "expected absolute folders separated by ':', e.g. /workspace/ComfyUI/models",
            });
        }
        Ok(Self {
            scan_dirs,
            hf_home,
            hf_hub_cache,
            datasets_dir,
            exports_dir,
            max_concurrent_downloads,
            min_free_bytes,
            download_stall_secs,
            download_retry_base_ms,
            download_max_attempts,
            partial_ttl_hours,
            lease_secs: number("MODELS_LEASE_SECS", 30)?.max(3),
            search_timeout_secs: number("MODELS_SEARCH_TIMEOUT_SECS", 15)?.clamp(1, 300),
            catalog_refresh_hours: number("MODELS_CATALOG_REFRESH_HOURS", 24)?.max(1),
            upload_max_bytes,
            models_dir,
            db_path,
            hf_endpoint: endpoint(get("HF_ENDPOINT"), "https://huggingface.co"),
            hf_token: token(&get, "HF_TOKEN", "Hugging Face")?,
            civitai_endpoint: endpoint(get("CIVITAI_ENDPOINT"), "https://civitai.com"),
            civitai_token: token(&get, "CIVITAI_TOKEN", "CivitAI")?,
            site_addr,
            allow_private_urls,
            civitai_lookup,
            http_header_timeout_secs: number("MODELS_HTTP_HEADER_TIMEOUT_SECS", 30)?.max(1),
            http_body_idle_timeout_secs: number("MODELS_HTTP_IDLE_TIMEOUT_SECS", 60)?.max(1),
            http_max_connections: number("MODELS_HTTP_MAX_CONNECTIONS", 256)?.clamp(1, 65_536)
                as usize,
            download_connections: number("MODELS_DOWNLOAD_CONNECTIONS", 16)?.clamp(1, 64) as usize,
            download_range_bytes: number("MODELS_DOWNLOAD_RANGE_BYTES", 16 << 20)?.max(64 << 10),
            download_limit: rate(get("MODELS_DOWNLOAD_LIMIT"))?,
            auth_token: auth_token(&get)?,
            auth_fail_delay_ms: number("MODELS_AUTH_FAIL_DELAY_MS", 1000)?,
        })
    }

    /// Bound to an address other hosts can reach, with no `MODELS_AUTH_TOKEN`: anyone who
    /// reaches the port can manage the models.
    pub fn open_to_network(&self) -> bool {
        self.auth_token.is_none() && !self.site_addr.ip().is_loopback()
    }
}

/// A true/false variable (`1`/`0`, `yes`/`no` too); `default` when unset.
fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(ConfigError::Invalid {
            name,
            value: raw,
            reason: "expected true or false",
        }),
    }
}

/// `MODELS_AUTH_TOKEN`: printable, no spaces, at least [`MIN_AUTH_TOKEN_LEN`] characters.
fn auth_token(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let name = "MODELS_AUTH_TOKEN";
    let token = token(get, name, "access")?;
    if token
        .as_ref()
        .is_some_and(|t| t.chars().count() < MIN_AUTH_TOKEN_LEN)
    {
        return Err(ConfigError::BadToken {
            name,
            reason: format!("it is shorter than {MIN_AUTH_TOKEN_LEN} characters"),
        });
    }
    Ok(token)
}

/// A rate such as `200M` (bytes per second; K, M, G are powers of 1024, as in aria2c and
/// curl); empty or 0 means no limit.
pub fn parse_rate(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let (digits, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => raw.split_at(i),
        None => (raw, ""),
    };
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches("B") {
        "" => 0,
        "K" | "KI" => 10,
        "M" | "MI" => 20,
        "G" | "GI" => 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn rate(value: Option<String>) -> Result<u64, ConfigError> {
    match value {
        None => Ok(0),
        Some(raw) => parse_rate(&raw).ok_or(ConfigError::Invalid {
            name: "MODELS_DOWNLOAD_LIMIT",
            value: raw,
            reason: "expected bytes per second, for example 200M (K, M, G = 1024, 1024², 1024³), or 0 for no limit",
        }),
    }
}

fn endpoint(value: Option<String>, default: &str) -> String {
    value
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string()
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("models_dir", &self.models_dir)
            .field("scan_dirs", &self.scan_dirs)
            .field("db_path", &self.db_path)
            .field("datasets_dir", &self.datasets_dir)
            .field("exports_dir", &self.exports_dir)
            .field("hf_hub_cache", &self.hf_hub_cache)
            .field("hf_endpoint", &self.hf_endpoint)
            .field("hf_token", &redact(&self.hf_token))
            .field("civitai_endpoint", &self.civitai_endpoint)
            .field("civitai_token", &redact(&self.civitai_token))
            .field("site_addr", &self.site_addr)
            .field("allow_private_urls", &self.allow_private_urls)
            .field("civitai_lookup", &self.civitai_lookup)
            .field("upload_max_bytes", &self.upload_max_bytes)
            .field("max_concurrent_downloads", &self.max_concurrent_downloads)
            .field("min_free_bytes", &self.min_free_bytes)
            .field("download_connections", &self.download_connections)
            .field("download_range_bytes", &self.download_range_bytes)
            .field("download_limit", &self.download_limit)
            .field("auth_token", &redact(&self.auth_token))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_spec() {
        let c = config(&[]).unwrap();
        assert_eq!(c.models_dir, PathBuf::from("/workspace/models"));
        assert_eq!(
            c.db_path,
            PathBuf::from("/workspace/models/installed-models.json")
        );
        assert_eq!(c.hf_endpoint, "https://huggingface.co");
        assert_eq!(c.civitai_endpoint, "https://civitai.com");
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert!(!c.allow_private_urls);
        assert!(c.civitai_lookup);
        assert!(
            !config(&[("MODELS_CIVITAI_LOOKUP", "false")])
                .unwrap()
                .civitai_lookup
        );
        assert!(config(&[("MODELS_CIVITAI_LOOKUP", "sometimes")]).is_err());
        assert_eq!(c.download_stall_secs, 30);
        assert_eq!(c.download_max_attempts, 8);
    }

    #[test]
    fn db_path_follows_models_dir_and_endpoints_lose_trailing_slash() {
        let c = config(&[
            ("MODELS_DIR", "/data/m"),
            ("HF_ENDPOINT", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(c.db_path, PathBuf::from("/data/m/installed-models.json"));
        assert_eq!(c.hf_endpoint, "http://127.0.0.1:9");
    }

    #[test]
    fn scan_dirs_are_absolute_folders_separated_by_colons() {
        let c = config(&[("MODELS_SCAN_DIRS", "/a/comfy: /b ::")]).unwrap();
        assert_eq!(
            c.scan_dirs,
            [PathBuf::from("/a/comfy"), PathBuf::from("/b")]
        );
        assert!(config(&[]).unwrap().scan_dirs.is_empty());
        let err = config(&[("MODELS_SCAN_DIRS", "relative/dir")])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("MODELS_SCAN_DIRS") && err.contains("absolute"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("LEPTOS_SITE_ADDR", "nonsense")]).unwrap_err();
        assert!(err.to_string().contains("LEPTOS_SITE_ADDR"));
        let err = config(&[("MODELS_ALLOW_PRIVATE_URLS", "maybe")]).unwrap_err();
        assert!(err.to_string().contains("MODELS_ALLOW_PRIVATE_URLS"));
        let err = config(&[("MODELS_DOWNLOAD_MAX_ATTEMPTS", "many")]).unwrap_err();
        assert!(err.to_string().contains("MODELS_DOWNLOAD_MAX_ATTEMPTS"));
    }

    #[test]
    fn download_limits_read_human_rates() {
        assert_eq!(parse_rate("200M"), Some(200 << 20));
        assert_eq!(parse_rate("1536k"), Some(1536 << 10));
        assert_eq!(parse_rate("2GiB"), Some(2 << 30));
        assert_eq!(parse_rate("0"), Some(0));
        assert_eq!(parse_rate("12345"), Some(12345));
        assert_eq!(parse_rate("fast"), None);
        assert_eq!(parse_rate("10T"), None);
        let c = config(&[("MODELS_DOWNLOAD_LIMIT", "40M")]).unwrap();
        assert_eq!(c.download_limit, 40 << 20);
        assert_eq!(config(&[]).unwrap().download_limit, 0);
        assert_eq!(config(&[]).unwrap().download_connections, 16);
        let err = config(&[("MODELS_DOWNLOAD_LIMIT", "lots")]).unwrap_err();
        assert!(err.to_string().contains("MODELS_DOWNLOAD_LIMIT"), "{err}");
    }

    #[test]
    fn debug_never_shows_tokens() {
        let c = config(&[
            ("HF_TOKEN", "hf_canary123"),
            ("CIVITAI_TOKEN", "civ_canary"),
            ("MODELS_AUTH_TOKEN", "auth_canary_long"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("canary"));
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn a_token_with_a_line_break_stops_the_start_without_showing_it() {
        let e = config(&[("HF_TOKEN", "hf_canary\r\nX-Evil: 1")]).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("HF_TOKEN") && shown.contains("line break"),
            "{shown}"
        );
        assert!(!shown.contains("canary"), "{shown}");
        // A line break at the end (a pasted secret) is trimmed, not refused.
        let c = config(&[("CIVITAI_TOKEN", "civ_ok\n")]).unwrap();
        assert_eq!(c.civitai_token.as_deref(), Some("civ_ok"));
    }

    #[test]
    fn an_auth_token_must_be_long_enough_and_is_never_shown() {
        let e = config(&[("MODELS_AUTH_TOKEN", "canary")]).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("MODELS_AUTH_TOKEN") && shown.contains("12"),
            "{shown}"
        );
        assert!(!shown.contains("canary"), "{shown}");
        let c = config(&[("MODELS_AUTH_TOKEN", " canary-long-enough \n")]).unwrap();
        assert_eq!(c.auth_token.as_deref(), Some("canary-long-enough"));
    }

    #[test]
    fn only_a_non_loopback_address_without_a_token_is_open_to_the_network() {
        let open = |vars: &[(&str, &str)]| config(vars).unwrap().open_to_network();
        assert!(!open(&[]));
        assert!(!open(&[("LEPTOS_SITE_ADDR", "[::1]:3000")]));
        assert!(open(&[("LEPTOS_SITE_ADDR", "0.0.0.0:3000")]));
        assert!(!open(&[
            ("LEPTOS_SITE_ADDR", "0.0.0.0:3000"),
            ("MODELS_AUTH_TOKEN", "a-long-enough-token")
        ]));
    }
}
