//! Parser for `otpauth://` URIs (Google Authenticator's Key URI format).
//!
//! Parsed by hand rather than with a URL parser because real-world labels
//! break URL syntax: account names contain `#`, which a URL parser would
//! take as the start of a fragment, and `+` stands for a space.

use percent_encoding::percent_decode_str;

use super::params::{self, Algorithm, Encoder, OtpParams, truncate};
use super::seed::Seed;
use crate::field_error::FieldError;

/// A seed and everything the URI said about it.
#[derive(Debug, Clone)]
pub struct ParsedUri {
    pub seed: Seed,
    pub issuer: Option<String>,
    pub account: String,
    pub params: OtpParams,
    /// Advice for the caller that did not stop the import.
    pub warnings: Vec<String>,
}

const SCHEME: &str = "otpauth://";

/// Parses an otpauth URI. Errors name the field at fault (`uri`, `type`,
/// `secret`, `algorithm`, `digits`, `period`) and never quote the secret.
pub fn parse_otpauth_uri(text: &str) -> Result<ParsedUri, FieldError> {
    let text = text.trim();
    let Some(rest) = strip_prefix_ignore_case(text, SCHEME) else {
        if strip_prefix_ignore_case(text, "otpauth-migration://").is_some() {
            return Err(FieldError::invalid(
                "uri",
                "Google Authenticator export URIs (otpauth-migration://) are not supported; export the accounts one by one as otpauth:// URIs",
            ));
        }
        return Err(FieldError::invalid("uri", "the URI must start with otpauth://, e.g. otpauth://totp/Issuer:account?secret=..."));
    };

    let Some((otp_type, label_and_query)) = rest.split_once('/') else {
        return Err(FieldError::invalid("uri", "the URI has no label; expected otpauth://totp/Issuer:account?secret=..."));
    };
    let encoder = match otp_type.to_ascii_lowercase().as_str() {
        "totp" => Encoder::Decimal,
        "steam" => Encoder::Steam,
        "hotp" => {
            return Err(FieldError::invalid("type", "counter-based (hotp) seeds are not supported; only totp seeds can be added"));
        }
        other => {
            return Err(FieldError::invalid("type", format!("unknown OTP type {:?}; use totp", truncate(other))));
        }
    };

    let (raw_label, raw_query) = label_and_query.split_once('?').unwrap_or((label_and_query, ""));
    let label = decode_component(raw_label, "uri")?;
    let (label_issuer, account) = split_label(&label);

    let query = parse_query(raw_query)?;
    let secret = query.get("secret").ok_or_else(|| {
        FieldError::missing("secret", "the URI has no secret parameter; copy the full URI or enter the secret by hand")
    })?;
    let seed = Seed::from_base32(secret, "secret")?;

    let issuer = query.get("issuer").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).or(label_issuer);

    let mut otp = OtpParams { encoder, ..OtpParams::default() };
    if let Some(value) = query.get("algorithm") {
        otp.algorithm = Algorithm::parse(value, "algorithm")?;
    }
    if let Some(value) = query.get("digits") {
        otp.digits = params::parse_digits(value)?;
    }
    if let Some(value) = query.get("period") {
        otp.period = params::parse_period(value)?;
    }
    if let Some(value) = query.get("encoder") {
        if Encoder::parse(value, "encoder")? == Encoder::Steam {
            otp.encoder = Encoder::Steam;
        }
    }
    // Steam's own app exports seeds as plain totp URIs with issuer Steam and
    // no digits; codes only match with Steam's encoding.
    let steam_issuer = issuer.as_deref().is_some_and(|i| i.eq_ignore_ascii_case("steam"));
    if steam_issuer && query.get("digits").is_none() && query.get("algorithm").is_none() {
        otp.encoder = Encoder::Steam;
    }
    let params = otp.validate()?;

    let mut warnings = Vec::new();
    if seed.is_short() {
        warnings.push(format!(
            "the secret is {} bits long; RFC 4226 recommends at least 128 bits, but the codes are still correct",
            seed.as_bytes().len() * 8
        ));
    }

    Ok(ParsedUri { seed, issuer, account, params, warnings })
}

/// Splits `Issuer:account` at the first colon; `account` alone has no issuer.
fn split_label(label: &str) -> (Option<String>, String) {
    match label.split_once(':') {
        Some((issuer, account)) => {
            let issuer = issuer.trim();
            let issuer = (!issuer.is_empty()).then(|| issuer.to_string());
            (issuer, account.trim().to_string())
        }
        None => (None, label.trim().to_string()),
    }
}

/// Query parameters by lowercase name. The first occurrence wins.
struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn parse_query(raw: &str) -> Result<Query, FieldError> {
    let mut pairs = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let name = decode_component(name, "uri")?.to_ascii_lowercase();
        let field = if name == "secret" { "secret" } else { "uri" };
        let value = decode_component(value, field)?;
        if !pairs.iter().any(|(k, _): &(String, String)| *k == name) {
            pairs.push((name, value));
        }
    }
    Ok(Query(pairs))
}

/// Decodes `+` as a space and percent-escapes as UTF-8.
fn decode_component(raw: &str, field: &'static str) -> Result<String, FieldError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FieldError::invalid(field, "the URI contains percent-escapes that are not valid UTF-8"))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_with_hash_and_extra_colons() {
        let parsed = parse_otpauth_uri("otpauth://totp/Corp:ops#2:eu?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(parsed.issuer.as_deref(), Some("Corp"));
        assert_eq!(parsed.account, "ops#2:eu");
    }

    #[test]
    fn plus_is_a_space_and_utf8_decodes() {
        let parsed =
            parse_otpauth_uri("otpauth://totp/%E6%97%A5%E6%9C%AC+Bank:taro?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(parsed.issuer.as_deref(), Some("日本 Bank"));
        assert_eq!(parsed.account, "taro");
    }

    #[test]
    fn scheme_and_type_in_any_case() {
        let parsed = parse_otpauth_uri("OTPAUTH://TOTP/A:b?SECRET=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(parsed.account, "b");
    }

    #[test]
    fn issuer_named_steam_uses_steam_codes() {
        let parsed = parse_otpauth_uri("otpauth://totp/Steam:gabe?secret=JBSWY3DPEHPK3PXP&issuer=Steam").unwrap();
        assert_eq!(parsed.params.encoder, Encoder::Steam);
        assert_eq!(parsed.params.digits, 5);
    }

    #[test]
    fn short_secret_warns() {
        let parsed = parse_otpauth_uri("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].starts_with("the secret is 80 bits long"));
    }

    #[test]
    fn errors_never_quote_the_secret() {
        let err = parse_otpauth_uri("otpauth://totp/A:b?secret=ABCDEFGH1JKLMNOP").unwrap_err();
        assert_eq!(err.field, "secret");
        assert!(!err.message.contains("ABCDEFGH"), "{}", err.message);
    }

    #[test]
    fn hotp_and_unknown_types_name_type() {
        assert_eq!(parse_otpauth_uri("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP&counter=1").unwrap_err().field, "type");
        assert_eq!(parse_otpauth_uri("otpauth://motp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap_err().field, "type");
    }
}
