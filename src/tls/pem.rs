//! Reading PEM files into what rustls uses, with the checks that make a
//! bad file a clear error: unreadable, empty, unparsable, outside its
//! validity period, or a key that is not the certificate's.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::TlsError;

/// The crypto provider of every TLS configuration redline makes.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(variable: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        variable,
        path: path.to_owned(),
        source,
    })
}

/// Every certificate of a PEM file (a chain or a bundle); at least one.
pub(crate) fn certificates(
    variable: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(variable, path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::NoCertificate {
            variable,
            path: path.to_owned(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            variable,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key of a PEM file.
pub(crate) fn private_key(
    variable: &'static str,
    path: &Path,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(variable, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::NoKey {
        variable,
        path: path.to_owned(),
        // The PEM parser's reason names sections, never key material.
        reason: e.to_string(),
    })
}

/// The leaf's validity period, in seconds since the epoch.
pub(crate) fn validity(
    variable: &'static str,
    path: &Path,
    leaf: &CertificateDer<'_>,
) -> Result<(i64, i64), TlsError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(leaf).map_err(|e| TlsError::BadCertificate {
            variable,
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    let v = cert.validity();
    Ok((v.not_before.timestamp(), v.not_after.timestamp()))
}

/// Seconds since the epoch, now.
pub(crate) fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A certificate chain and its key, checked: the key signs for the leaf,
/// and the leaf is valid now. Returns the leaf's expiry (seconds since the
/// epoch) with it.
pub(crate) fn certified_key(
    (cert_variable, cert_path): (&'static str, &Path),
    (key_variable, key_path): (&'static str, &Path),
    provider: &rustls::crypto::CryptoProvider,
) -> Result<(Arc<CertifiedKey>, i64), TlsError> {
    let chain = certificates(cert_variable, cert_path)?;
    let key = private_key(key_variable, key_path)?;
    let (not_before, not_after) = validity(cert_variable, cert_path, &chain[0])?;
    let now = now_seconds();
    let expired = |state, at: i64| TlsError::Expired {
        variable: cert_variable,
        path: cert_path.to_owned(),
        state,
        at: crate::timefmt::rfc3339_millis(
            UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(at).unwrap_or(0)),
        ),
    };
    if now > not_after {
        return Err(expired("expired", not_after));
    }
    if now < not_before {
        return Err(expired("is not valid yet", not_before));
    }
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::NoKey {
            variable: key_variable,
            path: key_path.to_owned(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    if certified.keys_match().is_err() {
        return Err(TlsError::Mismatch {
            cert_variable,
            cert: cert_path.to_owned(),
            key_variable,
            key: key_path.to_owned(),
        });
    }
    Ok((Arc::new(certified), not_after))
}

/// A store of the authorities in a PEM bundle.
pub(crate) fn root_store(
    variable: &'static str,
    path: &Path,
) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(variable, path)? {
        roots.add(cert).map_err(|e| TlsError::Rustls {
            variable,
            reason: format!("{}: {e}", path.display()),
        })?;
    }
    Ok(roots)
}
