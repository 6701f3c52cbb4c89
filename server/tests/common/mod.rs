//! Test harness: the real router on a free loopback port, with a temporary MODELS_DIR.
#![allow(dead_code)]

pub mod cli;
pub mod db_reader;
pub mod process;

use std::{collections::HashMap, net::SocketAddr, path::PathBuf};

use server::{app_router, config::Config, serve, service::Service, HttpLimits};

pub mod api;

pub struct TestServer {
    pub base: String,
    pub models_dir: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A REST client of this server.
    pub fn api(&self) -> api::Api {
        api::Api::new(&self.base)
    }
}

/// Starts the server with `vars` as its environment (MODELS_DIR is set to a temp folder).
pub async fn start(vars: &[(&str, &str)]) -> TestServer {
    // Logs for a failing test: RUST_LOG=server=debug cargo test ...
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("temp dir");
    let models_dir = dir.path().join("models");
    let mut env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.entry("MODELS_DIR".into())
        .or_insert_with(|| models_dir.display().to_string());
    // Never the real sites (the catalog's sizes are asked in the background): a test that
    // needs one points these at its fakes.
    for site in ["HF_ENDPOINT", "CIVITAI_ENDPOINT"] {
        env.entry(site.into())
            .or_insert_with(|| "http://127.0.0.1:9".into());
    }
    // Tests never ask the real CivitAI: the automatic lookup is on only where a test sets it
    // (with CIVITAI_ENDPOINT pointing at a fake).
    env.entry("MODELS_CIVITAI_LOOKUP".into())
        .or_insert_with(|| "false".into());
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("config");
    let models_dir = config.models_dir.clone();
    let service = Service::new(config).expect("service starts");
    let options = leptos::config::get_configuration(None)
        .expect("leptos options")
        .leptos_options;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let limits = HttpLimits::from(service.config());
    let router = app_router(service, options);
    tokio::spawn(async move {
        serve(listener, router, limits, std::future::pending())
            .await
            .expect("serve");
    });
    TestServer {
        base: format!("http://{addr}"),
        models_dir,
        _dir: dir,
    }
}
