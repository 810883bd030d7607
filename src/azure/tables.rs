//! A small Table Storage client over the REST API (version 2019-02-02).
//!
//! No maintained Rust crate covers Tables, so this client does just what
//! sharedmfa needs: insert, get, query one partition, delete, and create a
//! table on first use. Request building and response parsing are pure
//! functions; the async methods only add the clock and the transport.

use std::time::SystemTime;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::error::{Service, UpstreamError, UpstreamErrorKind};
use super::shared_key;
use crate::config::StorageAccount;
use crate::transport::{HttpRequest, HttpResponse, Transport};

/// REST version sent as `x-ms-version`. Azurite 3.37 rejects versions newer
/// than it knows with 400, and this one has everything used here.
pub const API_VERSION: &str = "2019-02-02";

/// Without this Accept value Azurite answers 415; `nometadata` also keeps
/// responses small.
const ACCEPT_JSON: &str = "application/json;odata=nometadata";

/// Everything but the RFC 3986 unreserved characters is escaped in keys and
/// query values.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Most pages a partition query follows. Each page holds up to 1,000
/// entities, so this bounds one listing at 100,000 apps and stops a service
/// that keeps returning continuations from looping forever.
const MAX_QUERY_PAGES: usize = 100;

/// One entity as JSON properties, including `PartitionKey` and `RowKey`.
pub type Entity = Map<String, Value>;

/// Table Storage client for one account, borrowing its transport.
pub struct TableClient<'a, T> {
    transport: &'a T,
    account: &'a StorageAccount,
}

impl<'a, T: Transport> TableClient<'a, T> {
    pub fn new(transport: &'a T, account: &'a StorageAccount) -> Self {
        TableClient { transport, account }
    }

    /// Inserts a new entity, creating the table first if it does not exist.
    /// Fails with `Rejected { status: 409 }` if the keys are taken.
    pub async fn insert(&self, table: &str, entity: &Entity) -> Result<(), UpstreamError> {
        let body = serde_json::to_vec(entity).expect("JSON map serializes");
        let request = self.request("POST", &format!("/{table}"), None, Some(body.clone()));
        let response = self.send(request).await?;
        if response.is_success() {
            return Ok(());
        }
        if error_code(&response).as_deref() != Some("TableNotFound") {
            return Err(table_error(&response));
        }

        self.create_table(table).await?;
        let retry = self.request("POST", &format!("/{table}"), None, Some(body));
        let response = self.send(retry).await?;
        if response.is_success() { Ok(()) } else { Err(table_error(&response)) }
    }

    /// Returns the entity with these keys, or `None` if it (or its table)
    /// does not exist.
    pub async fn get(&self, table: &str, partition_key: &str, row_key: &str) -> Result<Option<Entity>, UpstreamError> {
        let request = self.request("GET", &entity_path(table, partition_key, row_key), None, None);
        let response = self.send(request).await?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(table_error(&response));
        }
        parse_entity(&response.body).map(Some)
    }

    /// Returns every entity in one partition, following continuation tokens.
    /// A missing table reads as empty.
    pub async fn query_partition(&self, table: &str, partition_key: &str) -> Result<Vec<Entity>, UpstreamError> {
        let filter = format!("PartitionKey eq '{}'", partition_key.replace('\'', "''"));
        let mut entities = Vec::new();
        let mut continuation: Option<(String, String)> = None;

        for _ in 0..MAX_QUERY_PAGES {
            let query = query_string(&filter, continuation.as_ref());
            let request = self.request("GET", &format!("/{table}()"), Some(&query), None);
            let response = self.send(request).await?;
            if response.status == 404 && error_code(&response).as_deref() == Some("TableNotFound") {
                return Ok(Vec::new());
            }
            if !response.is_success() {
                return Err(table_error(&response));
            }

            entities.extend(parse_entities(&response.body)?);
            continuation = next_continuation(&response);
            if continuation.is_none() {
                return Ok(entities);
            }
        }
        Err(UpstreamError::invalid_response(
            Service::TableStorage,
            format!("query of table {table} returned more than {MAX_QUERY_PAGES} pages"),
        ))
    }

    /// Deletes an entity unconditionally. Deleting a missing entity succeeds,
    /// so callers can retry a cleanup.
    pub async fn delete(&self, table: &str, partition_key: &str, row_key: &str) -> Result<(), UpstreamError> {
        let mut request = self.request("DELETE", &entity_path(table, partition_key, row_key), None, None);
        request.headers.push(("If-Match".into(), "*".into()));
        let response = self.send(request).await?;
        if response.is_success() || response.status == 404 {
            return Ok(());
        }
        Err(table_error(&response))
    }

    async fn create_table(&self, table: &str) -> Result<(), UpstreamError> {
        let body = serde_json::to_vec(&serde_json::json!({ "TableName": table })).expect("JSON serializes");
        let request = self.request("POST", "/Tables", None, Some(body));
        let response = self.send(request).await?;
        // Another request may have created it a moment ago.
        if response.is_success() || error_code(&response).as_deref() == Some("TableAlreadyExists") {
            return Ok(());
        }
        Err(table_error(&response))
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, UpstreamError> {
        self.transport.send(request).await.map_err(|e| UpstreamError::transport(Service::TableStorage, e))
    }

    fn request(&self, method: &str, path: &str, query: Option<&str>, body: Option<Vec<u8>>) -> HttpRequest {
        build_request(self.account, method, path, query, body, SystemTime::now())
    }
}

/// Builds a signed request. `path` is relative to the table endpoint and
/// already percent-encoded; `query` likewise.
pub fn build_request(
    account: &StorageAccount,
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
    let full_path = endpoint_path(&account.table_endpoint) + path;
    let resource = shared_key::canonicalized_resource(&account.account, &full_path, query);
    let to_sign = shared_key::string_to_sign(method, content_type, &date, &resource);

    let mut headers = vec![
        ("x-ms-date".to_string(), date),
        ("x-ms-version".to_string(), API_VERSION.to_string()),
        ("Accept".to_string(), ACCEPT_JSON.to_string()),
        ("DataServiceVersion".to_string(), "3.0;NetFx".to_string()),
        ("Authorization".to_string(), shared_key::authorization(&account.account, &account.key.0, &to_sign)),
    ];
    if body.is_some() {
        headers.push(("Content-Type".to_string(), content_type.to_string()));
        // Insert answers 201 with the entity by default; nothing here reads it.
        headers.push(("Prefer".to_string(), "return-no-content".to_string()));
    }

    HttpRequest { method: method.to_string(), url, headers, body: body.unwrap_or_default() }
}

/// The path part of the table endpoint: empty for `https://acct.table...`,
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

fn query_string(filter: &str, continuation: Option<&(String, String)>) -> String {
    let mut query = format!("$filter={}", utf8_percent_encode(filter, ESCAPED));
    if let Some((partition, row)) = continuation {
        query.push_str(&format!(
            "&NextPartitionKey={}&NextRowKey={}",
            utf8_percent_encode(partition, ESCAPED),
            utf8_percent_encode(row, ESCAPED)
        ));
    }
    query
}

/// Reads the continuation headers. A page may be empty and still carry one.
fn next_continuation(response: &HttpResponse) -> Option<(String, String)> {
    let partition = response.header("x-ms-continuation-NextPartitionKey")?;
    let row = response.header("x-ms-continuation-NextRowKey").unwrap_or_default();
    Some((partition.to_string(), row.to_string()))
}

fn parse_entity(body: &[u8]) -> Result<Entity, UpstreamError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(UpstreamError::invalid_response(Service::TableStorage, "entity is not a JSON object")),
    }
}

fn parse_entities(body: &[u8]) -> Result<Vec<Entity>, UpstreamError> {
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

fn table_error(response: &HttpResponse) -> UpstreamError {
    UpstreamError::from_status(Service::TableStorage, response, error_code(response))
}

/// True when the error is Table Storage's answer to an insert whose keys
/// already exist.
pub fn is_conflict(error: &UpstreamError) -> bool {
    matches!(error.kind, UpstreamErrorKind::Rejected { status: 409, .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_connection_string;
    use std::time::{Duration, UNIX_EPOCH};

    fn azurite() -> StorageAccount {
        parse_connection_string("UseDevelopmentStorage=true").unwrap()
    }

    #[test]
    fn entity_path_escapes_keys() {
        assert_eq!(entity_path("apps", "mfaseed", "ab-12"), "/apps(PartitionKey='mfaseed',RowKey='ab-12')");
        assert_eq!(entity_path("apps", "o'neil", "a b"), "/apps(PartitionKey='o%27%27neil',RowKey='a%20b')");
    }

    #[test]
    fn request_is_signed_over_path_style_resource() {
        let now = UNIX_EPOCH + Duration::from_secs(1_796_416_200);
        let request = build_request(&azurite(), "GET", "/Tables", None, None, now);
        assert_eq!(request.url, "http://127.0.0.1:10002/devstoreaccount1/Tables");
        assert_eq!(request.header("x-ms-date"), Some("Fri, 04 Dec 2026 20:30:00 GMT"));
        assert_eq!(
            request.header("Authorization"),
            Some("SharedKey devstoreaccount1:nokE1yfwt7i3BTD17nY/XM+ibCDYhLbLFAYowQKB6LQ=")
        );
        assert_eq!(format!("{request:?}"), "HttpRequest(GET http://127.0.0.1:10002/devstoreaccount1/Tables)");
    }

    #[test]
    fn query_string_encodes_filter_and_continuation() {
        let continuation = ("1!12!bWZhc2VlZA--".to_string(), "1!8!YWJj".to_string());
        assert_eq!(
            query_string("PartitionKey eq 'mfaseed'", Some(&continuation)),
            "$filter=PartitionKey%20eq%20%27mfaseed%27&NextPartitionKey=1%2112%21bWZhc2VlZA--&NextRowKey=1%218%21YWJj"
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
