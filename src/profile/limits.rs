//! Every size limit of the profiler in one place: where exact statistics give way to sketches,
//! and how large the sketches and lists are. Alert thresholds are in `alerts.rs`.

/// Distinct values counted exactly (with a count per value) per column. Beyond this the
/// distinct count becomes a HyperLogLog estimate and the column gets no top values.
pub const EXACT_DISTINCT: usize = 100_000;

/// HyperLogLog precision: `2^HLL_PRECISION` one-byte registers (16 KiB), a standard error of
/// `1.04 / √16384 = 0.81%`.
pub const HLL_PRECISION: u32 = 14;

/// Percentiles are exact (every value kept and sorted, 8 bytes a value) for tables profiled on
/// at most this many rows.
pub const EXACT_QUANTILE_ROWS: u64 = 1_000_000;

/// Above [`EXACT_QUANTILE_ROWS`], percentiles come from a uniform (Bernoulli) sample of about
/// this many rows, the same rows for every column of the table.
pub const QUANTILE_SAMPLE_ROWS: u64 = 100_000;

/// Most bins of a numeric histogram (Freedman–Diaconis, capped), and the most distinct values
/// for which a histogram has one bin per value instead.
pub const HISTOGRAM_BINS: usize = 40;

/// Fine equal-width bins counted over the whole column when percentiles are sampled, so the
/// final histogram's counts stay exact: its bins are unions of these.
pub const FINE_BINS: usize = 4096;

/// Entries of `top_values`.
pub const TOP_VALUES: usize = 10;

/// Values kept for `sample_values`, and rows kept for `sample_rows`.
pub const SAMPLE_SIZE: usize = 5;

/// Confidence of the stated percentile rank error (Dvoretzky–Kiefer–Wolfowitz).
pub const QUANTILE_CONFIDENCE: f64 = 0.99;

/// Rows per Arrow batch read from Parquet.
pub const BATCH_ROWS: usize = 64 * 1024;
