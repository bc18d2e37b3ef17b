//! JSON bodies within limits: never panics, and a body that passes the
//! depth scan never reaches serde_json's own recursion limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redline::security::{InputError, JsonLimits, parse_json};

fuzz_target!(|data: &[u8]| {
    let limits = JsonLimits { max_bytes: 64 * 1024, max_depth: 32 };
    match parse_json::<serde_json::Value>(data, &limits) {
        Ok(_) => {}
        Err(InputError::Syntax { .. }) => {
            // Never serde's recursion limit: the scan refuses first.
            let e = serde_json::from_slice::<serde_json::Value>(data).unwrap_err();
            assert!(!e.to_string().contains("recursion limit"), "{e}");
        }
        Err(_) => {}
    }
});
