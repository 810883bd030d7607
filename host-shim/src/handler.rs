//! Handling of one incoming request: limits first, then a fresh guest
//! instance, then the request log line.

use crate::guest::Guest;
use crate::limits::Limits;
use crate::request_log::{RequestLog, request_id_of};
use crate::response::HostError;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::AbortHandle;
use tokio::time::{Instant as TokioInstant, timeout_at};
use wasmtime::Trap;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

type HostResponse = hyper::Response<HyperOutgoingBody>;

/// Header that carries the TCP peer address to the guest for its audit
/// trail. Any incoming header of this name is replaced, so a client cannot
/// choose the value.
pub const CLIENT_ADDRESS_HEADER: &str = sharedmfa::access::identity::CLIENT_ADDRESS_HEADER;

/// Shared state for handling requests.
pub struct Handler {
    guest: Guest,
    limits: Limits,
    /// One permit per request allowed to run the guest at the same time.
    slots: Arc<Semaphore>,
    /// `Host` value given to the guest when a request has none (HTTP/1.0).
    fallback_host: HeaderValue,
}

impl Handler {
    pub fn new(guest: Guest, limits: Limits, fallback_host: HeaderValue) -> Self {
        let slots = Arc::new(Semaphore::new(limits.max_concurrent_requests as usize));
        Self {
            guest,
            limits,
            slots,
            fallback_host,
        }
    }

    /// Handles one request and logs one line for it. Never fails, because
    /// every error becomes a response.
    pub async fn handle(
        self: Arc<Self>,
        request: hyper::Request<Incoming>,
        peer: IpAddr,
    ) -> Result<HostResponse, Infallible> {
        let started = Instant::now();
        let request_id: Arc<str> = request_id_of(request.headers()).into();
        let log = RequestLog::start(Arc::clone(&request_id), &request, started);

        let response = match self.run(request, peer, &request_id, started).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };

        log.finish(response.status());
        Ok(response)
    }

    async fn run(
        &self,
        request: hyper::Request<Incoming>,
        peer: IpAddr,
        request_id: &Arc<str>,
        started: Instant,
    ) -> Result<HostResponse, HostError> {
        let max_body_bytes = self.limits.max_body_bytes;
        let too_large = HostError::PayloadTooLarge { max_body_bytes };
        if declared_length(request.headers()).is_some_and(|length| length > max_body_bytes) {
            return Err(too_large);
        }

        // One deadline covers reading the body, waiting for a slot and
        // running the guest.
        let deadline = TokioInstant::from_std(started) + self.limits.request_timeout;
        let timed_out = HostError::Timeout {
            limit: self.limits.request_timeout,
        };

        let (mut parts, body) = request.into_parts();
        let limit = usize::try_from(max_body_bytes).unwrap_or(usize::MAX);
        let body = match timeout_at(deadline, Limited::new(body, limit).collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(error)) if error.is::<LengthLimitError>() => return Err(too_large),
            Ok(Err(error)) => {
                tracing::warn!(request_id = &**request_id, error = %error, "failed to read the request body");
                return Err(HostError::UnreadableBody);
            }
            Err(_) => {
                tracing::warn!(request_id = &**request_id, "request body did not arrive within the time limit");
                return Err(timed_out);
            }
        };

        let slot = match timeout_at(deadline, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // The semaphore is never closed, so only the timeout can happen.
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(request_id = &**request_id, "rejected as busy: every guest slot stayed in use for the time limit");
                return Err(HostError::Busy);
            }
        };

        if !parts.headers.contains_key(header::HOST) {
            parts.headers.insert(header::HOST, self.fallback_host.clone());
        }
        // `insert` replaces every incoming value of the header.
        let peer = HeaderValue::from_str(&peer.to_string()).expect("an IP address is a valid header value");
        parts.headers.insert(CLIENT_ADDRESS_HEADER, peer);
        let request = hyper::Request::from_parts(parts, Full::new(body));
        self.run_guest(request, request_id, deadline, slot).await
    }

    /// Runs a fresh guest instance on `request` and returns its response
    /// once the guest has set it. The guest may go on streaming the body.
    async fn run_guest(
        &self,
        request: hyper::Request<Full<Bytes>>,
        request_id: &Arc<str>,
        deadline: TokioInstant,
        slot: OwnedSemaphorePermit,
    ) -> Result<HostResponse, HostError> {
        let internal = || HostError::Internal {
            request_id: request_id.to_string(),
        };
        let timed_out = HostError::Timeout {
            limit: self.limits.request_timeout,
        };

        let mut store = self.guest.new_store(Arc::clone(request_id), deadline.into_std());
        let (sender, receiver) = oneshot::channel();
        let log_handoff_error = |error: wasmtime::Error| {
            tracing::error!(request_id = &**request_id, error = format!("{error:#}"), "failed to pass the request to the guest");
            internal()
        };
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)
            .map_err(log_handoff_error)?;
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(log_handoff_error)?;

        let pre = self.guest.pre().clone();
        let task_request_id = Arc::clone(request_id);
        let task = tokio::spawn(async move {
            let run = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            };
            let outcome = timeout_at(deadline, run).await;
            // Free the instance's pool slots before letting another request in.
            drop(store);
            drop(slot);
            log_guest_outcome(&task_request_id, &outcome);
            outcome
        });

        // If the client disconnects before the response, hyper drops this
        // future and the guard stops the guest, freeing its slot at once.
        let cancel_guard = AbortOnDrop(Some(task.abort_handle()));
        let outcome = timeout_at(deadline, receiver).await;
        cancel_guard.disarm();

        match outcome {
            Ok(Ok(Ok(response))) => Ok(response),
            Ok(Ok(Err(error_code))) => {
                tracing::error!(request_id = &**request_id, error_code = ?error_code, "guest set an error code instead of a response");
                Err(internal())
            }
            // The guest returned or trapped without setting a response. The
            // task logs traps and timeouts, and the branches below log the rest.
            Ok(Err(_)) => match task.await {
                Ok(Err(_)) => Err(timed_out),
                Ok(Ok(Err(error))) if is_interrupt(&error) => Err(timed_out),
                Ok(Ok(Err(_))) => Err(internal()),
                Ok(Ok(Ok(()))) => {
                    tracing::error!(request_id = &**request_id, "guest returned without setting a response");
                    Err(internal())
                }
                Err(join_error) => {
                    tracing::error!(request_id = &**request_id, error = %join_error, "guest task panicked");
                    Err(internal())
                }
            },
            Err(_) => Err(timed_out),
        }
    }
}

/// Aborts a task when dropped, unless disarmed first.
struct AbortOnDrop(Option<AbortHandle>);

impl AbortOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
        }
    }
}

/// Logs how the guest task ended, unless it ended normally.
fn log_guest_outcome(
    request_id: &str,
    outcome: &Result<wasmtime::Result<()>, tokio::time::error::Elapsed>,
) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) if is_interrupt(error) => {
            tracing::error!(request_id, "guest interrupted: it ran past the request time limit");
        }
        Ok(Err(error)) => {
            tracing::error!(request_id, error = format!("{error:#}"), "guest failed: instantiation error or trap");
        }
        Err(_) => {
            tracing::error!(request_id, "guest stopped: it was still waiting on I/O at the request time limit");
        }
    }
}

fn is_interrupt(error: &wasmtime::Error) -> bool {
    error.downcast_ref::<Trap>() == Some(&Trap::Interrupt)
}

/// Returns the request's `Content-Length`, if present and valid.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_length_parses_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(declared_length(&headers), None);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("2048"));
        assert_eq!(declared_length(&headers), Some(2048));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("x"));
        assert_eq!(declared_length(&headers), None);
    }
}
