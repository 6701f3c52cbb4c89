use leptos::prelude::*;

use crate::domain::{AccessStatus, AppError};

/// Who can reach this server (the server provides it as context).
#[server]
pub async fn access_info() -> Result<AccessStatus, AppError> {
    Ok(use_context::<AccessStatus>().unwrap_or_default())
}
