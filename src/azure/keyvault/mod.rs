//! Key Vault secrets over the REST API, version 7.4.
//!
//! Calls: `PUT /secrets/{name}` (set), `GET /secrets/{name}` (latest
//! version), `DELETE /secrets/{name}` (soft delete; the name stays taken
//! until purged). Errors arrive as `{"error": {"code", "message"}}`. A 401
//! carries `WWW-Authenticate: Bearer authorization="...", resource="..."`;
//! the client then fetches a token for the resource the vault names and
//! retries once, which covers sovereign clouds whose vaults expect another
//! audience than `https://vault.azure.net`.

use std::cell::RefCell;

use serde_json::{Value, json};

use super::error::{Service, UpstreamError};
use super::identity::{self, AccessToken};
use crate::config::ManagedIdentity;
use crate::transport::{HttpRequest, HttpResponse, Transport};

pub const API_VERSION: &str = "7.4";

/// Token audience for Key Vault in the public cloud.
pub const DEFAULT_RESOURCE: &str = "https://vault.azure.net";

/// Content type stored with each seed, so people browsing the vault can
/// tell what the secret holds.
pub const SEED_CONTENT_TYPE: &str = "application/x-sharedmfa-totp-seed; encoding=base32";

/// Key Vault client for one vault. Tokens are cached for the life of the
/// client, which is one HTTP request of the component.
pub struct KeyVaultClient<'a, T> {
    transport: &'a T,
    vault_url: &'a str,
    identity: &'a ManagedIdentity,
    token: RefCell<Option<(String, AccessToken)>>,
}

impl<'a, T: Transport> KeyVaultClient<'a, T> {
    pub fn new(transport: &'a T, vault_url: &'a str, identity: &'a ManagedIdentity) -> Self {
        KeyVaultClient { transport, vault_url, identity, token: RefCell::new(None) }
    }

    /// Stores `value` as the latest version of secret `name`.
    pub async fn set_secret(&self, name: &str, value: &str) -> Result<(), UpstreamError> {
        let body = json!({
            "value": value,
            "contentType": SEED_CONTENT_TYPE,
            "tags": { "managed-by": "sharedmfa" },
        });
        let body = serde_json::to_vec(&body).expect("JSON serializes");
        let response = self.call("PUT", name, body).await?;
        if response.is_success() { Ok(()) } else { Err(vault_error(&response)) }
    }

    /// Returns the latest value of secret `name`, or `None` if there is none.
    pub async fn get_secret(&self, name: &str) -> Result<Option<String>, UpstreamError> {
        let response = self.call("GET", name, Vec::new()).await?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(vault_error(&response));
        }
        parse_secret_value(&response.body).map(Some)
    }

    /// Soft-deletes secret `name`. A missing secret counts as deleted.
    pub async fn delete_secret(&self, name: &str) -> Result<(), UpstreamError> {
        let response = self.call("DELETE", name, Vec::new()).await?;
        if response.is_success() || response.status == 404 {
            return Ok(());
        }
        Err(vault_error(&response))
    }

    async fn call(&self, method: &str, name: &str, body: Vec<u8>) -> Result<HttpResponse, UpstreamError> {
        let resource = self.cached_resource().unwrap_or_else(|| DEFAULT_RESOURCE.to_string());
        let token = self.token_for(&resource).await?;
        let response = self.send(secret_request(self.vault_url, method, name, &token, body.clone())).await?;
        if response.status != 401 {
            return Ok(response);
        }

        let Some(challenge_resource) = response.header("WWW-Authenticate").and_then(challenge_resource) else {
            return Ok(response);
        };
        // The vault refused a token for the audience it names itself:
        // fetching the same token again would not help.
        if challenge_resource == resource {
            return Ok(response);
        }
        let token = self.token_for(&challenge_resource).await?;
        self.send(secret_request(self.vault_url, method, name, &token, body)).await
    }

    fn cached_resource(&self) -> Option<String> {
        self.token.borrow().as_ref().map(|(resource, _)| resource.clone())
    }

    async fn token_for(&self, resource: &str) -> Result<AccessToken, UpstreamError> {
        if let Some((cached, token)) = self.token.borrow().as_ref() {
            if cached == resource {
                return Ok(token.clone());
            }
        }
        let token = identity::fetch_token(self.transport, self.identity, resource).await?;
        *self.token.borrow_mut() = Some((resource.to_string(), token.clone()));
        Ok(token)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, UpstreamError> {
        self.transport.send(request).await.map_err(|e| UpstreamError::transport(Service::KeyVault, e))
    }
}

/// Builds a request on `/secrets/{name}` with a bearer token.
pub fn secret_request(vault_url: &str, method: &str, name: &str, token: &AccessToken, body: Vec<u8>) -> HttpRequest {
    let mut headers = vec![("Authorization".to_string(), format!("Bearer {}", token.0))];
    if !body.is_empty() {
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
    }
    HttpRequest {
        method: method.to_string(),
        url: format!("{vault_url}/secrets/{name}?api-version={API_VERSION}"),
        headers,
        body,
    }
}

/// Reads `value` from a SecretBundle.
pub fn parse_secret_value(body: &[u8]) -> Result<String, UpstreamError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| UpstreamError::invalid_response(Service::KeyVault, "secret bundle is not JSON"))?;
    value
        .get("value")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| UpstreamError::invalid_response(Service::KeyVault, "secret bundle has no value"))
}

/// Reads `resource="..."` (or the older `scope="..."` minus `/.default`)
/// from a `WWW-Authenticate: Bearer ...` challenge.
pub fn challenge_resource(header: &str) -> Option<String> {
    let params = header.trim().strip_prefix("Bearer")?;
    let mut scope = None;
    for part in params.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else { continue };
        let value = value.trim().trim_matches('"').to_string();
        match name.trim() {
            "resource" => return Some(value),
            "scope" => scope = Some(value.trim_end_matches("/.default").to_string()),
            _ => {}
        }
    }
    scope
}

fn vault_error(response: &HttpResponse) -> UpstreamError {
    let code = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| v.get("error")?.get("code")?.as_str().map(str::to_string));
    UpstreamError::from_status(Service::KeyVault, response, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_request_shape() {
        let token = AccessToken("tok".into());
        let request = secret_request("https://team.vault.azure.net", "PUT", "abc", &token, b"{}".to_vec());
        assert_eq!(request.url, "https://team.vault.azure.net/secrets/abc?api-version=7.4");
        assert_eq!(request.header("authorization"), Some("Bearer tok"));
        assert_eq!(request.header("content-type"), Some("application/json"));
    }

    #[test]
    fn published_get_example_parses() {
        let example: Value = serde_json::from_str(include_str!("../../tests/fixtures/keyvault/GetSecret-example.json")).unwrap();
        let body = serde_json::to_vec(&example["responses"]["200"]["body"]).unwrap();
        assert_eq!(parse_secret_value(&body).unwrap(), "mysecretvalue");
    }

    #[test]
    fn challenge_resource_forms() {
        let header = r#"Bearer authorization="https://login.microsoftonline.com/72f988bf", resource="https://vault.azure.net""#;
        assert_eq!(challenge_resource(header).as_deref(), Some("https://vault.azure.net"));
        let header = r#"Bearer authorization="https://login.microsoftonline.us/x", scope="https://vault.usgovcloudapi.net/.default""#;
        assert_eq!(challenge_resource(header).as_deref(), Some("https://vault.usgovcloudapi.net"));
        assert_eq!(challenge_resource("Basic realm=x"), None);
    }

    #[test]
    fn vault_error_reads_code() {
        let response = HttpResponse {
            status: 404,
            headers: vec![],
            body: br#"{"error":{"code":"SecretNotFound","message":"A secret with (name/id) x was not found in this key vault."}}"#.to_vec(),
        };
        assert_eq!(vault_error(&response).to_string(), "Key Vault: status 404 (SecretNotFound)");
    }
}
