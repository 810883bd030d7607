//! Admin operations: creating, listing and revoking API keys, and reading
//! the audit trail.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::audit_trail::Context;
use super::error::ApiError;
use super::handlers::Services;
use super::manage::{AuditFilter, NewKeyRequest};
use super::views;
use crate::access::keys::generate_key;
use crate::config::AccessConfig;
use crate::field_error::FieldError;
use crate::log;
use crate::rfc3339;
use crate::store::audit::{AuditQuery, DEFAULT_QUERY_SPAN, entry_view};
use crate::store::keys::KeyRecord;
use crate::transport::Transport;

/// Creates a key and returns it once, in `key`; only its hash is stored.
pub async fn create_key<T: Transport>(
    services: &Services<'_, T>,
    context: &Context,
    access: &AccessConfig,
    request: NewKeyRequest,
) -> Result<Value, ApiError> {
    if request.expires.is_some_and(|expires| expires <= context.now) {
        return Err(FieldError::invalid("expires_at", "expires_at is in the past; give a future time").into());
    }
    let Some(hash_secret) = &access.hash_secret else {
        return Err(ApiError::internal());
    };
    let new_key = generate_key(&hash_secret.0).map_err(|error| {
        log::error("random_source_failed", &[("error", &error.to_string())]);
        ApiError::internal()
    })?;

    let record = KeyRecord {
        id: new_key.id.clone(),
        name: request.name,
        role: request.role,
        scope: request.scope,
        export: request.export,
        hash: new_key.hash.clone(),
        created: rfc3339::format(context.now),
        created_by: context.principal.actor.clone(),
        expires: request.expires.map(rfc3339::format),
        revoked: None,
    };
    if let Err(error) = services.keys.insert(&record).await {
        log::error("api_key_write_failed", &[("key_id", &record.id), ("error", &error.to_string())]);
        return Err(ApiError::from_upstream(&error));
    }

    log::info("api_key_created", &[("key_id", &record.id), ("role", record.role.as_str())]);
    services.record(context, "create_key", None, 201, Some(format!("key:{}", record.id))).await?;
    let mut body = views::key(&record, "active");
    body["key"] = json!(new_key.text);
    Ok(body)
}

/// Lists every key with its state; never a key or a hash.
pub async fn list_keys<T: Transport>(services: &Services<'_, T>, context: &Context) -> Result<Value, ApiError> {
    let (mut records, unreadable) = services.keys.list().await.map_err(|error| {
        log::error("api_key_list_failed", &[("error", &error.to_string())]);
        ApiError::from_upstream(&error)
    })?;
    for reason in &unreadable {
        log::warn("api_key_record_skipped", &[("error", reason)]);
    }
    records.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
    Ok(Value::Array(records.iter().map(|record| views::key(record, key_state(record, context.now))).collect()))
}

/// Revokes a key. Revoking it again keeps the first revocation time.
pub async fn revoke_key<T: Transport>(services: &Services<'_, T>, context: &Context, id: &str) -> Result<Value, ApiError> {
    let not_found = || ApiError::not_found("id", format!("no API key has id {id}; GET /api/keys lists them"));
    let mut record = match services.keys.get(id).await {
        Ok(Some(Ok(record))) => record,
        Ok(Some(Err(_)) | None) => return Err(not_found()),
        Err(error) => {
            log::error("api_key_read_failed", &[("key_id", id), ("error", &error.to_string())]);
            return Err(ApiError::from_upstream(&error));
        }
    };

    if record.revoked.is_none() {
        record.revoked = Some(rfc3339::format(context.now));
        if let Err(error) = services.keys.replace(&record).await {
            log::error("api_key_write_failed", &[("key_id", id), ("error", &error.to_string())]);
            return Err(ApiError::from_upstream(&error));
        }
        log::info("api_key_revoked", &[("key_id", id)]);
    }
    services.record(context, "revoke_key", None, 200, Some(format!("key:{id}"))).await?;
    Ok(views::key(&record, "revoked"))
}

/// Reads one page of the audit trail, newest first. Without `to` the page
/// ends now; without `from` it starts [`DEFAULT_QUERY_SPAN`] before `to`.
pub async fn read_audit<T: Transport>(services: &Services<'_, T>, context: &Context, filter: AuditFilter) -> Result<Value, ApiError> {
    let to = filter.to.unwrap_or(context.now);
    let from = filter.from.unwrap_or_else(|| to.checked_sub(DEFAULT_QUERY_SPAN).unwrap_or(SystemTime::UNIX_EPOCH));
    if from > to {
        return Err(FieldError::invalid("from", "from is after to; swap them").into());
    }
    let query = AuditQuery { app: filter.app, actor: filter.actor, from, to, limit: filter.limit, cursor: filter.cursor };

    let page = services.audit.read(&query).await.map_err(|error| {
        log::error("audit_read_failed", &[("error", &error.to_string())]);
        ApiError::from_upstream(&error)
    })?;
    let entries: Vec<Value> = page.entries.iter().map(entry_view).collect();
    Ok(json!({ "entries": entries, "next_cursor": page.next.map(|cursor| cursor.encode()) }))
}

fn key_state(record: &KeyRecord, now: SystemTime) -> &'static str {
    if record.revoked.is_some() {
        return "revoked";
    }
    match record.expires.as_deref().map(rfc3339::parse) {
        Some(None) => "expired",
        Some(Some(expires)) if now >= expires => "expired",
        _ => "active",
    }
}
