//! Browser sessions of the status page: a login exchanges an admin token
//! for a random session id in a cookie, bound to the principal and its
//! token, with a CSRF token for every change made from the page.
//!
//! - The cookie (`redline_session`) is `HttpOnly`, `SameSite=Strict`,
//!   `Path=/status`, has `Max-Age` the session's lifetime, and is
//!   `Secure` when the admin listener speaks TLS. Its value is 32 random
//!   bytes (the thread-local ChaCha generator of `rand`, seeded by the
//!   OS); the store keeps only their SHA-256 digest.
//! - A session ends at its expiry (`REDLINE_STATUS_SESSION_TTL`), at
//!   logout, when its principal expires, is removed or changes token
//!   (checked at each request against the principals in force), or when
//!   [`MAX_SESSIONS`] newer ones pushed it out.
//! - Each session has its own CSRF token, given to the page in
//!   `/status/data`; a change (anything but `GET`/`HEAD`) authenticated
//!   by the cookie must send it as `X-CSRF-Token`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::admin::AdminToken;
use crate::admin::principals::{Principal, Role};

/// The cookie's name.
pub(crate) const COOKIE: &str = "redline_session";
/// Most sessions kept; a login beyond it ends the oldest.
pub(crate) const MAX_SESSIONS: usize = 1024;

/// One login.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) principal: String,
    token: AdminToken,
    pub(crate) csrf: String,
    created: Instant,
    expires: Instant,
    pub(crate) expires_at: SystemTime,
}

/// A session in force, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Granted {
    pub(crate) principal: String,
    pub(crate) role: Role,
    pub(crate) csrf: String,
    pub(crate) expires_at: SystemTime,
}

/// What a request's cookie amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// A session in force.
    Granted(Granted),
    /// An unknown, ended or expired session, or one whose principal is no
    /// longer valid.
    Invalid,
}

/// The session store: bounded, shared by the admin router's clones.
pub(crate) struct Sessions {
    by_digest: Mutex<HashMap<[u8; 32], Session>>,
    ttl: Duration,
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            by_digest: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// Sessions kept now.
    pub(crate) fn len(&self) -> usize {
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The session lifetime.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new session for `principal`: its id (the cookie's value).
    pub(crate) fn create(&self, principal: &Principal) -> String {
        let id = random_hex();
        let now = Instant::now();
        let session = Session {
            principal: principal.name().to_owned(),
            token: principal.token().clone(),
            csrf: random_hex(),
            created: now,
            expires: now + self.ttl,
            expires_at: SystemTime::now() + self.ttl,
        };
        let mut map = self
            .by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k);
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(digest(&id), session);
        id
    }

    /// Ends the session `id` (logout). Whether there was one.
    pub(crate) fn end(&self, id: &str) -> bool {
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&digest(id))
            .is_some()
    }

    /// The session of cookie value `id`, checked against `principals`.
    pub(crate) fn lookup(&self, id: &str, principals: &[Principal]) -> Lookup {
        let key = digest(id);
        let mut map = self
            .by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(session) = map.get(&key) else {
            return Lookup::Invalid;
        };
        let now = SystemTime::now();
        let principal = principals.iter().find(|p| {
            p.name() == session.principal && p.token() == &session.token && !p.is_expired(now)
        });
        match principal {
            Some(p) if session.expires > Instant::now() => Lookup::Granted(Granted {
                principal: session.principal.clone(),
                role: p.role(),
                csrf: session.csrf.clone(),
                expires_at: session.expires_at,
            }),
            _ => {
                map.remove(&key);
                Lookup::Invalid
            }
        }
    }
}

/// The session id in a request's `Cookie` headers, if any.
pub(crate) fn cookie(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            // Only a well-formed id: anything else is not looked up.
            (name == COOKIE && value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
                .then_some(value)
        })
}

/// Whether `headers` carry the session's CSRF token in
/// [`CSRF_HEADER`](super::CSRF_HEADER) (compared in constant time).
pub(crate) fn csrf_sent(expected: &str, headers: &http::HeaderMap) -> bool {
    let sent = headers
        .get(super::CSRF_HEADER)
        .and_then(|v| v.to_str().ok());
    csrf_matches(expected, sent)
}

/// Whether `sent` is the session's CSRF token (constant time).
fn csrf_matches(expected: &str, sent: Option<&str>) -> bool {
    sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())))
}

/// The `Set-Cookie` value of a new session.
pub(crate) fn set_cookie(id: &str, ttl: Duration, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/status; Max-Age={}; HttpOnly; SameSite=Strict{}",
        ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub(crate) fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/status; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(name: &str, token: &str) -> Principal {
        Principal::new(name, Role::Viewer, AdminToken::new(token))
    }

    #[test]
    fn a_session_follows_its_principal() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let p = principal("ann", "ann-token-0123456789");
        let id = sessions.create(&p);
        assert_eq!(id.len(), 64);
        let Lookup::Granted(g) = sessions.lookup(&id, std::slice::from_ref(&p)) else {
            panic!("not granted");
        };
        assert_eq!((g.principal.as_str(), g.role), ("ann", Role::Viewer));
        // The principal's token changed: the session ends.
        let rotated = principal("ann", "ann-token-rotated-0123");
        assert_eq!(sessions.lookup(&id, &[rotated]), Lookup::Invalid);
        assert_eq!(sessions.lookup(&id, &[p]), Lookup::Invalid);
    }

    #[test]
    fn logout_and_bound() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let p = principal("ann", "ann-token-0123456789");
        let first = sessions.create(&p);
        assert!(sessions.end(&first));
        assert!(!sessions.end(&first));
        for _ in 0..MAX_SESSIONS + 10 {
            sessions.create(&p);
        }
        assert_eq!(sessions.len(), MAX_SESSIONS);
    }

    #[test]
    fn cookies_and_csrf() {
        let id = "a".repeat(64);
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("theme=dark; {COOKIE}={id}").parse().unwrap(),
        );
        assert_eq!(cookie(&headers), Some(id.as_str()));
        headers.insert(
            http::header::COOKIE,
            format!("{COOKIE}=zz").parse().unwrap(),
        );
        assert_eq!(cookie(&headers), None);
        assert!(csrf_matches("abc", Some("abc")));
        assert!(!csrf_matches("abc", Some("abd")));
        assert!(!csrf_matches("abc", None));
        let set = set_cookie(&id, Duration::from_secs(60), true);
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/status",
            "Secure",
            "Max-Age=60",
        ] {
            assert!(set.contains(flag), "{set}");
        }
    }
}
