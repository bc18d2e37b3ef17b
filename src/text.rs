//! Byte-level text matchers shared by the masker (`redact`) and the error
//! fingerprints (`errors`). A leaf: it imports nothing of the crate, so
//! neither of its users has to import the other.

/// Bytes that continue a word: ASCII letters and digits, and any byte of a
/// non-ASCII character (so `é42` is not a number).
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Bytes allowed in the local part of an e-mail address (the masks of
/// `default_redact` add `*`).
#[inline]
fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'*')
}

/// An e-mail address starting at `i` (an ASCII letter or digit).
///
/// `Ok((at, end))`: the address spans `i..end`, its `@` is at `at`.
/// `Err(until)`: no address starts anywhere in `i..until` (they would all
/// share the same local-part end and domain), so callers skip checks there,
/// which keeps repeated lookaheads linear.
pub(crate) fn match_email(b: &[u8], i: usize) -> Result<(usize, usize), usize> {
    let n = b.len();
    let mut j = i;
    while j < n && is_local(b[j]) {
        j += 1;
    }
    if j == i {
        return Err(i + 1);
    }
    if j >= n || b[j] != b'@' {
        return Err(j);
    }
    // Domain: labels of letters, digits and `-`, separated by dots; at
    // least two labels, the last (the TLD) of two or more letters.
    let mut k = j + 1;
    let mut labels = 0;
    let mut last = (k, k);
    loop {
        let start = k;
        while k < n && (b[k].is_ascii_alphanumeric() || b[k] == b'-') {
            k += 1;
        }
        if k == start {
            break;
        }
        labels += 1;
        last = (start, k);
        if k + 1 < n && b[k] == b'.' && b[k + 1].is_ascii_alphanumeric() {
            k += 1;
        } else {
            break;
        }
    }
    let tld = &b[last.0..last.1];
    if labels >= 2 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) {
        Ok((j, last.1))
    } else {
        Err(j)
    }
}
