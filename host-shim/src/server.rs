//! The accept loop: HTTP/1.1 connections served by [`Handler`] until a stop
//! signal, then a bounded wait for in-flight requests.

use crate::handler::Handler;
use crate::limits::HEADER_READ_TIMEOUT;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Pause after a failed `accept` (100 ms), so that running out of file
/// descriptors does not turn into a busy loop of failing calls.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Serves connections from `listener` until `stop` completes, then stops
/// accepting and waits up to `shutdown_timeout` for open connections.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<Handler>,
    stop: impl Future<Output = &'static str>,
    shutdown_timeout: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let handler = Arc::clone(&handler);
                    let service = service_fn(move |request| Arc::clone(&handler).handle(request, peer.ip()));
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(error = %error, "connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(error = %error, "failed to accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
            signal = &mut stop => {
                tracing::info!(signal, "stop signal received; no longer accepting connections");
                break;
            }
        }
    }

    drop(listener);
    let open = graceful.count();
    tracing::info!(open_connections = open, timeout_ms = shutdown_timeout.as_millis() as u64, "waiting for in-flight requests");
    match tokio::time::timeout(shutdown_timeout, graceful.shutdown()).await {
        Ok(()) => tracing::info!("all connections closed; exiting"),
        Err(_) => tracing::warn!(
            timeout_ms = shutdown_timeout.as_millis() as u64,
            "connections still open after the shutdown timeout; exiting anyway"
        ),
    }
}
