//! The shape of `meta/profiles.json` and of each table's profile in its JSON twin.
//!
//! Values that are undefined (the mean of an empty column, the stddev of one value) are `None`,
//! serialised as JSON `null`, never NaN; pages show "n/a".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the `profiles.json` format; bumped on any incompatible change.
pub const PROFILES_VERSION: u32 = 2;

/// `meta/profiles.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfilesFile {
    /// Always [`PROFILES_VERSION`].
    pub version: u32,
    /// RFC 3339 UTC time the build started.
    pub generated_at: String,
    /// Profile per table name.
    pub tables: BTreeMap<String, TableProfile>,
}

/// [`ProfilesFile`] borrowing its profiles, to write it without copying them: serialises to
/// the same JSON.
#[derive(Debug, Serialize)]
pub struct ProfilesFileRef<'a> {
    /// Always [`PROFILES_VERSION`].
    pub version: u32,
    /// RFC 3339 UTC time the build started.
    pub generated_at: &'a str,
    /// Profile per table name, serialised ([`crate::site::ProfileJson`]).
    pub tables: BTreeMap<&'a str, crate::publish::Piece<'a, 'a>>,
}

/// Statistics of one table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TableProfile {
    /// Table name.
    pub table: String,
    /// Rows in all the table's Parquet files.
    pub row_count: u64,
    /// Number of columns.
    pub column_count: usize,
    /// Bytes of the Parquet files on disk.
    pub file_bytes: u64,
    /// Bytes of the column chunks before compression (sum over row groups).
    pub uncompressed_bytes: u64,
    /// Share of non-null cells, 0–100; `None` for a table with no rows.
    pub completeness_pct: Option<f64>,
    /// Null cells over all columns.
    pub missing_cells: u64,
    /// Rows whose primary key repeats an earlier row's key; `None` without a primary key or
    /// for a sampled profile. Exact: from the exact distinct count of a one-column key, 0 for
    /// an integer key that strictly increases, else counted on 128-bit hashes of the key
    /// tuples (a false match needs a hash collision: probability below rows² / 2¹²⁹).
    pub duplicate_primary_keys: Option<u64>,
    /// Rows equal in every column to an earlier row. Exactly 0 when the primary key has no
    /// duplicates; otherwise counted on 128-bit hashes of whole rows (a false match needs a
    /// hash collision: probability below rows² / 2¹²⁹). `None` when not computed (a sampled
    /// profile).
    pub duplicate_rows: Option<u64>,
    /// Range of the first date or timestamp column, if any has values.
    pub date_range: Option<DateRange>,
    /// Up to 5 rows, values as text (`None` = NULL), in column order.
    pub sample_rows: Vec<Vec<Option<String>>>,
    /// Column alerts gathered here too, for the top of the table page.
    pub alerts: Vec<Alert>,
    /// Tables joined to this one by a declared foreign key, both directions.
    pub related_tables: Vec<RelatedTable>,
    /// Names of the metrics whose SQL reads this table.
    pub used_by_metrics: Vec<String>,
    /// True when the statistics cover only part of the rows (a `profile.sample_rows` cap or
    /// the `profile.time_budget_s` ran out); counts, shares and histograms then describe
    /// `profiled_rows` rows, while `row_count` stays the table's.
    pub sampled: bool,
    /// Rows the column statistics were computed over (= `row_count` unless `sampled`).
    pub profiled_rows: u64,
    /// Why the profile is sampled (`"sample_rows: 1000000"`, `"time_budget_s: 30"`).
    pub sample_reason: Option<String>,
    /// Content fingerprint of the table's Parquet files (hex SHA-256 over each file's path,
    /// length and SHA-256, in order) and of the profile settings; an unchanged fingerprint
    /// lets the next build reuse this profile.
    pub fingerprint: String,
    /// One entry per column, in schema order.
    pub columns: Vec<ColumnProfile>,
}

impl TableProfile {
    /// The profile of the column named `name`, looked for at position `at` first (where it is
    /// when the caller walks the table's columns in order), then by a scan.
    pub fn column_at(&self, at: usize, name: &str) -> Option<&ColumnProfile> {
        match self.columns.get(at) {
            Some(c) if c.name == name => Some(c),
            _ => self.columns.iter().find(|c| c.name == name),
        }
    }
}

/// A table related to the profiled one by a foreign key from `data_description.md`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RelatedTable {
    /// The other table.
    pub table: String,
    /// The column of the profiled table in the join.
    pub column: String,
    /// The column of the other table in the join.
    pub foreign_column: String,
    /// `belongs_to`: the profiled table declares the key (`column` → `table.foreign_column`);
    /// `has_many`: the other table declares it (`table.foreign_column` → `column`).
    pub direction: String,
    /// The foreign key's description, if declared.
    pub description: Option<String>,
}

/// Earliest and latest value of a date or timestamp column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DateRange {
    /// The column the range comes from.
    pub column: String,
    /// `YYYY-MM-DD` for dates, RFC 3339 UTC (`2025-03-01T10:00:00Z`) for `timestamptz`, the
    /// same without `Z` (`2025-03-01T10:00:00`) for wall-clock `timestamp`.
    pub earliest: String,
    /// Same format as `earliest`.
    pub latest: String,
    /// Whole days from earliest to latest.
    pub span_days: i64,
}

/// A data-quality warning about one column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alert {
    /// Column name.
    pub column: String,
    /// constant | unique | high_missing | missing | zeros | imbalance | high_cardinality.
    pub kind: String,
    /// One sentence for the page.
    pub message: String,
}

/// Statistics of one column. `min`/`max` are JSON numbers for numeric columns, text otherwise
/// (dates `YYYY-MM-DD`, `timestamptz` RFC 3339 UTC, `timestamp` the same without `Z`, booleans
/// `true`/`false`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// int64 | float64 | boolean | date | timestamp | timestamptz | string.
    #[serde(rename = "type")]
    pub column_type: String,
    /// NULL values.
    pub null_count: u64,
    /// NULL share, 0–100; `None` for a table with no rows.
    pub null_pct: Option<f64>,
    /// Distinct non-null values: exact when `distinct_exact`, else a HyperLogLog estimate.
    pub distinct_count: u64,
    /// True when `distinct_count` is exact (at most [`crate::profile::limits::EXACT_DISTINCT`]
    /// distinct values).
    pub distinct_exact: bool,
    /// For an estimate: the relative error bound in percent (three standard errors of
    /// HyperLogLog, `3 × 1.04 / √m` for `m` registers; 99.7% of estimates fall within it).
    pub distinct_error_pct: Option<f64>,
    /// Distinct share of non-null values, 0–100; `None` when all values are NULL.
    pub distinct_pct: Option<f64>,
    /// Smallest non-null value.
    pub min: Option<serde_json::Value>,
    /// Largest non-null value.
    pub max: Option<serde_json::Value>,
    /// Up to 5 distinct non-null values as text, in order of first appearance.
    pub sample_values: Vec<String>,
    /// Most frequent values, most frequent first (ties by value), at most 10; given when the
    /// distinct count is exact and some value occurs more than once (empty otherwise).
    pub top_values: Vec<TopValue>,
    /// Part of the table's primary key.
    pub is_primary_key: bool,
    /// Alerts for this column.
    pub alerts: Vec<Alert>,
    /// For int64 and float64.
    pub numeric: Option<NumericStats>,
    /// For string.
    pub string: Option<StringStats>,
    /// For date and timestamp.
    pub temporal: Option<TemporalStats>,
    /// For boolean.
    pub boolean: Option<BooleanStats>,
}

/// Statistics of a numeric column, over non-null, finite values.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NumericStats {
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1 denominator; DuckDB's `stddev_samp`); `None` below 2 values.
    pub stddev: Option<f64>,
    /// Percentiles by linear interpolation between closest ranks (DuckDB's `quantile_cont`),
    /// over all values when `quantiles_exact`, else over a uniform sample of rows.
    pub p5: Option<f64>,
    /// As `p5`.
    pub p25: Option<f64>,
    /// Median, as `p5`.
    pub p50: Option<f64>,
    /// As `p5`.
    pub p75: Option<f64>,
    /// As `p5`.
    pub p95: Option<f64>,
    /// True when the percentiles are computed over every value.
    pub quantiles_exact: bool,
    /// For sampled percentiles: the rank error bound in percent at 99% confidence, from the
    /// Dvoretzky–Kiefer–Wolfowitz inequality, `√(ln(2 / 0.01) / (2 n))` for `n` sampled values
    /// (a reported p50 lies between the true p(50 − e) and p(50 + e)).
    pub quantile_rank_error_pct: Option<f64>,
    /// Values equal to 0.
    pub zeros: u64,
    /// Values below 0.
    pub negatives: u64,
    /// NaN values (float64 only); not counted in the other statistics.
    pub nan_count: u64,
    /// +/- infinity values (float64 only); not counted in mean, stddev or percentiles.
    pub infinite_count: u64,
    /// Equal-width histogram of finite values.
    pub histogram: Option<Histogram>,
}

/// Bins `[edges[i], edges[i+1])` (the last bin closed) and their counts; `edges.len() == counts.len() + 1`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Histogram {
    /// Bin edges, ascending.
    pub edges: Vec<f64>,
    /// Values per bin (exact counts over all finite values).
    pub counts: Vec<u64>,
    /// For rule `distinct`: the distinct values, ascending (`edges` is then empty and
    /// `counts[i]` counts `values[i]`).
    pub values: Vec<f64>,
    /// How the bins were chosen: `distinct` (one bin per value, when at most
    /// [`crate::profile::limits::HISTOGRAM_BINS`] distinct values), `freedman_diaconis`
    /// (width `2 × IQR / ∛n`, at most that many bins), `equal_width` (IQR 0: that many bins
    /// between min and max), `single` (one value).
    pub rule: String,
}

/// Values per calendar period of a date or timestamp column (timestamps by their UTC or
/// wall-clock date).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PeriodHistogram {
    /// `day` (span up to 62 days), `month` (up to 5 years), `quarter` (up to 15 years) or
    /// `year`.
    pub granularity: String,
    /// Consecutive periods from the earliest to the latest value, empty ones included.
    pub bins: Vec<PeriodCount>,
}

/// One period of a [`PeriodHistogram`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PeriodCount {
    /// `2025-03-01`, `2025-03`, `2025-Q1` or `2025`.
    pub period: String,
    /// Values in the period.
    pub count: u64,
}

/// Statistics of a string column.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StringStats {
    /// Shortest length in characters (Unicode scalar values) of a non-null value.
    pub min_length: Option<u64>,
    /// Longest length, as `min_length`.
    pub max_length: Option<u64>,
    /// Mean length, as `min_length`.
    pub avg_length: Option<f64>,
    /// Values that are the empty string (kept apart from NULL).
    pub empty_count: u64,
    /// Share (0–100) of non-empty values that read as a number (`-12`, `3.5`, `1e6`).
    pub looks_numeric_pct: Option<f64>,
    /// Share (0–100) of non-empty values that read as an ISO date or timestamp
    /// (`2025-03-01`, `2025-03-01T10:00:00Z`, `2025-03-01 10:00`).
    pub looks_date_pct: Option<f64>,
    /// Share (0–100) of non-empty values shaped like an e-mail address (`local@domain.tld`).
    pub looks_email_pct: Option<f64>,
    /// True when the three shares come from the distinct values weighted by their counts
    /// (exact); false when from a uniform sample of rows.
    pub looks_exact: bool,
}

/// One frequent value.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopValue {
    /// The value.
    pub value: String,
    /// Rows holding it.
    pub count: u64,
    /// Share of non-null rows, 0–100.
    pub pct: f64,
}

/// Statistics of a date or timestamp column.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TemporalStats {
    /// Earliest value (format as [`DateRange::earliest`]).
    pub earliest: Option<String>,
    /// Latest value.
    pub latest: Option<String>,
    /// Whole days between them.
    pub span_days: Option<i64>,
    /// Values per day, month, quarter or year (exact counts).
    pub histogram: Option<PeriodHistogram>,
}

/// Statistics of a boolean column.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BooleanStats {
    /// true values.
    pub true_count: u64,
    /// false values.
    pub false_count: u64,
    /// true share of non-null values, 0–100; `None` when all are NULL.
    pub true_pct: Option<f64>,
}
