//! Seeds in bulk: lists of otpauth URIs, Google Authenticator exports and
//! QR code images, each turned into one entry per account.
//!
//! - [`migration`]: `otpauth-migration://` exports (protobuf in base64).
//! - [`qr`]: PNG and JPEG images to the text of the QR codes they show.
//!
//! Parsing here is pure; the API decides what to store.

pub mod migration;
pub mod qr;

use percent_encoding::percent_decode_str;

use crate::field_error::FieldError;
use crate::otp::otpauth::strip_prefix_ignore_case;
pub(crate) use crate::otp::otpauth::split_label;
use crate::otp::{ParsedUri, parse_otpauth_uri};

/// Most accounts one import may hold. Each costs two storage writes, so 100
/// stays well inside the host's 30 s request limit, and Google
/// Authenticator puts at most about ten accounts in one export QR code.
pub const MAX_IMPORT_ENTRIES: usize = 100;

/// Maximum length of a label quoted back for an entry, in characters.
const MAX_LABEL_CHARS: usize = 80;

/// One account of an import: its label (`Issuer:account`, never the secret)
/// and the parsed seed or the reason it was rejected.
#[derive(Debug)]
pub struct Entry {
    pub label: String,
    pub result: Result<ParsedUri, FieldError>,
}

/// Every account found in one input, and advice about the input as a whole.
#[derive(Debug, Default)]
pub struct Batch {
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
}

/// Parses text with one otpauth or otpauth-migration URI per line; blank
/// lines are skipped. A URI that cannot be used becomes a rejected entry.
/// An export whose payload cannot be read at all, an input without URIs, and
/// more than [`MAX_IMPORT_ENTRIES`] accounts reject the whole input (field
/// `data`), with the line number when there are several lines.
pub fn parse_text(text: &str) -> Result<Batch, FieldError> {
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(index, line)| (index + 1, line.trim())).filter(|(_, line)| !line.is_empty()).collect();
    if lines.is_empty() {
        return Err(FieldError::missing("data", "the data contains no otpauth:// or otpauth-migration:// URI"));
    }

    let mut batch = Batch::default();
    for &(number, line) in &lines {
        if strip_prefix_ignore_case(line, migration::SCHEME).is_some() {
            let (entries, warnings) = migration::parse_migration_uri(line).map_err(|error| at_line(error, number, lines.len()))?;
            batch.entries.extend(entries);
            batch.warnings.extend(warnings);
        } else {
            batch.entries.push(Entry { label: label_of(line, number), result: parse_otpauth_uri(line) });
        }
        if batch.entries.len() > MAX_IMPORT_ENTRIES {
            return Err(FieldError::invalid(
                "data",
                format!("the data contains more than {MAX_IMPORT_ENTRIES} accounts; split it into several imports"),
            ));
        }
    }
    Ok(batch)
}

/// Prefixes an error with its line number when the input has several lines.
fn at_line(error: FieldError, number: usize, line_count: usize) -> FieldError {
    if line_count == 1 {
        return error;
    }
    FieldError { message: format!("line {number}: {}", error.message), ..error }
}

/// Returns the label of an otpauth URI for a result line: the decoded text
/// between the type and the query, which contains no secret. Text that is not
/// an otpauth URI is named by its line number only, because it might be a
/// bare secret.
fn label_of(line: &str, number: usize) -> String {
    let Some(rest) = strip_prefix_ignore_case(line, "otpauth://") else {
        return format!("line {number}");
    };
    let Some((_, label_and_query)) = rest.split_once('/') else {
        return format!("line {number}");
    };
    let raw_label = label_and_query.split_once('?').map_or(label_and_query, |(label, _)| label);
    let label = percent_decode_str(&raw_label.replace('+', " ")).decode_utf8_lossy().trim().to_string();
    if label.is_empty() {
        return format!("line {number}");
    }
    label.chars().filter(|c| !c.is_control()).take(MAX_LABEL_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_yields_one_entry_per_line() {
        let text = "otpauth://totp/A:one?secret=JBSWY3DPEHPK3PXP\n\n  otpauth://totp/B%3Atwo?secret=JBSW1\r\nJBSWY3DPEHPK3PXP\n";
        let batch = parse_text(text).unwrap();
        assert_eq!(batch.entries.len(), 3);
        assert_eq!(batch.entries[0].label, "A:one");
        assert!(batch.entries[0].result.is_ok());
        assert_eq!(batch.entries[1].label, "B:two");
        assert_eq!(batch.entries[1].result.as_ref().unwrap_err().field, "secret");
        // A bare secret is never quoted back.
        assert_eq!(batch.entries[2].label, "line 4");
        assert_eq!(batch.entries[2].result.as_ref().unwrap_err().field, "uri");
    }

    #[test]
    fn empty_text_is_missing_data() {
        for text in ["", "\n \n", "\t"] {
            assert_eq!(parse_text(text).unwrap_err().field, "data", "{text:?}");
        }
    }

    #[test]
    fn unreadable_export_names_its_line() {
        let text = "otpauth://totp/A:one?secret=JBSWY3DPEHPK3PXP\notpauth-migration://offline?data=%%%";
        let error = parse_text(text).unwrap_err();
        assert_eq!(error.field, "data");
        assert!(error.message.starts_with("line 2: "), "{}", error.message);
    }

    #[test]
    fn too_many_entries_rejected() {
        let text = "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\n".repeat(MAX_IMPORT_ENTRIES + 1);
        let error = parse_text(&text).unwrap_err();
        assert_eq!(error.message, "the data contains more than 100 accounts; split it into several imports");
        assert_eq!(parse_text(&"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\n".repeat(MAX_IMPORT_ENTRIES)).unwrap().entries.len(), 100);
    }
}
