//! Clients for the Azure REST APIs the component calls.
//!
//! - [`shared_key`]: Shared Key request signing for Table Storage.
//! - [`tables`]: Table Storage entities: insert, get, query, delete.
//! - [`identity`]: managed identity tokens (App Service / Functions).
//! - [`keyvault`]: Key Vault secrets through the Azure SDK: set, get, delete.
//! - [`error`]: the one error type all of them return.

pub mod error;
pub mod identity;
pub mod keyvault;
pub mod shared_key;
pub mod tables;

pub use error::{Service, UpstreamError, UpstreamErrorKind};
