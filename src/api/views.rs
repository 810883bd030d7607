//! JSON shapes of successful responses. Field names keep the original
//! sharedmfa's (`uuid`, `appname`, `custom`, `name`, `otp`, `expires`) and
//! add the new ones beside them. Only [`export`] has a place for a seed.

use serde_json::{Value, json};

use super::error::ApiError;
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
        "type": record.otp_type.as_str(),
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

/// Builds the get-mfa-code response for a TOTP app. `expires` is the
/// milliseconds left in the window, as the original returned it, and
/// `expires_at` is its end, which is also when `next_otp` becomes valid.
pub fn code(record: &AppRecord, window: &CodeWindow, next: &CodeWindow, now_millis: u64, expires_at: &str) -> Value {
    json!({
        "otp": window.code,
        "expires": window.millis_left(now_millis),
        "expires_at": expires_at,
        "next_otp": next.code,
        "next_valid_from": expires_at,
        "type": record.otp_type.as_str(),
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

/// Builds the get-mfa-code response for an HOTP app. `counter` is the
/// counter the code belongs to. An HOTP code has no expiry and the next
/// request gets the next counter's code, so neither `expires` nor a next
/// code is returned.
pub fn hotp_code(record: &AppRecord, code: &str, counter: u64) -> Value {
    json!({
        "otp": code,
        "counter": counter,
        "type": record.otp_type.as_str(),
        "digits": record.params.digits,
        "algorithm": record.params.algorithm.as_str(),
        "uuid": record.id,
        "appname": record.issuer,
        "custom": record.custom_name,
    })
}

/// Builds the result of a created import entry: the add response with
/// `status` and `index`.
pub fn import_created(index: usize, mut added: Value) -> Value {
    added["status"] = json!("created");
    added["index"] = json!(index);
    added
}

/// Builds the result of an import entry whose input is unusable.
pub fn import_rejected(index: usize, label: &str, error: &ApiError) -> Value {
    json!({ "status": "rejected", "index": index, "label": label, "error": error.to_json() })
}

/// Builds the result of a usable import entry that storage failed to add.
/// Sending that entry again can succeed.
pub fn import_failed(index: usize, label: &str, error: &ApiError) -> Value {
    json!({ "status": "failed", "index": index, "label": label, "error": error.to_json() })
}

/// Builds the import response: one result per entry, in input order, and
/// the count of each status.
pub fn import_results(results: Vec<Value>, warnings: &[String]) -> Value {
    let count = |status: &str| results.iter().filter(|result| result["status"] == status).count();
    let (created, rejected, failed) = (count("created"), count("rejected"), count("failed"));
    json!({ "results": results, "created": created, "rejected": rejected, "failed": failed, "warnings": warnings })
}
