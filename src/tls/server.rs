//! A TLS listener's side: its rustls configuration (swapped whole at each
//! reload, so new handshakes get the new certificate while open
//! connections keep theirs), and the handshake of each accepted connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::config::{ListenerTlsConfig, ListenerVars};
use super::metrics::{HandshakeFailure, ListenerTlsMetrics};
use super::{TlsError, pem};

/// The first byte of a TLS record carrying a handshake (RFC 8446, 5.1).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// What a plain-HTTP client gets on a TLS port (nginx answers the same way).
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: 44\r\n\r\nthis port speaks TLS: use https:// instead.\n";
/// How long a plain-HTTP request is read (and dropped) before the answer,
/// so the close does not reset the connection under the client's feet.
const PLAIN_HTTP_DRAIN: Duration = Duration::from_millis(50);

/// One TLS listener: its files, its current configuration, its metrics.
pub(crate) struct ServerTls {
    files: ListenerTlsConfig,
    vars: ListenerVars,
    config: ArcSwap<rustls::ServerConfig>,
    metrics: ListenerTlsMetrics,
    watching: AtomicBool,
}

/// Always the one certificate loaded last.
#[derive(Debug)]
struct Serve(Arc<CertifiedKey>);

impl ResolvesServerCert for Serve {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl ServerTls {
    /// Reads and checks the files (a start-up error if they are not usable).
    pub(crate) fn load(
        files: &ListenerTlsConfig,
        vars: ListenerVars,
        metrics: ListenerTlsMetrics,
    ) -> Result<Arc<Self>, TlsError> {
        let (config, not_after) = build(files, vars)?;
        metrics.expiry.set(not_after);
        Ok(Arc::new(Self {
            files: files.clone(),
            vars,
            config: ArcSwap::from_pointee(config),
            metrics,
            watching: AtomicBool::new(false),
        }))
    }

    /// Reads the files again; on success new handshakes use them, on
    /// failure the configuration in use stays. Counted either way.
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        match build(&self.files, self.vars) {
            Ok((config, not_after)) => {
                self.config.store(Arc::new(config));
                self.metrics.expiry.set(not_after);
                self.metrics.reload_ok.inc();
                Ok(())
            }
            Err(e) => {
                self.metrics.reload_error.inc();
                Err(e)
            }
        }
    }

    /// Starts watching the files (once per listener; needs a tokio runtime).
    pub(crate) fn ensure_watching(self: &Arc<Self>) {
        if !self.watching.swap(true, Ordering::SeqCst) {
            super::watch::spawn(self);
        }
    }

    /// The TLS handshake of an accepted connection, within `timeout`.
    /// `None` when it failed (counted) or the client went away first.
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
        timeout: Duration,
    ) -> Option<TlsStream<TcpStream>> {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config.load_full());
        let metrics = &self.metrics;
        let attempt = async move {
            let mut first = [0u8; 1];
            match stream.peek(&mut first).await {
                Ok(1) => {}
                // Gone before a byte: a port check, not a failure.
                _ => return Err(None),
            }
            if first[0] != TLS_HANDSHAKE_RECORD {
                if first[0].is_ascii_uppercase() {
                    // Counted before the answer, which takes a moment.
                    metrics.failed(HandshakeFailure::PlainHttp);
                    answer_plain_http(stream).await;
                    return Err(None);
                }
                return Err(Some(HandshakeFailure::Error));
            }
            acceptor
                .accept(stream)
                .await
                .map_err(|_| Some(HandshakeFailure::Error))
        };
        let failure = match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(tls)) => return Some(tls),
            Ok(Err(failure)) => failure,
            Err(_) => Some(HandshakeFailure::Timeout),
        };
        if let Some(why) = failure {
            self.metrics.failed(why);
        }
        None
    }
}

impl super::watch::Reload for ServerTls {
    fn files(&self) -> [Option<&std::path::Path>; 3] {
        let f = &self.files;
        [
            Some(&f.cert_file),
            Some(&f.key_file),
            f.client_ca_file.as_deref(),
        ]
    }

    fn reload_and_report(&self) {
        match self.reload() {
            Ok(()) => eprintln!(
                "redline: TLS certificate reloaded from {}",
                self.files.cert_file.display()
            ),
            Err(e) => {
                eprintln!("redline: TLS certificate not reloaded, the one in use is kept: {e}")
            }
        }
    }
}

/// Tells a plain-HTTP client to use `https://` (never echoing what it sent).
async fn answer_plain_http(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(PLAIN_HTTP_DRAIN, stream.read(&mut sink)).await;
    if stream.write_all(PLAIN_HTTP_ANSWER).await.is_ok() {
        let _ = stream.shutdown().await;
        // Whatever else it sends before it reads the answer and closes.
        let _ = tokio::time::timeout(PLAIN_HTTP_DRAIN, stream.read(&mut sink)).await;
    }
}

/// A listener's rustls configuration from its files, and the leaf's expiry.
fn build(
    files: &ListenerTlsConfig,
    vars: ListenerVars,
) -> Result<(rustls::ServerConfig, i64), TlsError> {
    let provider = pem::provider();
    let (key, not_after) = pem::certified_key(
        &pem::PemFile::read(vars.cert, &files.cert_file)?,
        &pem::PemFile::read(vars.key, &files.key_file)?,
        &provider,
    )?;
    let rustls_error = |variable, e: &dyn std::fmt::Display| TlsError::Rustls {
        variable,
        reason: e.to_string(),
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        // TLS 1.2 and 1.3.
        .with_safe_default_protocol_versions()
        .map_err(|e| rustls_error(vars.cert, &e))?;
    let builder = match &files.client_ca_file {
        Some(ca) => {
            let roots = pem::PemFile::read(vars.client_ca, ca)?.root_store()?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| rustls_error(vars.client_ca, &e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(Serve(key)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((config, not_after))
}
