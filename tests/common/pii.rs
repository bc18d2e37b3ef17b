//! The personal data and secrets the end-to-end tests send through every
//! output (logs, spans, error reports, OTLP log records), one corpus for
//! all of them; each test lists which texts must not appear.
#![allow(dead_code)]

pub const EMAIL: &str = "jane.doe@example.com";
pub const PHONE: &str = "+1 415-555-2671";
pub const CARD: &str = "4242 4242 4242 4242";
pub const CARD_DIGITS: &str = "4242424242424242";
pub const SSN: &str = "123-45-6789";
pub const IBAN: &str = "DE89370400440532013000";
pub const PASSWORD: &str = "Hunter2Hunter2";
pub const API_KEY: &str = "sk_live_9fQ2xLm8Zt";
pub const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
pub const SESSION: &str = "s3ss10n-B7x2Qk";

/// The texts of `secrets` that `haystack` contains.
pub fn leaks<'a>(secrets: &[&'a str], haystack: &str) -> Vec<&'a str> {
    secrets
        .iter()
        .copied()
        .filter(|s| haystack.contains(s))
        .collect()
}
