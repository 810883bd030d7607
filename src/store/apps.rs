//! App records in Table Storage.
//!
//! The schema keeps the original sharedmfa's properties so an existing
//! deployment's table works unchanged: PartitionKey `mfaseed`, RowKey = the
//! app id, `AccountName` = the issuer, `CustomName` = the custom name. The
//! code parameters live in new properties beside them; records without
//! them get the RFC 6238 defaults (SHA1, 6 digits, 30 s) and type `totp`.
//! HOTP records also carry `Counter`, the next counter to use, as an
//! `Edm.Int64` (a JSON string on the wire, because Int64 exceeds what JSON
//! numbers carry exactly).

use serde_json::{Value, json};

use super::StoreError;
use crate::azure::UpstreamError;
use crate::azure::tables::{Condition, Entity, TableClient};
use crate::otp::params::{self, DEFAULT_DIGITS, DEFAULT_PERIOD};
use crate::otp::{Algorithm, Encoder, OtpParams, OtpType};
use crate::transport::Transport;

/// The one partition all app records share (the original's value).
pub const PARTITION_KEY: &str = "mfaseed";

/// One app: a shared login whose seed sits in the secret store under `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    /// Lowercase hyphenated UUID, also the seed's name in the secret store.
    pub id: String,
    /// The service that issued the seed (`AccountName` in the table).
    pub issuer: String,
    /// A name the team chose (`CustomName` in the table); may be empty.
    pub custom_name: String,
    /// The account on the service, from the otpauth label; may be empty.
    pub account: String,
    pub params: OtpParams,
    /// TOTP, or HOTP with the counter of the next code.
    pub otp_type: OtpType,
    /// RFC 3339 creation time; absent on records the original wrote.
    pub created: Option<String>,
    /// Lowercase labels that API key scopes select apps by; stored as one
    /// comma-separated `Tags` property.
    pub tags: Vec<String>,
}

impl AppRecord {
    pub fn to_entity(&self) -> Entity {
        let mut entity = json!({
            "PartitionKey": PARTITION_KEY,
            "RowKey": self.id,
            "AccountName": self.issuer,
            "CustomName": self.custom_name,
            "Account": self.account,
            "Algorithm": self.params.algorithm.as_str(),
            "Digits": self.params.digits,
            "Period": self.params.period,
            "Encoder": self.params.encoder.as_str(),
            "Tags": self.tags.join(","),
            "Type": self.otp_type.as_str(),
        });
        if let OtpType::Hotp { counter } = self.otp_type {
            entity.as_object_mut().expect("json! object literal").extend(counter_properties(counter));
        }
        if let Some(created) = &self.created {
            entity["Created"] = json!(created);
            entity["Created@odata.type"] = json!("Edm.DateTime");
        }
        match entity {
            Value::Object(map) => map,
            _ => unreachable!("json! object literal"),
        }
    }

    /// Reads a record, filling defaults for properties the original schema
    /// lacks. Fails only on values that would give wrong codes.
    pub fn from_entity(entity: &Entity) -> Result<AppRecord, StoreError> {
        let id = text(entity, "RowKey").unwrap_or_default();
        let corrupt = |reason: String| StoreError::Corrupt { app_id: id.clone(), reason };

        let algorithm = match text(entity, "Algorithm") {
            Some(value) => Algorithm::parse(&value, "Algorithm").map_err(|e| corrupt(e.message))?,
            None => Algorithm::Sha1,
        };
        let digits = match number_text(entity, "Digits") {
            Some(value) => params::parse_digits(&value).map_err(|e| corrupt(e.message))?,
            None => DEFAULT_DIGITS,
        };
        let period = match number_text(entity, "Period") {
            Some(value) => params::parse_period(&value).map_err(|e| corrupt(e.message))?,
            None => DEFAULT_PERIOD,
        };
        let encoder = match text(entity, "Encoder") {
            Some(value) => Encoder::parse(&value, "Encoder").map_err(|e| corrupt(e.message))?,
            None => Encoder::Decimal,
        };
        let params = OtpParams { algorithm, digits, period, encoder }.validate().map_err(|e| corrupt(e.message))?;
        let otp_type = match text(entity, "Type").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("totp") => OtpType::Totp,
            Some("hotp") => {
                let counter = number_text(entity, "Counter").ok_or_else(|| corrupt("hotp record has no Counter".into()))?;
                OtpType::Hotp { counter: params::parse_counter(&counter).map_err(|e| corrupt(e.message))? }
            }
            Some(other) => return Err(corrupt(format!("unknown Type {other:?}"))),
        };

        Ok(AppRecord {
            issuer: text(entity, "AccountName").unwrap_or_default(),
            custom_name: text(entity, "CustomName").unwrap_or_default(),
            account: text(entity, "Account").unwrap_or_default(),
            params,
            otp_type,
            created: text(entity, "Created"),
            tags: text(entity, "Tags").map(|tags| split_tags(&tags)).unwrap_or_default(),
            id,
        })
    }
}

fn split_tags(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|tag| !tag.is_empty()).map(str::to_string).collect()
}

/// Builds the `Counter` property and its type annotation.
fn counter_properties(counter: u64) -> Entity {
    let properties = json!({ "Counter": counter.to_string(), "Counter@odata.type": "Edm.Int64" });
    match properties {
        Value::Object(map) => map,
        _ => unreachable!("json! object literal"),
    }
}

fn text(entity: &Entity, name: &str) -> Option<String> {
    entity.get(name).and_then(Value::as_str).map(str::to_string)
}

/// Numbers may be stored as Int32 or, by other tools, as strings.
fn number_text(entity: &Entity, name: &str) -> Option<String> {
    match entity.get(name)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// App records in one table.
pub struct AppStore<'a, T> {
    tables: TableClient<'a, T>,
    table: &'a str,
}

impl<'a, T: Transport> AppStore<'a, T> {
    pub fn new(tables: TableClient<'a, T>, table: &'a str) -> Self {
        AppStore { tables, table }
    }

    pub async fn insert(&self, record: &AppRecord) -> Result<(), UpstreamError> {
        self.tables.insert(self.table, &record.to_entity()).await
    }

    /// Replaces an existing record; fails with 404 if it was deleted meanwhile.
    pub async fn replace(&self, record: &AppRecord) -> Result<(), UpstreamError> {
        self.tables.replace(self.table, &record.to_entity(), Condition::Exists).await.map(|_| ())
    }

    /// Replaces a record only if it still has `etag`. A concurrent change
    /// (such as an HOTP counter step) fails with 412 instead of being undone.
    pub async fn replace_if(&self, record: &AppRecord, etag: &str) -> Result<(), UpstreamError> {
        self.tables.replace(self.table, &record.to_entity(), Condition::IfMatch(etag)).await.map(|_| ())
    }

    /// Deletes a record; a missing record counts as deleted.
    pub async fn delete(&self, id: &str) -> Result<(), UpstreamError> {
        self.tables.delete(self.table, PARTITION_KEY, id).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<AppRecord>, StoreError> {
        match self.tables.get(self.table, PARTITION_KEY, id).await? {
            Some(entity) => AppRecord::from_entity(&entity).map(Some),
            None => Ok(None),
        }
    }

    /// Returns the record with the ETag it was read at.
    pub async fn get_tagged(&self, id: &str) -> Result<Option<(AppRecord, String)>, StoreError> {
        match self.tables.get_tagged(self.table, PARTITION_KEY, id).await? {
            Some(tagged) => Ok(Some((AppRecord::from_entity(&tagged.entity)?, tagged.etag))),
            None => Ok(None),
        }
    }

    /// Stores `counter` as the HOTP counter of app `id`, only if the record
    /// still has `etag`. A concurrent change fails with 412
    /// ([`crate::azure::tables::is_precondition_failed`]).
    pub async fn set_counter(&self, id: &str, counter: u64, etag: &str) -> Result<(), UpstreamError> {
        let mut entity = counter_properties(counter);
        entity.insert("PartitionKey".into(), json!(PARTITION_KEY));
        entity.insert("RowKey".into(), json!(id));
        self.tables.merge(self.table, &entity, Condition::IfMatch(etag)).await.map(|_| ())
    }

    /// Returns every record, and the ids of records that could not be read.
    pub async fn list(&self) -> Result<(Vec<AppRecord>, Vec<StoreError>), UpstreamError> {
        let entities = self.tables.query_partition(self.table, PARTITION_KEY).await?;
        let mut records = Vec::with_capacity(entities.len());
        let mut unreadable = Vec::new();
        for entity in &entities {
            match AppRecord::from_entity(entity) {
                Ok(record) => records.push(record),
                Err(error) => unreadable.push(error),
            }
        }
        Ok((records, unreadable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_schema_record_gets_defaults() {
        let entity = json!({
            "PartitionKey": "mfaseed",
            "RowKey": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "AccountName": "GitHub",
            "CustomName": "ops-shared",
            "Timestamp": "2024-01-01T00:00:00Z",
        });
        let record = AppRecord::from_entity(entity.as_object().unwrap()).unwrap();
        assert_eq!(record.issuer, "GitHub");
        assert_eq!(record.custom_name, "ops-shared");
        assert_eq!(record.account, "");
        assert_eq!(record.params, OtpParams::default());
        assert_eq!(record.otp_type, OtpType::Totp);
        assert_eq!(record.created, None);
        assert!(record.tags.is_empty());
    }

    #[test]
    fn record_round_trips_through_entity() {
        let record = AppRecord {
            id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            issuer: "Bank".into(),
            custom_name: "payments".into(),
            account: "ivan".into(),
            params: OtpParams { algorithm: Algorithm::Sha256, digits: 8, period: 60, encoder: Encoder::Decimal },
            otp_type: OtpType::Totp,
            created: Some("2026-12-04T20:30:00Z".into()),
            tags: vec!["ops".into(), "finance".into()],
        };
        let entity = record.to_entity();
        assert_eq!(entity["AccountName"], "Bank");
        assert_eq!(entity["Digits"], 8);
        assert_eq!(entity["Type"], "totp");
        assert!(!entity.contains_key("Counter"));
        assert_eq!(entity["Created@odata.type"], "Edm.DateTime");
        assert_eq!(AppRecord::from_entity(&entity).unwrap(), record);
    }

    #[test]
    fn hotp_counter_is_int64_text() {
        let record = AppRecord {
            id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            issuer: "VPN".into(),
            custom_name: String::new(),
            account: "ops".into(),
            params: OtpParams::default(),
            otp_type: OtpType::Hotp { counter: 9_007_199_254_740_993 },
            created: None,
            tags: vec![],
        };
        let entity = record.to_entity();
        assert_eq!(entity["Type"], "hotp");
        assert_eq!(entity["Counter"], "9007199254740993");
        assert_eq!(entity["Counter@odata.type"], "Edm.Int64");
        assert_eq!(AppRecord::from_entity(&entity).unwrap(), record);
    }

    #[test]
    fn hotp_without_counter_is_corrupt() {
        let entity = json!({ "RowKey": "x", "Type": "hotp" });
        let error = AppRecord::from_entity(entity.as_object().unwrap()).unwrap_err();
        assert_eq!(error.to_string(), "stored data for app x is unreadable: hotp record has no Counter");
    }

    #[test]
    fn unusable_parameters_are_corrupt() {
        let entity = json!({ "RowKey": "x", "AccountName": "A", "Digits": 12 });
        let error = AppRecord::from_entity(entity.as_object().unwrap()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "stored data for app x is unreadable: digits 12 is out of range; use 6 to 9 (usually 6)"
        );
    }
}
