//! TLS on redline's listeners, with certificates made by the test (rcgen):
//! TLS 1.3 handshakes from a Rust client (tokio-rustls + hyper) and from
//! `curl --cacert`, over HTTP/1.1 and HTTP/2 by ALPN; plain HTTP on the TLS
//! port answered with a 400; client certificates on the admin listener;
//! clear start-up errors for unusable files; and a certificate rotated
//! three times under a bounded load without losing a request.

#[path = "common/certs.rs"]
mod certs;
mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use certs::{Pair, Pki};
use http_body_util::{BodyExt, Empty};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Tls = redline::tls::ListenerTlsConfig;

fn listener_tls(cert: PathBuf, key: PathBuf, client_ca: Option<PathBuf>) -> Tls {
    Tls {
        cert_file: cert,
        key_file: key,
        client_ca_file: client_ca,
    }
}

/// A telemetry whose service listener (and, with `admin`, admin listener)
/// has TLS.
fn telemetry(api: Option<Tls>, admin: Option<Tls>) -> Result<redline::Telemetry, redline::Error> {
    let config = redline::Config {
        tls: api,
        admin_tls: admin,
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        admin_token: common::admin_token(),
        shutdown_delay: Duration::ZERO,
        ..Default::default()
    };
    redline::Telemetry::builder().config(config).build()
}

fn app(t: &redline::Telemetry) -> axum::Router {
    t.instrument(axum::Router::new().route(
        "/hello",
        axum::routing::get(
            |secure: Option<axum::Extension<redline::http::SecureConnection>>| async move {
                if secure.is_some() {
                    "hello over tls"
                } else {
                    "hello"
                }
            },
        ),
    ))
}

async fn serve(t: &redline::Telemetry) -> redline::Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    t.serve(listener, app(t)).unwrap()
}

/// A rustls client trusting `ca_pem`, offering `alpn`, with an optional
/// client certificate.
fn connector(ca_pem: &str, alpn: &[&[u8]], client: Option<&Pair>) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some(pair) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// What one request over a new TLS connection saw.
#[derive(Debug)]
struct Seen {
    status: u16,
    body: String,
    version: rustls::ProtocolVersion,
    alpn: Option<Vec<u8>>,
    /// The server's leaf certificate.
    leaf: Vec<u8>,
}

/// GET `path` over a new TLS connection, HTTP/2 when ALPN picks it.
async fn get_tls(
    addr: std::net::SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    path: &str,
    token: Option<&str>,
) -> Result<Seen, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (_, session) = tls.get_ref();
    let version = session.protocol_version().unwrap();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    let leaf = session.peer_certificates().unwrap()[0].to_vec();
    let io = hyper_util::rt::TokioIo::new(tls);
    let mut request = hyper::Request::builder().uri(format!("https://localhost{path}"));
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let request = request.body(Empty::<bytes::Bytes>::new()).unwrap();
    let response = if alpn.as_deref() == Some(b"h2") {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        send.send_request(request).await
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let (mut parts, body) = request.into_parts();
        parts.uri = path.parse().unwrap();
        parts.headers.insert("host", "localhost".parse().unwrap());
        send.send_request(hyper::Request::from_parts(parts, body))
            .await
    }
    .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Seen {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        version,
        alpn,
        leaf,
    })
}

fn metric(t: &redline::Telemetry, name: &str, labels: &[(&str, &str)]) -> f64 {
    common::value(&common::parse(&t.render_metrics()), name, labels).unwrap_or(0.0)
}

/// `curl` with `args`, returning (exit success, stdout, stderr).
async fn curl(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(common::tool("curl"))
            .args(["-sS", "--max-time", "10"])
            .args(&args)
            .output()
            .expect("curl (Debian package curl; .ci/run installs it)");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls13_over_http1_and_http2_from_rust_and_curl() {
    let pki = Pki::new("redline test CA");
    let server = pki.server("api");
    let (cert, key) = pki.files("api", &server);
    let t = telemetry(Some(listener_tls(cert, key, None)), None).unwrap();
    let api = serve(&t).await;
    let addr = api.local_addr();

    for alpn in [&b"h2"[..], &b"http/1.1"[..]] {
        let seen = get_tls(addr, &connector(&pki.ca_pem, &[alpn], None), "/hello", None)
            .await
            .unwrap();
        assert_eq!(seen.status, 200, "{seen:?}");
        assert_eq!(
            seen.body, "hello over tls",
            "the handler sees SecureConnection"
        );
        assert_eq!(seen.version, rustls::ProtocolVersion::TLSv1_3);
        assert_eq!(seen.alpn.as_deref(), Some(alpn));
        assert_eq!(seen.leaf, server.der);
    }
    let ca = pki.ca_file();
    let url = format!("https://127.0.0.1:{}/hello", addr.port());
    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        let (ok, out, err) = curl(vec![
            "--cacert".into(),
            ca.display().to_string(),
            "--tlsv1.3".into(),
            flag.into(),
            "-w".into(),
            " %{http_code} %{http_version}".into(),
            url.clone(),
        ])
        .await;
        assert!(ok, "curl {flag}: {err}");
        assert_eq!(out, format!("hello over tls 200 {version}"), "curl {flag}");
    }
    // Without the authority, curl refuses the server.
    let (ok, _, err) = curl(vec![url.clone()]).await;
    assert!(!ok && err.to_lowercase().contains("certificate"), "{err}");

    // Both requests are `https` in the metrics, whatever the HTTP version.
    let https = metric(
        &t,
        "http_server_request_duration_seconds_count",
        &[
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
            ("http_route", "/hello"),
            ("url_scheme", "https"),
        ],
    );
    assert_eq!(https, 4.0, "{}", t.render_metrics());
    // The expiry gauge is the leaf's notAfter (90 days from now).
    let expiry = metric(
        &t,
        "redline_tls_certificate_expiry_timestamp_seconds",
        &[("listener", "api")],
    );
    let in_90_days = (std::time::SystemTime::now() + Duration::from_secs(90 * 86_400))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (expiry - in_90_days).abs() < 120.0,
        "{expiry} vs {in_90_days}"
    );
    api.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_the_tls_port_gets_a_400_and_garbage_is_closed() {
    let pki = Pki::new("redline test CA");
    let (cert, key) = pki.files("api", &pki.server("api"));
    let t = telemetry(Some(listener_tls(cert, key, None)), None).unwrap();
    let api = serve(&t).await;
    let addr = api.local_addr();

    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /hello?secret=hunter2 HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("https://"), "{answer}");
    assert!(!answer.contains("hunter2"), "never echoed");
    // curl sees the same answer.
    let (ok, out, err) = curl(vec![
        "-w".into(),
        "%{http_code}".into(),
        format!("http://127.0.0.1:{}/hello", addr.port()),
    ])
    .await;
    assert!(ok && out.ends_with("400"), "{out} {err}");

    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&[0x00, 0x01, 0x02, 0x03]).await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed: {read:?} {rest:?}"
    );

    let failures = |reason| {
        metric(
            &t,
            "redline_tls_handshake_failures_total",
            &[("listener", "api"), ("reason", reason)],
        )
    };
    assert_eq!(failures("plain_http"), 2.0);
    assert_eq!(failures("error"), 1.0);
    // The server still serves TLS.
    let seen = get_tls(
        addr,
        &connector(&pki.ca_pem, &[b"h2"], None),
        "/hello",
        None,
    )
    .await;
    assert_eq!(seen.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_requires_a_client_certificate_from_its_authority() {
    let pki = Pki::new("redline admin CA");
    let clients = Pki::new("redline clients CA");
    let strangers = Pki::new("someone else's CA");
    let (cert, key) = pki.files("admin", &pki.server("admin"));
    let client_ca = clients.ca_file();
    let t = telemetry(None, Some(listener_tls(cert, key, Some(client_ca)))).unwrap();
    let guard = t.serve_admin().await.unwrap();
    let addr = guard.admin_addr().unwrap();

    let good = clients.client("ops");
    for alpn in [&b"h2"[..], &b"http/1.1"[..]] {
        let with = connector(&pki.ca_pem, &[alpn], Some(&good));
        let seen = get_tls(addr, &with, "/info", Some(common::ADMIN_TOKEN))
            .await
            .unwrap();
        assert_eq!(seen.status, 200, "{seen:?}");
        // The certificate alone is not enough: the token is still needed.
        let seen = get_tls(addr, &with, "/info", None).await.unwrap();
        assert_eq!(seen.status, 401);
    }
    let without = connector(&pki.ca_pem, &[b"h2"], None);
    let refused = get_tls(addr, &without, "/ready", None).await;
    assert!(refused.is_err(), "no client certificate: {refused:?}");
    let other = strangers.client("intruder");
    let refused = get_tls(
        addr,
        &connector(&pki.ca_pem, &[b"h2"], Some(&other)),
        "/ready",
        None,
    )
    .await;
    assert!(
        refused.is_err(),
        "a certificate from another authority: {refused:?}"
    );
    let failed = metric(
        &t,
        "redline_tls_handshake_failures_total",
        &[("listener", "admin"), ("reason", "error")],
    );
    assert_eq!(failed, 2.0);
    guard.shutdown().await;
}

#[test]
fn unusable_files_are_clear_start_up_errors() {
    let pki = Pki::new("redline test CA");
    let good = pki.server("good");
    let (cert, key) = pki.files("good", &good);
    let (_, other_key) = pki.files("other", &pki.server("other"));
    let (expired_cert, expired_key) = pki.files("expired", &pki.server_valid("old", (-30, -1)));
    let (future_cert, future_key) = pki.files("future", &pki.server_valid("new", (2, 30)));
    let garbage = pki.write("garbage.pem", "not a certificate\n");
    let missing = pki.path().join("missing.pem");
    let cases: [(&str, Tls, &[&str]); 6] = [
        (
            "missing",
            listener_tls(missing.clone(), key.clone(), None),
            &["REDLINE_TLS_CERT_FILE", "missing.pem", "cannot read"],
        ),
        (
            "garbage certificate",
            listener_tls(garbage.clone(), key.clone(), None),
            &["REDLINE_TLS_CERT_FILE", "no PEM certificate"],
        ),
        (
            "garbage key",
            listener_tls(cert.clone(), garbage.clone(), None),
            &["REDLINE_TLS_KEY_FILE", "no usable private key"],
        ),
        (
            "mismatched",
            listener_tls(cert.clone(), other_key, None),
            &[
                "REDLINE_TLS_KEY_FILE",
                "is not the private key",
                "REDLINE_TLS_CERT_FILE",
            ],
        ),
        (
            "expired",
            listener_tls(expired_cert, expired_key, None),
            &["REDLINE_TLS_CERT_FILE", "expired"],
        ),
        (
            "not yet valid",
            listener_tls(future_cert, future_key, None),
            &["is not valid yet"],
        ),
    ];
    let key_text = std::fs::read_to_string(&key).unwrap();
    let key_body = key_text.lines().nth(1).unwrap();
    for (what, tls, expected) in cases {
        let e = telemetry(Some(tls), None)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        let message = e.to_string();
        assert!(matches!(e, redline::Error::Tls(_)), "{what}: {e:?}");
        for part in expected {
            assert!(message.contains(part), "{what}: {message:?} lacks {part:?}");
        }
        assert!(
            !message.contains(key_body),
            "{what}: key material in {message}"
        );
    }
    // The admin listener's files are named by their own variables.
    let e = telemetry(None, Some(listener_tls(missing, key, None)))
        .err()
        .unwrap();
    assert!(e.to_string().contains("REDLINE_ADMIN_TLS_CERT_FILE"), "{e}");
    let e = telemetry(
        None,
        Some(listener_tls(cert, pki.write("k", ""), Some(garbage))),
    )
    .err();
    assert!(e.is_some());
}

/// Kubernetes' way of replacing a mounted secret: the files live in a
/// directory a symbolic link points to, and the link is swapped at once.
fn publish(pki: &Pki, generation: usize, pair: &Pair) -> (PathBuf, PathBuf) {
    let dir = pki.path().join(format!("gen{generation}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tls.crt"), &pair.cert_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &pair.key_pem).unwrap();
    let link = pki.path().join("current");
    let tmp = pki.path().join("current.tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&dir, &tmp).unwrap();
    std::fs::rename(&tmp, &link).unwrap();
    (link.join("tls.crt"), link.join("tls.key"))
}

async fn leaf_seen(addr: std::net::SocketAddr, c: &tokio_rustls::TlsConnector) -> Vec<u8> {
    get_tls(addr, c, "/hello", None).await.unwrap().leaf
}

async fn wait_for_leaf(addr: std::net::SocketAddr, c: &tokio_rustls::TlsConnector, want: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while leaf_seen(addr, c).await != want {
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_rotated_under_load_loses_no_request() {
    const ROTATIONS: usize = 3;
    const CLIENTS: usize = 4;
    let pki = Pki::new("redline test CA");
    let pairs: Vec<Pair> = (0..=ROTATIONS)
        .map(|i| pki.server(&format!("gen{i}")))
        .collect();
    let (cert, key) = publish(&pki, 0, &pairs[0]);
    let t = telemetry(Some(listener_tls(cert, key, None)), None).unwrap();
    let api = serve(&t).await;
    let addr = api.local_addr();
    let c = connector(&pki.ca_pem, &[b"h2", b"http/1.1"], None);
    assert_eq!(leaf_seen(addr, &c).await, pairs[0].der);

    // A long-lived HTTP/2 connection made before the first rotation: it
    // keeps working across every one of them.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = c
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut long_lived, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);

    // Bounded load: each client sends requests on new connections (a new
    // handshake each) until told to stop, at most 2,000 each.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for _ in 0..CLIENTS {
        let (c, stop, ok, failed) = (c.clone(), stop.clone(), ok.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            for _ in 0..2_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                match get_tls(addr, &c, "/hello", None).await {
                    Ok(seen) if seen.status == 200 => ok.fetch_add(1, Ordering::SeqCst),
                    other => {
                        eprintln!("failed: {other:?}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }));
    }
    let mut long_lived_requests = 0;
    for (generation, pair) in pairs.iter().enumerate().skip(1) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        publish(&pki, generation, pair);
        wait_for_leaf(addr, &c, &pair.der).await;
        let request = hyper::Request::builder()
            .uri(format!("https://localhost:{}/hello", addr.port()))
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = long_lived.send_request(request).await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "the connection made before survives"
        );
        long_lived_requests += 1;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    eprintln!(
        "rotation under load: {ok} requests on new connections, {failed} failed, {long_lived_requests} on the old one"
    );
    assert_eq!(failed, 0);
    assert!(ok >= 20, "the load ran: {ok}");
    let reloads = |result| {
        metric(
            &t,
            "redline_tls_certificate_reloads_total",
            &[("listener", "api"), ("result", result)],
        )
    };
    assert_eq!(reloads("ok"), ROTATIONS as f64);
    assert_eq!(reloads("error"), 0.0);

    // A broken file is not served: the certificate in use stays, and the
    // failed reload is counted.
    let (cert, _) = publish(
        &pki,
        99,
        &Pair {
            cert_pem: "garbage".into(),
            key_pem: pairs[0].key_pem.clone(),
            der: Vec::new(),
        },
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while reloads("error") < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the failed reload was not counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(Path::new(&cert).exists());
    assert_eq!(leaf_seen(addr, &c).await, pairs[ROTATIONS].der);

    // SIGHUP reloads too, without a change (here: fails again, counted).
    let before = reloads("error");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while reloads("error") <= before {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.shutdown().await;
}
