//! Per-column accumulation: a [`ColumnAcc`] is fed one column's Arrow arrays batch by batch
//! for a run of rows (a row group), partial accumulators of consecutive runs are
//! [`ColumnAcc::merge`]d in row order, and the result is [`ColumnAcc::finish`]ed into a
//! [`ColumnProfile`].
//!
//! What a column keeps (limits in `limits.rs`):
//! - counts, min/max, zeros/negatives/NaN/infinities, moments (mean and M2) and string
//!   lengths: exact, O(1);
//! - a [`Counter`] (numbers, dates, timestamps) or an [`Interner`] (text) of distinct values
//!   with counts, exact up to [`EXACT_DISTINCT`] values, then a HyperLogLog sketch;
//! - the values for percentiles: every value when the table is profiled on at most
//!   [`crate::profile::limits::EXACT_QUANTILE_ROWS`] rows, else those of the table's row
//!   sample (see [`Batch`]);
//! - for sampled numeric columns, exact counts in fine bins (`FineBins`), and for timestamps,
//!   counts per day: the histograms stay exact.

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
use super::limits::{EXACT_DISTINCT, HISTOGRAM_BINS, QUANTILE_CONFIDENCE, SAMPLE_SIZE, TOP_VALUES};
use super::model::{
    BooleanStats, ColumnProfile, NumericStats, StringStats, TemporalStats, TopValue,
};
use super::render;
use super::sketch::{dkw_rank_error_pct, Counter, Hll};
use super::stats::{self, FineBins, Moments};

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
            T::Decimal { .. } => Kind::Other,
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
#[derive(Debug, Default, Clone)]
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

    fn merge(&mut self, other: Samples) {
        for (k, t) in other.keys.into_iter().zip(other.text) {
            self.note(k, || t);
        }
    }
}

/// How the rows of one batch are kept for percentiles and shape checks.
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    /// Every row is kept (exact percentiles).
    All,
    /// Only these row positions of the batch, ascending (the table's row sample).
    Rows(&'a [u32]),
}

/// Numbers (int64, dates and timestamps as i64; float64 as f64).
#[derive(Debug, Clone)]
struct NumAcc<T> {
    moments: Moments,
    min: Option<T>,
    max: Option<T>,
    zeros: u64,
    negatives: u64,
    distinct: Counter,
    /// Values kept for percentiles (all, or the sampled rows').
    kept: Vec<T>,
    /// Exact counts in fine bins, for sampled numeric columns.
    fine: Option<FineBins>,
    /// Strictly increasing so far (for the primary-key shortcut), with the first and last value.
    increasing: bool,
    first: Option<T>,
    last: Option<T>,
}

impl<T: Copy + PartialOrd> NumAcc<T> {
    fn new(fine: Option<FineBins>, sketch_only: bool) -> Self {
        NumAcc {
            moments: Moments::default(),
            min: None,
            max: None,
            zeros: 0,
            negatives: 0,
            distinct: if sketch_only {
                Counter::sketch()
            } else {
                Counter::new()
            },
            kept: Vec::new(),
            fine,
            increasing: true,
            first: None,
            last: None,
        }
    }

    fn merge(&mut self, b: NumAcc<T>) {
        self.moments.merge(&b.moments);
        self.min = pick(self.min, b.min, |x, y| x < y);
        self.max = pick(self.max, b.max, |x, y| x > y);
        self.zeros += b.zeros;
        self.negatives += b.negatives;
        self.distinct.merge(&b.distinct);
        self.kept.extend_from_slice(&b.kept);
        match (&mut self.fine, &b.fine) {
            (Some(a), Some(f)) => a.merge(f),
            (None, Some(f)) => self.fine = Some(f.clone()),
            _ => {}
        }
        let joined = match (self.last, b.first) {
            (Some(l), Some(f)) => l < f,
            _ => true,
        };
        self.increasing = self.increasing && b.increasing && joined;
        self.first = self.first.or(b.first);
        self.last = b.last.or(self.last);
    }
}

fn pick<T: Copy>(a: Option<T>, b: Option<T>, better: impl Fn(T, T) -> bool) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if better(y, x) { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Text columns (and any type shown as text).
#[derive(Debug, Clone)]
struct TextAcc {
    /// Exact distinct values with counts; `None` once past [`EXACT_DISTINCT`].
    set: Option<Interner>,
    hll: Option<Box<Hll>>,
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
    min_len: Option<u64>,
    max_len: Option<u64>,
    total_chars: u128,
    empty: u64,
    /// Shape checks: checked (non-empty), numeric, date, email. With every row kept (exact
    /// percentiles) they count every row, through the distinct values while those are exact
    /// (added at once, weighted by count, when the set overflows); else the sampled rows.
    looks: [u64; 4],
    /// Every row is kept (see `looks`).
    all_rows: bool,
}

impl TextAcc {
    fn new(all_rows: bool, sketch_only: bool) -> Self {
        TextAcc {
            all_rows,
            set: (!sketch_only).then(Interner::new),
            hll: sketch_only.then(|| Box::new(Hll::new())),
            min: None,
            max: None,
            min_len: None,
            max_len: None,
            total_chars: 0,
            empty: 0,
            looks: [0; 4],
        }
    }

    #[inline]
    fn add(&mut self, v: &[u8], keep: bool) -> Result<()> {
        let chars = if v.is_ascii() {
            v.len()
        } else {
            std::str::from_utf8(v)
                .map(|s| s.chars().count())
                .unwrap_or(v.len())
        } as u64;
        self.min_len = Some(self.min_len.map_or(chars, |m| m.min(chars)));
        self.max_len = Some(self.max_len.map_or(chars, |m| m.max(chars)));
        self.total_chars += u128::from(chars);
        if v.is_empty() {
            self.empty += 1;
        }
        match &mut self.min {
            Some(m) if v >= m.as_slice() => {}
            Some(m) => {
                m.clear();
                m.extend_from_slice(v);
            }
            None => self.min = Some(v.to_vec()),
        }
        match &mut self.max {
            Some(m) if v <= m.as_slice() => {}
            Some(m) => {
                m.clear();
                m.extend_from_slice(v);
            }
            None => self.max = Some(v.to_vec()),
        }
        let hash = super::interner::hash_bytes(v);
        match &mut self.set {
            Some(set) => {
                set.insert_hashed(v, hash, 1)?;
                if set.len() > EXACT_DISTINCT {
                    self.overflow();
                }
            }
            None => {
                if let Some(h) = &mut self.hll {
                    h.add(hash);
                }
            }
        }
        if keep && !v.is_empty() && !(self.all_rows && self.set.is_some()) {
            self.look(v, 1);
        }
        Ok(())
    }

    fn look(&mut self, v: &[u8], n: u64) {
        let s = String::from_utf8_lossy(v);
        self.looks[0] += n;
        self.looks[1] += n * u64::from(stats::looks_numeric(&s));
        self.looks[2] += n * u64::from(stats::looks_date(&s));
        self.looks[3] += n * u64::from(stats::looks_email(&s));
    }

    fn overflow(&mut self) {
        if let Some(set) = self.set.take() {
            let mut h = Box::new(Hll::new());
            for id in 0..set.len() {
                h.add(set.hash(id));
                let v = set.get(id);
                if self.all_rows && !v.is_empty() {
                    self.look(v, set.count(id));
                }
            }
            self.hll = Some(h);
        }
    }

    fn merge(&mut self, b: TextAcc) -> Result<()> {
        self.min_len = pick(self.min_len, b.min_len, |x, y| x < y);
        self.max_len = pick(self.max_len, b.max_len, |x, y| x > y);
        self.total_chars += b.total_chars;
        self.empty += b.empty;
        if let Some(m) = b.min {
            if self.min.as_ref().is_none_or(|x| &m < x) {
                self.min = Some(m);
            }
        }
        if let Some(m) = b.max {
            if self.max.as_ref().is_none_or(|x| &m > x) {
                self.max = Some(m);
            }
        }
        for (a, x) in self.looks.iter_mut().zip(b.looks) {
            *a += x;
        }
        match (&mut self.set, b.set) {
            (Some(set), Some(other)) => {
                for id in 0..other.len() {
                    set.insert_hashed(other.get(id), other.hash(id), other.count(id))?;
                }
                if set.len() > EXACT_DISTINCT {
                    self.overflow();
                }
            }
            (Some(_), None) => {
                self.overflow();
                if let (Some(a), Some(h)) = (&mut self.hll, &b.hll) {
                    a.merge(h);
                }
            }
            (None, Some(other)) => {
                for id in 0..other.len() {
                    if let Some(h) = &mut self.hll {
                        h.add(other.hash(id));
                    }
                    let v = other.get(id);
                    if self.all_rows && !v.is_empty() {
                        self.look(v, other.count(id));
                    }
                }
            }
            (None, None) => {
                if let (Some(a), Some(h)) = (&mut self.hll, &b.hll) {
                    a.merge(h);
                }
            }
        }
        Ok(())
    }
}

/// The value state of one column.
#[derive(Debug, Clone)]
enum Values {
    Int(NumAcc<i64>),
    Float {
        acc: NumAcc<f64>,
        nan: u64,
        pos_inf: u64,
        neg_inf: u64,
    },
    Bool {
        t: u64,
        f: u64,
    },
    /// Days (date) or microseconds (timestamp) since the epoch; `days` counts timestamps per
    /// day (dates use their distinct counter).
    Temporal {
        acc: NumAcc<i64>,
        days: Counter,
    },
    Text(TextAcc),
}

/// The running state of one column over a run of rows; see the module doc.
#[derive(Debug, Clone)]
pub struct ColumnAcc {
    kind: Kind,
    rows: u64,
    nulls: u64,
    /// The first [`SAMPLE_SIZE`] cells of the run as text.
    first_rows: Vec<Option<String>>,
    samples: Samples,
    values: Values,
    /// Every row's value is kept (exact percentiles).
    exact_quantiles: bool,
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
    /// For an int64 column: its non-null values are strictly increasing in row order (so
    /// they are all distinct).
    pub strictly_increasing: bool,
}

impl ColumnAcc {
    /// An empty accumulator for a column of `kind`. `exact_quantiles` tells whether every batch
    /// is fed with [`Batch::All`]; `range` is the column's min and max from the Parquet
    /// statistics (for exact histograms of sampled numeric columns; `None` when unknown).
    ///
    /// `sketch_only` starts the distinct count as a HyperLogLog sketch right away, for a column
    /// whose earlier rows already had more than [`EXACT_DISTINCT`] distinct values (the merged
    /// result is an estimate anyway, and no time goes into an exact set bound to overflow).
    pub fn new(
        kind: Kind,
        exact_quantiles: bool,
        range: Option<(f64, f64)>,
        sketch_only: bool,
    ) -> Self {
        let fine = || {
            (!exact_quantiles)
                .then_some(range)
                .flatten()
                .and_then(|(a, b)| FineBins::new(a, b))
        };
        let values = match kind {
            Kind::Int => Values::Int(NumAcc::new(fine(), sketch_only)),
            Kind::Float => Values::Float {
                acc: NumAcc::new(fine(), sketch_only),
                nan: 0,
                pos_inf: 0,
                neg_inf: 0,
            },
            Kind::Bool => Values::Bool { t: 0, f: 0 },
            Kind::Date | Kind::Timestamp | Kind::TimestampTz => Values::Temporal {
                acc: NumAcc::new(None, sketch_only),
                days: Counter::new(),
            },
            Kind::Str | Kind::Other => Values::Text(TextAcc::new(exact_quantiles, sketch_only)),
        };
        ColumnAcc {
            kind,
            rows: 0,
            nulls: 0,
            first_rows: Vec::new(),
            samples: Samples::default(),
            values,
            exact_quantiles,
            buf: String::new(),
        }
    }

    /// True while the distinct values are counted exactly.
    pub fn distinct_is_exact(&self) -> bool {
        match &self.values {
            Values::Int(a) | Values::Temporal { acc: a, .. } => a.distinct.is_exact(),
            Values::Float { acc, .. } => acc.distinct.is_exact(),
            Values::Bool { .. } => true,
            Values::Text(t) => t.set.is_some(),
        }
    }

    /// Appends the accumulator of the rows that follow this one's.
    pub fn merge(&mut self, b: ColumnAcc) -> Result<()> {
        if self.first_rows.len() < SAMPLE_SIZE {
            let missing = SAMPLE_SIZE - self.first_rows.len();
            self.first_rows
                .extend(b.first_rows.into_iter().take(missing));
        }
        self.rows += b.rows;
        self.nulls += b.nulls;
        self.samples.merge(b.samples);
        match (&mut self.values, b.values) {
            (Values::Int(a), Values::Int(x)) => a.merge(x),
            (
                Values::Float {
                    acc,
                    nan,
                    pos_inf,
                    neg_inf,
                },
                Values::Float {
                    acc: a2,
                    nan: n2,
                    pos_inf: p2,
                    neg_inf: m2,
                },
            ) => {
                acc.merge(a2);
                *nan += n2;
                *pos_inf += p2;
                *neg_inf += m2;
            }
            (Values::Bool { t, f }, Values::Bool { t: t2, f: f2 }) => {
                *t += t2;
                *f += f2;
            }
            (Values::Temporal { acc, days }, Values::Temporal { acc: a2, days: d2 }) => {
                acc.merge(a2);
                days.merge(&d2);
            }
            (Values::Text(a), Values::Text(x)) => a.merge(x)?,
            _ => bail!("internal: merging accumulators of different kinds"),
        }
        Ok(())
    }

    /// Adds `n` rows that are all NULL (known from the Parquet statistics, not decoded).
    pub fn feed_nulls(&mut self, n: u64) {
        self.rows += n;
        self.nulls += n;
        let missing = (SAMPLE_SIZE.saturating_sub(self.first_rows.len()) as u64).min(n);
        self.first_rows
            .extend(std::iter::repeat_n(None, missing as usize));
    }

    /// Adds the next rows of the column; `batch` says which of them are kept for percentiles.
    /// Errors when the array cannot be read as the column's kind (a cast fails, a value cannot
    /// be displayed) or a text column exceeds the [`Interner`]'s capacity.
    pub fn feed(&mut self, array: &ArrayRef, batch: Batch) -> Result<()> {
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
            Values::Int(acc) => {
                let arr = array
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| type_error(array, "Int64"))?;
                feed_ints(acc, arr, batch, true, samples, render::int);
            }
            Values::Float {
                acc,
                nan,
                pos_inf,
                neg_inf,
            } => {
                let arr = array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| type_error(array, "Float64"))?;
                let mut finite = Vec::with_capacity(len);
                for v in arr.iter().flatten() {
                    if v.is_nan() {
                        *nan += 1;
                        acc.distinct.add(f64::NAN.to_bits(), 1);
                        samples.note(f64::NAN.to_bits(), || render::float(f64::NAN));
                    } else if v.is_infinite() {
                        if v > 0.0 {
                            *pos_inf += 1;
                        } else {
                            *neg_inf += 1;
                        }
                        acc.distinct.add(v.to_bits(), 1);
                        samples.note(v.to_bits(), || render::float(v));
                    } else {
                        // -0.0 == 0.0: one value, kept as 0.0.
                        let v = if v == 0.0 { 0.0 } else { v };
                        finite.push(v);
                        acc.distinct.add(v.to_bits(), 1);
                        if !samples.full() {
                            samples.note(v.to_bits(), || render::float(v));
                        }
                    }
                }
                acc.moments.merge(&Moments::of(&finite));
                for &v in &finite {
                    acc.min = pick(acc.min, Some(v), |x, y| x < y);
                    acc.max = pick(acc.max, Some(v), |x, y| x > y);
                    acc.zeros += u64::from(v == 0.0);
                    acc.negatives += u64::from(v < 0.0);
                    if let Some(f) = &mut acc.fine {
                        f.add(v);
                    }
                }
                match batch {
                    Batch::All => acc.kept.extend_from_slice(&finite),
                    Batch::Rows(rows) => {
                        for &r in rows {
                            let r = r as usize;
                            if r < len && !is_null(r) {
                                let v = arr.value(r);
                                if v.is_finite() {
                                    acc.kept.push(if v == 0.0 { 0.0 } else { v });
                                }
                            }
                        }
                    }
                }
                if let (Some(first), true) = (finite.first(), acc.first.is_none()) {
                    acc.first = Some(*first);
                }
                acc.last = finite.last().copied().or(acc.last);
                acc.increasing = false;
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
            Values::Temporal { acc, days } => {
                if self.kind == Kind::Date {
                    let arr = array
                        .as_primitive_opt::<Date32Type>()
                        .ok_or_else(|| type_error(array, "Date32"))?;
                    let ints: arrow::array::Int64Array = arr.unary(i64::from);
                    feed_ints(acc, &ints, batch, false, samples, render::date);
                } else {
                    let arr = array
                        .as_primitive_opt::<TimestampMicrosecondType>()
                        .ok_or_else(|| type_error(array, "Timestamp(µs)"))?;
                    let ints: arrow::array::Int64Array =
                        arrow::array::Int64Array::new(arr.values().clone(), arr.nulls().cloned());
                    feed_ints(
                        acc,
                        &ints,
                        batch,
                        false,
                        samples,
                        timestamp_format(self.kind),
                    );
                    // Runs of equal days are counted once per run.
                    let mut run: Option<(i64, u64)> = None;
                    for v in ints.iter().flatten() {
                        let d = v.div_euclid(render::MICROS_PER_DAY);
                        match &mut run {
                            Some((day, n)) if *day == d => *n += 1,
                            _ => {
                                if let Some((day, n)) = run {
                                    days.add(day as u64, n);
                                }
                                run = Some((d, 1));
                            }
                        }
                    }
                    if let Some((day, n)) = run {
                        days.add(day as u64, n);
                    }
                }
            }
            Values::Text(acc) => {
                let keep = |i: usize| match batch {
                    Batch::All => true,
                    Batch::Rows(rows) => rows.binary_search(&(i as u32)).is_ok(),
                };
                match (self.kind, array.data_type()) {
                    (Kind::Str, DataType::Utf8) => {
                        feed_strings(acc, array.as_string::<i32>(), samples, keep)?
                    }
                    (Kind::Str, DataType::LargeUtf8) => {
                        feed_strings(acc, array.as_string::<i64>(), samples, keep)?
                    }
                    (Kind::Str, DataType::Utf8View) => {
                        feed_strings(acc, array.as_string_view(), samples, keep)?
                    }
                    (Kind::Other, _) => {
                        let fmt = formatter
                            .as_ref()
                            .ok_or_else(|| anyhow!("no formatter for {}", array.data_type()))?;
                        for i in 0..len {
                            if is_null(i) {
                                continue;
                            }
                            self.buf.clear();
                            write!(self.buf, "{}", fmt.value(i)).map_err(|_| {
                                anyhow!("cannot display a {} value", array.data_type())
                            })?;
                            let text = std::mem::take(&mut self.buf);
                            acc.add(text.as_bytes(), keep(i))?;
                            samples.note(super::interner::hash_bytes(text.as_bytes()), || {
                                text.clone()
                            });
                            self.buf = text;
                        }
                    }
                    _ => return Err(type_error(array, "a string type")),
                }
            }
        }
        Ok(())
    }

    /// The column's profile over the rows fed so far. `name` and `is_primary_key` are copied
    /// into it; `alerts` is left empty.
    pub fn finish(self, name: &str, is_primary_key: bool) -> ColumnResult {
        let rows = self.rows;
        let non_null = rows.saturating_sub(self.nulls);
        let exact_q = self.exact_quantiles;
        let mut p = ColumnProfile {
            name: name.to_string(),
            column_type: self.kind.type_name().to_string(),
            null_count: self.nulls,
            null_pct: pct(self.nulls, rows),
            is_primary_key,
            distinct_exact: true,
            sample_values: self.samples.text,
            ..Default::default()
        };
        let mut strictly_increasing = false;
        match self.values {
            Values::Int(mut acc) => {
                strictly_increasing = acc.increasing && self.nulls == 0;
                set_distinct(&mut p, &acc.distinct, non_null);
                p.min = acc.min.map(Value::from);
                p.max = acc.max.map(Value::from);
                acc.kept.sort_unstable();
                let histogram = numeric_histogram(&acc, exact_q, |k| k as i64 as f64);
                p.numeric = Some(numeric_stats(&acc, exact_q, histogram, (0, 0)));
                p.top_values =
                    top_values(&acc.distinct, non_null, |k| render::int(k as i64), by_i64);
            }
            Values::Float {
                mut acc,
                nan,
                pos_inf,
                neg_inf,
            } => {
                set_distinct(&mut p, &acc.distinct, non_null);
                p.min = acc.min.and_then(json_f64);
                p.max = acc.max.and_then(json_f64);
                acc.kept.sort_unstable_by(f64::total_cmp);
                let histogram = numeric_histogram(&acc, exact_q, f64::from_bits);
                p.numeric = Some(numeric_stats(
                    &acc,
                    exact_q,
                    histogram,
                    (nan, pos_inf + neg_inf),
                ));
                p.top_values = top_values(
                    &acc.distinct,
                    non_null,
                    |k| render::float(f64::from_bits(k)),
                    by_f64,
                );
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
                let mut top: Vec<TopValue> = [(true, t), (false, f)]
                    .into_iter()
                    .filter(|(_, c)| *c > 0)
                    .map(|(b, c)| TopValue {
                        value: render::boolean(b),
                        count: c,
                        pct: pct(c, non_null).unwrap_or(0.0),
                    })
                    .collect();
                top.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
                if top.iter().any(|v| v.count > 1) {
                    p.top_values = top;
                }
            }
            Values::Temporal { acc, days } => {
                set_distinct(&mut p, &acc.distinct, non_null);
                let (fmt, per_day): (fn(i64) -> String, i64) = if self.kind == Kind::Date {
                    (render::date, 1)
                } else {
                    (timestamp_format(self.kind), render::MICROS_PER_DAY)
                };
                p.min = acc.min.map(|x| Value::String(fmt(x)));
                p.max = acc.max.map(|x| Value::String(fmt(x)));
                let day_counts = if self.kind == Kind::Date {
                    &acc.distinct
                } else {
                    &days
                };
                let histogram = day_counts.is_exact().then(|| {
                    let pairs: Vec<(i64, u64)> =
                        day_counts.iter().map(|(k, c)| (k as i64, c)).collect();
                    stats::period_histogram(&pairs)
                });
                p.temporal = Some(TemporalStats {
                    earliest: acc.min.map(fmt),
                    latest: acc.max.map(fmt),
                    span_days: acc
                        .min
                        .zip(acc.max)
                        .map(|(a, b)| render::span_days(a, b, per_day)),
                    histogram: histogram.flatten(),
                });
                p.top_values = top_values(&acc.distinct, non_null, |k| fmt(k as i64), by_i64);
            }
            Values::Text(acc) => finish_text(&mut p, acc, non_null, exact_q),
        }
        p.distinct_pct = pct(p.distinct_count, non_null);
        ColumnResult {
            profile: p,
            first_rows: self.first_rows,
            rows,
            strictly_increasing,
        }
    }
}

/// Feeds an Int64 array (ints, or dates and timestamps as i64) into `acc`.
fn feed_ints(
    acc: &mut NumAcc<i64>,
    arr: &arrow::array::Int64Array,
    batch: Batch,
    numeric: bool,
    samples: &mut Samples,
    render: fn(i64) -> String,
) {
    let len = arr.len();
    let mut prev = acc.last;
    let mut increasing = acc.increasing;
    let mut floats = if numeric {
        Vec::with_capacity(len)
    } else {
        Vec::new()
    };
    let mut each = |v: i64, acc: &mut NumAcc<i64>| {
        acc.distinct.add(v as u64, 1);
        if acc.min.is_none_or(|m| v < m) {
            acc.min = Some(v);
        }
        if acc.max.is_none_or(|m| v > m) {
            acc.max = Some(v);
        }
        if let Some(p) = prev {
            increasing &= p < v;
        } else {
            acc.first = Some(v);
        }
        prev = Some(v);
        if numeric {
            acc.zeros += u64::from(v == 0);
            acc.negatives += u64::from(v < 0);
            floats.push(v as f64);
            if let Some(f) = &mut acc.fine {
                f.add(v as f64);
            }
        }
        if !samples.full() {
            samples.note(v as u64, || render(v));
        }
    };
    if arr.null_count() == 0 {
        for &v in arr.values().iter() {
            each(v, acc);
        }
    } else {
        for v in arr.iter().flatten() {
            each(v, acc);
        }
    }
    acc.last = prev;
    acc.increasing = increasing;
    if !numeric {
        // Dates and timestamps report no percentiles: nothing to keep.
        return;
    }
    acc.moments.merge(&Moments::of(&floats));
    match batch {
        Batch::All => {
            if arr.null_count() == 0 {
                acc.kept.extend_from_slice(arr.values());
            } else {
                acc.kept.extend(arr.iter().flatten());
            }
        }
        Batch::Rows(rows) => {
            for &r in rows {
                let r = r as usize;
                if r < len && arr.is_valid(r) {
                    acc.kept.push(arr.value(r));
                }
            }
        }
    }
}

fn feed_strings<'a, A: StringArrayType<'a>>(
    acc: &mut TextAcc,
    arr: A,
    samples: &mut Samples,
    keep: impl Fn(usize) -> bool,
) -> Result<()> {
    for (i, s) in arr.iter().enumerate() {
        if let Some(s) = s {
            acc.add(s.as_bytes(), keep(i))?;
            if !samples.full() {
                samples.note(super::interner::hash_bytes(s.as_bytes()), || s.to_string());
            }
        }
    }
    Ok(())
}

/// Counter keys as `i64` values (ints, dates, timestamps), ascending.
fn by_i64(a: &u64, b: &u64) -> std::cmp::Ordering {
    (*a as i64).cmp(&(*b as i64))
}

/// Counter keys as `f64` values, ascending (`total_cmp`: -inf … +inf, NaN last).
fn by_f64(a: &u64, b: &u64) -> std::cmp::Ordering {
    f64::from_bits(*a).total_cmp(&f64::from_bits(*b))
}

/// Sets `distinct_count`, `distinct_exact` and `distinct_error_pct` from a counter.
fn set_distinct(p: &mut ColumnProfile, c: &Counter, non_null: u64) {
    // An estimate never exceeds the values counted.
    p.distinct_count = c.distinct().min(non_null);
    p.distinct_exact = c.is_exact();
    p.distinct_error_pct = (!c.is_exact()).then(Hll::error_pct);
}

/// Most frequent values (at most [`TOP_VALUES`], ties by value, ascending) when the
/// counts are exact and some value repeats.
fn top_values(
    c: &Counter,
    non_null: u64,
    text: impl Fn(u64) -> String,
    by_value: fn(&u64, &u64) -> std::cmp::Ordering,
) -> Vec<TopValue> {
    if !c.is_exact() {
        return Vec::new();
    }
    let mut pairs: Vec<(u64, u64)> = c.iter().collect();
    if !pairs.iter().any(|p| p.1 > 1) {
        return Vec::new();
    }
    let order = |a: &(u64, u64), b: &(u64, u64)| b.1.cmp(&a.1).then(by_value(&a.0, &b.0));
    if pairs.len() > TOP_VALUES {
        pairs.select_nth_unstable_by(TOP_VALUES - 1, order);
        pairs.truncate(TOP_VALUES);
    }
    pairs.sort_unstable_by(order);
    pairs
        .into_iter()
        .map(|(k, n)| TopValue {
            value: text(k),
            count: n,
            pct: pct(n, non_null).unwrap_or(0.0),
        })
        .collect()
}

/// The numeric histogram: one bin per value when the distinct values are exact and at most
/// [`HISTOGRAM_BINS`]; else Freedman–Diaconis over the sorted kept values (exact percentiles)
/// or over the fine bins (sampled).
fn numeric_histogram<T: Copy + stats::Numeric>(
    acc: &NumAcc<T>,
    exact_q: bool,
    key_value: impl Fn(u64) -> f64,
) -> Option<super::model::Histogram> {
    let c = &acc.distinct;
    if c.is_exact() && (c.distinct() as usize) <= HISTOGRAM_BINS {
        let pairs: Vec<(f64, u64)> = c
            .iter()
            .map(|(k, n)| (key_value(k), n))
            .filter(|(v, _)| v.is_finite())
            .collect();
        return stats::histogram_distinct(pairs);
    }
    if exact_q {
        return stats::histogram_sorted(&acc.kept);
    }
    let (min, max) = (acc.min?.to_f64(), acc.max?.to_f64());
    let iqr = stats::quantile_cont(&acc.kept, 0.75)? - stats::quantile_cont(&acc.kept, 0.25)?;
    acc.fine.as_ref()?.finish(min, max, iqr)
}

fn numeric_stats<T: Copy + stats::Numeric>(
    acc: &NumAcc<T>,
    exact_q: bool,
    histogram: Option<super::model::Histogram>,
    (nan, inf): (u64, u64),
) -> NumericStats {
    let q = |x: f64| stats::quantile_cont(&acc.kept, x);
    NumericStats {
        mean: acc.moments.mean(),
        stddev: acc.moments.stddev_samp(),
        p5: q(0.05),
        p25: q(0.25),
        p50: q(0.5),
        p75: q(0.75),
        p95: q(0.95),
        quantiles_exact: exact_q,
        quantile_rank_error_pct: if exact_q {
            None
        } else {
            dkw_rank_error_pct(acc.kept.len() as u64, QUANTILE_CONFIDENCE)
        },
        zeros: acc.zeros,
        negatives: acc.negatives,
        nan_count: nan,
        infinite_count: inf,
        histogram,
    }
}

/// String statistics, min/max, distinct count and top values.
fn finish_text(p: &mut ColumnProfile, acc: TextAcc, non_null: u64, exact_q: bool) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    p.min = acc.min.as_deref().map(|b| Value::String(text(b)));
    p.max = acc.max.as_deref().map(|b| Value::String(text(b)));
    let mut looks = acc.looks;
    let mut looks_exact = exact_q;
    match &acc.set {
        Some(set) => {
            p.distinct_count = set.len() as u64;
            p.distinct_exact = true;
            // Shapes from the distinct values weighted by their counts: exact.
            looks = [0; 4];
            for id in 0..set.len() {
                let v = set.get(id);
                if v.is_empty() {
                    continue;
                }
                let n = set.count(id);
                let s = String::from_utf8_lossy(v);
                looks[0] += n;
                looks[1] += n * u64::from(stats::looks_numeric(&s));
                looks[2] += n * u64::from(stats::looks_date(&s));
                looks[3] += n * u64::from(stats::looks_email(&s));
            }
            looks_exact = true;
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
            if ids.iter().any(|&id| set.count(id) > 1) {
                p.top_values = ids
                    .into_iter()
                    .map(|id| TopValue {
                        value: text(set.get(id)),
                        count: set.count(id),
                        pct: pct(set.count(id), non_null).unwrap_or(0.0),
                    })
                    .collect();
            }
        }
        None => {
            p.distinct_count = acc
                .hll
                .as_ref()
                .map_or(0, |h| h.estimate().round() as u64)
                .min(non_null);
            p.distinct_exact = false;
            p.distinct_error_pct = Some(Hll::error_pct());
        }
    }
    let share = |i: usize| pct(looks[i], looks[0]);
    p.string = Some(StringStats {
        min_length: acc.min_len,
        max_length: acc.max_len,
        avg_length: (non_null > 0)
            .then(|| acc.total_chars as f64 / non_null as f64)
            .and_then(stats::finite),
        empty_count: acc.empty,
        looks_numeric_pct: share(1),
        looks_date_pct: share(2),
        looks_email_pct: share(3),
        looks_exact,
    });
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
