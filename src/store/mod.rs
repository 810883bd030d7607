//! Storage of app records, seeds, API keys and audit entries.
//!
//! - [`apps`]: app records in Table Storage, in the original sharedmfa schema.
//! - [`secrets`]: the seed store, Key Vault or the sealed table.
//! - [`sealed`]: AES-256-GCM sealing for the sealed-table store.
//! - [`keys`]: API key records (hashes only).
//! - [`audit`]: the audit trail, partitioned by month, newest first.

pub mod apps;
pub mod audit;
pub mod keys;
pub mod sealed;
pub mod secrets;

use std::fmt;

use crate::azure::UpstreamError;

/// A storage failure: the service failed, or it returned data this version
/// cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    Upstream(UpstreamError),
    /// A stored record or seed is unreadable. `reason` never contains seed
    /// material.
    Corrupt { app_id: String, reason: String },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Upstream(error) => error.fmt(f),
            StoreError::Corrupt { app_id, reason } => write!(f, "stored data for app {app_id} is unreadable: {reason}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<UpstreamError> for StoreError {
    fn from(error: UpstreamError) -> Self {
        StoreError::Upstream(error)
    }
}
