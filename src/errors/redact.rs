//! The default redactor of error samples: a few passes, each linear in the
//! text, that mask the secrets and personal data most often found in error
//! messages. It is a plain `fn(&str) -> String` so a fuller masker can
//! replace it (see [`ErrorTrackerConfig::redact`](super::ErrorTrackerConfig::redact)).

use std::borrow::Cow;

use super::fingerprint::{is_word, match_email};

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Substrings of key names whose values are secrets, compared with the key
/// lowercased and stripped of everything but letters and digits (so
/// `api_key`, `X-Api-Key` and `apiKey` all match `apikey`).
const SENSITIVE_KEYS: [&str; 6] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
];

/// Longest key looked at before a `=` or `:` (longer keys are judged by
/// their last 64 bytes).
const MAX_KEY_LEN: usize = 64;

/// Masks secrets and personal data in `text`:
///
/// - values of `key=value`, `key: value`, `"key":"value"` (and `'key'`)
///   pairs whose key contains `password`, `passwd`, `secret`, `token`,
///   `api_key`/`apikey` or `authorization` (any case) → `[REDACTED]`; after
///   an unquoted `key:` the value must look like a secret (a digit, a
///   symbol, inner capitals or 16+ characters), so that an error chain
///   such as `refresh token: connection refused` stays readable;
/// - the password of URL credentials (`postgres://app:[REDACTED]@db`);
/// - `Bearer <token>` → `Bearer [REDACTED]`, and JWT-looking tokens (three
///   base64url parts separated by dots, the first two starting with `eyJ`,
///   as JSON objects do) → `[REDACTED]`;
/// - e-mail addresses → first character and domain: `j***@example.com`;
/// - runs of 13 to 19 digits, and card-like groups such as
///   `4111 1111 1111 1111` (possible card numbers) → all but the last four
///   digits masked: `************1111`;
/// - control characters (and Unicode line separators and bidi overrides)
///   escaped: a newline becomes `\n`, so a sample cannot forge log lines.
///
/// Other text, such as `order 12345`, is left as it is. The masks are
/// heuristics; a later, fuller PII masker can take its place in
/// [`ErrorTrackerConfig::redact`](super::ErrorTrackerConfig::redact).
///
/// ```
/// use redline::errors::default_redact;
///
/// assert_eq!(
///     default_redact("login failed for john@example.com: password=hunter2"),
///     "login failed for j***@example.com: password=[REDACTED]"
/// );
/// assert_eq!(default_redact("card 4111111111111111 declined"), "card ************1111 declined");
/// assert_eq!(default_redact("Authorization: Bearer abc.def-123"), "Authorization: [REDACTED]");
/// assert_eq!(default_redact("line one\nline two"), "line one\\nline two");
/// assert_eq!(default_redact("order 12345 not found"), "order 12345 not found");
/// ```
pub fn default_redact(text: &str) -> String {
    let text = redact_secrets(text);
    let text = redact_jwts(&text);
    let text = mask_emails(&text);
    let text = mask_card_numbers(&text);
    escape_controls(&text).into_owned()
}

/// Whether a field or key name names a secret (`password`, `api_key`,
/// `Authorization`...): its value is then redacted whole.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let mut folded = [0u8; MAX_KEY_LEN];
    let mut len = 0;
    let bytes = key.as_bytes();
    // Judge long keys by their end, like `key_before` does.
    let tail = &bytes[bytes.len().saturating_sub(MAX_KEY_LEN)..];
    for &b in tail {
        if b.is_ascii_alphanumeric() {
            folded[len] = b.to_ascii_lowercase();
            len += 1;
        }
    }
    let folded = &folded[..len];
    SENSITIVE_KEYS
        .iter()
        .any(|k| folded.windows(k.len()).any(|w| w == k.as_bytes()))
}

/// Escapes control characters, Unicode line/paragraph separators and
/// bidirectional overrides (`\n`, `\u{1b}`, `\u{202e}`...).
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    fn needs_escape(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Builds the output of a pass from replaced ranges (in increasing order).
struct Edits<'a> {
    text: &'a str,
    out: Option<String>,
    copied: usize,
}

impl<'a> Edits<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            out: None,
            copied: 0,
        }
    }

    /// Replaces `text[start..end]` (ASCII boundaries) with `with`.
    fn replace(&mut self, start: usize, end: usize, with: &str) {
        let text = self.text;
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(text.len() + 16));
        out.push_str(&text[self.copied..start]);
        out.push_str(with);
        self.copied = end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.text),
            Some(mut out) => {
                out.push_str(&self.text[self.copied..]);
                Cow::Owned(out)
            }
        }
    }
}

/// Bytes of a key name (`db.password`, `X-Api-Key`, `client_secret`).
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Bytes of a bearer token (base64, base64url and URL-safe characters).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Bytes that end an unquoted value.
fn ends_value(b: u8) -> bool {
    b.is_ascii_whitespace()
        || b.is_ascii_control()
        || matches!(b, b'&' | b',' | b';' | b')' | b'}' | b']' | b'"' | b'\'')
}

/// The key before the separator at `sep`: `(start, end, quoted)`.
fn key_before(b: &[u8], sep: usize) -> Option<(usize, usize, bool)> {
    let mut k = sep;
    while k > 0 && matches!(b[k - 1], b' ' | b'\t') {
        k -= 1;
    }
    let quoted = k > 0 && matches!(b[k - 1], b'"' | b'\'');
    if quoted {
        k -= 1;
    }
    let end = k;
    let floor = end.saturating_sub(MAX_KEY_LEN);
    while k > floor && is_key_byte(b[k - 1]) {
        k -= 1;
    }
    (k < end).then_some((k, end, quoted))
}

/// Whether an unquoted value after `key:` looks like a secret rather than
/// the next words of an error chain.
fn looks_secret(value: &[u8]) -> bool {
    let capitalized_word = value.len() > 1
        && value[0].is_ascii_uppercase()
        && value[1..].iter().all(u8::is_ascii_lowercase);
    let unlike_prose = value
        .iter()
        .any(|b| !b.is_ascii_alphabetic() || b.is_ascii_uppercase());
    value.len() >= 16 || (unlike_prose && !capitalized_word)
}

/// The value after the separator at `sep`: `(start, end)`, empty if none.
/// Quoted values span to the closing quote (the rest of the text if none),
/// and `Bearer`/`Basic` take the credentials after them along.
fn value_after(b: &[u8], sep: usize) -> (usize, usize, bool) {
    let n = b.len();
    let mut k = sep + 1;
    while k < n && matches!(b[k], b' ' | b'\t') {
        k += 1;
    }
    if k < n && matches!(b[k], b'"' | b'\'') {
        let quote = b[k];
        let start = k + 1;
        let mut j = start;
        while j < n && b[j] != quote {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        return (start, j.min(n), true);
    }
    let start = k;
    if k < n && matches!(b[k], b'=' | b':') {
        return (start, start, false);
    }
    while k < n && !ends_value(b[k]) {
        k += 1;
    }
    let scheme = &b[start..k];
    if (scheme.eq_ignore_ascii_case(b"bearer") || scheme.eq_ignore_ascii_case(b"basic"))
        && k + 1 < n
        && b[k] == b' '
        && !ends_value(b[k + 1])
    {
        k += 1;
        while k < n && !ends_value(b[k]) {
            k += 1;
        }
    }
    (start, k, false)
}

/// Secret values after sensitive keys, URL passwords, bearer tokens.
fn redact_secrets(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let n = b.len();
    let mut edits = Edits::new(text);
    let mut i = 0;
    while i < n {
        match b[i] {
            b':' if b[i..].starts_with(b"://") => {
                // scheme://user:password@host: the password goes.
                let start = i + 3;
                let mut j = start;
                let mut at = None;
                while j < n && !matches!(b[j], b'/' | b'?' | b'#') && !ends_value(b[j]) {
                    if b[j] == b'@' {
                        at = Some(j);
                    }
                    j += 1;
                }
                if let Some(at) = at
                    && let Some(colon) = b[start..at].iter().position(|&c| c == b':')
                    && start + colon + 1 < at
                {
                    edits.replace(start + colon + 1, at, REDACTED);
                    i = at;
                    continue;
                }
                i = start;
                continue;
            }
            sep @ (b'=' | b':') => {
                if let Some((ks, ke, key_quoted)) = key_before(b, i)
                    && is_sensitive_key(&text[ks..ke])
                {
                    let (vs, ve, value_quoted) = value_after(b, i);
                    if vs < ve
                        && (sep == b'=' || key_quoted || value_quoted || looks_secret(&b[vs..ve]))
                    {
                        edits.replace(vs, ve, REDACTED);
                        i = ve;
                        continue;
                    }
                }
            }
            b'B' | b'b'
                if (i == 0 || !is_token_byte(b[i - 1]))
                    && b.len() >= i + 7
                    && b[i..i + 6].eq_ignore_ascii_case(b"bearer")
                    && matches!(b[i + 6], b' ' | b'\t') =>
            {
                let mut start = i + 6;
                while start < n && matches!(b[start], b' ' | b'\t') {
                    start += 1;
                }
                let mut end = start;
                while end < n && is_token_byte(b[end]) {
                    end += 1;
                }
                let token = &b[start..end];
                // "bearer token missing" is prose, not a token.
                if token.len() >= 8 && !token.iter().all(u8::is_ascii_lowercase) {
                    edits.replace(start, end, REDACTED);
                    i = end;
                } else {
                    i = start;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    edits.finish()
}

/// JWT-looking tokens: `eyJ…​.eyJ…​.…` (base64url parts).
fn redact_jwts(text: &str) -> Cow<'_, str> {
    fn is_b64url(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    }
    let b = text.as_bytes();
    let n = b.len();
    let part_end = |mut k: usize| {
        while k < n && is_b64url(b[k]) {
            k += 1;
        }
        k
    };
    let mut edits = Edits::new(text);
    let mut i = 0;
    while i + 3 <= n {
        if !(b[i..].starts_with(b"eyJ") && (i == 0 || !is_b64url(b[i - 1]))) {
            i += 1;
            continue;
        }
        let e1 = part_end(i);
        if e1 < n && b[e1] == b'.' && b[e1 + 1..].starts_with(b"eyJ") {
            let e2 = part_end(e1 + 1);
            if e2 < n && b[e2] == b'.' {
                let e3 = part_end(e2 + 1);
                edits.replace(i, e3, REDACTED);
                i = e3;
                continue;
            }
        }
        i = e1;
    }
    edits.finish()
}

/// E-mail addresses: `john@example.com` → `j***@example.com`.
fn mask_emails(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut edits = Edits::new(text);
    let mut until = 0;
    let mut i = 0;
    while i < b.len() {
        if i >= until && b[i].is_ascii_alphanumeric() && (i == 0 || !is_word(b[i - 1])) {
            match match_email(b, i) {
                Ok((at, end)) => {
                    // Keep the first character and the domain.
                    edits.replace(i + 1, at, "***");
                    i = end;
                    continue;
                }
                Err(next) => until = next,
            }
        }
        i += 1;
    }
    edits.finish()
}

/// Possible card numbers: all but the last four digits masked.
fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    const MIN: usize = 13;
    const MAX: usize = 19;
    let b = text.as_bytes();
    let n = b.len();
    if b.iter().filter(|b| b.is_ascii_digit()).count() < MIN {
        return Cow::Borrowed(text);
    }
    let run_end = |mut k: usize| {
        while k < n && b[k].is_ascii_digit() {
            k += 1;
        }
        k
    };
    let mut edits = Edits::new(text);
    let mut masked = String::new();
    let mut i = 0;
    while i < n {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let end = run_end(i);
        let mut matched = None;
        if (MIN..=MAX).contains(&(end - i)) {
            matched = Some(end);
        } else if end - i == 4 && end < n && matches!(b[end], b' ' | b'-') {
            // Groups: `4111 1111 1111 1111`, `3782-822463-10005`...
            let sep = b[end];
            let (mut total, mut groups, mut last) = (4, 1, end);
            while last + 1 < n && b[last] == sep && b[last + 1].is_ascii_digit() {
                let next = run_end(last + 1);
                let len = next - last - 1;
                if !(3..=6).contains(&len) || total + len > MAX {
                    break;
                }
                total += len;
                groups += 1;
                last = next;
            }
            if groups >= 3 && total >= MIN {
                matched = Some(last);
            }
        }
        match matched {
            Some(m) => {
                let digits = b[i..m].iter().filter(|b| b.is_ascii_digit()).count();
                let mut seen = 0;
                masked.clear();
                for &c in &b[i..m] {
                    if c.is_ascii_digit() {
                        seen += 1;
                        masked.push(if seen + 4 > digits { c as char } else { '*' });
                    } else {
                        masked.push(c as char);
                    }
                }
                edits.replace(i, m, &masked);
                i = m;
            }
            None => i = end,
        }
    }
    edits.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_first_character_and_domain() {
        assert_eq!(
            default_redact("to john.doe@example.com and a@b.co."),
            "to j***@example.com and a***@b.co."
        );
        // Not addresses.
        assert_eq!(
            default_redact("user@localhost @home a@b"),
            "user@localhost @home a@b"
        );
    }

    #[test]
    fn bearer_and_jwt() {
        assert_eq!(
            default_redact("sent Bearer 8f3kQ9zLm2xW header"),
            "sent Bearer [REDACTED] header"
        );
        assert_eq!(
            default_redact("bearer token missing"),
            "bearer token missing"
        );
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhYmMifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert_eq!(default_redact(&format!("jwt={jwt}")), "jwt=[REDACTED]");
        assert_eq!(
            default_redact(&format!("got {jwt}, rejected")),
            "got [REDACTED], rejected"
        );
        // Dotted names are not tokens.
        assert_eq!(
            default_redact("config.prod.toml at db.internal.example"),
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
                "authorization=Basic dXNlcjpwYXNz done",
                "authorization=[REDACTED] done",
            ),
            ("X-Api-Key: 9f8e7d", "X-Api-Key: [REDACTED]"),
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
            assert_eq!(default_redact(input), expected, "{input}");
        }
    }

    #[test]
    fn url_credentials() {
        assert_eq!(
            default_redact("connect postgres://app:s3cr@t@db:5432/main failed"),
            "connect postgres://app:[REDACTED]@db:5432/main failed"
        );
        assert_eq!(
            default_redact("GET https://example.com/a:b@c"),
            "GET https://example.com/a:b@c"
        );
    }

    #[test]
    fn card_numbers_keep_last_four() {
        assert_eq!(
            default_redact("card 4111111111111111"),
            "card ************1111"
        );
        assert_eq!(
            default_redact("card 4111 1111 1111 1111 ok"),
            "card **** **** **** 1111 ok"
        );
        assert_eq!(
            default_redact("amex 3782-822463-10005"),
            "amex ****-******-*0005"
        );
        assert_eq!(default_redact("n=1234567890123"), "n=*********0123");
        // Too short or too long: not a card.
        assert_eq!(default_redact("order 12345"), "order 12345");
        assert_eq!(default_redact("order 12345 of 2024"), "order 12345 of 2024");
        assert_eq!(default_redact("id 123456789012"), "id 123456789012");
        assert_eq!(
            default_redact("id 12345678901234567890"),
            "id 12345678901234567890"
        );
        assert_eq!(
            default_redact("at 12:30 on 2024-11-24"),
            "at 12:30 on 2024-11-24"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            default_redact("a\nb\r\tc\u{1b}[31m\u{202e}d\u{7f}"),
            "a\\nb\\r\\tc\\u{1b}[31m\\u{202e}d\\u{7f}"
        );
        assert!(!default_redact("x\n2024-01-01 INFO forged").contains('\n'));
        // Escaping comes last: a newline still ends a secret value.
        assert_eq!(
            default_redact("password=a\nnext"),
            "password=[REDACTED]\\nnext"
        );
    }

    #[test]
    fn sensitive_keys() {
        for key in [
            "password",
            "DB_PASSWD",
            "X-Api-Key",
            "apiKey",
            "Authorization",
            "client.secret",
        ] {
            assert!(is_sensitive_key(key), "{key}");
        }
        for key in ["user", "order_id", "route", "pass"] {
            assert!(!is_sensitive_key(key), "{key}");
        }
    }

    #[test]
    fn linear_on_a_megabyte() {
        const MB: usize = 1 << 20;
        let inputs = [
            "password=".repeat(MB / 9),
            "a.".repeat(MB / 2),
            "eyJa.".repeat(MB / 5),
            "1234 ".repeat(MB / 5),
            "x@".repeat(MB / 2),
            "bearer ".repeat(MB / 7),
            "://a:".repeat(MB / 5),
            "\"token\":\"".to_owned() + &"x".repeat(MB),
            "=".to_owned() + &" ".repeat(MB) + "=",
            "\n".repeat(MB),
        ];
        for input in &inputs {
            let out = default_redact(input);
            assert!(!out.is_empty());
        }
    }
}
