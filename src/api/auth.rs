//! Authentication: turning a request's credential into a [`Principal`], or
//! into a [`Denied`] that names the actor for the audit entry.

use std::time::SystemTime;

use super::error::ApiError;
use super::request::ApiRequest;
use crate::access::identity::{Credential, credential_of};
use crate::access::keys::{parse_key, secrets_equal, verify_key};
use crate::access::{Principal, Role, Scope};
use crate::config::{ADMIN_KEY_VAR, AccessConfig};
use crate::log;
use crate::rfc3339;
use crate::store::keys::KeyStore;
use crate::transport::Transport;

/// Actor recorded for the bootstrap admin key.
pub const ADMIN_KEY_ACTOR: &str = "admin-key";
/// Actor recorded when a request names no usable identity.
pub const ANONYMOUS_ACTOR: &str = "anonymous";

/// A request turned away: the response, and who to record it against.
#[derive(Debug)]
pub struct Denied {
    pub error: ApiError,
    pub actor: String,
}

fn denied(actor: impl Into<String>, error: ApiError) -> Denied {
    Denied { error, actor: actor.into() }
}

/// The same message for every wrong key, so a caller learns nothing about
/// which part was wrong or whether the id exists.
const INVALID_KEY: &str = "the API key is not valid; ask an admin for a key (POST /api/keys)";

/// Identifies the caller. Errors are 401 (no or bad credential), 403 (an
/// Easy Auth principal without a role), 503 (no admin key configured) or a
/// storage error while reading the key record.
pub async fn authenticate<T: Transport>(
    request: &ApiRequest,
    access: &AccessConfig,
    keys: &KeyStore<'_, T>,
    now: SystemTime,
) -> Result<Principal, Denied> {
    let (Some(admin_key), Some(hash_secret)) = (&access.admin_key, &access.hash_secret) else {
        return Err(denied(
            ANONYMOUS_ACTOR,
            ApiError::not_configured(format!(
                "{ADMIN_KEY_VAR} is not set, so the API is closed; set it to at least 32 random characters (openssl rand -base64 32) and restart"
            )),
        ));
    };

    match credential_of(request, access.easy_auth.is_some()) {
        Credential::None => Err(denied(
            ANONYMOUS_ACTOR,
            ApiError::unauthorized("credentials are missing; send Authorization: Bearer <API key>"),
        )),
        Credential::Key(text) => {
            if secrets_equal(&hash_secret.0, text.as_bytes(), &admin_key.0) {
                return Ok(Principal { actor: ADMIN_KEY_ACTOR.to_string(), role: Role::Admin, scope: Scope::All, export: false });
            }
            authenticate_key(text, &hash_secret.0, keys, now).await
        }
        Credential::EasyAuth { name, id, roles } => {
            let actor = format!("easyauth:{}", name.or(id).unwrap_or_default());
            let mapping = access.easy_auth.as_deref().unwrap_or_default();
            match easy_auth_role(mapping, name, id, &roles) {
                Some(role) => Ok(Principal { actor, role, scope: Scope::All, export: false }),
                None => Err(denied(
                    actor,
                    ApiError::forbidden("this signed-in principal has no role here; an operator maps principals to roles in SHAREDMFA_EASY_AUTH_ROLES"),
                )),
            }
        }
    }
}

/// Returns the highest role that `mapping` gives the principal: by name or
/// id, or by one of its role claims through a `role:<claim value>` entry.
fn easy_auth_role(mapping: &[(String, Role)], name: Option<&str>, id: Option<&str>, roles: &[String]) -> Option<Role> {
    let matches = |entry: &str| {
        Some(entry) == name
            || Some(entry) == id
            || entry.strip_prefix("role:").is_some_and(|claim| roles.iter().any(|role| role == claim))
    };
    mapping.iter().filter(|(entry, _)| matches(entry)).map(|(_, role)| *role).max()
}

async fn authenticate_key<T: Transport>(
    text: &str,
    hash_secret: &[u8],
    keys: &KeyStore<'_, T>,
    now: SystemTime,
) -> Result<Principal, Denied> {
    let Some(presented) = parse_key(text) else {
        return Err(denied(ANONYMOUS_ACTOR, ApiError::unauthorized(INVALID_KEY)));
    };
    let actor = format!("key:{}", presented.id);

    let record = match keys.get(presented.id).await {
        Ok(Some(Ok(record))) => record,
        Ok(Some(Err(reason))) => {
            log::error("api_key_unreadable", &[("key_id", presented.id), ("error", &reason)]);
            return Err(denied(actor, ApiError::unauthorized(INVALID_KEY)));
        }
        Ok(None) => return Err(denied(actor, ApiError::unauthorized(INVALID_KEY))),
        Err(error) => {
            log::error("api_key_read_failed", &[("key_id", presented.id), ("error", &error.to_string())]);
            return Err(denied(actor, ApiError::from_upstream(&error)));
        }
    };

    if !verify_key(hash_secret, &presented, &record.hash) {
        return Err(denied(actor, ApiError::unauthorized(INVALID_KEY)));
    }
    if let Some(revoked) = &record.revoked {
        return Err(denied(actor, ApiError::unauthorized(format!("the API key was revoked at {revoked}; ask an admin for a new one"))));
    }
    if let Some(expires) = &record.expires {
        let expired = rfc3339::parse(expires).is_none_or(|expires| now >= expires);
        if expired {
            return Err(denied(actor, ApiError::unauthorized(format!("the API key expired at {expires}; ask an admin for a new one"))));
        }
    }
    Ok(Principal { actor, role: record.role, scope: record.scope, export: record.export })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::tables::TableClient;
    use crate::config::parse_connection_string;
    use crate::config::access::{EASY_AUTH_ROLES_VAR, EASY_AUTH_VAR};
    use crate::transport::{HttpRequest, HttpResponse, TransportError};
    use std::collections::HashMap;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// A transport with no storage behind it: every request fails at once.
    struct NoStorage;

    impl Transport for NoStorage {
        async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
            Err(TransportError { message: "no storage in this test".into() })
        }
    }

    /// Polls a future that never waits, as every future over `NoStorage` is.
    fn ready<F: Future>(future: F) -> F::Output {
        let mut context = Context::from_waker(Waker::noop());
        match pin!(future).poll(&mut context) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("future waited, but NoStorage never does"),
        }
    }

    const ADMIN: &str = "test-admin-key-0123456789abcdefghijklmnop";

    fn access(pairs: &[(&str, &str)]) -> AccessConfig {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        AccessConfig::from_lookup(&|name: &str| map.get(name).map(|v| v.to_string())).unwrap()
    }

    fn authenticate_with(access: &AccessConfig, headers: &[(&str, &str)]) -> Result<Principal, Denied> {
        let account = parse_connection_string("UseDevelopmentStorage=true").unwrap();
        let keys = KeyStore::new(TableClient::new(&NoStorage, &account), "apikeys");
        let request = ApiRequest {
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..ApiRequest::default()
        };
        ready(authenticate(&request, access, &keys, SystemTime::now()))
    }

    #[test]
    fn admin_key_is_an_admin_for_all_apps() {
        let principal = authenticate_with(&access(&[(ADMIN_KEY_VAR, ADMIN)]), &[("Authorization", &format!("Bearer {ADMIN}"))]).unwrap();
        assert_eq!(principal.actor, ADMIN_KEY_ACTOR);
        assert_eq!(principal.role, Role::Admin);
        assert_eq!(principal.scope, Scope::All);
        assert!(!principal.export);
    }

    #[test]
    fn missing_or_wrong_credentials_are_401() {
        let access = access(&[(ADMIN_KEY_VAR, ADMIN)]);
        let denied = authenticate_with(&access, &[]).unwrap_err();
        assert_eq!((denied.error.status, denied.actor.as_str()), (401, ANONYMOUS_ACTOR));
        let denied = authenticate_with(&access, &[("X-API-Key", &ADMIN[1..])]).unwrap_err();
        assert_eq!(denied.error.status, 401);
        assert!(denied.error.challenge);
    }

    #[test]
    fn unreadable_key_store_is_503_not_401() {
        let denied = authenticate_with(&access(&[(ADMIN_KEY_VAR, ADMIN)]), &[("X-API-Key", "smfa_0123456789abcdef_secret")]).unwrap_err();
        assert_eq!((denied.error.status, denied.error.code), (503, "storage_unavailable"));
        assert_eq!(denied.actor, "key:0123456789abcdef");
    }

    #[test]
    fn no_admin_key_closes_the_api() {
        let denied = authenticate_with(&access(&[]), &[("Authorization", &format!("Bearer {ADMIN}"))]).unwrap_err();
        assert_eq!((denied.error.status, denied.error.code), (503, "not_configured"));
        assert!(denied.error.message.contains(ADMIN_KEY_VAR));
    }

    #[test]
    fn easy_auth_principals_map_to_roles() {
        let access = access(&[(ADMIN_KEY_VAR, ADMIN), (EASY_AUTH_VAR, "on"), (EASY_AUTH_ROLES_VAR, "alice=editor")]);
        let principal = authenticate_with(&access, &[("X-MS-CLIENT-PRINCIPAL-NAME", "alice")]).unwrap();
        assert_eq!((principal.actor.as_str(), principal.role), ("easyauth:alice", Role::Editor));
        let denied = authenticate_with(&access, &[("X-MS-CLIENT-PRINCIPAL-NAME", "mallory")]).unwrap_err();
        assert_eq!((denied.error.status, denied.actor.as_str()), (403, "easyauth:mallory"));
    }

    #[test]
    fn easy_auth_role_claims_pick_the_highest_role() {
        let mapping = vec![
            ("role:MfaReaders".to_string(), Role::Reader),
            ("role:MfaEditors".to_string(), Role::Editor),
            ("carol".to_string(), Role::Reader),
        ];
        let both = ["MfaReaders".to_string(), "MfaEditors".to_string()];
        assert_eq!(easy_auth_role(&mapping, Some("carol"), None, &both), Some(Role::Editor));
        assert_eq!(easy_auth_role(&mapping, Some("dave"), None, &["MfaReaders".to_string()]), Some(Role::Reader));
        assert_eq!(easy_auth_role(&mapping, Some("dave"), None, &["role:MfaEditors".to_string()]), None);
        assert_eq!(easy_auth_role(&mapping, Some("dave"), None, &[]), None);
    }
}
