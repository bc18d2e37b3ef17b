//! Label values of the HTTP server metrics, normalized to small bounded sets.
//!
//! Every value here comes from a fixed table, so a client cannot create new
//! label values by sending odd methods, schemes or paths.

use http::Method;

/// Semantic-conventions method names; anything else is `_OTHER`.
/// Index = the method's label id.
pub(crate) const METHOD_NAMES: [&str; 10] = [
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "_OTHER",
];

/// Label id of `_OTHER`.
pub(crate) const METHOD_OTHER: u8 = 9;

/// The label id of `method` (see [`METHOD_NAMES`]).
#[inline]
pub(crate) fn method_id(method: &Method) -> u8 {
    match *method {
        Method::CONNECT => 0,
        Method::DELETE => 1,
        Method::GET => 2,
        Method::HEAD => 3,
        Method::OPTIONS => 4,
        Method::PATCH => 5,
        Method::POST => 6,
        Method::PUT => 7,
        Method::TRACE => 8,
        _ => METHOD_OTHER,
    }
}

/// `url_scheme` values.
pub(crate) const SCHEME_NAMES: [&str; 2] = ["http", "https"];

/// The label id of the request's scheme: from an absolute request URI (HTTP/2
/// `:scheme`) when present, else `https` on a connection marked
/// [`SecureConnection`], else `default` (`REDLINE_URL_SCHEME`).
#[inline]
pub(crate) fn scheme_id<B>(request: &http::Request<B>, default: u8) -> u8 {
    match request.uri().scheme_str() {
        Some("https") => 1,
        Some("http") => 0,
        _ if request.extensions().get::<SecureConnection>().is_some() => 1,
        _ => default,
    }
}

/// Marks a request that arrived over TLS: redline's server
/// ([`Telemetry::serve`](crate::Telemetry::serve), the admin listener) adds
/// it on TLS connections, so `url_scheme` is `https` and a handler can set
/// a cookie's `Secure` flag. A server of your own may add it the same way.
///
/// ```
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(redline::http::SecureConnection);
/// assert!(request.extensions().get::<redline::http::SecureConnection>().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecureConnection;

/// Why a request counts as failed: the `error_type` label. Its values are a
/// closed set; for 5xx responses the label is the status code itself, as the
/// semantic conventions advise.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::ServiceExt;
/// let t = redline::Telemetry::builder().build().unwrap();
/// let app: axum::Router = axum::Router::new()
///     .route("/busy", axum::routing::get(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }))
///     .layer(t.http_layer());
/// app.oneshot(http::Request::get("/busy").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// assert!(t.render_metrics().contains(r#"error_type="503""#)); // ErrorType::ServerStatus
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorType {
    /// The request did not fail (no `error_type` label), or it got a 4xx.
    None = 0,
    /// The response has a 5xx status: the label is that status code.
    ServerStatus = 1,
    /// The inner service returned `Err` instead of a response.
    HandlerError = 2,
    /// The handler panicked; the layer answered 500.
    Panic = 3,
    /// The client went away (or the server dropped the request) before the
    /// response body was fully sent.
    ClientDisconnected = 4,
    /// The response body stream returned an error.
    BodyError = 5,
}

impl ErrorType {
    /// Whether the request failed on the server's side: a 5xx, a handler
    /// error, a panic or a body that failed (not a client that left). What
    /// the access log, the status page and the server span call a failure.
    #[inline]
    pub(crate) fn is_server_failure(self) -> bool {
        matches!(
            self,
            ErrorType::ServerStatus
                | ErrorType::HandlerError
                | ErrorType::Panic
                | ErrorType::BodyError
        )
    }

    /// The label value, given the response status.
    pub(crate) fn label(self, status: u16) -> Option<&'static str> {
        match self {
            ErrorType::None => None,
            ErrorType::ServerStatus => Some(status_label(status)),
            ErrorType::HandlerError => Some("handler_error"),
            ErrorType::Panic => Some("panic"),
            ErrorType::ClientDisconnected => Some("client_disconnected"),
            ErrorType::BodyError => Some("body_error"),
        }
    }

    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            1 => ErrorType::ServerStatus,
            2 => ErrorType::HandlerError,
            3 => ErrorType::Panic,
            4 => ErrorType::ClientDisconnected,
            5 => ErrorType::BodyError,
            _ => ErrorType::None,
        }
    }
}

/// Status code label: three digits, or empty when no response was produced.
pub(crate) fn status_label(status: u16) -> &'static str {
    // Statuses are validated by `http::StatusCode` (100..=999); a static
    // table avoids formatting at scrape time for the common ones.
    static TABLE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    if status == 0 {
        return "";
    }
    let table = TABLE.get_or_init(|| (0..1000u16).map(|s| s.to_string()).collect());
    table
        .get(status as usize)
        .map(String::as_str)
        .unwrap_or("_OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_become_other() {
        assert_eq!(METHOD_NAMES[method_id(&Method::GET) as usize], "GET");
        let odd = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(METHOD_NAMES[method_id(&odd) as usize], "_OTHER");
        let lower = Method::from_bytes(b"get").unwrap();
        assert_eq!(METHOD_NAMES[method_id(&lower) as usize], "_OTHER");
    }

    #[test]
    fn error_labels() {
        assert_eq!(ErrorType::ServerStatus.label(503), Some("503"));
        assert_eq!(ErrorType::None.label(404), None);
        assert_eq!(ErrorType::Panic.label(500), Some("panic"));
        for v in 0..=5u8 {
            assert_eq!(ErrorType::from_u8(v) as u8, v);
        }
        assert_eq!(status_label(0), "");
    }
}
