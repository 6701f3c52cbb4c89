use serde::{Deserialize, Serialize};

/// Machine-readable error codes. Each maps to one HTTP status in the REST adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    Conflict,
    /// A file type we do not accept, or content that does not match its extension.
    UnsupportedType,
    /// Larger than the configured limit.
    TooLarge,
    /// Not enough free space on the models volume.
    InsufficientStorage,
    /// Hugging Face, CivitAI or a download host failed or could not be reached.
    Upstream,
    /// The source needs a token (gated or private repo, login-only CivitAI file).
    TokenRequired,
    /// The token was refused or has no access.
    AccessDenied,
    /// Downloaded bytes do not match the published size or sha256.
    IntegrityFailed,
    /// The job was cancelled.
    Cancelled,
    Internal,
}

/// The error every service call, REST route and server function returns.
/// On the wire: `{"code": "...", "message": "...", "field"?: "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// The request field the error is about, for inline form messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The download job a conflict is about (409 "already downloading").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            job_id: None,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(ErrorCode::InvalidInput, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::internal(value.to_string())
    }
}
