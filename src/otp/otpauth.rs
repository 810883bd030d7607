//! Parser for `otpauth://` URIs (Google Authenticator's Key URI format).
//!
//! Parsed by hand rather than with a URL parser because real-world labels
//! break URL syntax: account names contain `#`, which a URL parser would
//! take as the start of a fragment, and `+` stands for a space.

use percent_encoding::percent_decode_str;

use super::params::{self, Algorithm, Encoder, OtpParams, OtpType, truncate};
use super::seed::Seed;
use crate::field_error::FieldError;

/// A seed and everything its URI, or its entry in a migration export,
/// states about it.
#[derive(Debug, Clone)]
pub struct ParsedUri {
    pub seed: Seed,
    pub issuer: Option<String>,
    pub account: String,
    pub params: OtpParams,
    pub otp_type: OtpType,
    /// Advice for the caller that did not stop the import.
    pub warnings: Vec<String>,
}

const SCHEME: &str = "otpauth://";

/// Parses an otpauth URI. Errors name the field at fault (`uri`, `type`,
/// `secret`, `algorithm`, `digits`, `period`, `counter`) and never quote
/// the secret.
pub fn parse_otpauth_uri(text: &str) -> Result<ParsedUri, FieldError> {
    let text = text.trim();
    let Some(rest) = strip_prefix_ignore_case(text, SCHEME) else {
        if strip_prefix_ignore_case(text, "otpauth-migration://").is_some() {
            return Err(FieldError::invalid(
                "uri",
                "Google Authenticator export URIs (otpauth-migration://) can hold several accounts; send them to /api/import",
            ));
        }
        return Err(FieldError::invalid("uri", "the URI must start with otpauth://, e.g. otpauth://totp/Issuer:account?secret=..."));
    };

    let Some((otp_type, label_and_query)) = rest.split_once('/') else {
        return Err(FieldError::invalid("uri", "the URI has no label; expected otpauth://totp/Issuer:account?secret=..."));
    };
    let (encoder, counter_based) = match otp_type.to_ascii_lowercase().as_str() {
        "totp" => (Encoder::Decimal, false),
        "steam" => (Encoder::Steam, false),
        "hotp" => (Encoder::Decimal, true),
        other => {
            return Err(FieldError::invalid("type", format!("unknown OTP type {:?}; use totp or hotp", truncate(other))));
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

    // When the issuer parameter and the label prefix differ, the parameter
    // wins, as in Vault's TOTP engine and otphp; the label keeps the account.
    let issuer = query.get("issuer").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).or(label_issuer);

    let otp_type = if counter_based {
        let counter = query.get("counter").ok_or_else(|| {
            FieldError::missing("counter", "hotp URIs need a counter parameter, e.g. counter=0; copy the full URI")
        })?;
        OtpType::Hotp { counter: params::parse_counter(counter)? }
    } else {
        OtpType::Totp
    };

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
    if steam_issuer && !counter_based && query.get("digits").is_none() && query.get("algorithm").is_none() {
        otp.encoder = Encoder::Steam;
    }
    if counter_based && otp.encoder == Encoder::Steam {
        return Err(FieldError::invalid("type", "type hotp cannot have Steam Guard codes, which are time-based; use otpauth://totp/ with encoder=steam"));
    }
    let params = otp.validate()?;
    let warnings = seed.warnings();

    Ok(ParsedUri { seed, issuer, account, params, otp_type, warnings })
}

/// Splits `Issuer:account` at the first colon; `account` alone has no issuer.
pub(crate) fn split_label(label: &str) -> (Option<String>, String) {
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
        .map_err(|_| {
            let part = if field == "secret" { "secret" } else { "URI" };
            FieldError::invalid(field, format!("the {part} contains percent-escapes that are not valid UTF-8"))
        })
}

pub(crate) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
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
    fn hotp_takes_its_counter() {
        let parsed = parse_otpauth_uri("otpauth://HOTP/A:b?secret=JBSWY3DPEHPK3PXP&counter=42").unwrap();
        assert_eq!(parsed.otp_type, OtpType::Hotp { counter: 42 });
        assert_eq!(parsed.params.encoder, Encoder::Decimal);
    }

    #[test]
    fn unknown_type_names_type() {
        let err = parse_otpauth_uri("otpauth://motp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap_err();
        assert_eq!(err.field, "type");
        assert_eq!(err.message, "unknown OTP type \"motp\"; use totp or hotp");
    }

    /// Inputs every mainstream authenticator accepts, with the issuer,
    /// account and base32 seed a correct parser extracts.
    #[test]
    fn accepted_shapes_table() {
        let cases = [
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP%3D%3D%3D%3D", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP%3d%3d%3d%3d", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/A:b?secret=jbsw%20y3dp%20ehpk%203pxp", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/A:b?secret=jbsw+y3dp+ehpk+3pxp", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/A:b?secret=JBSW-Y3DP-EHPK-3PXP", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
            // 13 base32 characters: not a multiple of 8, decodes to 8 bytes.
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK2", Some("A"), "b", "JBSWY3DPEHPK2"),
            ("otpauth://totp/ACME%3aops?secret=JBSWY3DPEHPK3PXP", Some("ACME"), "ops", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/ACME%3Aops?secret=JBSWY3DPEHPK3PXP", Some("ACME"), "ops", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/ACME:%20%20ops?secret=JBSWY3DPEHPK3PXP", Some("ACME"), "ops", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/Big+Corp:jo+smith?secret=JBSWY3DPEHPK3PXP", Some("Big Corp"), "jo smith", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/%D0%91%D0%B0%D0%BD%D0%BA:ivan?secret=JBSWY3DPEHPK3PXP", Some("Банк"), "ivan", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/Git:team#ops?secret=JBSWY3DPEHPK3PXP", Some("Git"), "team#ops", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/Git:a:b:c?secret=JBSWY3DPEHPK3PXP", Some("Git"), "a:b:c", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/Old:acct?secret=JBSWY3DPEHPK3PXP&issuer=New", Some("New"), "acct", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/acct?secret=JBSWY3DPEHPK3PXP&issuer=Only%20Param", Some("Only Param"), "acct", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/acct?secret=JBSWY3DPEHPK3PXP&issuer=", None, "acct", "JBSWY3DPEHPK3PXP"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&image=x&foo=bar&secret=IGNORED", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
            ("Otpauth://Totp/A:b?Secret=JBSWY3DPEHPK3PXP&ISSUER=A", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
            ("  otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP \n", Some("A"), "b", "JBSWY3DPEHPK3PXP"),
        ];
        for (uri, issuer, account, secret) in cases {
            let parsed = parse_otpauth_uri(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(parsed.issuer.as_deref(), issuer, "{uri}");
            assert_eq!(parsed.account, account, "{uri}");
            assert_eq!(parsed.seed.to_base32(), secret, "{uri}");
            assert_eq!(parsed.otp_type, OtpType::Totp, "{uri}");
        }
    }

    #[test]
    fn parameter_values_table() {
        let cases = [
            ("algorithm=sha256", Algorithm::Sha256, 6, 30),
            ("algorithm=Sha512&digits=8", Algorithm::Sha512, 8, 30),
            ("algorithm=SHA1&digits=7&period=15", Algorithm::Sha1, 7, 15),
            ("digits=9&period=60", Algorithm::Sha1, 9, 60),
            ("PERIOD=1", Algorithm::Sha1, 6, 1),
        ];
        for (query, algorithm, digits, period) in cases {
            let uri = format!("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&{query}");
            let parsed = parse_otpauth_uri(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(parsed.params.algorithm, algorithm, "{uri}");
            assert_eq!(parsed.params.digits, digits, "{uri}");
            assert_eq!(parsed.params.period, period, "{uri}");
        }
    }

    /// Malformed inputs and the field each error must name.
    #[test]
    fn rejected_shapes_table() {
        let cases = [
            ("", "uri"),
            ("otpauth:/totp/A:b?secret=JBSWY3DPEHPK3PXP", "uri"),
            ("otpauth://totp?secret=JBSWY3DPEHPK3PXP", "uri"),
            ("otpauth://motp/A:b?secret=JBSWY3DPEHPK3PXP", "type"),
            ("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP", "counter"),
            ("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP&counter=-1", "counter"),
            ("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP&counter=x", "counter"),
            ("otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP&counter=0&encoder=steam", "type"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=10", "digits"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=5", "digits"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=", "digits"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&period=-30", "period"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&period=86401", "period"),
            ("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "algorithm"),
            ("otpauth://steam/A:b?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256", "algorithm"),
            ("otpauth://totp/A:b?secret=JBSW%FFY3DP", "secret"),
            ("otpauth://totp/A:b?secret=JBSW=Y3DP", "secret"),
            ("otpauth://totp/A:b?secret=%3D%3D%3D", "secret"),
            ("otpauth://totp/%FF:b?secret=JBSWY3DPEHPK3PXP", "uri"),
            ("otpauth-migration://offline?data=CgA", "uri"),
        ];
        for (uri, field) in cases {
            let err = parse_otpauth_uri(uri).expect_err(uri);
            assert_eq!(err.field, field, "{uri}: {}", err.message);
            assert!(err.message.contains(field) || field == "uri" || field == "type", "{uri}: {}", err.message);
            assert!(!err.message.contains("JBSW"), "{uri}: {}", err.message);
        }
    }
}
