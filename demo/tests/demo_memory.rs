//! The demo's conversation store over real HTTP: its memory stays within
//! its byte budget however much text clients send, and a chat's history
//! is readable only with the chat's own token.

mod common;

use std::time::{Duration, Instant};

use common::*;
use redline_demo::{CHAT_BUDGET_BYTES, MEMORY_BUDGET_BYTES};

const MIB: f64 = 1024.0 * 1024.0;

/// Resident set size of a process, in bytes (Linux `/proc`).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024
}

async fn post_message(c: &HttpClient, api: &str, chat_id: u64, text: &str) -> serde_json::Value {
    let body = serde_json::json!({ "chat_id": chat_id, "text": text }).to_string();
    let url = format!("{api}/messages");
    let (status, reply) = send_as(
        c,
        "POST",
        &url,
        body.as_bytes(),
        Some("application/json"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    serde_json::from_str(&reply).unwrap()
}

/// Sends messages `from..to` of 4,096 characters to chats `n % chats`, on
/// 4 connections.
async fn drive(c: &HttpClient, api: &str, from: u64, to: u64, chats: u64) {
    let mut tasks = Vec::new();
    for worker in 0..4u64 {
        let (c, api) = (c.clone(), api.to_owned());
        tasks.push(tokio::spawn(async move {
            let text = format!("{worker}").repeat(4096);
            for n in (from + worker..to).step_by(4) {
                post_message(&c, &api, n % chats, &text).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The store's byte count, from the `/stats` command's answer
/// (`N conversations in B of BUDGET bytes, …`).
async fn store_bytes(c: &HttpClient, api: &str) -> usize {
    let reply = post_message(c, api, 0, "/stats").await;
    let text = reply["reply"].as_str().unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(
        words.get(5),
        Some(&MEMORY_BUDGET_BYTES.to_string().as_str()),
        "{text}"
    );
    words[3].parse().unwrap()
}

/// 12,000 messages of 4 KiB (48 MiB of text; before the byte budget the
/// demo kept 40 MiB of it) over 200 chats: the store's own count stays
/// within its budget, and the process's RSS grows by at most the budget
/// plus room for allocator fragmentation and the server's buffers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_within_the_byte_budget() {
    let (mut child, api, _admin) = start_binary(&[], &[]);
    let pid = child.id();
    let c = client();
    let started = Instant::now();
    // Warm up: the first requests allocate buffers, pools, metric series.
    drive(&c, &api, 0, 200, 4).await;
    let before = rss_bytes(pid);
    drive(&c, &api, 0, 5_000, 200).await;
    let at_5000 = rss_bytes(pid);
    drive(&c, &api, 5_000, 12_000, 200).await;
    let after = rss_bytes(pid);
    eprintln!(
        "RSS {:.1} MiB, after 5,000 messages {:.1} MiB, after 12,000 {:.1} MiB (+{:.1} MiB); {:?}",
        before as f64 / MIB,
        at_5000 as f64 / MIB,
        after as f64 / MIB,
        after.saturating_sub(before) as f64 / MIB,
        started.elapsed()
    );
    let bytes = store_bytes(&c, &api).await;
    eprintln!("the store counts {:.1} MiB", bytes as f64 / MIB);
    assert!(bytes <= MEMORY_BUDGET_BYTES, "{bytes}");
    assert!(
        bytes > MEMORY_BUDGET_BYTES - 2 * CHAT_BUDGET_BYTES,
        "the store is full, not emptied: {bytes}"
    );
    let slack = 12 * 1024 * 1024;
    assert!(
        after.saturating_sub(before) <= (MEMORY_BUDGET_BYTES + slack) as u64,
        "RSS grew from {before} to {after}"
    );
    assert!(terminate(&mut child, Duration::from_secs(15)).success());
}

/// A chat's history needs the chat's token; without it, with another
/// chat's, or for a chat that does not exist the answer is the same 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_chat_owner_reads_its_history() {
    let (mut child, api, _admin) = start_binary(&[], &[]);
    let c = client();
    let secret = "my card is 4242 4242 4242 4242";
    let first = post_message(&c, &api, 42, secret).await;
    let token = first["token"].as_str().expect("the first message's token");
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    // Another client writes to the same chat: no token for it.
    let second = post_message(&c, &api, 42, "hello").await;
    assert_eq!(second.get("token"), None, "{second}");
    let theirs = post_message(&c, &api, 43, "mine").await;
    let their_token = theirs["token"].as_str().unwrap();

    let read = |id: u64, bearer: Option<&str>| {
        let (c, url) = (c.clone(), format!("{api}/conversations/{id}"));
        let bearer = bearer.map(str::to_owned);
        async move { send_as(&c, "GET", &url, b"", None, bearer.as_deref()).await }
    };
    let (status, body) = read(42, Some(token)).await;
    assert_eq!(status, 200, "{body}");
    let history: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(history["messages"], serde_json::json!([secret, "hello"]));
    // Upper-case hex is the same token.
    assert_eq!(read(42, Some(&token.to_uppercase())).await.0, 200);

    let refused = [
        read(42, None).await,
        read(42, Some(their_token)).await,
        read(42, Some(&"0".repeat(32))).await,
        read(42, Some("not-a-token")).await,
        read(42, Some(&format!("{token}0"))).await,
        read(44, Some(token)).await,
        read(44, None).await,
    ];
    for (status, body) in &refused {
        assert_eq!(*status, 404, "{body}");
        assert_eq!(body, &refused[0].1, "every refusal looks the same");
        assert!(!body.contains("4242") && !body.contains("42,"), "{body}");
    }
    // The admin token is no key to a chat either.
    assert_eq!(read(42, Some(ADMIN_TOKEN)).await.0, 404);
    assert!(terminate(&mut child, Duration::from_secs(15)).success());
}

/// The traffic generator reads back its own chats: it keeps the tokens
/// its `POST /messages` and `POST /batch` got, so its
/// `GET /conversations/{id}` calls succeed (a 200 within 20 s at 200
/// requests a second; 1 in 10 of its requests reads a chat).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_generator_reads_its_own_chats() {
    let mut options = demo_options();
    options.load_rps = 200;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let admin = demo.admin_addr().unwrap();
    let c = client();
    let labels = [
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("http_route", "/conversations/{id}"),
        ("url_scheme", "http"),
    ];
    let mut read = None;
    for _ in 0..100 {
        let samples = parse(&scrape(&c, admin).await);
        read = value(
            &samples,
            "http_server_request_duration_seconds_count",
            &labels,
        );
        if read.is_some_and(|n| n >= 3.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        read.is_some_and(|n| n >= 3.0),
        "reads answered 200: {read:?}"
    );
    demo.shutdown().await;
}
