//! [`KeyVaultClient`]: set, get and delete secrets through the SDK's
//! `SecretClient`, with errors mapped to [`UpstreamError`].

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;

use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, RequestContent, RetryOptions, StatusCode, Transport};
use azure_security_keyvault_secrets::models::{Secret, SetSecretParameters};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};

use super::credential::ManagedIdentityCredential;
use super::http_client::WasiHttpClient;
use super::runtime::{self, BoundedRetryPolicy};
use super::{API_VERSION, MANAGED_BY_TAG, SEED_CONTENT_TYPE, SdkFailure, upstream_error, verifies_challenge_resource};
use crate::azure::error::{Service, UpstreamError, UpstreamErrorKind};
use crate::config::ManagedIdentity;
use crate::transport::TransportError;

/// Key Vault client for one vault. It lives for one HTTP request of the
/// component, and so do its cached challenge scope and token.
pub struct KeyVaultClient {
    /// The SDK client, or why it could not be built from the vault URL.
    client: Result<SecretClient, UpstreamError>,
}

impl KeyVaultClient {
    pub fn new(vault_url: &str, identity: &ManagedIdentity) -> Self {
        runtime::install();

        let options = SecretClientOptions {
            api_version: API_VERSION.to_string(),
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(WasiHttpClient))),
                retry: RetryOptions::custom(Arc::new(BoundedRetryPolicy::new())),
                ..ClientOptions::default()
            },
            verify_challenge_resource: Some(verifies_challenge_resource(vault_url)),
        };
        let credential = Arc::new(ManagedIdentityCredential::new(identity.clone()));
        let client = SecretClient::new(vault_url, credential, Some(options)).map_err(|_| UpstreamError {
            service: Service::KeyVault,
            kind: UpstreamErrorKind::InvalidResponse,
            message: format!("the vault URL {vault_url:?} was rejected by the SDK; check KEY_VAULT_URL"),
        });
        KeyVaultClient { client }
    }

    /// Stores `value` as the latest version of secret `name`.
    pub async fn set_secret(&self, name: &str, value: &str) -> Result<(), UpstreamError> {
        let client = self.client()?;
        let parameters = SetSecretParameters {
            value: Some(value.to_string()),
            content_type: Some(SEED_CONTENT_TYPE.to_string()),
            tags: Some(HashMap::from([(MANAGED_BY_TAG.0.to_string(), MANAGED_BY_TAG.1.to_string())])),
            ..SetSecretParameters::default()
        };
        let content: RequestContent<SetSecretParameters> =
            parameters.try_into().map_err(|_| UpstreamError::invalid_response(Service::KeyVault, "the secret could not be serialized"))?;

        client.set_secret(name, content, None).await.map_err(|error| to_upstream(&error))?;
        Ok(())
    }

    /// Returns the latest value of secret `name`, or `None` if there is none.
    pub async fn get_secret(&self, name: &str) -> Result<Option<String>, UpstreamError> {
        let client = self.client()?;
        let response = match client.get_secret(name, None).await {
            Ok(response) => response,
            Err(error) if error.http_status() == Some(StatusCode::NotFound) => return Ok(None),
            Err(error) => return Err(to_upstream(&error)),
        };

        let secret: Secret = response.into_model().map_err(|_| upstream_error(SdkFailure::UnreadableResponse))?;
        secret
            .value
            .map(Some)
            .ok_or_else(|| UpstreamError::invalid_response(Service::KeyVault, "secret bundle has no value"))
    }

    /// Soft-deletes secret `name`. A missing secret counts as deleted.
    pub async fn delete_secret(&self, name: &str) -> Result<(), UpstreamError> {
        let client = self.client()?;
        match client.delete_secret(name, None).await {
            Ok(_) => Ok(()),
            Err(error) if error.http_status() == Some(StatusCode::NotFound) => Ok(()),
            Err(error) => Err(to_upstream(&error)),
        }
    }

    fn client(&self) -> Result<&SecretClient, UpstreamError> {
        self.client.as_ref().map_err(Clone::clone)
    }
}

fn to_upstream(error: &azure_core::Error) -> UpstreamError {
    upstream_error(failure_of(error))
}

/// Reduces an SDK error to an [`SdkFailure`]. Managed identity and transport
/// errors are found by their type in the error's source chain, where the
/// credential and the HTTP client put them.
fn failure_of(error: &azure_core::Error) -> SdkFailure {
    if let Some(identity_error) = find_source::<UpstreamError>(error) {
        return SdkFailure::Identity(identity_error.clone());
    }
    match error.kind() {
        ErrorKind::HttpResponse { status, error_code, .. } => {
            SdkFailure::Status { status: u16::from(*status), code: error_code.clone() }
        }
        ErrorKind::Connection | ErrorKind::Io => {
            let message = find_source::<TransportError>(error)
                .map(|transport| transport.message.clone())
                .unwrap_or_else(|| "no response was received".to_string());
            SdkFailure::Transport { message }
        }
        ErrorKind::DataConversion => SdkFailure::UnreadableResponse,
        _ => SdkFailure::Refused,
    }
}

fn find_source<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}
