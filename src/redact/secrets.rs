//! The detectors of secrets: values of sensitive keys (`password=…`,
//! `"token": "…"`, `Authorization: Bearer …`), and JSON Web Tokens.

use std::borrow::Cow;

use super::scan::{Allow, Edits, MAX_KEY_LEN, REDACTED};

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
        || matches!(
            b,
            b'&' | b',' | b';' | b')' | b'}' | b']' | b'"' | b'\'' | b'`'
        )
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
        // A key quoted inside a JSON string: `\"password\": \"x\"`.
        if k > 0 && b[k - 1] == b'\\' {
            k -= 1;
        }
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

/// The value after the separator at `sep`: `(start, end, quoted)`, empty
/// if none. Quoted values span to the closing quote (the rest of the text
/// if none), and `Bearer`/`Basic` take the credentials after them along.
fn value_after(b: &[u8], sep: usize) -> (usize, usize, bool) {
    let n = b.len();
    let mut k = sep + 1;
    while k < n && matches!(b[k], b' ' | b'\t') {
        k += 1;
    }
    if k + 1 < n && b[k] == b'\\' && matches!(b[k + 1], b'"' | b'\'') {
        // A value quoted inside a JSON string (`\"x\"`): to the next
        // escaped quote of the same kind.
        let quote = b[k + 1];
        let start = k + 2;
        let mut j = start;
        while j < n && !(b[j] == b'\\' && b.get(j + 1) == Some(&quote)) {
            j += 1;
        }
        return (start, j.min(n), true);
    }
    if k < n && matches!(b[k], b'"' | b'\'') {
        let quote = b[k];
        let start = k + 1;
        let mut j = start;
        while j < n && b[j] != quote {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        // Text straight after the closing quote (`token=",secret="abc`):
        // the quotes were not a quoted value; the masked span runs on to
        // where an unquoted value would end.
        if j + 1 < n && !ends_value(b[j + 1]) && !matches!(b[j + 1], b'=' | b':') {
            let mut k = j + 1;
            while k < n && !ends_value(b[k]) {
                k += 1;
            }
            return (start, k, true);
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

/// How sensitive a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// Not at all.
    Plain,
    /// Its value is a secret.
    Secret,
    /// A sensitive header name: after `name:` the whole rest of the line
    /// is its value (`Cookie: a=1; session=x`).
    Header,
}

/// Secret values after sensitive keys, URL passwords, bearer tokens.
pub(crate) fn secrets<'t>(
    text: &'t str,
    allow: Allow<'_>,
    sensitive: &dyn Fn(&str) -> KeyKind,
) -> Cow<'t, str> {
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
                    && !allow.allows(&text[start + colon + 1..at])
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
                    && let kind = sensitive(&text[ks..ke])
                    && kind != KeyKind::Plain
                {
                    let (vs, mut ve, value_quoted) = value_after(b, i);
                    if kind == KeyKind::Header && sep == b':' && !value_quoted && !key_quoted {
                        while ve < n && !matches!(b[ve], b'\n' | b'\r') {
                            ve += 1;
                        }
                    }
                    if vs < ve
                        && (sep == b'='
                            || key_quoted
                            || value_quoted
                            || kind == KeyKind::Header
                            || looks_secret(&b[vs..ve]))
                        && !allow.allows(&text[vs..ve])
                    {
                        edits.replace(vs, ve, REDACTED);
                        i = ve;
                        continue;
                    }
                }
            }
            b'B' | b'b'
                // After `=` or `/` too: `?auth=Bearer%20…`, `/Bearer%20…`.
                if (i == 0 || !is_token_byte(b[i - 1]) || matches!(b[i - 1], b'=' | b'/'))
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
                if token.len() >= 8
                    && !token.iter().all(u8::is_ascii_lowercase)
                    && !allow.allows(&text[start..end])
                {
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

/// JWT-looking tokens: `eyJ…​.eyJ…​.…` (base64url parts; the first two are
/// JSON objects, which base64url-encode to `eyJ`).
pub(crate) fn jwts<'t>(text: &'t str, allow: Allow<'_>) -> Cow<'t, str> {
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
                if !allow.allows(&text[i..e3]) {
                    edits.replace(i, e3, REDACTED);
                }
                i = e3;
                continue;
            }
        }
        i = e1;
    }
    edits.finish()
}
