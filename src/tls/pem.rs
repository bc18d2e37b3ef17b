//! Reading PEM files into what rustls uses, with the checks that make a
//! bad file a clear error: unreadable, empty, unparsable, outside its
//! validity period, or a key that is not the certificate's.

use std::path::{Path, PathBuf};
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

/// A PEM file read once, with the setting that names it (for messages).
pub(crate) struct PemFile {
    variable: &'static str,
    path: PathBuf,
    pub(crate) bytes: Vec<u8>,
}

impl PemFile {
    /// Reads the file; a missing or unreadable one names its setting.
    pub(crate) fn read(variable: &'static str, path: &Path) -> Result<Self, TlsError> {
        let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
            variable,
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            variable,
            path: path.to_owned(),
            bytes,
        })
    }

    /// Every certificate in it (a chain or a bundle); at least one.
    pub(crate) fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let none = || TlsError::NoCertificate {
            variable: self.variable,
            path: self.path.clone(),
        };
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&self.bytes)
            .collect::<Result<_, _>>()
            .map_err(|_| none())?;
        if certs.is_empty() {
            return Err(none());
        }
        Ok(certs)
    }

    /// Its first private key.
    pub(crate) fn private_key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(&self.bytes).map_err(|e| self.no_key(&e))
    }

    fn no_key(&self, e: &dyn std::fmt::Display) -> TlsError {
        TlsError::NoKey {
            variable: self.variable,
            path: self.path.clone(),
            // The parsers' reasons name sections, never key material.
            reason: e.to_string(),
        }
    }

    /// A store of the authorities in it.
    pub(crate) fn root_store(&self) -> Result<rustls::RootCertStore, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in self.certificates()? {
            roots.add(cert).map_err(|e| TlsError::Rustls {
                variable: self.variable,
                reason: format!("{}: {e}", self.path.display()),
            })?;
        }
        Ok(roots)
    }
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
    cert: &PemFile,
    key: &PemFile,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<(Arc<CertifiedKey>, i64), TlsError> {
    let chain = cert.certificates()?;
    let der = key.private_key()?;
    let (not_before, not_after) = validity(cert.variable, &cert.path, &chain[0])?;
    let now = now_seconds();
    let expired = |state, at: i64| TlsError::Expired {
        variable: cert.variable,
        path: cert.path.clone(),
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
        .load_private_key(der)
        .map_err(|e| key.no_key(&e))?;
    let certified = CertifiedKey::new(chain, signing);
    if certified.keys_match().is_err() {
        return Err(TlsError::Mismatch {
            cert_variable: cert.variable,
            cert: cert.path.clone(),
            key_variable: key.variable,
            key: key.path.clone(),
        });
    }
    Ok((Arc::new(certified), not_after))
}
