//! "Check for updates": the published versions of a CivitAI model, newest first
//! (`GET /api/v1/models/{id}`), asked on demand only.

use app::domain::{AppError, ErrorCode};

use super::{ApiModel, ApiVersion};
use crate::sources::http_error;

/// The model's published versions, newest first, as CivitAI lists them.
pub async fn model_versions(
    client: &reqwest::Client,
    endpoint: &str,
    model_id: u64,
    token: Option<&str>,
) -> Result<Vec<ApiVersion>, AppError> {
    let mut request = client
        .get(format!("{endpoint}/api/v1/models/{model_id}"))
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| http_error("CivitAI", e))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(AppError::not_found(format!(
            "CivitAI no longer lists model {model_id}"
        )));
    }
    if !status.is_success() {
        return Err(AppError::new(
            ErrorCode::Upstream,
            format!("CivitAI answered {status} for model {model_id}; try again later"),
        ));
    }
    let model: ApiModel =
        crate::sources::lookup_json(&format!("CivitAI (for model {model_id})"), response).await?;
    Ok(model.model_versions)
}
