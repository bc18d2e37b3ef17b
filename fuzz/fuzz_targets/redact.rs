//! The masker on arbitrary text: never panics, never leaves a control
//! character in `redact`'s output, stays within a bounded growth, and a
//! second pass finds nothing new to escape.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::redact::Redactor;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let r = Redactor::default();
    let out = r.redact(&text);
    assert!(!out.chars().any(char::is_control), "{out:?}");
    // `[REDACTED]` (10 bytes) can replace a 1-byte value; escapes take at
    // most 10 bytes per character.
    assert!(out.len() <= 10 * text.len() + 16);
    let masked = r.mask(&text);
    assert!(masked.len() <= 10 * text.len() + 16);
    // Masking what was masked changes no character count by escaping.
    let again = r.redact(&out);
    assert!(!again.chars().any(char::is_control));
});
