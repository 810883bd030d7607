//! API key records in Table Storage: PartitionKey `apikey`, RowKey = the
//! key id. Only the keyed hash of each key's secret is stored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::access::{Role, Scope};
use crate::azure::UpstreamError;
use crate::azure::tables::{Condition, Entity, TableClient};
use crate::transport::Transport;

/// The one partition all key records share; a handful of keys per team
/// never needs more.
pub const PARTITION_KEY: &str = "apikey";

/// One API key. `Debug` shows the hash, which is useless without the hash
/// secret and the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub export: bool,
    /// HMAC-SHA256 of the key secret under the hash secret.
    pub hash: Vec<u8>,
    pub created: String,
    pub created_by: String,
    /// RFC 3339 time after which the key is rejected.
    pub expires: Option<String>,
    /// RFC 3339 time the key was revoked.
    pub revoked: Option<String>,
}

impl KeyRecord {
    pub fn to_entity(&self) -> Entity {
        let mut entity = json!({
            "PartitionKey": PARTITION_KEY,
            "RowKey": self.id,
            "Name": self.name,
            "Role": self.role.as_str(),
            "Scope": self.scope.to_json().to_string(),
            "Export": self.export,
            "Hash": BASE64.encode(&self.hash),
            "Created": self.created,
            "CreatedBy": self.created_by,
        });
        if let Some(expires) = &self.expires {
            entity["Expires"] = json!(expires);
        }
        if let Some(revoked) = &self.revoked {
            entity["Revoked"] = json!(revoked);
        }
        match entity {
            Value::Object(map) => map,
            _ => unreachable!("json! object literal"),
        }
    }

    /// Reads a record, or explains why it is unusable. An unreadable key
    /// record is treated as no key, so it never grants access.
    pub fn from_entity(entity: &Entity) -> Result<KeyRecord, String> {
        let text = |name: &str| entity.get(name).and_then(Value::as_str).map(str::to_string);
        let role = text("Role").as_deref().and_then(Role::parse).ok_or("Role is missing or unknown")?;
        let scope_text = text("Scope").ok_or("Scope is missing")?;
        let scope_json: Value = serde_json::from_str(&scope_text).map_err(|_| "Scope is not JSON")?;
        let scope = parse_scope(&scope_json).map_err(|e| format!("Scope is invalid: {e}"))?;
        let hash = BASE64.decode(text("Hash").ok_or("Hash is missing")?).map_err(|_| "Hash is not base64")?;
        Ok(KeyRecord {
            id: text("RowKey").ok_or("RowKey is missing")?,
            name: text("Name").unwrap_or_default(),
            role,
            scope,
            export: entity.get("Export").and_then(Value::as_bool).unwrap_or(false),
            hash,
            created: text("Created").unwrap_or_default(),
            created_by: text("CreatedBy").unwrap_or_default(),
            expires: text("Expires"),
            revoked: text("Revoked"),
        })
    }
}

/// Reads a scope in its JSON form, `"all"` or `{"apps": [...], "tags": [...]}`.
pub fn parse_scope(value: &Value) -> Result<Scope, String> {
    match value {
        Value::String(text) if text == "all" => Ok(Scope::All),
        Value::Object(object) => {
            let list = |name: &str| -> Result<Vec<String>, String> {
                match object.get(name) {
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|item| item.as_str().map(str::to_string).ok_or(format!("{name} must list strings")))
                        .collect(),
                    Some(_) => Err(format!("{name} must be a list")),
                }
            };
            if let Some(unknown) = object.keys().find(|k| *k != "apps" && *k != "tags") {
                return Err(format!("unknown scope field {unknown:?}; use apps and tags"));
            }
            Ok(Scope::Limited { apps: list("apps")?, tags: list("tags")? })
        }
        _ => Err("use \"all\" or {\"apps\": [...], \"tags\": [...]}".to_string()),
    }
}

/// Key records in one table.
pub struct KeyStore<'a, T> {
    tables: TableClient<'a, T>,
    table: &'a str,
}

impl<'a, T: Transport> KeyStore<'a, T> {
    pub fn new(tables: TableClient<'a, T>, table: &'a str) -> Self {
        KeyStore { tables, table }
    }

    pub async fn insert(&self, record: &KeyRecord) -> Result<(), UpstreamError> {
        self.tables.insert(self.table, &record.to_entity()).await
    }

    /// Returns the record, `Ok(None)` if there is none, or the reason a
    /// stored record is unreadable.
    pub async fn get(&self, id: &str) -> Result<Option<Result<KeyRecord, String>>, UpstreamError> {
        Ok(self.tables.get(self.table, PARTITION_KEY, id).await?.map(|entity| KeyRecord::from_entity(&entity)))
    }

    /// Replaces a record that must still exist.
    pub async fn replace(&self, record: &KeyRecord) -> Result<(), UpstreamError> {
        self.tables.replace(self.table, &record.to_entity(), Condition::Exists).await.map(|_| ())
    }

    /// Returns every record, and the reasons some could not be read.
    pub async fn list(&self) -> Result<(Vec<KeyRecord>, Vec<String>), UpstreamError> {
        let entities = self.tables.query_partition(self.table, PARTITION_KEY).await?;
        let mut records = Vec::new();
        let mut unreadable = Vec::new();
        for entity in &entities {
            match KeyRecord::from_entity(entity) {
                Ok(record) => records.push(record),
                Err(reason) => unreadable.push(reason),
            }
        }
        Ok((records, unreadable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_entity() {
        let record = KeyRecord {
            id: "0123456789abcdef".into(),
            name: "ops readers".into(),
            role: Role::Reader,
            scope: Scope::Limited { apps: vec![], tags: vec!["ops".into()] },
            export: false,
            hash: vec![7; 32],
            created: "2026-12-04T20:30:00Z".into(),
            created_by: "admin-key".into(),
            expires: Some("2027-01-01T00:00:00Z".into()),
            revoked: None,
        };
        assert_eq!(KeyRecord::from_entity(&record.to_entity()).unwrap(), record);
    }

    #[test]
    fn scope_forms() {
        assert_eq!(parse_scope(&json!("all")).unwrap(), Scope::All);
        assert_eq!(
            parse_scope(&json!({"apps": ["a"]})).unwrap(),
            Scope::Limited { apps: vec!["a".into()], tags: vec![] }
        );
        assert!(parse_scope(&json!({"teams": ["a"]})).is_err());
        assert!(parse_scope(&json!("some")).is_err());
        assert!(parse_scope(&json!({"tags": "ops"})).is_err());
    }
}
