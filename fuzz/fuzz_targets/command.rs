//! The demo's message grammar on arbitrary text: never panics, and what it
//! accepts is within the grammar.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::demo::{Command, MAX_ECHO_CHARS, MAX_TEXT_CHARS, parse_command, validate_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if validate_text(text).is_ok() {
        let n = text.chars().count();
        assert!((1..=MAX_TEXT_CHARS).contains(&n));
        assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    }
    match parse_command(text) {
        Ok(None) => assert!(!text.starts_with('/')),
        Ok(Some(Command::Echo(t))) => {
            let n = t.chars().count();
            assert!((1..=MAX_ECHO_CHARS).contains(&n));
            assert_eq!(t, t.trim());
        }
        Ok(Some(Command::Roll(sides))) => assert!((2..=1000).contains(&sides)),
        Ok(Some(_)) | Err(_) => assert!(text.starts_with('/')),
    }
});
