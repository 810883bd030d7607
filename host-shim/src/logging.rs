//! Log set-up: `tracing` events to stderr as text or JSON lines, filtered by
//! the `SHAREDMFA_LOG` environment variable.

use clap::ValueEnum;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Directive;

/// Environment variable with the log filter, in `RUST_LOG` syntax.
pub const LOG_FILTER_VAR: &str = "SHAREDMFA_LOG";

/// Filter used when `SHAREDMFA_LOG` is unset.
const DEFAULT_FILTER: &str = "info";

/// Crates whose generated `wasi:*` bindings log every call's arguments and
/// results at trace level. Those include the incoming request's path and
/// query, which can carry the Functions key, so they are capped at debug
/// unless the filter names them explicitly.
const BINDING_CRATES: &[&str] = &["wasmtime_wasi_http", "wasmtime_wasi", "wasmtime_wasi_io"];

/// Format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable text, one event per line.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Builds the event filter from the text of `SHAREDMFA_LOG`, or the default.
pub fn build_filter(filter_text: Option<&str>) -> Result<EnvFilter, String> {
    let text = filter_text.unwrap_or(DEFAULT_FILTER);
    let mut filter = EnvFilter::try_new(text)
        .map_err(|error| format!("invalid {LOG_FILTER_VAR} filter {text:?}: {error}"))?;

    for crate_name in BINDING_CRATES {
        if names_target(text, crate_name) {
            continue;
        }
        let directive: Directive = format!("{crate_name}=debug")
            .parse()
            .expect("static directive parses");
        filter = filter.add_directive(directive);
    }
    Ok(filter)
}

/// Returns true when a directive in `filter_text` is for exactly `target`.
fn names_target(filter_text: &str, target: &str) -> bool {
    filter_text.split(',').any(|directive| {
        let directive_target = directive.split(['=', '[']).next().unwrap_or("");
        directive_target.trim() == target
    })
}

/// Installs the global subscriber that writes to stderr.
pub fn init(format: LogFormat, filter: EnvFilter) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_filter_is_info() {
        let filter = build_filter(None).unwrap();
        assert!(filter.to_string().contains("info"), "{filter}");
    }

    #[test]
    fn binding_crates_capped_at_debug() {
        let filter = build_filter(Some("trace")).unwrap().to_string();
        assert!(filter.contains("wasmtime_wasi_http=debug"), "{filter}");
        assert!(filter.contains("wasmtime_wasi=debug"), "{filter}");
    }

    #[test]
    fn explicit_binding_directive_kept() {
        let filter = build_filter(Some("info,wasmtime_wasi_http=trace")).unwrap().to_string();
        assert!(filter.contains("wasmtime_wasi_http=trace"), "{filter}");
        assert!(!filter.contains("wasmtime_wasi_http=debug"), "{filter}");
        assert!(filter.contains("wasmtime_wasi=debug"), "{filter}");
    }

    #[test]
    fn invalid_filter_is_rejected() {
        let error = build_filter(Some("info,=[")).unwrap_err();
        assert!(error.starts_with("invalid SHAREDMFA_LOG filter"), "{error}");
    }
}
