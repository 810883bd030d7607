//! sharedmfa: shared TOTP codes over HTTP.
pub mod azure;
pub mod config;
pub mod field_error;
pub mod otp;
pub mod transport;
