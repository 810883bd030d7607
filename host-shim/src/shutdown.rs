//! The signals that stop the server.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Handlers for SIGTERM (sent by Azure Functions and container runtimes)
/// and SIGINT (Ctrl-C), installed before the port is bound.
pub struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    /// Installs the handlers. Fails when the OS rejects one of them.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the first stop signal and returns its name.
    pub async fn wait(mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}
