//! The request id and the one log line written for every request.

use http::{HeaderMap, Method, StatusCode};
use std::sync::Arc;
use std::time::Instant;

/// Header in which the Azure Functions host sends its invocation id.
const INVOCATION_ID_HEADER: &str = "x-azure-functions-invocationid";

/// Maximum length of a client-supplied request id that is logged as is.
/// Azure sends a 36-character GUID, and longer ids are replaced.
const MAX_REQUEST_ID_LEN: usize = 64;

/// Returns the Azure Functions invocation id when it looks like one, so that
/// host and Functions logs join. Otherwise returns a new UUID.
pub fn request_id_of(headers: &HeaderMap) -> String {
    let supplied = headers
        .get(INVOCATION_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_safe_request_id(id));
    match supplied {
        Some(id) => id.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// Accepts ids that cannot forge log lines: short, and only letters,
/// digits and hyphens.
fn is_safe_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Writes the request's log line: "request handled" from [`finish`], or
/// "request cancelled" when hyper drops the request because the client
/// closed the connection first.
///
/// [`finish`]: RequestLog::finish
pub struct RequestLog {
    request_id: Arc<str>,
    method: Method,
    /// URI path without the query string, which can carry the Functions key.
    route: String,
    started: Instant,
    finished: bool,
}

impl RequestLog {
    pub fn start<B>(request_id: Arc<str>, request: &http::Request<B>, started: Instant) -> Self {
        Self {
            request_id,
            method: request.method().clone(),
            route: request.uri().path().to_owned(),
            started,
            finished: false,
        }
    }

    /// Logs the status and the time until the response headers were ready;
    /// the body may still be streaming from the guest.
    pub fn finish(mut self, status: StatusCode) {
        self.finished = true;
        tracing::info!(
            request_id = &*self.request_id,
            method = %self.method,
            route = self.route,
            status = status.as_u16(),
            duration_ms = self.started.elapsed().as_millis() as u64,
            "request handled"
        );
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        tracing::info!(
            request_id = &*self.request_id,
            method = %self.method,
            route = self.route,
            duration_ms = self.started.elapsed().as_millis() as u64,
            "request cancelled: the client closed the connection before the response"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn request_id_taken_from_invocation_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            INVOCATION_ID_HEADER,
            HeaderValue::from_static("3f1b2c4d-0000-4a5b-8c9d-0123456789ab"),
        );
        assert_eq!(request_id_of(&headers), "3f1b2c4d-0000-4a5b-8c9d-0123456789ab");
    }

    #[test]
    fn request_id_replaced_when_unsafe() {
        let mut headers = HeaderMap::new();
        headers.insert(
            INVOCATION_ID_HEADER,
            HeaderValue::from_static("abc request_id=forged"),
        );
        let id = request_id_of(&headers);
        assert_ne!(id, "abc request_id=forged");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }

    #[test]
    fn request_id_generated_when_missing() {
        let id = request_id_of(&HeaderMap::new());
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}
