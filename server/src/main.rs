use anyhow::Context;
use leptos::config::get_configuration;
use server::{app_router, config::Config, serve, service::Service, HttpLimits};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let config = Config::from_env()?;
    tracing::info!(?config, "starting");

    let mut leptos_options = get_configuration(None)?.leptos_options;
    leptos_options.site_addr = config.site_addr;
    let addr = config.site_addr;
    let limits = HttpLimits::from(&config);
    let service = Service::new(config)?;
    let resumed = service.resume_downloads();
    if resumed > 0 {
        tracing::info!(resumed, "resuming unfinished downloads");
    }
    let router = app_router(service, leptos_options);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("listening on http://{addr}");
    serve(listener, router, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
