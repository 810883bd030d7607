//! TOTP seeds and their base32 text form (RFC 4648, as otpauth URIs carry it).

use std::fmt;

use crate::field_error::FieldError;

/// RFC 4226 section 4 asks for at least 128 bits. Shorter seeds (80 bits is
/// common on large sites, and some issue 48) still produce correct codes, so
/// they are accepted with a warning in the add response.
pub const RECOMMENDED_SEED_BYTES: usize = 16;

/// Seeds longer than this are rejected. SHA-512's block is 128 bytes; longer
/// HMAC keys are hashed first, so nothing legitimate goes beyond a few blocks.
pub const MAX_SEED_BYTES: usize = 1024;

/// The secret bytes of a seed. `Debug` and `Display` never show them.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(Vec<u8>);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed(<{} bytes redacted>)", self.0.len())
    }
}

impl Seed {
    pub fn from_bytes(bytes: Vec<u8>) -> Seed {
        Seed(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Parses base32 as people paste it: any letter case, with or without
    /// `=` padding, with spaces or hyphens between groups. Errors name the
    /// field `field` and describe the text by position, never by value.
    pub fn from_base32(text: &str, field: &'static str) -> Result<Seed, FieldError> {
        let mut normalized = String::with_capacity(text.len());
        for (position, c) in text.chars().enumerate() {
            match c {
                ' ' | '-' | '\t' => continue,
                'a'..='z' | 'A'..='Z' | '2'..='7' => normalized.push(c.to_ascii_uppercase()),
                '=' => continue,
                _ => {
                    return Err(FieldError::invalid(
                        field,
                        format!(
                            "character {} of the secret is not base32; use only the letters A-Z and the digits 2-7",
                            position + 1
                        ),
                    ));
                }
            }
        }
        if normalized.is_empty() {
            return Err(FieldError::missing(field, "the secret is empty; copy the base32 secret from the service's setup page"));
        }
        if text.trim_end_matches('=').contains('=') {
            return Err(FieldError::invalid(field, "'=' padding may only appear at the end of the secret"));
        }

        let bytes = totp_rs::Secret::try_from_base32(&normalized)
            .map_err(|_| FieldError::invalid(field, "the secret is not valid base32; check that it was copied whole"))?
            .as_bytes()
            .to_vec();

        if bytes.is_empty() {
            return Err(FieldError::invalid(field, "the secret is too short to hold one byte; copy the whole secret"));
        }
        if bytes.len() > MAX_SEED_BYTES {
            return Err(FieldError::invalid(
                field,
                format!("the secret decodes to {} bytes; at most {MAX_SEED_BYTES} are accepted", bytes.len()),
            ));
        }
        Ok(Seed(bytes))
    }

    /// Canonical base32: uppercase, no padding.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.clone()).to_base32()
    }

    /// True when the seed is shorter than RFC 4226 recommends.
    pub fn is_short(&self) -> bool {
        self.0.len() < RECOMMENDED_SEED_BYTES
    }

    /// Returns advice about the seed that does not stop it from being added.
    pub fn warnings(&self) -> Vec<String> {
        if !self.is_short() {
            return Vec::new();
        }
        vec![format!(
            "the secret is {} bits long; RFC 4226 recommends at least 128 bits, but the codes are still correct",
            self.0.len() * 8
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_accepts_pasted_forms() {
        let canonical = Seed::from_base32("JBSWY3DPEHPK3PXP", "secret").unwrap();
        for text in ["jbswy3dpehpk3pxp", "JBSW Y3DP EHPK 3PXP", "jbsw-y3dp-ehpk-3pxp", "JBSWY3DPEHPK3PXP===="] {
            assert_eq!(Seed::from_base32(text, "secret").unwrap(), canonical, "{text}");
        }
        assert_eq!(canonical.to_base32(), "JBSWY3DPEHPK3PXP");
        assert_eq!(canonical.as_bytes(), b"Hello!\xde\xad\xbe\xef");
    }

    #[test]
    fn base32_rejects_bad_characters_by_position() {
        let err = Seed::from_base32("JBSWY3DPEHPK3PX1", "secret").unwrap_err();
        assert_eq!(err.field, "secret");
        assert_eq!(
            err.message,
            "character 16 of the secret is not base32; use only the letters A-Z and the digits 2-7"
        );
        assert!(!err.message.contains("JBSW"));
    }

    #[test]
    fn base32_rejects_empty_and_misplaced_padding() {
        assert_eq!(Seed::from_base32("", "secret").unwrap_err().kind, crate::field_error::FieldErrorKind::Missing);
        assert_eq!(Seed::from_base32("===", "secret").unwrap_err().kind, crate::field_error::FieldErrorKind::Missing);
        let err = Seed::from_base32("J", "secret").unwrap_err();
        assert_eq!(err.message, "the secret is too short to hold one byte; copy the whole secret");
        let err = Seed::from_base32("JBSW==Y3DPEHPK3PXP", "secret").unwrap_err();
        assert_eq!(err.message, "'=' padding may only appear at the end of the secret");
    }

    #[test]
    fn seed_debug_is_redacted() {
        let seed = Seed::from_base32("JBSWY3DPEHPK3PXP", "secret").unwrap();
        assert_eq!(format!("{seed:?}"), "Seed(<10 bytes redacted>)");
        assert!(seed.is_short());
    }
}
