//! The SDK's `HttpClient` over the component's outbound HTTP
//! ([`WasiTransport`]), and the `Send` wrapper that lets the SDK hold the
//! component's futures.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use azure_core::error::{Error, ErrorKind};
use azure_core::http::headers::Headers;
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Request, StatusCode};

use crate::transport::{HttpRequest, HttpResponse, Transport};
use crate::wasi_transport::WasiTransport;

/// A future that is declared `Send` although it may not be. The SDK's
/// traits return `Send` futures, and spin-sdk's outbound HTTP futures hold
/// `Rc` and WASI resources, so they are not `Send`.
pub struct AssertSend<F>(Pin<Box<F>>);

impl<F: Future> AssertSend<F> {
    pub fn new(future: F) -> Self {
        AssertSend(Box::pin(future))
    }
}

// SAFETY: `Send` lets a value move to another thread, and inside a WASI 0.2
// component instance there is no other thread: the instance runs on the one
// thread the host calls it on, and `std::thread::spawn` fails there with
// `Unsupported`. No `AssertSend` can therefore leave the thread that made it.
// This type is compiled for wasm32 only, so a native multi-threaded build
// can never use it.
unsafe impl<F> Send for AssertSend<F> {}

impl<F: Future> Future for AssertSend<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<F::Output> {
        self.0.as_mut().poll(context)
    }
}

/// Sends the SDK's requests through `wasi:http/outgoing-handler`.
#[derive(Debug)]
pub struct WasiHttpClient;

#[async_trait]
impl HttpClient for WasiHttpClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let request = to_transport_request(request)?;
        let response = AssertSend::new(WasiTransport.send(request))
            .await
            .map_err(|error| Error::new(ErrorKind::Connection, error))?;
        Ok(to_raw_response(response))
    }
}

fn to_transport_request(request: &Request) -> azure_core::Result<HttpRequest> {
    let body = match request.body() {
        Body::Bytes(bytes) => bytes.to_vec(),
        Body::SeekableStream(_) => {
            return Err(Error::with_message(
                ErrorKind::Other,
                "streamed request bodies are not supported by the component's HTTP client",
            ));
        }
    };
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.as_str().to_string()))
        .collect();
    Ok(HttpRequest { method: request.method().as_str().to_string(), url: request.url().to_string(), headers, body })
}

fn to_raw_response(response: HttpResponse) -> AsyncRawResponse {
    let mut headers = Headers::new();
    for (name, value) in response.headers {
        headers.insert(name, value);
    }
    AsyncRawResponse::from_bytes(StatusCode::from(response.status), headers, response.body)
}
