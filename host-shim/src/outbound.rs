//! Outbound HTTP policy: every request the guest sends passes
//! [`OutboundHooks::send_request`], which checks the origin against the
//! allow-list and sends allowed requests over a pooled, TLS-verifying client.

use crate::connector::{ConnectError, OutboundConnector};
use crate::origin::{AllowList, origin_of};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use http_body_util::BodyExt;
use std::error::Error as _;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::time::Sleep;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Connect timeout when the guest sets none (10 s).
///
/// Connecting to an Azure endpoint normally takes well under a second (an
/// estimate), so 10 s covers a slow DNS lookup and TLS handshake and still
/// fails well within the request time limit.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Time to wait for response headers when the guest sets none (20 s).
///
/// Table Storage and Key Vault normally respond in well under a second (an
/// estimate), so 20 s leaves room for a throttled service while staying
/// inside the request time limit.
const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(20);

/// Maximum pause between response body frames when the guest sets none (20 s).
const DEFAULT_BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(20);

/// Time an idle pooled connection is kept for reuse (30 s).
///
/// Shorter than the 4-minute default idle timeout of Azure Load Balancer
/// (Azure docs, "Configure TCP reset and idle timeout"), so a server rarely
/// closes a pooled connection just as it is reused.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum idle pooled connections per origin.
///
/// The service talks to two or three origins, and 16 idle connections per
/// origin serve a burst of concurrent requests without a new handshake each.
const POOL_MAX_IDLE_PER_ORIGIN: usize = 16;

/// Shared outbound state: the allow-list and the pooled client.
pub struct OutboundPolicy {
    allow_list: AllowList,
    client: Client<OutboundConnector, WasiBody>,
}

impl OutboundPolicy {
    pub fn new(allow_list: AllowList, tls_config: Arc<rustls::ClientConfig>) -> Self {
        let connector = OutboundConnector::new(tls_config, DEFAULT_CONNECT_TIMEOUT);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_ORIGIN)
            .build(connector);
        Self { allow_list, client }
    }

    /// Returns the number of allowed origins, for the start-up log.
    pub fn allowed_origin_count(&self) -> usize {
        self.allow_list.len()
    }

    /// Checks the request's origin and, when allowed, sends the request.
    ///
    /// The guest receives the returned error as its `error-code`.
    async fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        request_id: &str,
    ) -> Result<http::Response<WasiBody>, Error> {
        let method = request.method().clone();
        let Some(origin) = origin_of(request.uri()) else {
            tracing::warn!(request_id, %method, "outbound request rejected: URI has no http or https origin");
            return Err(Error::HttpRequestUriInvalid);
        };
        if !self.allow_list.allows(&origin) {
            tracing::warn!(request_id, %method, origin, "outbound request rejected: origin is not in the allow-list");
            return Err(Error::HttpRequestDenied);
        }

        let options = options.unwrap_or_default();
        // NOTE: the pooled client takes its connect timeout from the
        // connector, so the guest's connect timeout only extends the wait for
        // response headers here instead of bounding the connect on its own.
        let header_timeout = options.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)
            + options.first_byte_timeout.unwrap_or(DEFAULT_FIRST_BYTE_TIMEOUT);
        let between_bytes = options
            .between_bytes_timeout
            .unwrap_or(DEFAULT_BETWEEN_BYTES_TIMEOUT);

        let started = Instant::now();
        let response = match tokio::time::timeout(header_timeout, self.client.request(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                let code = classify(&error);
                tracing::warn!(request_id, %method, origin, error = %error_chain(&error), "outbound request failed");
                return Err(code);
            }
            Err(_) => {
                tracing::warn!(request_id, %method, origin, timeout_ms = header_timeout.as_millis() as u64, "outbound request timed out waiting for response headers");
                return Err(Error::ConnectionReadTimeout);
            }
        };

        tracing::debug!(
            request_id,
            %method,
            origin,
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            "outbound request answered"
        );
        Ok(response.map(|body| IdleTimeoutBody::new(body, between_bytes).boxed_unsync()))
    }
}

/// The `wasi:http` hooks of one request's store.
pub struct OutboundHooks {
    policy: Arc<OutboundPolicy>,
    /// Id of the incoming request, so outbound log lines can be joined to it.
    request_id: Arc<str>,
}

impl OutboundHooks {
    pub fn new(policy: Arc<OutboundPolicy>, request_id: Arc<str>) -> Self {
        Self { policy, request_id }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_io: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), Error>> + Send> {
        let policy = Arc::clone(&self.policy);
        let request_id = Arc::clone(&self.request_id);
        Box::new(async move {
            let response = policy.send(request, options, &request_id).await?;
            // The pooled client drives each connection in its own task, so
            // there is no connection future for the caller to poll.
            let connection_done: IoFuture = Box::new(async { Ok(()) });
            Ok((response, connection_done))
        })
    }
}

/// Maps a client failure to the `error-code` the guest receives.
fn classify(error: &hyper_util::client::legacy::Error) -> Error {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(connect) = cause.downcast_ref::<ConnectError>() {
            return classify_connect(connect);
        }
        if let Some(hyper_error) = cause.downcast_ref::<hyper::Error>() {
            if hyper_error.is_timeout() {
                return Error::HttpResponseTimeout;
            }
            if hyper_error.is_incomplete_message() {
                return Error::HttpResponseIncomplete;
            }
            if hyper_error.is_closed() || hyper_error.is_canceled() {
                return Error::ConnectionTerminated;
            }
            return Error::HttpProtocolError;
        }
        source = cause.source();
    }
    if error.is_connect() {
        Error::ConnectionRefused
    } else {
        Error::HttpProtocolError
    }
}

fn classify_connect(error: &ConnectError) -> Error {
    match error {
        ConnectError::UnsupportedUri => Error::HttpRequestUriInvalid,
        ConnectError::Timeout => Error::ConnectionTimeout,
        ConnectError::InvalidServerName => Error::DnsError {
            rcode: Some("invalid dns name".to_owned()),
            info_code: None,
        },
        ConnectError::Tcp(io_error) => match io_error.kind() {
            io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
            io::ErrorKind::TimedOut => Error::ConnectionTimeout,
            // Rust's standard library, which tokio calls for name lookup,
            // reports a getaddrinfo failure as an I/O error with this prefix.
            _ if io_error.to_string().starts_with("failed to lookup address") => Error::DnsError {
                rcode: Some("address not available".to_owned()),
                info_code: None,
            },
            _ => Error::DestinationUnavailable,
        },
        ConnectError::Tls(_) if error.is_certificate_error() => Error::TlsCertificateError,
        ConnectError::Tls(_) => Error::TlsProtocolError,
    }
}

/// Formats an error and its sources as `outer: inner: ...` for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A response body that fails once no frame arrives for `idle` time.
struct IdleTimeoutBody {
    inner: Incoming,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl IdleTimeoutBody {
    fn new(inner: Incoming, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }
}

impl Body for IdleTimeoutBody {
    type Data = bytes::Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next_deadline = tokio::time::Instant::now() + this.idle;
                this.timer.as_mut().reset(next_deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) if error.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Error::Hyper(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
