//! Admin principals for the tests: a principals file in a temporary
//! directory, rewritten at will, and the demo started with it.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redline_demo::{Demo, DemoOptions};

/// A viewer's token (given to the file as its SHA-256 digest).
pub const VIEWER: &str = "viewer-token-0123456789abcdef";
/// An operator's token (given to the file in a `token_file`).
pub const OPERATOR: &str = "operator-token-0123456789abcdef";
/// The token of a viewer that expired in 2000.
pub const EXPIRED_VIEWER: &str = "expired-viewer-token-0123456789";
/// The token of an operator that expired in 2000.
pub const EXPIRED_OPERATOR: &str = "expired-operator-token-0123456789";

/// `printf %s "$token" | sha256sum`.
pub fn sha256_hex(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One `[[principal]]` table, its token by digest.
pub fn entry(name: &str, role: &str, token: &str, expires: Option<&str>) -> String {
    let mut text = format!(
        "[[principal]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n",
        sha256_hex(token)
    );
    if let Some(at) = expires {
        text.push_str(&format!("expires = {at}\n"));
    }
    text
}

/// `t` as an RFC 3339 date-time in UTC, rounded up to the second.
pub fn rfc3339(t: SystemTime) -> String {
    // Whole seconds, rounded up, so "expires at" is never before `t`.
    let d = t.duration_since(UNIX_EPOCH).unwrap();
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A principals file in its own temporary directory.
pub struct PrincipalsFile {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl PrincipalsFile {
    /// The file with `text`.
    pub fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("principals.toml");
        let file = Self { dir, path };
        file.write(text);
        file
    }

    /// The standard set: `viewer`, `operator` (by `token_file`), and the
    /// two expired ones.
    pub fn standard() -> Self {
        let file = Self::new("");
        std::fs::write(
            file.dir.path().join("operator.token"),
            format!("{OPERATOR}\n"),
        )
        .unwrap();
        file.write(&format!(
            "{}[[principal]]\nname = \"operator\"\nrole = \"operator\"\ntoken_file = \"operator.token\"\n{}{}",
            entry("viewer", "viewer", VIEWER, None),
            entry("old-viewer", "viewer", EXPIRED_VIEWER, Some("2000-01-01T00:00:00Z")),
            entry("old-operator", "operator", EXPIRED_OPERATOR, Some("\"2000-01-01T00:00:00+00:00\"")),
        ));
        file
    }

    /// Replaces the file's text at once (written beside, then renamed).
    pub fn write(&self, text: &str) {
        let next = self.dir.path().join("principals.toml.next");
        std::fs::write(&next, text).unwrap();
        std::fs::rename(&next, &self.path).unwrap();
    }

    /// As configuration.
    pub fn config(&self) -> redline::admin::PrincipalsFile {
        redline::admin::PrincipalsFile::load(&self.path).expect("valid principals file")
    }
}

/// The demo with `file`'s principals and the shared test token
/// (`admin-token`), `/metrics` behind a viewer when `metrics_auth`.
pub async fn start_demo_with(file: &PrincipalsFile, metrics_auth: bool) -> Demo {
    let mut options: DemoOptions = super::demo_options();
    options.config.admin_principals = Some(file.config());
    options.config.metrics_auth = metrics_auth;
    Demo::start(options).await.expect("demo starts")
}

/// Polls `check` every 50 ms until it holds, for at most `within`.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
