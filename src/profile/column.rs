//! Per-column accumulation: a [`ColumnAcc`] is fed the column's Arrow arrays batch by batch, in
//! file and row order, then [`ColumnAcc::finish`]ed into a [`ColumnProfile`].
//!
//! State is exact and compact: numeric and temporal columns keep their non-null values as one
//! `Vec<i64>` / `Vec<f64>` (8 bytes a value), sorted once at the end for distinct counts,
//! min/max and percentiles; string columns keep an [`Interner`] of distinct values with counts.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{Array, ArrayRef, AsArray, StringArrayType};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::Value;

use super::interner::Interner;
use super::model::{
    BooleanStats, ColumnProfile, NumericStats, StringStats, TemporalStats, TopValue,
};
use super::{render, stats};

/// Values kept for `sample_values`, and rows kept for `sample_rows`.
pub const SAMPLE_SIZE: usize = 5;
/// Entries in a string column's `top_values`.
pub const TOP_VALUES: usize = 10;

/// How a column is profiled, decided by its Arrow type (see [`Kind::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `int64`: Int8–Int64 and UInt8–UInt32, widened to Int64.
    Int,
    /// `float64`: Float16–Float64, widened to Float64.
    Float,
    /// `boolean`.
    Bool,
    /// `date`: Date32 (Date64 is cast to it).
    Date,
    /// `timestamp`: a Timestamp without a zone (wall-clock time), cast to microseconds.
    Timestamp,
    /// `timestamptz`: a Timestamp with a zone (an instant), cast to microseconds; shown in UTC.
    TimestampTz,
    /// `string`: Utf8, LargeUtf8 and Utf8View.
    Str,
    /// `string` too: any other type (UInt64, decimals, binary, lists…), each value rendered by
    /// Arrow's display formatter.
    Other,
}

impl Kind {
    /// The kind for an Arrow type; a dictionary is profiled as its value type.
    pub fn of(dt: &DataType) -> Kind {
        match dt {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => Kind::Int,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Kind::Float,
            DataType::Boolean => Kind::Bool,
            DataType::Date32 | DataType::Date64 => Kind::Date,
            DataType::Timestamp(_, None) => Kind::Timestamp,
            DataType::Timestamp(_, Some(_)) => Kind::TimestampTz,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Str,
            DataType::Dictionary(_, value) => Kind::of(value),
            _ => Kind::Other,
        }
    }

    /// The kind for a declared logical type (used when a table has no file to read).
    pub fn of_declared(t: crate::content::ColumnType) -> Kind {
        use crate::content::ColumnType as T;
        match t {
            T::Int64 => Kind::Int,
            T::Float64 => Kind::Float,
            T::Boolean => Kind::Bool,
            T::Date => Kind::Date,
            T::Timestamp => Kind::Timestamp,
            T::Timestamptz => Kind::TimestampTz,
            T::String => Kind::Str,
        }
    }

    /// The `type` shown in the profile: int64 | float64 | boolean | date | timestamp |
    /// timestamptz | string.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Int => "int64",
            Kind::Float => "float64",
            Kind::Bool => "boolean",
            Kind::Date => "date",
            Kind::Timestamp => "timestamp",
            Kind::TimestampTz => "timestamptz",
            Kind::Str | Kind::Other => "string",
        }
    }
}

/// The array in the one Arrow type each kind is accumulated from (Int64, Float64, Boolean,
/// Date32, Timestamp(µs), a string type); `Other` is left as it is. Errors when Arrow cannot
/// cast the values.
fn normalize(array: &ArrayRef, kind: Kind) -> Result<ArrayRef> {
    let dt = array.data_type();
    let target = match (kind, dt) {
        (Kind::Int, DataType::Int64)
        | (Kind::Float, DataType::Float64)
        | (Kind::Bool, DataType::Boolean)
        | (Kind::Date, DataType::Date32)
        | (Kind::Timestamp | Kind::TimestampTz, DataType::Timestamp(TimeUnit::Microsecond, _))
        | (Kind::Str, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        | (Kind::Other, _) => return Ok(array.clone()),
        (Kind::Int, _) => DataType::Int64,
        (Kind::Float, _) => DataType::Float64,
        (Kind::Bool, _) => DataType::Boolean,
        (Kind::Date, _) => DataType::Date32,
        (Kind::Timestamp | Kind::TimestampTz, _) => {
            DataType::Timestamp(TimeUnit::Microsecond, timezone(dt))
        }
        (Kind::Str, DataType::Dictionary(_, value)) => value.as_ref().clone(),
        (Kind::Str, _) => DataType::Utf8,
    };
    cast(array.as_ref(), &target).with_context(|| format!("casting {dt} to {target}"))
}

/// The time zone of a (possibly dictionary-encoded) timestamp type.
fn timezone(dt: &DataType) -> Option<std::sync::Arc<str>> {
    match dt {
        DataType::Timestamp(_, tz) => tz.clone(),
        DataType::Dictionary(_, value) => timezone(value),
        _ => None,
    }
}

/// The first distinct values seen, by a 64-bit key (the value's bits), with their text.
#[derive(Debug, Default)]
struct Samples {
    keys: Vec<u64>,
    text: Vec<String>,
}

impl Samples {
    fn full(&self) -> bool {
        self.text.len() >= SAMPLE_SIZE
    }

    fn note(&mut self, key: u64, render: impl FnOnce() -> String) {
        if !self.full() && !self.keys.contains(&key) {
            self.keys.push(key);
            self.text.push(render());
        }
    }
}

/// The value state of one column.
#[derive(Debug)]
enum Values {
    Int(Vec<i64>),
    Float {
        /// Finite values, -0.0 normalised to 0.0.
        finite: Vec<f64>,
        nan: u64,
        pos_inf: u64,
        neg_inf: u64,
    },
    Bool {
        t: u64,
        f: u64,
    },
    /// Days (date) or microseconds (timestamp) since the epoch.
    Temporal(Vec<i64>),
    /// Distinct values with counts (Str and Other).
    Text(Interner),
}

/// The running state of one column; see the module doc.
#[derive(Debug)]
pub struct ColumnAcc {
    kind: Kind,
    rows: u64,
    nulls: u64,
    first_rows: Vec<Option<String>>,
    samples: Samples,
    values: Values,
    buf: String,
}

/// A finished column: its profile (alerts not yet set) and its first rows as text.
#[derive(Debug)]
pub struct ColumnResult {
    /// The profile; `alerts` is filled by the caller, which knows the table's row count.
    pub profile: ColumnProfile,
    /// The column's first [`SAMPLE_SIZE`] cells as text (`None` = NULL).
    pub first_rows: Vec<Option<String>>,
    /// Rows fed.
    pub rows: u64,
}

impl ColumnAcc {
    /// An empty accumulator for a column of `kind` expecting up to `rows` rows (the Parquet
    /// metadata's count). Numeric and temporal value vectors reserve that capacity up front, so
    /// they never double-and-copy; pages a mostly-NULL column never writes are never resident.
    pub fn new(kind: Kind, rows: u64) -> Self {
        let cap = usize::try_from(rows).unwrap_or(0);
        let values = match kind {
            Kind::Int => Values::Int(reserved(cap)),
            Kind::Float => Values::Float {
                finite: reserved(cap),
                nan: 0,
                pos_inf: 0,
                neg_inf: 0,
            },
            Kind::Bool => Values::Bool { t: 0, f: 0 },
            Kind::Date | Kind::Timestamp | Kind::TimestampTz => Values::Temporal(reserved(cap)),
            Kind::Str | Kind::Other => Values::Text(Interner::new()),
        };
        ColumnAcc {
            kind,
            rows: 0,
            nulls: 0,
            first_rows: Vec::new(),
            samples: Samples::default(),
            values,
            buf: String::new(),
        }
    }

    /// Adds the next rows of the column. Errors when the array cannot be read as the column's
    /// kind (a cast fails, a value cannot be displayed) or a string column exceeds the
    /// [`Interner`]'s capacity.
    pub fn feed(&mut self, array: &ArrayRef) -> Result<()> {
        let array = normalize(array, self.kind)?;
        let array = array.as_ref();
        let len = array.len();
        let logical_nulls = array.logical_nulls();
        let is_null = |i: usize| logical_nulls.as_ref().is_some_and(|n| n.is_null(i));
        self.rows += len as u64;
        self.nulls += logical_nulls.as_ref().map_or(0, |n| n.null_count()) as u64;

        let formatter = match self.kind {
            Kind::Other => Some(
                ArrayFormatter::try_new(array, &FormatOptions::default())
                    .context("preparing to display values")?,
            ),
            _ => None,
        };
        let missing = SAMPLE_SIZE.saturating_sub(self.first_rows.len()).min(len);
        for i in 0..missing {
            let cell = if is_null(i) {
                None
            } else {
                Some(render_cell(array, self.kind, i, formatter.as_ref())?)
            };
            self.first_rows.push(cell);
        }

        let samples = &mut self.samples;
        match &mut self.values {
            Values::Int(vec) => {
                let arr = array
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| type_error(array, "Int64"))?;
                if arr.null_count() == 0 {
                    vec.extend_from_slice(arr.values());
                    for &v in arr.values().iter() {
                        if samples.full() {
                            break;
                        }
                        samples.note(v as u64, || render::int(v));
                    }
                } else {
                    for v in arr.iter().flatten() {
                        vec.push(v);
                        samples.note(v as u64, || render::int(v));
                    }
                }
            }
            Values::Float {
                finite,
                nan,
                pos_inf,
                neg_inf,
            } => {
                let arr = array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| type_error(array, "Float64"))?;
                for v in arr.iter().flatten() {
                    if v.is_nan() {
                        *nan += 1;
                        samples.note(f64::NAN.to_bits(), || render::float(f64::NAN));
                    } else if v.is_infinite() {
                        if v > 0.0 {
                            *pos_inf += 1;
                        } else {
                            *neg_inf += 1;
                        }
                        samples.note(v.to_bits(), || render::float(v));
                    } else {
                        // -0.0 == 0.0: one value, kept as 0.0.
                        let v = if v == 0.0 { 0.0 } else { v };
                        finite.push(v);
                        samples.note(v.to_bits(), || render::float(v));
                    }
                }
            }
            Values::Bool { t, f } => {
                let arr = array
                    .as_boolean_opt()
                    .ok_or_else(|| type_error(array, "Boolean"))?;
                let trues = arr.true_count() as u64;
                let valid = (len - arr.null_count()) as u64;
                *t += trues;
                *f += valid.saturating_sub(trues);
                if samples.keys.len() < 2 {
                    for v in arr.iter().flatten() {
                        samples.note(u64::from(v), || render::boolean(v));
                        if samples.keys.len() == 2 {
                            break;
                        }
                    }
                }
            }
            Values::Temporal(vec) => {
                if self.kind == Kind::Date {
                    let arr = array
                        .as_primitive_opt::<Date32Type>()
                        .ok_or_else(|| type_error(array, "Date32"))?;
                    for v in arr.iter().flatten() {
                        let v = i64::from(v);
                        vec.push(v);
                        samples.note(v as u64, || render::date(v));
                    }
                } else {
                    let arr = array
                        .as_primitive_opt::<TimestampMicrosecondType>()
                        .ok_or_else(|| type_error(array, "Timestamp(µs)"))?;
                    let fmt = timestamp_format(self.kind);
                    for v in arr.iter().flatten() {
                        vec.push(v);
                        samples.note(v as u64, || fmt(v));
                    }
                }
            }
            Values::Text(set) => match (self.kind, array.data_type()) {
                (Kind::Str, DataType::Utf8) => feed_strings(array.as_string::<i32>(), set)?,
                (Kind::Str, DataType::LargeUtf8) => feed_strings(array.as_string::<i64>(), set)?,
                (Kind::Str, DataType::Utf8View) => feed_strings(array.as_string_view(), set)?,
                (Kind::Other, _) => {
                    let fmt = formatter
                        .as_ref()
                        .ok_or_else(|| anyhow!("no formatter for {}", array.data_type()))?;
                    for i in 0..len {
                        if is_null(i) {
                            continue;
                        }
                        self.buf.clear();
                        write!(self.buf, "{}", fmt.value(i))
                            .map_err(|_| anyhow!("cannot display a {} value", array.data_type()))?;
                        set.insert(self.buf.as_bytes())?;
                    }
                }
                _ => return Err(type_error(array, "a string type")),
            },
        }
        Ok(())
    }

    /// The column's profile over the `rows` fed so far. `name` and `is_primary_key` are copied
    /// into it; `alerts` is left empty.
    pub fn finish(self, name: &str, is_primary_key: bool) -> ColumnResult {
        let rows = self.rows;
        let non_null = rows.saturating_sub(self.nulls);
        let mut p = ColumnProfile {
            name: name.to_string(),
            column_type: self.kind.type_name().to_string(),
            null_count: self.nulls,
            null_pct: pct(self.nulls, rows),
            is_primary_key,
            ..Default::default()
        };
        match self.values {
            Values::Int(mut v) => {
                v.sort_unstable();
                p.distinct_count = count_distinct(&v);
                p.min = v.first().map(|&x| Value::from(x));
                p.max = v.last().map(|&x| Value::from(x));
                let negatives = v.partition_point(|&x| x < 0);
                let zeros = v.partition_point(|&x| x <= 0) - negatives;
                let mean = stats::mean_i64(&v);
                p.numeric = Some(NumericStats {
                    mean,
                    stddev: mean.and_then(|m| stats::stddev_samp(&v, m)),
                    p25: stats::quantile_cont(&v, 0.25),
                    p50: stats::quantile_cont(&v, 0.5),
                    p75: stats::quantile_cont(&v, 0.75),
                    zeros: zeros as u64,
                    negatives: negatives as u64,
                    nan_count: 0,
                    infinite_count: 0,
                    histogram: stats::histogram(&v, p.distinct_count),
                    ..Default::default()
                });
                p.sample_values = self.samples.text;
            }
            Values::Float {
                finite: mut v,
                nan,
                pos_inf,
                neg_inf,
            } => {
                v.sort_unstable_by(f64::total_cmp);
                let distinct_finite = count_distinct(&v);
                p.distinct_count = distinct_finite
                    + u64::from(nan > 0)
                    + u64::from(pos_inf > 0)
                    + u64::from(neg_inf > 0);
                p.min = v.first().and_then(|&x| json_f64(x));
                p.max = v.last().and_then(|&x| json_f64(x));
                let negatives = v.partition_point(|&x| x < 0.0);
                let zeros = v.partition_point(|&x| x <= 0.0) - negatives;
                let mean = stats::mean(&v);
                p.numeric = Some(NumericStats {
                    mean,
                    stddev: mean.and_then(|m| stats::stddev_samp(&v, m)),
                    p25: stats::quantile_cont(&v, 0.25),
                    p50: stats::quantile_cont(&v, 0.5),
                    p75: stats::quantile_cont(&v, 0.75),
                    zeros: zeros as u64,
                    negatives: negatives as u64,
                    nan_count: nan,
                    infinite_count: pos_inf + neg_inf,
                    histogram: stats::histogram(&v, distinct_finite),
                    ..Default::default()
                });
                p.sample_values = self.samples.text;
            }
            Values::Bool { t, f } => {
                p.distinct_count = u64::from(t > 0) + u64::from(f > 0);
                let text = |b: bool| Value::String(render::boolean(b));
                if t + f > 0 {
                    p.min = Some(text(f == 0));
                    p.max = Some(text(t > 0));
                }
                p.boolean = Some(BooleanStats {
                    true_count: t,
                    false_count: f,
                    true_pct: pct(t, t + f),
                });
                p.sample_values = self.samples.text;
            }
            Values::Temporal(mut v) => {
                v.sort_unstable();
                p.distinct_count = count_distinct(&v);
                let (fmt, per_day): (fn(i64) -> String, i64) = if self.kind == Kind::Date {
                    (render::date, 1)
                } else {
                    (timestamp_format(self.kind), render::MICROS_PER_DAY)
                };
                let earliest = v.first().copied();
                let latest = v.last().copied();
                p.min = earliest.map(|x| Value::String(fmt(x)));
                p.max = latest.map(|x| Value::String(fmt(x)));
                p.temporal = Some(TemporalStats {
                    earliest: earliest.map(fmt),
                    latest: latest.map(fmt),
                    span_days: earliest
                        .zip(latest)
                        .map(|(a, b)| render::span_days(a, b, per_day)),
                    histogram: None,
                });
                p.sample_values = self.samples.text;
            }
            Values::Text(set) => finish_text(&mut p, &set, non_null),
        }
        p.distinct_pct = pct(p.distinct_count, non_null);
        ColumnResult {
            profile: p,
            first_rows: self.first_rows,
            rows,
        }
    }
}

/// An empty vector with room for `cap` values when the allocator grants it (a corrupt row
/// count in a footer must not abort the process), else an empty one that grows as usual.
fn reserved<T>(cap: usize) -> Vec<T> {
    let mut v = Vec::new();
    // Failure is fine: the vector then grows on demand.
    let _ = v.try_reserve_exact(cap);
    v
}

/// String statistics, min/max, distinct count and samples from the distinct values.
fn finish_text(p: &mut ColumnProfile, set: &Interner, non_null: u64) {
    let text = |id: usize| String::from_utf8_lossy(set.get(id)).into_owned();
    p.distinct_count = set.len() as u64;
    p.sample_values = (0..set.len().min(SAMPLE_SIZE)).map(text).collect();

    let mut min_len: Option<u64> = None;
    let mut max_len: Option<u64> = None;
    let mut total_len: u128 = 0;
    let mut empty_count = 0;
    let mut min_id: Option<usize> = None;
    let mut max_id: Option<usize> = None;
    for (id, &count) in set.counts().iter().enumerate() {
        let bytes = set.get(id);
        let chars = std::str::from_utf8(bytes)
            .map(|s| s.chars().count())
            .unwrap_or(bytes.len()) as u64;
        min_len = Some(min_len.map_or(chars, |m| m.min(chars)));
        max_len = Some(max_len.map_or(chars, |m| m.max(chars)));
        total_len += u128::from(chars) * u128::from(count);
        if bytes.is_empty() {
            empty_count = count;
        }
        if min_id.is_none_or(|m| bytes < set.get(m)) {
            min_id = Some(id);
        }
        if max_id.is_none_or(|m| bytes > set.get(m)) {
            max_id = Some(id);
        }
    }
    p.min = min_id.map(|id| Value::String(text(id)));
    p.max = max_id.map(|id| Value::String(text(id)));

    // Most frequent first, ties by value (byte order = code point order).
    let order = |a: &usize, b: &usize| {
        set.count(*b)
            .cmp(&set.count(*a))
            .then_with(|| set.get(*a).cmp(set.get(*b)))
    };
    let mut ids: Vec<usize> = (0..set.len()).collect();
    if ids.len() > TOP_VALUES {
        ids.select_nth_unstable_by(TOP_VALUES - 1, order);
        ids.truncate(TOP_VALUES);
    }
    ids.sort_unstable_by(order);
    let top_values = ids
        .into_iter()
        .map(|id| TopValue {
            value: text(id),
            count: set.count(id),
            pct: pct(set.count(id), non_null).unwrap_or(0.0),
        })
        .collect();

    p.string = Some(StringStats {
        min_length: min_len,
        max_length: max_len,
        avg_length: (non_null > 0)
            .then(|| total_len as f64 / non_null as f64)
            .and_then(stats::finite),
        empty_count,
        ..Default::default()
    });
    p.top_values = top_values;
}

fn feed_strings<'a, A: StringArrayType<'a>>(arr: A, set: &mut Interner) -> Result<()> {
    for s in arr.iter().flatten() {
        set.insert(s.as_bytes())?;
    }
    Ok(())
}

/// Cell `i` (not NULL) of a normalised array as text, as in `sample_values`.
fn render_cell(
    array: &dyn Array,
    kind: Kind,
    i: usize,
    formatter: Option<&ArrayFormatter>,
) -> Result<String> {
    let text = match kind {
        Kind::Int => array
            .as_primitive_opt::<Int64Type>()
            .map(|a| render::int(a.value(i))),
        Kind::Float => array
            .as_primitive_opt::<Float64Type>()
            .map(|a| render::float(a.value(i))),
        Kind::Bool => array.as_boolean_opt().map(|a| render::boolean(a.value(i))),
        Kind::Date => array
            .as_primitive_opt::<Date32Type>()
            .map(|a| render::date(i64::from(a.value(i)))),
        Kind::Timestamp | Kind::TimestampTz => array
            .as_primitive_opt::<TimestampMicrosecondType>()
            .map(|a| timestamp_format(kind)(a.value(i))),
        Kind::Str => match array.data_type() {
            DataType::Utf8 => array.as_string_opt::<i32>().map(|a| a.value(i).to_string()),
            DataType::LargeUtf8 => array.as_string_opt::<i64>().map(|a| a.value(i).to_string()),
            DataType::Utf8View => array.as_string_view_opt().map(|a| a.value(i).to_string()),
            _ => None,
        },
        Kind::Other => match formatter {
            Some(f) => {
                let mut s = String::new();
                write!(s, "{}", f.value(i))
                    .map_err(|_| anyhow!("cannot display a {} value", array.data_type()))?;
                Some(s)
            }
            None => None,
        },
    };
    text.ok_or_else(|| type_error(array, kind.type_name()))
}

/// How a timestamp column's values read: UTC with `Z` for instants, as written for wall-clock
/// times.
fn timestamp_format(kind: Kind) -> fn(i64) -> String {
    if kind == Kind::TimestampTz {
        render::timestamp
    } else {
        render::wall_clock
    }
}

fn type_error(array: &dyn Array, expected: &str) -> anyhow::Error {
    anyhow!(
        "internal: expected {expected} values, found {}",
        array.data_type()
    )
}

/// `part / whole × 100`, `None` when `whole` is 0.
pub fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0)
        .then(|| part as f64 * 100.0 / whole as f64)
        .and_then(stats::finite)
}

/// Distinct values of an ascending slice.
fn count_distinct<T: PartialEq>(sorted: &[T]) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    1 + sorted.windows(2).filter(|w| w[0] != w[1]).count() as u64
}

fn json_f64(x: f64) -> Option<Value> {
    serde_json::Number::from_f64(x).map(Value::Number)
}

/// Guard for callers: a column whose reader returned a different row count than the file's
/// metadata promised.
pub fn check_rows(column: &str, got: u64, expected: u64) -> Result<()> {
    if got != expected {
        bail!("column {column}: read {got} rows, the Parquet metadata says {expected}");
    }
    Ok(())
}
