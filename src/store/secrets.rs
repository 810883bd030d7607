//! The seed store: one secret per app, named by the app id.
//!
//! Two back ends behind one type: Key Vault (the default on Azure, one
//! secret per app as the original sharedmfa kept them) and the sealed table
//! (AES-256-GCM under a configured key, for hosts without Key Vault and for
//! local runs).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::StoreError;
use super::sealed::{self, FORMAT_VERSION, SealedSeed};
use crate::azure::UpstreamError;
use crate::azure::keyvault::KeyVaultClient;
use crate::azure::tables::{Condition, Entity, TableClient};
use crate::config::SealKey;
use crate::otp::{Seed, parse_otpauth_uri};
use crate::transport::Transport;

/// The one partition of the sealed-seed table.
pub const SEALED_PARTITION_KEY: &str = "seed";

pub enum SecretStore<'a, T> {
    KeyVault(KeyVaultClient),
    SealedTable { tables: TableClient<'a, T>, table: &'a str, key: &'a SealKey },
}

impl<'a, T: Transport> SecretStore<'a, T> {
    /// Stores the seed of a new app `id`. The sealed table refuses to
    /// overwrite an existing seed (409), which app ids never collide on.
    pub async fn put(&self, id: &str, seed: &Seed) -> Result<(), StoreError> {
        match self {
            SecretStore::KeyVault(vault) => Ok(vault.set_secret(id, &seed.to_base32()).await?),
            SecretStore::SealedTable { tables, table, key } => {
                let sealed = sealed::seal(key, id, seed)
                    .map_err(|reason| StoreError::Corrupt { app_id: id.to_string(), reason })?;
                Ok(tables.insert(table, &sealed_entity(id, &sealed)).await?)
            }
        }
    }

    /// Replaces the seed of app `id` (rotation). Key Vault keeps the old
    /// value as an earlier version of the secret; the sealed table
    /// overwrites its row.
    pub async fn replace(&self, id: &str, seed: &Seed) -> Result<(), StoreError> {
        match self {
            SecretStore::KeyVault(vault) => Ok(vault.set_secret(id, &seed.to_base32()).await?),
            SecretStore::SealedTable { tables, table, key } => {
                let sealed = sealed::seal(key, id, seed)
                    .map_err(|reason| StoreError::Corrupt { app_id: id.to_string(), reason })?;
                tables.replace(table, &sealed_entity(id, &sealed), Condition::Upsert).await?;
                Ok(())
            }
        }
    }

    /// Returns the seed of app `id`, or `None` if the store has none.
    pub async fn get(&self, id: &str) -> Result<Option<Seed>, StoreError> {
        match self {
            SecretStore::KeyVault(vault) => match vault.get_secret(id).await? {
                Some(value) => seed_from_vault_value(id, &value).map(Some),
                None => Ok(None),
            },
            SecretStore::SealedTable { tables, table, key } => {
                let Some(entity) = tables.get(table, SEALED_PARTITION_KEY, id).await? else {
                    return Ok(None);
                };
                let corrupt = |reason: String| StoreError::Corrupt { app_id: id.to_string(), reason };
                let sealed = sealed_from_entity(&entity).map_err(corrupt)?;
                sealed::open(key, id, &sealed).map(Some).map_err(corrupt)
            }
        }
    }

    /// Removes the seed of app `id`; a missing seed counts as removed. Key
    /// Vault keeps a soft-deleted copy until its retention period ends.
    pub async fn delete(&self, id: &str) -> Result<(), UpstreamError> {
        match self {
            SecretStore::KeyVault(vault) => vault.delete_secret(id).await,
            SecretStore::SealedTable { tables, table, .. } => tables.delete(table, SEALED_PARTITION_KEY, id).await,
        }
    }
}

/// Reads a vault value: base32 as this version writes it, or a whole
/// otpauth URI, which older tools stored.
fn seed_from_vault_value(id: &str, value: &str) -> Result<Seed, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { app_id: id.to_string(), reason };
    if value.trim_start().to_ascii_lowercase().starts_with("otpauth://") {
        return parse_otpauth_uri(value).map(|parsed| parsed.seed).map_err(|e| corrupt(e.message));
    }
    Seed::from_base32(value, "secret").map_err(|e| corrupt(e.message))
}

fn sealed_entity(id: &str, sealed: &SealedSeed) -> Entity {
    let entity = json!({
        "PartitionKey": SEALED_PARTITION_KEY,
        "RowKey": id,
        "Format": FORMAT_VERSION,
        "Nonce": BASE64.encode(&sealed.nonce),
        "Ciphertext": BASE64.encode(&sealed.ciphertext),
    });
    match entity {
        Value::Object(map) => map,
        _ => unreachable!("json! object literal"),
    }
}

fn sealed_from_entity(entity: &Entity) -> Result<SealedSeed, String> {
    let format = entity.get("Format").and_then(Value::as_u64);
    if format != Some(u64::from(FORMAT_VERSION)) {
        return Err(format!("sealed seed format {format:?} is not {FORMAT_VERSION}"));
    }
    let field = |name: &str| -> Result<Vec<u8>, String> {
        let text = entity.get(name).and_then(Value::as_str).ok_or(format!("{name} is missing"))?;
        BASE64.decode(text).map_err(|_| format!("{name} is not base64"))
    };
    Ok(SealedSeed { nonce: field("Nonce")?, ciphertext: field("Ciphertext")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_values_in_both_forms() {
        let expected = Seed::from_base32("JBSWY3DPEHPK3PXP", "secret").unwrap();
        assert_eq!(seed_from_vault_value("a", "JBSWY3DPEHPK3PXP").unwrap(), expected);
        assert_eq!(seed_from_vault_value("a", "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP").unwrap(), expected);
        let error = seed_from_vault_value("a", "not base32!").unwrap_err();
        assert!(!error.to_string().contains("not base32!"), "{error}");
    }

    #[test]
    fn sealed_entity_round_trips() {
        let sealed = SealedSeed { nonce: vec![1; 12], ciphertext: vec![2; 26] };
        let entity = sealed_entity("app-1", &sealed);
        assert_eq!(entity["PartitionKey"], "seed");
        assert_eq!(sealed_from_entity(&entity).unwrap(), sealed);
    }
}
