//! Shared Key authorization for the Table service.
//!
//! Rules from "Authorize with Shared Key" (Azure Storage REST docs): for the
//! Table service the string to sign is
//! `VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedResource`, where
//! the date is the `x-ms-date` value and the canonicalized resource is
//! `/{account}` followed by the URL path exactly as sent (still
//! percent-encoded), plus `?comp=...` when present. Other query parameters
//! are not signed. With Azurite's path-style URLs the account name appears
//! twice: `/devstoreaccount1/devstoreaccount1/apps`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Builds the string to sign. `content_md5` is always empty here because
/// the client does not send Content-MD5.
pub fn string_to_sign(method: &str, content_type: &str, date: &str, canonicalized_resource: &str) -> String {
    format!("{method}\n\n{content_type}\n{date}\n{canonicalized_resource}")
}

/// Returns `/{account}{path}` plus the `comp` parameter if the query has one.
pub fn canonicalized_resource(account: &str, path: &str, query: Option<&str>) -> String {
    let comp = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("comp="));
    match comp {
        Some(comp) => format!("/{account}{path}?comp={comp}"),
        None => format!("/{account}{path}"),
    }
}

/// Returns the `Authorization` header value for `string_to_sign`.
pub fn authorization(account: &str, key: &[u8], string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = BASE64.encode(mac.finalize().into_bytes());
    format!("SharedKey {account}:{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_style_resource_repeats_account() {
        assert_eq!(
            canonicalized_resource("devstoreaccount1", "/devstoreaccount1/apps", Some("$filter=x")),
            "/devstoreaccount1/devstoreaccount1/apps"
        );
        assert_eq!(canonicalized_resource("acme", "/Tables", Some("comp=list")), "/acme/Tables?comp=list");
    }

    #[test]
    fn string_to_sign_layout() {
        assert_eq!(
            string_to_sign("POST", "application/json", "Fri, 04 Dec 2026 20:30:00 GMT", "/acme/apps"),
            "POST\n\napplication/json\nFri, 04 Dec 2026 20:30:00 GMT\n/acme/apps"
        );
    }

    /// Signature of a fixed request with Azurite's published development
    /// key; Azurite 3.37 accepted this header for this string to sign.
    #[test]
    fn signature_matches_known_value() {
        let key = BASE64
            .decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
            .unwrap();
        let to_sign = string_to_sign(
            "GET",
            "",
            "Fri, 04 Dec 2026 20:30:00 GMT",
            "/devstoreaccount1/devstoreaccount1/Tables",
        );
        assert_eq!(authorization("devstoreaccount1", &key, &to_sign), KNOWN_AUTHORIZATION);
    }

    const KNOWN_AUTHORIZATION: &str = "SharedKey devstoreaccount1:nokE1yfwt7i3BTD17nY/XM+ibCDYhLbLFAYowQKB6LQ=";
}
