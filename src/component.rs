//! The `wasi:http` entry point. It turns the incoming request into an
//! [`ApiRequest`], hands it to [`api::handle`], and sends outbound requests
//! through [`WasiTransport`]. No `fermyon:spin/*` interface is used, so the
//! component runs on Spin, `wasmtime serve` and the host shim.

use std::time::SystemTime;

use futures::StreamExt;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

use crate::api::{self, ApiError, ApiRequest, import::max_body_bytes};
use crate::config::Config;
use crate::wasi_transport::WasiTransport;

#[http_component]
async fn handle(incoming: IncomingRequest) -> Response {
    let config = Config::from_env_lookup(|name| std::env::var(name).ok());
    let now = SystemTime::now();

    let request = match read_request(incoming).await {
        Ok(request) => request,
        Err(error) => return to_response(api::respond_error(error)),
    };
    to_response(api::handle(&request, &config, &WasiTransport, now).await)
}

/// Reads method, path, query and at most [`max_body_bytes`] of body (more
/// for image uploads). A longer body gets a 413 response without the rest
/// being read.
async fn read_request(incoming: IncomingRequest) -> Result<ApiRequest, ApiError> {
    let method = incoming.method().to_string();
    let headers: Vec<(String, String)> = incoming
        .headers()
        .entries()
        .into_iter()
        .filter_map(|(name, value)| String::from_utf8(value).ok().map(|value| (name, value)))
        .collect();
    let path_with_query = incoming.path_with_query().unwrap_or_else(|| "/".to_string());
    let (path, query) = match path_with_query.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (path_with_query, None),
    };

    let content_type = headers_value(&headers, "content-type");
    let limit = max_body_bytes(&path, content_type.as_deref());
    let mut body = Vec::new();
    let mut stream = incoming.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::invalid_json("the request body could not be read; send it again"))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(ApiRequest { method, path, query, headers, body })
}

fn headers_value(headers: &[(String, String)], name: &str) -> Option<String> {
    headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.clone())
}

fn to_response(response: api::ApiResponse) -> Response {
    let mut builder = Response::builder();
    builder.status(response.status);
    for (name, value) in response.headers {
        builder.header(name, value);
    }
    builder.body(response.body).build()
}
