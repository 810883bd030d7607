//! Code parameters (algorithm, digits, period, encoder) and their limits.

use std::fmt;

use crate::field_error::FieldError;

/// RFC 6238 defaults, also applied to records the original sharedmfa wrote
/// without these properties.
pub const DEFAULT_DIGITS: u8 = 6;
pub const DEFAULT_PERIOD: u64 = 30;

/// Minimum digits of a decimal code (RFC 4226 section 5.3).
pub const MIN_DIGITS: u8 = 6;
/// Most digits a decimal code may have. The dynamic truncation yields a
/// 31-bit value, and `totp-rs` 6 panics when asked for ten digits (its
/// modulus, 10^10, does not fit in a `u32`), so nine is the largest count it
/// computes.
pub const MAX_DIGITS: u8 = 9;
/// Steam Guard codes are always five characters from Steam's alphabet.
pub const STEAM_DIGITS: u8 = 5;

/// Maximum period, in seconds (one day). Longer periods are typos.
pub const MAX_PERIOD: u64 = 86_400;

/// The HMAC hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// Parses `SHA1`, `SHA256` or `SHA512` in any letter case, with or
    /// without a hyphen (`SHA-256`).
    pub fn parse(text: &str, field: &'static str) -> Result<Algorithm, FieldError> {
        match text.trim().to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Ok(Algorithm::Sha1),
            "SHA256" => Ok(Algorithm::Sha256),
            "SHA512" => Ok(Algorithm::Sha512),
            _ => Err(FieldError::invalid(
                field,
                format!("unsupported algorithm {:?}; use SHA1, SHA256 or SHA512", truncate(text)),
            )),
        }
    }

    /// Returns the name as otpauth URIs and this API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Encoding of the truncated HMAC value as code text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoder {
    /// Decimal digits (RFC 4226 / RFC 6238).
    #[default]
    Decimal,
    /// Steam Guard: five characters from Steam's 26-letter alphabet, SHA-1.
    Steam,
}

impl Encoder {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoder::Decimal => "decimal",
            Encoder::Steam => "steam",
        }
    }

    pub fn parse(text: &str, field: &'static str) -> Result<Encoder, FieldError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "decimal" => Ok(Encoder::Decimal),
            "steam" => Ok(Encoder::Steam),
            _ => Err(FieldError::invalid(field, format!("unknown encoder {:?}; use steam or leave it out", truncate(text)))),
        }
    }
}

/// Whether codes follow the clock (RFC 6238) or a counter (RFC 4226).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtpType {
    #[default]
    Totp,
    /// `counter` is the moving factor of the next code to hand out.
    Hotp { counter: u64 },
}

impl OtpType {
    /// Returns the name as otpauth URIs and this API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OtpType::Totp => "totp",
            OtpType::Hotp { .. } => "hotp",
        }
    }
}

/// Everything about a seed except the secret itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpParams {
    pub algorithm: Algorithm,
    pub digits: u8,
    /// Seconds each code is valid.
    pub period: u64,
    pub encoder: Encoder,
}

impl Default for OtpParams {
    fn default() -> Self {
        OtpParams { algorithm: Algorithm::Sha1, digits: DEFAULT_DIGITS, period: DEFAULT_PERIOD, encoder: Encoder::Decimal }
    }
}

impl OtpParams {
    /// Checks the combination: Steam is SHA-1 with five characters, decimal
    /// codes have 6-9 digits, and the period is 1 s to one day.
    pub fn validate(self) -> Result<OtpParams, FieldError> {
        if self.period == 0 || self.period > MAX_PERIOD {
            return Err(FieldError::invalid(
                "period",
                format!("period {} is out of range; use a number of seconds from 1 to {MAX_PERIOD} (usually 30)", self.period),
            ));
        }
        match self.encoder {
            Encoder::Steam => {
                if self.algorithm != Algorithm::Sha1 {
                    return Err(FieldError::invalid("algorithm", "Steam Guard codes use SHA1; remove the algorithm parameter"));
                }
                Ok(OtpParams { digits: STEAM_DIGITS, ..self })
            }
            Encoder::Decimal => {
                if !(MIN_DIGITS..=MAX_DIGITS).contains(&self.digits) {
                    return Err(FieldError::invalid(
                        "digits",
                        format!("digits {} is out of range; use {MIN_DIGITS} to {MAX_DIGITS} (usually 6)", self.digits),
                    ));
                }
                Ok(self)
            }
        }
    }
}

/// Parses a digits value given as text (URI parameter or table property).
pub fn parse_digits(text: &str) -> Result<u8, FieldError> {
    text.trim().parse::<u8>().map_err(|_| {
        FieldError::invalid("digits", format!("digits {:?} is not a number; use {MIN_DIGITS} to {MAX_DIGITS}", truncate(text)))
    })
}

/// Parses an HOTP counter given as text.
pub fn parse_counter(text: &str) -> Result<u64, FieldError> {
    text.trim().parse::<u64>().map_err(|_| {
        FieldError::invalid("counter", format!("counter {:?} is not a whole number from 0 to {}", truncate(text), u64::MAX))
    })
}

/// Parses a period value given as text.
pub fn parse_period(text: &str) -> Result<u64, FieldError> {
    text.trim().parse::<u64>().map_err(|_| {
        FieldError::invalid("period", format!("period {:?} is not a whole number of seconds; use 1 to {MAX_PERIOD}", truncate(text)))
    })
}

/// Shortens a user-supplied value before it is quoted in a message.
pub(crate) fn truncate(text: &str) -> String {
    const MAX_QUOTED_CHARS: usize = 40;
    if text.chars().count() <= MAX_QUOTED_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    format!("{head}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_parses_any_case_and_hyphen() {
        assert_eq!(Algorithm::parse("sha512", "algorithm").unwrap(), Algorithm::Sha512);
        assert_eq!(Algorithm::parse("SHA-256", "algorithm").unwrap(), Algorithm::Sha256);
        let err = Algorithm::parse("SHA3", "algorithm").unwrap_err();
        assert_eq!(err.message, "unsupported algorithm \"SHA3\"; use SHA1, SHA256 or SHA512");
    }

    #[test]
    fn params_limits_name_the_field() {
        let too_many = OtpParams { digits: 11, ..OtpParams::default() };
        let err = too_many.validate().unwrap_err();
        assert_eq!(err.field, "digits");
        assert_eq!(err.message, "digits 11 is out of range; use 6 to 9 (usually 6)");

        let zero_period = OtpParams { period: 0, ..OtpParams::default() };
        assert_eq!(zero_period.validate().unwrap_err().field, "period");
    }

    #[test]
    fn digits_limits_table() {
        let cases = [(5, false), (6, true), (7, true), (8, true), (9, true), (10, false), (0, false), (255, false)];
        for (digits, accepted) in cases {
            let result = OtpParams { digits, ..OtpParams::default() }.validate();
            assert_eq!(result.is_ok(), accepted, "digits {digits}");
            if let Err(error) = result {
                assert_eq!(error.field, "digits");
                assert!(error.message.starts_with(&format!("digits {digits} ")), "{}", error.message);
            }
        }
    }

    #[test]
    fn text_values_name_their_field() {
        assert_eq!(parse_digits("six").unwrap_err().field, "digits");
        assert_eq!(parse_period("-30").unwrap_err().field, "period");
        assert_eq!(parse_period("1.5").unwrap_err().field, "period");
        assert_eq!(parse_counter("7").unwrap(), 7);
        assert_eq!(parse_counter("-1").unwrap_err().field, "counter");
        assert_eq!(parse_counter("18446744073709551616").unwrap_err().field, "counter");
    }

    #[test]
    fn steam_forces_five_characters() {
        let steam = OtpParams { encoder: Encoder::Steam, ..OtpParams::default() }.validate().unwrap();
        assert_eq!(steam.digits, 5);
        let bad = OtpParams { encoder: Encoder::Steam, algorithm: Algorithm::Sha256, ..OtpParams::default() };
        assert_eq!(bad.validate().unwrap_err().field, "algorithm");
    }
}
