//! Numeric helpers over sorted, finite `f64` slices: mean, sample standard deviation,
//! `quantile_cont` percentiles and equal-width histograms.
//!
//! Every function returns `None` rather than NaN or infinity, so callers can put the results
//! straight into the JSON profile.

use super::model::Histogram;

/// Most bins an equal-width histogram gets; fewer when the column has fewer distinct values.
pub const MAX_HISTOGRAM_BINS: usize = 20;

/// `Some(x)` when `x` is finite, else `None`: the one gate every computed float passes through.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// A value the numeric statistics work on: `i64` (int64 columns) or finite `f64` (float64).
pub trait Numeric: Copy {
    /// The value as `f64` (rounded to the nearest double for large `i64`, as DuckDB casts).
    fn to_f64(self) -> f64;
}

impl Numeric for i64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Numeric for f64 {
    fn to_f64(self) -> f64 {
        self
    }
}

/// Arithmetic mean of `i64` values, summed exactly in `i128` then divided once (as DuckDB's
/// `avg(BIGINT)` sums into a HUGEINT); `None` for an empty slice.
pub fn mean_i64(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: i128 = values.iter().map(|&v| i128::from(v)).sum();
    finite(sum as f64 / values.len() as f64)
}

/// Arithmetic mean of finite values; `None` for an empty slice.
///
/// The plain sum is used when it stays finite; when it overflows (values near `f64::MAX`) each
/// value is divided by `n` first, which cannot overflow.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    if sum.is_finite() {
        return finite(sum / n);
    }
    finite(values.iter().map(|v| v / n).sum())
}

/// Sample standard deviation (denominator `n − 1`, DuckDB's `stddev_samp`) around `mean`,
/// computed in two passes for accuracy; `None` below 2 values or when it is not finite.
///
/// When the sum of squared deviations overflows, the deviations are scaled by the largest one
/// first (`s · sqrt(Σ(d/s)² / (n − 1))`), as LAPACK's `dnrm2` does.
pub fn stddev_samp<T: Numeric>(values: &[T], mean: f64) -> Option<f64> {
    if values.len() < 2 || !mean.is_finite() {
        return None;
    }
    let denom = (values.len() - 1) as f64;
    let m2: f64 = values
        .iter()
        .map(|v| {
            let d = v.to_f64() - mean;
            d * d
        })
        .sum();
    if m2.is_finite() {
        return finite((m2 / denom).sqrt());
    }
    let scale = values
        .iter()
        .map(|v| (v.to_f64() - mean).abs())
        .fold(0.0_f64, f64::max);
    if !scale.is_finite() || scale == 0.0 {
        return None;
    }
    let scaled: f64 = values
        .iter()
        .map(|v| {
            let d = (v.to_f64() - mean) / scale;
            d * d
        })
        .sum();
    finite((scaled / denom).sqrt() * scale)
}

/// Continuous quantile `q` (0–1) of an ascending slice, as DuckDB's `quantile_cont`
/// (`src/common/operator/interpolate.hpp` and `quantile_helpers`): with `RN = (n − 1)·q`,
/// `lo = v[floor(RN)]`, `hi = v[ceil(RN)]`, the result is `lo + (hi − lo)·(RN − floor(RN))`.
/// `None` for an empty slice or `q` outside 0–1.
///
/// Example: `[1, 2, 3, 4]` gives 1.75 for q = 0.25, 2.5 for 0.5 and 3.25 for 0.75.
pub fn quantile_cont<T: Numeric>(sorted: &[T], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rn = (sorted.len() - 1) as f64 * q;
    let frn = rn.floor();
    let crn = rn.ceil();
    let lo = sorted.get(frn as usize)?.to_f64();
    let hi = sorted.get(crn as usize)?.to_f64();
    if frn == crn {
        return finite(lo);
    }
    let d = rn - frn;
    let v = lo + (hi - lo) * d;
    // `hi − lo` overflows only for values of opposite sign near f64::MAX.
    finite(v).or_else(|| finite(lo * (1.0 - d) + hi * d))
}

/// Equal-width histogram of an ascending slice of finite values with `distinct` distinct values.
///
/// Bins: `min(MAX_HISTOGRAM_BINS, distinct)`; one bin `[min, max]` when all values are equal.
/// Bin `i` holds `edges[i] <= v < edges[i+1]`, the last bin also `v == max`. The last edge is
/// exactly the maximum. `None` for an empty slice.
pub fn histogram<T: Numeric>(sorted: &[T], distinct: u64) -> Option<Histogram> {
    let (min, max) = (sorted.first()?.to_f64(), sorted.last()?.to_f64());
    if !min.is_finite() || !max.is_finite() {
        return None;
    }
    let bins = (distinct.max(1) as usize).min(MAX_HISTOGRAM_BINS);
    if min == max || bins == 1 {
        return Some(Histogram {
            edges: vec![min, max],
            counts: vec![sorted.len() as u64],
            rule: "single".into(),
        });
    }
    let mut width = (max - min) / bins as f64;
    if !width.is_finite() {
        width = max / bins as f64 - min / bins as f64;
    }
    let mut edges: Vec<f64> = (0..bins).map(|i| min + width * i as f64).collect();
    edges.push(max);
    // Keep edges ascending even if rounding put an inner edge past the maximum.
    for i in 1..edges.len() {
        if edges[i] < edges[i - 1] {
            edges[i] = edges[i - 1];
        }
    }
    let mut counts = Vec::with_capacity(bins);
    let mut start = 0usize;
    for upper in edges.iter().take(bins).skip(1) {
        let end = sorted.partition_point(|v| v.to_f64() < *upper);
        counts.push((end - start) as u64);
        start = end;
    }
    counts.push((sorted.len() - start) as u64);
    Some(Histogram {
        edges,
        counts,
        rule: "equal_width".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
    }

    #[test]
    fn quantile_cont_matches_duckdb_by_hand() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert!(close(quantile_cont(&v, 0.25), 1.75));
        assert!(close(quantile_cont(&v, 0.5), 2.5));
        assert!(close(quantile_cont(&v, 0.75), 3.25));
        // Odd count: the median is the middle value; RN = 4 * 0.25 = 1 exactly.
        let v = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert!(close(quantile_cont(&v, 0.5), 30.0));
        assert!(close(quantile_cont(&v, 0.25), 20.0));
        // [0, 10]: RN = 0.25 → 2.5; RN = 0.75 → 7.5.
        assert!(close(quantile_cont(&[0.0, 10.0], 0.25), 2.5));
        assert!(close(quantile_cont(&[0.0, 10.0], 0.75), 7.5));
        assert!(close(quantile_cont(&[7.0], 0.75), 7.0));
        assert_eq!(quantile_cont::<f64>(&[], 0.5), None);
        assert!(close(quantile_cont(&[1_i64, 2, 3, 4], 0.25), 1.75));
        // Interpolating between values of opposite sign near the limit stays finite.
        let big = [-f64::MAX, f64::MAX];
        assert!(close(quantile_cont(&big, 0.5), 0.0));
    }

    #[test]
    fn mean_and_stddev() {
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let m = mean(&v);
        assert!(close(m, 5.0));
        // Σ(d²) = 32, n − 1 = 7.
        assert!(close(stddev_samp(&v, 5.0), (32.0_f64 / 7.0).sqrt()));
        assert_eq!(stddev_samp(&[3.0], 3.0), None);
        assert_eq!(mean(&[]), None);
        assert!(close(mean_i64(&[i64::MAX, i64::MAX]), i64::MAX as f64));
        assert_eq!(mean_i64(&[]), None);
        // Overflowing sums fall back to scaled forms.
        let huge = [f64::MAX, f64::MAX];
        assert!(close(mean(&huge), f64::MAX));
        let spread = [f64::MAX / 2.0, -f64::MAX / 2.0];
        let sd = stddev_samp(&spread, 0.0);
        assert!(sd.is_some_and(|s| s.is_finite() && s > 1e307));
    }

    #[test]
    fn histogram_bins() {
        let v = [1.0, 1.0, 1.0];
        let h = histogram(&v, 1).expect("histogram");
        assert_eq!(h.edges, vec![1.0, 1.0]);
        assert_eq!(h.counts, vec![3]);

        // Two distinct values → two bins [0, 5) and [5, 10].
        let v = [0.0, 0.0, 10.0];
        let h = histogram(&v, 2).expect("histogram");
        assert_eq!(h.edges, vec![0.0, 5.0, 10.0]);
        assert_eq!(h.counts, vec![2, 1]);

        // 0..=99 → 20 bins of width 4.95, 5 values each.
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let h = histogram(&v, 100).expect("histogram");
        assert_eq!(h.counts.len(), 20);
        assert_eq!(h.edges.len(), 21);
        assert_eq!(h.counts.iter().sum::<u64>(), 100);
        assert!(h.counts.iter().all(|&c| c == 5));
        assert_eq!(h.edges[20], 99.0);
        assert_eq!(histogram::<f64>(&[], 0), None);
        let h = histogram(&[0_i64, 0, 10], 2).expect("histogram");
        assert_eq!(h.counts, vec![2, 1]);
    }
}
