//! JSON shapes of successful responses. Field names keep the original
//! sharedmfa's (`uuid`, `appname`, `custom`, `name`, `otp`, `expires`) and
//! add the new ones beside them. Only [`export`] has a place for a seed.

use serde_json::{Value, json};

use crate::otp::CodeWindow;
use crate::store::apps::AppRecord;
use crate::store::keys::KeyRecord;

/// One app as `list-available-apps` returns it. `appname` is the issuer
/// and `custom` the team's name for it, as in the original.
pub fn app(record: &AppRecord) -> Value {
    json!({
        "uuid": record.id,
        "appname": record.issuer,
        "custom": record.custom_name,
        "account": record.account,
        "algorithm": record.params.algorithm.as_str(),
        "digits": record.params.digits,
        "period": record.params.period,
        "encoder": record.params.encoder.as_str(),
        "created": record.created,
        "tags": record.tags,
    })
}

/// Builds the add response: the original's `name` and `uuid`, then the
/// stored metadata and any warnings about the seed.
pub fn added(record: &AppRecord, warnings: &[String]) -> Value {
    let mut body = app(record);
    body["name"] = json!(record.issuer);
    body["warnings"] = json!(warnings);
    body
}

/// Builds the get-mfa-code response. `expires` is the milliseconds left in
/// the window, as the original returned it, and `expires_at` is its end.
pub fn code(record: &AppRecord, window: &CodeWindow, now_millis: u64, expires_at: &str) -> Value {
    json!({
        "otp": window.code,
        "expires": window.millis_left(now_millis),
        "expires_at": expires_at,
        "period": record.params.period,
        "digits": record.params.digits,
        "algorithm": record.params.algorithm.as_str(),
        "uuid": record.id,
        "appname": record.issuer,
        "custom": record.custom_name,
    })
}

/// One API key as the key routes return it; never the key or its hash.
/// `state` is `active`, `expired` or `revoked` at `now`.
pub fn key(record: &KeyRecord, state: &str) -> Value {
    json!({
        "id": record.id,
        "name": record.name,
        "role": record.role.as_str(),
        "scope": record.scope.to_json(),
        "export": record.export,
        "created": record.created,
        "created_by": record.created_by,
        "expires_at": record.expires,
        "revoked_at": record.revoked,
        "state": state,
    })
}

/// Builds the export response: the seed in base32 and as an otpauth URI.
pub fn export(record: &AppRecord, base32: &str, otpauth: &str) -> Value {
    json!({
        "uuid": record.id,
        "secret": base32,
        "otpauth": otpauth,
        "algorithm": record.params.algorithm.as_str(),
        "digits": record.params.digits,
        "period": record.params.period,
        "encoder": record.params.encoder.as_str(),
    })
}
