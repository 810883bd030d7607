//! sharedmfa: shared TOTP codes over HTTP.
pub mod config;
pub mod field_error;
pub mod otp;
