//! Input validation: JSON request bodies parsed within limits
//! ([`ValidJson`], [`parse_json`]), typed errors answered as JSON
//! ([`InputError`]), and an `input_validation_fail` security event for
//! every refusal ([`InputReporter`]).
//!
//! | failure | status | `error` |
//! |---|---|---|
//! | no JSON `Content-Type` | 415 | `unsupported_media_type` |
//! | body over the limit ([`JsonLimits::max_bytes`], `REDLINE_BODY_LIMIT`) | 413 | `body_too_large` |
//! | body not UTF-8 | 400 | `invalid_utf8` |
//! | nested deeper than [`JsonLimits::max_depth`] (`REDLINE_JSON_MAX_DEPTH`, default 32) | 400 | `json_too_deep` |
//! | malformed JSON | 400 | `invalid_json` |
//! | valid JSON of the wrong shape, or refused by the handler | 422 | `invalid_input` |
//!
//! The depth is checked by a scan before parsing, so a deeply nested body
//! costs one linear pass, never the parser's recursion.
//!
//! **What the client reads.** In production mode (the default),
//! [`ValidJson`] answers with a fixed message per code
//! ([`InputError::public_message`]: "the body is not valid JSON", ...),
//! never the input, a position in it, or a Rust type name. With
//! `REDLINE_ENV=development` ([`HardeningConfig::development`](crate::security::HardeningConfig::development))
//! it answers with the details ([`InputError`]'s `Display`: the field at
//! fault, the position, serde's explanation), the values they quote masked
//! by the default [`Redactor`](crate::redact::Redactor). The security event
//! (a `warn` line on `redline::security`, at most one a second; every
//! refusal counted in `redline_security_events_total`) carries the client
//! address and the error code, never the input.
//!
//! ```
//! use axum::{Router, routing::post};
//! use redline::security::ValidJson;
//!
//! #[derive(serde::Deserialize)]
//! struct Order { item: String, quantity: u32 }
//!
//! async fn order(ValidJson(o): ValidJson<Order>) -> String {
//!     format!("{} x {}", o.quantity, o.item)
//! }
//!
//! let t = redline::Telemetry::builder().build().unwrap();
//! let app: Router = t.instrument(Router::new().route("/orders", post(order)));
//! # let _ = app;
//! ```

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::logs::{SecurityEvent, SecurityEvents};

mod error;

pub use error::{InputError, InputRejection};

/// Default deepest nesting of a JSON body.
pub const DEFAULT_MAX_DEPTH: usize = 32;

/// Limits of a JSON body.
///
/// ```
/// let limits = redline::security::JsonLimits::default();
/// assert_eq!((limits.max_bytes, limits.max_depth), (1024 * 1024, 32));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Largest body, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects (`[[1]]` is 2).
    pub max_depth: usize,
}

impl Default for JsonLimits {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Whether `body` nests arrays and objects deeper than `max` (strings
/// skipped, escapes honoured). One pass, no recursion.
///
/// ```
/// use redline::security::json_too_deep;
/// assert!(!json_too_deep(br#"{"a":[1,{"b":"[[[["}]}"#, 3));
/// assert!(json_too_deep(b"[[[[]]]]", 3));
/// ```
pub fn json_too_deep(body: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses a JSON body within `limits` (see the module docs for the
/// checks and their order).
///
/// ```
/// use redline::security::{InputError, JsonLimits, parse_json};
/// let limits = JsonLimits::default();
/// let v: Vec<u32> = parse_json(b"[1, 2]", &limits).unwrap();
/// assert_eq!(v, [1, 2]);
/// assert_eq!(parse_json::<Vec<u32>>(b"[1,", &limits), Err(InputError::Syntax { line: 1, column: 3 }));
/// assert_eq!(parse_json::<Vec<u32>>(b"[\"\xff\"]", &limits), Err(InputError::NotUtf8 { offset: 2 }));
/// assert!(matches!(parse_json::<Vec<u32>>(b"[\"x\"]", &limits), Err(InputError::Invalid(_))));
/// ```
pub fn parse_json<T: DeserializeOwned>(body: &[u8], limits: &JsonLimits) -> Result<T, InputError> {
    if body.len() > limits.max_bytes {
        return Err(InputError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    if let Err(e) = std::str::from_utf8(body) {
        return Err(InputError::NotUtf8 {
            offset: e.valid_up_to(),
        });
    }
    if json_too_deep(body, limits.max_depth) {
        return Err(InputError::TooDeep {
            limit: limits.max_depth,
        });
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => InputError::invalid(e.to_string()),
        serde_json::error::Category::Io => InputError::Body,
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            InputError::Syntax {
                line: e.line(),
                column: e.column(),
            }
        }
    })
}

/// What [`crate::Telemetry::instrument`] puts in every request for the
/// extractors of this module: the limits, the security events, and
/// whether clients may read the details of a refusal (development mode).
#[derive(Clone)]
pub(crate) struct InputContext {
    pub(crate) limits: JsonLimits,
    pub(crate) security: SecurityEvents,
    pub(crate) development: bool,
}

impl InputContext {
    pub(crate) fn new(limits: JsonLimits, security: SecurityEvents) -> Self {
        Self {
            limits,
            security,
            development: false,
        }
    }

    /// Details of refusals for clients (`REDLINE_ENV=development`).
    pub(crate) fn development(mut self, development: bool) -> Self {
        self.development = development;
        self
    }
}

/// Reports input validation failures as `input_validation_fail` security
/// events, with the client's address (an extractor; it never fails).
/// Handlers that validate input themselves call [`InputReporter::fail`].
///
/// ```
/// use axum::{Router, routing::post};
/// use redline::security::{InputError, InputReporter};
///
/// async fn rename(reporter: InputReporter, name: String) -> Result<String, InputError> {
///     if name.is_empty() || name.len() > 64 {
///         return Err(reporter.fail(InputError::invalid("name must have 1 to 64 bytes")));
///     }
///     Ok(name)
/// }
/// let t = redline::Telemetry::builder().build().unwrap();
/// let app: Router = t.instrument(Router::new().route("/rename", post(rename)));
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct InputReporter {
    context: Option<InputContext>,
    peer: Option<SocketAddr>,
}

impl InputReporter {
    fn from_parts(parts: &Parts) -> Self {
        Self {
            context: parts.extensions.get::<InputContext>().cloned(),
            peer: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        }
    }

    /// Records the failure (counted always, logged at most once a second)
    /// and gives it back, to return.
    ///
    /// ```
    /// # use redline::security::{InputError, InputReporter};
    /// # fn f(reporter: InputReporter) -> InputError {
    /// reporter.fail(InputError::invalid("quantity must be 1 to 99"))
    /// # }
    /// ```
    pub fn fail(&self, error: InputError) -> InputError {
        self.report(error.code());
        error
    }

    /// Records a failure the handler answers itself, by the `error` code
    /// of its response (see [`InputReporter::fail`]).
    ///
    /// ```
    /// # fn f(reporter: redline::security::InputReporter) {
    /// reporter.report("invalid_message");
    /// # }
    /// ```
    pub fn report(&self, code: &str) {
        if let Some(cx) = &self.context {
            // Logged at most once a second (the event's line budget).
            cx.security
                .record_lazy(SecurityEvent::InputValidationFail, || {
                    (
                        self.peer.map(|p| p.ip().to_string()).unwrap_or_default(),
                        code,
                    )
                });
        }
    }

    /// The JSON limits of this request (the defaults outside
    /// [`crate::Telemetry::instrument`]).
    ///
    /// ```
    /// # fn f(reporter: redline::security::InputReporter) {
    /// let limits = reporter.limits();
    /// # let _ = limits;
    /// # }
    /// ```
    pub fn limits(&self) -> JsonLimits {
        self.context.as_ref().map(|c| c.limits).unwrap_or_default()
    }

    /// Whether clients may read the details of a refusal: true under
    /// `REDLINE_ENV=development`, false in production mode and outside
    /// [`crate::Telemetry::instrument`].
    ///
    /// ```
    /// # fn f(reporter: redline::security::InputReporter) {
    /// let message = if reporter.development() { "name has 65 bytes" } else { "name is too long" };
    /// # let _ = message;
    /// # }
    /// ```
    pub fn development(&self) -> bool {
        self.context.as_ref().is_some_and(|c| c.development)
    }

    /// `error` with this request's disclosure (see [`InputRejection`]),
    /// recorded as a failure.
    fn reject(&self, error: InputError) -> InputRejection {
        InputRejection {
            error: self.fail(error),
            detailed: self.development(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for InputReporter {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// A JSON body parsed within the limits (an axum extractor; see the module
/// docs). Refusals are [`InputRejection`]s (fixed messages in production
/// mode) and security events.
///
/// ```
/// use redline::security::ValidJson;
/// async fn handler(ValidJson(value): ValidJson<serde_json::Value>) -> String {
///     value.to_string()
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::post(handler));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ValidJson<T>(pub T);

fn is_json(parts: &Parts) -> bool {
    let Some(value) = parts.headers.get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ValidJson<T> {
    type Rejection = InputRejection;

    async fn from_request(request: Request, _: &S) -> Result<Self, InputRejection> {
        let (parts, body) = request.into_parts();
        let reporter = InputReporter::from_parts(&parts);
        let limits = reporter.limits();
        if !is_json(&parts) {
            return Err(reporter.reject(InputError::UnsupportedMediaType));
        }
        let bytes = match axum::body::to_bytes(body, limits.max_bytes).await {
            Ok(bytes) => bytes,
            Err(e) => {
                let too_large = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                return Err(reporter.reject(if too_large {
                    InputError::TooLarge {
                        limit: limits.max_bytes,
                    }
                } else {
                    InputError::Body
                }));
            }
        };
        parse_json(&bytes, &limits)
            .map(ValidJson)
            .map_err(|e| reporter.reject(e))
    }
}

impl std::fmt::Debug for InputReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputReporter").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_skips_strings_and_escapes() {
        assert!(!json_too_deep(br#"["\"[[[[[["]"#, 1));
        assert!(!json_too_deep(br#"{"a\\":{"b":1}}"#, 2));
        assert!(json_too_deep(br#"{"a\\":{"b":[1]}}"#, 2));
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(json_too_deep(deep.as_bytes(), 32));
        // serde_json alone would refuse it only at 128 levels, and by
        // recursion; the scan refuses at the configured depth.
        let limits = JsonLimits::default();
        assert_eq!(
            parse_json::<serde_json::Value>(deep.as_bytes(), &limits),
            Err(InputError::TooDeep { limit: 32 })
        );
        let ok = "[".repeat(32) + &"]".repeat(32);
        assert!(parse_json::<serde_json::Value>(ok.as_bytes(), &limits).is_ok());
    }

    #[test]
    fn errors_are_typed_and_masked() {
        let limits = JsonLimits {
            max_bytes: 16,
            max_depth: 4,
        };
        assert_eq!(
            parse_json::<u8>(b"12345678901234567", &limits),
            Err(InputError::TooLarge { limit: 16 })
        );
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Age {
            age: u8,
        }
        let e = parse_json::<Age>(br#"{"age":"j@x.io"}"#, &limits).unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(!e.to_string().contains("j@x.io"), "{e}");
        assert!(e.to_string().contains("j***@x.io"), "{e}");
    }

    #[test]
    fn content_types() {
        let parts = |ct: &str| {
            let (parts, ()) = axum::http::Request::builder()
                .header("content-type", ct)
                .body(())
                .unwrap()
                .into_parts();
            parts
        };
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(is_json(&parts(ok)), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "json",
            "application/+json",
        ] {
            assert!(!is_json(&parts(bad)), "{bad}");
        }
    }
}
