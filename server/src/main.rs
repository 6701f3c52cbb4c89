//! `model-manager`: `serve` runs the web app; every other subcommand is a client of a running
//! server's REST API (`server::cli`). Started as `server` (the image's alias) with no
//! arguments, it serves.

use std::{
    io::{Read, Write},
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream},
    process::ExitCode,
    time::Duration,
};

use anyhow::Context;
use clap::Parser;
use server::{
    app_router,
    cli::{self, Cli, Command},
    config::Config,
    serve,
    service::Service,
    HttpLimits,
};
use tracing_subscriber::EnvFilter;

/// How long a stop waits for running downloads to close their files; with the HTTP drain
/// (`server::SHUTDOWN_DRAIN`) a stop takes under 5 s.
const PAUSE_GRACE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let watched = std::env::var_os("LEPTOS_WATCH").is_some();
    let cli = Cli::parse_from(cli::with_default_command(std::env::args_os(), watched));
    let result = match cli.command {
        Command::Serve => tokio::runtime::Runtime::new()
            .context("cannot start the async runtime")
            .and_then(|runtime| runtime.block_on(run_server())),
        Command::Healthcheck => Config::from_env()
            .map_err(anyhow::Error::from)
            .and_then(|config| healthcheck(config.site_addr)),
        command => return cli::run(cli.global, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

/// `model-manager serve`: the web app and the REST API until SIGTERM/SIGINT.
async fn run_server() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let config = Config::from_env()?;
    tracing::info!(?config, "starting");
    if config.open_to_network() {
        tracing::warn!(
            "\n\n    !!! {} is reachable from other hosts and MODELS_AUTH_TOKEN is not set:\n    !!! anyone who can reach this port can manage your models (delete them, download anything).\n    !!! Set MODELS_AUTH_TOKEN to require a login, or listen on 127.0.0.1.\n",
            config.site_addr
        );
    }

    let mut leptos_options = server::site::leptos_options()?;
    leptos_options.site_addr = config.site_addr;
    let addr = config.site_addr;
    let limits = HttpLimits::from(&config);
    let service = Service::new(config)?;
    let resumed = service.resume_downloads();
    // Exact sizes of the catalog's models from the Hub, in the background.
    if let Ok(db) = service.store().read() {
        service.refresh_sizes(&db);
    }
    if resumed > 0 {
        tracing::info!(resumed, "resuming unfinished downloads");
    }
    let router = app_router(service.clone(), leptos_options);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!("listening on http://{addr}");
    let stop = stop_requested().context("cannot handle SIGTERM")?;
    serve(listener, router, limits, stop).await?;
    service.pause_downloads(PAUSE_GRACE).await;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM (`docker stop`, the pod being stopped) or SIGINT (Ctrl-C).
fn stop_requested() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = int.recv() => tracing::info!("SIGINT: stopping"),
        }
    })
}

/// `model-manager healthcheck` (the image's HEALTHCHECK, which has no curl): succeeds when the
/// server listening on `addr` answers `/readyz` with 200.
fn healthcheck(mut addr: SocketAddr) -> anyhow::Result<()> {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    let limit = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&addr, limit)
        .with_context(|| format!("nothing answers on {addr}"))?;
    stream.set_read_timeout(Some(limit))?;
    write!(stream, "GET /readyz HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer.lines().next().unwrap_or_default();
    anyhow::ensure!(status.contains(" 200 "), "not ready: {answer}");
    println!("ready");
    Ok(())
}
