//! `sharedmfa-host`: a native host that serves the sharedmfa WebAssembly
//! component (a `wasi:http/incoming-handler@0.2.0` export) over HTTP/1.1,
//! standalone or as an Azure Functions custom handler.
//!
//! Modules:
//! - [`cli`]: flags, their environment variables, and the listen address.
//! - [`limits`]: limit constants and the parsers for their flag values.
//! - [`logging`]: the `tracing` subscriber and its `SHAREDMFA_LOG` filter.
//! - [`guest`]: engine, pre-instantiated component, per-request store state.
//! - [`handler`]: one request, from limit checks to the guest's response.
//! - [`request_log`]: the request id and the per-request log line.
//! - [`response`]: the host's own error responses and their status codes.
//! - [`server`]: the accept loop and graceful shutdown.
//! - [`shutdown`]: the SIGTERM and SIGINT handlers.
//! - [`outbound`]: the `send_request` hook with the origin allow-list.
//! - [`origin`]: origin normalization and the allow-list type.
//! - [`connector`]: TCP and TLS connections for the outbound client.
//! - [`tls`]: the rustls configuration and the extra CA file.

mod cli;
mod connector;
mod guest;
mod handler;
mod limits;
mod logging;
mod origin;
mod outbound;
mod request_log;
mod response;
mod server;
mod shutdown;
mod tls;

use anyhow::{Context, anyhow};
use clap::Parser;
use cli::{Args, FUNCTIONS_PORT_VAR};
use guest::Guest;
use handler::Handler;
use http::HeaderValue;
use origin::AllowList;
use outbound::OutboundPolicy;
use sharedmfa::config::{Config, GUEST_ENV_VARS};
use shutdown::StopSignals;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Time the runtime waits for blocking tasks, such as a DNS lookup, once
/// the server has stopped (1 s).
const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let args = Args::parse();

    let filter_text = std::env::var(logging::LOG_FILTER_VAR).ok();
    let filter = match logging::build_filter(filter_text.as_deref()) {
        Ok(filter) => filter,
        Err(message) => {
            eprintln!("sharedmfa-host: {message}");
            return ExitCode::FAILURE;
        }
    };
    logging::init(args.log_format, filter);

    if let Some(output) = &args.write_precompiled {
        return write_precompiled(&args, output);
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(error = %error, "failed to start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Some wasmtime errors span several lines, but a start-up failure
            // is reported as one line.
            let message = format!("{error:#}");
            let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            tracing::error!("start-up failed: {one_line}");
            ExitCode::FAILURE
        }
    }
}

/// Validates the configuration, loads the component, binds the port and
/// serves until a stop signal.
async fn run(args: Args) -> anyhow::Result<()> {
    let limits = args.limits();

    let functions_port = std::env::var(FUNCTIONS_PORT_VAR)
        .ok()
        .filter(|value| !value.trim().is_empty());
    let listen_addr = args
        .listen_addr(functions_port.as_deref())
        .map_err(|message| anyhow!(message))?;

    // The component reads the same settings. Checking them here turns a
    // misconfiguration into one line at start-up instead of a 500 per request.
    let config = Config::from_env_lookup(|name| std::env::var(name).ok())
        .map_err(|error| anyhow!("{error}"))?;
    let allow_list = AllowList::from_entries(config.outbound_origins())
        .map_err(|message| anyhow!(message))?;
    let tls_config = tls::client_config(args.extra_ca_file.as_deref())?;
    let outbound = Arc::new(OutboundPolicy::new(allow_list, tls_config));

    let guest = Guest::load(
        &args.component,
        args.precompiled.as_deref(),
        &limits,
        Arc::clone(&outbound),
        guest_env(),
    )?;
    guest.start_epoch_ticker()?;
    let signals = StopSignals::install().context("failed to install signal handlers")?;

    let listener = tokio::net::TcpListener::bind(listen_addr)
        .await
        .with_context(|| format!("failed to listen on {listen_addr}"))?;
    let bound_addr = listener.local_addr().context("failed to read the bound address")?;
    let fallback_host = HeaderValue::from_str(&bound_addr.to_string())
        .context("bound address is not a valid Host header")?;

    tracing::info!(
        listen = %bound_addr,
        component = %args.component.display(),
        max_body_bytes = limits.max_body_bytes,
        request_timeout_ms = limits.request_timeout.as_millis() as u64,
        max_memory_bytes = limits.max_memory_bytes,
        max_concurrent_requests = limits.max_concurrent_requests,
        allowed_origins = outbound.allowed_origin_count(),
        extra_ca_file = args.extra_ca_file.is_some(),
        "listening on http://{bound_addr}"
    );

    let handler = Arc::new(Handler::new(guest, limits, fallback_host));
    server::serve(listener, handler, signals.wait(), limits.shutdown_timeout).await;
    Ok(())
}

/// Writes the precompiled component for `--precompiled` and reports the
/// outcome as the process's exit code.
fn write_precompiled(args: &Args, output: &std::path::Path) -> ExitCode {
    match guest::write_precompiled(&args.component, &args.limits(), output) {
        Ok(()) => {
            tracing::info!(component = %args.component.display(), output = %output.display(), "wrote the precompiled component");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("precompiling failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Collects, from the host environment, the variables the guest may read
/// and nothing else. Unset variables are left out.
fn guest_env() -> Vec<(String, String)> {
    GUEST_ENV_VARS
        .iter()
        .filter_map(|name| {
            let value = std::env::var(name).ok()?;
            Some(((*name).to_owned(), value))
        })
        .collect()
}
