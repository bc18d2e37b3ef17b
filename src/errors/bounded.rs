//! Text with a bound: what the tracker keeps of a message, a route, a
//! field or an id is cut to a length (on a character boundary, without a
//! half token), masked and escaped, and a `Display` too big to format is
//! stopped early.

use std::fmt;

use crate::redact::Redactor;
use crate::redact::scan::escape_controls;

/// The same for routes, field values and ids.
pub(super) const MAX_SMALL_INPUT: usize = 4 * 1024;

/// Collects formatted text up to `limit` bytes, then fails the formatting
/// so that an enormous `Display` stops early.
pub(super) struct BoundedWriter {
    pub(super) text: String,
    limit: usize,
    pub(super) cut: bool,
}

impl BoundedWriter {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            text: String::new(),
            limit,
            cut: false,
        }
    }
}

impl fmt::Write for BoundedWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        self.cut = true;
        Err(fmt::Error)
    }
}

/// `text` cut to at most `max_bytes` (see [`drop_partial_token`]).
pub(super) fn bound_input(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    drop_partial_token(&text[..floor_char_boundary(text, max_bytes)])
}

/// Drops the word a cut went through (back to the last whitespace, if
/// any), so that no half secret, too short to be recognized, gets past
/// the redactor.
pub(super) fn drop_partial_token(text: &str) -> &str {
    match text.rfind(char::is_whitespace) {
        Some(i) => &text[..i],
        None => text,
    }
}

pub(super) fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Cuts `text` to `max` characters, the last one `…`, if it is longer.
pub(super) fn truncate_chars(text: &mut String, max: usize) {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        let cut = text[..cut].char_indices().next_back().map_or(0, |(i, _)| i);
        text.truncate(cut);
        text.push('…');
    }
}

/// Redacted and cut to `max` characters.
pub(super) fn redacted_bounded(text: &str, redactor: &Redactor, max: usize) -> String {
    let mut out = redactor
        .redact(bound_input(text, MAX_SMALL_INPUT))
        .into_owned();
    truncate_chars(&mut out, max);
    out
}

/// Control characters escaped, cut to `max` characters.
pub(super) fn escaped_bounded(text: &str, max: usize) -> String {
    let text = &text[..floor_char_boundary(text, text.len().min(MAX_SMALL_INPUT))];
    let mut out = escape_controls(text).into_owned();
    truncate_chars(&mut out, max);
    out
}
