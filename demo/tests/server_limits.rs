//! The servers redline runs (demo API, admin listener) against clients that
//! hold connections, over real TCP on 127.0.0.1: idle and trickling HTTP/2
//! prior-knowledge (h2c) connections are closed after the header-read
//! timeout, requests in flight are not, and a connection cap keeps the
//! listeners (and `/metrics`) reachable under a flood of idle connections.
//! HTTP/2 frames are written by hand (a 9-byte header and a payload), or
//! with the `h2` crate where a real client is needed.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;

/// One HTTP/2 frame: length (24 bits), type, flags, stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

/// The client side of an h2c connection: the preface and empty SETTINGS.
fn h2c_hello() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out
}

/// Reads (and drops) what the server sends until it closes the connection
/// (end of stream or reset); how long that took, or `None` after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            let _ = n;
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

/// A demo on ephemeral ports with `header_read_timeout`.
async fn demo_with_timeout(timeout: Duration) -> redline_demo::Demo {
    let mut options = common::demo_options();
    options.config.hardening.header_read_timeout = timeout;
    redline_demo::Demo::start(options).await.unwrap()
}

fn closed_total(samples: &[common::Sample], listener: &str, reason: &str) -> f64 {
    common::value(
        samples,
        "redline_server_connections_closed_total",
        &[("listener", listener), ("reason", reason)],
    )
    .unwrap_or_else(|| panic!("no closed_total for {listener}/{reason}"))
}

/// (a) Connections that send nothing, only the h2c preface, the preface
/// and SETTINGS, or go idle after an h2 request, are closed after the
/// header-read timeout (and not before), on the API and the admin
/// listener; so is an idle HTTP/1 keep-alive connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_h2c_and_silent_connections_are_closed_after_the_header_read_timeout() {
    let timeout = Duration::from_secs(1);
    let demo = demo_with_timeout(timeout).await;
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    let raw = |addr: SocketAddr, hello: Vec<u8>, what: &'static str| async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&hello).await.unwrap();
        (what, closed_within(&mut s, Duration::from_secs(5)).await)
    };
    let h2_after_request = async move {
        let tcp = TcpStream::connect(app).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        let connection = tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        let request = http::Request::get(format!("http://{app}/hello"))
            .body(())
            .unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        drop(response);
        // The client keeps the connection (and `client`) open, idle.
        let idle = Instant::now();
        let closed = tokio::time::timeout(Duration::from_secs(5), connection).await;
        drop(client);
        (
            "h2 idle after a request",
            closed.ok().map(|_| idle.elapsed()),
        )
    };
    let h1_keep_alive = async move {
        let mut s = TcpStream::connect(app).await.unwrap();
        s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        (
            "h1 keep-alive",
            closed_within(&mut s, Duration::from_secs(5)).await,
        )
    };
    let results = tokio::join!(
        raw(app, Vec::new(), "silent"),
        raw(app, PREFACE.to_vec(), "preface only"),
        raw(app, h2c_hello(), "preface + SETTINGS"),
        raw(admin, h2c_hello(), "admin: preface + SETTINGS"),
        h2_after_request,
        h1_keep_alive,
    );
    for (what, closed) in [
        results.0, results.1, results.2, results.3, results.4, results.5,
    ] {
        let waited = closed.unwrap_or_else(|| panic!("{what}: still open after 5 s"));
        assert!(
            waited >= timeout - Duration::from_millis(100),
            "{what}: closed too early, after {waited:?}"
        );
    }
    let samples = common::parse(&common::scrape(&common::client(), admin).await);
    assert!(closed_total(&samples, "api", "idle_timeout") >= 3.0);
    assert!(closed_total(&samples, "admin", "idle_timeout") >= 1.0);
    demo.shutdown().await;
}

/// (b) A HEADERS frame without END_HEADERS, then a CONTINUATION frame,
/// then another one a byte every 200 ms (the h2 crate refuses more than
/// five CONTINUATION frames per head, so a long trickle is a slow frame):
/// the request never starts, so the connection is closed after the
/// header-read timeout however long the trickle goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headers_and_slow_continuation_trickle_is_closed_after_the_timeout() {
    let timeout = Duration::from_secs(1);
    let demo = demo_with_timeout(timeout).await;
    let stream = TcpStream::connect(demo.app_addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let mut first = h2c_hello();
    // `:method: GET`, `:scheme: http`, `:path: /` (HPACK static table), no
    // END_HEADERS.
    first.extend(frame(HEADERS, 0, 1, &[0x82, 0x86, 0x84]));
    write.write_all(&first).await.unwrap();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        // `x-a: b` (a literal field, not indexed) in a CONTINUATION frame,
        // then another one a byte at a time, never END_HEADERS.
        let field = [0x00, 0x03, b'x', b'-', b'a', 0x01, b'b'];
        let mut chunks = vec![frame(CONTINUATION, 0, 1, &field)];
        chunks.extend(
            frame(CONTINUATION, 0, 1, &field.repeat(9))
                .into_iter()
                .map(|b| vec![b]),
        );
        // At most 40 steps of 200 ms; a write error means the server closed.
        for chunk in chunks.iter().take(40) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if write.write_all(chunk).await.is_err() {
                return;
            }
        }
    });
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(6), async {
        while let Ok(1..) = read.read(&mut buf).await {}
    })
    .await;
    let waited = started.elapsed();
    assert!(closed.is_ok(), "the trickle kept the connection open");
    assert!(waited >= timeout - Duration::from_millis(100), "{waited:?}");
    trickle.abort();
    let samples =
        common::parse(&common::scrape(&common::client(), demo.admin_addr().unwrap()).await);
    assert!(closed_total(&samples, "api", "idle_timeout") >= 1.0);
    demo.shutdown().await;
}

/// (c) Uploads slower than the timeout are requests in flight: neither an
/// h2 stream nor an HTTP/1 request is cut, and both get their answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_uploads_in_flight_outlive_the_idle_timeout() {
    let timeout = Duration::from_secs(1);
    let demo = demo_with_timeout(timeout).await;
    let app = demo.app_addr();
    // 10 chunks of 3 bytes, 250 ms apart: 2.5 s in flight.
    let h2_upload = async move {
        let tcp = TcpStream::connect(app).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        let request = http::Request::post(format!("http://{app}/media"))
            .body(())
            .unwrap();
        let (response, mut body) = client.send_request(request, false).unwrap();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            body.send_data(Bytes::from_static(b"abc"), false).unwrap();
        }
        body.send_data(Bytes::new(), true).unwrap();
        let response = tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .expect("an answer")
            .expect("the stream was not reset");
        let status = response.status();
        let mut received = response.into_body();
        let mut text = Vec::new();
        while let Some(chunk) = received.data().await {
            let chunk = chunk.unwrap();
            let _ = received.flow_control().release_capacity(chunk.len());
            text.extend_from_slice(&chunk);
        }
        (status.as_u16(), String::from_utf8_lossy(&text).into_owned())
    };
    let h1_upload = async move {
        let mut s = TcpStream::connect(app).await.unwrap();
        s.write_all(
            b"POST /media HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            s.write_all(b"abc").await.unwrap();
        }
        let mut response = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut response)).await;
        String::from_utf8_lossy(&response).into_owned()
    };
    let started = Instant::now();
    let ((status, body), h1) = tokio::join!(h2_upload, h1_upload);
    assert!(started.elapsed() >= Duration::from_millis(2400));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""bytes":30"#), "{body}");
    assert!(h1.starts_with("HTTP/1.1 200"), "{h1}");
    assert!(h1.contains(r#""bytes":30"#), "{h1}");
    demo.shutdown().await;
}

/// (e) With `REDLINE_MAX_CONNECTIONS=4`: when every connection has a
/// request in flight, a fifth is closed at once; once they are idle, a new
/// connection is served by evicting the longest-idle one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_busy_connections_refuse_newcomers_and_idle_ones_make_room() {
    let mut options = common::demo_options();
    options.config.hardening.max_connections = Some(4);
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    // Four uploads in flight (2 of 4 bytes sent).
    let mut busy = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(app).await.unwrap();
        s.write_all(b"POST /media HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
            .await
            .unwrap();
        busy.push(s);
    }
    // Wait (at most 5 s) until the four are in flight: their heads reached
    // the router.
    for _ in 0..250 {
        let samples = common::parse(&demo.telemetry().render_metrics());
        let active: f64 = samples
            .iter()
            .filter(|s| s.name == "http_server_active_requests")
            .map(|s| s.value)
            .sum();
        if active >= 4.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut newcomer = TcpStream::connect(app).await.unwrap();
    let _ = newcomer
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(2), newcomer.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "the fifth connection was left open");
    assert!(
        response.is_empty(),
        "{}",
        String::from_utf8_lossy(&response)
    );
    // The uploads finish and their connections stay open, idle.
    for s in &mut busy {
        s.write_all(b"cd").await.unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        let mut rest = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut rest)).await;
    }
    // Now a new client is served, and the first (longest idle) one closed.
    let (status, _) = common::get(&common::client(), &format!("http://{app}/hello")).await;
    assert_eq!(status, 200);
    assert!(
        closed_within(&mut busy[0], Duration::from_secs(2))
            .await
            .is_some(),
        "the idlest connection was not evicted"
    );
    let samples = common::parse(&common::scrape(&common::client(), admin).await);
    assert_eq!(closed_total(&samples, "api", "refused_over_cap"), 1.0);
    assert!(closed_total(&samples, "api", "evicted") >= 1.0);
    let open = common::value(
        &samples,
        "redline_server_connections",
        &[("listener", "api")],
    );
    // (Plus, for a moment, the evicted one while its task ends.)
    assert!(open.is_some_and(|n| n <= 5.0), "{open:?}");
    demo.shutdown().await;
}

/// (d) The demo binary with 256 open files: 300 idle h2c connections on
/// the API used to exhaust the descriptors (accept failed with EMFILE and
/// every new client waited). With the cap (128 on the API, 32 on the admin
/// listener), the idle ones are evicted, a new client is served, and
/// `/metrics` answers and counts the evictions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_256_open_files_300_idle_h2c_connections_do_not_lock_out_clients() {
    let (mut child, api, admin) = common::start_binary_with_open_files(256, &[], &[]);
    let app: SocketAddr = api.trim_start_matches("http://").parse().unwrap();
    let mut idle = Vec::new();
    let hello = h2c_hello();
    for _ in 0..300 {
        let mut s = TcpStream::connect(app).await.unwrap();
        // The server may already have evicted it: a failed write is fine.
        let _ = s.write_all(&hello).await;
        idle.push(s);
    }
    let c = common::client();
    let started = Instant::now();
    let (status, _) = common::get(&c, &format!("{api}/hello")).await;
    assert_eq!(status, 200);
    let (status, text) = common::get(&c, &format!("{admin}/metrics")).await;
    assert_eq!(status, 200);
    let served_in = started.elapsed();
    assert!(served_in < Duration::from_secs(2), "{served_in:?}");
    let samples = common::parse(&text);
    let evicted = closed_total(&samples, "api", "evicted");
    assert!(evicted >= 150.0, "evicted {evicted}");
    assert_eq!(closed_total(&samples, "api", "refused_over_cap"), 0.0);
    let errors = common::value(
        &samples,
        "redline_server_accept_errors_total",
        &[("listener", "api")],
    );
    assert_eq!(errors, Some(0.0));
    // The cap, plus evicted connections whose task is still closing them.
    let open = common::value(
        &samples,
        "redline_server_connections",
        &[("listener", "api")],
    );
    assert!(open.is_some_and(|n| n <= 128.0 + 8.0), "{open:?}");
    drop(idle);
    common::terminate(&mut child, Duration::from_secs(10));
}
