//! TCP and TLS connections for the pooled outbound HTTP client.
//!
//! hyper-util's legacy client asks a connector for a stream per new
//! connection. This one dials TCP and, for `https`, runs a rustls handshake
//! that verifies the server certificate against the configured roots.

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Opens outbound connections: plain TCP for `http`, TLS over TCP for `https`.
#[derive(Clone)]
pub struct OutboundConnector {
    tls: TlsConnector,
    /// Time allowed for the TCP connect and, separately, the TLS handshake.
    connect_timeout: Duration,
}

impl OutboundConnector {
    pub fn new(tls_config: Arc<rustls::ClientConfig>, connect_timeout: Duration) -> Self {
        Self {
            tls: TlsConnector::from(tls_config),
            connect_timeout,
        }
    }

    async fn connect(self, uri: Uri) -> Result<OutboundStream, ConnectError> {
        let use_tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(ConnectError::UnsupportedUri),
        };
        let host = uri.host().ok_or(ConnectError::UnsupportedUri)?;
        // `Uri::host` keeps the brackets of an IPv6 literal, but the resolver
        // and the TLS server name both need the bare address.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(if use_tls { 443 } else { 80 });

        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| ConnectError::Timeout)?
            .map_err(ConnectError::Tcp)?;
        // Requests are small and latency-bound, so send them without
        // waiting to fill a segment.
        tcp.set_nodelay(true).map_err(ConnectError::Tcp)?;

        if !use_tls {
            return Ok(OutboundStream::Plain(TokioIo::new(tcp)));
        }

        let server_name =
            ServerName::try_from(host).map_err(|_| ConnectError::InvalidServerName)?;
        let tls = tokio::time::timeout(self.connect_timeout, self.tls.connect(server_name, tcp))
            .await
            .map_err(|_| ConnectError::Timeout)?
            .map_err(ConnectError::Tls)?;
        Ok(OutboundStream::Tls(Box::new(TokioIo::new(tls))))
    }
}

impl tower_service::Service<Uri> for OutboundConnector {
    type Response = OutboundStream;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<OutboundStream, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}

/// Failure to open an outbound connection.
///
/// Messages name no host or path, because the caller logs the origin itself.
/// The underlying I/O error is available through `source()`.
#[derive(Debug)]
pub enum ConnectError {
    /// The URI has no host or a scheme other than `http` and `https`.
    UnsupportedUri,
    /// The TCP connect or TLS handshake took longer than the connect timeout.
    Timeout,
    /// Name resolution or the TCP connect failed.
    Tcp(io::Error),
    /// The host is neither a valid DNS name nor an IP address.
    InvalidServerName,
    /// The TLS handshake failed, for example on an untrusted certificate.
    Tls(io::Error),
}

impl ConnectError {
    /// Returns true when the TLS handshake failed on the server certificate.
    pub fn is_certificate_error(&self) -> bool {
        let ConnectError::Tls(error) = self else {
            return false;
        };
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|tls_error| matches!(tls_error, rustls::Error::InvalidCertificate(_)))
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::UnsupportedUri => write!(f, "URI has no host or an unsupported scheme"),
            ConnectError::Timeout => write!(f, "connect timed out"),
            ConnectError::Tcp(_) => write!(f, "TCP connect failed"),
            ConnectError::InvalidServerName => write!(f, "host is not a valid TLS server name"),
            ConnectError::Tls(_) => write!(f, "TLS handshake failed"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Tcp(error) | ConnectError::Tls(error) => Some(error),
            _ => None,
        }
    }
}

/// An open outbound connection, with or without TLS.
pub enum OutboundStream {
    Plain(TokioIo<TcpStream>),
    // Boxed because a TLS stream is several kilobytes larger than a socket.
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

impl Connection for OutboundStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl Read for OutboundStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            OutboundStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            OutboundStream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl Write for OutboundStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            OutboundStream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            OutboundStream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            OutboundStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            OutboundStream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            OutboundStream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            OutboundStream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
