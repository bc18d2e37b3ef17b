//! The detectors: passes over the text, each linear in its length, that find
//! one kind of secret or personal data and replace it. They share [`Edits`],
//! which copies the text only when something is replaced, and [`Allow`], the
//! allow-list every match is checked against.
//!
//! Hand-written rather than regular expressions: card numbers need the Luhn
//! check, IBANs the ISO 7064 checksum and SSNs their validity rules, which a
//! regex cannot express; and one pass per detector over bytes, skipped when
//! a one-pass summary shows it cannot match, keeps the common case (a log
//! line with nothing to mask) at a few nanoseconds per byte (see
//! `docs/PERFORMANCE.md`).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::text::{is_word, match_email};

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Substrings of key names whose values are secrets, compared with the key
/// lowercased and stripped of everything but letters and digits (so
/// `api_key`, `X-Api-Key` and `apiKey` all match `apikey`).
pub(crate) const SENSITIVE_KEYS: [&str; 10] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "credential",
    "privatekey",
    "sessionid",
];

/// Longest key looked at before a `=` or `:` (longer keys are judged by
/// their last 64 bytes).
pub(crate) const MAX_KEY_LEN: usize = 64;

/// Folds a key name for comparison: its last [`MAX_KEY_LEN`] bytes, letters
/// and digits only, lowercased. Returns the length written to `out`.
pub(crate) fn fold_key(key: &str, out: &mut [u8; MAX_KEY_LEN]) -> usize {
    let bytes = key.as_bytes();
    let tail = &bytes[bytes.len().saturating_sub(MAX_KEY_LEN)..];
    let mut len = 0;
    for &b in tail {
        if b.is_ascii_alphanumeric() {
            out[len] = b.to_ascii_lowercase();
            len += 1;
        }
    }
    len
}

/// Whether a folded key contains one of `needles` (folded too).
pub(crate) fn key_matches<'a>(folded: &[u8], mut needles: impl Iterator<Item = &'a str>) -> bool {
    needles.any(|k| !k.is_empty() && folded.windows(k.len()).any(|w| w == k.as_bytes()))
}

/// The values that are never masked (exact matches).
#[derive(Clone, Copy)]
pub(crate) struct Allow<'a>(pub(crate) &'a [Box<str>]);

impl Allow<'_> {
    #[inline]
    pub(crate) fn allows(&self, token: &str) -> bool {
        !self.0.is_empty() && self.0.iter().any(|a| **a == *token)
    }
}

/// Builds the output of a pass from replaced ranges (in increasing order).
pub(crate) struct Edits<'a> {
    text: &'a str,
    out: Option<String>,
    copied: usize,
}

impl<'a> Edits<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            out: None,
            copied: 0,
        }
    }

    /// Replaces `text[start..end]` (character boundaries) with `with`.
    pub(crate) fn replace(&mut self, start: usize, end: usize, with: &str) {
        let text = self.text;
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(text.len() + 16));
        out.push_str(&text[self.copied..start]);
        out.push_str(with);
        self.copied = end;
    }

    pub(crate) fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.text),
            Some(mut out) => {
                out.push_str(&self.text[self.copied..]);
                Cow::Owned(out)
            }
        }
    }
}

/// Applies `pass` to a `Cow`, keeping it borrowed when nothing changes.
pub(crate) fn chain<'a>(
    text: Cow<'a, str>,
    pass: impl FnOnce(&str) -> Cow<'_, str>,
) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(t) => pass(t),
        Cow::Owned(t) => match pass(&t) {
            Cow::Borrowed(_) => Cow::Owned(t),
            Cow::Owned(changed) => Cow::Owned(changed),
        },
    }
}

/// What one pass over the bytes learned, so that detectors which cannot
/// match are skipped. Each flag is a necessary condition of its detector
/// (a property test checks the detectors against random text), cheap to
/// track here: a typical log line with a request id holds digits and
/// capitals, but no shape any of the number detectors needs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Summary {
    pub(crate) digits: usize,
    pub(crate) at: bool,
    pub(crate) separator: bool,
    pub(crate) b: bool,
    pub(crate) upper: bool,
    /// Two capitals then two digits (an IBAN's country and check digits).
    pub(crate) iban_start: bool,
    /// A run of 13 or more digits (a card written together).
    pub(crate) long_run: bool,
    /// A run of 4+ digits, then a space or dash, then a digit (a card in
    /// groups).
    pub(crate) card_group: bool,
    /// A run of 3+ digits, then a dash, then a digit (an SSN).
    pub(crate) ssn_group: bool,
    /// `+` or `(` before a digit, or a run of 2+ digits then a space,
    /// dash or dot and a digit (a phone number).
    pub(crate) phone_group: bool,
    /// A percent-escape (`%` and two hex digits) or a `+` between digits
    /// (form encoding's space): the text is masked decoded too.
    pub(crate) encoded: bool,
}

impl Summary {
    /// Every flag set: no detector skipped.
    pub(crate) const ALL: Summary = Summary {
        digits: usize::MAX,
        at: true,
        separator: true,
        b: true,
        upper: true,
        iban_start: true,
        long_run: true,
        card_group: true,
        ssn_group: true,
        phone_group: true,
        encoded: true,
    };

    pub(crate) fn of(text: &str) -> Self {
        let b = text.as_bytes();
        let mut s = Summary::default();
        // Length of the digit run ending just before the current byte.
        let mut run = 0usize;
        for (i, &c) in b.iter().enumerate() {
            let next_digit = b.get(i + 1).is_some_and(u8::is_ascii_digit);
            match c {
                b'0'..=b'9' => {
                    s.digits += 1;
                    run += 1;
                    if run == 2
                        && i >= 3
                        && b[i - 2].is_ascii_uppercase()
                        && b[i - 3].is_ascii_uppercase()
                    {
                        s.iban_start = true;
                    }
                    if run >= 13 {
                        s.long_run = true;
                    }
                    continue;
                }
                b'@' => s.at = true,
                b'=' | b':' => s.separator = true,
                b'%' if b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit) =>
                {
                    s.encoded = true;
                }
                b'b' | b'B' => s.b = true,
                b'+' | b'(' if next_digit || b.get(i + 1) == Some(&b'(') => {
                    s.phone_group = true;
                    s.encoded |= c == b'+' && run > 0 && next_digit;
                }
                b' ' | b'-' | b'.' if next_digit && run > 0 => {
                    if run >= 2 {
                        s.phone_group = true;
                    }
                    if run >= 4 && c != b'.' {
                        s.card_group = true;
                    }
                    if run >= 3 && c == b'-' {
                        s.ssn_group = true;
                    }
                }
                _ => {}
            }
            run = 0;
            s.upper |= c.is_ascii_uppercase();
        }
        s
    }
}

/// Escapes control characters, Unicode line/paragraph separators and
/// bidirectional overrides (`\n`, `\u{1b}`, `\u{202e}`...).
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
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

/// `text` with its percent-escapes decoded (RFC 3986), and `+` between two
/// digits read as the space form encoding makes of it (`415+555+2671`).
/// Escaped bytes that are not valid UTF-8 stay escaped (nothing is lost);
/// borrowed when nothing changes.
pub(crate) fn percent_decode(text: &str) -> Cow<'_, str> {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = text.as_bytes();
    let n = b.len();
    let escape_at = |k: usize| {
        (k + 2 < n && b[k] == b'%')
            .then(|| Some(hex(b[k + 1])? << 4 | hex(b[k + 2])?))
            .flatten()
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < n {
        if b[i] == b'+'
            && i > 0
            && b[i - 1].is_ascii_digit()
            && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            let o = out.get_or_insert_with(|| String::with_capacity(n));
            o.push_str(&text[copied..i]);
            o.push(' ');
            i += 1;
            copied = i;
            continue;
        }
        if escape_at(i).is_none() {
            i += 1;
            continue;
        }
        // A run of consecutive escapes: one multi-byte character may span
        // several.
        let start = i;
        bytes.clear();
        while let Some(byte) = escape_at(i) {
            bytes.push(byte);
            i += 3;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(n));
        o.push_str(&text[copied..start]);
        for chunk in bytes.utf8_chunks() {
            o.push_str(chunk.valid());
            for byte in chunk.invalid() {
                let _ = write!(o, "%{byte:02X}");
            }
        }
        copied = i;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Characters that could forge a line or hide text in a terminal or viewer:
/// control characters (C0, DEL, C1), the Unicode line and paragraph
/// separators and the bidirectional overrides and isolates. The masker
/// escapes them; input validation can refuse them.
///
/// ```
/// use redline::redact::needs_escape;
/// assert!(needs_escape('\n') && needs_escape('\u{202e}') && needs_escape('\u{9b}'));
/// assert!(!needs_escape('é'));
/// ```
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
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

/// E-mail addresses: `john@example.com` → `j***@example.com`.
pub(crate) fn emails<'t>(text: &'t str, allow: Allow<'_>) -> Cow<'t, str> {
    let b = text.as_bytes();
    let mut edits = Edits::new(text);
    let mut until = 0;
    let mut i = 0;
    while i < b.len() {
        if i >= until && b[i].is_ascii_alphanumeric() && (i == 0 || !is_word(b[i - 1])) {
            match match_email(b, i) {
                Ok((at, end)) => {
                    // Keep the first character and the domain.
                    if !allow.allows(&text[i..end]) {
                        edits.replace(i + 1, at, "***");
                    }
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

/// Writes `token` to `out` with every byte `counts` selects (digits)
/// replaced by `*`, except the first `keep_first` and the last `keep_last`
/// of them; other bytes (separators) are kept.
fn mask_keeping(
    token: &[u8],
    counts: impl Fn(u8) -> bool,
    keep_first: usize,
    keep_last: usize,
    out: &mut String,
) {
    let total = token.iter().filter(|&&c| counts(c)).count();
    let mut seen = 0;
    out.clear();
    for &c in token {
        if counts(c) {
            seen += 1;
            out.push(if seen <= keep_first || seen + keep_last > total {
                c as char
            } else {
                '*'
            });
        } else {
            out.push(c as char);
        }
    }
}

/// The Luhn (mod 10) check of payment card numbers, over the digits of
/// `token` (other bytes skipped).
pub(crate) fn luhn_valid(token: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    for &c in token.iter().rev() {
        if !c.is_ascii_digit() {
            continue;
        }
        let mut d = u32::from(c - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum.is_multiple_of(10)
}

/// Payment card numbers: 13 to 19 digits, together or in groups separated
/// by single spaces or dashes, that pass the Luhn check → all but the last
/// four digits masked (`**** **** **** 4242`). Digit runs that fail the
/// check (order numbers, ids) are left alone.
pub(crate) fn cards<'t>(text: &'t str, allow: Allow<'_>) -> Cow<'t, str> {
    const MIN: usize = 13;
    const MAX: usize = 19;
    let b = text.as_bytes();
    let n = b.len();
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
            matched = Some(end).filter(|&m| luhn_valid(&b[i..m]));
        } else if (4..=6).contains(&(end - i)) && end < n && matches!(b[end], b' ' | b'-') {
            // Groups: `4111 1111 1111 1111`, `3782-822463-10005`...: the
            // longest Luhn-valid sequence of groups from here (a number
            // just before a card must not hide it: if none, the scan goes
            // on from the next group).
            let sep = b[end];
            let (mut total, mut last) = (end - i, end);
            let mut ends = [0usize; MAX];
            let mut count = 0;
            while last + 1 < n && b[last] == sep && b[last + 1].is_ascii_digit() {
                let next = run_end(last + 1);
                let len = next - last - 1;
                if !(1..=6).contains(&len) || total + len > MAX {
                    break;
                }
                total += len;
                last = next;
                if total >= MIN {
                    ends[count] = next;
                    count += 1;
                }
            }
            matched = ends[..count]
                .iter()
                .rev()
                .copied()
                .find(|&m| luhn_valid(&b[i..m]));
        }
        match matched {
            Some(m) if !allow.allows(&text[i..m]) => {
                mask_keeping(&b[i..m], |c| c.is_ascii_digit(), 0, 4, &mut masked);
                edits.replace(i, m, &masked);
                i = m;
            }
            Some(m) => i = m,
            None => i = end,
        }
    }
    edits.finish()
}

/// US Social Security numbers written `123-45-6789`, with the validity
/// rules of the SSA (area not 000, 666 or 9xx; group not 00; serial not
/// 0000) → `***-**-6789`.
pub(crate) fn ssns<'t>(text: &'t str, allow: Allow<'_>) -> Cow<'t, str> {
    let b = text.as_bytes();
    let n = b.len();
    let mut edits = Edits::new(text);
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let outside = |c: u8| !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    let mut i = 0;
    while i + 11 <= n {
        let s = &b[i..i + 11];
        if digits(&s[..3])
            && s[3] == b'-'
            && digits(&s[4..6])
            && s[6] == b'-'
            && digits(&s[7..])
            && (i == 0 || outside(b[i - 1]))
            && (i + 11 == n || outside(b[i + 11]))
            && &s[..3] != b"000"
            && &s[..3] != b"666"
            && s[0] != b'9'
            && &s[4..6] != b"00"
            && &s[7..] != b"0000"
            && !allow.allows(&text[i..i + 11])
        {
            edits.replace(i, i + 7, "***-**-");
            i += 11;
            continue;
        }
        i += 1;
    }
    edits.finish()
}

/// The ISO 7064 mod 97-10 check of an IBAN (`token` without spaces is
/// country, check digits, BBAN; spaces skipped).
pub(crate) fn iban_valid(token: &[u8]) -> bool {
    let chars: Vec<u8> = token.iter().copied().filter(|&c| c != b' ').collect();
    if !(15..=34).contains(&chars.len()) {
        return false;
    }
    let mut rem = 0u32;
    for &c in chars[4..].iter().chain(&chars[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// IBANs (`DE89 3704 0044 0532 0130 00` or without spaces) that pass the
/// checksum → country code and last four characters kept
/// (`DE** **** **** **** **30 00`).
pub(crate) fn ibans<'t>(text: &'t str, allow: Allow<'_>) -> Cow<'t, str> {
    let b = text.as_bytes();
    let n = b.len();
    let is_iban_char = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let mut edits = Edits::new(text);
    let mut masked = String::new();
    let mut i = 0;
    while i + 15 <= n {
        if !(b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && (i == 0 || !is_word(b[i - 1])))
        {
            i += 1;
            continue;
        }
        // Without spaces: the run of IBAN characters (at most 34; a longer
        // run is not an IBAN, and is skipped whole).
        let mut end = i + 4;
        while end < n && is_iban_char(b[end]) {
            end += 1;
        }
        if end - i > 34 {
            i = end;
            continue;
        }
        if end == i + 4 {
            // Grouped by four: `DE89 3704 ...`, the last group 1 to 4 long,
            // at most 34 characters in all.
            let mut k = end;
            while k + 1 < n && k - i < 34 + 8 && b[k] == b' ' && is_iban_char(b[k + 1]) {
                let mut g = k + 1;
                while g < n && is_iban_char(b[g]) {
                    g += 1;
                }
                let len = g - k - 1;
                if len > 4 {
                    break;
                }
                k = g;
                if len < 4 {
                    break;
                }
            }
            end = k;
        }
        let token = &b[i..end];
        if (end == n || !is_word(b[end])) && iban_valid(token) && !allow.allows(&text[i..end]) {
            // Country code and last four kept.
            mask_keeping(token, |c| c != b' ', 2, 4, &mut masked);
            edits.replace(i, end, &masked);
            i = end;
            continue;
        }
        i += 1;
    }
    edits.finish()
}

/// Phone numbers: international (`+` then 8 to 15 digits, with spaces,
/// dashes, dots or a parenthesized area code: `+1 (415) 555-2671`,
/// `+44 20 7946 0958`), North American (`(415) 555-2671`,
/// `415-555-2671`, `415.555.2671`) and trunk-prefix national formats
/// (`020 7946 0958`, `01 23 45 67 89`, `030-1234567`: a leading 0, two or
/// more groups, 10 or 11 digits) → all but the last two digits masked.
/// Digit runs without a `+` or separators are not taken for phones.
pub(crate) fn phones<'t>(text: &'t str, allow: Allow<'_>) -> Cow<'t, str> {
    let b = text.as_bytes();
    let n = b.len();
    let mut edits = Edits::new(text);
    let mut masked = String::new();
    let mut i = 0;
    while i < n {
        let c = b[i];
        let boundary = i == 0 || !(is_word(b[i - 1]) || matches!(b[i - 1], b'-' | b'.' | b'+'));
        let found = if !boundary || !(c == b'+' || c == b'(' || c.is_ascii_digit()) {
            None
        } else if c == b'+' {
            international(b, i)
        } else {
            north_american(b, i).or_else(|| trunk_national(b, i))
        };
        match found {
            Some(end) if !allow.allows(&text[i..end]) => {
                mask_keeping(&b[i..end], |c| c.is_ascii_digit(), 0, 2, &mut masked);
                edits.replace(i, end, &masked);
                i = end;
            }
            Some(end) => i = end,
            None => i += 1,
        }
    }
    edits.finish()
}

/// Digit groups from `i`: `(group end, digits)` pairs, each group preceded
/// (after the first) by one separator of `seps`, at most `max_digits` in all.
fn groups(b: &[u8], mut i: usize, seps: &[u8], max_digits: usize) -> Vec<(usize, usize)> {
    let n = b.len();
    let mut out = Vec::new();
    let mut total = 0;
    loop {
        let start = i;
        while i < n && b[i].is_ascii_digit() {
            i += 1;
        }
        let len = i - start;
        if len == 0 || total + len > max_digits {
            break;
        }
        total += len;
        out.push((i, total));
        if i + 1 < n && seps.contains(&b[i]) && b[i + 1].is_ascii_digit() {
            i += 1;
        } else {
            break;
        }
    }
    out
}

/// The end of a phone-number token if nothing word-like follows it.
fn ends_cleanly(b: &[u8], end: usize) -> bool {
    end == b.len()
        || !(is_word(b[end]) || (b[end] == b'-' && b.get(end + 1).is_some_and(u8::is_ascii_digit)))
}

fn international(b: &[u8], i: usize) -> Option<usize> {
    let n = b.len();
    let mut k = i + 1;
    let mut digits = 0;
    let mut end = None;
    // Country code and the rest: digit groups separated by one space, dash
    // or dot, one of them possibly in parentheses.
    while k < n {
        let open = b[k] == b'(';
        if open {
            k += 1;
        }
        let start = k;
        while k < n && b[k].is_ascii_digit() && digits < 16 {
            k += 1;
            digits += 1;
        }
        if k == start || digits > 15 {
            return end;
        }
        if open {
            if k < n && b[k] == b')' {
                k += 1;
            } else {
                return end;
            }
        }
        if (8..=15).contains(&digits) && ends_cleanly(b, k) {
            end = Some(k);
        }
        if k + 1 < n
            && matches!(b[k], b' ' | b'-' | b'.')
            && (b[k + 1].is_ascii_digit() || b[k + 1] == b'(')
        {
            k += 1;
        } else if k < n && b[k] == b'(' {
            continue;
        } else {
            break;
        }
    }
    end
}

fn north_american(b: &[u8], i: usize) -> Option<usize> {
    let n = b.len();
    let d = |k: usize, len: usize| k + len <= n && b[k..k + len].iter().all(u8::is_ascii_digit);
    let area_ok = |k: usize| (b'2'..=b'9').contains(&b[k]);
    let (rest, sep_ok): (usize, &[u8]) = if b[i] == b'(' {
        // (415) 555-2671, (415)555-2671
        if !(d(i + 1, 3) && area_ok(i + 1) && b.get(i + 4) == Some(&b')')) {
            return None;
        }
        let k = if b.get(i + 5) == Some(&b' ') {
            i + 6
        } else {
            i + 5
        };
        (k, b"-. ")
    } else {
        if !(d(i, 3) && area_ok(i) && matches!(b.get(i + 3), Some(b'-' | b'.'))) {
            return None;
        }
        (i + 4, &[b[i + 3]])
    };
    if !(d(rest, 3)
        && area_ok(rest)
        && b.get(rest + 3).is_some_and(|c| sep_ok.contains(c))
        && d(rest + 4, 4))
    {
        return None;
    }
    let end = rest + 8;
    ends_cleanly(b, end).then_some(end)
}

fn trunk_national(b: &[u8], i: usize) -> Option<usize> {
    if b[i] != b'0' {
        return None;
    }
    let groups = groups(b, i, b" -", 11);
    let first_len = groups.first().map(|g| g.0 - i)?;
    if !(2..=5).contains(&first_len) {
        return None;
    }
    groups
        .iter()
        .skip(1)
        .rev()
        .find(|(end, total)| (10..=11).contains(total) && ends_cleanly(b, *end))
        .map(|(end, _)| *end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Allow<'static> = Allow(&[]);

    #[test]
    fn luhn_and_iban_checks() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(luhn_valid(b"4242 4242 4242 4242"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(iban_valid(b"DE89370400440532013000"));
        assert!(iban_valid(b"GB82 WEST 1234 5698 7654 32"));
        assert!(!iban_valid(b"DE89370400440532013001"));
        assert!(!iban_valid(b"DE8937"));
    }

    #[test]
    fn phones_in_their_formats() {
        let cases = [
            ("call +14155552671 now", "call +*********71 now"),
            ("call +1 (415) 555-2671.", "call +* (***) ***-**71."),
            ("+44 20 7946 0958", "+** ** **** **58"),
            ("tel:+33 1 23 45 67 89", "tel:+** * ** ** ** 89"),
            ("(415) 555-2671", "(***) ***-**71"),
            ("415-555-2671", "***-***-**71"),
            ("415.555.2671", "***.***.**71"),
            ("020 7946 0958", "*** **** **58"),
            ("01 23 45 67 89", "** ** ** ** 89"),
            ("030-1234567", "***-*****67"),
        ];
        for (input, expected) in cases {
            assert_eq!(phones(input, NONE), expected, "{input}");
        }
        for untouched in [
            "at 12:30 on 2024-11-24",
            "version 1.2.3",
            "10.0.0.1",
            "123-456-7890",
            "3+4155552671",
            "sizes 100 200 3000",
            "id 4155552671",
            "+1234",
            "order 0612",
            "05-11-2024",
            "415-555-26712",
        ] {
            assert_eq!(phones(untouched, NONE), untouched);
        }
    }

    #[test]
    fn ssns_follow_the_validity_rules() {
        assert_eq!(ssns("ssn 123-45-6789.", NONE), "ssn ***-**-6789.");
        for untouched in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "a123-45-6789",
            "1234-45-6789",
        ] {
            assert_eq!(ssns(untouched, NONE), untouched);
        }
    }

    #[test]
    fn ibans_keep_country_and_last_four() {
        assert_eq!(
            ibans("to DE89 3704 0044 0532 0130 00, thanks", NONE),
            "to DE** **** **** **** **30 00, thanks"
        );
        assert_eq!(
            ibans("GB82WEST12345698765432", NONE),
            "GB****************5432"
        );
        assert_eq!(
            ibans("DE89370400440532013001", NONE),
            "DE89370400440532013001"
        );
        assert_eq!(ibans("ISO8601 DATE2024", NONE), "ISO8601 DATE2024");
    }

    #[test]
    fn cards_need_the_luhn_check() {
        assert_eq!(
            cards("card 4242 4242 4242 4242", NONE),
            "card **** **** **** 4242"
        );
        assert_eq!(
            cards("amex 3782-822463-10005", NONE),
            "amex ****-******-*0005"
        );
        assert_eq!(
            cards("order 4111111111111112", NONE),
            "order 4111111111111112"
        );
        assert_eq!(
            cards("x 4111111111111111", Allow(&["4111111111111111".into()])),
            "x 4111111111111111"
        );
    }
}
