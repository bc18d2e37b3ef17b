//! What a refused client reads, over real HTTP against the demo binary:
//! in production mode (the default) a fixed message per error code, never
//! the input or a Rust type name; with `REDLINE_ENV=development` the
//! details, masked (no raw e-mail address or password).

mod common;

use std::time::Duration;

use common::*;

const EMAIL: &str = "john@example.com";

/// One refusal: where, what is sent, the answer's status, code and fixed
/// message, and a piece of the details development mode shows.
struct Case {
    name: &'static str,
    admin: bool,
    method: &'static str,
    path: String,
    body: String,
    status: u16,
    code: &'static str,
    message: &'static str,
    detail: &'static str,
}

fn cases() -> Vec<Case> {
    let case = |name, admin, method, path: &str, body: &str, status, code, message, detail| Case {
        name,
        admin,
        method,
        path: path.to_owned(),
        body: body.to_owned(),
        status,
        code,
        message,
        detail,
    };
    let fields = "the body does not have the expected fields and types";
    let fault =
        "error_rate must be a number from 0 to 1, latency_ms a whole number from 0 to 60000";
    vec![
        case(
            "path id",
            false,
            "GET",
            &format!("/conversations/{EMAIL}"),
            "",
            400,
            "invalid_path",
            "the path parameter is not valid",
            "Cannot parse",
        ),
        case(
            "group id",
            false,
            "GET",
            &format!("/groups/{EMAIL}/members"),
            "",
            400,
            "invalid_path",
            "the path parameter is not valid",
            "Cannot parse",
        ),
        case(
            "wrong type",
            false,
            "POST",
            "/messages",
            &format!(r#"{{"chat_id":"{EMAIL}","text":"hi"}}"#),
            422,
            "invalid_input",
            fields,
            "invalid type",
        ),
        case(
            "unknown field",
            false,
            "POST",
            "/messages",
            &format!(r#"{{"chat_id":1,"text":"hi","{EMAIL}":1}}"#),
            422,
            "invalid_input",
            fields,
            "unknown field",
        ),
        case(
            "password key",
            false,
            "POST",
            "/messages",
            r#"{"chat_id":1,"text":"hi","\"password\":\"hunter2\"":1}"#,
            422,
            "invalid_input",
            fields,
            "unknown field",
        ),
        case(
            "batch shape",
            false,
            "POST",
            "/batch",
            &format!(r#"[{{"chat_id":1,"text":["{EMAIL}"]}}]"#),
            422,
            "invalid_input",
            fields,
            "invalid type",
        ),
        case(
            "malformed",
            false,
            "POST",
            "/messages",
            &format!(r#"{{"chat_id":1,"text":"{EMAIL}"#),
            400,
            "invalid_json",
            "the body is not valid JSON",
            "malformed JSON at line 1",
        ),
        case(
            "unknown command",
            false,
            "POST",
            "/messages",
            r#"{"chat_id":1,"text":"/johnexamplecom"}"#,
            400,
            "unknown_command",
            "unknown command; try /help",
            "/johnexamplecom",
        ),
        case(
            "no such group",
            false,
            "GET",
            "/groups/424242/members",
            "",
            404,
            "not_found",
            "no such group; groups are 1 to 1000",
            "group 424242",
        ),
        case(
            "fault type",
            true,
            "PUT",
            "/faults",
            &format!(r#"{{"error_rate":"{EMAIL}"}}"#),
            422,
            "invalid_body",
            fields,
            "invalid type",
        ),
        case(
            "fault field",
            true,
            "PUT",
            "/faults",
            &format!(r#"{{"error_rate":0.1,"{EMAIL}":1}}"#),
            422,
            "invalid_body",
            fields,
            "unknown field",
        ),
        case(
            "fault rate",
            true,
            "PUT",
            "/faults",
            r#"{"error_rate":7.25}"#,
            422,
            "invalid_fault",
            fault,
            "got 7.25",
        ),
        case(
            "fault latency",
            true,
            "PUT",
            "/faults",
            r#"{"latency_ms":987654321}"#,
            422,
            "invalid_fault",
            fault,
            "got 987654321",
        ),
        case(
            "fault JSON",
            true,
            "PUT",
            "/faults",
            &format!(r#"{{"error_rate":"{EMAIL}"#),
            400,
            "invalid_json",
            "the body is not valid JSON",
            "EOF",
        ),
    ]
}

/// What must never reach a client, in either mode.
const NEVER: [&str; 2] = [EMAIL, "hunter2"];
/// What only development mode may show.
const DETAILS: [&str; 9] = [
    "example.com",
    "password",
    "u64",
    "struct",
    "Message",
    "7.25",
    "987654321",
    "johnexamplecom",
    "424242",
];

async fn answers(env: &[(&str, &str)]) -> Vec<(Case, u16, serde_json::Value)> {
    let mut env = env.to_vec();
    env.push(("REDLINE_ADMIN_TOKEN", ADMIN_TOKEN));
    let (mut child, api, admin) = start_binary(&env, &[]);
    let c = client();
    let mut out = Vec::new();
    for case in cases() {
        let url = format!("{}{}", if case.admin { &admin } else { &api }, case.path);
        let json = (!case.body.is_empty()).then_some("application/json");
        let (status, body) = send(&c, case.method, &url, case.body.as_bytes(), json).await;
        let value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {body}", case.name));
        out.push((case, status, value));
    }
    assert!(terminate(&mut child, Duration::from_secs(15)).success());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refusals_are_fixed_messages() {
    for (case, status, body) in answers(&[]).await {
        let expected = serde_json::json!({ "error": case.code, "message": case.message });
        assert_eq!((status, &body), (case.status, &expected), "{}", case.name);
        let text = body.to_string();
        for leak in NEVER.iter().chain(&DETAILS) {
            assert!(!text.contains(leak), "{}: {leak} in {text}", case.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_refusals_have_masked_details() {
    for (case, status, body) in answers(&[("REDLINE_ENV", "development")]).await {
        assert_eq!(
            (status, body["error"].as_str()),
            (case.status, Some(case.code)),
            "{}: {body}",
            case.name
        );
        let message = body["message"].as_str().unwrap();
        assert_ne!(message, case.message, "{}: details expected", case.name);
        assert!(message.contains(case.detail), "{}: {message}", case.name);
        for leak in NEVER {
            assert!(
                !message.contains(leak),
                "{}: {leak} in {message}",
                case.name
            );
        }
        // The details quote the e-mail address where it was the value or
        // key at fault: masked.
        let quoted = [
            "path id",
            "group id",
            "wrong type",
            "unknown field",
            "fault type",
            "fault field",
        ];
        if quoted.contains(&case.name) {
            assert!(
                message.contains("j***@example.com"),
                "{}: masked e-mail expected: {message}",
                case.name
            );
        }
    }
}
