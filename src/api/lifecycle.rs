//! Changing, rotating, exporting and deleting apps, within the caller's
//! scope. Every operation writes an audit entry.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::audit_trail::Context;
use super::error::ApiError;
use super::handlers::{Services, app_in_scope, app_in_scope_tagged};
use super::manage::AppChanges;
use super::request::NewApp;
use super::views;
use crate::access::Scope;
use crate::azure::tables::is_precondition_failed;
use crate::log;
use crate::otp::{Encoder, OtpType};
use crate::store::apps::AppRecord;
use crate::transport::Transport;

/// Outcome for the seed, returned in the delete response's `seed` field.
const SEED_SOFT_DELETED: &str =
    "soft-deleted: Key Vault keeps the secret recoverable, and its name reserved, until the vault's retention period ends; purge it in the vault to remove it for good";
const SEED_DELETED: &str = "deleted";

/// Characters escaped in otpauth labels and parameter values.
const OTPAUTH_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Times an update rereads the record after another request changed it
/// (an HOTP code request steps the counter in the same record). Each retry
/// costs two storage calls; the same bound as the HOTP counter's retries.
/// Losing this many races in a row means the app is under heavy concurrent
/// use, so the client gets 409 and sends the update again.
const MAX_UPDATE_ATTEMPTS: usize = 10;

/// Changes the issuer, custom name or tags. A caller with a limited scope
/// cannot move the app out of it. The write is conditional on the record's
/// ETag, so a concurrent HOTP counter step is never undone.
pub async fn update_app<T: Transport>(
    services: &Services<'_, T>,
    context: &Context,
    id: &str,
    changes: AppChanges,
) -> Result<Value, ApiError> {
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let (mut record, etag) = app_in_scope_tagged(services, context, id, "update_app").await?;
        if let Some(issuer) = &changes.issuer {
            record.issuer = issuer.clone();
        }
        if let Some(custom_name) = &changes.custom_name {
            record.custom_name = custom_name.clone();
        }
        if let Some(tags) = &changes.tags {
            record.tags = tags.clone();
        }
        if !context.principal.scope.includes(&record.id, &record.tags) {
            services.record_denial(&context.principal.actor, context.client.clone(), context.now, "update_app", Some(id), 403).await;
            return Err(ApiError::forbidden("these tags would move the app out of your key's scope; keep one of the scope's tags"));
        }

        match services.apps.replace_if(&record, &etag).await {
            Ok(()) => {
                services.record(context, "update_app", Some(id), 200, None).await?;
                return Ok(views::app(&record));
            }
            Err(error) if is_precondition_failed(&error) => {
                log::info("app_update_retried", &[("app_id", id)]);
            }
            Err(error) => {
                log::error("app_write_failed", &[("app_id", id), ("error", &error.to_string())]);
                return Err(ApiError::from_upstream(&error));
            }
        }
    }
    log::warn("app_update_contended", &[("app_id", id)]);
    Err(ApiError::conflict("uuid", "the app kept changing while this update ran; send the update again"))
}

/// Replaces the seed, the code parameters and the type (with an HOTP
/// seed's counter), keeping id, names and tags.
pub async fn rotate_seed<T: Transport>(services: &Services<'_, T>, context: &Context, id: &str, app: NewApp) -> Result<Value, ApiError> {
    let mut record = app_in_scope(services, context, id, "rotate_seed").await?;

    if let Err(error) = services.secrets.replace(id, &app.seed).await {
        log::error("seed_write_failed", &[("app_id", id), ("error", &error.to_string())]);
        return Err(ApiError::from_store(&error));
    }
    if record.params != app.params || record.otp_type != app.otp_type {
        record.params = app.params;
        record.otp_type = app.otp_type;
        // NOTE: if this write fails, the new seed is stored with the old
        // parameters until the rotation is repeated. The log line
        // `rotation_half_done` records it.
        if let Err(error) = write_record(services, &record).await {
            log::error("rotation_half_done", &[("app_id", id), ("action", "repeat the rotation with the same seed")]);
            return Err(error);
        }
    }

    log::info("seed_rotated", &[("app_id", id)]);
    services.record(context, "rotate_seed", Some(id), 200, None).await?;
    let mut body = views::app(&record);
    body["warnings"] = json!(app.warnings);
    Ok(body)
}

/// Returns the seed, for callers granted export. The audit entry is written
/// before the seed leaves.
pub async fn export_seed<T: Transport>(services: &Services<'_, T>, context: &Context, id: &str) -> Result<Value, ApiError> {
    let record = app_in_scope(services, context, id, "export_seed").await?;
    let seed = match services.secrets.get(id).await {
        Ok(Some(seed)) => seed,
        Ok(None) => {
            log::error("seed_missing", &[("app_id", id)]);
            return Err(ApiError::internal());
        }
        Err(error) => {
            log::error("seed_read_failed", &[("app_id", id), ("error", &error.to_string())]);
            return Err(ApiError::from_store(&error));
        }
    };

    services.record(context, "export_seed", Some(id), 200, None).await?;
    log::info("seed_exported", &[("app_id", id), ("actor", &context.principal.actor)]);
    let base32 = seed.to_base32();
    Ok(views::export(&record, &base32, &otpauth_uri(&record, &base32)))
}

/// Deletes the record, then the seed. Deleting an absent app succeeds for
/// callers who see every app, and removes a seed a failed delete left
/// behind. For a limited scope it is 404, like any app outside it.
pub async fn delete_app<T: Transport>(services: &Services<'_, T>, context: &Context, id: &str) -> Result<Value, ApiError> {
    let existed = match app_in_scope(services, context, id, "delete_app").await {
        Ok(_) => true,
        Err(error) if error.status == 404 && context.principal.scope == Scope::All => false,
        Err(error) => return Err(error),
    };

    if existed && let Err(error) = services.apps.delete(id).await {
        log::error("app_delete_failed", &[("app_id", id), ("error", &error.to_string())]);
        return Err(ApiError::from_upstream(&error));
    }
    if let Err(error) = services.secrets.delete(id).await {
        log::error("seed_delete_failed", &[("app_id", id), ("error", &error.to_string()), ("action", "repeat the delete")]);
        return Err(ApiError::from_upstream(&error));
    }

    log::info("app_deleted", &[("app_id", id)]);
    let detail = if existed { None } else { Some("already absent".to_string()) };
    services.record(context, "delete_app", Some(id), 200, detail).await?;
    let seed = if services.soft_delete { SEED_SOFT_DELETED } else { SEED_DELETED };
    Ok(json!({ "uuid": id, "deleted": existed, "seed": seed }))
}

async fn write_record<T: Transport>(services: &Services<'_, T>, record: &AppRecord) -> Result<(), ApiError> {
    services.apps.replace(record).await.map_err(|error| {
        log::error("app_write_failed", &[("app_id", &record.id), ("error", &error.to_string())]);
        ApiError::from_upstream(&error)
    })
}

/// Builds `otpauth://totp/Issuer:account?secret=...` with the app's
/// parameters, in the Key URI format Google Authenticator documents.
fn otpauth_uri(record: &AppRecord, base32: &str) -> String {
    let escape = |text: &str| utf8_percent_encode(text, OTPAUTH_ESCAPED).to_string();
    let label = match (record.issuer.is_empty(), record.account.is_empty()) {
        (false, false) => format!("{}:{}", escape(&record.issuer), escape(&record.account)),
        (false, true) => escape(&record.issuer),
        (true, _) => escape(&record.account),
    };
    let mut uri = format!(
        "otpauth://{}/{label}?secret={base32}&algorithm={}&digits={}",
        record.otp_type.as_str(),
        record.params.algorithm.as_str(),
        record.params.digits,
    );
    match record.otp_type {
        OtpType::Totp => uri.push_str(&format!("&period={}", record.params.period)),
        OtpType::Hotp { counter } => uri.push_str(&format!("&counter={counter}")),
    }
    if !record.issuer.is_empty() {
        uri.push_str(&format!("&issuer={}", escape(&record.issuer)));
    }
    if record.params.encoder == Encoder::Steam {
        uri.push_str("&encoder=steam");
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{OtpParams, parse_otpauth_uri};

    #[test]
    fn exported_uri_parses_back() {
        let record = AppRecord {
            id: "a".into(),
            issuer: "Big Bank".into(),
            custom_name: String::new(),
            account: "ivan@example.com".into(),
            params: OtpParams::default(),
            otp_type: OtpType::Totp,
            created: None,
            tags: vec![],
        };
        let uri = otpauth_uri(&record, "JBSWY3DPEHPK3PXP");
        let parsed = parse_otpauth_uri(&uri).unwrap();
        assert_eq!(parsed.issuer.as_deref(), Some("Big Bank"));
        assert_eq!(parsed.account, "ivan@example.com");
        assert_eq!(parsed.seed.to_base32(), "JBSWY3DPEHPK3PXP");
    }

    #[test]
    fn exported_hotp_uri_keeps_the_counter() {
        let record = AppRecord {
            id: "a".into(),
            issuer: "Vpn".into(),
            custom_name: String::new(),
            account: "ops".into(),
            params: OtpParams::default(),
            otp_type: OtpType::Hotp { counter: 42 },
            created: None,
            tags: vec![],
        };
        let parsed = parse_otpauth_uri(&otpauth_uri(&record, "JBSWY3DPEHPK3PXP")).unwrap();
        assert_eq!(parsed.otp_type, OtpType::Hotp { counter: 42 });
    }
}
