//! A small, value-stable random source for the demo shop.
//!
//! Every draw goes through [`ChaCha8Rng::next_u64`] and plain integer or IEEE-754 arithmetic
//! (`+ - * /`, no `ln`/`exp`/`powf`, whose last bits differ between platforms' math libraries),
//! so the same seed gives the same bytes on every machine and with every future `rand` release.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One independent stream of random numbers (one per table, so a change in one table's logic
/// does not shift the values of the others).
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    /// `ChaCha8Rng::seed_from_u64(seed)` switched to ChaCha stream `stream`.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(stream);
        Rng(inner)
    }

    /// 64 random bits.
    pub(crate) fn bits(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`, 53 bits of precision.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.bits() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.bits()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `[lo, hi]` (inclusive); `lo` when `hi < lo`.
    pub(crate) fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// Uniform float in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element of a non-empty constant list.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Index chosen with probability proportional to `weights` (a short constant list).
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// Running sums of `weights` (for [`sample_cum`]).
pub(crate) fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .into_iter()
        .map(|w| {
            total += w;
            total
        })
        .collect()
}

/// Index drawn from the first `len` entries of running sums `cum` with `u` uniform in `[0, 1)`.
/// `len` must be at least 1 and at most `cum.len()`.
pub(crate) fn sample_prefix(cum: &[f64], len: usize, u: f64) -> usize {
    let prefix = &cum[..len];
    let x = u * prefix[len - 1];
    prefix.partition_point(|&c| c <= x).min(len - 1)
}

/// Index drawn from running sums `cum` (non-empty) with `u` uniform in `[0, 1)`.
pub(crate) fn sample_cum(cum: &[f64], u: f64) -> usize {
    sample_prefix(cum, cum.len(), u)
}

/// SplitMix64's finaliser: a fixed, well-mixed bijection on `u64` (used for visitor ids).
pub(crate) fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_same_values() {
        let mut a = Rng::new(42, 3);
        let mut b = Rng::new(42, 3);
        let mut c = Rng::new(42, 4);
        let va: Vec<u64> = (0..5).map(|_| a.bits()).collect();
        let vb: Vec<u64> = (0..5).map(|_| b.bits()).collect();
        let vc: Vec<u64> = (0..5).map(|_| c.bits()).collect();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = Rng::new(1, 1);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            let x = r.between(-3, 3);
            assert!((-3..=3).contains(&x));
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.between(5, 5), 5);
    }

    #[test]
    fn cumulative_sampling_respects_weights() {
        let cum = cumulative([1.0, 0.0, 3.0]);
        assert_eq!(sample_cum(&cum, 0.0), 0);
        assert_eq!(sample_cum(&cum, 0.2), 0);
        assert_eq!(sample_cum(&cum, 0.3), 2);
        assert_eq!(sample_cum(&cum, 0.999), 2);
        assert_eq!(sample_prefix(&cum, 1, 0.9), 0);
    }
}
