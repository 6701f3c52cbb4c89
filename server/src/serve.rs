//! The HTTP/1 server: an accept loop with a connection limit, a deadline for request headers
//! (which also closes idle keep-alive connections) and an idle timeout for request bodies, so
//! that slow or idle clients cannot hold the server.

use std::{future::Future, io, sync::Arc, time::Duration};

use axum::{body::Body, extract::Request, Router};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{watch, OwnedSemaphorePermit, Semaphore},
};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::config::Config;

/// What a connection may cost the server.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Time to send a request's headers, counted from the connection's start or the end of the
    /// previous response: a connection that sends nothing for this long is closed.
    pub header_timeout: Duration,
    /// Time a request body (an upload) may send nothing before the request fails. A slow body
    /// that keeps sending is never cut.
    pub body_idle_timeout: Duration,
    /// Connections served at once. Over the limit, idle connections are closed to make room
    /// and a newcomer waits at most `header_timeout` for one before it is closed.
    pub max_connections: usize,
    /// Time in-flight requests get to finish once shutdown began; connections still busy
    /// after it are dropped, so a stop never waits on a slow client.
    pub drain: Duration,
}

/// How long a stop waits for in-flight requests (`HttpLimits::drain`).
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(2);

impl From<&Config> for HttpLimits {
    fn from(config: &Config) -> Self {
        Self {
            header_timeout: Duration::from_secs(config.http_header_timeout_secs),
            body_idle_timeout: Duration::from_secs(config.http_body_idle_timeout_secs),
            max_connections: config.http_max_connections,
            drain: SHUTDOWN_DRAIN,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets every
/// connection finish the request it is serving and returns once all are closed, or after
/// `limits.drain` at the latest.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Each send asks every connection to close once it is idle (graceful shutdown).
    let (close_idle, _) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                close_idle.send_replace(());
                let wait =
                    tokio::time::timeout(limits.header_timeout, Arc::clone(&slots).acquire_owned());
                tokio::select! {
                    () = &mut shutdown => break,
                    slot = wait => match slot {
                        Ok(Ok(slot)) => slot,
                        _ => {
                            tracing::warn!(limit = limits.max_connections, "too many connections: one was closed");
                            continue;
                        }
                    },
                }
            }
        };
        tokio::spawn(connection(
            stream,
            router.clone(),
            limits,
            close_idle.subscribe(),
            slot,
        ));
    }
    // New connections are refused from here on.
    drop(listener);
    close_idle.send_replace(());
    // Every connection holds a slot until it ends.
    let all = slots.acquire_many(limits.max_connections as u32);
    if tokio::time::timeout(limits.drain, all).await.is_err() {
        tracing::warn!(
            "requests still running after {:?} were dropped",
            limits.drain
        );
    }
    Ok(())
}

/// Serves one connection; `close` asks it to finish its current request and close.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: HttpLimits,
    mut close: watch::Receiver<()>,
    _slot: OwnedSemaphorePermit,
) {
    let service = service_fn(move |request: Request<Incoming>| {
        let request =
            request.map(|body| Body::new(TimeoutBody::new(limits.body_idle_timeout, body)));
        router.clone().oneshot(request)
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            _ = close.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
