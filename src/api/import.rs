//! Reading seeds out of request bodies in every intake form. JSON carries an
//! otpauth URI, an export URI or a list in `data`, or a base64 image in
//! `image`; a raw PNG or JPEG body and `text/plain` with one URI per line
//! work too. `add-totp-secret` takes one seed from these, `import` all.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::request::{ApiRequest, MAX_BODY_BYTES, NewApp, new_app_from, optional_string, parse_object};
use crate::field_error::FieldError;
use crate::intake::{self, qr};

/// Largest body read on routes that accept images, in bytes: the base64 of
/// a [`qr::MAX_IMAGE_BYTES`] image in JSON, with room for the other fields.
/// It stays under the host's default body limit of 1 MiB.
pub const MAX_IMAGE_BODY_BYTES: usize = 960 * 1024;

/// A validated import: one entry per account found, in input order.
#[derive(Debug)]
pub struct ImportRequest {
    pub entries: Vec<ImportEntry>,
    /// Advice about the input as a whole, such as a partial export.
    pub warnings: Vec<String>,
}

/// One account of an import and whether it can be added.
#[derive(Debug)]
pub struct ImportEntry {
    /// Position in the input, from 0.
    pub index: usize,
    /// `Issuer:account` as the input names it; never the secret.
    pub label: String,
    pub app: Result<NewApp, FieldError>,
}

/// The form of a request body that carries seeds.
pub enum Body {
    /// A JSON object (the `data`, `image` and field forms).
    Json(Map<String, Value>),
    /// Text with one URI per line.
    Text(String),
    /// A raw image file.
    Image(Vec<u8>),
}

/// Returns the body limit for a route and content type: images (raw, or
/// base64 in JSON) may be larger than other bodies.
pub fn max_body_bytes(path: &str, content_type: Option<&str>) -> usize {
    let path = path.trim_end_matches('/').to_ascii_lowercase();
    let takes_images = path == "/api/import" || path == "/api/add-totp-secret";
    let text = media_type(content_type) == "text/plain";
    if takes_images && !text { MAX_IMAGE_BODY_BYTES } else { MAX_BODY_BYTES }
}

/// Classifies the body by its content type. Anything but an image or plain
/// text is read as JSON, as the original API did.
pub fn read_body(request: &ApiRequest) -> Result<Body, ApiError> {
    let body = &request.body;
    let body_too_large = || ApiError::payload_too_large(MAX_BODY_BYTES);
    match media_type(request.header("content-type")).as_str() {
        "image/png" | "image/jpeg" | "image/jpg" | "application/octet-stream" => Ok(Body::Image(body.clone())),
        "text/plain" => {
            let text = String::from_utf8(body.clone())
                .map_err(|_| FieldError::invalid("data", "the data is not valid UTF-8 text; send the URIs as UTF-8"))?;
            Ok(Body::Text(text))
        }
        _ => {
            let object = parse_object(body)?;
            // Only a base64 image justifies a body over the JSON limit.
            if body.len() > MAX_BODY_BYTES && !object.contains_key("image") {
                return Err(body_too_large());
            }
            Ok(Body::Json(object))
        }
    }
}

/// Returns the text a body carries: `data`, or the QR codes of an image.
/// `Ok(None)` means a JSON body with neither, such as the field form.
pub fn seed_text(body: &Body) -> Result<Option<String>, ApiError> {
    match body {
        Body::Text(text) => Ok(Some(text.clone())),
        Body::Image(bytes) => Ok(Some(qr::decode_qr_text(bytes)?)),
        Body::Json(object) => {
            let data = optional_string(object, "data")?;
            let image = optional_string(object, "image")?;
            match (data, image) {
                (Some(_), Some(_)) => Err(FieldError::invalid("data", "send either data or image, not both").into()),
                (Some(data), None) => Ok(Some(data)),
                (None, Some(image)) => Ok(Some(qr::decode_qr_text(&decode_image_base64(&image)?)?)),
                (None, None) => Ok(None),
            }
        }
    }
}

/// Parses an import body into its entries. `custom_name` applies to every
/// entry.
pub fn parse_import(request: &ApiRequest, custom_name: &str) -> Result<ImportRequest, ApiError> {
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Err(FieldError::missing(
            "data",
            "the body is empty; send {\"data\": \"otpauth...\"}, {\"image\": \"<base64>\"}, a PNG or JPEG, or text with one URI per line",
        )
        .into());
    }
    let body = read_body(request)?;
    let Some(text) = seed_text(&body)? else {
        return Err(FieldError::missing("data", "send the seeds as data (URIs, one per line) or image (a base64 PNG or JPEG)").into());
    };

    let batch = intake::parse_text(&text)?;
    let entries = batch
        .entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| ImportEntry {
            index,
            label: entry.label,
            app: entry.result.and_then(|parsed| new_app_from(parsed, custom_name.to_string())),
        })
        .collect();
    Ok(ImportRequest { entries, warnings: batch.warnings })
}

/// Decodes the `image` field: standard base64, optionally as a data URL
/// (`data:image/png;base64,...`), with line breaks allowed.
fn decode_image_base64(text: &str) -> Result<Vec<u8>, FieldError> {
    let payload = match text.split_once(";base64,") {
        Some((prefix, payload)) if prefix.starts_with("data:") => payload,
        _ => text,
    };
    let compact: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| FieldError::invalid("image", "the image is not valid base64; send the file's bytes in standard base64"))
}

/// Returns the media type of a `Content-Type` value, lowercase, without
/// parameters.
fn media_type(content_type: Option<&str>) -> String {
    content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: &str, body: &[u8]) -> ApiRequest {
        ApiRequest {
            method: "POST".into(),
            path: "/api/import".into(),
            query: None,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.to_vec(),
        }
    }

    #[test]
    fn json_list_gives_one_entry_per_line() {
        let body = br#"{"data": "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP\notpauth://hotp/B:b?secret=JBSWY3DPEHPK3PXP&counter=3\notpauth://totp/C:c?secret=JBSWY3DPEHPK3PXP&digits=10"}"#;
        let import = parse_import(&request("application/json", body), "team").unwrap();
        assert_eq!(import.entries.len(), 3);
        let first = import.entries[0].app.as_ref().unwrap();
        assert_eq!((first.issuer.as_str(), first.custom_name.as_str()), ("A", "team"));
        assert_eq!(import.entries[1].app.as_ref().unwrap().otp_type, crate::otp::OtpType::Hotp { counter: 3 });
        let third = &import.entries[2];
        assert_eq!((third.index, third.label.as_str()), (2, "C:c"));
        assert_eq!(third.app.as_ref().unwrap_err().field, "digits");
    }

    #[test]
    fn text_plain_body_is_a_list() {
        let body = b"otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP\r\n\r\notpauth://totp/B:b?secret=JBSWY3DPEHPK3PXP\r\n";
        let import = parse_import(&request("text/plain; charset=utf-8", body), "").unwrap();
        assert_eq!(import.entries.len(), 2);
    }

    #[test]
    fn whole_body_rejections() {
        let cases: [(&str, &[u8], &str); 7] = [
            ("application/json", b"  ", "data"),
            ("application/json", b"{}", "data"),
            ("application/json", b"{\"data\": \"\"}", "data"),
            ("application/json", b"{\"image\": \"%%%\"}", "image"),
            ("application/json", b"{\"image\": \"R0lGODlh\"}", "image"),
            ("image/png", b"not a png", "image"),
            ("text/plain", b"\xff\xfe", "data"),
        ];
        for (content_type, body, field) in cases {
            let error = parse_import(&request(content_type, body), "").unwrap_err();
            assert_eq!((error.status, error.field), (400, Some(field)), "{content_type} {body:?}: {}", error.message);
        }
    }

    #[test]
    fn large_json_needs_an_image() {
        let padding = "x".repeat(MAX_BODY_BYTES);
        let body = format!("{{\"data\": \"otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP\", \"pad\": \"{padding}\"}}");
        let error = parse_import(&request("application/json", body.as_bytes()), "").unwrap_err();
        assert_eq!(error.status, 413);
    }

    #[test]
    fn body_limits_by_route_and_type() {
        assert_eq!(max_body_bytes("/api/import", Some("image/png")), MAX_IMAGE_BODY_BYTES);
        assert_eq!(max_body_bytes("/API/Add-TOTP-Secret/", Some("application/json")), MAX_IMAGE_BODY_BYTES);
        assert_eq!(max_body_bytes("/api/import", Some("text/plain")), MAX_BODY_BYTES);
        assert_eq!(max_body_bytes("/api/get-mfa-code", Some("application/json")), MAX_BODY_BYTES);
        assert!(MAX_IMAGE_BODY_BYTES < 1024 * 1024);
        assert!(qr::MAX_IMAGE_BYTES.div_ceil(3) * 4 + 1024 < MAX_IMAGE_BODY_BYTES);
    }
}
