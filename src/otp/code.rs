//! Code generation. The HMAC and the dynamic truncation are `totp-rs`'s;
//! this module picks its parameters and works out the validity window.
//! Every function takes the time as an argument so tests can pin it.

use totp_rs::{Builder, Totp};

use super::params::{Algorithm, Encoder, OtpParams};
use super::seed::Seed;

/// The code valid at one instant and the window it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeWindow {
    pub code: String,
    /// Unix time in seconds at which the window opened.
    pub starts_at: u64,
    /// Unix time in seconds at which the next code takes over.
    pub ends_at: u64,
}

impl CodeWindow {
    /// Milliseconds from `now_millis` (Unix time) until the window closes.
    pub fn millis_left(&self, now_millis: u64) -> u64 {
        (self.ends_at * 1000).saturating_sub(now_millis)
    }
}

/// Returns the code for Unix time `unix_seconds`.
pub fn code_at(seed: &Seed, params: OtpParams, unix_seconds: u64) -> String {
    totp_for(seed, params).generate(unix_seconds).to_string()
}

/// Returns the HOTP code (RFC 4226) for `counter`.
///
/// `totp-rs` has no HOTP type, but a TOTP code is the HOTP code of the
/// counter `time / period`. With a period of one second the time is the
/// counter itself, so the HMAC and truncation stay `totp-rs`'s.
pub fn hotp_code(seed: &Seed, params: OtpParams, counter: u64) -> String {
    let one_second_steps = OtpParams { period: 1, ..params };
    totp_for(seed, one_second_steps).generate(counter).to_string()
}

/// Returns the code valid at `unix_seconds` with its window.
pub fn window_at(seed: &Seed, params: OtpParams, unix_seconds: u64) -> CodeWindow {
    let totp = totp_for(seed, params);
    let ends_at = totp.next_step(unix_seconds);
    CodeWindow {
        code: totp.generate(unix_seconds).to_string(),
        starts_at: ends_at - params.period,
        ends_at,
    }
}

fn totp_for(seed: &Seed, params: OtpParams) -> Totp {
    let algorithm = match (params.encoder, params.algorithm) {
        (Encoder::Steam, _) => totp_rs::Algorithm::Steam,
        (Encoder::Decimal, Algorithm::Sha1) => totp_rs::Algorithm::SHA1,
        (Encoder::Decimal, Algorithm::Sha256) => totp_rs::Algorithm::SHA256,
        (Encoder::Decimal, Algorithm::Sha512) => totp_rs::Algorithm::SHA512,
    };
    // The checked `build()` rejects seeds under 128 bits and 9-digit codes,
    // both of which real services issue. `OtpParams::validate` has already
    // enforced the limits that keep `generate` from panicking (digits 5-9,
    // a non-zero period).
    Builder::new()
        .with_algorithm(algorithm)
        .with_digits(params.digits)
        .with_step_duration(params.period)
        .with_secret(seed.as_bytes().to_vec())
        .build_noncompliant()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(text: &str) -> Seed {
        Seed::from_base32(text, "secret").unwrap()
    }

    #[test]
    fn window_bounds_follow_the_period() {
        let params = OtpParams { period: 60, ..OtpParams::default() };
        let window = window_at(&seed("JBSWY3DPEHPK3PXP"), params, 1_700_000_015);
        assert_eq!(window.starts_at, 1_699_999_980);
        assert_eq!(window.ends_at, 1_700_000_040);
        assert_eq!(window.millis_left(1_700_000_015_250), 24_750);
        assert_eq!(window.code.len(), 6);
    }

    #[test]
    fn next_window_starts_where_current_ends() {
        let seed = seed("JBSWY3DPEHPK3PXP");
        let params = OtpParams::default();
        let current = window_at(&seed, params, 1_700_000_015);
        let next = window_at(&seed, params, current.ends_at);
        assert_eq!(next.starts_at, current.ends_at);
        assert_eq!(next.code, code_at(&seed, params, 1_700_000_040));
    }

    #[test]
    fn hotp_matches_rfc4226_appendix_d() {
        // RFC 4226 appendix D: secret "12345678901234567890", SHA1, 6 digits.
        let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        let seed = seed("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp_code(&seed, OtpParams { period: 30, ..OtpParams::default() }, counter as u64), *code, "counter {counter}");
        }
    }

    #[test]
    fn hotp_ignores_the_stored_period() {
        let seed = seed("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let with_sixty = OtpParams { period: 60, ..OtpParams::default() };
        assert_eq!(hotp_code(&seed, with_sixty, 9), "520489");
        assert_eq!(hotp_code(&seed, with_sixty, u64::MAX).len(), 6);
    }

    #[test]
    fn codes_keep_leading_zeros() {
        // From RFC 6238 appendix B: SHA1, 8 digits, T = 1111111109.
        let params = OtpParams { digits: 8, ..OtpParams::default() };
        assert_eq!(code_at(&seed("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), params, 1_111_111_109), "07081804");
    }
}
