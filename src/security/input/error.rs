//! Why an input was refused: [`InputError`] (the typed reason, with its
//! status and stable code) and [`InputRejection`] (what the client gets,
//! without repeating its input in production).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why an input was refused; answered as
/// `{"error": code, "message": text}` with [`InputError::status`].
///
/// ```
/// use redline::security::InputError;
/// let e = InputError::TooDeep { limit: 32 };
/// assert_eq!((e.status().as_u16(), e.code()), (400, "json_too_deep"));
/// assert_eq!(e.to_string(), "JSON nested deeper than 32 levels");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The request has no JSON `Content-Type`.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The body is larger than the limit.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read (the client went away or sent a broken
    /// chunked encoding).
    #[error("the request body could not be read")]
    Body,
    /// The body is not UTF-8.
    #[error("body is not valid UTF-8 (byte {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// Arrays and objects nested deeper than the limit.
    #[error("JSON nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// Not JSON.
    #[error("malformed JSON at line {line}, column {column}")]
    Syntax {
        /// Line of the error (from 1).
        line: usize,
        /// Column of the error (from 1).
        column: usize,
    },
    /// JSON of the wrong shape, or a value the application refused.
    #[error("{0}")]
    Invalid(String),
}

impl InputError {
    /// The HTTP status: 400, 413, 415 or 422.
    ///
    /// ```
    /// use redline::security::InputError;
    /// assert_eq!(InputError::Invalid("x".into()).status(), 422);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            InputError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            InputError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            InputError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            InputError::Body
            | InputError::NotUtf8 { .. }
            | InputError::TooDeep { .. }
            | InputError::Syntax { .. } => StatusCode::BAD_REQUEST,
        }
    }

    /// The stable, machine-readable code of the JSON error.
    ///
    /// ```
    /// use redline::security::InputError;
    /// assert_eq!(InputError::Syntax { line: 1, column: 2 }.code(), "invalid_json");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            InputError::UnsupportedMediaType => "unsupported_media_type",
            InputError::TooLarge { .. } => "body_too_large",
            InputError::Body => "invalid_body",
            InputError::NotUtf8 { .. } => "invalid_utf8",
            InputError::TooDeep { .. } => "json_too_deep",
            InputError::Syntax { .. } => "invalid_json",
            InputError::Invalid(_) => "invalid_input",
        }
    }

    /// The fixed message of this error's code, for clients in production
    /// mode: it never quotes the input.
    ///
    /// ```
    /// use redline::security::InputError;
    /// let e = InputError::invalid(r#"invalid type: string "j@x.io", expected u64"#);
    /// assert_eq!(e.public_message(), "the body does not have the expected fields and types");
    /// assert_eq!(InputError::Syntax { line: 1, column: 9 }.public_message(), "the body is not valid JSON");
    /// ```
    pub fn public_message(&self) -> &'static str {
        match self {
            InputError::UnsupportedMediaType => {
                "the body must be JSON (Content-Type: application/json)"
            }
            InputError::TooLarge { .. } => "the body is larger than the limit",
            InputError::Body => "the request body could not be read",
            InputError::NotUtf8 { .. } => "the body is not valid UTF-8",
            InputError::TooDeep { .. } => "the body's JSON is nested too deeply",
            InputError::Syntax { .. } => "the body is not valid JSON",
            InputError::Invalid(_) => "the body does not have the expected fields and types",
        }
    }

    /// A refusal by the application (422), its message bounded to 256
    /// characters and masked.
    ///
    /// ```
    /// let e = redline::security::InputError::invalid("quantity must be 1 to 99");
    /// assert_eq!(e.status(), 422);
    /// ```
    pub fn invalid(message: impl AsRef<str>) -> Self {
        let masked = crate::redact::Redactor::default()
            .redact(message.as_ref())
            .into_owned();
        let mut bounded: String = masked.chars().take(256).collect();
        if bounded.len() < masked.len() {
            bounded.push('…');
        }
        InputError::Invalid(bounded)
    }
}

/// Answers with the error's own message: for refusals the application
/// writes itself ([`InputError::invalid`]). [`ValidJson`](super::ValidJson) answers with an
/// [`InputRejection`], whose message is fixed in production mode.
impl IntoResponse for InputError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}

/// A body [`ValidJson`](super::ValidJson) refused: the [`InputError`], answered as
/// `{"error": code, "message": text}` where the text is the code's fixed
/// [`InputError::public_message`] in production mode, and the error's
/// details (masked) under `REDLINE_ENV=development`.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use axum::{Router, routing::post};
/// use http_body_util::BodyExt;
/// use redline::security::ValidJson;
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize)]
/// struct Order { quantity: u32 }
/// async fn order(ValidJson(o): ValidJson<Order>) -> String { o.quantity.to_string() }
///
/// let t = redline::Telemetry::builder().build().unwrap(); // production mode
/// let app = t.instrument(Router::new().route("/orders", post(order)));
/// let request = http::Request::post("/orders")
///     .header("content-type", "application/json")
///     .body(axum::body::Body::from(r#"{"quantity":"john@example.com"}"#))
///     .unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 422);
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(body, r#"{"error":"invalid_input","message":"the body does not have the expected fields and types"}"#);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRejection {
    pub(super) error: InputError,
    pub(super) detailed: bool,
}

impl InputRejection {
    /// What was wrong.
    ///
    /// ```
    /// # fn f(rejection: redline::security::InputRejection) {
    /// let code = rejection.error().code();
    /// # let _ = code;
    /// # }
    /// ```
    pub fn error(&self) -> &InputError {
        &self.error
    }

    /// The text the client gets: the fixed message in production mode,
    /// the (masked) details in development mode.
    ///
    /// ```
    /// # fn f(rejection: redline::security::InputRejection) {
    /// println!("{}", rejection.message());
    /// # }
    /// ```
    pub fn message(&self) -> String {
        if self.detailed {
            self.error.to_string()
        } else {
            self.error.public_message().to_owned()
        }
    }
}

impl From<InputRejection> for InputError {
    fn from(rejection: InputRejection) -> Self {
        rejection.error
    }
}

impl std::fmt::Display for InputRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for InputRejection {}

impl IntoResponse for InputRejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.error.code(), "message": self.message() });
        (self.error.status(), Json(body)).into_response()
    }
}
