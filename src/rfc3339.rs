//! RFC 3339 timestamps in UTC with whole seconds, as the API and the
//! tables store them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats a time as RFC 3339 in UTC with whole seconds.
pub fn format(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let time = OffsetDateTime::from_unix_timestamp(seconds as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    time.format(&Rfc3339).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp with any offset; times before 1970 are
/// rejected because nothing here stores them.
pub fn parse(text: &str) -> Option<SystemTime> {
    let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    let seconds = u64::try_from(parsed.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_nanos(u64::from(parsed.nanosecond())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_utc_whole_seconds() {
        assert_eq!(format(UNIX_EPOCH + Duration::from_millis(1_796_416_200_900)), "2026-12-04T20:30:00Z");
    }

    #[test]
    fn parse_accepts_offsets() {
        let expected = UNIX_EPOCH + Duration::from_secs(1_796_416_200);
        assert_eq!(parse("2026-12-04T20:30:00Z"), Some(expected));
        assert_eq!(parse("2026-12-04T21:30:00+01:00"), Some(expected));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("1969-12-31T23:59:59Z"), None);
    }
}
