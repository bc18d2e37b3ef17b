//! The application under every mode: one route, `GET /hello`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// `PEER_ERROR_EVERY=N` (N ≥ 1): every N-th request fails; unset, empty or
/// 0: none do.
pub fn error_every_from_env() -> Option<u64> {
    let value = std::env::var("PEER_ERROR_EVERY").ok()?;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match value.parse::<u64>() {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(_) => {
            eprintln!("PEER_ERROR_EVERY must be a whole number, got {value:?}");
            std::process::exit(2);
        }
    }
}

/// `GET /hello` answering "hello\n"; with `error_every`, every N-th answers
/// 500 "error\n" instead. Without it the handler is the plain closure, so
/// the `bare` figure has no counter in it.
pub fn router(error_every: Option<u64>) -> Router {
    match error_every {
        None => Router::new().route("/hello", get(|| async { "hello\n" })),
        Some(every) => {
            let served = Arc::new(AtomicU64::new(0));
            Router::new().route(
                "/hello",
                get(move || {
                    let n = served.fetch_add(1, Ordering::Relaxed) + 1;
                    async move { answer(n, every) }
                }),
            )
        }
    }
}

/// The `n`-th answer (from 1) when every `every`-th fails.
fn answer(n: u64, every: u64) -> Response {
    if n.is_multiple_of(every) {
        (StatusCode::INTERNAL_SERVER_ERROR, "error\n").into_response()
    } else {
        "hello\n".into_response()
    }
}
