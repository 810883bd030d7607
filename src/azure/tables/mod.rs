//! A small Table Storage client over the REST API (version 2019-02-02).
//!
//! No maintained Rust crate covers Tables, so this client does what
//! sharedmfa needs: insert, get with the entity's ETag, conditional replace
//! and merge, paged queries, delete, and creating a table on first use.
//! [`wire`] builds requests and reads responses as pure functions; the
//! methods here only add the clock and the transport.

pub mod wire;

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::error::{Service, UpstreamError, UpstreamErrorKind};
use super::identity::{AccessToken, fetch_token};
use crate::config::{ManagedIdentity, StorageAccount, StorageCredential};
use crate::transport::{HttpRequest, HttpResponse, Transport};
pub use wire::{Continuation, quote};
use wire::{Authorization, build_request, entity_path, error_code, next_continuation, parse_entities, parse_entity, query_string, table_error};

/// Resource for managed identity tokens that Table Storage accepts.
const STORAGE_RESOURCE: &str = "https://storage.azure.com/";

/// Most pages one [`TableClient::query_all`] follows. Each page holds up to
/// 1,000 entities, so this bounds a listing at 100,000 entities and stops a
/// service that keeps returning continuations from looping forever.
const MAX_QUERY_PAGES: usize = 100;

/// One entity as JSON properties, including `PartitionKey` and `RowKey`.
pub type Entity = Map<String, Value>;

/// An entity with the ETag the service returned for it.
#[derive(Debug, Clone)]
pub struct Tagged {
    pub entity: Entity,
    pub etag: String,
}

/// When a replace or merge may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'e> {
    /// Only if the entity still has this ETag (optimistic concurrency);
    /// otherwise the service returns 412.
    IfMatch(&'e str),
    /// Only if the entity exists (`If-Match: *`); otherwise 404.
    Exists,
    /// Insert or update, whatever is stored (no `If-Match`).
    Upsert,
}

/// One page of query results and where the next page starts.
#[derive(Debug, Clone)]
pub struct Page {
    pub entities: Vec<Entity>,
    pub continuation: Option<Continuation>,
}

/// Table Storage client for one account, borrowing its transport.
///
/// With a managed identity credential the client fetches one token on its
/// first request and reuses it; clones share that token. Clients live for
/// one API request, far shorter than a token's lifetime (hours).
pub struct TableClient<'a, T> {
    transport: &'a T,
    account: &'a StorageAccount,
    token: Arc<OnceLock<AccessToken>>,
}

impl<T> Clone for TableClient<'_, T> {
    fn clone(&self) -> Self {
        TableClient { transport: self.transport, account: self.account, token: Arc::clone(&self.token) }
    }
}

impl<'a, T: Transport> TableClient<'a, T> {
    pub fn new(transport: &'a T, account: &'a StorageAccount) -> Self {
        TableClient { transport, account, token: Arc::default() }
    }

    /// Inserts a new entity, creating the table first if it does not exist.
    /// Fails with `Rejected { status: 409 }` if the keys are taken.
    pub async fn insert(&self, table: &str, entity: &Entity) -> Result<(), UpstreamError> {
        let body = serde_json::to_vec(entity).expect("JSON map serializes");
        let response = self.send(self.request("POST", &format!("/{table}"), None, Some(body.clone())).await?).await?;
        if response.is_success() {
            return Ok(());
        }
        if error_code(&response).as_deref() != Some("TableNotFound") {
            return Err(table_error(&response));
        }

        self.create_table(table).await?;
        let response = self.send(self.request("POST", &format!("/{table}"), None, Some(body)).await?).await?;
        if response.is_success() { Ok(()) } else { Err(table_error(&response)) }
    }

    /// Returns the entity with these keys, or `None` if it (or its table)
    /// does not exist.
    pub async fn get(&self, table: &str, partition_key: &str, row_key: &str) -> Result<Option<Entity>, UpstreamError> {
        Ok(self.get_tagged(table, partition_key, row_key).await?.map(|tagged| tagged.entity))
    }

    /// Returns the entity with its ETag, for a later conditional write.
    pub async fn get_tagged(&self, table: &str, partition_key: &str, row_key: &str) -> Result<Option<Tagged>, UpstreamError> {
        let request = self.request("GET", &entity_path(table, partition_key, row_key), None, None).await?;
        let response = self.send(request).await?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(table_error(&response));
        }
        let etag = response.header("ETag").unwrap_or_default().to_string();
        Ok(Some(Tagged { entity: parse_entity(&response.body)?, etag }))
    }

    /// Replaces the whole entity (PUT) under `condition`, returning the new
    /// ETag. With [`Condition::Upsert`] a missing table is created first.
    pub async fn replace(&self, table: &str, entity: &Entity, condition: Condition<'_>) -> Result<String, UpstreamError> {
        self.write("PUT", table, entity, condition).await
    }

    /// Merges the given properties into the entity (MERGE) under `condition`,
    /// leaving other properties as stored, and returns the new ETag.
    pub async fn merge(&self, table: &str, entity: &Entity, condition: Condition<'_>) -> Result<String, UpstreamError> {
        self.write("MERGE", table, entity, condition).await
    }

    /// Returns one page of entities matching an OData `filter`, at most
    /// `top` of them, starting at `continuation`. A missing table reads as
    /// empty.
    pub async fn query_page(
        &self,
        table: &str,
        filter: &str,
        top: Option<u32>,
        continuation: Option<&Continuation>,
    ) -> Result<Page, UpstreamError> {
        let query = query_string(filter, top, continuation);
        let response = self.send(self.request("GET", &format!("/{table}()"), Some(&query), None).await?).await?;
        if response.status == 404 && error_code(&response).as_deref() == Some("TableNotFound") {
            return Ok(Page { entities: Vec::new(), continuation: None });
        }
        if !response.is_success() {
            return Err(table_error(&response));
        }
        Ok(Page { entities: parse_entities(&response.body)?, continuation: next_continuation(&response) })
    }

    /// Returns every entity matching `filter`, following continuations.
    pub async fn query_all(&self, table: &str, filter: &str) -> Result<Vec<Entity>, UpstreamError> {
        let mut entities = Vec::new();
        let mut continuation = None;
        for _ in 0..MAX_QUERY_PAGES {
            let page = self.query_page(table, filter, None, continuation.as_ref()).await?;
            entities.extend(page.entities);
            continuation = page.continuation;
            if continuation.is_none() {
                return Ok(entities);
            }
        }
        Err(UpstreamError::invalid_response(
            Service::TableStorage,
            format!("query of table {table} returned more than {MAX_QUERY_PAGES} pages"),
        ))
    }

    /// Returns every entity in one partition.
    pub async fn query_partition(&self, table: &str, partition_key: &str) -> Result<Vec<Entity>, UpstreamError> {
        self.query_all(table, &format!("PartitionKey eq {}", quote(partition_key))).await
    }

    /// Deletes an entity unconditionally. Deleting a missing entity succeeds,
    /// so callers can retry a cleanup.
    pub async fn delete(&self, table: &str, partition_key: &str, row_key: &str) -> Result<(), UpstreamError> {
        let mut request = self.request("DELETE", &entity_path(table, partition_key, row_key), None, None).await?;
        request.headers.push(("If-Match".into(), "*".into()));
        let response = self.send(request).await?;
        if response.is_success() || response.status == 404 {
            return Ok(());
        }
        Err(table_error(&response))
    }

    async fn write(&self, method: &str, table: &str, entity: &Entity, condition: Condition<'_>) -> Result<String, UpstreamError> {
        let (Some(partition_key), Some(row_key)) = (key_of(entity, "PartitionKey"), key_of(entity, "RowKey")) else {
            return Err(UpstreamError::invalid_response(Service::TableStorage, "entity to write has no PartitionKey or RowKey"));
        };
        let path = entity_path(table, partition_key, row_key);
        let body = serde_json::to_vec(entity).expect("JSON map serializes");

        let response = self.send(self.conditional(method, &path, body.clone(), condition).await?).await?;
        if response.is_success() {
            return Ok(etag_of(&response));
        }
        let table_missing = error_code(&response).as_deref() == Some("TableNotFound");
        if !(table_missing && condition == Condition::Upsert) {
            return Err(table_error(&response));
        }

        self.create_table(table).await?;
        let response = self.send(self.conditional(method, &path, body, condition).await?).await?;
        if response.is_success() { Ok(etag_of(&response)) } else { Err(table_error(&response)) }
    }

    async fn conditional(&self, method: &str, path: &str, body: Vec<u8>, condition: Condition<'_>) -> Result<HttpRequest, UpstreamError> {
        let mut request = self.request(method, path, None, Some(body)).await?;
        match condition {
            Condition::IfMatch(etag) => request.headers.push(("If-Match".into(), etag.to_string())),
            Condition::Exists => request.headers.push(("If-Match".into(), "*".into())),
            Condition::Upsert => {}
        }
        Ok(request)
    }

    async fn create_table(&self, table: &str) -> Result<(), UpstreamError> {
        let body = serde_json::to_vec(&serde_json::json!({ "TableName": table })).expect("JSON serializes");
        let response = self.send(self.request("POST", "/Tables", None, Some(body)).await?).await?;
        // Another request may have created it a moment ago.
        if response.is_success() || error_code(&response).as_deref() == Some("TableAlreadyExists") {
            return Ok(());
        }
        Err(table_error(&response))
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, UpstreamError> {
        self.transport.send(request).await.map_err(|e| UpstreamError::transport(Service::TableStorage, e))
    }

    async fn request(&self, method: &str, path: &str, query: Option<&str>, body: Option<Vec<u8>>) -> Result<HttpRequest, UpstreamError> {
        let authorization = match &self.account.credential {
            StorageCredential::SharedKey(key) => Authorization::SharedKey(key),
            StorageCredential::ManagedIdentity(identity) => Authorization::Bearer(self.token(identity).await?),
        };
        Ok(build_request(self.account, authorization, method, path, query, body, SystemTime::now()))
    }

    /// Returns the bearer token, fetching it on first use.
    async fn token(&self, identity: &ManagedIdentity) -> Result<&str, UpstreamError> {
        if self.token.get().is_none() {
            let token = fetch_token(self.transport, identity, STORAGE_RESOURCE).await?;
            // A concurrent first request may have stored a token already; either is valid.
            let _ = self.token.set(token);
        }
        Ok(&self.token.get().expect("token stored above").secret)
    }
}

fn key_of<'e>(entity: &'e Entity, name: &str) -> Option<&'e str> {
    entity.get(name).and_then(Value::as_str)
}

fn etag_of(response: &HttpResponse) -> String {
    response.header("ETag").unwrap_or_default().to_string()
}

/// True when the error is Table Storage's 409 for an insert whose keys
/// already exist.
pub fn is_conflict(error: &UpstreamError) -> bool {
    matches!(error.kind, UpstreamErrorKind::Rejected { status: 409, .. })
}

/// True when a conditional write lost a race: the entity's ETag changed
/// since it was read (412).
pub fn is_precondition_failed(error: &UpstreamError) -> bool {
    matches!(error.kind, UpstreamErrorKind::Rejected { status: 412, .. })
}

/// True when a conditional write or a read found no entity (404).
pub fn is_not_found(error: &UpstreamError) -> bool {
    matches!(error.kind, UpstreamErrorKind::Rejected { status: 404, .. })
}
