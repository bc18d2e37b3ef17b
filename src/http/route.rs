//! Where the `http_route` label comes from: the route *template*, never the
//! raw path, so that label values stay bounded.

use http::{Extensions, Uri};

/// Finds the route template of a request.
///
/// Returning `None` files the request under the fixed
/// [`UNMATCHED_ROUTE`](super::UNMATCHED_ROUTE) value. Implementations must
/// return values from a bounded set (templates, known paths); the layer also
/// caps distinct values, but a cap filled with junk hides real routes.
///
/// ```
/// use redline::http::RouteExtractor;
/// use http::{Extensions, Uri};
///
/// #[derive(Clone)]
/// struct FirstSegment;
/// impl RouteExtractor for FirstSegment {
///     fn route<'r>(&self, uri: &'r Uri, _: &'r Extensions) -> Option<&'r str> {
///         match uri.path() {
///             "/" => Some("/"),
///             p if p.starts_with("/users/") => Some("/users/{id}"),
///             _ => None,
///         }
///     }
/// }
/// let uri: Uri = "/users/42".parse().unwrap();
/// assert_eq!(FirstSegment.route(&uri, &Extensions::new()), Some("/users/{id}"));
/// ```
pub trait RouteExtractor: Clone + Send + Sync + 'static {
    /// The template of the route that serves this request, if any.
    fn route<'r>(&self, uri: &'r Uri, extensions: &'r Extensions) -> Option<&'r str>;

    /// Whether to look for axum's `MatchedPath` first (see
    /// [`AxumMatchedPath`]); other extractors keep the default `false`.
    #[doc(hidden)]
    fn uses_matched_path(&self) -> bool {
        false
    }
}

/// Reads axum's [`MatchedPath`](axum::extract::MatchedPath), which axum sets
/// before middleware added with `Router::layer` runs. Requests that reach the
/// fallback (no route matched) have none, and count as unmatched.
///
/// ```
/// use redline::http::{AxumMatchedPath, RouteExtractor};
/// let uri: http::Uri = "/users/42".parse().unwrap();
/// assert_eq!(AxumMatchedPath.route(&uri, &http::Extensions::new()), None);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AxumMatchedPath;

impl RouteExtractor for AxumMatchedPath {
    #[inline]
    fn route<'r>(&self, _uri: &'r Uri, extensions: &'r Extensions) -> Option<&'r str> {
        extensions
            .get::<axum::extract::MatchedPath>()
            .map(|p| p.as_str())
    }

    /// The layer then maps the `MatchedPath` to its route id by the address
    /// of its shared string, without reading the string (see
    /// `HttpMetricsInner::matched_path_id`).
    fn uses_matched_path(&self) -> bool {
        true
    }
}

/// A route function over the URI, for plain hyper services and tonic: it maps
/// a request to one of a fixed set of `'static` templates.
///
/// For tonic, the gRPC path `/package.Service/Method` is the natural route;
/// list the methods you serve so unknown paths stay unmatched:
///
/// ```
/// use redline::http::{RouteExtractor, RouteFn};
/// const METHODS: &[&str] = &["/chat.Bot/Send", "/chat.Bot/History"];
/// let grpc = RouteFn(|uri: &http::Uri| METHODS.iter().copied().find(|m| *m == uri.path()));
/// let uri: http::Uri = "/chat.Bot/Send".parse().unwrap();
/// assert_eq!(grpc.route(&uri, &http::Extensions::new()), Some("/chat.Bot/Send"));
/// let junk: http::Uri = "/x.Y/Z".parse().unwrap();
/// assert_eq!(grpc.route(&junk, &http::Extensions::new()), None);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RouteFn<F>(pub F);

impl<F> RouteExtractor for RouteFn<F>
where
    F: Fn(&Uri) -> Option<&'static str> + Clone + Send + Sync + 'static,
{
    #[inline]
    fn route<'r>(&self, uri: &'r Uri, _extensions: &'r Extensions) -> Option<&'r str> {
        (self.0)(uri)
    }
}
