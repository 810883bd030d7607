//! sharedmfa: shared TOTP codes over HTTP, as one WASI 0.2 component.
//!
//! Where things are:
//! - [`access`]: roles, scopes, API keys and the caller's identity.
//! - [`api`]: the HTTP API: routing, validation, handlers, JSON shapes, errors.
//! - [`otp`]: seeds, otpauth URI parsing and code generation (via `totp-rs`).
//! - [`intake`]: URI lists, Google Authenticator exports and QR code images.
//! - [`store`]: app records and the seed store (Key Vault or sealed table).
//! - [`azure`]: Table Storage and managed identity REST clients, and the Key Vault SDK client.
//! - [`config`]: settings from environment variables, shared with the host.
//! - [`rfc3339`]: formatting and parsing the timestamps the API uses.
//! - [`transport`]: the outbound HTTP trait the Azure clients send through.
//! - `component` (wasm32 only): the `wasi:http` entry point.
//! - `wasi_transport` (wasm32 only): outbound HTTP over `wasi:http`.
//!
//! Everything except those two and the Azure SDK glue in
//! `azure::keyvault` is plain Rust and is unit-tested natively.

pub mod access;
pub mod api;
pub mod azure;
pub mod config;
pub mod field_error;
pub mod intake;
pub mod log;
pub mod otp;
pub mod rfc3339;
pub mod store;
pub mod transport;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod wasi_transport;
