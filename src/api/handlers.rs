//! Adding, listing and reading codes of apps, within the caller's scope.

use std::time::UNIX_EPOCH;

use serde_json::Value;

use super::audit_trail::Context;
use super::error::ApiError;
use super::request::NewApp;
use super::views;
use crate::log;
use crate::otp::code::window_at;
use crate::store::apps::{AppRecord, AppStore};
use crate::store::audit::AuditLog;
use crate::store::keys::KeyStore;
use crate::store::secrets::SecretStore;
use crate::transport::Transport;

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
    let not_found = || ApiError::not_found("uuid", format!("no app has uuid {id}; list-available-apps shows the ids"));
    match services.apps.get(id).await {
        Ok(Some(record)) if context.principal.scope.includes(&record.id, &record.tags) => Ok(record),
        Ok(Some(_)) => {
            services.record_denial(&context.principal.actor, context.client.clone(), context.now, action, Some(id), 404).await;
            Err(not_found())
        }
        Ok(None) => Err(not_found()),
        Err(error) => {
            log::error("app_read_failed", &[("app_id", id), ("error", &error.to_string())]);
            Err(ApiError::from_store(&error))
        }
    }
}

/// Returns the current code of app `id`, once its audit entry is written.
pub async fn get_code<T: Transport>(services: &Services<'_, T>, context: &Context, id: &str) -> Result<Value, ApiError> {
    let now = context.now;
    let record = app_in_scope(services, context, id, "get_code").await?;

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

    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let window = window_at(&seed, record.params, since_epoch.as_secs());
    let expires_at = rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(window.ends_at));
    services.record(context, "get_code", Some(id), 200, None).await?;
    log::info("code_issued", &[("app_id", id)]);
    Ok(views::code(&record, &window, since_epoch.as_millis() as u64, &expires_at))
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
    use std::time::Duration;

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
