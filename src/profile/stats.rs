//! Numeric helpers: streaming moments, `quantile_cont` percentiles, histograms (numeric and by
//! calendar period) and the shapes a text value can have.
//!
//! Every function returns `None` rather than NaN or infinity, so callers can put the results
//! straight into the JSON profile.

use chrono::{Datelike, NaiveDate};

use super::limits::{FINE_BINS, HISTOGRAM_BINS};
use super::model::{Histogram, PeriodCount, PeriodHistogram};

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

/// Count, mean and sum of squared deviations (`M2`) of finite values, fed a batch at a time and
/// merged with Chan, Golub and LeVeque's pairwise formula (1979): for parts `a`, `b`,
/// `δ = mean_b − mean_a`, `mean = mean_a + δ·n_b/n`, `M2 = M2_a + M2_b + δ²·n_a·n_b/n`.
/// Each batch is summed in two passes (mean, then squared deviations), so rounding stays at
/// the level of a two-pass computation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    /// Values.
    pub n: u64,
    /// Their mean (0 when `n == 0`).
    pub mean: f64,
    /// Σ (x − mean)².
    pub m2: f64,
}

impl Moments {
    /// The moments of one batch of finite values.
    pub fn of(values: &[f64]) -> Moments {
        if values.is_empty() {
            return Moments::default();
        }
        let n = values.len() as f64;
        let sum: f64 = values.iter().sum();
        let mean = if sum.is_finite() {
            sum / n
        } else {
            values.iter().map(|v| v / n).sum()
        };
        let m2 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        Moments {
            n: values.len() as u64,
            mean,
            m2,
        }
    }

    /// Adds the part `b` (values after this part's).
    pub fn merge(&mut self, b: &Moments) {
        if b.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *b;
            return;
        }
        let (na, nb) = (self.n as f64, b.n as f64);
        let n = na + nb;
        let delta = b.mean - self.mean;
        let mut mean = self.mean + delta * (nb / n);
        if !mean.is_finite() {
            mean = self.mean * (na / n) + b.mean * (nb / n);
        }
        self.m2 = self.m2 + b.m2 + delta * delta * (na * nb / n);
        self.mean = mean;
        self.n += b.n;
    }

    /// The mean; `None` without values.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean).and_then(finite)
    }

    /// Sample standard deviation (denominator `n − 1`, DuckDB's `stddev_samp`); `None` below
    /// two values or when it is not finite.
    pub fn stddev_samp(&self) -> Option<f64> {
        (self.n > 1)
            .then(|| (self.m2 / (self.n - 1) as f64).sqrt())
            .and_then(finite)
    }
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

/// The bin layout of a numeric histogram of `n` finite values in `[min, max]` with
/// interquartile range `iqr`: the Freedman–Diaconis width `2·IQR/∛n` (Freedman and Diaconis
/// 1981), at most [`HISTOGRAM_BINS`] bins; `(bins, rule)`. When the IQR is 0 (or the rule
/// asks for more bins) the bins are [`HISTOGRAM_BINS`] equal ones (rule `equal_width` for IQR
/// 0, else `freedman_diaconis` capped).
pub fn bin_count(n: u64, min: f64, max: f64, iqr: f64) -> (usize, &'static str) {
    let range = max - min;
    if range.is_nan() || range <= 0.0 || n < 2 {
        return (1, "single");
    }
    if iqr.is_nan() || iqr <= 0.0 || !iqr.is_finite() {
        return (HISTOGRAM_BINS, "equal_width");
    }
    let width = 2.0 * iqr / (n as f64).cbrt();
    let bins = (range / width).ceil();
    let bins = if bins.is_finite() && bins >= 1.0 {
        (bins as usize).min(HISTOGRAM_BINS)
    } else {
        HISTOGRAM_BINS
    };
    (bins, "freedman_diaconis")
}

/// Equal-width edges from `min` to `max` (the last exactly `max`), kept ascending.
fn edges(min: f64, max: f64, bins: usize) -> Vec<f64> {
    let mut width = (max - min) / bins as f64;
    if !width.is_finite() {
        width = max / bins as f64 - min / bins as f64;
    }
    let mut e: Vec<f64> = (0..bins).map(|i| min + width * i as f64).collect();
    e.push(max);
    for i in 1..e.len() {
        if e[i] < e[i - 1] {
            e[i] = e[i - 1];
        }
    }
    e
}

/// Histogram of an ascending slice of finite values (every value of the column), bins from
/// [`bin_count`]. Bin `i` holds `edges[i] <= v < edges[i+1]`, the last bin also `v == max`.
/// `None` for an empty slice.
pub fn histogram_sorted<T: Numeric>(sorted: &[T]) -> Option<Histogram> {
    let (min, max) = (sorted.first()?.to_f64(), sorted.last()?.to_f64());
    if !min.is_finite() || !max.is_finite() {
        return None;
    }
    let iqr = quantile_cont(sorted, 0.75)? - quantile_cont(sorted, 0.25)?;
    let (bins, rule) = bin_count(sorted.len() as u64, min, max, iqr);
    let e = edges(min, max, bins);
    let mut counts = Vec::with_capacity(bins);
    let mut start = 0usize;
    for upper in e.iter().take(bins).skip(1) {
        let end = sorted.partition_point(|v| v.to_f64() < *upper);
        counts.push((end - start) as u64);
        start = end;
    }
    counts.push((sorted.len() - start) as u64);
    Some(Histogram {
        edges: e,
        counts,
        rule: rule.to_string(),
        values: Vec::new(),
    })
}

/// One bin per distinct value (`values` ascending, `counts` alike), rule `distinct`.
pub fn histogram_distinct(mut pairs: Vec<(f64, u64)>) -> Option<Histogram> {
    if pairs.is_empty() {
        return None;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(Histogram {
        edges: Vec::new(),
        counts: pairs.iter().map(|p| p.1).collect(),
        rule: "distinct".to_string(),
        values: pairs.iter().map(|p| p.0).collect(),
    })
}

/// Exact counts in [`FINE_BINS`] equal bins over a range known before the scan (the Parquet
/// statistics' min and max), merged into at most [`HISTOGRAM_BINS`] bins at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct FineBins {
    min: f64,
    width: f64,
    counts: Vec<u64>,
}

impl FineBins {
    /// Bins over `[min, max]`; `None` unless both are finite and `min <= max`.
    pub fn new(min: f64, max: f64) -> Option<FineBins> {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return None;
        }
        let width = (max - min) / FINE_BINS as f64;
        Some(FineBins {
            min,
            width: if width > 0.0 && width.is_finite() {
                width
            } else {
                1.0
            },
            counts: vec![0; FINE_BINS],
        })
    }

    /// Counts one finite value (values outside the range go to the end bins).
    #[inline]
    pub fn add(&mut self, v: f64) {
        let i = ((v - self.min) / self.width) as usize;
        let i = i.min(FINE_BINS - 1);
        self.counts[i] += 1;
    }

    /// Adds the counts of `other` (same range).
    pub fn merge(&mut self, other: &FineBins) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The histogram of `n` values with actual extremes `min`/`max` and interquartile range
    /// `iqr` (estimated from a sample): [`bin_count`] bins, widened to whole fine bins, so
    /// every count is exact. `None` when nothing was counted.
    pub fn finish(&self, min: f64, max: f64, iqr: f64) -> Option<Histogram> {
        let n: u64 = self.counts.iter().sum();
        if n == 0 {
            return None;
        }
        let (bins, rule) = bin_count(n, min, max, iqr);
        if bins == 1 {
            return Some(Histogram {
                edges: vec![min, max],
                counts: vec![n],
                rule: rule.to_string(),
                values: Vec::new(),
            });
        }
        // Fine bins per output bin, so that at most `bins` output bins cover the used range.
        let lo = (((min - self.min) / self.width) as usize).min(FINE_BINS - 1);
        let hi = (((max - self.min) / self.width) as usize).min(FINE_BINS - 1);
        let used = hi - lo + 1;
        let per = used.div_ceil(bins).max(1);
        let mut e = Vec::new();
        let mut counts = Vec::new();
        let mut i = lo;
        while i <= hi {
            let end = (i + per).min(hi + 1);
            e.push(if i == lo {
                min
            } else {
                self.min + self.width * i as f64
            });
            counts.push(self.counts[i..end].iter().sum());
            i = end;
        }
        e.push(max.max(*e.last().unwrap_or(&max)));
        Some(Histogram {
            edges: e,
            counts,
            rule: rule.to_string(),
            values: Vec::new(),
        })
    }
}

/// Values per calendar period from `(day, count)` pairs (days since 1970-01-01): `day` bins for
/// a span up to 62 days, `month` up to 5 years, `quarter` up to 15 years, else `year`; every
/// period from the earliest to the latest is listed, empty ones with 0. `None` without values
/// or for days outside chrono's calendar.
pub fn period_histogram(days: &[(i64, u64)]) -> Option<PeriodHistogram> {
    let first = days.iter().map(|d| d.0).min()?;
    let last = days.iter().map(|d| d.0).max()?;
    let date = |d: i64| i32::try_from(d).ok().and_then(NaiveDate::from_epoch_days);
    let (a, b) = (date(first)?, date(last)?);
    let span = last - first;
    let granularity = if span <= 62 {
        "day"
    } else if span <= 5 * 366 {
        "month"
    } else if span <= 15 * 366 {
        "quarter"
    } else {
        "year"
    };
    // Period index and label.
    let index = |d: NaiveDate| -> i64 {
        let (y, m) = (i64::from(d.year()), i64::from(d.month0()));
        match granularity {
            "month" => y * 12 + m,
            "quarter" => y * 4 + m / 3,
            _ => y,
        }
    };
    if granularity == "day" {
        let mut bins: Vec<PeriodCount> = (first..=last)
            .map(|d| PeriodCount {
                period: super::render::date(d),
                count: 0,
            })
            .collect();
        for &(d, c) in days {
            if let Some(b) = bins.get_mut((d - first) as usize) {
                b.count += c;
            }
        }
        return Some(PeriodHistogram {
            granularity: granularity.into(),
            bins,
        });
    }
    let (i0, i1) = (index(a), index(b));
    let label = |i: i64| match granularity {
        "month" => format!("{:04}-{:02}", i.div_euclid(12), i.rem_euclid(12) + 1),
        "quarter" => format!("{:04}-Q{}", i.div_euclid(4), i.rem_euclid(4) + 1),
        _ => format!("{i:04}"),
    };
    let mut bins: Vec<PeriodCount> = (i0..=i1)
        .map(|i| PeriodCount {
            period: label(i),
            count: 0,
        })
        .collect();
    for &(d, c) in days {
        if let Some(dd) = date(d) {
            if let Some(b) = bins.get_mut((index(dd) - i0) as usize) {
                b.count += c;
            }
        }
    }
    Some(PeriodHistogram {
        granularity: granularity.into(),
        bins,
    })
}

/// True for text that reads as a number: optional sign, digits with an optional decimal point
/// (`12`, `-3.5`, `.5`), optional exponent (`1e6`, `2.5E-3`).
pub fn looks_numeric(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// True for an ISO 8601 date (`2025-03-01`) optionally followed by `T` or a space and a time
/// (`10:00`, `10:00:00`, `10:00:00.250`) and a zone (`Z`, `+01:00`, `+0100`). The date must exist.
pub fn looks_date(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
    };
    let (Some(y), Some(m), Some(d)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return false;
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    if NaiveDate::from_ymd_opt(y as i32, m, d).is_none() {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    if !matches!(b.get(10), Some(b'T' | b' ')) {
        return false;
    }
    let (Some(h), Some(mi)) = (num(11, 2), num(14, 2)) else {
        return false;
    };
    if b.get(13) != Some(&b':') || h > 23 || mi > 59 {
        return false;
    }
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        match num(i + 1, 2) {
            Some(sec) if sec <= 60 => i += 3,
            _ => return false,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return false;
            }
        }
    }
    match b.get(i) {
        None => true,
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            // Bytes, not `str` slices: the rest may hold multi-byte characters.
            let rest = &b[i + 1..];
            let ok = |t: &[u8]| t.len() == 2 && t.iter().all(u8::is_ascii_digit);
            match rest.len() {
                2 => ok(rest),
                4 => ok(&rest[..2]) && ok(&rest[2..]),
                5 => ok(&rest[..2]) && rest[2] == b':' && ok(&rest[3..]),
                _ => false,
            }
        }
        _ => false,
    }
}

/// True for text shaped like an e-mail address: one `@`, a non-empty local part, a domain of
/// non-empty dot-separated labels with at least one dot, no whitespace.
pub fn looks_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty())
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
        let v = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert!(close(quantile_cont(&v, 0.5), 30.0));
        assert!(close(quantile_cont(&v, 0.25), 20.0));
        // 5% of 4 = RN 0.2 → 10 + 0.2 · 10.
        assert!(close(quantile_cont(&v, 0.05), 12.0));
        assert!(close(quantile_cont(&[7.0], 0.75), 7.0));
        assert_eq!(quantile_cont::<f64>(&[], 0.5), None);
        assert!(close(quantile_cont(&[1_i64, 2, 3, 4], 0.25), 1.75));
        let big = [-f64::MAX, f64::MAX];
        assert!(close(quantile_cont(&big, 0.5), 0.0));
    }

    #[test]
    fn moments_merge_equals_whole() {
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let whole = Moments::of(&v);
        assert!(close(whole.mean(), 5.0));
        // Σ(d²) = 32, n − 1 = 7.
        assert!(close(whole.stddev_samp(), (32.0_f64 / 7.0).sqrt()));
        let mut parts = Moments::of(&v[..3]);
        parts.merge(&Moments::of(&v[3..5]));
        parts.merge(&Moments::default());
        parts.merge(&Moments::of(&v[5..]));
        assert_eq!(parts.n, 8);
        assert!(close(parts.mean(), 5.0));
        assert!(close(parts.stddev_samp(), (32.0_f64 / 7.0).sqrt()));
        assert_eq!(Moments::of(&[3.0]).stddev_samp(), None);
        assert_eq!(Moments::default().mean(), None);
        let huge = Moments::of(&[f64::MAX, f64::MAX]);
        assert!(close(huge.mean(), f64::MAX));
    }

    #[test]
    fn freedman_diaconis_bins() {
        // 0..=99: IQR 49.5, n 100 → width 2·49.5/∛100 = 21.33 → ceil(99 / 21.33) = 5 bins.
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let h = histogram_sorted(&v).expect("histogram");
        assert_eq!(h.rule, "freedman_diaconis");
        assert_eq!(h.counts, vec![20, 20, 20, 20, 20]);
        let want = [0.0, 19.8, 39.6, 59.4, 79.2, 99.0];
        assert!(h.edges.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9));
        // IQR 0 with outliers: equal width.
        let mut v = vec![5.0; 50];
        v.push(100.0);
        let h = histogram_sorted(&v).expect("histogram");
        assert_eq!(h.rule, "equal_width");
        assert_eq!(h.counts.len(), HISTOGRAM_BINS);
        assert_eq!(h.counts[0], 50);
        assert_eq!(h.counts[HISTOGRAM_BINS - 1], 1);
        let h = histogram_sorted(&[3.0, 3.0]).expect("histogram");
        assert_eq!((h.rule.as_str(), h.counts.clone()), ("single", vec![2]));
        assert_eq!(histogram_sorted::<f64>(&[]), None);
        let d = histogram_distinct(vec![(2.0, 5), (1.0, 3)]).expect("histogram");
        assert_eq!((d.values, d.counts), (vec![1.0, 2.0], vec![3, 5]));
    }

    #[test]
    fn fine_bins_give_exact_counts() {
        let v: Vec<f64> = (0..10_000).map(|i| f64::from(i) / 10.0).collect();
        let mut f = FineBins::new(0.0, 999.9).expect("range");
        for &x in &v {
            f.add(x);
        }
        let h = f.finish(0.0, 999.9, 500.0).expect("histogram");
        assert_eq!(h.counts.iter().sum::<u64>(), 10_000);
        assert!(h.counts.len() <= HISTOGRAM_BINS);
        // Each count equals the number of values within its edges.
        for (i, &c) in h.counts.iter().enumerate() {
            let last = i + 1 == h.counts.len();
            let n = v
                .iter()
                .filter(|&&x| {
                    x >= h.edges[i] && (x < h.edges[i + 1] || (last && x <= h.edges[i + 1]))
                })
                .count() as u64;
            assert!(n.abs_diff(c) <= 1, "bin {i}: {c} vs {n}");
        }
    }

    #[test]
    fn periods() {
        let d = |s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .expect("date")
                .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
                .num_days()
        };
        let h = period_histogram(&[(d("2025-01-30"), 2), (d("2025-02-01"), 1)]).expect("h");
        assert_eq!(h.granularity, "day");
        assert_eq!(h.bins.len(), 3);
        assert_eq!(h.bins[0].period, "2025-01-30");
        assert_eq!(
            h.bins.iter().map(|b| b.count).collect::<Vec<_>>(),
            vec![2, 0, 1]
        );
        let h = period_histogram(&[(d("2024-11-15"), 2), (d("2025-03-01"), 4)]).expect("h");
        assert_eq!(h.granularity, "month");
        assert_eq!(h.bins.first().map(|b| b.period.as_str()), Some("2024-11"));
        assert_eq!(h.bins.len(), 5);
        assert_eq!(h.bins[4].count, 4);
        let h = period_histogram(&[(d("2015-02-01"), 1), (d("2025-12-31"), 1)]).expect("h");
        assert_eq!(h.granularity, "quarter");
        assert_eq!(h.bins[0].period, "2015-Q1");
        assert_eq!(h.bins.last().map(|b| b.period.as_str()), Some("2025-Q4"));
        let h = period_histogram(&[(d("1990-06-01"), 1), (d("2025-12-31"), 1)]).expect("h");
        assert_eq!(h.granularity, "year");
        assert_eq!(h.bins.len(), 36);
        assert_eq!(period_histogram(&[]), None);
    }

    #[test]
    fn multibyte_text_after_a_zone_sign_is_not_a_date() {
        for s in [
            "2025-03-01T10:00+a€",
            "2025-03-01T10:00-€€",
            "2025-€3-01",
            "€",
        ] {
            assert!(!looks_date(s), "{s}");
        }
    }

    #[test]
    fn text_shapes() {
        for s in ["12", "-3.5", ".5", "1e6", "2.5E-3", "+7"] {
            assert!(looks_numeric(s), "{s}");
        }
        for s in ["", "-", "1.2.3", "1e", "abc", "12 ", "1,5"] {
            assert!(!looks_numeric(s), "{s}");
        }
        for s in [
            "2025-03-01",
            "2025-03-01T10:00:00Z",
            "2025-03-01 10:00",
            "2024-02-29T23:59:59.250+01:00",
            "2025-03-01T10:00:00+0100",
        ] {
            assert!(looks_date(s), "{s}");
        }
        for s in [
            "2025-02-30",
            "2025-3-1",
            "20250301",
            "2025-03-01T25:00",
            "2025-03-01X",
        ] {
            assert!(!looks_date(s), "{s}");
        }
        for s in ["a@b.co", "first.last+tag@mail.example.org"] {
            assert!(looks_email(s), "{s}");
        }
        for s in ["a@b", "@b.co", "a b@c.de", "a@@b.co", "a@b..co", "plain"] {
            assert!(!looks_email(s), "{s}");
        }
    }
}
