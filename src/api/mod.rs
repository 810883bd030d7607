//! The HTTP API, independent of any host.
//!
//! - [`request`]: routing and validation into a typed action.
//! - [`handlers`]: carrying out each action against storage.
//! - [`views`]: JSON shapes of successful responses.
//! - [`error`]: the one error shape and the status mapping.
//!
//! [`handle`] is the whole flow: parse, act, respond.

pub mod error;
pub mod handlers;
pub mod request;
pub mod views;

use std::time::SystemTime;

use serde_json::{Value, json};

pub use error::ApiError;
pub use request::{Action, ApiRequest};

use crate::azure::keyvault::KeyVaultClient;
use crate::azure::tables::TableClient;
use crate::config::{Config, ConfigError, SecretStoreConfig};
use crate::log;
use crate::store::apps::AppStore;
use crate::store::secrets::SecretStore;
use crate::transport::Transport;
use handlers::Services;

/// A response ready for the host to send.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Handles one request. `config` is the result of reading the environment,
/// so a misconfigured instance still returns a clear error for every
/// request. `now` is the time codes are computed for.
pub async fn handle<T: Transport>(
    request: &ApiRequest,
    config: &Result<Config, ConfigError>,
    transport: &T,
    now: SystemTime,
) -> ApiResponse {
    let result = match request::parse(request) {
        Ok(action) => execute(action, config, transport, now).await,
        Err(error) => Err(error),
    };
    respond(result)
}

async fn execute<T: Transport>(
    action: Action,
    config: &Result<Config, ConfigError>,
    transport: &T,
    now: SystemTime,
) -> Result<(u16, Value), ApiError> {
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            log::error("configuration_invalid", &[("error", &error.to_string())]);
            return Err(ApiError::not_configured(error.to_string()));
        }
    };
    let services = services(config, transport);

    match action {
        Action::Health => Ok((200, json!({ "status": "ok" }))),
        // 200 rather than 201: clients of the original check for 200.
        Action::AddApp(app) => handlers::add_app(&services, app, now).await.map(|body| (200, body)),
        Action::ListApps => handlers::list_apps(&services).await.map(|body| (200, body)),
        Action::GetCode { id } => handlers::get_code(&services, &id, now).await.map(|body| (200, body)),
    }
}

fn services<'a, T: Transport>(config: &'a Config, transport: &'a T) -> Services<'a, T> {
    // One client for both tables, so a managed identity token is fetched once per request.
    let tables = TableClient::new(transport, &config.storage);
    let apps = AppStore::new(tables.clone(), &config.apps_table);
    let secrets = match &config.secret_store {
        SecretStoreConfig::KeyVault { vault_url, identity } => {
            SecretStore::KeyVault(KeyVaultClient::new(vault_url, identity))
        }
        SecretStoreConfig::SealedTable { key } => SecretStore::SealedTable {
            tables,
            table: &config.seeds_table,
            key,
        },
    };
    Services { apps, secrets }
}

/// Builds the response for an error found before a request could be
/// parsed, such as an unreadable or oversized body.
pub fn respond_error(error: ApiError) -> ApiResponse {
    respond(Err(error))
}

/// Builds the HTTP response, success or error, in one place.
fn respond(result: Result<(u16, Value), ApiError>) -> ApiResponse {
    let mut headers = vec![
        ("content-type".to_string(), "application/json; charset=utf-8".to_string()),
        // Codes are valid for seconds and app lists are private: no cache
        // or proxy should keep either.
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    match result {
        Ok((status, body)) => {
            ApiResponse { status, headers, body: serde_json::to_vec(&body).expect("JSON serializes") }
        }
        Err(error) => {
            if let Some(allow) = error.allow {
                headers.push(("allow".to_string(), allow.to_string()));
            }
            ApiResponse { status: error.status, headers, body: error.body() }
        }
    }
}
