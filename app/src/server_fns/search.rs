use leptos::prelude::*;

use crate::domain::{AppError, CivitaiModel, RepoFiles, SearchPage, SearchQuery};

/// A page of models found on Hugging Face or CivitAI.
#[server]
pub async fn search_models(#[server(default)] query: SearchQuery) -> Result<SearchPage, AppError> {
    crate::port::service()?.search(query).await
}

/// A Hub repo's files with sizes, the main weights preselected.
#[server]
pub async fn hub_repo_files(repo: String, revision: Option<String>) -> Result<RepoFiles, AppError> {
    crate::port::service()?
        .hub_repo_files(&repo, revision.as_deref())
        .await
}

/// A CivitAI model and its versions.
#[server]
pub async fn civitai_versions(model_id: u64) -> Result<CivitaiModel, AppError> {
    crate::port::service()?.civitai_model(model_id).await
}
