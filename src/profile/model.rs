//! The shape of `meta/profiles.json` and of each table's profile in its JSON twin.
//!
//! Values that are undefined (the mean of an empty column, the stddev of one value) are `None`,
//! serialised as JSON `null`, never NaN; pages show "n/a".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the `profiles.json` format; bumped on any incompatible change.
pub const PROFILES_VERSION: u32 = 1;

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
    /// Rows whose primary key repeats an earlier row's key (exact); `None` without a primary key.
    pub duplicate_primary_keys: Option<u64>,
    /// Range of the first date or timestamp column, if any has values.
    pub date_range: Option<DateRange>,
    /// Up to 5 rows, values as text (`None` = NULL), in column order.
    pub sample_rows: Vec<Vec<Option<String>>>,
    /// Column alerts gathered here too, for the top of the table page.
    pub alerts: Vec<Alert>,
    /// One entry per column, in schema order.
    pub columns: Vec<ColumnProfile>,
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
    /// Distinct non-null values (exact).
    pub distinct_count: u64,
    /// Distinct share of non-null values, 0–100; `None` when all values are NULL.
    pub distinct_pct: Option<f64>,
    /// Smallest non-null value.
    pub min: Option<serde_json::Value>,
    /// Largest non-null value.
    pub max: Option<serde_json::Value>,
    /// Up to 5 distinct non-null values as text, in order of first appearance.
    pub sample_values: Vec<String>,
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
    /// Percentiles by linear interpolation between closest ranks (DuckDB's `quantile_cont`).
    pub p25: Option<f64>,
    /// Median, as `p25`.
    pub p50: Option<f64>,
    /// As `p25`.
    pub p75: Option<f64>,
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
    /// Values per bin.
    pub counts: Vec<u64>,
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
    /// Most frequent values, most frequent first (ties by value), at most 10.
    pub top_values: Vec<TopValue>,
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
}

/// Statistics of a boolean column.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BooleanStats {
    /// true values.
    pub true_count: u64,
    /// false values.
    pub false_count: u64,
}
