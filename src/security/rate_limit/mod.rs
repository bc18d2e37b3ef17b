//! Rate limiting per client with `governor` (GCRA), by route group.
//!
//! - **Key**: the peer's IP address. `X-Forwarded-For` is used only when the
//!   peer is a configured trusted proxy; then the client is the right-most
//!   address in it that is not itself a trusted proxy. Alternatively, a
//!   header such as an API key (only its 64-bit hash is kept, never the
//!   value). Requests without the header fall back to the IP.
//! - **Quotas**: one default quota, plus quotas per route template
//!   (`/messages=10/s`); each group has its own limiter.
//! - **Bounded memory**: every 1,024 checks, keys idle long enough to be
//!   back at a full bucket are purged (`retain_recent`). At most
//!   `max_keys` clients are tracked; beyond that, new clients share one
//!   bucket until room frees up, so an address-spraying attacker cannot
//!   grow memory.
//! - **Refusals**: 429 with a JSON error, `Retry-After` (seconds, rounded
//!   up) and `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset`
//!   (IETF draft "RateLimit header fields for HTTP"). Each one is counted
//!   in `redline_rate_limited_total{route}` and as the security event
//!   `excess_rate_limit_exceeded`; the log line is written at most once a
//!   second, so an attack cannot flood the logs.

//!
//! The settings are here in every build; the limiter itself
//! ([`limiter`]) needs the `rate-limit` feature (`governor`).

use std::net::IpAddr;

use axum::http::HeaderName;

use crate::parse::{ConfigError, invalid, parse_count, without_feature};

#[cfg(feature = "rate-limit")]
mod limiter;
#[cfg(feature = "rate-limit")]
pub(crate) use limiter::{RateLimitLayer, RateLimiter};

/// A rate: `per_second` requests a second on average, bursts up to `burst`.
///
/// ```
/// let q = redline::security::RateQuota { per_second: 10, burst: 20 };
/// assert_eq!(q.burst, 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    /// Sustained requests per second (at least 1).
    pub per_second: u32,
    /// Requests allowed at once after a quiet period (at least 1).
    pub burst: u32,
}

/// How a client is identified.
///
/// ```
/// assert_eq!(redline::security::RateKey::default(), redline::security::RateKey::PeerIp);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RateKey {
    /// The peer address (or the client behind a trusted proxy).
    #[default]
    PeerIp,
    /// The value of this header (an API key), hashed; the IP without it.
    Header(HeaderName),
}

/// Rate limiting settings (off unless a quota is set).
///
/// ```
/// let config = redline::Config::from_lookup(|name| match name {
///     "REDLINE_RATE_LIMIT" => Some("100/s".into()),
///     "REDLINE_RATE_LIMIT_ROUTES" => Some("/messages=5/s:10".into()),
///     _ => None,
/// }).unwrap();
/// let rl = &config.rate_limit;
/// assert_eq!(rl.default, Some(redline::security::RateQuota { per_second: 100, burst: 100 }));
/// assert_eq!(rl.routes[0].1.burst, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimitConfig {
    /// `REDLINE_RATE_LIMIT`: the quota of routes without their own
    /// (`100/s`, `6000/m`, `100/s:200` for a burst of 200; `off`).
    pub default: Option<RateQuota>,
    /// `REDLINE_RATE_LIMIT_ROUTES`: `template=quota` pairs, comma separated.
    pub routes: Vec<(String, RateQuota)>,
    /// `REDLINE_RATE_LIMIT_KEY`: `ip` (default) or `header:<name>`.
    pub key: RateKey,
    /// `REDLINE_TRUSTED_PROXIES`: proxy addresses whose `X-Forwarded-For`
    /// is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// `REDLINE_RATE_LIMIT_MAX_KEYS`: clients tracked at most (default
    /// 100000).
    pub max_keys: usize,
}

type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

fn parse_quota(var: &str, v: &str, text: &str) -> Result<RateQuota, ConfigError> {
    let expected = "a rate such as 100/s, 6000/m or 100/s:200 (with a burst of 200)";
    let (rate, burst) = match text.split_once(':') {
        Some((r, b)) => (r.trim(), Some(b.trim())),
        None => (text.trim(), None),
    };
    let (n, unit) = rate
        .split_once('/')
        .ok_or_else(|| invalid(var, v, expected))?;
    let n: u32 = n.trim().parse().map_err(|_| invalid(var, v, expected))?;
    let per_second = match unit.trim() {
        "s" => n,
        "m" => n / 60,
        _ => return Err(invalid(var, v, expected)),
    };
    let burst = match burst {
        Some(b) => b.parse::<u32>().map_err(|_| invalid(var, v, expected))?,
        None => per_second,
    };
    if per_second == 0 || burst == 0 || per_second > 1_000_000 || burst > 1_000_000 {
        return Err(invalid(var, v, expected));
    }
    Ok(RateQuota { per_second, burst })
}

impl RateLimitConfig {
    pub(crate) fn from_source(get: Get<'_>) -> Result<Self, ConfigError> {
        let mut c = RateLimitConfig {
            max_keys: 100_000,
            ..Default::default()
        };
        if let Some((var, v)) = get("REDLINE_RATE_LIMIT") {
            c.default = match v.trim() {
                "off" | "none" => None,
                q => Some(parse_quota(&var, &v, q)?),
            };
        }
        if let Some((var, v)) = get("REDLINE_RATE_LIMIT_ROUTES") {
            for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (route, quota) = pair
                    .split_once('=')
                    .filter(|(r, _)| r.trim().starts_with('/'))
                    .ok_or_else(|| invalid(&var, &v, "route=rate pairs such as /messages=10/s"))?;
                c.routes
                    .push((route.trim().to_owned(), parse_quota(&var, &v, quota)?));
            }
        }
        if let Some((var, v)) = get("REDLINE_RATE_LIMIT_KEY") {
            c.key = match v.trim().split_once(':') {
                None if v.trim() == "ip" => RateKey::PeerIp,
                Some(("header", name)) => RateKey::Header(
                    HeaderName::from_bytes(name.trim().as_bytes())
                        .map_err(|_| invalid(&var, &v, "ip or header:<name>"))?,
                ),
                _ => return Err(invalid(&var, &v, "ip or header:<name>")),
            };
        }
        if let Some((var, v)) = get("REDLINE_TRUSTED_PROXIES") {
            for ip in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                c.trusted_proxies.push(
                    ip.parse()
                        .map_err(|_| invalid(&var, &v, "comma-separated IP addresses"))?,
                );
            }
        }
        if let Some((var, v)) = get("REDLINE_RATE_LIMIT_MAX_KEYS") {
            c.max_keys = parse_count(&var, &v, 1, 10_000_000)?;
        }
        // Settings of a limiter this build does not have are refused, not
        // ignored: the quota, and the key, proxies and key cap beside it.
        const PURPOSE: &str = "enable it to limit request rates";
        if !cfg!(feature = "rate-limit") {
            for var in [
                "REDLINE_RATE_LIMIT_KEY",
                "REDLINE_TRUSTED_PROXIES",
                "REDLINE_RATE_LIMIT_MAX_KEYS",
            ] {
                if let Some((var, v)) = get(var) {
                    return Err(without_feature(&var, &v, "unset", "rate-limit", PURPOSE));
                }
            }
        }
        // A quota this build cannot enforce is refused, not ignored.
        if !cfg!(feature = "rate-limit") && (c.default.is_some() || !c.routes.is_empty()) {
            let (var, v) = get("REDLINE_RATE_LIMIT")
                .filter(|_| c.default.is_some())
                .or_else(|| get("REDLINE_RATE_LIMIT_ROUTES"))
                .unwrap_or_default();
            return Err(without_feature(&var, &v, "off", "rate-limit", PURPOSE));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_and_refuse_nonsense() {
        let q = |s: &str| parse_quota("V", s, s);
        assert_eq!(
            q("10/s").unwrap(),
            RateQuota {
                per_second: 10,
                burst: 10
            }
        );
        assert_eq!(
            q("600/m:50").unwrap(),
            RateQuota {
                per_second: 10,
                burst: 50
            }
        );
        for bad in [
            "",
            "10",
            "10/h",
            "0/s",
            "30/m",
            "x/s",
            "10/s:0",
            "10/s:x",
            "99999999/s",
        ] {
            assert!(q(bad).is_err(), "{bad}");
        }
    }

    /// A quota this build cannot enforce stops the start, naming the
    /// feature; `off` is accepted everywhere.
    #[test]
    fn a_quota_without_the_limiter_is_refused() {
        let parse = |pairs: &[(&str, &str)]| {
            let get = |var: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == var)
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            };
            RateLimitConfig::from_source(&get)
        };
        assert!(parse(&[("REDLINE_RATE_LIMIT", "off")]).is_ok());
        for var in ["REDLINE_RATE_LIMIT", "REDLINE_RATE_LIMIT_ROUTES"] {
            let value = if var == "REDLINE_RATE_LIMIT" {
                "10/s"
            } else {
                "/a=1/s"
            };
            let r = parse(&[(var, value)]);
            if cfg!(feature = "rate-limit") {
                assert!(r.is_ok(), "{r:?}");
            } else {
                let e = r.unwrap_err().to_string();
                assert!(
                    e.contains(var) && e.contains("no `rate-limit` feature"),
                    "{e}"
                );
            }
        }
    }
}
