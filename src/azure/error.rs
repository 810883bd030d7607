//! The error every Azure client returns, with coarse kinds the API maps to
//! HTTP status codes in one place.

use std::fmt;

use crate::transport::{HttpResponse, TransportError};

/// The upstream service that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    TableStorage,
    KeyVault,
    ManagedIdentity,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::TableStorage => "Table Storage",
            Service::KeyVault => "Key Vault",
            Service::ManagedIdentity => "the managed identity endpoint",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// No response, a timeout, throttling (429) or a server error (5xx):
    /// retrying later may succeed.
    Unavailable,
    /// The service returned a client error it will repeat, such as an
    /// authorization failure; `code` is the service's error code if it sent one.
    Rejected { status: u16, code: Option<String> },
    /// The service returned success with a body this client cannot read.
    InvalidResponse,
}

/// A failed call to an Azure service. The message is safe to log: it names
/// the service, the status and the service's error code, never a credential
/// or a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamError {
    pub service: Service,
    pub kind: UpstreamErrorKind,
    pub message: String,
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.service, self.message)
    }
}

impl std::error::Error for UpstreamError {}

impl UpstreamError {
    pub fn transport(service: Service, error: TransportError) -> UpstreamError {
        UpstreamError { service, kind: UpstreamErrorKind::Unavailable, message: format!("request failed: {error}") }
    }

    pub fn invalid_response(service: Service, problem: impl fmt::Display) -> UpstreamError {
        UpstreamError { service, kind: UpstreamErrorKind::InvalidResponse, message: format!("unreadable response: {problem}") }
    }

    /// Classifies a non-success response. `code` is the service's error code
    /// when the caller could read one from the body or headers.
    pub fn from_status(service: Service, response: &HttpResponse, code: Option<String>) -> UpstreamError {
        UpstreamError::from_status_code(service, response.status, code)
    }

    /// Classifies a non-success HTTP status, as [`UpstreamError::from_status`]
    /// does, for callers that have only the status and the error code.
    pub fn from_status_code(service: Service, status: u16, code: Option<String>) -> UpstreamError {
        let kind = if status == 429 || status >= 500 {
            UpstreamErrorKind::Unavailable
        } else {
            UpstreamErrorKind::Rejected { status, code: code.clone() }
        };
        let message = match &code {
            Some(code) => format!("status {status} ({code})"),
            None => format!("status {status}"),
        };
        UpstreamError { service, kind, message }
    }

    pub fn is_unavailable(&self) -> bool {
        self.kind == UpstreamErrorKind::Unavailable
    }
}
