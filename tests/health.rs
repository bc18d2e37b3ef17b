//! Health endpoints against real HTTP: dependency failures, hanging checks,
//! probe storms, the health document's format, and the lifecycle.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redline::health::{CheckOptions, CheckResult, Probe};

async fn admin(t: &redline::Telemetry) -> (std::net::SocketAddr, redline::ShutdownGuard) {
    let guard = t.serve_admin().await.unwrap();
    (guard.admin_addr().unwrap(), guard)
}

fn telemetry() -> redline::Telemetry {
    let config = redline::Config {
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        system_metrics: false,
        admin_token: common::admin_token(),
        ..Default::default()
    };
    redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_critical_dependency_fails_ready_and_health_but_not_alive() {
    let t = telemetry();
    let db_up = Arc::new(AtomicBool::new(true));
    let up = db_up.clone();
    t.health().register(
        "db:connection",
        CheckOptions::readiness()
            .cache_for(Duration::ZERO)
            .component("db-primary", "datastore"),
        move || {
            let up = up.load(Ordering::SeqCst);
            async move {
                if up {
                    CheckResult::pass().observed(1.5, "ms")
                } else {
                    CheckResult::fail("connection refused")
                }
            }
        },
    );
    let (addr, guard) = admin(&t).await;
    let c = common::client();
    let url = |p: &str| format!("http://{addr}{p}");
    assert_eq!(
        common::get(&c, &url("/ready")).await,
        (200, "ready\n".into())
    );
    assert_eq!(common::get(&c, &url("/health")).await.0, 200);

    db_up.store(false, Ordering::SeqCst);
    assert_eq!(common::get(&c, &url("/ready")).await.0, 503);
    let (status, body) = common::get(&c, &url("/health")).await;
    assert_eq!(status, 503);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["checks"]["db:connection"][0]["status"], "fail");
    assert_eq!(
        doc["checks"]["db:connection"][0]["output"],
        "connection refused"
    );
    assert_eq!(
        common::get(&c, &url("/alive")).await,
        (200, "alive\n".into())
    );

    // The gauges follow.
    let text = t.render_metrics();
    assert!(
        text.contains(r#"redline_health_check_status{check="db:connection"} 0"#),
        "{text}"
    );
    assert!(text.contains("redline_ready 0"));
    guard.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_check_fails_at_its_timeout_and_bounds_the_response() {
    let t = telemetry();
    let timeout = Duration::from_millis(800);
    t.health().register(
        "queue:ping",
        CheckOptions::readiness().timeout(timeout),
        || async {
            std::future::pending::<()>().await;
            CheckResult::pass()
        },
    );
    t.health().register(
        "cache:ping",
        CheckOptions::readiness().critical(false).timeout(timeout),
        || async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            CheckResult::pass()
        },
    );
    let (addr, guard) = admin(&t).await;
    let c = common::client();
    let started = Instant::now();
    let (status, body) = common::get(&c, &format!("http://{addr}/health")).await;
    let took = started.elapsed();
    assert_eq!(status, 503);
    // Both run concurrently: one timeout, not two, plus a margin that is a
    // fraction of the timeout (scheduling, the HTTP round trip).
    assert!(took >= timeout, "{took:?}");
    assert!(
        took < timeout + timeout / 2,
        "{took:?} exceeds the timeout's bound"
    );
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    let output = doc["checks"]["queue:ping"][0]["output"].as_str().unwrap();
    assert!(output.contains("timed out"), "{output}");
    // The non-critical one only warns (its own status is fail).
    assert_eq!(doc["checks"]["cache:ping"][0]["status"], "fail");
    assert_eq!(doc["checks"]["cache:ping"][0]["critical"], false);
    guard.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_storm_runs_each_check_once_per_cache_interval() {
    let t = telemetry();
    t.health().register(
        "db:connection",
        CheckOptions::readiness().cache_for(Duration::from_secs(60)),
        || async {
            // Slow enough that the storm arrives while it runs.
            tokio::time::sleep(Duration::from_millis(200)).await;
            CheckResult::pass()
        },
    );
    let (addr, guard) = admin(&t).await;
    let c = common::client();
    let mut probes = Vec::new();
    for _ in 0..100 {
        let c = c.clone();
        let url = format!("http://{addr}/ready");
        probes.push(tokio::spawn(async move { common::get(&c, &url).await.0 }));
    }
    for p in probes {
        assert_eq!(p.await.unwrap(), 200);
    }
    assert_eq!(
        t.health().runs("db:connection"),
        1,
        "100 concurrent probes, one run"
    );
    // Cached afterwards too.
    assert_eq!(
        common::get(&c, &format!("http://{addr}/health")).await.0,
        200
    );
    assert_eq!(t.health().runs("db:connection"), 1);
    guard.shutdown().await;
}

// Registers the disk check, from the `system` feature.
#[cfg(feature = "system")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_document_follows_the_draft() {
    let t = telemetry();
    t.health().register(
        "disk:free",
        CheckOptions::readiness()
            .critical(false)
            .component("data", "system"),
        redline::health::checks::disk_free("/", 0.0, 0.0),
    );
    let (addr, guard) = admin(&t).await;
    let c = common::client();
    let response = c
        .request(
            hyper::Request::get(format!("http://{addr}/health"))
                .header("authorization", format!("Bearer {}", common::ADMIN_TOKEN))
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/health+json"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let status = response.status();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // Top level (draft section 3): status, version, releaseId, serviceId…
    let top = doc.as_object().unwrap();
    for key in top.keys() {
        assert!(
            [
                "status",
                "version",
                "releaseId",
                "serviceId",
                "description",
                "notes",
                "checks",
                "output",
                "links"
            ]
            .contains(&key.as_str()),
            "unknown top-level field {key}"
        );
    }
    let st = doc["status"].as_str().unwrap();
    assert!(["pass", "warn", "fail"].contains(&st));
    assert_eq!(status == 503, st == "fail");
    assert_eq!(doc["releaseId"], env!("CARGO_PKG_VERSION"));
    // checks: "component:measurement" → array of objects (section 4).
    let checks = doc["checks"].as_object().unwrap();
    assert!(checks.contains_key("memory:utilization") && checks.contains_key("disk:free"));
    for (name, list) in checks {
        assert_eq!(name.split(':').count(), 2, "{name}");
        for item in list.as_array().unwrap() {
            let item = item.as_object().unwrap();
            assert!(["pass", "warn", "fail"].contains(&item["status"].as_str().unwrap()));
            let time = item["time"].as_str().unwrap();
            assert!(
                time.len() == 24 && time.ends_with('Z') && &time[10..11] == "T",
                "{time}"
            );
            if let Some(v) = item.get("observedValue") {
                assert!(v.is_number());
                assert!(item["observedUnit"].is_string());
            }
            for key in item.keys() {
                assert!(
                    [
                        "componentId",
                        "componentType",
                        "observedValue",
                        "observedUnit",
                        "status",
                        "affectedEndpoints",
                        "time",
                        "output",
                        "links",
                        "critical"
                    ]
                    .contains(&key.as_str()),
                    "unknown check field {key}"
                );
            }
        }
    }
    assert_eq!(checks["disk:free"][0]["componentId"], "data");
    assert_eq!(checks["disk:free"][0]["observedUnit"], "percent free");
    guard.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_work_and_draining_drive_readiness_and_info_reports_the_process() {
    let t = telemetry();
    let warmup = t.health().startup_task();
    t.health().register(
        "self:ok",
        CheckOptions::liveness().probe(Probe::Both),
        || async { CheckResult::pass() },
    );
    let (addr, guard) = admin(&t).await;
    let c = common::client();
    let url = |p: &str| format!("http://{addr}{p}");
    assert_eq!(
        common::get(&c, &url("/ready")).await,
        (503, "not ready: starting\n".into())
    );
    assert_eq!(common::get(&c, &url("/alive")).await.0, 200);
    warmup.done();
    assert_eq!(common::get(&c, &url("/ready")).await.0, 200);
    t.health().begin_drain();
    assert_eq!(
        common::get(&c, &url("/ready")).await,
        (503, "not ready: draining\n".into())
    );
    assert_eq!(common::get(&c, &url("/alive")).await.0, 200);

    let (status, body) = common::get(&c, &url("/info")).await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["pid"], std::process::id());
    assert!(info["uptime_seconds"].as_f64().unwrap() >= 0.0);
    // Read with `sysinfo`: null in a build without the `system` feature.
    if cfg!(feature = "system") {
        assert!(info["memory_rss_bytes"].as_u64().unwrap() > 0);
    } else {
        assert!(info["memory_rss_bytes"].is_null(), "{info}");
    }
    assert!(info["cpus"].as_u64().unwrap() >= 1);
    assert_eq!(info["draining"], true);
    for key in [
        "revision",
        "build_time",
        "rustc",
        "start_time",
        "service_name",
    ] {
        assert!(info[key].is_string(), "{key}");
    }
    guard.shutdown().await;
}
