//! The demo's built-in traffic generator: a paced mix of requests over every
//! route, mostly successful, with a realistic share of 4xx. Like any client,
//! it reads a chat's history with the token its own `POST /messages` (or
//! `POST /batch`) got when it created the chat.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, watch};

/// Requests in flight at most; beyond that, ticks are skipped (and counted)
/// instead of piling up tasks when the server is slow.
const MAX_IN_FLIGHT: usize = 256;

/// Most chat tokens remembered (the mix uses 50 chats).
const MAX_TOKENS: usize = 1024;

/// Chat tokens, by chat id, from the generator's own answers.
type Tokens = Arc<Mutex<HashMap<u64, String>>>;

/// Remembers the tokens in an answer to `POST /messages` (`chat_id` and
/// `token`) or `POST /batch` (`tokens`, by chat id).
fn remember(tokens: &Tokens, body: &[u8]) {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let mut found = Vec::new();
    if let (Some(chat), Some(token)) = (answer["chat_id"].as_u64(), answer["token"].as_str()) {
        found.push((chat, token.to_owned()));
    }
    if let Some(map) = answer["tokens"].as_object() {
        for (chat, token) in map {
            if let (Ok(chat), Some(token)) = (chat.parse::<u64>(), token.as_str()) {
                found.push((chat, token.to_owned()));
            }
        }
    }
    let mut tokens = tokens.lock().unwrap_or_else(PoisonError::into_inner);
    for (chat, token) in found {
        if tokens.len() < MAX_TOKENS || tokens.contains_key(&chat) {
            tokens.insert(chat, token);
        }
    }
}

/// Counts of what the generator sent.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// # use redline_demo::{Demo, DemoOptions};
/// # let mut options = DemoOptions { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
/// # options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
/// use std::sync::atomic::Ordering::Relaxed;
/// let demo = Demo::start(options).await.unwrap(); // load_rps 0: no generator
/// let stats: &redline_demo::LoadStats = demo.load_stats();
/// let total = stats.sent.load(Relaxed) + stats.failed.load(Relaxed) + stats.skipped.load(Relaxed);
/// assert_eq!(total, 0);
/// demo.shutdown().await;
/// # });
/// ```
#[derive(Debug, Default)]
pub struct LoadStats {
    /// Requests that got a response.
    pub sent: AtomicU64,
    /// Requests that failed at the transport level.
    pub failed: AtomicU64,
    /// Ticks skipped because too many requests were in flight.
    pub skipped: AtomicU64,
}

/// One request of the mix: method, path, body, content type.
fn pick(n: u64) -> (hyper::Method, String, Bytes, &'static str) {
    use hyper::Method;
    let json = "application/json";
    let chat = n % 50;
    match n % 100 {
        0..=29 => (Method::GET, "/hello".into(), Bytes::new(), ""),
        30..=49 => (
            Method::POST,
            "/messages".into(),
            Bytes::from(format!(r#"{{"chat_id":{chat},"text":"hello number {n}"}}"#)),
            json,
        ),
        50..=57 => (
            Method::POST,
            "/messages".into(),
            Bytes::from(format!(r#"{{"chat_id":{chat},"text":"/roll 20"}}"#)),
            json,
        ),
        58..=59 => (
            Method::POST,
            "/messages".into(),
            Bytes::from(format!(r#"{{"chat_id":{chat},"text":"/frobnicate"}}"#)),
            json,
        ),
        // A healthy client mix: mistakes users make (an unknown command,
        // a missing page) but no malformed input, which counts as a
        // security event (`input_validation_fail`) and would raise the
        // validation-failure alert under the demo's steady load.
        60 => (
            Method::POST,
            "/messages".into(),
            Bytes::from(format!(r#"{{"chat_id":{chat},"text":"/help"}}"#)),
            json,
        ),
        // Chats 50 to 59 were never written to by the generator: no
        // token, a 404.
        61..=70 => (
            Method::GET,
            format!("/conversations/{}", n % 60),
            Bytes::new(),
            "",
        ),
        71..=75 => (
            Method::POST,
            "/media".into(),
            Bytes::from(vec![0x89; 512 + (n % 4096) as usize]),
            "application/octet-stream",
        ),
        76..=80 => (
            Method::POST,
            "/batch".into(),
            Bytes::from(format!(
                r#"[{{"chat_id":{chat},"text":"one"}},{{"chat_id":{chat},"text":"/echo two"}}]"#
            )),
            json,
        ),
        81..=97 => (
            Method::GET,
            format!("/groups/{}/members", n % 1100 + 1),
            Bytes::new(),
            "",
        ),
        _ => (Method::GET, format!("/no/such/page/{n}"), Bytes::new(), ""),
    }
}

/// Sends about `rps` requests per second to `target` until `stop` turns true.
pub(crate) async fn run(
    target: SocketAddr,
    rps: u32,
    stats: Arc<LoadStats>,
    mut stop: watch::Receiver<bool>,
) {
    if rps == 0 {
        return;
    }
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build_http();
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let tokens: Tokens = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rps)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        n = n.wrapping_add(1);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let (method, path, body, content_type) = pick(n.wrapping_mul(2654435761) % 1_000_003);
        let posted = method == hyper::Method::POST;
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{target}{path}"));
        if !content_type.is_empty() {
            builder = builder.header(hyper::header::CONTENT_TYPE, content_type);
        }
        let chat = path
            .strip_prefix("/conversations/")
            .and_then(|id| id.parse::<u64>().ok());
        if let Some(chat) = chat {
            let known = tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&chat)
                .cloned();
            if let Some(token) = known {
                builder = builder.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
            }
        }
        let Ok(request) = builder.body(Full::new(body)) else {
            continue;
        };
        let client = client.clone();
        let stats = stats.clone();
        let tokens = tokens.clone();
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(Duration::from_secs(70), async {
                let response = client.request(request).await?;
                let ok = response.status().is_success();
                let body = http_body_util::BodyExt::collect(response.into_body()).await?;
                if posted && ok {
                    remember(&tokens, &body.to_bytes());
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
            .await;
            match outcome {
                Ok(Ok(())) => stats.sent.fetch_add(1, Ordering::Relaxed),
                _ => stats.failed.fetch_add(1, Ordering::Relaxed),
            };
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_mix_covers_every_route() {
        let paths: std::collections::HashSet<String> = (0..100)
            .map(|n| {
                let p = super::pick(n).1;
                p.split('/').nth(1).unwrap_or("").to_owned()
            })
            .collect();
        for route in [
            "hello",
            "messages",
            "conversations",
            "media",
            "batch",
            "groups",
            "no",
        ] {
            assert!(paths.contains(route), "{route} missing from the mix");
        }
    }

    #[test]
    fn tokens_are_remembered_from_both_answers() {
        let tokens = super::Tokens::default();
        super::remember(&tokens, br#"{"chat_id":3,"reply":"x","token":"aa"}"#);
        super::remember(
            &tokens,
            br#"{"processed":1,"failed":[],"tokens":{"4":"bb"}}"#,
        );
        super::remember(&tokens, br#"{"chat_id":5,"reply":"x"}"#);
        super::remember(&tokens, b"not json");
        let tokens = tokens.lock().unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!((tokens[&3].as_str(), tokens[&4].as_str()), ("aa", "bb"));
    }
}
