//! The service's identity, not redline's: `build_info`, `target_info` and
//! `/info` report what the service gives with `redline::build_info!()` or
//! `TelemetryBuilder::build_info`, and redline's own version as a label.

mod common;

use redline::{BuildInfo, Config, Telemetry};

fn config() -> Config {
    Config {
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        system_metrics: false,
        process_metrics: false,
        admin_token: common::admin_token(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_info_and_info_report_the_service_and_redline_apart() {
    let build = BuildInfo::new("2.3.4", "0123abcd").with_service_name("checkout");
    let t = Telemetry::builder()
        .config(config())
        .build_info(build)
        .build()
        .unwrap();
    assert_eq!(t.config().service_name, "checkout");
    let guard = t.serve_admin().await.unwrap();
    let admin = guard.admin_addr().unwrap();
    let c = common::client();

    let samples = common::parse(&common::scrape(&c, admin).await);
    let build = samples.iter().find(|s| s.name == "build_info").unwrap();
    assert_eq!(build.value, 1.0);
    assert_eq!(build.labels["version"], "2.3.4");
    assert_eq!(build.labels["revision"], "0123abcd");
    assert_eq!(build.labels["redline_version"], redline::REDLINE_VERSION);
    let target = samples.iter().find(|s| s.name == "target_info").unwrap();
    assert_eq!(target.labels["service_name"], "checkout");

    let (status, body) = common::get(&c, &format!("http://{admin}/info")).await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["service_name"], "checkout");
    assert_eq!(info["version"], "2.3.4");
    assert_eq!(info["revision"], "0123abcd");
    assert_eq!(info["redline_version"], redline::REDLINE_VERSION);
    guard.shutdown().await;
}

#[test]
fn a_configured_service_name_wins_over_the_build_s() {
    let config =
        Config::from_lookup(|name| (name == "OTEL_SERVICE_NAME").then(|| "billing".to_string()))
            .unwrap();
    let t = Telemetry::builder()
        .config(config)
        .build_info(BuildInfo::new("1.0.0", "x").with_service_name("checkout"))
        .build()
        .unwrap();
    assert_eq!(t.config().service_name, "billing");
    assert!(t.render_metrics().contains(r#"service_name="billing""#));

    // The resource attribute names it too.
    let config = Config::from_lookup(|name| {
        (name == "OTEL_RESOURCE_ATTRIBUTES").then(|| "service.name=ledger".to_string())
    })
    .unwrap();
    let t = Telemetry::builder()
        .config(config)
        .build_info(redline::build_info!())
        .build()
        .unwrap();
    assert_eq!(t.config().service_name, "ledger");
}

#[test]
fn the_macro_names_the_calling_crate() {
    let info = redline::build_info!();
    // This test is compiled as part of the `redline` package, so the
    // calling crate's package is redline's here.
    assert_eq!(info.service_name.as_deref(), Some(env!("CARGO_PKG_NAME")));
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    let expected = option_env!("GIT_COMMIT")
        .or(option_env!("VERGEN_GIT_SHA"))
        .or(option_env!("SOURCE_REVISION"))
        .unwrap_or("unknown");
    assert_eq!(info.revision, expected.trim());

    // Without a build info, redline's defaults.
    let t = Telemetry::builder().config(config()).build().unwrap();
    assert_eq!(t.config().service_name, "unknown_service:redline");
    assert_eq!(t.build_info(), &BuildInfo::redline());
    let t = Telemetry::builder()
        .config(config())
        .build_info(redline::build_info!())
        .build()
        .unwrap();
    assert_eq!(t.config().service_name, env!("CARGO_PKG_NAME"));
}
