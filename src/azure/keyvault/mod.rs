//! Key Vault secrets through the Azure SDK for Rust
//! (`azure_security_keyvault_secrets` 1.0 on `azure_core` 1.1).
//!
//! Calls, on REST API version 7.4: `PUT /secrets/{name}` (set), `GET
//! /secrets/{name}/` (latest version), `DELETE /secrets/{name}` (soft
//! delete; the name stays taken until purged). A client's first call goes
//! without a token and without its body. The vault returns 401 with
//! `WWW-Authenticate: Bearer authorization="...", resource="..."`, and the
//! SDK fetches a token for that resource and sends the call again. Sovereign
//! clouds whose vaults expect another audience are covered that way.
//!
//! The SDK runs only inside the wasm32 component:
//! - `client`: [`KeyVaultClient`] over the SDK's `SecretClient`.
//! - `credential`: managed identity tokens as an SDK `TokenCredential`.
//! - `http_client`: the SDK's `HttpClient` over `wasi:http`.
//! - `runtime`: sleep on the WASI monotonic clock and the retry policy.
//!
//! This file keeps what does not need the SDK, so it is unit-tested
//! natively: the scope-to-resource mapping, when the vault's challenge is
//! checked against its host, the retry delays, and the error mapping.

use std::time::Duration;

use url::Url;

use super::error::{Service, UpstreamError, UpstreamErrorKind};

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod credential;
#[cfg(target_arch = "wasm32")]
mod http_client;
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(not(target_arch = "wasm32"))]
mod unsupported;

#[cfg(target_arch = "wasm32")]
pub use client::KeyVaultClient;
#[cfg(not(target_arch = "wasm32"))]
pub use unsupported::KeyVaultClient;

/// REST API version sent to the vault. The SDK defaults to 2025-07-01; 7.4
/// keeps the requests this service has always sent, and the fields it reads
/// (`value`, `contentType`, `tags`) are the same in both.
pub const API_VERSION: &str = "7.4";

/// Content type stored with each seed, so people browsing the vault can
/// tell what the secret holds.
pub const SEED_CONTENT_TYPE: &str = "application/x-sharedmfa-totp-seed; encoding=base32";

/// Tag stored with each seed: name and value.
pub const MANAGED_BY_TAG: (&str, &str) = ("managed-by", "sharedmfa");

/// Retries after the first attempt of one vault call. Each request to the
/// component must finish within the host's 30 s limit and may make several
/// vault and table calls, so a call gets at most three attempts.
pub const MAX_RETRIES: u32 = 2;

/// Delay before the first retry. Each later retry waits four times longer,
/// up to [`MAX_RETRY_DELAY`].
pub const INITIAL_RETRY_DELAY: Duration = Duration::from_millis(200);

/// Maximum wait before one retry, also when the vault's `Retry-After`
/// requests more. The waits of one call add up to at most 1.6 s. When the
/// vault needs longer, the client gets a 503 and can retry later.
pub const MAX_RETRY_DELAY: Duration = Duration::from_millis(800);

/// Host suffixes of Key Vault and Managed HSM in the Azure public, China,
/// US Government and Germany clouds.
const AZURE_VAULT_HOST_SUFFIXES: &[&str] = &[
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".vault.microsoftazure.de",
    ".managedhsm.azure.net",
];

/// Returns the wait before retry number `retry` (1 for the first retry):
/// 200 ms, then 800 ms. A `Retry-After` from the vault is honoured up to
/// [`MAX_RETRY_DELAY`].
pub fn retry_delay(retry: u32, retry_after: Option<Duration>) -> Duration {
    let growth = 4u32.saturating_pow(retry.saturating_sub(1));
    let policy_delay = INITIAL_RETRY_DELAY.saturating_mul(growth).min(MAX_RETRY_DELAY);
    match retry_after {
        Some(requested) => requested.clamp(policy_delay, MAX_RETRY_DELAY),
        None => policy_delay,
    }
}

/// Returns whether the SDK should check that the vault host ends with
/// `.{host of the challenge's resource}` before it fetches a token for that
/// resource. True for vaults under an Azure vault domain.
///
/// NOTE: the check is off for any other host, such as a `KEY_VAULT_URL` on
/// 127.0.0.1 or behind a private DNS name, because such a host can never pass
/// it. Such a vault can then name any resource in its challenge and receive
/// a managed identity token for it. Use an Azure vault URL in production.
pub fn verifies_challenge_resource(vault_url: &str) -> bool {
    let Ok(url) = Url::parse(vault_url) else {
        return true;
    };
    let Some(host) = url.host_str() else {
        return true;
    };
    let host = host.to_ascii_lowercase();
    AZURE_VAULT_HOST_SUFFIXES.iter().any(|suffix| host.ends_with(suffix))
}

/// Returns the resource (token audience) that the App Service identity
/// endpoint expects for an Entra ID scope:
/// `https://vault.azure.net/.default` becomes `https://vault.azure.net`.
/// The SDK requests exactly one scope, and other counts return `None`.
pub fn resource_for_scopes<'a>(scopes: &[&'a str]) -> Option<&'a str> {
    match scopes {
        [scope] => Some(scope.strip_suffix("/.default").unwrap_or(scope)),
        _ => None,
    }
}

/// The cause of a failed SDK call, reduced to what the status mapping needs. The
/// client builds it from an `azure_core::Error`, and no field contains a
/// secret value, a token or a header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkFailure {
    /// The vault returned a status the SDK treats as failure, after
    /// retries; `code` is the Key Vault error code from the body.
    Status { status: u16, code: Option<String> },
    /// No response: connection, TLS or I/O failure, after retries.
    Transport { message: String },
    /// The managed identity endpoint failed with this error.
    Identity(UpstreamError),
    /// The vault's response could not be read.
    UnreadableResponse,
    /// The SDK stopped the call itself, such as for a challenge that names
    /// a resource outside the vault's domain. The SDK's message is not kept
    /// because it can quote the challenge header.
    Refused,
}

/// Maps an SDK failure to the error every Azure client here returns, so
/// the API's status mapping stays the one in `api::error`.
pub fn upstream_error(failure: SdkFailure) -> UpstreamError {
    match failure {
        SdkFailure::Status { status, code } => UpstreamError::from_status_code(Service::KeyVault, status, code),
        SdkFailure::Transport { message } => UpstreamError {
            service: Service::KeyVault,
            kind: UpstreamErrorKind::Unavailable,
            message: format!("request failed: {message}"),
        },
        SdkFailure::Identity(error) => error,
        SdkFailure::UnreadableResponse => {
            UpstreamError::invalid_response(Service::KeyVault, "the secret bundle could not be parsed")
        }
        SdkFailure::Refused => UpstreamError {
            service: Service::KeyVault,
            kind: UpstreamErrorKind::InvalidResponse,
            message: "the SDK stopped the call, for example on a challenge for a resource outside the vault's domain"
                .to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_cap() {
        assert_eq!(retry_delay(1, None), Duration::from_millis(200));
        assert_eq!(retry_delay(2, None), Duration::from_millis(800));
        assert_eq!(retry_delay(3, None), Duration::from_millis(800));
        assert_eq!(retry_delay(40, None), Duration::from_millis(800));
    }

    #[test]
    fn retry_after_is_capped() {
        assert_eq!(retry_delay(1, Some(Duration::from_secs(3600))), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(1, Some(Duration::from_millis(500))), Duration::from_millis(500));
        assert_eq!(retry_delay(2, Some(Duration::ZERO)), Duration::from_millis(800));
    }

    #[test]
    fn retry_waits_stay_bounded() {
        let total: Duration = (1..=MAX_RETRIES).map(|retry| retry_delay(retry, Some(Duration::MAX))).sum();
        assert_eq!(total, Duration::from_millis(1600));
    }

    #[test]
    fn challenge_verified_for_azure_vault_hosts() {
        assert!(verifies_challenge_resource("https://team.vault.azure.net"));
        assert!(verifies_challenge_resource("https://Team.Vault.Azure.Net/"));
        assert!(verifies_challenge_resource("https://team.vault.azure.cn"));
        assert!(verifies_challenge_resource("https://team.vault.usgovcloudapi.net"));
        assert!(verifies_challenge_resource("https://team.vault.microsoftazure.de"));
        assert!(verifies_challenge_resource("https://hsm.managedhsm.azure.net"));
    }

    #[test]
    fn challenge_not_verified_for_custom_hosts() {
        assert!(!verifies_challenge_resource("https://127.0.0.1:8443"));
        assert!(!verifies_challenge_resource("https://vault.internal.example"));
        assert!(!verifies_challenge_resource("https://vault.azure.net.example.com"));
        assert!(!verifies_challenge_resource("https://hostvault.azure.net"));
    }

    #[test]
    fn scope_maps_to_resource() {
        assert_eq!(resource_for_scopes(&["https://vault.azure.net/.default"]), Some("https://vault.azure.net"));
        assert_eq!(
            resource_for_scopes(&["https://vault.usgovcloudapi.net/.default"]),
            Some("https://vault.usgovcloudapi.net")
        );
        assert_eq!(resource_for_scopes(&["https://vault.azure.net"]), Some("https://vault.azure.net"));
        assert_eq!(resource_for_scopes(&[]), None);
        assert_eq!(resource_for_scopes(&["a/.default", "b/.default"]), None);
    }

    #[test]
    fn status_failures_keep_the_status_mapping() {
        let forbidden = upstream_error(SdkFailure::Status { status: 403, code: Some("Forbidden".into()) });
        assert_eq!(forbidden.kind, UpstreamErrorKind::Rejected { status: 403, code: Some("Forbidden".into()) });
        assert_eq!(forbidden.to_string(), "Key Vault: status 403 (Forbidden)");

        let throttled = upstream_error(SdkFailure::Status { status: 429, code: None });
        assert_eq!(throttled.kind, UpstreamErrorKind::Unavailable);
        let failing = upstream_error(SdkFailure::Status { status: 503, code: Some("ServiceUnavailable".into()) });
        assert_eq!(failing.kind, UpstreamErrorKind::Unavailable);
    }

    #[test]
    fn other_failures_map_by_kind() {
        let transport = upstream_error(SdkFailure::Transport { message: "connection refused".into() });
        assert_eq!(transport.kind, UpstreamErrorKind::Unavailable);
        assert_eq!(transport.to_string(), "Key Vault: request failed: connection refused");

        let unreadable = upstream_error(SdkFailure::UnreadableResponse);
        assert_eq!(unreadable.kind, UpstreamErrorKind::InvalidResponse);

        let refused = upstream_error(SdkFailure::Refused);
        assert_eq!(refused.kind, UpstreamErrorKind::InvalidResponse);
        assert_eq!(refused.service, Service::KeyVault);
    }

    #[test]
    fn identity_failure_passes_through() {
        let identity = UpstreamError::from_status_code(Service::ManagedIdentity, 401, None);
        assert_eq!(upstream_error(SdkFailure::Identity(identity.clone())), identity);
    }
}
