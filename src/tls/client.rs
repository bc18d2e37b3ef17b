//! The OTLP exporters' TLS: the authorities they trust and the client
//! certificate they present, for tonic (gRPC) and reqwest (HTTP). The files
//! are checked here, so a bad one is a clear start-up error naming its
//! variable rather than a transport's message at the first export.

use super::config::Signal;
use super::pem::{self, PemFile};
use super::{OtlpTls, TlsError};

/// The client certificate and key, each read once and checked
/// (readable, matching, valid now): tonic takes their PEM, rustls their DER.
struct Identity {
    chain: PemFile,
    key: PemFile,
}

/// The client identity, if one is configured.
fn identity(tls: &OtlpTls, signal: Signal) -> Result<Option<Identity>, TlsError> {
    let (cert, key) = match (&tls.client_certificate, &tls.client_key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => return Ok(None),
        (Some(_), None) | (None, Some(_)) => {
            let (set, unset) = if tls.client_key.is_some() {
                (2, 1)
            } else {
                (1, 2)
            };
            return Err(TlsError::Rustls {
                variable: signal.variable(set),
                reason: format!(
                    "a client certificate needs its key: set {} too",
                    signal.variable(unset)
                ),
            });
        }
    };
    let identity = Identity {
        chain: PemFile::read(signal.variable(1), cert)?,
        key: PemFile::read(signal.variable(2), key)?,
    };
    pem::certified_key(&identity.chain, &identity.key, &pem::provider())?;
    Ok(Some(identity))
}

/// tonic's TLS settings for an `https://` gRPC endpoint.
#[cfg(feature = "otlp-grpc")]
pub(crate) fn grpc_tls(
    tls: &OtlpTls,
    signal: Signal,
) -> Result<tonic::transport::ClientTlsConfig, TlsError> {
    use tonic::transport::{Certificate, ClientTlsConfig};
    let mut config = ClientTlsConfig::new();
    config = match &tls.certificate {
        Some(path) => {
            // Parsed first for a clear error; tonic takes the PEM itself.
            let bundle = PemFile::read(signal.variable(0), path)?;
            bundle.root_store()?;
            config.ca_certificate(Certificate::from_pem(bundle.bytes))
        }
        None => config.with_native_roots(),
    };
    if let Some(id) = identity(tls, signal)? {
        config = config.identity(tonic::transport::Identity::from_pem(
            id.chain.bytes,
            id.key.bytes,
        ));
    }
    Ok(config)
}

/// The blocking HTTP client of an `https://` HTTP endpoint, built on a
/// thread of its own (reqwest's blocking client must not be made inside
/// an async runtime).
#[cfg(feature = "otlp-http")]
pub(crate) fn http_client(
    tls: &OtlpTls,
    signal: Signal,
    timeout: std::time::Duration,
    https: bool,
) -> Result<reqwest::blocking::Client, TlsError> {
    let config = if https {
        client_config(tls, signal)?
    } else {
        // Never used for `http://`; no trust store to read.
        rustls::ClientConfig::builder_with_provider(pem::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| http_error(&e))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    };
    let built = std::thread::Builder::new()
        .name("redline-otlp-client".into())
        .spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .tls_backend_preconfigured(config)
                .build()
        })
        .map_err(|e| http_error(&e))?
        .join()
        .map_err(|_| http_error(&"the thread building the HTTP client panicked"))?;
    built.map_err(|e| http_error(&e))
}

#[cfg(feature = "otlp-http")]
fn http_error(e: &dyn std::fmt::Display) -> TlsError {
    TlsError::Rustls {
        variable: "OTEL_EXPORTER_OTLP_ENDPOINT",
        reason: format!("cannot build the HTTPS client: {e}"),
    }
}

/// rustls' client configuration: the bundle's authorities or the system's,
/// and the client certificate if there is one.
#[cfg(feature = "otlp-http")]
fn client_config(tls: &OtlpTls, signal: Signal) -> Result<rustls::ClientConfig, TlsError> {
    let roots = match &tls.certificate {
        Some(path) => PemFile::read(signal.variable(0), path)?.root_store()?,
        None => {
            let mut roots = rustls::RootCertStore::empty();
            // Unreadable system certificates are skipped, as curl does; an
            // empty store fails every handshake, which is counted.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            roots
        }
    };
    let rustls_error = |e: &dyn std::fmt::Display| TlsError::Rustls {
        variable: signal.variable(0),
        reason: e.to_string(),
    };
    let builder = rustls::ClientConfig::builder_with_provider(pem::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| rustls_error(&e))?
        .with_root_certificates(roots);
    match identity(tls, signal)? {
        Some(id) => builder
            .with_client_auth_cert(id.chain.certificates()?, id.key.private_key()?)
            .map_err(|e| rustls_error(&e)),
        None => Ok(builder.with_no_client_auth()),
    }
}
