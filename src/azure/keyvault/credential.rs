//! Managed identity tokens (App Service / Functions, see
//! [`crate::azure::identity`]) as the SDK's `TokenCredential`.

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::{Error, ErrorKind};
use azure_core::time::{Duration, OffsetDateTime};

use super::http_client::AssertSend;
use super::resource_for_scopes;
use crate::azure::identity;
use crate::config::ManagedIdentity;
use crate::wasi_transport::WasiTransport;

/// Lifetime assumed for a token whose response has no `expires_on`. The
/// SDK fetches a new token when less than 5 minutes remain, and a client
/// lives for one request, so 10 minutes covers it.
const ASSUMED_TOKEN_LIFETIME: Duration = Duration::minutes(10);

/// Fetches tokens from the managed identity endpoint. `Debug` shows the
/// endpoint and client id, never the identity header.
#[derive(Debug)]
pub struct ManagedIdentityCredential {
    identity: ManagedIdentity,
}

impl ManagedIdentityCredential {
    pub fn new(identity: ManagedIdentity) -> Self {
        ManagedIdentityCredential { identity }
    }
}

#[async_trait]
impl TokenCredential for ManagedIdentityCredential {
    /// Returns a token for the one scope the SDK requests. A failure of the
    /// endpoint is returned as an [`ErrorKind::Credential`] error whose
    /// source is the [`crate::azure::UpstreamError`].
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let resource = resource_for_scopes(scopes).ok_or_else(|| {
            Error::with_message(
                ErrorKind::Credential,
                format!("expected one token scope, got {}; the identity endpoint takes one resource", scopes.len()),
            )
        })?;

        let token = AssertSend::new(identity::fetch_token(&WasiTransport, &self.identity, resource))
            .await
            .map_err(|error| Error::new(ErrorKind::Credential, error))?;

        let expires_on = token
            .expires_on
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .unwrap_or_else(|| OffsetDateTime::now_utc() + ASSUMED_TOKEN_LIFETIME);
        Ok(AccessToken::new(token.secret, expires_on))
    }
}
