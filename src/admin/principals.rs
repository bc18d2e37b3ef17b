//! Admin principals: named credentials, each with a [`Role`] and an
//! optional expiry, read from the TOML file named by
//! `REDLINE_ADMIN_PRINCIPALS_FILE` (feature `config-file`); the single
//! `REDLINE_ADMIN_TOKEN` is one more principal, `admin-token`, an operator.
//!
//! ```toml
//! [[principal]]
//! name = "ci-bot"
//! role = "viewer"
//! token_sha256 = "<64 hex chars>"     # or: token_file = "/run/secrets/ci-bot"
//! expires = 2027-01-01T00:00:00Z      # optional; or an RFC 3339 string
//! ```
//!
//! Tokens are kept as their SHA-256 digest only ([`AdminToken`]). This file
//! holds the types and the parser; `principals/watch.rs` re-reads the file
//! while the service runs.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::admin::AdminToken;
use crate::parse::ConfigError;

#[cfg(feature = "config-file")]
mod parse;
mod watch;

pub(crate) use watch::Principals;
#[cfg(feature = "config-file")]
pub(crate) use watch::Watcher;

/// The variable that names the principals file.
#[cfg(feature = "config-file")]
pub(crate) const VARIABLE: &str = "REDLINE_ADMIN_PRINCIPALS_FILE";

/// The name of the principal `REDLINE_ADMIN_TOKEN` gives.
pub const ADMIN_TOKEN_PRINCIPAL: &str = "admin-token";

/// What a principal may do. Roles are ordered: each has what the ones
/// below it have.
///
/// ```
/// use redline::admin::Role;
/// assert!(Role::Operator.allows(Role::Viewer));
/// assert!(!Role::Viewer.allows(Role::Operator));
/// assert_eq!(Role::from_name("viewer"), Some(Role::Viewer));
/// assert_eq!(Role::Operator.as_str(), "operator");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads: `/info`, `/errors/report`, `/logs/info`, the details of
    /// `/health`, `/metrics` under `REDLINE_METRICS_AUTH=true`.
    Viewer,
    /// Everything a viewer may, and every change of state: `PUT
    /// /logs/level` and the routes merged with
    /// [`Telemetry::serve_admin_with`](crate::Telemetry::serve_admin_with)
    /// (the demo's `/faults`).
    Operator,
}

impl Role {
    /// Every role, lowest first.
    ///
    /// ```
    /// assert_eq!(redline::admin::Role::ALL[0], redline::admin::Role::Viewer);
    /// ```
    pub const ALL: [Role; 2] = [Role::Viewer, Role::Operator];

    /// Its name in a principals file.
    ///
    /// ```
    /// assert_eq!(redline::admin::Role::Viewer.as_str(), "viewer");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }

    /// The role named `name` (as [`Role::as_str`] writes it), if any.
    ///
    /// ```
    /// assert_eq!(redline::admin::Role::from_name("root"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether this role may call what `needed` may.
    ///
    /// ```
    /// use redline::admin::Role;
    /// assert!(Role::Viewer.allows(Role::Viewer));
    /// ```
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named admin credential. Its token is kept as a digest; `Debug` shows
/// the name, role and expiry only.
///
/// ```
/// use redline::admin::{Principal, Role};
/// use redline::config::AdminToken;
/// let p = Principal::new("ci-bot", Role::Viewer, AdminToken::new("ci-bot-token-0123456789"));
/// assert_eq!(p.name(), "ci-bot");
/// assert!(!format!("{p:?}").contains("0123456789"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    name: String,
    role: Role,
    token: AdminToken,
    expires: Option<SystemTime>,
}

impl Principal {
    /// A principal that does not expire.
    ///
    /// ```
    /// let p = redline::admin::Principal::new(
    ///     "ops", redline::admin::Role::Operator, redline::config::AdminToken::new("ops-token-0123456789"),
    /// );
    /// assert_eq!(p.expires(), None);
    /// ```
    pub fn new(name: impl Into<String>, role: Role, token: AdminToken) -> Self {
        Self {
            name: name.into(),
            role,
            token,
            expires: None,
        }
    }

    /// The same principal, refused from `at` on.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    /// let p = redline::admin::Principal::new(
    ///     "ops", redline::admin::Role::Operator, redline::config::AdminToken::new("ops-token-0123456789"),
    /// ).expiring_at(at);
    /// assert_eq!(p.expires(), Some(at));
    /// assert!(p.is_expired(at));
    /// ```
    pub fn expiring_at(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// Its name (what audit events record).
    ///
    /// ```
    /// # let p = redline::admin::Principal::new("ops", redline::admin::Role::Operator, redline::config::AdminToken::new("ops-token-0123456789"));
    /// assert_eq!(p.name(), "ops");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its role.
    ///
    /// ```
    /// # let p = redline::admin::Principal::new("ops", redline::admin::Role::Operator, redline::config::AdminToken::new("ops-token-0123456789"));
    /// assert_eq!(p.role(), redline::admin::Role::Operator);
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }

    /// When it stops being accepted, if ever.
    ///
    /// ```
    /// # let p = redline::admin::Principal::new("ops", redline::admin::Role::Operator, redline::config::AdminToken::new("ops-token-0123456789"));
    /// assert!(p.expires().is_none());
    /// ```
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// Whether it is expired at `now`.
    ///
    /// ```
    /// # let p = redline::admin::Principal::new("ops", redline::admin::Role::Operator, redline::config::AdminToken::new("ops-token-0123456789"));
    /// assert!(!p.is_expired(std::time::SystemTime::now()));
    /// ```
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|at| now >= at)
    }

    /// Its token's digest.
    pub(crate) fn token(&self) -> &AdminToken {
        &self.token
    }

    /// The principal `REDLINE_ADMIN_TOKEN` gives: `admin-token`, an
    /// operator.
    pub(crate) fn admin_token(token: AdminToken) -> Self {
        Self::new(ADMIN_TOKEN_PRINCIPAL, Role::Operator, token)
    }
}

/// The principals read from a file (`REDLINE_ADMIN_PRINCIPALS_FILE`), and
/// where from: the running service re-reads it when it changes.
///
/// ```
/// # #[cfg(feature = "config-file")] {
/// let dir = std::env::temp_dir().join(format!("redline-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("principals.toml");
/// std::fs::write(&path, r#"
/// [[principal]]
/// name = "ci-bot"
/// role = "viewer"
/// token_sha256 = "4a3057fd3371720d01f5d351fecab0d7948fd22e15a5c2c2b92b0b2696d3eeca"
/// expires = 2027-01-01T00:00:00Z
/// "#).unwrap();
/// let file = redline::admin::PrincipalsFile::load(&path).unwrap();
/// assert_eq!(file.principals()[0].name(), "ci-bot");
/// assert_eq!(file.path(), path);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PrincipalsFile {
    variable: String,
    path: PathBuf,
    principals: Vec<Principal>,
}

// The same file and principals, whichever variable or file key named it.
impl PartialEq for PrincipalsFile {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.principals == other.principals
    }
}

impl Eq for PrincipalsFile {}

impl PrincipalsFile {
    /// Reads and checks the principals file at `path` (as
    /// `REDLINE_ADMIN_PRINCIPALS_FILE` does). The error names the
    /// principal at fault, never a token.
    ///
    /// ```
    /// # #[cfg(feature = "config-file")] {
    /// let err = redline::admin::PrincipalsFile::load("/nonexistent/principals.toml").unwrap_err();
    /// assert!(err.to_string().contains("REDLINE_ADMIN_PRINCIPALS_FILE"), "{err}");
    /// # }
    /// ```
    #[cfg(feature = "config-file")]
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::load_as(VARIABLE, path.as_ref())
    }

    /// [`PrincipalsFile::load`], with errors naming `variable` (the file
    /// key when the path came from a configuration file).
    #[cfg(feature = "config-file")]
    pub(crate) fn load_as(variable: &str, path: &Path) -> Result<Self, ConfigError> {
        let principals = parse::load(variable, path)?;
        Ok(Self {
            variable: variable.to_owned(),
            path: path.to_owned(),
            principals,
        })
    }

    /// The file.
    ///
    /// ```
    /// # fn f(file: &redline::admin::PrincipalsFile) {
    /// println!("principals from {}", file.path().display());
    /// # }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The principals it held when read.
    ///
    /// ```
    /// # fn f(file: &redline::admin::PrincipalsFile) {
    /// for p in file.principals() {
    ///     println!("{} ({})", p.name(), p.role());
    /// }
    /// # }
    /// ```
    pub fn principals(&self) -> &[Principal] {
        &self.principals
    }

    /// The variable (or file key) that named the file.
    #[cfg(feature = "config-file")]
    pub(crate) fn variable(&self) -> &str {
        &self.variable
    }
}

/// The principals in force at start: `REDLINE_ADMIN_TOKEN`'s, then the
/// file's.
pub(crate) fn in_force(
    admin_token: Option<&AdminToken>,
    file: Option<&PrincipalsFile>,
) -> Result<Vec<Principal>, ConfigError> {
    match file {
        Some(f) => combine(&f.variable, &f.path, admin_token, &f.principals),
        None => combine("", Path::new(""), admin_token, &[]),
    }
}

/// The principals in force: `REDLINE_ADMIN_TOKEN`'s, then the file's.
/// Refused when both hold the same name or the same token.
pub(crate) fn combine(
    variable: &str,
    path: &Path,
    admin_token: Option<&AdminToken>,
    file: &[Principal],
) -> Result<Vec<Principal>, ConfigError> {
    let mut all: Vec<Principal> = admin_token
        .cloned()
        .map(Principal::admin_token)
        .into_iter()
        .collect();
    for p in file {
        if let Some(same) = all.iter().find(|q| q.name == p.name || q.token == p.token) {
            let what = if same.name == p.name {
                "its name is taken by REDLINE_ADMIN_TOKEN's principal"
            } else {
                "its token is REDLINE_ADMIN_TOKEN's: give each principal its own"
            };
            return Err(ConfigError::AdminPrincipals {
                variable: variable.to_owned(),
                path: path.to_owned(),
                principal: Some(format!("{:?}", p.name)),
                reason: format!("{what} ({ADMIN_TOKEN_PRINCIPAL:?})"),
            });
        }
        all.push(p.clone());
    }
    Ok(all)
}
