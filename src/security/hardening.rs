//! HTTP hardening for an axum router, from tower-http's layers, in two
//! parts around redline's HTTP layer ([`limit`] inside, [`harden`]
//! outside; [`crate::Telemetry::instrument`] applies all three in order):
//!
//! - **request ids**: `x-request-id` is kept when it is 1 to 128 characters
//!   of `[A-Za-z0-9._:-]` and holds nothing the redactor would mask
//!   ([`crate::redact::looks_like_data`]), replaced by a new UUID otherwise
//!   (absent, too long, odd characters that could forge log lines, a card
//!   number or an SSN sent as an id), and echoed on the response;
//! - **security headers** on every response that does not set its own:
//!   `X-Content-Type-Options: nosniff`,
//!   `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`
//!   (for APIs: nothing may load or frame them), `Referrer-Policy: no-referrer`;
//! - **request body limit** (413 with a JSON error: at once for an announced
//!   length over it, at the limit for bodies without one);
//! - **request timeout** (408 when the handler takes longer);
//! - **CORS** from an explicit list of origins (none by default: no CORS
//!   headers, so browsers refuse cross-origin calls);
//! - **sanitized errors**: in production mode (the default) every 5xx body
//!   becomes `{"error":"internal_error","message":"internal server error","request_id":…}`;
//!   `REDLINE_ENV=development` keeps the handler's details.
//!
//! Header count and size are bounded by the server: hyper answers 431 to
//! more than 100 headers or a head larger than its read buffer (~400 KiB).
//!
//! ```
//! use axum::{Router, routing::get};
//! let telemetry = redline::Telemetry::builder().build().unwrap();
//! let app = telemetry.instrument(Router::new().route("/hello", get(|| async { "hi" })));
//! # let _ = app;
//! ```

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Request, StatusCode, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::parse::{ConfigError, invalid};

use crate::headers::{TRACEPARENT, X_REQUEST_ID as REQUEST_ID};

/// Settings of [`harden`].
///
/// ```
/// let config = redline::Config::from_lookup(|name| match name {
///     "REDLINE_CORS_ORIGINS" => Some("https://app.example.com".into()),
///     "REDLINE_REQUEST_TIMEOUT" => Some("10s".into()),
///     _ => None,
/// }).unwrap();
/// assert_eq!(config.hardening.cors_origins.len(), 1);
/// assert_eq!(config.hardening.request_timeout, std::time::Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HardeningConfig {
    /// `REDLINE_BODY_LIMIT`: largest request body in bytes (default 1 MiB).
    pub body_limit: usize,
    /// `REDLINE_REQUEST_TIMEOUT`: longest a request may take (default 30s).
    pub request_timeout: Duration,
    /// `REDLINE_CORS_ORIGINS`: origins allowed cross-origin calls, comma
    /// separated (`https://app.example.com`); empty (the default) allows none.
    pub cors_origins: Vec<HeaderValue>,
    /// `REDLINE_ENV`: `production` (the default) replaces every 5xx body
    /// with a fixed JSON shape (a generic message and the request id), so
    /// internal details never reach clients; `development` keeps the
    /// handler's body.
    pub development: bool,
    /// `REDLINE_HEADER_READ_TIMEOUT`: longest a client may take to send a
    /// request's head (default 10s) on the servers redline runs (the admin
    /// listener, the demo); beyond it the connection is closed. Guards
    /// against clients trickling headers to hold connections (slowloris).
    pub header_read_timeout: Duration,
    /// `REDLINE_JSON_MAX_DEPTH`: deepest nesting of a JSON body read with
    /// [`ValidJson`](crate::security::ValidJson) (default 32, 1 to 128).
    pub json_max_depth: usize,
    /// `REDLINE_MAX_CONNECTIONS`: most open connections on each service
    /// listener redline runs (the demo's API), 1 to 1,000,000. `None` (the
    /// default) derives it from the process's open-file soft limit: half of
    /// it (512 of 1,024). The admin listener has its own cap,
    /// `min(256, limit / 8)` and never more than this one, so `/metrics`
    /// keeps a reserve of descriptors while the service is saturated. At
    /// the cap a new connection evicts the longest-idle connection (no
    /// request in flight) or, when all are busy, is closed at once.
    ///
    /// ```
    /// let config = redline::Config::from_lookup(|name| match name {
    ///     "REDLINE_MAX_CONNECTIONS" => Some("2000".into()),
    ///     _ => None,
    /// }).unwrap();
    /// assert_eq!(config.hardening.max_connections, Some(2000));
    /// assert_eq!(redline::Config::default().hardening.max_connections, None);
    /// ```
    pub max_connections: Option<usize>,
}

impl Default for HardeningConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
            development: false,
            json_max_depth: crate::security::input::DEFAULT_MAX_DEPTH,
            header_read_timeout: Duration::from_secs(10),
            max_connections: None,
        }
    }
}

type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

impl HardeningConfig {
    pub(crate) fn from_source(get: Get<'_>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some((var, v)) = get("REDLINE_BODY_LIMIT") {
            c.body_limit = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1 << 30).contains(n))
                .ok_or_else(|| invalid(&var, &v, "a number of bytes from 1 to 1073741824"))?;
        }
        if let Some((var, v)) = get("REDLINE_JSON_MAX_DEPTH") {
            c.json_max_depth = crate::parse::parse_count(&var, &v, 1, 128)?;
        }
        if let Some((var, v)) = get("REDLINE_HEADER_READ_TIMEOUT") {
            c.header_read_timeout = crate::parse::parse_duration(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_MAX_CONNECTIONS") {
            c.max_connections = Some(crate::parse::parse_count(&var, &v, 1, 1_000_000)?);
        }
        if let Some((var, v)) = get("REDLINE_REQUEST_TIMEOUT") {
            c.request_timeout = crate::parse::parse_duration(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_ENV") {
            c.development = match v.trim() {
                "production" => false,
                "development" => true,
                _ => return Err(invalid(&var, &v, "production or development")),
            };
        }
        if let Some((var, v)) = get("REDLINE_CORS_ORIGINS") {
            let expected = "comma-separated origins such as https://app.example.com (scheme://host[:port], no path, no wildcard)";
            for origin in v.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                let uri: axum::http::Uri =
                    origin.parse().map_err(|_| invalid(&var, &v, expected))?;
                let ok = matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some()
                    && uri
                        .path_and_query()
                        .is_none_or(|p| p.as_str() == "/" || p.as_str().is_empty())
                    && !origin.ends_with('/');
                if !ok {
                    return Err(invalid(&var, &v, expected));
                }
                c.cors_origins
                    .push(HeaderValue::from_str(origin).map_err(|_| invalid(&var, &v, expected))?);
            }
        }
        Ok(c)
    }
}

/// Whether an incoming request id is kept as it is: the right characters,
/// and nothing the redactor would mask (a card number or an SSN is made of
/// the same characters; it is data, not an id).
fn acceptable_request_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
        && v.to_str()
            .is_ok_and(|id| !crate::redact::looks_like_data(id))
}

/// Removes an unacceptable `x-request-id` so a fresh one is generated.
fn sanitize_request_id<B>(mut request: Request<B>) -> Request<B> {
    if let Some(v) = request.headers().get(&REQUEST_ID)
        && !acceptable_request_id(v)
    {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The limits: request body size and request time. Apply them *inside*
/// redline's HTTP layer (before `telemetry.http_layer()`), so refused
/// requests (413, 408) are measured, logged and traced like others;
/// [`crate::Telemetry::instrument`] does the whole stack in order.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::ServiceExt;
/// let config = redline::security::HardeningConfig { body_limit: 8, ..Default::default() };
/// let app = redline::security::limit(
///     axum::Router::new().route("/", axum::routing::post(|| async { "ok" })),
///     &config,
/// );
/// let request = http::Request::post("/").header("content-length", "9").body(axum::body::Body::from("123456789")).unwrap();
/// assert_eq!(app.oneshot(request).await.unwrap().status(), 413);
/// # });
/// ```
pub fn limit(router: Router, config: &HardeningConfig) -> Router {
    let limit = config.body_limit;
    router
        // Bodies without a length are cut by the extractors at the limit;
        // an announced length over it is refused at once, in JSON like the
        // API's other errors (tower-http's `RequestBodyLimitLayer` answers
        // in plain text).
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                let announced = request
                    .headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if announced.is_some_and(|n| n > limit as u64) {
                    return too_large(limit);
                }
                next.run(request).await
            },
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
}

/// Request ids, security headers and CORS. Apply *outside* redline's HTTP
/// layer (after `telemetry.http_layer()`), so the layer and the logs see
/// the final request id; [`crate::Telemetry::instrument`] does the whole
/// stack in order.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::ServiceExt;
/// let app = redline::security::harden(
///     axum::Router::new().route("/", axum::routing::get(|| async { "ok" })),
///     &redline::security::HardeningConfig::default(),
/// );
/// let response = app.oneshot(http::Request::get("/").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.headers()["x-content-type-options"], "nosniff");
/// assert!(response.headers().contains_key("x-request-id"));
/// # });
/// ```
pub fn harden(router: Router, config: &HardeningConfig) -> Router {
    let router = if config.development {
        router
    } else {
        router.layer(axum::middleware::from_fn(sanitize_server_errors))
    };
    let mut router = security_headers(router)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(tower::util::MapRequestLayer::new(sanitize_request_id));
    if !config.cors_origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(config.cors_origins.clone()))
                .allow_methods(tower_http::cors::Any)
                .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, REQUEST_ID])
                .expose_headers([REQUEST_ID, TRACEPARENT]),
        );
    }
    router
}

/// Production mode: a 5xx answer keeps its status and gets a fixed body,
/// whatever the handler wrote (stack traces, SQL, hostnames…).
async fn sanitize_server_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Set by the request-id layer outside this one (validated there).
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_server_error() {
        return response;
    }
    let mut body = String::from(r#"{"error":"internal_error","message":"internal server error""#);
    if let Some(id) = request_id {
        body.push_str(",\"request_id\":");
        crate::logs::push_json_str(&mut body, &id);
    }
    body.push('}');
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (parts, body).into_response()
}

fn too_large(limit: usize) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        format!(r#"{{"error":"body_too_large","message":"the request body is larger than {limit} bytes"}}"#),
    )
        .into_response()
}

/// Admin responses are never cached, and carry the same security headers.
pub(crate) fn harden_admin(router: Router) -> Router {
    security_headers(router).layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
}

/// `nosniff`, a CSP that lets nothing load or frame the response, and no
/// referrer, on every response that does not set its own.
fn security_headers(router: Router) -> Router {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        for ok in [
            "req-42",
            "a",
            "0af7651916cd43dd8448eb211c80319c",
            "trace:1.2_3",
            "550e8400-e29b-41d4-a716-446655440000",
            "01JD8Z6Q0V2M4K7T9X3B5N8C1E",
        ] {
            assert!(acceptable_request_id(&HeaderValue::from_static(ok)), "{ok}");
        }
        let long = "x".repeat(129);
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        for bad in [
            "",
            "has space",
            "a\"b",
            "ünïcode",
            long.as_str(),
            "x\ty",
            // Data sent as an id: a card, an SSN, an IBAN, a JWT.
            "5500-0000-0000-0004",
            "078-05-1120",
            "DE89370400440532013000",
            jwt,
        ] {
            let Ok(v) = HeaderValue::from_bytes(bad.as_bytes()) else {
                continue;
            };
            assert!(!acceptable_request_id(&v), "{bad:?}");
        }
    }

    #[test]
    fn cors_origins_are_validated() {
        let parse = |v: &str| {
            HardeningConfig::from_source(&crate::parse::test_source(&[("REDLINE_CORS_ORIGINS", v)]))
        };
        assert_eq!(
            parse("https://a.example, http://localhost:3000")
                .unwrap()
                .cors_origins
                .len(),
            2
        );
        for bad in [
            "*",
            "https://a.example/path",
            "ftp://a.example",
            "a.example",
            "https://a.example/",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
