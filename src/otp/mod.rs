//! One-time passwords: seeds, their parameters, otpauth URIs and codes.
//!
//! - [`seed`]: the secret bytes and their base32 text form.
//! - [`params`]: algorithm, digits, period and encoder, with their limits.
//! - [`otpauth`]: parsing `otpauth://` URIs into a seed and its parameters.
//! - [`code`]: computing the code for a given time, through `totp-rs`.

pub mod code;
pub mod otpauth;
pub mod params;
pub mod seed;

pub use code::{CodeWindow, code_at, hotp_code};
pub use otpauth::{ParsedUri, parse_otpauth_uri};
pub use params::{Algorithm, Encoder, OtpParams, OtpType};
pub use seed::Seed;
