//! Reading the caller's credential and client address from request headers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::api::ApiRequest;

/// Easy Auth principal name header, set by App Service authentication.
pub const EASY_AUTH_NAME_HEADER: &str = "x-ms-client-principal-name";
/// Easy Auth principal object id header.
pub const EASY_AUTH_ID_HEADER: &str = "x-ms-client-principal-id";
/// Easy Auth header with all claims: base64 of JSON
/// `{"auth_typ", "claims": [{"typ", "val"}], "name_typ", "role_typ"}`, as
/// App Service's "Work with user identities" page documents it.
pub const EASY_AUTH_PRINCIPAL_HEADER: &str = "x-ms-client-principal";
/// Role claim type when the principal header names none.
const DEFAULT_ROLE_CLAIM: &str = "roles";

/// Credential a request presents to identify its caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// `Authorization: Bearer <key>` or `X-API-Key: <key>`.
    Key(&'a str),
    /// Easy Auth principal headers (trusted only when configured).
    /// `roles` are the role claims of the principal header, if any.
    EasyAuth { name: Option<&'a str>, id: Option<&'a str>, roles: Vec<String> },
    None,
}

/// Finds the credential. A key wins over Easy Auth headers. Those headers
/// are read only when `easy_auth` is on, because without App Service
/// authentication in front any client could send them.
pub fn credential_of(request: &ApiRequest, easy_auth: bool) -> Credential<'_> {
    if let Some(value) = request.header("authorization") {
        let value = value.trim();
        if let Some((scheme, token)) = value.split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Credential::Key(token.trim());
        }
    }
    if let Some(key) = request.header("x-api-key") {
        return Credential::Key(key.trim());
    }
    if easy_auth {
        let name = request.header(EASY_AUTH_NAME_HEADER).map(str::trim).filter(|v| !v.is_empty());
        let id = request.header(EASY_AUTH_ID_HEADER).map(str::trim).filter(|v| !v.is_empty());
        if name.is_some() || id.is_some() {
            let roles = request.header(EASY_AUTH_PRINCIPAL_HEADER).map(role_claims).unwrap_or_default();
            return Credential::EasyAuth { name, id, roles };
        }
    }
    Credential::None
}

/// Returns the role claim values of an `X-MS-CLIENT-PRINCIPAL` header, or
/// none when it cannot be decoded.
pub fn role_claims(header: &str) -> Vec<String> {
    let Some(principal) = BASE64.decode(header.trim()).ok().and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok()) else {
        return Vec::new();
    };
    let role_type = principal.get("role_typ").and_then(Value::as_str).filter(|t| !t.is_empty()).unwrap_or(DEFAULT_ROLE_CLAIM);
    let claims = principal.get("claims").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    claims
        .iter()
        .filter(|claim| claim.get("typ").and_then(Value::as_str) == Some(role_type))
        .filter_map(|claim| claim.get("val").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Header in which the host shim passes the TCP peer address, replacing
/// any value the client sent. Other hosts pass it through unchanged.
pub const CLIENT_ADDRESS_HEADER: &str = "x-sharedmfa-client-address";

/// Maximum client address length kept, in characters: an IPv6 address with a
/// port and zone fits well within it, and it caps what a client can write
/// into the audit trail.
const MAX_CLIENT_ADDRESS_CHARS: usize = 64;

/// Returns the client address the host reported in
/// [`CLIENT_ADDRESS_HEADER`]. Behind a proxy this is the proxy's address.
pub fn client_address_of(request: &ApiRequest) -> Option<String> {
    clean(request.header(CLIENT_ADDRESS_HEADER)?)
}

/// Returns the last `X-Forwarded-For` hop, which the nearest proxy
/// appended (the App Service front end does). Without such a proxy the client chose it.
pub fn forwarded_for_of(request: &ApiRequest) -> Option<String> {
    clean(request.header("x-forwarded-for")?.rsplit(',').next()?)
}

fn clean(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().any(char::is_control) {
        return None;
    }
    Some(value.chars().take(MAX_CLIENT_ADDRESS_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_headers(headers: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: "GET".into(),
            path: "/api/list-available-apps".into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..ApiRequest::default()
        }
    }

    #[test]
    fn bearer_and_api_key_headers() {
        assert_eq!(credential_of(&with_headers(&[("Authorization", "Bearer abc")]), false), Credential::Key("abc"));
        assert_eq!(credential_of(&with_headers(&[("authorization", "bearer  abc ")]), false), Credential::Key("abc"));
        assert_eq!(credential_of(&with_headers(&[("X-API-Key", "abc")]), false), Credential::Key("abc"));
        assert_eq!(credential_of(&with_headers(&[("Authorization", "Basic abc")]), false), Credential::None);
    }

    #[test]
    fn easy_auth_headers_only_when_on() {
        let request = with_headers(&[("X-MS-CLIENT-PRINCIPAL-NAME", "alice@contoso.com")]);
        assert_eq!(credential_of(&request, false), Credential::None);
        assert_eq!(
            credential_of(&request, true),
            Credential::EasyAuth { name: Some("alice@contoso.com"), id: None, roles: vec![] }
        );
    }

    #[test]
    fn role_claims_follow_role_typ() {
        let principal = serde_json::json!({
            "auth_typ": "aad",
            "claims": [
                {"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "val": "MfaReaders"},
                {"typ": "name", "val": "Alice"},
            ],
            "name_typ": "name",
            "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
        });
        assert_eq!(role_claims(&BASE64.encode(principal.to_string())), vec!["MfaReaders".to_string()]);
        assert!(role_claims("not base64").is_empty());
    }

    #[test]
    fn forwarded_for_is_last_hop() {
        let request = with_headers(&[("X-Forwarded-For", "10.0.0.1, 203.0.113.7:5123")]);
        assert_eq!(forwarded_for_of(&request).as_deref(), Some("203.0.113.7:5123"));
        assert_eq!(forwarded_for_of(&with_headers(&[])), None);
    }

    #[test]
    fn client_address_from_host_header() {
        let request = with_headers(&[("X-Sharedmfa-Client-Address", "127.0.0.1")]);
        assert_eq!(client_address_of(&request).as_deref(), Some("127.0.0.1"));
        assert_eq!(client_address_of(&with_headers(&[("X-Forwarded-For", "10.0.0.1")])), None);
    }
}
