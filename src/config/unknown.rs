//! Names for a `REDLINE_*` variable nobody reads: the closest known one,
//! by edit distance, for the "did you mean" of the start-up error.

use std::collections::BTreeSet;

/// The prefix of redline's own variables.
pub(super) const PREFIX: &str = "REDLINE_";

/// The known variable closest to `name` (compared without the prefix and
/// ignoring case), if it is at most a third of the name away (1 to 3
/// edits).
pub(super) fn closest<'a>(name: &str, known: &BTreeSet<&'a str>) -> Option<&'a str> {
    let wanted = name
        .strip_prefix(PREFIX)
        .unwrap_or(name)
        .to_ascii_uppercase();
    let limit = (wanted.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .filter_map(|k| {
            let suffix = k.strip_prefix(PREFIX)?;
            Some((edit_distance(&wanted, suffix), *k))
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance: insertions, deletions and substitutions.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
