//! The demo's HTTP API (axum), instrumented with redline's layer.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::bot::{BatchReport, Bot, BotError, MediaInfo, Message, Reply};
use super::error::ApiError;
use super::faults::{self, Faults};
use crate::Telemetry;

/// Largest accepted request body (JSON and media): 1 MiB.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::ServiceExt;
/// let t = redline::Telemetry::builder().build().unwrap();
/// let app = redline::demo::router(&t, redline::demo::Faults::default());
/// let big = vec![0u8; redline::demo::MAX_BODY_BYTES + 1];
/// let request = http::Request::post("/media").body(axum::body::Body::from(big)).unwrap();
/// assert_eq!(app.oneshot(request).await.unwrap().status(), 413);
/// # });
/// ```
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Builds the demo's router: the bot routes, a JSON 404 fallback, fault
/// injection, a body limit, redline's HTTP layer, and the hardening layers
/// (request ids, security headers, body limit, timeout, CORS) outermost.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let app = redline::demo::router(&t, redline::demo::Faults::default());
/// # let _ = app;
/// ```
pub fn router(telemetry: &Telemetry, faults: Faults) -> Router {
    let bot = Arc::new(Bot::new(&telemetry.operations()));
    let router = Router::new()
        .route("/hello", get(hello))
        .route("/messages", post(post_message))
        .route("/conversations/{id}", get(get_conversation))
        .route("/media", post(post_media))
        .route("/batch", post(post_batch))
        .route("/groups/{id}/members", get(group_members))
        .fallback(not_found)
        .with_state(bot)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(faults, faults::inject));
    telemetry.instrument(router)
}

async fn hello() -> &'static str {
    // At debug: with `REDLINE_LOG=info,redline::demo=debug` this line shows
    // the request and trace ids every line inside a request carries.
    tracing::debug!(target: "redline::demo", "saying hello");
    "hello\n"
}

fn bot_error(e: BotError) -> ApiError {
    let (status, code) = match &e {
        BotError::UnknownCommand(_) => (StatusCode::BAD_REQUEST, "unknown_command"),
        BotError::NoSuchGroup(_) => (StatusCode::NOT_FOUND, "not_found"),
        BotError::BatchSize | BotError::EmptyMedia => (StatusCode::BAD_REQUEST, "invalid_body"),
        BotError::TextLength | BotError::InvalidArguments(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_message")
        }
    };
    ApiError::new(status, code, e.to_string())
}

fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        rejection.body_text(),
    )
}

async fn post_message(
    State(bot): State<Arc<Bot>>,
    body: Result<Json<Message>, JsonRejection>,
) -> Result<Json<Reply>, ApiError> {
    let Json(message) = body.map_err(ApiError::from_json_rejection)?;
    bot.handle(message).map(Json).map_err(bot_error)
}

async fn get_conversation(
    State(bot): State<Arc<Bot>>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    match bot.conversation(id) {
        Some(messages) => Ok(Json(json!({ "chat_id": id, "messages": messages }))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("conversation {id} does not exist"),
        )),
    }
}

async fn post_media(
    State(bot): State<Arc<Bot>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<MediaInfo>, ApiError> {
    let body = body.map_err(ApiError::from_bytes_rejection)?;
    bot.media(&body).map(Json).map_err(bot_error)
}

async fn post_batch(
    State(bot): State<Arc<Bot>>,
    body: Result<Json<Vec<Message>>, JsonRejection>,
) -> Result<Json<BatchReport>, ApiError> {
    let Json(messages) = body.map_err(ApiError::from_json_rejection)?;
    bot.batch(messages).map(Json).map_err(bot_error)
}

async fn group_members(
    State(bot): State<Arc<Bot>>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let members = bot.group_members(id).map_err(bot_error)?;
    Ok(Json(json!({ "group_id": id, "members": members })))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
