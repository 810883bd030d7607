//! Google Authenticator exports: `otpauth-migration://offline?data=...`.
//!
//! `data` is base64 of a protobuf `MigrationPayload`. Google publishes no
//! schema, so the field numbers and enum values below are the ones that
//! open-source authenticators use to read these exports. Unspecified enum
//! values mean SHA1, six digits and TOTP, and every exported TOTP account
//! has a 30-second period because the format has no period field.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use percent_encoding::percent_decode_str;
use prost::Message;

use super::{Entry, split_label};
use crate::field_error::FieldError;
use crate::otp::params::{Algorithm, DEFAULT_PERIOD, Encoder, OtpParams, OtpType};
use crate::otp::seed::MAX_SEED_BYTES;
use crate::otp::{ParsedUri, Seed};

pub const SCHEME: &str = "otpauth-migration://";

/// The export's top-level message.
#[derive(Clone, PartialEq, Message)]
pub struct MigrationPayload {
    #[prost(message, repeated, tag = "1")]
    pub otp_parameters: Vec<OtpParameters>,
    #[prost(int32, tag = "2")]
    pub version: i32,
    /// How many QR codes the whole export spans.
    #[prost(int32, tag = "3")]
    pub batch_size: i32,
    /// Position of this QR code in the export, from 0.
    #[prost(int32, tag = "4")]
    pub batch_index: i32,
    #[prost(int32, tag = "5")]
    pub batch_id: i32,
}

/// One exported account. `Debug` is written by hand so it never shows the
/// secret.
#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub struct OtpParameters {
    #[prost(bytes = "vec", tag = "1")]
    pub secret: Vec<u8>,
    /// The label, often `Issuer:account`.
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub issuer: String,
    #[prost(enumeration = "ExportAlgorithm", tag = "4")]
    pub algorithm: i32,
    #[prost(enumeration = "DigitCount", tag = "5")]
    pub digits: i32,
    #[prost(enumeration = "ExportType", tag = "6")]
    pub otp_type: i32,
    #[prost(int64, tag = "7")]
    pub counter: i64,
}

impl fmt::Debug for OtpParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpParameters")
            .field("secret", &format_args!("<{} bytes redacted>", self.secret.len()))
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("otp_type", &self.otp_type)
            .field("counter", &self.counter)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ExportAlgorithm {
    Unspecified = 0,
    Sha1 = 1,
    Sha256 = 2,
    Sha512 = 3,
    Md5 = 4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DigitCount {
    Unspecified = 0,
    Six = 1,
    Eight = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ExportType {
    Unspecified = 0,
    Hotp = 1,
    Totp = 2,
}

/// Standard base64 that accepts input with or without `=` padding.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes an export URI into one entry per account, and a warning when the
/// export spans several QR codes. Errors (field `data`) mean the payload
/// as a whole is unreadable.
pub fn parse_migration_uri(text: &str) -> Result<(Vec<Entry>, Vec<String>), FieldError> {
    let payload_bytes = decode_data_parameter(text)?;
    let payload = MigrationPayload::decode(payload_bytes.as_slice()).map_err(|_| {
        FieldError::invalid("data", "the export's data is not a Google Authenticator payload; scan or copy the export QR code again")
    })?;
    if payload.otp_parameters.is_empty() {
        return Err(FieldError::invalid("data", "the export's data contains no accounts"));
    }

    let mut warnings = Vec::new();
    if payload.batch_size > 1 {
        warnings.push(format!(
            "this export is QR code {} of {}; import the other QR codes of the export too",
            payload.batch_index.saturating_add(1),
            payload.batch_size
        ));
    }
    let entries = payload.otp_parameters.iter().map(parse_account).collect();
    Ok((entries, warnings))
}

/// Reads the `data` parameter's base64. Percent-escapes are decoded, and a
/// space is taken for the `+` it was before a form decoder or a chat app
/// turned it into one.
fn decode_data_parameter(text: &str) -> Result<Vec<u8>, FieldError> {
    let query = text.trim().split_once('?').map(|(_, query)| query).unwrap_or_default();
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("data="))
        .ok_or_else(|| FieldError::missing("data", "the export URI has no data parameter; copy the whole otpauth-migration:// URI"))?;
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| FieldError::invalid("data", "the export's data contains percent-escapes that are not valid UTF-8"))?;
    let base64_text: String = decoded.trim().replace(' ', "+");
    if base64_text.is_empty() {
        return Err(FieldError::missing("data", "the export's data parameter is empty"));
    }

    LENIENT_STANDARD
        .decode(&base64_text)
        .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(base64_text.trim_end_matches('=')))
        .map_err(|_| FieldError::invalid("data", "the export's data is not valid base64; it may have been cut off, so copy it again"))
}

/// Turns one exported account into a seed, or the reason it is rejected.
fn parse_account(account: &OtpParameters) -> Entry {
    let (label_issuer, name) = split_label(&account.name);
    let issuer = Some(account.issuer.trim().to_string()).filter(|issuer| !issuer.is_empty()).or(label_issuer);
    let label = match &issuer {
        Some(issuer) => format!("{issuer}:{name}"),
        None => name.clone(),
    };
    let result = seed_of(account, issuer, name);
    Entry { label, result }
}

fn seed_of(account: &OtpParameters, issuer: Option<String>, name: String) -> Result<ParsedUri, FieldError> {
    if account.secret.is_empty() {
        return Err(FieldError::missing("secret", "the exported account has an empty secret"));
    }
    if account.secret.len() > MAX_SEED_BYTES {
        return Err(FieldError::invalid(
            "secret",
            format!("the secret is {} bytes long; at most {MAX_SEED_BYTES} are accepted", account.secret.len()),
        ));
    }

    let algorithm = match ExportAlgorithm::try_from(account.algorithm) {
        Ok(ExportAlgorithm::Unspecified | ExportAlgorithm::Sha1) => Algorithm::Sha1,
        Ok(ExportAlgorithm::Sha256) => Algorithm::Sha256,
        Ok(ExportAlgorithm::Sha512) => Algorithm::Sha512,
        Ok(ExportAlgorithm::Md5) => {
            return Err(FieldError::invalid("algorithm", "unsupported algorithm MD5; use SHA1, SHA256 or SHA512"));
        }
        Err(_) => {
            return Err(FieldError::invalid("algorithm", format!("unknown algorithm value {} in the export", account.algorithm)));
        }
    };
    let digits = match DigitCount::try_from(account.digits) {
        Ok(DigitCount::Unspecified | DigitCount::Six) => 6,
        Ok(DigitCount::Eight) => 8,
        Err(_) => return Err(FieldError::invalid("digits", format!("unknown digits value {} in the export", account.digits))),
    };
    let otp_type = match ExportType::try_from(account.otp_type) {
        Ok(ExportType::Unspecified | ExportType::Totp) => OtpType::Totp,
        Ok(ExportType::Hotp) => {
            let counter = u64::try_from(account.counter)
                .map_err(|_| FieldError::invalid("counter", format!("counter {} is negative", account.counter)))?;
            OtpType::Hotp { counter }
        }
        Err(_) => return Err(FieldError::invalid("type", format!("unknown OTP type value {} in the export", account.otp_type))),
    };

    // Steam's own accounts have issuer Steam; their codes only match with
    // Steam's encoding, as for otpauth URIs.
    let steam = otp_type == OtpType::Totp && issuer.as_deref().is_some_and(|i| i.eq_ignore_ascii_case("steam"));
    let encoder = if steam { Encoder::Steam } else { Encoder::Decimal };
    let algorithm = if steam { Algorithm::Sha1 } else { algorithm };
    let params = OtpParams { algorithm, digits, period: DEFAULT_PERIOD, encoder }.validate()?;

    let seed = Seed::from_bytes(account.secret.clone());
    let warnings = seed.warnings();
    Ok(ParsedUri { seed, issuer, account: name, params, otp_type, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an export of two accounts with this module's own encoder. The
    /// test also checks its bytes literally, so a change in field numbers
    /// or wire types shows up.
    fn two_account_payload() -> MigrationPayload {
        MigrationPayload {
            otp_parameters: vec![
                OtpParameters {
                    secret: b"Hello!\xde\xad\xbe\xef".to_vec(),
                    name: "Example:alice@example.com".into(),
                    issuer: "Example".into(),
                    algorithm: ExportAlgorithm::Sha1 as i32,
                    digits: DigitCount::Six as i32,
                    otp_type: ExportType::Totp as i32,
                    counter: 0,
                },
                OtpParameters {
                    secret: b"12345678901234567890".to_vec(),
                    name: "vpn".into(),
                    issuer: String::new(),
                    algorithm: 0,
                    digits: 0,
                    otp_type: ExportType::Hotp as i32,
                    counter: 5,
                },
            ],
            version: 1,
            batch_size: 1,
            batch_index: 0,
            batch_id: 7,
        }
    }

    /// The same payload, encoded independently from the protobuf wire
    /// format: field 1 (length-delimited) per account, then the varints 2,
    /// 3 and 5 (field 4 is zero and so omitted).
    const TWO_ACCOUNT_BASE64: &str = "CjYKCkhlbGxvId6tvu8SGUV4YW1wbGU6YWxpY2VAZXhhbXBsZS5jb20aB0V4YW1wbGUgASgBMAIKHwoUMTIzNDU2Nzg5MDEyMzQ1Njc4OTASA3ZwbjABOAUQARgBKAc=";

    #[test]
    fn fixed_payload_decodes() {
        let expected = two_account_payload().encode_to_vec();
        assert_eq!(general_purpose::STANDARD.encode(&expected), TWO_ACCOUNT_BASE64);

        let uri = format!("otpauth-migration://offline?data={}", TWO_ACCOUNT_BASE64.replace('+', "%2B").replace('=', "%3D"));
        let (entries, warnings) = parse_migration_uri(&uri).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(entries.len(), 2);

        assert_eq!(entries[0].label, "Example:alice@example.com");
        let first = entries[0].result.as_ref().unwrap();
        assert_eq!(first.issuer.as_deref(), Some("Example"));
        assert_eq!(first.account, "alice@example.com");
        assert_eq!(first.seed.to_base32(), "JBSWY3DPEHPK3PXP");
        assert_eq!(first.params, OtpParams::default());
        assert_eq!(first.otp_type, OtpType::Totp);
        assert_eq!(crate::otp::code_at(&first.seed, first.params, 59), "996554");

        assert_eq!(entries[1].label, "vpn");
        let second = entries[1].result.as_ref().unwrap();
        assert_eq!(second.issuer, None);
        assert_eq!(second.otp_type, OtpType::Hotp { counter: 5 });
        // RFC 4226 appendix D, counter 5.
        assert_eq!(crate::otp::hotp_code(&second.seed, second.params, 5), "254676");
    }

    #[test]
    fn plus_turned_into_space_still_decodes() {
        // The bytes FB EF BE encode as "++++" when they start on a base64
        // group boundary; one of three leading paddings puts them there.
        let (payload, encoded) = (0..3)
            .map(|padding| {
                let mut payload = two_account_payload();
                payload.otp_parameters[0].secret = [vec![0x55; padding], [0xfb, 0xef, 0xbe].repeat(4)].concat();
                let encoded = general_purpose::STANDARD.encode(payload.encode_to_vec());
                (payload, encoded)
            })
            .find(|(_, encoded)| encoded.contains('+'))
            .unwrap();
        let uri = format!("otpauth-migration://offline?data={}", encoded.replace('+', " "));
        let (entries, _) = parse_migration_uri(&uri).unwrap();
        assert_eq!(entries[0].result.as_ref().unwrap().seed.as_bytes(), payload.otp_parameters[0].secret.as_slice());
    }

    #[test]
    fn unusable_accounts_are_rejected_one_by_one() {
        let mut payload = two_account_payload();
        payload.otp_parameters[0].algorithm = ExportAlgorithm::Md5 as i32;
        payload.otp_parameters[1].secret.clear();
        payload.batch_size = 3;
        payload.batch_index = 1;
        let uri = format!("otpauth-migration://offline?data={}", general_purpose::STANDARD.encode(payload.encode_to_vec()));
        let (entries, warnings) = parse_migration_uri(&uri).unwrap();
        assert_eq!(warnings, ["this export is QR code 2 of 3; import the other QR codes of the export too"]);
        assert_eq!(entries[0].result.as_ref().unwrap_err().field, "algorithm");
        assert_eq!(entries[1].result.as_ref().unwrap_err().field, "secret");
    }

    #[test]
    fn steam_issuer_gets_steam_codes() {
        let mut payload = two_account_payload();
        payload.otp_parameters[0].issuer = "Steam".into();
        payload.otp_parameters[0].name = "gabe".into();
        let uri = format!("otpauth-migration://offline?data={}", general_purpose::STANDARD.encode(payload.encode_to_vec()));
        let (entries, _) = parse_migration_uri(&uri).unwrap();
        let steam = entries[0].result.as_ref().unwrap();
        assert_eq!(steam.params.encoder, Encoder::Steam);
        assert_eq!(steam.params.digits, 5);
        // The Steam Guard code of JBSWY3DPEHPK3PXP at time 59, as in the otpauth fixtures.
        assert_eq!(crate::otp::code_at(&steam.seed, steam.params, 59), "2YXGV");
    }

    #[test]
    fn unreadable_payloads_name_data() {
        let cases = [
            "otpauth-migration://offline",
            "otpauth-migration://offline?data=",
            "otpauth-migration://offline?data=!!!!",
            "otpauth-migration://offline?data=CjIKCkhlbGxvId6tvu8SGUV4YW1wbGU6YWxp",
            "otpauth-migration://offline?data=AAAA",
            "otpauth-migration://offline?data=%FF%FE",
        ];
        for uri in cases {
            let error = parse_migration_uri(uri).expect_err(uri);
            assert_eq!(error.field, "data", "{uri}: {}", error.message);
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let account = &two_account_payload().otp_parameters[1];
        let text = format!("{account:?}");
        assert!(text.contains("<20 bytes redacted>"), "{text}");
        assert!(!text.contains("49, 50"), "{text}");
    }
}
