//! The API's one error shape and the one place where internal errors
//! become HTTP status codes.
//!
//! Every error body is `{"error": {"code", "message", "field"}}`: a stable
//! machine-readable code, a message that states what is wrong and how to fix
//! it, and the request field at fault (or null).

use serde_json::json;

use crate::azure::{Service, UpstreamError, UpstreamErrorKind};
use crate::field_error::{FieldError, FieldErrorKind};
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    /// Methods the route accepts, for the `Allow` header of a 405.
    pub allow: Option<String>,
    /// True for 401, which carries a `WWW-Authenticate: Bearer` challenge.
    pub challenge: bool,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>, field: Option<&'static str>) -> ApiError {
        ApiError { status, code, message: message.into(), field, allow: None, challenge: false }
    }

    pub fn invalid_json(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_json", message, Some("body"))
    }

    pub fn not_found(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message, Some(field))
    }

    pub fn route_not_found(path: &str) -> ApiError {
        ApiError::new(
            404,
            "route_not_found",
            format!("no route {path}; /api/openapi.json lists the routes"),
            None,
        )
    }

    pub fn method_not_allowed(method: &str, path: &str, allow: String) -> ApiError {
        let mut error = ApiError::new(405, "method_not_allowed", format!("{method} is not allowed on {path}; use {allow}"), None);
        error.allow = Some(allow);
        error
    }

    /// 401: no credential, or one that is invalid, revoked or expired.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        let mut error = ApiError::new(401, "unauthorized", message, None);
        error.challenge = true;
        error
    }

    /// 403: a valid caller whose role or grants do not cover the route.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "forbidden", message, None)
    }

    /// 409: the request conflicts with stored state.
    pub fn conflict(field: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(409, "conflict", message, Some(field))
    }

    /// 503: the audit entry could not be written, so the operation's result
    /// is withheld.
    pub fn audit_unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(503, "audit_unavailable", message, None)
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(413, "payload_too_large", format!("request body is larger than {limit} bytes; send a smaller body"), Some("body"))
    }

    /// Builds the error for an HOTP counter that other requests advanced
    /// during every attempt. Retrying succeeds once the burst is over.
    pub fn counter_contended(attempts: usize) -> ApiError {
        ApiError::new(
            409,
            "counter_contended",
            format!("the HOTP counter changed under {attempts} attempts in a row; retry the request"),
            None,
        )
    }

    /// Builds the error for an HOTP counter at the maximum of a `u64`.
    pub fn counter_exhausted() -> ApiError {
        ApiError::new(409, "counter_exhausted", "the HOTP counter reached its maximum; add the seed again with a new secret", Some("counter"))
    }

    pub fn not_configured(message: impl Into<String>) -> ApiError {
        ApiError::new(503, "not_configured", message, None)
    }

    pub fn internal() -> ApiError {
        ApiError::new(500, "internal", "internal error; the server log has the details", None)
    }

    /// Maps a storage failure: unreachable or overloaded storage is 503,
    /// storage that refuses this service's credentials is 502, unreadable
    /// stored data is 500. Details go to the log, not to the client.
    pub fn from_store(error: &StoreError) -> ApiError {
        match error {
            StoreError::Upstream(upstream) => ApiError::from_upstream(upstream),
            StoreError::Corrupt { .. } => ApiError::internal(),
        }
    }

    pub fn from_upstream(error: &UpstreamError) -> ApiError {
        let store_name = match error.service {
            Service::TableStorage => "table storage",
            Service::KeyVault | Service::ManagedIdentity => "the secret store",
        };
        match error.kind {
            UpstreamErrorKind::Unavailable => ApiError::new(
                503,
                "storage_unavailable",
                format!("{store_name} is unavailable; retry shortly, and check the storage settings if it persists"),
                None,
            ),
            UpstreamErrorKind::Rejected { .. } | UpstreamErrorKind::InvalidResponse => ApiError::new(
                502,
                "storage_error",
                format!("{store_name} rejected the request; the server log names the cause (often credentials or permissions)"),
                None,
            ),
        }
    }

    /// Serializes the error as the JSON response body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({ "error": self.to_json() })).expect("JSON serializes")
    }

    /// Returns the `{code, message, field}` object, which rejected import
    /// entries also carry.
    pub fn to_json(&self) -> serde_json::Value {
        json!({ "code": self.code, "message": self.message, "field": self.field })
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        let code = match error.kind {
            FieldErrorKind::Missing => "missing_field",
            FieldErrorKind::Invalid => "invalid_field",
        };
        ApiError::new(400, code, error.message, Some(error.field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::TransportError;

    #[test]
    fn field_error_becomes_400_with_field() {
        let error = ApiError::from(FieldError::invalid("digits", "digits 12 is out of range; use 6 to 9"));
        assert_eq!(error.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&error.body()).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "invalid_field", "message": "digits 12 is out of range; use 6 to 9", "field": "digits"}})
        );
    }

    #[test]
    fn unreachable_storage_is_503() {
        let upstream = UpstreamError::transport(Service::TableStorage, TransportError { message: "connection refused".into() });
        let error = ApiError::from_store(&StoreError::Upstream(upstream));
        assert_eq!((error.status, error.code), (503, "storage_unavailable"));
        assert!(!error.message.contains("connection refused"));
    }

    #[test]
    fn corrupt_data_is_plain_500() {
        let error = ApiError::from_store(&StoreError::Corrupt { app_id: "a".into(), reason: "bad".into() });
        assert_eq!((error.status, error.code), (500, "internal"));
    }
}
