//! Quantiles of a histogram's bucket counts, as Prometheus'
//! `histogram_quantile` computes them: linear interpolation inside the
//! bucket the rank falls in, the first bucket starting at zero, and the
//! highest finite bound for ranks in `+Inf`.

/// The `q` quantile (0 to 1) of observations counted in cumulative
/// `buckets` (one per bound of `bounds`, in seconds) out of `total` (the
/// `+Inf` count). `None` without observations.
pub(crate) fn quantile(q: f64, bounds: &[f64], buckets: &[u64], total: u64) -> Option<f64> {
    if total == 0 || bounds.is_empty() {
        return None;
    }
    let rank = q * total as f64;
    let mut lower_bound = 0.0;
    let mut lower_count = 0u64;
    for (bound, &count) in bounds.iter().zip(buckets) {
        if count as f64 >= rank {
            let in_bucket = (count - lower_count.min(count)) as f64;
            if in_bucket == 0.0 {
                return Some(*bound);
            }
            let into = (rank - lower_count as f64) / in_bucket;
            return Some(lower_bound + (bound - lower_bound) * into);
        }
        lower_bound = *bound;
        lower_count = count;
    }
    bounds.last().copied()
}

#[cfg(test)]
mod tests {
    use super::quantile;

    const BOUNDS: [f64; 3] = [0.1, 0.5, 1.0];

    #[test]
    fn interpolates_inside_the_bucket() {
        // 10 under 0.1, 10 more under 0.5: the median is the top of the
        // first bucket, p75 halfway through the second.
        assert_eq!(quantile(0.5, &BOUNDS, &[10, 20, 20], 20), Some(0.1));
        let p75 = quantile(0.75, &BOUNDS, &[10, 20, 20], 20).unwrap();
        assert!((p75 - 0.3).abs() < 1e-12, "{p75}");
        assert_eq!(quantile(0.25, &BOUNDS, &[10, 20, 20], 20), Some(0.05));
    }

    #[test]
    fn empty_and_overflowing() {
        assert_eq!(quantile(0.5, &BOUNDS, &[0, 0, 0], 0), None);
        // Everything above the last bound: the last bound.
        assert_eq!(quantile(0.99, &BOUNDS, &[0, 0, 0], 5), Some(1.0));
    }
}
