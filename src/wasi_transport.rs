//! Outbound HTTP through `wasi:http/outgoing-handler` (wasm32 only), via
//! spin-sdk 5.2's WASI 0.2 bindings. Table Storage, the managed identity
//! endpoint and the Key Vault SDK client all send through it.

use spin_sdk::http::{Method, Request, Response, send};

use crate::log;
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// Sends outbound requests through `wasi:http/outgoing-handler`.
pub struct WasiTransport;

impl Transport for WasiTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = Request::builder();
        builder.method(method(&request.method)).uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder.header(name.as_str(), value.as_str());
        }
        let described = format!("{request:?}");
        let outgoing = builder.body(request.body).build();

        let response: Response = send(outgoing).await.map_err(|error| {
            let message = error.to_string();
            log::warn("outbound_request_failed", &[("request", &described), ("error", &message)]);
            TransportError { message }
        })?;

        let headers = response
            .headers()
            .filter_map(|(name, value)| value.as_str().map(|v| (name.to_string(), v.to_string())))
            .collect();
        Ok(HttpResponse { status: *response.status(), headers, body: response.into_body() })
    }
}

fn method(name: &str) -> Method {
    match name {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    }
}
