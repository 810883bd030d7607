//! Tokens from the App Service / Azure Functions managed identity endpoint.
//!
//! Protocol (API version 2019-08-01, "Managed identities for App Service and
//! Azure Functions" in the Azure docs): `GET {IDENTITY_ENDPOINT}?resource=R
//! &api-version=2019-08-01[&client_id=C]` with header `X-IDENTITY-HEADER`.
//! The JSON response carries `access_token` and `expires_on` (epoch seconds,
//! sent as a string by App Service).

use std::fmt;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::error::{Service, UpstreamError};
use crate::config::ManagedIdentity;
use crate::transport::{HttpRequest, HttpResponse, Transport};

pub const API_VERSION: &str = "2019-08-01";

/// A bearer token and its expiry. `Debug` never prints the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub secret: String,
    /// Expiry in seconds since the Unix epoch, if the endpoint sent one.
    pub expires_on: Option<i64>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Fetches a token for `resource` (e.g. `https://vault.azure.net`).
pub async fn fetch_token<T: Transport>(
    transport: &T,
    identity: &ManagedIdentity,
    resource: &str,
) -> Result<AccessToken, UpstreamError> {
    let response = transport
        .send(token_request(identity, resource))
        .await
        .map_err(|e| UpstreamError::transport(Service::ManagedIdentity, e))?;
    parse_token_response(&response)
}

/// Builds the token request.
pub fn token_request(identity: &ManagedIdentity, resource: &str) -> HttpRequest {
    let separator = if identity.endpoint.contains('?') { '&' } else { '?' };
    let mut url = format!(
        "{}{separator}resource={}&api-version={API_VERSION}",
        identity.endpoint,
        utf8_percent_encode(resource, NON_ALPHANUMERIC)
    );
    if let Some(client_id) = &identity.client_id {
        url.push_str(&format!("&client_id={}", utf8_percent_encode(client_id, NON_ALPHANUMERIC)));
    }
    HttpRequest {
        method: "GET".to_string(),
        url,
        headers: vec![("X-IDENTITY-HEADER".to_string(), identity.header.clone())],
        body: Vec::new(),
    }
}

/// Reads `access_token` and `expires_on` from a token response.
pub fn parse_token_response(response: &HttpResponse) -> Result<AccessToken, UpstreamError> {
    if !response.is_success() {
        let code = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str().map(str::to_string)));
        return Err(UpstreamError::from_status(Service::ManagedIdentity, response, code));
    }
    let value: Value = serde_json::from_slice(&response.body)
        .map_err(|_| UpstreamError::invalid_response(Service::ManagedIdentity, "token response is not JSON"))?;
    let secret = value
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| UpstreamError::invalid_response(Service::ManagedIdentity, "token response has no access_token"))?;
    Ok(AccessToken { secret: secret.to_string(), expires_on: value.get("expires_on").and_then(epoch_seconds) })
}

/// Reads epoch seconds sent as a string (App Service) or as a number.
fn epoch_seconds(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => text.parse().ok(),
        other => other.as_i64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(client_id: Option<&str>) -> ManagedIdentity {
        ManagedIdentity {
            endpoint: "http://127.0.0.1:8081/msi/token".to_string(),
            header: "header-secret".to_string(),
            client_id: client_id.map(str::to_string),
        }
    }

    #[test]
    fn token_request_carries_resource_version_and_header() {
        let request = token_request(&identity(Some("abc-123")), "https://vault.azure.net");
        assert_eq!(
            request.url,
            "http://127.0.0.1:8081/msi/token?resource=https%3A%2F%2Fvault%2Eazure%2Enet&api-version=2019-08-01&client_id=abc%2D123"
        );
        assert_eq!(request.header("x-identity-header"), Some("header-secret"));
    }

    #[test]
    fn token_response_parses_and_redacts() {
        let body = br#"{"access_token":"eyJ0eXAi","expires_on":"1796420000","resource":"https://vault.azure.net","token_type":"Bearer"}"#;
        let response = HttpResponse { status: 200, headers: vec![], body: body.to_vec() };
        let token = parse_token_response(&response).unwrap();
        assert_eq!(token.secret, "eyJ0eXAi");
        assert_eq!(token.expires_on, Some(1796420000));
        assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
    }

    #[test]
    fn token_expiry_as_number_or_missing() {
        let response = HttpResponse { status: 200, headers: vec![], body: br#"{"access_token":"t","expires_on":1796420000}"#.to_vec() };
        assert_eq!(parse_token_response(&response).unwrap().expires_on, Some(1796420000));
        let response = HttpResponse { status: 200, headers: vec![], body: br#"{"access_token":"t"}"#.to_vec() };
        assert_eq!(parse_token_response(&response).unwrap().expires_on, None);
    }

    #[test]
    fn token_error_is_classified() {
        let response = HttpResponse { status: 400, headers: vec![], body: br#"{"error":"invalid_request"}"#.to_vec() };
        let error = parse_token_response(&response).unwrap_err();
        assert_eq!(error.to_string(), "the managed identity endpoint: status 400 (invalid_request)");
    }
}
