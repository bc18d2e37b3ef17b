//! The detectors of personal data: e-mail addresses, card numbers (Luhn),
//! US social security numbers, IBANs (ISO 7064) and phone numbers, each
//! checked before it is masked so that ids and amounts are left alone.

use std::borrow::Cow;

use super::scan::{Allow, Edits};
use crate::text::{is_word, match_email};

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
