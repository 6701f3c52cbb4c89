//! The REST client of the command line, and its errors with their exit codes.

use std::{path::PathBuf, time::Duration};

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long a client waits to connect, and for an ordinary answer. Verification and uploads
/// take as long as they take (`Client::without_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// What the fallback route of an older server says about a route it does not have.
const NO_ROUTE: &str = "there is no API route";

/// The exit codes of the command line (README "From the shell").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    Failed = 1,
    Usage = 2,
    Unreachable = 3,
    NotFound = 4,
    Auth = 5,
}

/// Everything a subcommand can fail with; each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot reach the server at {url} ({reason}).\nIs the server running? Start it with `model-manager serve`, or point --server (or MODEL_MANAGER_URL) at it.")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
    #[error(
        "this server does not support {0} yet: update it to the build this command comes from"
    )]
    Unsupported(&'static str),
    /// An error answer of the server (`{"error": {code, message}}`).
    #[error("{message}")]
    Api { status: u16, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Unreachable { .. } => Exit::Unreachable,
            CliError::Auth(_) => Exit::Auth,
            CliError::NotFound(_) => Exit::NotFound,
            CliError::Usage(_) | CliError::Read { .. } => Exit::Usage,
            CliError::Failed(_) | CliError::Unsupported(_) => Exit::Failed,
            CliError::Api { status, .. } => match status {
                400 => Exit::Usage,
                401 | 403 => Exit::Auth,
                404 => Exit::NotFound,
                _ => Exit::Failed,
            },
        }
    }
}

/// A status and a JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body of a 2xx answer, or the error it carries.
    pub fn ok(self) -> Result<Value, CliError> {
        match self.is_success() {
            true => Ok(self.body),
            false => Err(self.error()),
        }
    }

    /// A 404 from a server that has no such route means the feature is missing, not the thing.
    pub fn supported(self, feature: &'static str) -> Result<Self, CliError> {
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        match self.status == 404 && message.starts_with(NO_ROUTE) {
            true => Err(CliError::Unsupported(feature)),
            false => Ok(self),
        }
    }

    /// The error of a non-2xx answer as the command line reports it.
    pub fn error(&self) -> CliError {
        let error = &self.body["error"];
        let message = error["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("the server answered {}", self.status));
        // The server's own access control; a source's refusal has another code.
        match error["code"].as_str() {
            Some("unauthorized") => {
                CliError::Auth(auth_hint(std::env::var_os("MODELS_AUTH_TOKEN").is_some()))
            }
            _ => CliError::Api {
                status: self.status,
                message,
            },
        }
    }

    /// The `jobId` a 409 "already downloading" carries.
    pub fn conflict_job(&self) -> Option<&str> {
        (self.status == 409)
            .then(|| self.body["error"]["jobId"].as_str())
            .flatten()
    }
}

/// What to do about a 401, depending on whether a token was sent.
pub fn auth_hint(token_sent: bool) -> String {
    match token_sent {
        true => "the server refused the access token in MODELS_AUTH_TOKEN: set it to the token the server was started with".into(),
        false => "the server needs an access token: set MODELS_AUTH_TOKEN to the token it was started with".into(),
    }
}

/// Decodes a JSON value into a wire type; a mismatch means client and server disagree.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, CliError> {
    serde_json::from_value(value)
        .map_err(|e| CliError::Failed(format!("unexpected answer from the server: {e}")))
}

/// A client of one server; sends `MODELS_AUTH_TOKEN` as a bearer when it is set.
pub struct Client {
    base: String,
    http: reqwest::Client,
    bearer: Option<String>,
}

impl Client {
    /// `base` is the server's URL, e.g. `http://127.0.0.1:3000`.
    pub fn new(base: &str, bearer: Option<String>) -> Result<Self, CliError> {
        let url = url::Url::parse(base).map_err(|e| {
            CliError::Usage(format!(
                "--server {base:?} is not a URL ({e}); give one like http://127.0.0.1:3000"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CliError::Usage(format!(
                "--server {base:?} is not an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| CliError::Failed(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http,
            bearer: bearer.filter(|t| !t.is_empty()),
        })
    }

    /// A request to `path` (`/api/...`) with the bearer and the ordinary answer timeout.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.without_timeout(method, path).timeout(ANSWER_TIMEOUT)
    }

    /// As [`Client::request`], without the answer timeout (verification, uploads).
    pub fn without_timeout(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn send(&self, request: RequestBuilder) -> Result<Answer, CliError> {
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    /// The body of a 2xx answer to `GET path`, or the error.
    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        self.get_answer(path).await?.ok()
    }

    /// The answer to `GET path`, whatever its status.
    pub async fn get_answer(&self, path: &str) -> Result<Answer, CliError> {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Answer, CliError> {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Answer, CliError> {
        self.send(self.request(Method::DELETE, path)).await
    }

    fn unreachable(&self, e: &reqwest::Error) -> CliError {
        let reason = if e.is_timeout() {
            "no answer in time".to_string()
        } else if e.is_connect() {
            "nothing answers there".to_string()
        } else {
            root_cause(e)
        };
        CliError::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `value` as a query-string component.
pub fn q(value: &str) -> String {
    urlencoding::encode(value).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(status: u16, body: Value) -> Answer {
        Answer { status, body }
    }

    #[test]
    fn error_answers_map_to_the_documented_exit_codes() {
        let not_found = json!({"error": {"code": "not_found", "message": "no model with id x"}});
        assert_eq!(answer(404, not_found).error().exit(), Exit::NotFound);
        let invalid = json!({"error": {"code": "invalid_input", "message": "bad repo"}});
        assert_eq!(answer(400, invalid).error().exit(), Exit::Usage);
        let unauthorized = json!({"error": {"code": "unauthorized", "message": "log in"}});
        let e = answer(401, unauthorized).error();
        assert_eq!(e.exit(), Exit::Auth);
        assert!(e.to_string().contains("MODELS_AUTH_TOKEN"), "{e}");
        let gated = json!({"error": {"code": "access_denied", "message": "the repo is gated"}});
        let e = answer(403, gated).error();
        assert_eq!(
            (e.exit(), e.to_string()),
            (Exit::Auth, "the repo is gated".into())
        );
        let upstream = json!({"error": {"code": "upstream", "message": "hub down"}});
        let error = answer(502, upstream).error();
        assert_eq!(error.exit(), Exit::Failed);
        assert_eq!(error.to_string(), "hub down");
        assert_eq!(
            answer(500, Value::Null).error().to_string(),
            "the server answered 500"
        );
    }

    #[test]
    fn a_missing_route_is_a_missing_feature_and_a_missing_job_is_not_found() {
        let no_route = json!({"error": {"code": "not_found", "message": "there is no API route POST /api/models/scan"}});
        let e = answer(404, no_route).supported("scanning").unwrap_err();
        assert_eq!(
            e.to_string(),
            "this server does not support scanning yet: update it to the build this command comes from"
        );
        assert_eq!(e.exit(), Exit::Failed);
        let no_job = json!({"error": {"code": "not_found", "message": "no download job j1"}});
        let kept = answer(404, no_job).supported("pausing").unwrap();
        assert_eq!(kept.error().exit(), Exit::NotFound);
    }

    #[test]
    fn a_conflict_names_the_running_job() {
        let running =
            json!({"error": {"code": "conflict", "message": "already downloading", "jobId": "j1"}});
        assert_eq!(answer(409, running).conflict_job(), Some("j1"));
        let installed = json!({"error": {"code": "conflict", "message": "already installed"}});
        assert_eq!(answer(409, installed).conflict_job(), None);
    }

    #[test]
    fn the_server_url_must_be_http() {
        assert_eq!(
            Client::new("localhost:3000", None).err().unwrap().exit(),
            Exit::Usage
        );
        assert_eq!(
            Client::new("ftp://x", None).err().unwrap().exit(),
            Exit::Usage
        );
        assert!(Client::new("http://127.0.0.1:3000/", None).is_ok());
    }

    #[test]
    fn the_auth_hint_says_which_token_to_set() {
        assert!(auth_hint(false).contains("needs an access token"));
        assert!(auth_hint(true).contains("refused the access token"));
    }
}
