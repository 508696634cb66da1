//! Mergeable summaries of a column's values: [`Counter`] (exact counts per value up to
//! [`EXACT_DISTINCT`] distinct values, then a [`Hll`]), and the row sampler [`sampled_row`].
//! Merging two summaries gives the summary of both inputs, whatever the order or split.

use super::interner::fmix64;
use super::limits::{EXACT_DISTINCT, HLL_PRECISION};

/// HyperLogLog (Flajolet, Fusy, Gandouet, Meunier 2007) over 64-bit hashes with
/// `m = 2^HLL_PRECISION` registers; small cardinalities use linear counting (Whang et al.
/// 1990), as HyperLogLog++ does (Heule, Nunkesser, Hall 2013). With 64-bit hashes no
/// large-range correction is needed.
#[derive(Debug, Clone)]
pub struct Hll {
    registers: Vec<u8>,
}

impl Default for Hll {
    fn default() -> Self {
        Self::new()
    }
}

impl Hll {
    /// Empty sketch.
    pub fn new() -> Self {
        Hll {
            registers: vec![0; 1 << HLL_PRECISION],
        }
    }

    /// Adds one well-mixed 64-bit hash.
    #[inline]
    pub fn add(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_PRECISION)) as usize;
        // The remaining bits, with a sentinel so the rank is at most 64 − p + 1.
        let rest = (hash << HLL_PRECISION) | (1 << (HLL_PRECISION - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if let Some(r) = self.registers.get_mut(index) {
            if *r < rank {
                *r = rank;
            }
        }
    }

    /// Register-wise maximum: the sketch of both inputs.
    pub fn merge(&mut self, other: &Hll) {
        for (a, b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(*b);
        }
    }

    /// Estimated number of distinct hashes added.
    pub fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    /// Relative error bound in percent stated with an estimate: three standard errors,
    /// `3 × 1.04 / √m`.
    pub fn error_pct() -> f64 {
        3.0 * 1.04 / f64::from(1u32 << HLL_PRECISION).sqrt() * 100.0
    }
}

/// Counts per 64-bit key (a value's bits), exact while at most [`EXACT_DISTINCT`] keys are
/// seen; past that the keys move into a [`Hll`] and only the distinct estimate remains.
///
/// Layout: open addressing with linear probing at load ≤ 1/2; `counts[i] == 0` marks an empty
/// slot. About 32 bytes per distinct key at the limit (3.2 MB), then 16 KiB.
#[derive(Debug, Clone)]
pub struct Counter {
    keys: Vec<u64>,
    counts: Vec<u64>,
    len: usize,
    hll: Option<Box<Hll>>,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl Counter {
    /// Empty counter.
    pub fn new() -> Self {
        Counter {
            keys: vec![0; 16],
            counts: vec![0; 16],
            len: 0,
            hll: None,
        }
    }

    /// A counter that keeps only the sketch (no counts).
    pub fn sketch() -> Self {
        Counter {
            keys: Vec::new(),
            counts: Vec::new(),
            len: 0,
            hll: Some(Box::new(Hll::new())),
        }
    }

    /// True while the counts are exact.
    pub fn is_exact(&self) -> bool {
        self.hll.is_none()
    }

    /// Distinct keys: exact, or the HyperLogLog estimate rounded.
    pub fn distinct(&self) -> u64 {
        match &self.hll {
            None => self.len as u64,
            Some(h) => h.estimate().round() as u64,
        }
    }

    /// Adds `n` occurrences of `key`.
    #[inline]
    pub fn add(&mut self, key: u64, n: u64) {
        let hash = fmix64(key);
        if let Some(h) = &mut self.hll {
            h.add(hash);
            return;
        }
        let mask = self.keys.len() - 1;
        let mut pos = (hash as usize) & mask;
        loop {
            if self.counts[pos] == 0 {
                self.keys[pos] = key;
                self.counts[pos] = n;
                self.len += 1;
                if self.len > EXACT_DISTINCT {
                    self.overflow();
                } else if self.len * 2 > self.keys.len() {
                    self.grow();
                }
                return;
            }
            if self.keys[pos] == key {
                self.counts[pos] += n;
                return;
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Adds every key of `other` with its count (or merges the sketches).
    pub fn merge(&mut self, other: &Counter) {
        match (&mut self.hll, &other.hll) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => {
                let mut h = b.clone();
                for (k, _) in self.iter() {
                    h.add(fmix64(k));
                }
                self.hll = Some(h);
                self.release();
            }
            (_, None) => {
                for (k, c) in other.iter() {
                    self.add(k, c);
                }
            }
        }
    }

    /// `(key, count)` of every key, in slot order; empty once inexact.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.keys
            .iter()
            .zip(&self.counts)
            .filter(|(_, &c)| c > 0)
            .map(|(&k, &c)| (k, c))
    }

    fn overflow(&mut self) {
        let mut h = Box::new(Hll::new());
        for (k, _) in self.iter() {
            h.add(fmix64(k));
        }
        self.hll = Some(h);
        self.release();
    }

    fn release(&mut self) {
        self.keys = Vec::new();
        self.counts = Vec::new();
        self.len = 0;
    }

    fn grow(&mut self) {
        let size = self.keys.len() * 2;
        let mask = size - 1;
        let mut keys = vec![0u64; size];
        let mut counts = vec![0u64; size];
        for (k, c) in self.iter() {
            let mut pos = (fmix64(k) as usize) & mask;
            while counts[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            keys[pos] = k;
            counts[pos] = c;
        }
        self.keys = keys;
        self.counts = counts;
    }
}

/// Whether row `row` (0-based, over the whole table) is in the uniform sample that keeps a
/// share `threshold / 2^64` of rows: a Bernoulli draw decided by a hash of the row number, so
/// every column of a table samples the same rows and every run the same.
#[inline]
pub fn sampled_row(row: u64, threshold: u64) -> bool {
    fmix64(row ^ 0x5851_F42D_4C95_7F2D) < threshold
}

/// The `threshold` for [`sampled_row`] keeping about `want` of `rows` rows; `u64::MAX` keeps all.
pub fn sample_threshold(want: u64, rows: u64) -> u64 {
    if rows <= want || rows == 0 {
        return u64::MAX;
    }
    ((want as f64 / rows as f64) * u64::MAX as f64) as u64
}

/// Rank error bound (percent) of percentiles read from a uniform sample of `n` values, at
/// confidence `c`: the Dvoretzky–Kiefer–Wolfowitz inequality with Massart's constant,
/// `ε = √(ln(2 / (1 − c)) / (2n))`. `None` for no values.
pub fn dkw_rank_error_pct(n: u64, c: f64) -> Option<f64> {
    (n > 0).then(|| ((2.0 / (1.0 - c)).ln() / (2.0 * n as f64)).sqrt() * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_is_exact_to_the_limit_then_estimates() {
        let mut c = Counter::new();
        for i in 0..1000u64 {
            c.add(i % 10, 1);
        }
        assert!(c.is_exact());
        assert_eq!(c.distinct(), 10);
        let mut counts: Vec<(u64, u64)> = c.iter().collect();
        counts.sort();
        assert_eq!(counts[3], (3, 100));

        let n = 2_000_000u64;
        let mut big = Counter::new();
        for i in 0..n {
            big.add(i.wrapping_mul(7919), 1);
        }
        assert!(!big.is_exact());
        let err = (big.distinct() as f64 - n as f64).abs() / n as f64 * 100.0;
        assert!(err < Hll::error_pct(), "{err}% off");
    }

    #[test]
    fn merge_of_parts_equals_whole() {
        // Two halves that overflow only together.
        let mut a = Counter::new();
        let mut b = Counter::new();
        let mut whole = Counter::new();
        for i in 0..(EXACT_DISTINCT as u64 * 3 / 2) {
            if i % 2 == 0 { &mut a } else { &mut b }.add(i, 1);
            whole.add(i, 1);
        }
        assert!(a.is_exact() && b.is_exact());
        a.merge(&b);
        assert!(!a.is_exact());
        assert_eq!(a.distinct(), whole.distinct());
        // Exact merge keeps counts.
        let mut x = Counter::new();
        let mut y = Counter::new();
        x.add(5, 2);
        y.add(5, 3);
        y.add(6, 1);
        x.merge(&y);
        let mut v: Vec<_> = x.iter().collect();
        v.sort();
        assert_eq!(v, vec![(5, 5), (6, 1)]);
    }

    #[test]
    fn hll_small_range_and_bounds() {
        let mut h = Hll::new();
        for i in 0..1000u64 {
            h.add(fmix64(i));
        }
        assert!((h.estimate() - 1000.0).abs() < 30.0, "{}", h.estimate());
        assert!((Hll::error_pct() - 2.4375).abs() < 1e-9);
        // n = 100,000 at 99%: √(ln 200 / 200,000) = 0.5147%.
        let e = dkw_rank_error_pct(100_000, 0.99).expect("bound");
        assert!((e - 0.51468).abs() < 1e-4, "{e}");
    }

    #[test]
    fn row_sample_keeps_the_asked_share() {
        let t = sample_threshold(100_000, 10_000_000);
        let kept = (0..10_000_000u64).filter(|&r| sampled_row(r, t)).count();
        assert!((99_000..101_000).contains(&kept), "{kept}");
        assert_eq!(sample_threshold(10, 5), u64::MAX);
    }

    /// Structured keys (`S-00000001` …) hashed by the interner's hash must spread like random
    /// ones: a multiply-rotate hash once undercounted these 1M session ids by 2.8%.
    #[test]
    fn structured_text_keys_estimate_within_the_bound() {
        for f in [
            (|i: u64| format!("S-{i:08}")) as fn(u64) -> String,
            |i: u64| format!("{i}"),
            |i: u64| format!("user{i}@example.com"),
        ] {
            let mut h = Hll::new();
            for i in 1..=1_000_000u64 {
                h.add(super::super::interner::hash_bytes(f(i).as_bytes()));
            }
            let err = (h.estimate() - 1e6).abs() / 1e6 * 100.0;
            assert!(err < Hll::error_pct(), "{}: {err}% off", f(1));
        }
    }
}
