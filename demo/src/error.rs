//! The demo's JSON error responses. A refusal of client input answers
//! with a fixed message per code in production mode (never the input, a
//! position in it, or a Rust type name); under `REDLINE_ENV=development`
//! with the details, masked by the telemetry's redactor ([`Disclosure`]).

use std::fmt::Display;

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered as `{"error": code, "message": text}`.
///
/// ```
/// use axum::response::IntoResponse;
/// let e = redline_demo::ApiError::new(axum::http::StatusCode::BAD_REQUEST, "bad", "no");
/// assert_eq!(e.into_response().status(), 400);
/// ```
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with a status, a stable machine-readable code and a message.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use axum::response::IntoResponse;
    /// use http_body_util::BodyExt;
    /// let e = redline_demo::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such chat");
    /// let response = e.into_response();
    /// assert_eq!(response.status(), 404);
    /// let body = response.into_body().collect().await.unwrap().to_bytes();
    /// assert_eq!(body, r#"{"error":"not_found","message":"no such chat"}"#);
    /// # });
    /// ```
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The machine-readable code (`invalid_message`...).
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// Maps axum's JSON rejections (bad syntax, wrong shape, missing content
    /// type, body too large) to JSON errors with the same status.
    pub(crate) fn from_json_rejection(rejection: JsonRejection, disclosure: &Disclosure) -> Self {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
            _ => "invalid_json",
        };
        let message = match code {
            "invalid_body" => "the body does not have the expected fields and types",
            _ => public_message(code),
        };
        disclosure.refuse(rejection.status(), code, message, rejection.body_text())
    }

    /// Maps a raw-body rejection (too large, read error).
    pub(crate) fn from_bytes_rejection(rejection: BytesRejection, disclosure: &Disclosure) -> Self {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "invalid_body"
        };
        let message = match code {
            "invalid_body" => "the request body could not be read",
            _ => public_message(code),
        };
        disclosure.refuse(rejection.status(), code, message, rejection.body_text())
    }
}

/// The fixed message of a code, for production mode.
fn public_message(code: &str) -> &'static str {
    match code {
        "invalid_path" => "the path parameter is not valid",
        "invalid_json" => "the body is not valid JSON",
        "invalid_body" => "the body does not have the expected fields and types",
        "body_too_large" => "the body is larger than the limit",
        "unsupported_media_type" => "the body must be JSON (Content-Type: application/json)",
        _ => "the request is not valid",
    }
}

/// How much of a refusal the client reads: the fixed message (production
/// mode, the default) or the details, masked (`REDLINE_ENV=development`).
#[derive(Clone, Default)]
pub(crate) struct Disclosure {
    /// The redactor for the details, in development mode only.
    development: Option<redline::redact::Redactor>,
}

impl Disclosure {
    /// The disclosure the telemetry's configuration asks for.
    pub(crate) fn new(telemetry: &redline::Telemetry) -> Self {
        Self {
            development: telemetry
                .config()
                .hardening
                .development
                .then(|| telemetry.redactor().clone()),
        }
    }

    /// A refusal with the code's fixed message, or in development mode
    /// `detail`, masked and bounded to 512 characters.
    pub(crate) fn refuse(
        &self,
        status: StatusCode,
        code: &'static str,
        fixed: impl Into<String>,
        detail: impl Display,
    ) -> ApiError {
        let Some(redactor) = &self.development else {
            return ApiError::new(status, code, fixed);
        };
        let detail = detail.to_string();
        let masked = redactor.redact(&detail);
        let mut bounded: String = masked.chars().take(512).collect();
        if bounded.len() < masked.len() {
            bounded.push('…');
        }
        ApiError::new(status, code, bounded)
    }

    /// As [`Disclosure::refuse`] with the code's standard fixed message.
    pub(crate) fn refuse_standard(
        &self,
        status: StatusCode,
        code: &'static str,
        detail: impl Display,
    ) -> ApiError {
        self.refuse(status, code, public_message(code), detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            message: &self.message,
        };
        (self.status, Json(body)).into_response()
    }
}
