//! The wire format of the Table service: signed requests, entity paths,
//! query strings, and reading entities, continuations and error codes from
//! responses. Everything here is a pure function.

use std::time::SystemTime;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::Entity;
use crate::azure::error::{Service, UpstreamError};
use crate::azure::shared_key;
use crate::config::{AccountKey, StorageAccount};
use crate::transport::{HttpRequest, HttpResponse};

/// REST version sent as `x-ms-version`. Azurite 3.37 rejects versions newer
/// than it supports with 400, and this one has everything used here. Bearer
/// tokens need 2017-11-09 or later.
pub const API_VERSION: &str = "2019-02-02";

/// Without this Accept value Azurite returns 415; `nometadata` also keeps
/// responses small.
const ACCEPT_JSON: &str = "application/json;odata=nometadata";

/// Everything but the RFC 3986 unreserved characters is escaped in keys and
/// query values.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Position to resume a query from: `NextPartitionKey` and `NextRowKey` as
/// the service returned them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    pub next_partition_key: String,
    pub next_row_key: String,
}

/// Authorization scheme of one request.
#[derive(Clone, Copy)]
pub enum Authorization<'a> {
    /// Shared Key signature with this account key.
    SharedKey(&'a AccountKey),
    /// `Authorization: Bearer` with this token for `https://storage.azure.com/`.
    Bearer(&'a str),
}

/// Builds an authorized request. `path` is relative to the table endpoint
/// and already percent-encoded; `query` likewise.
pub fn build_request(
    account: &StorageAccount,
    authorization: Authorization<'_>,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: Option<Vec<u8>>,
    now: SystemTime,
) -> HttpRequest {
    let mut url = format!("{}{path}", account.table_endpoint);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }

    let date = httpdate::fmt_http_date(now);
    let content_type = if body.is_some() { "application/json" } else { "" };
    let authorization = match authorization {
        Authorization::SharedKey(key) => {
            let full_path = endpoint_path(&account.table_endpoint) + path;
            let resource = shared_key::canonicalized_resource(&account.account, &full_path, query);
            let to_sign = shared_key::string_to_sign(method, content_type, &date, &resource);
            shared_key::authorization(&account.account, &key.0, &to_sign)
        }
        Authorization::Bearer(token) => format!("Bearer {token}"),
    };

    let mut headers = vec![
        ("x-ms-date".to_string(), date),
        ("x-ms-version".to_string(), API_VERSION.to_string()),
        ("Accept".to_string(), ACCEPT_JSON.to_string()),
        ("DataServiceVersion".to_string(), "3.0;NetFx".to_string()),
        ("Authorization".to_string(), authorization),
    ];
    if body.is_some() {
        headers.push(("Content-Type".to_string(), content_type.to_string()));
        // Insert returns 201 with the entity by default; nothing here reads it.
        headers.push(("Prefer".to_string(), "return-no-content".to_string()));
    }

    HttpRequest { method: method.to_string(), url, headers, body: body.unwrap_or_default() }
}

/// Returns the path part of the table endpoint: empty for `https://acct.table...`,
/// `/devstoreaccount1` for Azurite's path-style URLs.
fn endpoint_path(endpoint: &str) -> String {
    url::Url::parse(endpoint).map(|u| u.path().trim_end_matches('/').to_string()).unwrap_or_default()
}

/// Returns `/{table}(PartitionKey='..',RowKey='..')` with quotes doubled and
/// the keys percent-encoded.
pub fn entity_path(table: &str, partition_key: &str, row_key: &str) -> String {
    let escape = |key: &str| utf8_percent_encode(&key.replace('\'', "''"), ESCAPED).to_string();
    format!("/{table}(PartitionKey='{}',RowKey='{}')", escape(partition_key), escape(row_key))
}

/// Builds `$filter=...[&$top=N][&NextPartitionKey=..&NextRowKey=..]`.
pub fn query_string(filter: &str, top: Option<u32>, continuation: Option<&Continuation>) -> String {
    let mut query = format!("$filter={}", utf8_percent_encode(filter, ESCAPED));
    if let Some(top) = top {
        query.push_str(&format!("&$top={top}"));
    }
    if let Some(Continuation { next_partition_key: partition, next_row_key: row }) = continuation {
        query.push_str(&format!(
            "&NextPartitionKey={}&NextRowKey={}",
            utf8_percent_encode(partition, ESCAPED),
            utf8_percent_encode(row, ESCAPED)
        ));
    }
    query
}

/// Reads the continuation headers. A page may be empty and still carry one.
pub fn next_continuation(response: &HttpResponse) -> Option<Continuation> {
    let partition = response.header("x-ms-continuation-NextPartitionKey")?;
    let row = response.header("x-ms-continuation-NextRowKey").unwrap_or_default();
    Some(Continuation { next_partition_key: partition.to_string(), next_row_key: row.to_string() })
}

/// Quotes a string for an OData filter: `'o''neil'`.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

pub fn parse_entity(body: &[u8]) -> Result<Entity, UpstreamError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(UpstreamError::invalid_response(Service::TableStorage, "entity is not a JSON object")),
    }
}

pub fn parse_entities(body: &[u8]) -> Result<Vec<Entity>, UpstreamError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| UpstreamError::invalid_response(Service::TableStorage, "query result is not JSON"))?;
    let Some(Value::Array(items)) = value.get("value") else {
        return Err(UpstreamError::invalid_response(Service::TableStorage, "query result has no value array"));
    };
    Ok(items.iter().filter_map(|item| item.as_object().cloned()).collect())
}

/// Reads the service error code from `x-ms-error-code`, or from the JSON
/// `odata.error` body; authorization failures come back as XML and are
/// covered by the header.
pub fn error_code(response: &HttpResponse) -> Option<String> {
    if let Some(code) = response.header("x-ms-error-code") {
        return Some(code.to_string());
    }
    let value: Value = serde_json::from_slice(&response.body).ok()?;
    value.get("odata.error")?.get("code")?.as_str().map(str::to_string)
}

pub fn table_error(response: &HttpResponse) -> UpstreamError {
    UpstreamError::from_status(Service::TableStorage, response, error_code(response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ManagedIdentity, StorageCredential, parse_connection_string};
    use std::time::{Duration, UNIX_EPOCH};

    fn azurite() -> StorageAccount {
        parse_connection_string("UseDevelopmentStorage=true").unwrap()
    }

    #[test]
    fn quote_doubles_single_quotes() {
        assert_eq!(quote("o'neil"), "'o''neil'");
    }

    #[test]
    fn entity_path_escapes_keys() {
        assert_eq!(entity_path("apps", "mfaseed", "ab-12"), "/apps(PartitionKey='mfaseed',RowKey='ab-12')");
        assert_eq!(entity_path("apps", "o'neil", "a b"), "/apps(PartitionKey='o%27%27neil',RowKey='a%20b')");
    }

    #[test]
    fn request_is_signed_over_path_style_resource() {
        let now = UNIX_EPOCH + Duration::from_secs(1_796_416_200);
        let account = azurite();
        let StorageCredential::SharedKey(key) = &account.credential else { unreachable!() };
        let request = build_request(&account, Authorization::SharedKey(key), "GET", "/Tables", None, None, now);
        assert_eq!(request.url, "http://127.0.0.1:10002/devstoreaccount1/Tables");
        assert_eq!(request.header("x-ms-date"), Some("Fri, 04 Dec 2026 20:30:00 GMT"));
        assert_eq!(
            request.header("Authorization"),
            Some("SharedKey devstoreaccount1:nokE1yfwt7i3BTD17nY/XM+ibCDYhLbLFAYowQKB6LQ=")
        );
        assert_eq!(format!("{request:?}"), "HttpRequest(GET http://127.0.0.1:10002/devstoreaccount1/Tables)");
    }

    #[test]
    fn bearer_request_carries_token_and_version() {
        let account = StorageAccount {
            account: "acme".to_string(),
            credential: StorageCredential::ManagedIdentity(ManagedIdentity {
                endpoint: "http://127.0.0.1:8081/msi/token".to_string(),
                header: "h".to_string(),
                client_id: None,
            }),
            table_endpoint: "https://acme.table.core.windows.net".to_string(),
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_796_416_200);
        let body = Some(b"{}".to_vec());
        let request = build_request(&account, Authorization::Bearer("eyJ0eXAi"), "POST", "/apps", None, body, now);
        assert_eq!(request.url, "https://acme.table.core.windows.net/apps");
        assert_eq!(request.header("Authorization"), Some("Bearer eyJ0eXAi"));
        assert_eq!(request.header("x-ms-version"), Some("2019-02-02"));
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert!(!format!("{request:?}").contains("eyJ0eXAi"));
    }

    #[test]
    fn query_string_encodes_filter_and_continuation() {
        let continuation = Continuation { next_partition_key: "1!12!bWZhc2VlZA--".to_string(), next_row_key: "1!8!YWJj".to_string() };
        assert_eq!(
            query_string("PartitionKey eq 'mfaseed'", Some(5), Some(&continuation)),
            "$filter=PartitionKey%20eq%20%27mfaseed%27&$top=5&NextPartitionKey=1%2112%21bWZhc2VlZA--&NextRowKey=1%218%21YWJj"
        );
    }

    #[test]
    fn error_code_from_header_or_body() {
        let response = HttpResponse {
            status: 404,
            headers: vec![],
            body: br#"{"odata.error":{"code":"TableNotFound","message":{"lang":"en-US","value":"x"}}}"#.to_vec(),
        };
        assert_eq!(error_code(&response).as_deref(), Some("TableNotFound"));
        let response = HttpResponse { status: 403, headers: vec![("X-MS-Error-Code".into(), "AuthorizationFailure".into())], body: b"<Error/>".to_vec() };
        assert_eq!(error_code(&response).as_deref(), Some("AuthorizationFailure"));
        let error = table_error(&response);
        assert_eq!(error.to_string(), "Table Storage: status 403 (AuthorizationFailure)");
    }
}
