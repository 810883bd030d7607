//! Responses that the host sends itself, without the guest: the error kinds
//! and the one function that maps each to a status code and JSON body.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use std::time::Duration;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Seconds a client is asked to wait before retrying a `busy` response.
///
/// A slot frees as soon as any running request finishes, which normally
/// takes well under a second.
const BUSY_RETRY_AFTER_SECONDS: &str = "1";

/// A failure for which the host builds the response itself, instead of
/// passing the request to the guest or sending the guest's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The request body is larger than the configured maximum, in bytes.
    PayloadTooLarge { max_body_bytes: u64 },
    /// The request body could not be read from the client.
    UnreadableBody,
    /// Every guest slot stayed busy for the whole request time limit.
    Busy,
    /// The request did not finish within the time limit.
    Timeout { limit: Duration },
    /// The guest trapped, failed to instantiate or sent no response. The
    /// details are in the log under `request_id`.
    Internal { request_id: String },
}

impl HostError {
    /// Returns the HTTP status code for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            HostError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            HostError::UnreadableBody => StatusCode::BAD_REQUEST,
            HostError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            HostError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            HostError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Serializes the JSON error document in the component's
    /// `{"error":{"code","message","field"}}` shape.
    pub fn json_body(&self) -> String {
        let (code, message, field) = match self {
            HostError::PayloadTooLarge { max_body_bytes } => (
                "payload_too_large",
                format!("request body is larger than {max_body_bytes} bytes; send a smaller body"),
                Some("body"),
            ),
            HostError::UnreadableBody => (
                "invalid_body",
                "request body could not be read; send the request again".to_owned(),
                Some("body"),
            ),
            HostError::Busy => (
                "busy",
                "server is busy; retry the request later".to_owned(),
                None,
            ),
            HostError::Timeout { limit } => (
                "timeout",
                format!(
                    "request did not finish within {} ms; retry the request later",
                    limit.as_millis()
                ),
                None,
            ),
            HostError::Internal { request_id } => (
                "internal",
                format!("internal error; see the server log for request id {request_id}"),
                None,
            ),
        };
        let document = ErrorDocument {
            error: ErrorDetail {
                code,
                message,
                field,
            },
        };
        serde_json::to_string(&document).expect("error document serializes")
    }

    /// Builds the complete HTTP response for this error.
    pub fn into_response(self) -> hyper::Response<HyperOutgoingBody> {
        let body = Bytes::from(self.json_body());
        let mut response = hyper::Response::new(full_body(body));
        *response.status_mut() = self.status();

        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self == HostError::Busy {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(BUSY_RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// JSON error document sent to clients.
#[derive(Serialize)]
struct ErrorDocument<'a> {
    error: ErrorDetail<'a>,
}

/// Content of [`ErrorDocument`]. `field` names the request part at fault.
#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    field: Option<&'a str>,
}

/// Wraps complete bytes in the body type that wasmtime-wasi-http responses use.
pub fn full_body(bytes: Bytes) -> HyperOutgoingBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_too_large_body_is_exact() {
        let error = HostError::PayloadTooLarge {
            max_body_bytes: 1_048_576,
        };
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            error.json_body(),
            r#"{"error":{"code":"payload_too_large","message":"request body is larger than 1048576 bytes; send a smaller body","field":"body"}}"#
        );
    }

    #[test]
    fn internal_body_names_request_id() {
        let error = HostError::Internal {
            request_id: "abc-123".to_owned(),
        };
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            error.json_body(),
            r#"{"error":{"code":"internal","message":"internal error; see the server log for request id abc-123","field":null}}"#
        );
    }

    #[test]
    fn busy_and_timeout_codes() {
        let busy = HostError::Busy;
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.json_body(),
            r#"{"error":{"code":"busy","message":"server is busy; retry the request later","field":null}}"#
        );

        let timeout = HostError::Timeout {
            limit: Duration::from_secs(30),
        };
        assert_eq!(timeout.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            timeout.json_body(),
            r#"{"error":{"code":"timeout","message":"request did not finish within 30000 ms; retry the request later","field":null}}"#
        );
    }

    #[test]
    fn response_has_json_content_type() {
        let response = HostError::Busy.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json"
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
