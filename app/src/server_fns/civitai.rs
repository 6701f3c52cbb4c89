use leptos::prelude::*;

use crate::domain::{AppError, InstalledModel, Preferences};

/// Looks an installed model up on CivitAI now ("Look up on CivitAI", "look up again").
#[server]
pub async fn lookup_civitai(id: String) -> Result<InstalledModel, AppError> {
    crate::port::service()?.lookup_civitai(&id).await
}

/// "Check for updates": whether CivitAI has a newer version.
#[server]
pub async fn check_update(id: String) -> Result<InstalledModel, AppError> {
    crate::port::service()?.check_update(&id).await
}

/// Adds and downloads the newer version (the installed one stays); the job id.
#[server]
pub async fn download_update(id: String) -> Result<String, AppError> {
    crate::port::service()?.download_update(&id).await
}

/// Saves whether NSFW previews are shown without a click.
#[server]
pub async fn set_show_nsfw_previews(show: bool) -> Result<Preferences, AppError> {
    crate::port::service()?
        .set_preferences(Preferences {
            show_nsfw_previews: show,
        })
        .await
}
