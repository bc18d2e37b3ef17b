//! The cause of a failure, kept for the error tracker before a response is
//! sanitized: the error's message and its `source()` chain.

use std::error::Error;
use std::fmt::Write as _;

use super::bounded::{BoundedWriter, drop_partial_token};

/// Most causes followed down a `source()` chain.
pub(crate) const MAX_CHAIN: usize = 8;
/// Most bytes of each message formatted (redaction sees whole values; the
/// sample keeps less).
const MAX_INPUT: usize = 4 * 1024;

/// `error`'s `Display`, at most 4 KiB of it.
pub(crate) fn message_of(error: &(dyn Error + '_)) -> String {
    let mut out = BoundedWriter::new(MAX_INPUT);
    // Stops early (with an error) at the bound.
    let _ = write!(out, "{error}");
    let BoundedWriter { text, cut, .. } = out;
    if cut {
        drop_partial_token(&text).to_owned()
    } else {
        text
    }
}

/// The messages of a chain of sources starting at `first` (an error's
/// `source()`), outermost first, at most 8.
pub(crate) fn chain_from(first: Option<&(dyn Error + 'static)>) -> Vec<String> {
    let mut chain = Vec::new();
    let mut next = first;
    while let Some(cause) = next {
        if chain.len() == MAX_CHAIN {
            break;
        }
        chain.push(message_of(cause));
        next = cause.source();
    }
    chain
}

/// Why a response failed, for the error tracker: insert it into the
/// extensions of a 5xx response and redline's HTTP layer records it with the
/// request's error sample (redacted and bounded there), then removes it.
/// Without one, the layer records the first 2 KiB of the 5xx body as the
/// cause. Either way this is captured before production mode replaces the
/// body the client sees.
///
/// Its `Debug` output shows no text: the message is raw until the tracker
/// masks it.
///
/// ```
/// use axum::response::IntoResponse;
/// use redline::errors::ErrorCause;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("could not load order")]
/// struct LoadError(#[source] std::io::Error);
///
/// let error = LoadError(std::io::Error::other("connection refused by 10.0.0.5:5432"));
/// let mut response = (http::StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
/// response.extensions_mut().insert(ErrorCause::from_error(&error));
/// let cause = response.extensions().get::<ErrorCause>().unwrap();
/// assert_eq!(cause.message(), "could not load order");
/// assert_eq!(cause.chain(), ["connection refused by 10.0.0.5:5432"]);
/// assert_eq!(format!("{cause:?}"), "ErrorCause { .. }");
/// ```
#[derive(Clone)]
pub struct ErrorCause {
    message: String,
    chain: Vec<String>,
}

impl ErrorCause {
    /// A cause given as text, with no chain.
    ///
    /// ```
    /// let cause = redline::errors::ErrorCause::new("db pool exhausted");
    /// assert_eq!((cause.message(), cause.chain().len()), ("db pool exhausted", 0));
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_INPUT {
            let end = (0..=MAX_INPUT)
                .rev()
                .find(|&i| message.is_char_boundary(i))
                .unwrap_or(0);
            message.truncate(end);
        }
        Self {
            message,
            chain: Vec::new(),
        }
    }

    /// `error`'s message and the messages of its `source()` chain (at most
    /// 8, at most 4 KiB each).
    pub fn from_error(error: &(dyn Error + '_)) -> Self {
        Self {
            message: message_of(error),
            chain: chain_from(error.source()),
        }
    }

    /// The message (raw: the tracker masks it).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The sources' messages, outermost first (raw).
    pub fn chain(&self) -> &[String] {
        &self.chain
    }
}

impl std::fmt::Debug for ErrorCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorCause { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layered(u32);

    impl std::fmt::Display for Layered {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "layer {}", self.0)
        }
    }

    impl Error for Layered {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            // An endless chain: each layer is its own source.
            Some(Box::leak(Box::new(Layered(self.0 + 1))))
        }
    }

    #[test]
    fn chains_and_messages_are_bounded() {
        let chain = chain_from(Layered(0).source());
        assert_eq!(chain.len(), MAX_CHAIN);
        assert_eq!(chain[0], "layer 1");
        let long = ErrorCause::new("é".repeat(10_000));
        assert!(long.message().len() <= MAX_INPUT);
        let huge = std::io::Error::other("x ".repeat(100_000));
        assert!(message_of(&huge).len() <= MAX_INPUT);
    }
}
