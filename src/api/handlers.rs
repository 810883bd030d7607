//! Carrying out each action against storage.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::error::ApiError;
use super::request::NewApp;
use super::views;
use crate::log;
use crate::otp::code::window_at;
use crate::store::apps::{AppRecord, AppStore};
use crate::store::secrets::SecretStore;
use crate::transport::Transport;

/// The stores one request works with.
pub struct Services<'a, T> {
    pub apps: AppStore<'a, T>,
    pub secrets: SecretStore<'a, T>,
}

/// Adds an app: the seed first, then the record. A record is only written
/// after its seed, so no listed app lacks a seed. When the record write
/// fails, the seed is deleted again so none is left behind.
pub async fn add_app<T: Transport>(services: &Services<'_, T>, app: NewApp, now: SystemTime) -> Result<Value, ApiError> {
    let id = new_app_id()?;
    let record = AppRecord {
        id: id.clone(),
        issuer: app.issuer,
        custom_name: app.custom_name,
        account: app.account,
        params: app.params,
        created: Some(rfc3339(now)),
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
    Ok(views::added(&record, &app.warnings))
}

/// Lists every app, sorted by issuer, then custom name, then id. Records
/// that cannot be read are logged and left out rather than failing the list.
pub async fn list_apps<T: Transport>(services: &Services<'_, T>) -> Result<Value, ApiError> {
    let (mut records, unreadable) = services.apps.list().await.map_err(|error| {
        log::error("app_list_failed", &[("error", &error.to_string())]);
        ApiError::from_upstream(&error)
    })?;
    for error in &unreadable {
        log::warn("app_record_skipped", &[("error", &error.to_string())]);
    }

    records.sort_by(|a, b| {
        (a.issuer.to_lowercase(), a.custom_name.to_lowercase(), &a.id)
            .cmp(&(b.issuer.to_lowercase(), b.custom_name.to_lowercase(), &b.id))
    });
    Ok(Value::Array(records.iter().map(views::app).collect()))
}

/// Returns the current code of app `id`.
pub async fn get_code<T: Transport>(services: &Services<'_, T>, id: &str, now: SystemTime) -> Result<Value, ApiError> {
    let record = match services.apps.get(id).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return Err(ApiError::not_found("uuid", format!("no app has uuid {id}; list-available-apps shows the ids")));
        }
        Err(error) => {
            log::error("app_read_failed", &[("app_id", id), ("error", &error.to_string())]);
            return Err(ApiError::from_store(&error));
        }
    };

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
    log::info("code_issued", &[("app_id", id)]);
    Ok(views::code(&record, &window, since_epoch.as_millis() as u64, &expires_at))
}

fn new_app_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        log::error("random_source_failed", &[("error", &error.to_string())]);
        return Err(ApiError::internal());
    }
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string())
}

/// Formats a time as RFC 3339 in UTC with whole seconds.
pub fn rfc3339(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let time = time::OffsetDateTime::from_unix_timestamp(seconds as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

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
