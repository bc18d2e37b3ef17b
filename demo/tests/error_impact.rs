//! Error impact over real HTTP: with every request failing, the demo's
//! message handler reports the store failure with its cause chain and the
//! chat it reached, and `/errors/report` counts distinct chats per group,
//! ranks groups by impact and never shows a chat id or the store's password.

mod common;

use common::*;
use redline_demo::FaultSettings;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_counts_the_chats_an_error_reached_and_keeps_its_cause_masked() {
    let mut options = demo_options();
    options.load_rps = 0;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    let c = client();
    demo.faults()
        .set(FaultSettings {
            error_rate: Some(1.0),
            latency_ms: None,
        })
        .unwrap();
    // 300 chats fail on /messages; /hello fails 20 times with no user.
    for chat in 0..300_u64 {
        let body = format!(r#"{{"chat_id":{},"text":"hello"}}"#, 7_000_000 + chat);
        let (status, answer) = send(
            &c,
            "POST",
            &format!("http://{app}/messages"),
            body.as_bytes(),
            Some("application/json"),
        )
        .await;
        assert_eq!(status, 500, "{answer}");
        assert!(!answer.contains("10.0.0.5"), "sanitized: {answer}");
    }
    for _ in 0..20 {
        assert_eq!(get(&c, &format!("http://{app}/hello")).await.0, 500);
    }

    let (status, body) = get(&c, &format!("http://{admin}/errors/report")).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("injected-fault-pw"), "masked: {body}");
    assert!(!body.contains("7000"), "no chat id: {body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    let top = &report["top_by_impact"][0];
    assert_eq!(top["hints"]["route"]["value"], "/messages", "{report:#}");
    let users = top["users_affected"].as_u64().unwrap() as f64;
    let error = report["users_affected_error"].as_f64().unwrap();
    assert!(
        (users - 300.0).abs() <= 3.0 * error * 300.0,
        "{users} chats for 300"
    );
    assert_eq!(
        top["severity"], "critical",
        "5xx reaching 100 chats or more"
    );
    assert_eq!(
        top["sample"]["cause"],
        "the conversation store is unavailable"
    );
    let chain = top["sample"]["chain"][0].as_str().unwrap();
    assert!(
        chain.starts_with("connect to redis://demo:") && chain.ends_with("refused"),
        "{chain}"
    );
    let hello = &report["top_by_impact"][1];
    assert_eq!(hello["hints"]["route"]["value"], "/hello");
    assert_eq!(hello["users_affected"], 0);
    let metrics = scrape(&c, admin).await;
    let most: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("redline_error_group_users_affected_max "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(most, users);
    demo.shutdown().await;
}
