//! `POST /status/login` and `POST /status/logout`.
//!
//! A login sends the admin token as a form field (`token=…`), never in a
//! URL. Failed logins are `authn_login_fail` events, and more than
//! [`MAX_FAILURES`] a minute from one address get 429 until the minute
//! ends (`excess_rate_limit_exceeded`); the table of addresses is bounded
//! ([`MAX_ADDRESSES`]). A login from another site is refused: when the
//! browser says where the form came from (`Origin`, `Sec-Fetch-Site`), it
//! must be this listener.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::json_error;
use super::session::{clear_cookie, cookie, set_cookie};
use crate::admin::auth::{Verdict, principal_of, source};
use crate::admin::state::AdminState;
use crate::logs::SecurityEvent;

/// Failed logins allowed per address and minute.
pub(crate) const MAX_FAILURES: u32 = 10;
/// Addresses followed; beyond, the oldest window is forgotten.
pub(crate) const MAX_ADDRESSES: usize = 4096;
const WINDOW: Duration = Duration::from_secs(60);
/// Largest login body.
const MAX_BODY: usize = 4096;

/// Failed logins per address, by minute.
#[derive(Default)]
pub(crate) struct Throttle {
    by_address: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    /// Whether `address` may try now.
    fn allows(&self, address: Option<IpAddr>) -> bool {
        let Some(a) = address else { return true };
        let map = self
            .by_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&a)
            .is_none_or(|(start, n)| start.elapsed() >= WINDOW || *n < MAX_FAILURES)
    }

    fn failed(&self, address: Option<IpAddr>) {
        let Some(a) = address else { return };
        let mut map = self
            .by_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&a) {
            map.retain(|_, (start, _)| start.elapsed() < WINDOW);
            if map.len() >= MAX_ADDRESSES
                && let Some(oldest) = map.iter().min_by_key(|(_, (s, _))| *s).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        let entry = map.entry(a).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    /// Addresses followed now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_address.lock().unwrap().len()
    }
}

/// Whether the browser says the request came from another site.
fn cross_site(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "same-origin" && s != "none") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // HTTP/2 carries the host in `:authority`, HTTP/1.1 in `Host`.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority);
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    origin_host.is_none() || origin_host != host
}

/// The `token` field of a form body.
fn token_field(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "token")
            .then(|| crate::parse::percent_decode(&value.replace('+', " ")))
            .flatten()
    })
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(in crate::admin) async fn login(State(t): State<AdminState>, request: Request) -> Response {
    let Some(status) = t.status.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let from = source(request.extensions());
    let address = from.parse::<IpAddr>().ok();
    // `Secure` on a TLS admin listener, and wherever the connection is
    // known to be TLS (the router merged into a TLS service listener).
    let secure = status.secure
        || request
            .extensions()
            .get::<crate::http::SecureConnection>()
            .is_some();
    if cross_site(
        request.headers(),
        request.uri().authority().map(|a| a.as_str()),
    ) {
        t.security.record(
            SecurityEvent::AuthzFail,
            &from,
            "POST /status/login from another site",
        );
        return json_error(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "log in from the status page itself",
        );
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_BODY).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_body",
            "the login form is at most 4 KiB",
        );
    };
    let Some(token) = token_field(&body).filter(|t| !t.trim().is_empty()) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "send the admin token as the form field `token`",
        );
    };
    if !status.throttle.allows(address) {
        t.security.record(
            SecurityEvent::ExcessRateLimitExceeded,
            &from,
            "POST /status/login",
        );
        let mut r = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed logins from this address: wait a minute",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return r;
    }
    let principals = t.principals.snapshot();
    if principals.is_empty() {
        return super::super::auth::refuse(
            &t,
            &Verdict::NotConfigured,
            &from,
            "POST /status/login",
        );
    }
    match principal_of(&principals, token.trim()) {
        Ok(p) => {
            let id = status.sessions.create(p);
            t.security
                .record_lazy(SecurityEvent::AuthnLoginSuccess, || {
                    (&from, format!("status page login of {}", p.name()))
                });
            let set = set_cookie(&id, status.sessions.ttl(), secure);
            let mut r = StatusCode::NO_CONTENT.into_response();
            if let Ok(v) = HeaderValue::from_str(&set) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            no_store(r)
        }
        Err(verdict) => {
            status.throttle.failed(address);
            let event = if verdict == Verdict::Expired {
                SecurityEvent::AuthnTokenInvalid
            } else {
                SecurityEvent::AuthnLoginFail
            };
            t.security.record(event, &from, "POST /status/login");
            json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_credential",
                "expired or invalid admin token",
            )
        }
    }
}

/// Ends the session (a session in force needs its CSRF token: another
/// site cannot log the user out) and clears the cookie.
pub(in crate::admin) async fn logout(State(t): State<AdminState>, request: Request) -> Response {
    let Some(status) = t.status.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(id) = cookie(request.headers()) {
        let principals = t.principals.snapshot();
        if let super::session::Lookup::Granted(g) = status.sessions.lookup(id, &principals)
            && !super::session::csrf_sent(&g.csrf, request.headers())
        {
            return json_error(
                StatusCode::FORBIDDEN,
                "csrf",
                "logging out needs the X-CSRF-Token of the session: reload the page",
            );
        }
        status.sessions.end(id);
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(status.secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    no_store(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_per_address_and_stays_bounded() {
        let t = Throttle::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(t.allows(Some(a)));
            t.failed(Some(a));
        }
        assert!(!t.allows(Some(a)));
        assert!(t.allows("127.0.0.2".parse().ok()));
        for i in 0..(MAX_ADDRESSES as u32 + 100) {
            t.failed(Some(IpAddr::from(i.to_be_bytes())));
        }
        assert!(t.len() <= MAX_ADDRESSES);
    }

    #[test]
    fn forms_and_origins() {
        assert_eq!(token_field(b"token=abc%2Bd+e").as_deref(), Some("abc+d e"));
        assert_eq!(token_field(b"x=1"), None);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9464"));
        assert!(!cross_site(&h, None));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9464"),
        );
        assert!(!cross_site(&h, None));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(cross_site(&h, None));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site(&h, None));
    }
}
