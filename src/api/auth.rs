//! Authentication: turning a request's credential into a [`Principal`],
//! and the audit entry of every request that is turned away.

use std::time::SystemTime;

use super::error::ApiError;
use super::request::ApiRequest;
use crate::access::identity::{Credential, credential_of};
use crate::access::keys::{parse_key, secrets_equal, verify_key};
use crate::access::{Principal, Scope};
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
                return Ok(Principal { actor: ADMIN_KEY_ACTOR.to_string(), role: crate::access::Role::Admin, scope: Scope::All, export: false });
            }
            authenticate_key(text, &hash_secret.0, keys, now).await
        }
        Credential::EasyAuth { name, id } => {
            let roles = access.easy_auth.as_deref().unwrap_or_default();
            let actor = format!("easyauth:{}", name.or(id).unwrap_or_default());
            let role = roles
                .iter()
                .find(|(principal, _)| Some(principal.as_str()) == name || Some(principal.as_str()) == id)
                .map(|(_, role)| *role);
            match role {
                Some(role) => Ok(Principal { actor, role, scope: Scope::All, export: false }),
                None => Err(denied(
                    actor,
                    ApiError::forbidden("this signed-in principal has no role here; an operator maps principals to roles in SHAREDMFA_EASY_AUTH_ROLES"),
                )),
            }
        }
    }
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
