use serde::{Deserialize, Serialize};

/// Machine-readable error codes. Each maps to one HTTP status in the REST adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    Conflict,
    /// A file type or request content type we do not accept, or content that does not match
    /// its extension.
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
    /// The route exists but not with this HTTP method.
    MethodNotAllowed,
    /// Access control is on (`MODELS_AUTH_TOKEN`) and the request has no valid session or
    /// bearer token.
    Unauthorized,
    /// A state-changing request a browser sent from another site.
    Forbidden,
    Internal,
}

impl ErrorCode {
    /// The HTTP status of an error with this code, for REST routes and server functions alike.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidInput => 400,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::Cancelled => 409,
            ErrorCode::UnsupportedType => 415,
            ErrorCode::TooLarge => 413,
            ErrorCode::InsufficientStorage => 507,
            ErrorCode::Upstream => 502,
            ErrorCode::TokenRequired => 401,
            ErrorCode::AccessDenied => 403,
            ErrorCode::IntegrityFailed => 422,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::Internal => 500,
        }
    }
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

    /// A failed disk operation: `insufficient_storage` when the volume or quota is full,
    /// `internal` otherwise. `doing` says what failed ("cannot write the upload").
    pub fn io(doing: &str, e: &std::io::Error) -> Self {
        let code = match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                ErrorCode::InsufficientStorage
            }
            _ => ErrorCode::Internal,
        };
        Self::new(code, format!("{doing}: {e}"))
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        match value {
            // The server could not read the call's arguments: the request is at fault.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::new(ErrorCode::InvalidInput, value.to_string())
            }
            _ => AppError::internal(value.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_insufficient_storage_and_other_failures_are_internal() {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        for errno in [ENOSPC, EDQUOT] {
            let e = std::io::Error::from_raw_os_error(errno);
            let error = AppError::io("cannot write the upload", &e);
            assert_eq!(error.code, ErrorCode::InsufficientStorage, "{e}");
            assert_eq!(error.code.http_status(), 507);
            assert!(error.message.starts_with("cannot write the upload: "));
        }
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(AppError::io("x", &denied).code, ErrorCode::Internal);
    }

    #[test]
    fn unreadable_server_function_arguments_are_the_callers_fault() {
        use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
        let bad = AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field".into()));
        assert_eq!(bad.code, ErrorCode::InvalidInput);
        let missing = AppError::from_server_fn_error(ServerFnErrorErr::MissingArg("id".into()));
        assert_eq!(missing.code.http_status(), 400);
        let broke = AppError::from_server_fn_error(ServerFnErrorErr::ServerError("x".into()));
        assert_eq!(broke.code, ErrorCode::Internal);
    }
}
