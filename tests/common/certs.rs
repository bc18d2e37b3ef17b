//! Certificates made by the tests (rcgen): an authority, server
//! certificates for `localhost` and `127.0.0.1` signed by it, client
//! certificates, and expired ones; written as PEM files in a temp dir.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// A test authority and a directory for the files it makes.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(365);
        let key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            ca_pem: ca.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn sign(&self, mut params: CertificateParams, valid: (OffsetDateTime, OffsetDateTime)) -> Pair {
        params.not_before = valid.0;
        params.not_after = valid.1;
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1`, valid for a
    /// year (or from `valid_days.0` to `valid_days.1` days from now).
    pub fn server_valid(&self, cn: &str, valid_days: (i64, i64)) -> Pair {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = OffsetDateTime::now_utc();
        self.sign(
            params,
            (
                now + Duration::days(valid_days.0),
                now + Duration::days(valid_days.1),
            ),
        )
    }

    pub fn server(&self, cn: &str) -> Pair {
        self.server_valid(cn, (-1, 90))
    }

    /// A client certificate named `cn`.
    pub fn client(&self, cn: &str) -> Pair {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let now = OffsetDateTime::now_utc();
        self.sign(params, (now - Duration::days(1), now + Duration::days(30)))
    }

    /// Writes `text` to `name` in the directory, atomically (a temp file
    /// renamed, as Kubernetes and cert-manager replace files).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let tmp = self.dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }

    /// The authority's certificate, written as `ca.pem`.
    pub fn ca_file(&self) -> PathBuf {
        self.write("ca.pem", &self.ca_pem)
    }

    /// `pair` written as `<name>.crt` and `<name>.key`.
    pub fn files(&self, name: &str, pair: &Pair) -> (PathBuf, PathBuf) {
        (
            self.write(&format!("{name}.crt"), &pair.cert_pem),
            self.write(&format!("{name}.key"), &pair.key_pem),
        )
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
