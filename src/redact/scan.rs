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
            if PLAIN[c as usize] {
                run = 0;
                continue;
            }
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

/// The bytes that change nothing in a [`Summary`] but end a digit run:
/// most of a typical path or line (lower-case letters but `b`, `/`, `_`,
/// bytes of non-ASCII characters...), skipped with one lookup (a path costs
/// about half the instructions it did, callgrind).
const PLAIN: [bool; 256] = {
    let mut plain = [true; 256];
    let mut c = b'0';
    while c <= b'9' {
        plain[c as usize] = false;
        c += 1;
    }
    let mut c = b'A';
    while c <= b'Z' {
        plain[c as usize] = false;
        c += 1;
    }
    let special = b"@=:%bB+( -.";
    let mut i = 0;
    while i < special.len() {
        plain[special[i] as usize] = false;
        i += 1;
    }
    plain
};

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
