//! The native stand-in for [`KeyVaultClient`]. The Azure SDK crates are
//! built for wasm32 only, and no native code path calls Key Vault: the host
//! shim reads the configuration, and native unit tests do not reach a vault.
//! This type keeps `store::secrets` and `api` compiling natively.

use crate::azure::error::{Service, UpstreamError, UpstreamErrorKind};
use crate::config::ManagedIdentity;

/// Key Vault client that fails every call: Key Vault is reached only from
/// the wasm32 component.
pub struct KeyVaultClient;

impl KeyVaultClient {
    pub fn new(_vault_url: &str, _identity: &ManagedIdentity) -> Self {
        KeyVaultClient
    }

    pub async fn set_secret(&self, _name: &str, _value: &str) -> Result<(), UpstreamError> {
        Err(not_built())
    }

    pub async fn get_secret(&self, _name: &str) -> Result<Option<String>, UpstreamError> {
        Err(not_built())
    }

    pub async fn delete_secret(&self, _name: &str) -> Result<(), UpstreamError> {
        Err(not_built())
    }
}

fn not_built() -> UpstreamError {
    UpstreamError {
        service: Service::KeyVault,
        kind: UpstreamErrorKind::Unavailable,
        message: "the Key Vault client is built only for the wasm32 component; run the component".to_string(),
    }
}
