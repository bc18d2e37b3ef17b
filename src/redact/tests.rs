use super::*;

fn redact(text: &str) -> String {
    Redactor::default().redact(text).into_owned()
}

#[test]
fn emails_keep_first_character_and_domain() {
    assert_eq!(
        redact("to john.doe@example.com and a@b.co."),
        "to j***@example.com and a***@b.co."
    );
    // Not addresses.
    assert_eq!(
        redact("user@localhost @home a@b"),
        "user@localhost @home a@b"
    );
}

#[test]
fn bearer_and_jwt() {
    assert_eq!(
        redact("sent Bearer 8f3kQ9zLm2xW header"),
        "sent Bearer [REDACTED] header"
    );
    assert_eq!(redact("bearer token missing"), "bearer token missing");
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    assert_eq!(redact(&format!("jwt={jwt}")), "jwt=[REDACTED]");
    assert_eq!(
        redact(&format!("got {jwt}, rejected")),
        "got [REDACTED], rejected"
    );
    // Dotted names are not tokens.
    assert_eq!(
        redact("config.prod.toml at db.internal.example"),
        "config.prod.toml at db.internal.example"
    );
}

#[test]
fn sensitive_key_values() {
    let cases = [
        ("password=hunter2 user=bob", "password=[REDACTED] user=bob"),
        ("PASSWD = x1", "PASSWD = [REDACTED]"),
        ("?api_key=abc&page=2", "?api_key=[REDACTED]&page=2"),
        ("client_secret: s3cr3t", "client_secret: [REDACTED]"),
        (
            r#"{"password":"hu\"nter2","user":"bob"}"#,
            r#"{"password":"[REDACTED]","user":"bob"}"#,
        ),
        (
            r#"{'apiKey': 'k', "n": 1}"#,
            r#"{'apiKey': '[REDACTED]', "n": 1}"#,
        ),
        (
            r#"{"pin":1234,"token":5678}"#,
            r#"{"pin":1234,"token":[REDACTED]}"#,
        ),
        (
            "authorization=Basic dXNlcjpwYXNz done",
            "authorization=[REDACTED] done",
        ),
        ("X-Api-Key: 9f8e7d", "X-Api-Key: [REDACTED]"),
        // A sensitive header's value is the rest of the line.
        (
            "Cookie: theme=dark; sid=a8f\nnext",
            "Cookie: [REDACTED]\\nnext",
        ),
        ("authorization: some words", "authorization: [REDACTED]"),
        ("set-cookie=sid=a8f", "set-cookie=[REDACTED]"),
        ("access_token=abc", "access_token=[REDACTED]"),
        // An error chain after `token:` is not a secret.
        (
            "refresh token: connection refused",
            "refresh token: connection refused",
        ),
        ("token: Expired", "token: Expired"),
        // Not sensitive keys.
        ("user=bob retries=3", "user=bob retries=3"),
        ("token != expected", "token != expected"),
    ];
    for (input, expected) in cases {
        assert_eq!(redact(input), expected, "{input}");
    }
}

#[test]
fn url_credentials() {
    assert_eq!(
        redact("connect postgres://app:s3cr@t@db:5432/main failed"),
        "connect postgres://app:[REDACTED]@db:5432/main failed"
    );
    assert_eq!(
        redact("GET https://example.com/a:b@c"),
        "GET https://example.com/a:b@c"
    );
}

#[test]
fn card_numbers_keep_last_four_when_luhn_valid() {
    assert_eq!(redact("card 4111111111111111"), "card ************1111");
    assert_eq!(
        redact("card 4111 1111 1111 1111 ok"),
        "card **** **** **** 1111 ok"
    );
    assert_eq!(redact("amex 3782-822463-10005"), "amex ****-******-*0005");
    // Luhn-invalid, too short or too long: not a card.
    for untouched in [
        "n=1234567890123",
        "order 4111111111111112",
        "order 12345",
        "order 12345 of 2024",
        "id 123456789012",
        "id 12345678901234567890",
        "at 12:30 on 2024-11-24",
    ] {
        assert_eq!(redact(untouched), untouched);
    }
}

#[test]
fn every_kind_in_one_line() {
    let line = "user jane.doe@example.com (+1 415-555-2671, ssn 123-45-6789) paid \
                4242-4242-4242-4242 from DE89370400440532013000 with api_key=sk_live_abc";
    assert_eq!(
        redact(line),
        "user j***@example.com (+* ***-***-**71, ssn ***-**-6789) paid \
         ****-****-****-4242 from DE****************3000 with api_key=[REDACTED]"
    );
}

#[test]
fn control_characters_are_escaped() {
    assert_eq!(
        redact("a\nb\r\tc\u{1b}[31m\u{202e}d\u{7f}"),
        "a\\nb\\r\\tc\\u{1b}[31m\\u{202e}d\\u{7f}"
    );
    assert!(!redact("x\n2024-01-01 INFO forged").contains('\n'));
    // Escaping comes last: a newline still ends a secret value.
    assert_eq!(redact("password=a\nnext"), "password=[REDACTED]\\nnext");
    // `mask` leaves them to the caller.
    assert_eq!(Redactor::default().mask("a\nb"), "a\nb");
}

#[test]
fn sensitive_keys_and_headers() {
    let r = Redactor::default();
    for key in [
        "password",
        "DB_PASSWD",
        "X-Api-Key",
        "apiKey",
        "Authorization",
        "client.secret",
        "session_id",
        "private_key",
    ] {
        assert!(r.is_sensitive_key(key), "{key}");
    }
    for key in ["user", "order_id", "route", "pass"] {
        assert!(!r.is_sensitive_key(key), "{key}");
    }
    for header in SENSITIVE_HEADERS {
        assert!(r.is_sensitive_header(header), "{header}");
        assert_eq!(
            r.redact(&format!("{header}: some value")),
            format!("{header}: [REDACTED]"),
            "{header}"
        );
    }
}

#[test]
fn allow_list_and_extra_patterns() {
    let r = Redactor::new(&RedactConfig {
        allow: vec![
            "support@example.com".into(),
            "4242424242424242".into(),
            "public-token".into(),
        ],
        // The second one matches only empty strings, which are skipped.
        patterns: vec![r"\bemp-\d{5}\b".into(), "z{0}".into()],
        keys: vec!["pin".into()],
        headers: vec!["X-Session".into()],
    })
    .unwrap();
    assert_eq!(
        r.redact("from support@example.com to jane@example.com"),
        "from support@example.com to j***@example.com"
    );
    assert_eq!(
        r.redact("test card 4242424242424242"),
        "test card 4242424242424242"
    );
    assert_eq!(r.redact("token=public-token"), "token=public-token");
    assert_eq!(r.redact("badge emp-12345 ok"), "badge [REDACTED] ok");
    assert_eq!(r.redact("PIN: 9911"), "PIN: [REDACTED]");
    assert_eq!(r.redact("x-session=abc"), "x-session=[REDACTED]");
    assert!(r.is_sensitive_header("x-session"));
}

#[test]
fn configuration_errors_name_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("patterns");
    std::fs::write(&path, "# ids\n\\bemp-\\d+\n\n").unwrap();
    let p = path.to_str().unwrap().to_owned();
    let pairs = [("REDLINE_REDACT_PATTERNS_FILE", p.as_str())];
    let get = crate::parse::test_source(&pairs);
    let c = RedactConfig::from_source(&get).unwrap();
    assert_eq!(c.patterns, [r"\bemp-\d+"]);

    std::fs::write(&path, "(unclosed\n").unwrap();
    let err = RedactConfig::from_source(&get).unwrap_err().to_string();
    assert!(err.contains("REDLINE_REDACT_PATTERNS_FILE"), "{err}");

    let pairs = [("REDLINE_REDACT_HEADERS", "x-ok, bad header")];
    let get = crate::parse::test_source(&pairs);
    let err = RedactConfig::from_source(&get).unwrap_err().to_string();
    assert!(
        err.contains("REDLINE_REDACT_HEADERS") && err.contains("bad header"),
        "{err}"
    );

    let many = RedactConfig {
        patterns: vec!["a".into(); 65],
        ..Default::default()
    };
    assert!(matches!(
        Redactor::new(&many),
        Err(RedactError::TooMany(65))
    ));
    let huge = RedactConfig {
        patterns: vec![r"\w{1000}\w{1000}\w{1000}".into()],
        ..Default::default()
    };
    assert!(matches!(
        Redactor::new(&huge),
        Err(RedactError::Pattern { .. })
    ));
}

/// Text is masked in its decoded form: percent-escapes (paths, query
/// strings, baggage), form-encoded `+`, and JSON strings inside JSON.
#[test]
fn encoded_forms_are_masked_decoded() {
    let cases = [
        (
            "/users/maria.gonzalez%2Bbank%40example.co.uk/profile",
            "/users/m***@example.co.uk/profile",
        ),
        ("/u/jane%2540example.com", "/u/j***@example.com"),
        ("/c/4242%204242%204242%204242", "/c/**** **** **** 4242"),
        ("/c/4242-4242-4242-4242%2F", "/c/****-****-****-4242%2F"),
        ("/p/%2B1%20415-555-2671", "/p/+* ***-***-**71"),
        ("?phone=%2B44+20+7946+0958", "?phone=+** ** **** **58"),
        (
            "?card=4242+4242+4242+4242&x=1",
            "?card=**** **** **** 4242&x=1",
        ),
        (
            "/i/DE89%203704%200044%200532%200130%2000",
            "/i/DE** **** **** **** **30 00",
        ),
        ("/s/078%2D05%2D1120", "/s/***-**-1120"),
        ("/q?q=password%3Dhunter2", "/q?q=password=[REDACTED]"),
        ("/q?x=Bearer%20abcdefgh12345", "/q?x=Bearer [REDACTED]"),
        ("/t/Bearer%20abcdefgh12345", "/t/Bearer [REDACTED]"),
        // A secret with an escaped space is masked whole (raw pass first).
        ("password=abc%20def next", "password=[REDACTED] next"),
        // Nothing to mask: the original spelling stays.
        (
            "/files/report%202026.pdf?a=1+2",
            "/files/report%202026.pdf?a=1+2",
        ),
        ("/bad/%FF%40x", "/bad/%FF%40x"),
        // JSON inside a JSON string.
        (
            r#"{\"password\": \"Tr0ub4dor&3-correct-horse\", \"n\": 1}"#,
            r#"{\"password\": \"[REDACTED]\", \"n\": 1}"#,
        ),
        // Quotes that are not a quoted value do not hide what follows.
        ("token=\",secret=\"TokenValue456", "token=\"[REDACTED]"),
        (
            "unknown field `token: abc123`, expected `chat_id`",
            "unknown field `token: [REDACTED]`, expected `chat_id`",
        ),
    ];
    let r = Redactor::default();
    for (input, expected) in cases {
        assert_eq!(r.mask(input), expected, "{input}");
    }
    // Invalid UTF-8 in escapes stays escaped; a decoded control character
    // is escaped by `redact`, after masking.
    assert_eq!(
        redact("/a%0Ab%E2%80%AE/jane%40example.com"),
        "/a\\nb\\u{202e}/j***@example.com"
    );
    assert_eq!(scan::percent_decode("%e2%82%ac%FF+1"), "€%FF+1");
}

#[test]
fn linear_on_a_megabyte() {
    const MB: usize = 1 << 20;
    let inputs = [
        "password=".repeat(MB / 9),
        "a.".repeat(MB / 2),
        "eyJa.".repeat(MB / 5),
        "1234 ".repeat(MB / 5),
        "1234-".repeat(MB / 5),
        "+1 ".repeat(MB / 3),
        "0 1 ".repeat(MB / 4),
        "(415) ".repeat(MB / 6),
        "DE89 ".repeat(MB / 5),
        "123-45-".repeat(MB / 7),
        "x@".repeat(MB / 2),
        "bearer ".repeat(MB / 7),
        "://a:".repeat(MB / 5),
        "\"token\":\"".to_owned() + &"x".repeat(MB),
        "=".to_owned() + &" ".repeat(MB) + "=",
        "\n".repeat(MB),
    ];
    // A quadratic pass would not finish; a linear one takes milliseconds.
    let r = Redactor::default();
    for input in &inputs {
        assert!(!r.redact(input).is_empty());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

    /// The one-pass summary only skips detectors that could not match:
    /// on text dense in digits, capitals and separators, masking with the
    /// summary equals running every detector.
    #[test]
    fn the_summary_never_skips_a_detector_that_would_match(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                "[0-9]{1,6}",
                "[0-9]{3}-[0-9]{2}-[0-9]{4}",
                "\\+[0-9]{8,14}",
                "\\+[0-9] \\([2-9][0-9]{2}\\) [2-9][0-9]{2}-[0-9]{4}",
                "\\([2-9][0-9]{2}\\) ?[2-9][0-9]{2}-[0-9]{4}",
                "[2-9][0-9]{2}[.-][2-9][0-9]{2}[.-][0-9]{4}",
                "0[1-9][0-9]{1,3}[ -][0-9]{3,4}[ -][0-9]{3,4}",
                "[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{1,4}",
                "[0-9]{13,19}",
                "(DE89370400440532013000|GB82 WEST 1234 5698 7654 32|[A-Z]{2}[0-9]{2}[0-9A-Z]{11,20})",
                "[a-z]{1,5}",
                "[ .,;:()=+@-]",
                "%(2[0BD]|40|3[AD])",
            ],
            0..10,
        ),
        glue in "[ ,]?",
    ) {
        let text = parts.join(&glue);
        let r = Redactor::default();
        proptest::prop_assert_eq!(r.mask(&text), r.mask_ungated(&text));
    }
}
