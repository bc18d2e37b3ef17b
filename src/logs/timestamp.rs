//! The `timestamp` of a JSON line, `2026-11-24T07:00:00.123Z`, written
//! with the date and time of the current second cached per thread: a line
//! formats only its milliseconds, and the calendar arithmetic and
//! `core::fmt` run once a second per thread, not once a line.
//!
//! The text is exactly [`crate::timefmt::write_rfc3339_millis`]'s (a test
//! compares them over many instants).

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The second last formatted on this thread, and its text up to and with
/// the `.` before the milliseconds (`2026-11-24T07:00:00.`).
struct Cached {
    secs: u64,
    prefix: String,
}

thread_local! {
    static CACHED: RefCell<Cached> = const {
        RefCell::new(Cached { secs: u64::MAX, prefix: String::new() })
    };
}

/// Appends `t` as RFC 3339 in UTC with milliseconds (times before 1970 as
/// the epoch, like `write_rfc3339_millis`).
pub(super) fn write_millis(out: &mut String, t: SystemTime) {
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let (secs, millis) = (ms / 1000, (ms % 1000) as u32);
    CACHED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut cached) => {
            if cached.secs != secs {
                cached.prefix.clear();
                write_prefix(&mut cached.prefix, secs);
                cached.secs = secs;
            }
            out.push_str(&cached.prefix);
        }
        // Only if formatting re-entered on this thread: no cache then.
        Err(_) => write_prefix(out, secs),
    });
    let digits = [
        b'0' + (millis / 100) as u8,
        b'0' + (millis / 10 % 10) as u8,
        b'0' + (millis % 10) as u8,
        b'Z',
    ];
    // Four ASCII bytes.
    out.push_str(std::str::from_utf8(&digits).unwrap_or("000Z"));
}

/// The text of second `secs` up to the milliseconds: the full timestamp of
/// that second without its last four bytes (`000Z`).
fn write_prefix(out: &mut String, secs: u64) {
    let start = out.len();
    crate::timefmt::write_rfc3339_millis(out, UNIX_EPOCH + Duration::from_secs(secs));
    out.truncate(out.len() - 4);
    debug_assert!(out[start..].ends_with('.'));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(t: SystemTime) -> String {
        let mut s = String::new();
        crate::timefmt::write_rfc3339_millis(&mut s, t);
        s
    }

    fn cached(t: SystemTime) -> String {
        let mut s = String::from("x");
        write_millis(&mut s, t);
        s.split_off(1)
    }

    #[test]
    fn the_same_text_as_timefmt_across_seconds_days_and_years() {
        let mut t = UNIX_EPOCH;
        // Steps of 1 ms .. about 23 days, so the cache is hit and missed,
        // across day, month, year and leap-year boundaries.
        let mut step = 1u64;
        while t < UNIX_EPOCH + Duration::from_secs(4_200_000_000) {
            assert_eq!(cached(t), reference(t));
            t += Duration::from_millis(step);
            step = (step * 7 + 3) % 2_000_000_000;
        }
        let now = SystemTime::now();
        for ms in 0..2_500 {
            let t = now + Duration::from_millis(ms);
            assert_eq!(cached(t), reference(t));
        }
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(cached(before), "1970-01-01T00:00:00.000Z");
        assert_eq!(cached(before), reference(before));
    }
}
