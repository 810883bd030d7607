//! Command-line flags, each also settable through an environment variable,
//! and the choice of listen address.

use crate::limits::{self, Limits};
use crate::logging::LogFormat;
use clap::Parser;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Environment variable through which Azure Functions passes the port that
/// a custom handler must listen on, on the loopback interface.
pub const FUNCTIONS_PORT_VAR: &str = "FUNCTIONS_CUSTOMHANDLER_PORT";

/// Serves the sharedmfa WebAssembly component over HTTP/1.1, standalone or
/// as an Azure Functions custom handler.
#[derive(Parser, Debug)]
#[command(name = "sharedmfa-host", version)]
pub struct Args {
    /// Address (IP:PORT) to listen on, unless FUNCTIONS_CUSTOMHANDLER_PORT is set
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7071")]
    pub listen: SocketAddr,

    /// Component file (.wasm) to serve
    #[arg(long, value_name = "PATH", env = "SHAREDMFA_COMPONENT", default_value = "sharedmfa.wasm")]
    pub component: PathBuf,

    /// Precompiled component written by --write-precompiled of this same binary, served
    /// instead of compiling --component. When wasmtime rejects it (another build or CPU) or it
    /// is missing, the host logs a warning and compiles --component
    #[arg(long, value_name = "PATH", env = "SHAREDMFA_PRECOMPILED")]
    pub precompiled: Option<PathBuf>,

    /// Compile --component ahead of time, write the result to PATH for --precompiled, and exit
    /// without serving
    #[arg(long, value_name = "PATH", conflicts_with = "precompiled")]
    pub write_precompiled: Option<PathBuf>,

    /// PEM file of CA certificates trusted for outbound TLS in addition to the webpki roots
    #[arg(long, value_name = "PATH", env = "SHAREDMFA_EXTRA_CA_FILE")]
    pub extra_ca_file: Option<PathBuf>,

    /// Log line format
    #[arg(long, value_enum, value_name = "FORMAT", env = "SHAREDMFA_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Maximum request body size, in bytes or with a unit (KiB, MiB, GiB). Larger bodies get 413
    #[arg(long, value_name = "SIZE", env = "SHAREDMFA_MAX_BODY_BYTES", default_value_t = limits::DEFAULT_MAX_BODY_BYTES, value_parser = limits::parse_byte_size)]
    pub max_body_bytes: u64,

    /// Time limit per request, in ms, s or m (a bare number is seconds). After it the host responds with 504
    #[arg(long, value_name = "DURATION", env = "SHAREDMFA_REQUEST_TIMEOUT", default_value_t = FlagDuration(limits::DEFAULT_REQUEST_TIMEOUT), value_parser = parse_flag_duration)]
    pub request_timeout: FlagDuration,

    /// Maximum linear memory of one guest instance, in bytes or with a unit (KiB, MiB, GiB)
    #[arg(long, value_name = "SIZE", env = "SHAREDMFA_MAX_MEMORY", default_value_t = limits::DEFAULT_MAX_MEMORY_BYTES, value_parser = limits::parse_memory_size)]
    pub max_memory: u64,

    /// Maximum number of requests running the guest at once. Others wait, then get 503
    #[arg(long, value_name = "COUNT", env = "SHAREDMFA_MAX_CONCURRENT_REQUESTS", default_value_t = limits::DEFAULT_MAX_CONCURRENT_REQUESTS, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_concurrent_requests: u32,

    /// Time that shutdown waits for in-flight requests (ms, s or m)
    #[arg(long, value_name = "DURATION", env = "SHAREDMFA_SHUTDOWN_TIMEOUT", default_value_t = FlagDuration(limits::DEFAULT_SHUTDOWN_TIMEOUT), value_parser = parse_flag_duration)]
    pub shutdown_timeout: FlagDuration,
}

/// A duration flag value, shown in help as `30s` or `500ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagDuration(pub Duration);

impl std::fmt::Display for FlagDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let millis = self.0.as_millis();
        if millis % 1000 == 0 {
            write!(f, "{}s", millis / 1000)
        } else {
            write!(f, "{millis}ms")
        }
    }
}

fn parse_flag_duration(text: &str) -> Result<FlagDuration, String> {
    limits::parse_duration(text).map(FlagDuration)
}

impl Args {
    /// Returns the limits that the flags select.
    pub fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            request_timeout: self.request_timeout.0,
            max_memory_bytes: self.max_memory,
            max_concurrent_requests: self.max_concurrent_requests,
            shutdown_timeout: self.shutdown_timeout.0,
        }
    }

    /// Chooses the listen address: loopback on the Functions port when
    /// `functions_port` (the value of FUNCTIONS_CUSTOMHANDLER_PORT) is set,
    /// otherwise `--listen`.
    pub fn listen_addr(&self, functions_port: Option<&str>) -> Result<SocketAddr, String> {
        let Some(port) = functions_port else {
            return Ok(self.listen);
        };
        let port: u16 = port.trim().parse().map_err(|_| {
            format!("invalid {FUNCTIONS_PORT_VAR} {port:?}: expected a port number from 0 to 65535")
        })?;
        Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Args {
        let argv = std::iter::once("sharedmfa-host").chain(flags.iter().copied());
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn defaults_match_limit_constants() {
        let limits = parse(&[]).limits();
        assert_eq!(limits.max_body_bytes, limits::DEFAULT_MAX_BODY_BYTES);
        assert_eq!(limits.request_timeout, limits::DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(limits.max_memory_bytes, limits::DEFAULT_MAX_MEMORY_BYTES);
        assert_eq!(limits.max_concurrent_requests, limits::DEFAULT_MAX_CONCURRENT_REQUESTS);
        assert_eq!(limits.shutdown_timeout, limits::DEFAULT_SHUTDOWN_TIMEOUT);
    }

    #[test]
    fn flags_override_limits() {
        let limits = parse(&[
            "--max-body-bytes",
            "2KiB",
            "--request-timeout",
            "1500ms",
            "--max-memory",
            "32MiB",
            "--max-concurrent-requests",
            "2",
        ])
        .limits();
        assert_eq!(limits.max_body_bytes, 2048);
        assert_eq!(limits.request_timeout, Duration::from_millis(1500));
        assert_eq!(limits.max_memory_bytes, 32 * 1024 * 1024);
        assert_eq!(limits.max_concurrent_requests, 2);
    }

    #[test]
    fn flag_duration_displays_in_flag_syntax() {
        assert_eq!(FlagDuration(Duration::from_secs(30)).to_string(), "30s");
        assert_eq!(FlagDuration(Duration::from_millis(1500)).to_string(), "1500ms");
    }

    #[test]
    fn zero_concurrency_rejected() {
        let argv = ["sharedmfa-host", "--max-concurrent-requests", "0"];
        assert!(Args::try_parse_from(argv).is_err());
    }

    #[test]
    fn functions_port_overrides_listen() {
        let args = parse(&["--listen", "0.0.0.0:8080"]);
        assert_eq!(args.listen_addr(None), Ok("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(args.listen_addr(Some("40123")), Ok("127.0.0.1:40123".parse().unwrap()));
        assert_eq!(
            args.listen_addr(Some("http")),
            Err("invalid FUNCTIONS_CUSTOMHANDLER_PORT \"http\": expected a port number from 0 to 65535".to_owned())
        );
    }
}
