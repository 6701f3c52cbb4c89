//! The engine's side of resolving a file: it lends the sources its transport (client, answer
//! timeouts, address checks) and retries a folder listing like a transfer. What each site is
//! asked and what its answers mean lives in `sources/`.

use app::domain::AppError;
use reqwest::{RequestBuilder, Response};
use serde::de::DeserializeOwned;

use super::{plan::FileSource, progress::Job, Engine, Fail};
use crate::sources::{self, huggingface::ListedFile, SiteTokens, Transport};

pub use crate::sources::{HubIdentity, Resolved};

#[async_trait::async_trait]
impl Transport for Engine {
    fn client(&self) -> &reqwest::Client {
        &self.http
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, Fail> {
        Engine::send(self, request).await
    }

    async fn json<T: DeserializeOwned + Send>(&self, response: Response) -> Result<T, Fail> {
        Engine::json(self, response).await
    }

    fn hf_endpoint(&self) -> &str {
        &self.hf_endpoint
    }

    fn civitai_endpoint(&self) -> &str {
        &self.civitai_endpoint
    }

    fn private_links_allowed(&self) -> bool {
        self.allow_private_urls
    }
}

impl Engine {
    /// Where `source` is fetched from now, with the tokens of its site.
    pub(super) async fn resolve(
        &self,
        source: &FileSource,
        hf_token: Option<&str>,
        civitai_token: Option<&str>,
    ) -> Result<Resolved, Fail> {
        let tokens = SiteTokens {
            huggingface: hf_token,
            civitai: civitai_token,
        };
        sources::resolve(self, source, tokens).await
    }

    /// Lists every file under a Hub `folder/`, retrying transient failures like a transfer.
    pub(super) async fn list_folder(
        &self,
        job: &Job,
        repo: &str,
        revision: &str,
        folder: &str,
        token: Option<&str>,
    ) -> Result<Vec<ListedFile>, AppError> {
        let mut retries = self.retries(job, format!("listing {folder}/ of {repo}"), "");
        loop {
            let attempt = sources::huggingface::list_folder(self, repo, revision, folder, token);
            match retries.run(attempt).await {
                Ok(listed) => return Ok(listed),
                Err(fail) => retries.after(fail).await?,
            }
        }
    }
}
