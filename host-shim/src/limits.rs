//! Resource limits for serving the component, their defaults, and the
//! parsers for the `--max-*` and `--request-timeout` flag values.

use std::time::Duration;

/// Default maximum request body, in bytes (1 MiB).
///
/// The API exchanges small JSON documents, so 1 MiB leaves ample headroom
/// while keeping the worst case of one buffered body per concurrent request
/// at 64 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Default per-request time limit (30 s).
///
/// It covers reading the request body, waiting for a free slot and running
/// the guest. Each request makes a few calls to Table Storage and Key Vault,
/// which normally take well under a second each (an estimate). Azure's load
/// balancer drops an HTTP-triggered function's response after 230 s (Azure
/// Functions docs, "Function app timeout duration"), and 30 s stays well below.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default maximum linear memory of one guest instance, in bytes (64 MiB).
///
/// A request handler that parses JSON and signs a few requests needs a few
/// MiB (an estimate), and the cap stops one request from taking the host's
/// memory.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 64 * 1024 * 1024;

/// Default maximum number of requests that run the guest at the same time.
///
/// This also sizes the pooling allocator, so it bounds the host's memory at
/// about this many times the per-instance memory limit.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: u32 = 64;

/// Default time that shutdown waits for in-flight requests (10 s).
///
/// Azure Functions stops a worker soon after sending SIGTERM, so in-flight
/// requests get a short, bounded time to finish.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Upper bound for `--max-memory`, in bytes (4 GiB).
///
/// A 32-bit linear memory cannot address more.
pub const MAX_MEMORY_CEILING: u64 = 4 * 1024 * 1024 * 1024;

/// Interval between epoch ticks (100 ms).
///
/// Running guest code checks its deadline, and yields to other requests, once
/// per tick, so this is the granularity of the time limit.
pub const EPOCH_TICK: Duration = Duration::from_millis(100);

/// Time allowed for a client to send the request line and headers (30 s).
///
/// Slow clients that never finish their headers would otherwise hold a
/// connection open without bound.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Limits applied to every request, after the flags have been parsed.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum request body, in bytes.
    pub max_body_bytes: u64,
    /// Time limit for one request, from arrival to the guest's response.
    pub request_timeout: Duration,
    /// Maximum linear memory of one guest instance, in bytes.
    pub max_memory_bytes: u64,
    /// Maximum number of requests running the guest at once.
    pub max_concurrent_requests: u32,
    /// Time that shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
}

/// Parses a byte size such as `1048576`, `512KiB`, `1MiB` or `2GiB`.
///
/// Suffixes are binary (`KiB` is 1024 bytes), case-insensitive, and `B` is
/// accepted for plain bytes.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, suffix) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(format!(
            "invalid size {text:?}: expected a number of bytes such as 1048576 or 1MiB"
        ));
    }

    let multiplier: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1024,
        "mib" => 1024 * 1024,
        "gib" => 1024 * 1024 * 1024,
        _ => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {suffix:?}; use B, KiB, MiB or GiB"
            ));
        }
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("invalid size {text:?}: number is too large"))?;
    let bytes = value
        .checked_mul(multiplier)
        .ok_or_else(|| format!("invalid size {text:?}: number is too large"))?;
    if bytes == 0 {
        return Err(format!("invalid size {text:?}: must be greater than zero"));
    }
    Ok(bytes)
}

/// Parses a duration such as `30s`, `500ms` or `2m`. A bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, suffix) = trimmed.split_at(digits_end);
    if digits.is_empty() {
        return Err(format!(
            "invalid duration {text:?}: expected a number with a unit such as 30s or 500ms"
        ));
    }

    let value: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: number is too large"))?;
    let duration = match suffix.trim().to_ascii_lowercase().as_str() {
        "ms" => Duration::from_millis(value),
        "" | "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {suffix:?}; use ms, s or m"
            ));
        }
    };
    if duration.is_zero() {
        return Err(format!(
            "invalid duration {text:?}: must be greater than zero"
        ));
    }
    Ok(duration)
}

/// Parses the `--max-memory` value and checks it against [`MAX_MEMORY_CEILING`].
pub fn parse_memory_size(text: &str) -> Result<u64, String> {
    let bytes = parse_byte_size(text)?;
    if bytes > MAX_MEMORY_CEILING {
        return Err(format!(
            "invalid memory limit {text:?}: must be at most 4GiB, the most a 32-bit guest can address"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_size_accepts_plain_and_binary_units() {
        assert_eq!(parse_byte_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_byte_size("10B"), Ok(10));
        assert_eq!(parse_byte_size("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_byte_size("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_byte_size("64mib"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_byte_size("2GiB"), Ok(2 * 1024 * 1024 * 1024));
    }

    #[test]
    fn byte_size_rejects_bad_input() {
        assert!(parse_byte_size("").is_err());
        assert!(parse_byte_size("MiB").is_err());
        assert!(parse_byte_size("0").is_err());
        assert!(parse_byte_size("-1").is_err());
        assert!(parse_byte_size("1MB").is_err());
        assert!(parse_byte_size("99999999999999999999").is_err());
        assert!(parse_byte_size("99999999999GiB").is_err());
    }

    #[test]
    fn byte_size_error_names_value_and_units() {
        let message = parse_byte_size("1MB").unwrap_err();
        assert_eq!(
            message,
            "invalid size \"1MB\": unknown unit \"MB\"; use B, KiB, MiB or GiB"
        );
    }

    #[test]
    fn duration_accepts_units() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn duration_rejects_bad_input() {
        assert!(parse_duration("").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1.5s").is_err());
    }

    #[test]
    fn memory_size_capped_at_four_gib() {
        assert_eq!(parse_memory_size("4GiB"), Ok(MAX_MEMORY_CEILING));
        assert!(parse_memory_size("5GiB").is_err());
    }

    #[test]
    fn defaults_match_documented_values() {
        assert_eq!(parse_byte_size("1MiB"), Ok(DEFAULT_MAX_BODY_BYTES));
        assert_eq!(parse_memory_size("64MiB"), Ok(DEFAULT_MAX_MEMORY_BYTES));
        assert_eq!(parse_duration("30s"), Ok(DEFAULT_REQUEST_TIMEOUT));
        assert_eq!(parse_duration("10s"), Ok(DEFAULT_SHUTDOWN_TIMEOUT));
    }
}
