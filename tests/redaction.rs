//! Property tests of the masker: generated secrets and personal data,
//! embedded in random text, never appear in its output; text without any
//! (words, numbers, Luhn-invalid digit runs) comes out unchanged.

use proptest::prelude::*;
use redline::redact::Redactor;

fn luhn_check_digit(payload: &[u8]) -> u8 {
    // The digit that makes `payload` + digit pass the Luhn check.
    let mut sum = 0u32;
    for (i, &d) in payload.iter().rev().enumerate() {
        let mut d = u32::from(d);
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    ((10 - sum % 10) % 10) as u8
}

fn digits(v: &[u8]) -> String {
    v.iter().map(|d| char::from(b'0' + d)).collect()
}

/// Lowercase words (no `bearer` secrets, IBANs or JWTs can form).
fn word() -> impl Strategy<Value = String> {
    "[a-z]{1,10}"
}

/// A number that is no secret: 1 to 12 digits not starting with 0, or a
/// Luhn-invalid run of 13 to 19 digits.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        "[1-9][0-9]{0,11}",
        (prop::collection::vec(0u8..10, 12..19)).prop_map(|mut v| {
            v[0] = v[0].max(1);
            let check = luhn_check_digit(&v);
            v.push((check + 1) % 10);
            digits(&v)
        }),
    ]
}

/// Words with a number after some of them (never two numbers in a row,
/// which could form a grouped card or phone number).
fn filler() -> impl Strategy<Value = String> {
    prop::collection::vec((word(), prop::option::of(number())), 0..8).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, n)| match n {
                Some(n) => format!("{w} {n}"),
                None => w,
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn email() -> impl Strategy<Value = String> {
    (
        "[a-z0-9]([a-z0-9._+-]{0,10}[a-z0-9])?",
        "[a-z]{2,10}",
        prop::sample::select(vec!["com", "org", "io", "co.uk", "de"]),
    )
        .prop_map(|(l, d, t)| format!("{l}@{d}.{t}"))
}

fn phone() -> impl Strategy<Value = String> {
    let nanp = ("[2-9][0-9]{2}", "[2-9][0-9]{2}", "[0-9]{4}");
    prop_oneof![
        // E.164, together or grouped.
        ("[1-9][0-9]{0,2}", "[0-9]{7,12}").prop_map(|(cc, rest)| format!("+{cc}{rest}")),
        ("[1-9][0-9]{0,1}", nanp).prop_map(|(cc, (a, e, n))| format!("+{cc} {a} {e} {n}")),
        ("[1-9]", nanp).prop_map(|(cc, (a, e, n))| format!("+{cc} ({a}) {e}-{n}")),
        nanp.prop_map(|(a, e, n)| format!("({a}) {e}-{n}")),
        nanp.prop_map(|(a, e, n)| format!("{a}-{e}-{n}")),
        nanp.prop_map(|(a, e, n)| format!("{a}.{e}.{n}")),
        ("[1-9][0-9]", "[0-9]{4}", "[0-9]{4}").prop_map(|(a, b, c)| format!("0{a} {b} {c}")),
    ]
}

fn card() -> impl Strategy<Value = String> {
    (prop::collection::vec(0u8..10, 12..18), 0usize..3).prop_map(|(mut v, style)| {
        v[0] = 3 + v[0] % 4; // 3, 4, 5 or 6, like real issuers
        let check = luhn_check_digit(&v);
        v.push(check);
        let s = digits(&v);
        match style {
            0 => s,
            sep => {
                let sep = if sep == 1 { " " } else { "-" };
                s.as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(sep)
            }
        }
    })
}

fn ssn() -> impl Strategy<Value = String> {
    (1u32..900, 1u32..100, 1u32..10000)
        .prop_filter("666 is never issued", |(a, _, _)| *a != 666)
        .prop_map(|(a, g, s)| format!("{a:03}-{g:02}-{s:04}"))
}

fn iban() -> impl Strategy<Value = String> {
    ("[A-Z]{2}", "[0-9]{18}", any::<bool>()).prop_map(|(cc, bban, grouped)| {
        // Check digits: 98 - (BBAN + country + "00") mod 97.
        let mut rem = 0u64;
        for c in bban.chars().chain(cc.chars()).chain("00".chars()) {
            let v = c.to_digit(36).unwrap() as u64;
            rem = if v >= 10 {
                (rem * 100 + v) % 97
            } else {
                (rem * 10 + v) % 97
            };
        }
        let iban = format!("{cc}{:02}{bban}", 98 - rem);
        if grouped {
            iban.as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            iban
        }
    })
}

/// A token-like secret: mixed case and digits, so it is never a word of
/// the filler.
fn secret() -> impl Strategy<Value = String> {
    "[A-Z][a-z0-9]{3}[0-9][A-Za-z0-9_-]{7,24}"
}

/// `(text to embed, the secret part that must not survive)`.
fn credential() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        secret().prop_map(|s| (format!("Bearer {s}"), s)),
        secret().prop_map(|s| (format!("password={s}"), s)),
        secret().prop_map(|s| (format!("?page=2&api_key={s}&q=x"), s)),
        secret().prop_map(|s| (format!(r#"{{"token":"{s}","n":1}}"#), s)),
        secret().prop_map(|s| (format!("client_secret: {s}"), s)),
        secret().prop_map(|s| (format!("Authorization: Basic {s}"), s)),
        (secret(), secret()).prop_map(|(a, b)| {
            let jwt = format!("eyJ{a}.eyJ{b}.{a}{b}");
            (jwt.clone(), jwt)
        }),
        secret().prop_map(|s| (format!("postgres://app:{s}@db:5432/main"), s)),
    ]
}

/// `secret` between two texts. A word comes right before it: a number
/// there could be read as the first group of a card number (it is one,
/// when the digits pass the check).
fn embed(before: &str, secret: &str, after: &str, punct: &str) -> String {
    format!("{before} is {secret}{punct} {after}")
}

fn punct() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", ",", ".", ";", ")"])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn text_without_secrets_is_unchanged(text in filler()) {
        let r = Redactor::default();
        prop_assert_eq!(r.redact(&text).into_owned(), text.clone());
    }

    #[test]
    fn personal_data_never_survives(
        before in filler(),
        after in filler(),
        punct in punct(),
        kind in 0usize..5,
        email in email(),
        phone in phone(),
        card in card(),
        ssn in ssn(),
        iban in iban(),
    ) {
        let value = [email, phone, card, ssn, iban][kind].clone();
        let text = embed(&before, &value, &after, punct);
        let out = Redactor::default().redact(&text).into_owned();
        prop_assert!(!out.contains(&value), "{} survived in {:?}", value, out);
        if kind != 0 {
            // Nor do its digits, however they are grouped.
            let bare: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
            let out_bare: String = out.chars().filter(char::is_ascii_alphanumeric).collect();
            prop_assert!(!out_bare.contains(&bare), "{} survived in {:?}", value, out);
        }
        // The text around it is kept.
        prop_assert!(out.starts_with(&before) && out.ends_with(&after), "{:?}", out);
    }

    #[test]
    fn credentials_never_survive(
        before in filler(),
        after in filler(),
        (text, secret) in credential(),
    ) {
        let line = format!("{before} {text} {after}");
        let out = Redactor::default().redact(&line).into_owned();
        prop_assert!(!out.contains(&secret), "{} survived in {:?}", secret, out);
        prop_assert!(out.contains("[REDACTED]"), "{:?}", out);
    }

    #[test]
    fn control_characters_never_survive(
        before in filler(),
        after in filler(),
        c in prop::sample::select((0u8..0x20).chain(0x7f..0xa0).map(char::from).collect::<Vec<_>>()),
    ) {
        let out = Redactor::default().redact(&format!("{before}{c}{after}")).into_owned();
        prop_assert!(!out.chars().any(char::is_control), "{:?}", out);
    }
}
