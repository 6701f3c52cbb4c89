//! Implements app's `ModelService` port: orchestrates the registry, storage (and, as they
//! land, sources and downloads).

use std::sync::Arc;

use app::{
    domain::{AppError, Model, ModelFilter},
    port::ModelService,
};

use crate::{
    config::Config,
    registry::Catalog,
    storage::{StorageError, Store},
};

pub struct Service {
    config: Config,
    catalog: Catalog,
    store: Store,
}

impl Service {
    /// Opens the models folder and database; fails clearly if either is unusable.
    pub fn new(config: Config) -> Result<Arc<Self>, StorageError> {
        let store = Store::open(&config.models_dir, &config.db_path)?;
        Ok(Arc::new(Self {
            config,
            catalog: Catalog::built_in(),
            store,
        }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs blocking storage work off the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(store))
            .await
            .map_err(|e| AppError::internal(format!("storage task failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl ModelService for Service {
    async fn list_models(&self, filter: &ModelFilter) -> Result<Vec<Model>, AppError> {
        let db = self.blocking(|store| Ok(store.read()?)).await?;
        let installed_id = |id: &str| db.installed_from(id).map(|m| m.id.clone());
        let built_in = self
            .catalog
            .models()
            .iter()
            .map(|m| m.to_model(installed_id(&m.id)));
        let custom = db
            .custom_models
            .iter()
            .map(|m| m.to_model(installed_id(&m.id)));
        Ok(built_in
            .chain(custom)
            .filter(|m| filter.matches(m))
            .collect())
    }
}
