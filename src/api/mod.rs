//! The HTTP API, independent of any host.
//!
//! - [`routes`]: the route table, with each route's required permission.
//! - [`request`], [`manage`]: validation into a typed action.
//! - [`import`]: the intake forms (URIs, lists, exports, QR images).
//! - [`auth`]: identifying the caller.
//! - [`handlers`], [`lifecycle`], [`admin`]: carrying out each action.
//! - [`audit_trail`]: the audit entry of each operation.
//! - [`views`]: JSON shapes of successful responses.
//! - [`error`]: the one error shape and the status mapping.
//! - [`openapi`]: the API description served at `/api/openapi.json`.
//!
//! [`handle`] is the whole flow: route, authenticate, authorize, parse,
//! act, respond.

pub mod admin;
pub mod audit_trail;
pub mod auth;
pub mod error;
pub mod handlers;
pub mod import;
pub mod lifecycle;
pub mod manage;
pub mod openapi;
pub mod request;
pub mod routes;
pub mod views;

use std::time::SystemTime;

use serde_json::{Value, json};

pub use error::ApiError;
pub use request::{Action, ApiRequest};

use crate::access::identity::{client_address_of, forwarded_for_of};
use crate::access::Permission;
use crate::azure::keyvault::KeyVaultClient;
use crate::azure::tables::TableClient;
use crate::config::{Config, ConfigError, SecretStoreConfig};
use crate::log;
use crate::store::apps::AppStore;
use crate::store::audit::{AuditLog, ClientAddress};
use crate::store::keys::KeyStore;
use crate::store::secrets::SecretStore;
use crate::transport::Transport;
use audit_trail::Context;
use handlers::Services;

/// A response ready for the host to send.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A successful result: JSON to serialize, or a document served as stored.
enum Reply {
    Json(u16, Value),
    Document(&'static str),
}

/// Handles one request. `config` is the result of reading the environment,
/// so a misconfigured instance still returns a clear error for every
/// request. `now` is the time codes, expiry and audit entries use.
pub async fn handle<T: Transport>(
    request: &ApiRequest,
    config: &Result<Config, ConfigError>,
    transport: &T,
    now: SystemTime,
) -> ApiResponse {
    respond(run(request, config, transport, now).await)
}

async fn run<T: Transport>(
    request: &ApiRequest,
    config: &Result<Config, ConfigError>,
    transport: &T,
    now: SystemTime,
) -> Result<Reply, ApiError> {
    let matched = routes::match_route(&request.method, &request.path)?;
    let operation = matched.route.operation;
    if operation == routes::Operation::OpenApi {
        return Ok(Reply::Document(openapi::OPENAPI_JSON));
    }

    let config = match config {
        Ok(config) => config,
        Err(error) => {
            log::error("configuration_invalid", &[("error", &error.to_string())]);
            return Err(ApiError::not_configured(error.to_string()));
        }
    };
    // Health and the OpenAPI document are the only public routes (a unit
    // test in `routes` checks this), so nothing else skips authentication.
    if operation == routes::Operation::Health {
        return Ok(Reply::Json(200, json!({ "status": "ok" })));
    }

    let services = services(config, transport);
    let client = ClientAddress { peer: client_address_of(request), forwarded_for: forwarded_for_of(request) };
    let action_name = routes::operation_name(operation);
    // Only app routes have a `{uuid}` parameter. It is recorded only when
    // it is a UUID, so a denied caller cannot write arbitrary text.
    let app_id = match matched.params.first() {
        Some(param) if matched.route.path.contains("{uuid}") => request::parse_app_id(param).ok(),
        _ => None,
    };
    let app_param = app_id.as_deref();
    let principal = match auth::authenticate(request, &config.access, &services.keys, now).await {
        Ok(principal) => principal,
        Err(denied) => {
            if matches!(denied.error.status, 401 | 403) {
                services.record_denial(&denied.actor, client.clone(), now, action_name, app_param, denied.error.status).await;
            }
            return Err(denied.error);
        }
    };
    if !principal.allows(matched.route.permission) {
        services.record_denial(&principal.actor, client, now, action_name, app_param, 403).await;
        return Err(ApiError::forbidden(format!(
            "your {} key does not allow {} {}; ask an admin for a key with {}",
            principal.role.as_str(),
            matched.route.method,
            matched.route.path,
            required_grant(matched.route.permission)
        )));
    }

    let action = request::parse_action(&matched, request)?;
    let context = Context { principal, client, now };
    execute(action, &services, &context, config).await
}

async fn execute<T: Transport>(
    action: Action,
    services: &Services<'_, T>,
    context: &Context,
    config: &Config,
) -> Result<Reply, ApiError> {
    let ok = |body: Value| Reply::Json(200, body);
    match action {
        Action::Health => Ok(ok(json!({ "status": "ok" }))),
        Action::OpenApi => Ok(Reply::Document(openapi::OPENAPI_JSON)),
        // 200 rather than 201: clients of the original check for 200.
        Action::AddApp(app) => handlers::add_app(services, context, app).await.map(ok),
        // 200 whenever the batch was processed, even with rejected entries.
        Action::Import(import) => handlers::import_apps(services, context, import).await.map(ok),
        Action::ListApps => handlers::list_apps(services, context).await.map(ok),
        Action::GetCode { id } => handlers::get_code(services, context, &id).await.map(ok),
        Action::UpdateApp { id, changes } => lifecycle::update_app(services, context, &id, changes).await.map(ok),
        Action::DeleteApp { id } => lifecycle::delete_app(services, context, &id).await.map(ok),
        Action::RotateSeed { id, app } => lifecycle::rotate_seed(services, context, &id, app).await.map(ok),
        Action::ExportSeed { id } => lifecycle::export_seed(services, context, &id).await.map(ok),
        Action::ListKeys => admin::list_keys(services, context).await.map(ok),
        Action::CreateKey(request) => {
            admin::create_key(services, context, &config.access, request).await.map(|body| Reply::Json(201, body))
        }
        Action::RevokeKey { id } => admin::revoke_key(services, context, &id).await.map(ok),
        Action::ReadAudit(filter) => admin::read_audit(services, context, filter).await.map(ok),
    }
}

fn services<'a, T: Transport>(config: &'a Config, transport: &'a T) -> Services<'a, T> {
    // Clones share one token cache, so with a managed identity the storage
    // token is fetched once per request for all tables.
    let tables = TableClient::new(transport, &config.storage);
    let apps = AppStore::new(tables.clone(), &config.apps_table);
    let (secrets, soft_delete) = match &config.secret_store {
        SecretStoreConfig::KeyVault { vault_url, identity } => {
            (SecretStore::KeyVault(KeyVaultClient::new(vault_url, identity)), true)
        }
        SecretStoreConfig::SealedTable { key } => {
            (SecretStore::SealedTable { tables: tables.clone(), table: &config.seeds_table, key }, false)
        }
    };
    Services {
        apps,
        secrets,
        keys: KeyStore::new(tables.clone(), &config.keys_table),
        audit: AuditLog::new(tables, &config.audit_table),
        soft_delete,
    }
}

/// Builds the response for an error found before a request could be
/// parsed, such as an unreadable or oversized body.
pub fn respond_error(error: ApiError) -> ApiResponse {
    respond(Err(error))
}

/// Builds the HTTP response, success or error, in one place.
fn respond(result: Result<Reply, ApiError>) -> ApiResponse {
    let mut headers = vec![
        ("content-type".to_string(), "application/json; charset=utf-8".to_string()),
        // Codes are valid for seconds and app lists are private: no cache
        // or proxy should keep either.
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    match result {
        Ok(Reply::Json(status, body)) => {
            ApiResponse { status, headers, body: serde_json::to_vec(&body).expect("JSON serializes") }
        }
        Ok(Reply::Document(document)) => ApiResponse { status: 200, headers, body: document.as_bytes().to_vec() },
        Err(error) => {
            if let Some(allow) = &error.allow {
                headers.push(("allow".to_string(), allow.clone()));
            }
            if error.challenge {
                headers.push(("www-authenticate".to_string(), "Bearer".to_string()));
            }
            ApiResponse { status: error.status, headers, body: error.body() }
        }
    }
}

/// Describes what a key needs for a route, for the 403 message.
fn required_grant(permission: Permission) -> String {
    match permission {
        Permission::Public => "no role".to_string(),
        Permission::Role(role) => format!("the {} role or higher", role.as_str()),
        Permission::Export => "the export permission".to_string(),
    }
}
