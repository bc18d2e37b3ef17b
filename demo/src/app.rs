//! The demo's HTTP API (axum), instrumented with redline's layer.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::bot::{BatchReport, Bot, Message, Reply};
use super::error::{ApiError, Disclosure};
use super::faults::{self, Faults};
use super::media::{MediaCache, MediaInfo};
use super::refusal::BotError;
use redline::Telemetry;
use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker};
use redline::security::{InputReporter, ValidJson};

/// What the handlers share.
#[derive(Clone)]
struct AppState {
    bot: Arc<Bot>,
    errors: ErrorTracker,
    /// Fixed error messages, or the details in development mode.
    disclosure: Disclosure,
}

/// Largest accepted request body (JSON and media): 1 MiB.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::ServiceExt;
/// let t = redline::Telemetry::builder().build().unwrap();
/// let app = redline_demo::router(&t, redline_demo::Faults::default());
/// let big = vec![0u8; redline_demo::MAX_BODY_BYTES + 1];
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
/// let app = redline_demo::router(&t, redline_demo::Faults::default());
/// # let _ = app;
/// ```
pub fn router(telemetry: &Telemetry, faults: Faults) -> Router {
    let state = AppState {
        bot: Arc::new(
            Bot::new(&telemetry.operations())
                .with_media_cache(MediaCache::new(telemetry.caches().cache("media_info"))),
        ),
        errors: telemetry.errors().clone(),
        disclosure: Disclosure::new(telemetry),
    };
    let router = Router::new()
        .route("/hello", get(hello))
        .route("/messages", post(post_message))
        .route("/conversations/{id}", get(get_conversation))
        .route("/media", post(post_media))
        .route("/batch", post(post_batch))
        .route("/groups/{id}/members", get(group_members))
        .fallback(not_found)
        .with_state(state)
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

/// A bot refusal: its fixed message (which never quotes the input), or in
/// development mode its detail, masked.
fn bot_error(e: BotError, disclosure: &Disclosure) -> ApiError {
    let (status, code) = match &e {
        BotError::UnknownCommand(_) => (StatusCode::BAD_REQUEST, "unknown_command"),
        BotError::InvalidCommandName => (StatusCode::BAD_REQUEST, "invalid_command"),
        BotError::NoSuchGroup(_) => (StatusCode::NOT_FOUND, "not_found"),
        BotError::BatchSize | BotError::EmptyMedia => (StatusCode::BAD_REQUEST, "invalid_body"),
        BotError::TextLength | BotError::ControlCharacter | BotError::InvalidArguments(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_message")
        }
    };
    disclosure.refuse(status, code, e.to_string(), e.detail())
}

/// A refused message. Input that breaks the message grammar (length,
/// control characters, command name) is a validation failure: an
/// `input_validation_fail` event and an error-tracker sample (category
/// `validation`, the text as a field, masked like every sample). An
/// unknown command or wrong arguments are ordinary user mistakes: only
/// the JSON error.
fn refused(
    state: &AppState,
    reporter: &InputReporter,
    route: &str,
    text: &str,
    e: BotError,
) -> ApiError {
    let grammar = matches!(
        e,
        BotError::TextLength | BotError::ControlCharacter | BotError::InvalidCommandName
    );
    if grammar {
        state.errors.capture(
            &e,
            ErrorContext::new(ErrorCategory::Validation)
                .route(route)
                .field("text", text),
        );
    }
    let answer = bot_error(e, &state.disclosure);
    if grammar {
        reporter.report(answer.code());
    }
    answer
}

/// A path parameter that does not parse: axum's text quotes it and names
/// the Rust type, so only development mode shows it (masked).
fn path_error(rejection: PathRejection, disclosure: &Disclosure) -> ApiError {
    disclosure.refuse_standard(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        rejection.body_text(),
    )
}

async fn post_message(
    State(state): State<AppState>,
    fault: Option<axum::Extension<faults::FaultDue>>,
    reporter: InputReporter,
    ValidJson(message): ValidJson<Message>,
) -> Result<Json<Reply>, Response> {
    // A fault chosen for this request: the store fails for this chat.
    if fault.is_some() {
        return Err(faults::injected_response(Some(message.chat_id)));
    }
    // A span with the text (exported through the tracing layer) and a
    // debug line with it: both masked by redline, like everything a bot
    // would log about its users' messages.
    let span = tracing::info_span!(
        target: "redline::demo",
        "bot.message",
        chat_id = message.chat_id,
        text = %message.text
    );
    let _entered = span.enter();
    tracing::debug!(target: "redline::demo", text = %message.text, "message received");
    let text = message.text.clone();
    state
        .bot
        .handle(message)
        .map(Json)
        .map_err(|e| refused(&state, &reporter, "/messages", &text, e).into_response())
}

/// A chat's history, for the holder of its token (`Authorization: Bearer
/// <token>`, the token `POST /messages` gave when it created the chat). An
/// unknown chat and a missing or wrong token get the same 404, so the
/// answer does not tell which chats exist.
async fn get_conversation(
    State(AppState {
        bot, disclosure, ..
    }): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(|r| path_error(r, &disclosure))?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match bot.conversation(id, token.trim()) {
        Some(messages) => Ok(Json(json!({ "chat_id": id, "messages": messages }))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no conversation with this id and token (send the token POST /messages gave as Authorization: Bearer <token>)",
        )),
    }
}

async fn post_media(
    State(AppState {
        bot, disclosure, ..
    }): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<MediaInfo>, ApiError> {
    let body = body.map_err(|r| ApiError::from_bytes_rejection(r, &disclosure))?;
    bot.media(&body)
        .map(Json)
        .map_err(|e| bot_error(e, &disclosure))
}

async fn post_batch(
    State(AppState {
        bot, disclosure, ..
    }): State<AppState>,
    reporter: InputReporter,
    ValidJson(messages): ValidJson<Vec<Message>>,
) -> Result<Json<BatchReport>, ApiError> {
    bot.batch(messages).map(Json).map_err(|e| {
        // An empty or oversized batch breaks the request's grammar.
        let answer = bot_error(e, &disclosure);
        reporter.report(answer.code());
        answer
    })
}

async fn group_members(
    State(AppState {
        bot, disclosure, ..
    }): State<AppState>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(|r| path_error(r, &disclosure))?;
    let members = bot
        .group_members(id)
        .map_err(|e| bot_error(e, &disclosure))?;
    Ok(Json(json!({ "group_id": id, "members": members })))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}
