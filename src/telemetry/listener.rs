//! The HTTP listener that `/metrics`, the CAP feeds and the desk share: it accepts connections
//! (at most `http.max_connections` at once; more wait in the kernel's backlog), over TLS when
//! `http.tls_cert_file` and `http.tls_key_file` are set (rustls), and serves HTTP/1.1 with the
//! limits `axum::serve` does not set: a request's headers must arrive within
//! `http.header_read_timeout_ms` (the TLS handshake too) and fit in `http.max_header_bytes`, so
//! that a client that never finishes its headers holds no connection for long. Request bodies
//! and handler time are the desk's limits (`desk.max_body_bytes`, `desk.request_timeout_ms`).
//!
//! No CORS headers are sent: a page of another origin cannot read any answer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tower_service::Service;

use crate::config::HttpSettings;

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("cannot listen on http.listen = {listen}: {source}")]
    Bind {
        listen: String,
        source: std::io::Error,
    },
    /// The certificate or key file cannot be read or used. The key's contents are never shown.
    #[error("http TLS: {path}: {reason}")]
    Tls { path: PathBuf, reason: String },
    #[error("http.tls_cert_file and http.tls_key_file go together")]
    TlsHalf,
}

/// Binds `settings.listen` and serves `app` on it until the runtime stops, with the limits and
/// (optional) TLS of `settings`. Returns the bound address.
///
/// Errors: the address cannot be bound, or the TLS files cannot be used.
pub async fn serve(settings: &HttpSettings, app: Router) -> Result<SocketAddr, ListenerError> {
    let tls = tls(settings)?;
    let listener = TcpListener::bind(&settings.listen)
        .await
        .map_err(|source| ListenerError::Bind {
            listen: settings.listen.clone(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ListenerError::Bind {
            listen: settings.listen.clone(),
            source,
        })?;
    // Browsers that reached the page over TLS keep to it (RFC 6797).
    let app = if tls.is_some() {
        app.layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                r.headers_mut().insert(
                    header::STRICT_TRANSPORT_SECURITY,
                    HeaderValue::from_static("max-age=31536000"),
                );
                r
            },
        ))
    } else {
        app
    };
    let limits = Limits {
        header_read_timeout: Duration::from_millis(settings.header_read_timeout_ms),
        max_header_bytes: settings.max_header_bytes,
    };
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    tokio::spawn(accept_loop(listener, tls, app, limits, slots));
    Ok(addr)
}

/// Checks the TLS settings (both files or neither, each readable, key matching certificate),
/// so that `vigil run` refuses them before it connects to anything.
///
/// Errors: as [`serve`]'s TLS errors.
pub fn check(settings: &HttpSettings) -> Result<(), ListenerError> {
    tls(settings).map(|_| ())
}

fn tls(settings: &HttpSettings) -> Result<Option<TlsAcceptor>, ListenerError> {
    match (&settings.tls_cert_file, &settings.tls_key_file) {
        (Some(cert), Some(key)) => Ok(Some(acceptor(Path::new(cert), Path::new(key))?)),
        (None, None) => Ok(None),
        _ => Err(ListenerError::TlsHalf),
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read_timeout: Duration,
    max_header_bytes: usize,
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    slots: Arc<Semaphore>,
) {
    loop {
        // A slot first: at the limit, new connections wait in the kernel's backlog.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: the next accept may succeed.
                tracing::warn!(error = %e, "http accept");
                continue;
            }
        };
        let (tls, app) = (tls.clone(), app.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(TokioIo::new(stream), peer, app, limits).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => {
                            connection(TokioIo::new(stream), peer, app, limits).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "tls handshake"),
                        Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                    }
                }
            }
        });
    }
}

/// Serves one connection's requests. The peer address reaches the handlers as axum's
/// `ConnectInfo` (the desk limits failed logins per address).
async fn connection<I>(io: TokioIo<I>, peer: SocketAddr, app: Router, limits: Limits)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { app.call(request).await }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .serve_connection(io, service)
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, %peer, "http connection");
    }
}

/// A TLS acceptor for the PEM certificate chain `cert` and private key `key`, TLS 1.2 and 1.3.
fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ListenerError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let failed = |path: &Path, reason: String| ListenerError::Tls {
        path: path.to_path_buf(),
        reason,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| failed(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(failed(cert, "no certificate in the file".into()));
    }
    // Only the kind of failure: the key's bytes never reach a message.
    std::fs::metadata(key).map_err(|e| failed(key, e.to_string()))?;
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|_| failed(key, "no readable PEM private key".into()))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| failed(cert, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
