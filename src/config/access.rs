//! Access settings: the bootstrap admin key, the secret that API key hashes
//! are keyed with, and the optional Easy Auth identity mapping.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{ConfigError, config_error};
use crate::access::Role;

/// The bootstrap admin key. Without it every route but `/api/health` is
/// rejected, so a fresh install is never open.
pub const ADMIN_KEY_VAR: &str = "SHAREDMFA_ADMIN_KEY";
/// Secret that API key hashes are keyed with (HMAC-SHA256). Optional: when
/// unset it is derived from the admin key.
pub const KEY_HASH_SECRET_VAR: &str = "SHAREDMFA_KEY_HASH_SECRET";
/// `on` to trust Azure App Service authentication (Easy Auth) headers.
pub const EASY_AUTH_VAR: &str = "SHAREDMFA_EASY_AUTH";
/// `principal=role` pairs separated by `;`, for Easy Auth principals. A
/// principal is a name, an object id, or `role:<role claim value>`.
pub const EASY_AUTH_ROLES_VAR: &str = "SHAREDMFA_EASY_AUTH_ROLES";

/// Shortest admin key and hash secret accepted, in characters. 32
/// characters of base64 carry 192 bits, beyond any guessing attack.
pub const MIN_SECRET_CHARS: usize = 32;

/// Domain label for deriving the hash secret from the admin key, so the
/// derived value is never equal to the admin key's own hash input.
const DERIVED_HASH_SECRET_LABEL: &[u8] = b"sharedmfa api key hash secret v1";

/// Access settings, already validated.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// `None` when `SHAREDMFA_ADMIN_KEY` is unset: then only health is served.
    pub admin_key: Option<Secret>,
    /// HMAC key for stored API key hashes; `None` exactly when `admin_key` is.
    pub hash_secret: Option<Secret>,
    /// Easy Auth principals and their roles; empty when Easy Auth is off.
    pub easy_auth: Option<Vec<(String, Role)>>,
}

/// A secret setting. `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl AccessConfig {
    /// Reads the access settings through `get`, which returns a trimmed,
    /// non-empty variable value.
    pub fn from_lookup<G>(get: &G) -> Result<AccessConfig, ConfigError>
    where
        G: Fn(&str) -> Option<String>,
    {
        let admin_key = get(ADMIN_KEY_VAR).map(|key| check_secret(ADMIN_KEY_VAR, key)).transpose()?;
        let explicit_hash_secret = get(KEY_HASH_SECRET_VAR).map(|key| check_secret(KEY_HASH_SECRET_VAR, key)).transpose()?;

        // Deriving the hash secret keeps a small install to one secret. The
        // price is that replacing the admin key invalidates every API key,
        // so installs that rotate it set SHAREDMFA_KEY_HASH_SECRET.
        let hash_secret = match (&admin_key, explicit_hash_secret) {
            (None, _) => None,
            (Some(_), Some(explicit)) => Some(explicit),
            (Some(admin), None) => Some(derive_hash_secret(admin)),
        };

        let easy_auth = match get(EASY_AUTH_VAR).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("off") => None,
            Some("on") => Some(parse_role_map(get(EASY_AUTH_ROLES_VAR))?),
            Some(other) => {
                return Err(config_error(EASY_AUTH_VAR, format!("{other:?} is not on or off")));
            }
        };

        Ok(AccessConfig { admin_key, hash_secret, easy_auth })
    }
}

fn check_secret(variable: &'static str, value: String) -> Result<Secret, ConfigError> {
    if value.chars().count() < MIN_SECRET_CHARS {
        return Err(config_error(
            variable,
            format!("is shorter than {MIN_SECRET_CHARS} characters; generate one with `openssl rand -base64 32`"),
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(config_error(variable, "contains whitespace or control characters; use base64 or hex"));
    }
    Ok(Secret(value.into_bytes()))
}

fn derive_hash_secret(admin_key: &Secret) -> Secret {
    let mut mac = Hmac::<Sha256>::new_from_slice(&admin_key.0).expect("HMAC accepts keys of any length");
    mac.update(DERIVED_HASH_SECRET_LABEL);
    Secret(mac.finalize().into_bytes().to_vec())
}

/// Parses `principal=role;principal=role`. A principal is matched against
/// the Easy Auth principal name or id headers.
fn parse_role_map(value: Option<String>) -> Result<Vec<(String, Role)>, ConfigError> {
    let value = value.ok_or_else(|| {
        config_error(EASY_AUTH_ROLES_VAR, "missing; with SHAREDMFA_EASY_AUTH=on, map principals to roles, e.g. alice@contoso.com=admin")
    })?;
    let mut map = Vec::new();
    for pair in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((principal, role)) = pair.rsplit_once('=') else {
            return Err(config_error(EASY_AUTH_ROLES_VAR, format!("{pair:?} is not principal=role")));
        };
        let role = Role::parse(role.trim())
            .ok_or_else(|| config_error(EASY_AUTH_ROLES_VAR, format!("unknown role {role:?}; use admin, editor or reader")))?;
        map.push((principal.trim().to_string(), role));
    }
    if map.is_empty() {
        return Err(config_error(EASY_AUTH_ROLES_VAR, "maps no principal; add principal=role pairs"));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<AccessConfig, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        AccessConfig::from_lookup(&|name: &str| map.get(name).map(|v| v.to_string()))
    }

    const ADMIN: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

    #[test]
    fn no_admin_key_means_no_hash_secret() {
        let access = read(&[]).unwrap();
        assert!(access.admin_key.is_none());
        assert!(access.hash_secret.is_none());
    }

    #[test]
    fn hash_secret_is_derived_or_explicit() {
        let derived = read(&[(ADMIN_KEY_VAR, ADMIN)]).unwrap().hash_secret.unwrap();
        assert_eq!(derived.0.len(), 32);
        assert_ne!(derived.0, ADMIN.as_bytes());
        let explicit = "Z".repeat(40);
        let access = read(&[(ADMIN_KEY_VAR, ADMIN), (KEY_HASH_SECRET_VAR, &explicit)]).unwrap();
        assert_eq!(access.hash_secret.unwrap().0, explicit.as_bytes());
    }

    #[test]
    fn short_admin_key_is_rejected() {
        let error = read(&[(ADMIN_KEY_VAR, "tiny-key")]).unwrap_err();
        assert_eq!(error.variable, ADMIN_KEY_VAR);
        assert!(!error.to_string().contains("tiny-key"), "{error}");
    }

    #[test]
    fn easy_auth_needs_a_role_map() {
        assert_eq!(read(&[(EASY_AUTH_VAR, "on")]).unwrap_err().variable, EASY_AUTH_ROLES_VAR);
        let access = read(&[(EASY_AUTH_VAR, "on"), (EASY_AUTH_ROLES_VAR, "alice@contoso.com=admin; bob=reader")]).unwrap();
        assert_eq!(
            access.easy_auth.unwrap(),
            vec![("alice@contoso.com".to_string(), Role::Admin), ("bob".to_string(), Role::Reader)]
        );
        assert_eq!(read(&[(EASY_AUTH_VAR, "on"), (EASY_AUTH_ROLES_VAR, "bob=owner")]).unwrap_err().variable, EASY_AUTH_ROLES_VAR);
        assert_eq!(read(&[(EASY_AUTH_VAR, "maybe")]).unwrap_err().variable, EASY_AUTH_VAR);
    }

    #[test]
    fn debug_hides_secrets() {
        let debug = format!("{:?}", read(&[(ADMIN_KEY_VAR, ADMIN)]).unwrap());
        assert!(!debug.contains(ADMIN), "{debug}");
    }
}
