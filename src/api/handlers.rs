//! Adding, listing and reading codes of apps, within the caller's scope.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use super::audit_trail::Context;
use super::error::ApiError;
use super::import::ImportRequest;
use super::request::NewApp;
use super::views;
use crate::azure::tables::is_precondition_failed;
use crate::log;
use crate::otp::code::window_at;
use crate::otp::{OtpType, Seed, hotp_code};
use crate::store::apps::{AppRecord, AppStore};
use crate::store::audit::AuditLog;
use crate::store::keys::KeyStore;
use crate::store::secrets::SecretStore;
use crate::transport::Transport;

/// Maximum attempts at advancing an HOTP counter. An attempt fails only when
/// another request advanced the counter first, so ten attempts serve ten
/// requests racing on one app. Beyond that the client gets a 409 and retries.
pub const MAX_COUNTER_ATTEMPTS: usize = 10;

/// The stores one request works with.
pub struct Services<'a, T> {
    pub apps: AppStore<'a, T>,
    pub secrets: SecretStore<'a, T>,
    pub keys: KeyStore<'a, T>,
    pub audit: AuditLog<'a, T>,
    /// Whether seeds live in Key Vault, whose deletes are soft deletes.
    pub soft_delete: bool,
}

/// Adds an app: the seed first, then the record. A record is only written
/// after its seed, so no listed app lacks a seed. When the record write
/// fails, the seed is deleted again so none is left behind.
///
/// A caller whose scope is limited may add only apps that land in it,
/// through a tag of the scope.
pub async fn add_app<T: Transport>(services: &Services<'_, T>, context: &Context, app: NewApp) -> Result<Value, ApiError> {
    let now = context.now;
    let id = new_app_id()?;
    if !context.principal.scope.includes(&id, &app.tags) {
        services.record_denial(&context.principal.actor, context.client.clone(), now, "add_app", None, 403).await;
        return Err(ApiError::forbidden(
            "your key's scope would not include the new app; give it one of the scope's tags in \"tags\"",
        ));
    }
    let record = AppRecord {
        id: id.clone(),
        issuer: app.issuer,
        custom_name: app.custom_name,
        account: app.account,
        params: app.params,
        otp_type: app.otp_type,
        created: Some(rfc3339(now)),
        tags: app.tags,
    };

    if let Err(error) = services.secrets.put(&id, &app.seed).await {
        log::error("seed_write_failed", &[("app_id", &id), ("error", &error.to_string())]);
        return Err(ApiError::from_store(&error));
    }

    if let Err(error) = services.apps.insert(&record).await {
        log::error("app_write_failed", &[("app_id", &id), ("error", &error.to_string())]);
        match services.secrets.delete(&id).await {
            Ok(()) => log::info("seed_removed_after_failed_add", &[("app_id", &id)]),
            Err(cleanup) => log::error(
                "orphan_seed_left",
                &[("app_id", &id), ("error", &cleanup.to_string()), ("action", "delete the secret named by app_id")],
            ),
        }
        return Err(ApiError::from_upstream(&error));
    }

    log::info("app_added", &[("app_id", &id)]);
    services.record(context, "add_app", Some(&id), 200, None).await?;
    Ok(views::added(&record, &app.warnings))
}

/// Adds every usable entry of an import, one after another, and reports
/// each entry's outcome. Rejected entries cost no storage call. When
/// storage fails for every entry, that failure is the response; otherwise
/// failed entries are reported beside the created ones.
pub async fn import_apps<T: Transport>(services: &Services<'_, T>, context: &Context, import: ImportRequest) -> Result<Value, ApiError> {
    let mut results = Vec::with_capacity(import.entries.len());
    let mut storage_failures = Vec::new();
    for entry in import.entries {
        let result = match entry.app {
            Ok(app) => match add_app(services, context, app).await {
                Ok(added) => views::import_created(entry.index, added),
                Err(error) => {
                    let result = views::import_failed(entry.index, &entry.label, &error);
                    storage_failures.push(error);
                    result
                }
            },
            Err(error) => views::import_rejected(entry.index, &entry.label, &ApiError::from(error)),
        };
        results.push(result);
    }

    if !storage_failures.is_empty() && storage_failures.len() == results.len() {
        return Err(storage_failures.swap_remove(0));
    }
    log::info("import_done", &[("entries", &results.len().to_string()), ("failed", &storage_failures.len().to_string())]);
    Ok(views::import_results(results, &import.warnings))
}

/// Lists the apps in the caller's scope, sorted by issuer, then custom
/// name, then id. Records that cannot be read are logged and left out
/// rather than failing the list.
pub async fn list_apps<T: Transport>(services: &Services<'_, T>, context: &Context) -> Result<Value, ApiError> {
    let (mut records, unreadable) = services.apps.list().await.map_err(|error| {
        log::error("app_list_failed", &[("error", &error.to_string())]);
        ApiError::from_upstream(&error)
    })?;
    for error in &unreadable {
        log::warn("app_record_skipped", &[("error", &error.to_string())]);
    }

    records.retain(|record| context.principal.scope.includes(&record.id, &record.tags));
    records.sort_by(|a, b| {
        (a.issuer.to_lowercase(), a.custom_name.to_lowercase(), &a.id)
            .cmp(&(b.issuer.to_lowercase(), b.custom_name.to_lowercase(), &b.id))
    });
    Ok(Value::Array(records.iter().map(views::app).collect()))
}

/// Returns the app `id` if it exists and is in the caller's scope. An app
/// outside the scope gets the same 404 as a missing one, so ids cannot be
/// probed; the audit trail records it as denied.
pub async fn app_in_scope<T: Transport>(
    services: &Services<'_, T>,
    context: &Context,
    id: &str,
    action: &'static str,
) -> Result<AppRecord, ApiError> {
    app_in_scope_tagged(services, context, id, action).await.map(|(record, _)| record)
}

/// Like [`app_in_scope`], and also returns the ETag the record was read at,
/// for a conditional write.
pub async fn app_in_scope_tagged<T: Transport>(
    services: &Services<'_, T>,
    context: &Context,
    id: &str,
    action: &'static str,
) -> Result<(AppRecord, String), ApiError> {
    match services.apps.get_tagged(id).await {
        Ok(Some((record, etag))) if context.principal.scope.includes(&record.id, &record.tags) => Ok((record, etag)),
        Ok(Some(_)) => Err(deny_out_of_scope(services, context, id, action).await),
        Ok(None) => Err(app_not_found(id)),
        Err(error) => {
            log::error("app_read_failed", &[("app_id", id), ("error", &error.to_string())]);
            Err(ApiError::from_store(&error))
        }
    }
}

/// Records a request for an app outside the caller's scope as denied and
/// returns the 404 a missing app gets.
async fn deny_out_of_scope<T: Transport>(services: &Services<'_, T>, context: &Context, id: &str, action: &'static str) -> ApiError {
    services.record_denial(&context.principal.actor, context.client.clone(), context.now, action, Some(id), 404).await;
    app_not_found(id)
}

fn app_not_found(id: &str) -> ApiError {
    ApiError::not_found("uuid", format!("no app has uuid {id}; list-available-apps shows the ids"))
}

/// Returns the current code of app `id`, once its audit entry is written:
/// for TOTP the code of this time window and the next one, for HOTP the
/// code of the stored counter, which advances by one.
pub async fn get_code<T: Transport>(services: &Services<'_, T>, context: &Context, id: &str) -> Result<Value, ApiError> {
    let now = context.now;
    let (record, etag) = read_record(services, id).await?;
    if !context.principal.scope.includes(&record.id, &record.tags) {
        return Err(deny_out_of_scope(services, context, id, "get_code").await);
    }
    let seed = read_seed(services, id).await?;
    if let OtpType::Hotp { .. } = record.otp_type {
        // The counter has advanced when the audit write fails, so that code
        // is skipped; HOTP verifiers accept a later counter.
        let body = next_hotp_code(services, record, etag, &seed).await?;
        services.record(context, "get_code", Some(id), 200, None).await?;
        return Ok(body);
    }

    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let window = window_at(&seed, record.params, since_epoch.as_secs());
    let next = window_at(&seed, record.params, window.ends_at);
    let expires_at = rfc3339(UNIX_EPOCH + Duration::from_secs(window.ends_at));
    services.record(context, "get_code", Some(id), 200, None).await?;
    log::info("code_issued", &[("app_id", id)]);
    Ok(views::code(&record, &window, &next, since_epoch.as_millis() as u64, &expires_at))
}

/// Hands out the code of the stored HOTP counter and stores counter + 1,
/// conditional on the ETag the record was read at. When another request
/// advanced the counter first (412), it reads the record again and retries,
/// so racing requests each get a different counter.
async fn next_hotp_code<T: Transport>(
    services: &Services<'_, T>,
    mut record: AppRecord,
    mut etag: String,
    seed: &Seed,
) -> Result<Value, ApiError> {
    let id = record.id.clone();
    for attempt in 1..=MAX_COUNTER_ATTEMPTS {
        let OtpType::Hotp { counter } = record.otp_type else {
            log::error("app_type_changed", &[("app_id", &id)]);
            return Err(ApiError::internal());
        };
        let Some(next_counter) = counter.checked_add(1) else {
            return Err(ApiError::counter_exhausted());
        };

        match services.apps.set_counter(&id, next_counter, &etag).await {
            Ok(()) => {
                log::info("code_issued", &[("app_id", &id), ("counter", &counter.to_string())]);
                return Ok(views::hotp_code(&record, &hotp_code(seed, record.params, counter), counter));
            }
            Err(error) if is_precondition_failed(&error) => {
                log::info("counter_race_retry", &[("app_id", &id), ("attempt", &attempt.to_string())]);
            }
            Err(error) => {
                log::error("counter_write_failed", &[("app_id", &id), ("error", &error.to_string())]);
                return Err(ApiError::from_upstream(&error));
            }
        }
        (record, etag) = read_record(services, &id).await?;
    }
    log::warn("counter_race_lost", &[("app_id", &id), ("attempts", &MAX_COUNTER_ATTEMPTS.to_string())]);
    Err(ApiError::counter_contended(MAX_COUNTER_ATTEMPTS))
}

async fn read_record<T: Transport>(services: &Services<'_, T>, id: &str) -> Result<(AppRecord, String), ApiError> {
    match services.apps.get_tagged(id).await {
        Ok(Some(tagged)) => Ok(tagged),
        Ok(None) => Err(app_not_found(id)),
        Err(error) => {
            log::error("app_read_failed", &[("app_id", id), ("error", &error.to_string())]);
            Err(ApiError::from_store(&error))
        }
    }
}

async fn read_seed<T: Transport>(services: &Services<'_, T>, id: &str) -> Result<Seed, ApiError> {
    match services.secrets.get(id).await {
        Ok(Some(seed)) => Ok(seed),
        Ok(None) => {
            log::error("seed_missing", &[("app_id", id)]);
            Err(ApiError::internal())
        }
        Err(error) => {
            log::error("seed_read_failed", &[("app_id", id), ("error", &error.to_string())]);
            Err(ApiError::from_store(&error))
        }
    }
}

pub(super) fn new_app_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        log::error("random_source_failed", &[("error", &error.to_string())]);
        return Err(ApiError::internal());
    }
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string())
}

pub use crate::rfc3339::format as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_whole_seconds() {
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_millis(1_796_416_200_900)), "2026-12-04T20:30:00Z");
    }

    #[test]
    fn app_ids_are_random_v4() {
        let id = new_app_id().unwrap();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
        assert_ne!(id, new_app_id().unwrap());
    }
}
