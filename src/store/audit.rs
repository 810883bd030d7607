//! The audit trail in Table Storage.
//!
//! PartitionKey is the UTC month (`YYYYMM`), so a time-range query reads only
//! the months it covers. RowKey is the inverted time in milliseconds
//! (13 digits) plus `_` and a random suffix, so the service's ascending key
//! order is newest first and entries in the same millisecond do not collide.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use serde_json::{Value, json};

use crate::azure::UpstreamError;
use crate::azure::tables::{Continuation, Entity, TableClient, quote};
use crate::rfc3339;
use crate::transport::Transport;

/// Milliseconds are inverted against this, the largest 13-digit number
/// (year 2286), so RowKeys stay fixed-width.
const INVERSION_BASE_MILLIS: u64 = 9_999_999_999_999;

/// One audited event. It never carries a code or a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub time: SystemTime,
    /// `admin-key`, `key:<id>`, `easyauth:<name>`, or `anonymous`.
    pub actor: String,
    /// Operation name, e.g. `get_code`, `add_app`, `create_key`.
    pub action: &'static str,
    pub app_id: Option<String>,
    /// `ok`, `denied`, `not_found` or `failed`.
    pub outcome: &'static str,
    /// HTTP status of the response.
    pub status: u16,
    pub client: ClientAddress,
    /// A short note such as the affected key id; never secret.
    pub detail: Option<String>,
}

/// Client addresses of a request, as the host and proxies report them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddress {
    /// The TCP peer address the host shim passed on; behind a proxy, the proxy.
    pub peer: Option<String>,
    /// The last `X-Forwarded-For` hop; trustworthy only behind a proxy that sets it.
    pub forwarded_for: Option<String>,
}

/// Returns the partition (UTC month, `YYYYMM`) of a time.
pub fn partition_of(time: SystemTime) -> String {
    let date = time::OffsetDateTime::UNIX_EPOCH + time.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{:04}{:02}", date.year(), u8::from(date.month()))
}

/// Returns the partition of the month before `partition`.
pub fn previous_partition(partition: &str) -> Option<String> {
    let year: u32 = partition.get(..4)?.parse().ok()?;
    let month: u32 = partition.get(4..)?.parse().ok()?;
    match month {
        1 => year.checked_sub(1).map(|year| format!("{year:04}12")),
        2..=12 => Some(format!("{year:04}{:02}", month - 1)),
        _ => None,
    }
}

/// Returns the fixed-width inverted millisecond prefix of a RowKey.
pub fn inverted_millis(time: SystemTime) -> String {
    let millis = time.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    format!("{:013}", INVERSION_BASE_MILLIS.saturating_sub(millis))
}

impl AuditEntry {
    /// Builds the entity; `suffix` is random text that keeps RowKeys unique.
    pub fn to_entity(&self, suffix: &str) -> Entity {
        let mut entity = json!({
            "PartitionKey": partition_of(self.time),
            "RowKey": format!("{}_{suffix}", inverted_millis(self.time)),
            "Time": rfc3339::format(self.time),
            "TimeMillis": self.time.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis().to_string(),
            "Actor": self.actor,
            "Action": self.action,
            "Outcome": self.outcome,
            "Status": self.status,
        });
        let optional = [
            ("AppId", &self.app_id),
            ("Client", &self.client.peer),
            ("ForwardedFor", &self.client.forwarded_for),
            ("Detail", &self.detail),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                entity[name] = json!(value);
            }
        }
        match entity {
            Value::Object(map) => map,
            _ => unreachable!("json! object literal"),
        }
    }
}

/// Returns one stored entry as the API shows it.
pub fn entry_view(entity: &Entity) -> Value {
    let text = |name: &str| entity.get(name).and_then(Value::as_str);
    json!({
        "time": text("Time"),
        "actor": text("Actor"),
        "action": text("Action"),
        "app": text("AppId"),
        "outcome": text("Outcome"),
        "status": entity.get("Status").and_then(Value::as_u64),
        "client": text("Client"),
        "forwarded_for": text("ForwardedFor"),
        "detail": text("Detail"),
    })
}

/// Audit query: entries between `from` and `to` inclusive, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub app: Option<String>,
    pub actor: Option<String>,
    pub from: SystemTime,
    pub to: SystemTime,
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

/// Start of the next page: a month partition and, inside it, the
/// service's continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub partition: String,
    pub continuation: Option<Continuation>,
}

impl Cursor {
    /// Encodes the cursor as opaque base64url text for the client.
    pub fn encode(&self) -> String {
        let (next_partition_key, next_row_key) = match &self.continuation {
            Some(c) => (Some(c.next_partition_key.as_str()), Some(c.next_row_key.as_str())),
            None => (None, None),
        };
        let value = json!({ "p": self.partition, "npk": next_partition_key, "nrk": next_row_key });
        BASE64URL.encode(value.to_string())
    }

    /// Decodes a cursor the API returned, or `None` if it is not one.
    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = BASE64URL.decode(text.trim()).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        let partition = value.get("p")?.as_str()?.to_string();
        if partition.len() != 6 || !partition.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let continuation = match (value.get("npk").and_then(Value::as_str), value.get("nrk").and_then(Value::as_str)) {
            (Some(partition_key), Some(row_key)) => {
                Some(Continuation { next_partition_key: partition_key.to_string(), next_row_key: row_key.to_string() })
            }
            _ => None,
        };
        Some(Cursor { partition, continuation })
    }
}

/// Returns the OData filter for one month partition of a query.
pub fn partition_filter(partition: &str, query: &AuditQuery) -> String {
    // Entries at `from` have RowKeys `<inverted from>_<suffix>`, and `_`
    // sorts before `~`, so `lt '<inverted from>~'` keeps them.
    let mut filter = format!(
        "PartitionKey eq {} and RowKey ge {} and RowKey lt {}",
        quote(partition),
        quote(&inverted_millis(query.to)),
        quote(&format!("{}~", inverted_millis(query.from))),
    );
    if let Some(app) = &query.app {
        filter.push_str(&format!(" and AppId eq {}", quote(app)));
    }
    if let Some(actor) = &query.actor {
        filter.push_str(&format!(" and Actor eq {}", quote(actor)));
    }
    filter
}

/// One page of audit entries and the cursor of the next, if any.
pub struct AuditPage {
    pub entries: Vec<Entity>,
    pub next: Option<Cursor>,
}

/// The audit table.
pub struct AuditLog<'a, T> {
    tables: TableClient<'a, T>,
    table: &'a str,
}

impl<'a, T: Transport> AuditLog<'a, T> {
    pub fn new(tables: TableClient<'a, T>, table: &'a str) -> Self {
        AuditLog { tables, table }
    }

    /// Writes one entry. `suffix` must be random (see [`AuditEntry::to_entity`]).
    pub async fn write(&self, entry: &AuditEntry, suffix: &str) -> Result<(), UpstreamError> {
        self.tables.insert(self.table, &entry.to_entity(suffix)).await
    }

    /// Reads up to `query.limit` entries, newest first, walking back month
    /// by month from the cursor (or from `to`) until `from`'s month.
    pub async fn read(&self, query: &AuditQuery) -> Result<AuditPage, UpstreamError> {
        let oldest = partition_of(query.from);
        let (mut partition, mut continuation) = match &query.cursor {
            Some(cursor) => (cursor.partition.clone(), cursor.continuation.clone()),
            None => (partition_of(query.to), None),
        };
        let mut entries = Vec::new();

        while partition >= oldest {
            let remaining = query.limit - entries.len() as u32;
            let filter = partition_filter(&partition, query);
            let page = self.tables.query_page(self.table, &filter, Some(remaining), continuation.as_ref()).await?;
            entries.extend(page.entities);
            continuation = page.continuation;

            let next = match continuation.take() {
                Some(inside) => Some(Cursor { partition: partition.clone(), continuation: Some(inside) }),
                None => previous_partition(&partition)
                    .filter(|previous| *previous >= oldest)
                    .map(|previous| Cursor { partition: previous, continuation: None }),
            };
            let Some(next) = next else {
                return Ok(AuditPage { entries, next: None });
            };
            if entries.len() as u32 >= query.limit {
                return Ok(AuditPage { entries, next: Some(next) });
            }
            partition = next.partition;
            continuation = next.continuation;
        }
        Ok(AuditPage { entries, next: None })
    }
}

/// The default start of a query without `from`: this long before `to`.
pub const DEFAULT_QUERY_SPAN: Duration = Duration::from_secs(366 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn partitions_are_utc_months() {
        assert_eq!(partition_of(at(1_796_416_200)), "202612");
        assert_eq!(previous_partition("202601").as_deref(), Some("202512"));
        assert_eq!(previous_partition("202612").as_deref(), Some("202611"));
        assert_eq!(previous_partition("2026x1"), None);
    }

    #[test]
    fn newer_entries_sort_first() {
        let older = AuditEntry {
            time: at(1_796_416_200),
            actor: "admin-key".into(),
            action: "get_code",
            app_id: Some("a".into()),
            outcome: "ok",
            status: 200,
            client: ClientAddress::default(),
            detail: None,
        };
        let newer = AuditEntry { time: at(1_796_416_201), ..older.clone() };
        let older_key = older.to_entity("00")["RowKey"].as_str().unwrap().to_string();
        let newer_key = newer.to_entity("00")["RowKey"].as_str().unwrap().to_string();
        assert!(newer_key < older_key, "{newer_key} should sort before {older_key}");
        assert_eq!(older_key.len(), 16);
    }

    #[test]
    fn filter_bounds_and_fields() {
        let query = AuditQuery {
            app: Some("a'b".into()),
            actor: None,
            from: at(1_796_416_200),
            to: at(1_796_416_260),
            limit: 10,
            cursor: None,
        };
        assert_eq!(
            partition_filter("202612", &query),
            "PartitionKey eq '202612' and RowKey ge '8203583739999' and RowKey lt '8203583799999~' and AppId eq 'a''b'"
        );
    }

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            partition: "202612".into(),
            continuation: Some(Continuation { next_partition_key: "1!12!MjAyNjEy".into(), next_row_key: "1!8!eA--".into() }),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not a cursor"), None);
    }
}
