//! Fingerprints: the error's kind plus its message with the values that
//! change from one occurrence to the next (numbers, ids, UUIDs, hex,
//! quoted values, e-mail addresses) replaced by placeholders, so that
//! `user 42 not found` and `user 7 not found` land in one group.
//!
//! The scanner is hand-written (no regex crate) and linear in the input:
//! every lookahead that fails either records how far nothing can match
//! (quotes, e-mail addresses) or only looks at the current word, which is
//! then copied whole.

use crate::text::{is_word, match_email};

/// Longest kind kept in a fingerprint, in characters.
pub(crate) const MAX_KIND_CHARS: usize = 128;
/// Longest normalized message kept in a fingerprint, in characters.
pub(crate) const MAX_MESSAGE_CHARS: usize = 256;

/// Shortest all-hex word written as `<hex>` (without a `0x` prefix).
const MIN_HEX_LEN: usize = 8;
/// Shortest word mixing ASCII letters and digits written as `<id>`.
const MIN_ID_LEN: usize = 8;

/// The grouping key of an error: `"kind: normalized message"`.
///
/// Normalization, left to right in one pass:
///
/// - single- or double-quoted strings → `<str>` (a single quote opens a
///   string only at the start of a word, so `can't` stays as it is);
/// - e-mail addresses → `<email>` (also masked ones such as
///   `j***@example.com`, as written by [`default_redact`](super::default_redact));
/// - UUIDs → `<uuid>`;
/// - `0x`-prefixed hex numbers, and words of at least 8 hex digits with at
///   least one letter → `<hex>` (an all-digit word is a number, `<n>`);
/// - other words of at least 8 ASCII letters and digits, with both → `<id>`
///   (random ids such as `a8Kz3mQ9`; short ones like `utf8` stay);
/// - numbers at the start of a word (integers, decimals, negative) → `<n>`,
///   so `1500ms` becomes `<n>ms` but `http2` stays;
/// - runs of whitespace and control characters → one space.
///
/// The kind is cut to 128 characters and the normalized message to 256
/// (at a character boundary), so a fingerprint is at most 386 characters.
///
/// ```
/// use redline::errors::fingerprint;
///
/// let a = fingerprint("db", "user 42 not found in 'eu-1' after 1.5s");
/// let b = fingerprint("db", "user 7 not found in \"us-2\" after 30s");
/// assert_eq!(a, "db: user <n> not found in <str> after <n>s");
/// assert_eq!(a, b);
/// assert_eq!(
///     fingerprint("http_500", "order 550e8400-e29b-41d4-a716-446655440000 for bob@example.com"),
///     "http_500: order <uuid> for <email>"
/// );
/// assert_ne!(fingerprint("db", "user 42 not found"), fingerprint("cache", "user 42 not found"));
/// ```
pub fn fingerprint(kind: &str, message: &str) -> String {
    let kind = sanitize_kind(kind);
    let mut out = String::with_capacity(kind.len() + 2 + message.len().min(MAX_MESSAGE_CHARS));
    out.push_str(&kind);
    out.push(':');
    let start = out.len();
    out.push(' ');
    normalize_into(message, &mut out, MAX_MESSAGE_CHARS);
    if out.len() == start + 1 {
        // Empty message: `kind:`.
        out.truncate(start);
    }
    out
}

/// The kind as kept: whitespace and control characters collapsed to one
/// space, trimmed, at most [`MAX_KIND_CHARS`] characters.
pub(crate) fn sanitize_kind(kind: &str) -> String {
    let mut out = String::with_capacity(kind.len().min(MAX_KIND_CHARS));
    let mut chars = 0;
    let mut space = false;
    for c in kind.chars() {
        if chars == MAX_KIND_CHARS {
            break;
        }
        if c.is_whitespace() || c.is_control() {
            space = chars > 0;
            continue;
        }
        if space {
            out.push(' ');
            chars += 1;
            space = false;
            if chars == MAX_KIND_CHARS {
                break;
            }
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// A UUID (8-4-4-4-12 hex digits) at `i`, ending at a word boundary.
fn is_uuid_at(b: &[u8], i: usize) -> bool {
    const LEN: usize = 36;
    if b.len() < i + LEN {
        return false;
    }
    let ok = b[i..i + LEN].iter().enumerate().all(|(k, &c)| match k {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    ok && b.get(i + LEN).is_none_or(|&c| !is_word(c))
}

/// Output of [`normalize_into`]: counts characters, writes collapsed
/// whitespace lazily (never at the end) and stops at the budget.
struct Writer<'a> {
    out: &'a mut String,
    chars: usize,
    max_chars: usize,
    space: bool,
}

impl Writer<'_> {
    fn full(&self) -> bool {
        self.chars >= self.max_chars
    }

    fn flush_space(&mut self) {
        if self.space {
            self.out.push(' ');
            self.chars += 1;
            self.space = false;
        }
    }

    /// A placeholder (ASCII), written whole: the final cut may shorten it.
    fn token(&mut self, token: &str) {
        self.flush_space();
        self.out.push_str(token);
        self.chars += token.len();
    }

    /// Text copied from the message, up to the budget.
    fn text(&mut self, text: &str) {
        self.flush_space();
        for c in text.chars() {
            if self.full() {
                return;
            }
            self.out.push(c);
            self.chars += 1;
        }
    }
}

/// Appends the normalized `message` to `out`, at most `max_chars`
/// characters.
fn normalize_into(message: &str, out: &mut String, max_chars: usize) {
    let b = message.as_bytes();
    let n = b.len();
    let start = out.len();
    let mut w = Writer {
        out,
        chars: 0,
        max_chars,
        space: false,
    };
    // No e-mail address starts before this index (see `match_email`).
    let mut email_until = 0usize;
    // Set once a search for a closing quote failed: none follows.
    let mut no_single = false;
    let mut no_double = false;

    let mut i = 0;
    while i < n && !w.full() {
        let c = b[i];
        if c.is_ascii_whitespace() || c.is_ascii_control() {
            w.space = w.chars > 0;
            i += 1;
            continue;
        }
        let word_start = i == 0 || !is_word(b[i - 1]);

        // Quoted strings.
        if c == b'"' && !no_double || c == b'\'' && word_start && !no_single {
            match b[i + 1..].iter().position(|&x| x == c) {
                Some(len) => {
                    w.token("<str>");
                    i += len + 2;
                    continue;
                }
                None if c == b'"' => no_double = true,
                None => no_single = true,
            }
        }

        if word_start && c.is_ascii_alphanumeric() {
            if i >= email_until {
                match match_email(b, i) {
                    Ok((_, end)) => {
                        w.token("<email>");
                        i = end;
                        continue;
                    }
                    Err(until) => email_until = until,
                }
            }
            if is_uuid_at(b, i) {
                w.token("<uuid>");
                i += 36;
                continue;
            }
            let mut end = i;
            while end < n && is_word(b[end]) {
                end += 1;
            }
            if let Some(placeholder) = classify_word(&b[i..end]) {
                w.token(placeholder);
                i = end;
                continue;
            }
            if c.is_ascii_digit() {
                let mut j = i;
                while j < n && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j + 1 < n && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                    j += 1;
                    while j < n && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                // The `-` just copied is a sign when it starts a word:
                // `-5` is one number, `a-5` is not.
                if i >= 1
                    && b[i - 1] == b'-'
                    && (i < 2 || !is_word(b[i - 2]))
                    && !w.space
                    && w.out.len() > start
                    && w.out.ends_with('-')
                {
                    w.out.pop();
                    w.chars -= 1;
                }
                w.token("<n>");
                i = j;
                continue;
            }
            // A plain word: copied whole (nothing inside it starts a word).
            w.text(&message[i..end]);
            i = end;
            continue;
        }

        // Any other character, copied as it is.
        let ch = message[i..].chars().next().unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        w.text(ch.encode_utf8(&mut buf));
        i += ch.len_utf8();
    }

    // A placeholder may have gone over the budget.
    if w.chars > max_chars
        && let Some((cut, _)) = out[start..].char_indices().nth(max_chars)
    {
        out.truncate(start + cut);
    }
    while out.len() > start && out.ends_with(' ') {
        out.pop();
    }
}

/// Placeholder for a whole word that is a hex number or an id.
fn classify_word(word: &[u8]) -> Option<&'static str> {
    if word.len() > 2
        && word[0] == b'0'
        && matches!(word[1], b'x' | b'X')
        && word[2..].iter().all(u8::is_ascii_hexdigit)
    {
        return Some("<hex>");
    }
    if word.len() < MIN_HEX_LEN.min(MIN_ID_LEN) || !word.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let digits = word.iter().any(u8::is_ascii_digit);
    let letters = word.iter().any(u8::is_ascii_alphabetic);
    if !letters {
        // All digits: a number, written `<n>` by the caller.
        return None;
    }
    if word.len() >= MIN_HEX_LEN && word.iter().all(u8::is_ascii_hexdigit) {
        return Some("<hex>");
    }
    if word.len() >= MIN_ID_LEN && digits {
        return Some("<id>");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(message: &str) -> String {
        let fp = fingerprint("k", message);
        fp.strip_prefix("k: ")
            .or_else(|| fp.strip_prefix("k:"))
            .unwrap()
            .to_owned()
    }

    #[test]
    fn messages_differing_only_in_values_group_together() {
        let same = [
            (
                "user 42 not found",
                "user 1337 not found",
                "user <n> not found",
            ),
            (
                "order 550e8400-e29b-41d4-a716-446655440000 failed",
                "order 6BA7B810-9DAD-11D1-80B4-00C04FD430C8 failed",
                "order <uuid> failed",
            ),
            (
                "object at 0xdeadbeef freed",
                "object at 0x7f3a freed",
                "object at <hex> freed",
            ),
            (
                "commit 3f2a9c1d4e5b missing",
                "commit deadbeefcafe missing",
                "commit <hex> missing",
            ),
            (
                "key 'abc' rejected",
                "key \"x y z\" rejected",
                "key <str> rejected",
            ),
            (
                "mail to john.doe@example.com bounced",
                "mail to a@mail.example.org bounced",
                "mail to <email> bounced",
            ),
            (
                "balance -3.50 below 0",
                "balance 12 below 1000.25",
                "balance <n> below <n>",
            ),
            (
                "timeout after 1500ms on /users/42/orders",
                "timeout after 30ms on /users/7/orders",
                "timeout after <n>ms on /users/<n>/orders",
            ),
            (
                "request req_a8Kz3mQ9x2 failed",
                "request req_Zq81kLm0Pw failed",
                "request req_<id> failed",
            ),
            (
                "job_42   failed\n\tretry",
                "job_7 failed retry",
                "job_<n> failed retry",
            ),
            (
                "masked j***@example.com",
                "masked m***@example.org",
                "masked <email>",
            ),
        ];
        for (a, b, expected) in same {
            assert_eq!(norm(a), expected, "{a}");
            assert_eq!(norm(b), expected, "{b}");
            assert_eq!(fingerprint("db", a), fingerprint("db", b));
        }
    }

    #[test]
    fn different_kinds_or_words_stay_apart() {
        assert_ne!(
            fingerprint("db", "user 42 not found"),
            fingerprint("cache", "user 42 not found")
        );
        assert_ne!(
            fingerprint("db", "user 42 not found"),
            fingerprint("db", "group 42 not found")
        );
        assert_ne!(
            fingerprint("db", "connection refused"),
            fingerprint("db", "connection reset")
        );
        // Words that merely contain digits or hex letters are kept.
        assert_eq!(norm("http2 utf8 sha256 facade"), "http2 utf8 sha256 facade");
        assert_eq!(norm("shard-5 x-12"), "shard-<n> x-<n>");
        assert_eq!(
            norm("can't open 'a' users' file"),
            "can't open <str> users' file"
        );
        assert_eq!(norm("é42 v1.2.3"), "é42 v1.<n>");
        assert_eq!(norm("range 5-10 and -7"), "range <n>-<n> and <n>");
        assert_eq!(norm("unclosed \"quote 5"), "unclosed \"quote <n>");
    }

    #[test]
    fn kind_and_empty_message() {
        assert_eq!(fingerprint("http_500", ""), "http_500:");
        assert_eq!(fingerprint(" a\n b ", "  x  "), "a b: x");
        let long_kind = "k".repeat(500);
        assert_eq!(
            fingerprint(&long_kind, "m"),
            format!("{}: m", "k".repeat(MAX_KIND_CHARS))
        );
    }

    #[test]
    fn truncation_is_char_boundary_safe() {
        let message = "é".repeat(1000);
        let fp = fingerprint("k", &message);
        assert_eq!(fp, format!("k: {}", "é".repeat(MAX_MESSAGE_CHARS)));
        let mixed = "日本語 x ".repeat(200);
        let fp = fingerprint("k", &mixed);
        assert!(fp.chars().count() <= 3 + MAX_MESSAGE_CHARS);
        let emoji = format!("a{}", "🦀".repeat(400));
        assert_eq!(
            fingerprint("k", &emoji).chars().count(),
            3 + MAX_MESSAGE_CHARS
        );
    }

    #[test]
    fn linear_on_a_megabyte() {
        const MB: usize = 1 << 20;
        let inputs = [
            "a.".repeat(MB / 2),
            "\"".to_owned() + &"x".repeat(MB),
            "'a ".repeat(MB / 3),
            " ".repeat(MB),
            "x@".repeat(MB / 2),
            "a.b@c.".repeat(MB / 6),
            "0".repeat(MB),
            "-1.".repeat(MB / 3),
        ];
        for input in &inputs {
            let fp = fingerprint("k", input);
            assert!(fp.chars().count() <= 3 + MAX_MESSAGE_CHARS);
        }
    }
}
