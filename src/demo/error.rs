//! The demo's JSON error responses.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered as `{"error": code, "message": text}`.
///
/// ```
/// use axum::response::IntoResponse;
/// let e = redline::demo::ApiError::new(axum::http::StatusCode::BAD_REQUEST, "bad", "no");
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
    /// let e = redline::demo::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such chat");
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
    pub(crate) fn from_json_rejection(rejection: JsonRejection) -> Self {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_message",
            _ => "invalid_json",
        };
        Self::new(rejection.status(), code, rejection.body_text())
    }

    /// Maps a raw-body rejection (too large, read error).
    pub(crate) fn from_bytes_rejection(rejection: BytesRejection) -> Self {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "invalid_body"
        };
        Self::new(rejection.status(), code, rejection.body_text())
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
