//! Writing `incremental` and `partitioned` tables: rows read from the source are merged into the
//! table's previously published files by primary key, partition by partition, with memory
//! bounded by the rows read in this run (one 32-byte index entry per row), never by the table.
//!
//! The steps, for a table with a primary key:
//! 1. Each source batch is made to fit the table's schema, filtered to rows at or after the
//!    cursor's lower bound, split by partition and streamed to one spill file per partition.
//!    A hash index maps every primary key read to its newest row (largest cursor value; on a tie
//!    the later row), so a key read twice in one run is written once.
//! 2. Every partition that received rows is written again: for `incremental` its previous rows
//!    minus the keys read now, then the newest rows read; for `partitioned` only the rows read
//!    (the partition is replaced).
//! 3. Every other previous partition is scanned on its key columns only; one that holds a key
//!    read now (the row moved to another partition) is rewritten without it, the others are
//!    hard-linked unchanged (same bytes, same mtime).
//!
//! A previous file is merged row group by row group. A row group whose key column statistics
//! (min/max) lie outside the range of the keys read holds none of them; the others are scanned
//! on their key columns. A row group holding no key read is copied into the new file as it is
//! (its column chunks as raw bytes, with statistics and page index: no decoding, no encoding);
//! one holding a key is decoded, filtered and encoded again, its rows joining the new rows in
//! the file's last row groups. Small row groups (under half of [`ROW_GROUP_ROWS`] rows and of
//! [`ROW_GROUP_BYTES`]) are re-encoded too, so a table that grows a little each run keeps full
//! row groups. A previous file whose schema is not the table's is decoded whole.
//!
//! Keys are compared by a 128-bit hash of their Arrow row encoding (two SipHash-1-3 passes); the
//! chance of two distinct keys colliding among 10^9 is below 10^-20.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, UInt32Array};
use arrow::compute::{self, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, SortField};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::{PageIndexPolicy, RowGroupMetaData};
use parquet::file::statistics::Statistics;

use super::partition::{self, Granularity, PartitionKey};
use super::{
    arrow_type, DataFile, ParquetSink, SyncedColumn, TableStream, ROW_GROUP_BYTES, ROW_GROUP_ROWS,
};
use crate::content::{ColumnType, SyncStrategy, TableSpec};

/// Buffered bytes of all spill files together above which the largest one closes its row group.
pub const SPILL_BUDGET_BYTES: usize = 256 << 20;

/// Rows per batch when reading previous files.
const READ_BATCH_ROWS: usize = 65_536;

/// What to write for one table.
pub struct Plan<'a> {
    /// The table.
    pub spec: &'a TableSpec,
    /// The staging root (files go to `data/<folder>/…` under it).
    pub root: &'a Path,
    /// The table as the previous build published it (files under that build's root); `None`
    /// on a first run or a full refresh.
    pub previous: Option<super::SyncedTable>,
    /// Strategy and layout of the run that published `previous` (from the sync state).
    pub previous_strategy: Option<(SyncStrategy, String)>,
    /// Rows whose cursor column is below this value (in the unit of [`cursor_value`]) are not
    /// read; `None` reads every row.
    pub lower_bound: Option<i64>,
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    /// The table's schema as written.
    pub columns: Vec<SyncedColumn>,
    /// Every data file of the table, sorted by path.
    pub files: Vec<DataFile>,
    /// Rows taken from the source (after the cursor filter).
    pub rows_read: u64,
    /// Largest cursor value among the rows read (see [`cursor_value`]); `None` when no row was
    /// read or the table has no cursor column.
    pub cursor_max: Option<i64>,
    /// Partitions written from new rows.
    pub partitions_written: usize,
    /// Previous partitions rewritten because rows moved out of them or the schema changed.
    pub partitions_rewritten: usize,
    /// Previous partitions kept as they were (hard links).
    pub partitions_kept: usize,
    /// Row groups of previous files copied into rewritten files as they were (raw bytes).
    pub row_groups_copied: usize,
    /// Row groups of previous files decoded and written again (they held a key read in this
    /// run, were small, or the file's schema changed).
    pub row_groups_rewritten: usize,
    /// Things the operator should know (layout reset, …).
    pub notes: Vec<String>,
}

/// The file layout of a table: one file, or hive partitions of a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// `data/<folder>/<name>.parquet`.
    Single,
    /// `data/<folder>/<name>/year=…/…/part-0.parquet`.
    Partitioned {
        /// The partition column.
        column: String,
        /// Its granularity.
        granularity: Granularity,
    },
}

impl Layout {
    /// The layout `spec` asks for: partitioned when `partition_by` is set and the strategy is
    /// `partitioned` or `incremental`.
    pub fn of(spec: &TableSpec) -> Layout {
        match (&spec.partition_by, spec.sync_strategy) {
            (Some(c), SyncStrategy::Partitioned | SyncStrategy::Incremental) => {
                Layout::Partitioned {
                    column: c.clone(),
                    granularity: Granularity::of(spec.partition_granularity.as_deref()),
                }
            }
            _ => Layout::Single,
        }
    }

    /// `single`, or `<column>/<granularity>`: what the sync state stores.
    pub fn describe(&self) -> String {
        match self {
            Layout::Single => "single".to_string(),
            Layout::Partitioned {
                column,
                granularity,
            } => format!("{column}/{granularity}"),
        }
    }

    fn rel_path(&self, spec: &TableSpec, key: PartitionKey) -> String {
        match self {
            Layout::Single => format!("{}.parquet", spec.data_stem()),
            Layout::Partitioned { granularity, .. } => format!(
                "{}/{}/part-0.parquet",
                spec.data_stem(),
                partition::hive_path(key, *granularity)
            ),
        }
    }

    fn key_of_path(&self, spec: &TableSpec, rel: &str) -> Option<PartitionKey> {
        match self {
            Layout::Single => (rel == self.rel_path(spec, 0)).then_some(0),
            Layout::Partitioned { granularity, .. } => {
                let prefix = format!("{}/", spec.data_stem());
                let hive = rel.strip_prefix(&prefix)?.strip_suffix("/part-0.parquet")?;
                partition::parse_hive_path(hive, *granularity)
            }
        }
    }
}

/// A cursor column's value as an i64: the integer itself, days since 1970-01-01 for a date,
/// microseconds since 1970-01-01 00:00 for a timestamp (UTC for instants). `None` for NULL.
pub fn cursor_value(column: &ArrayRef, row: usize) -> Option<i64> {
    let ints = compute::cast(column, &DataType::Int64).ok()?;
    let ints = ints.as_any().downcast_ref::<Int64Array>()?;
    ints.is_valid(row).then(|| ints.value(row))
}

/// The type a merged table keeps for a column of type `old` in the published rows that arrives
/// as `new`: the same type, a wider one (int64 + float64 = float64, date + timestamp =
/// timestamp, date + timestamptz = timestamptz), the old type when the new rows hold no value of
/// the column at all (`new_has_values` false: their type is unknown, not text), else text
/// (every published value is then written as text).
pub fn widen(old: ColumnType, new: ColumnType, new_has_values: bool) -> ColumnType {
    use ColumnType::*;
    match (old, new) {
        (a, b) if a == b => a,
        (a, _) if !new_has_values => a,
        (Int64, Float64) | (Float64, Int64) => Float64,
        (Date, b) | (b, Date) if b.is_timestamp() => b,
        _ => String,
    }
}

/// Whether a synced column held any value (an inferred column without any is typed text with
/// [`super::values::NO_VALUES_NOTE`]).
pub fn has_values(c: &SyncedColumn) -> bool {
    !(c.type_source == "inferred" && c.note.as_deref() == Some(super::values::NO_VALUES_NOTE))
}

/// The schema a merging run writes: the source's columns, each retyped by [`widen`] against the
/// previous schema where the column existed, then the previous columns the source no longer has
/// (kept, NULL in the new rows: a merge never drops published values).
pub fn unify(previous: Option<&[SyncedColumn]>, new: &[SyncedColumn]) -> Vec<SyncedColumn> {
    let mut out: Vec<SyncedColumn> = new
        .iter()
        .map(|n| {
            let Some(p) = previous.and_then(|p| p.iter().find(|p| p.name == n.name)) else {
                return n.clone();
            };
            let t = widen(p.column_type, n.column_type, has_values(n));
            if t == p.column_type && t != n.column_type {
                // Typed by the published rows, not by this run's (valueless) ones.
                return p.clone();
            }
            SyncedColumn {
                column_type: t,
                ..n.clone()
            }
        })
        .collect();
    for p in previous.unwrap_or_default() {
        if !new.iter().any(|n| n.name == p.name) {
            out.push(p.clone());
        }
    }
    out
}

/// The Arrow schema of `columns` (every field nullable).
pub fn schema_of(columns: &[SyncedColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.column_type), true))
            .collect::<Vec<_>>(),
    ))
}

/// `batch` with exactly `schema`'s columns, by name: a missing column is all NULL, a column of
/// another type is cast (strictly: a value that does not fit is an error naming the column and
/// `table`).
pub fn conform(
    batch: &RecordBatch,
    schema: &SchemaRef,
    table: &str,
) -> anyhow::Result<RecordBatch> {
    if batch.schema().fields() == schema.fields() {
        return Ok(RecordBatch::try_new(
            schema.clone(),
            batch.columns().to_vec(),
        )?);
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let a = match batch.column_by_name(f.name()) {
            None => arrow::array::new_null_array(f.data_type(), batch.num_rows()),
            Some(a) if a.data_type() == f.data_type() => a.clone(),
            Some(a) => cast_column(a, f.data_type(), &strict).with_context(|| {
                format!(
                    "table `{table}`: column `{}` holds {} values that do not fit the table's type {} (run `broker build --full-refresh --select {table}` to retype the whole table)",
                    f.name(),
                    a.data_type(),
                    f.data_type()
                )
            })?,
        };
        arrays.push(a);
    }
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )?)
}

/// Cast `a` to `to`. Time zones are handled here, not by Arrow's cast (which needs the
/// `chrono-tz` feature to read the zone name "UTC"): our zoned timestamps are microseconds in
/// UTC, so a zone is dropped or added by relabelling the values, never by shifting them.
fn cast_column(
    a: &ArrayRef,
    to: &DataType,
    options: &CastOptions,
) -> arrow::error::Result<ArrayRef> {
    use arrow::array::TimestampMicrosecondArray;
    use arrow::datatypes::TimeUnit;
    let a: ArrayRef = match a.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => Arc::new(
            a.as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .cloned()
                .ok_or_else(|| arrow::error::ArrowError::CastError("timestamp".into()))?
                .with_timezone_opt(None::<String>),
        ),
        _ => a.clone(),
    };
    match to {
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) => {
            let naive = compute::cast_with_options(
                &a,
                &DataType::Timestamp(TimeUnit::Microsecond, None),
                options,
            )?;
            let naive = naive
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .cloned()
                .ok_or_else(|| arrow::error::ArrowError::CastError("timestamp".into()))?;
            Ok(Arc::new(naive.with_timezone(tz.clone())))
        }
        _ => compute::cast_with_options(&a, to, options),
    }
}

/// Hashes primary keys to 128 bits.
struct KeyHasher {
    converter: RowConverter,
    columns: Vec<String>,
}

impl KeyHasher {
    fn new(schema: &SchemaRef, names: &[String]) -> anyhow::Result<KeyHasher> {
        let fields = names
            .iter()
            .map(|n| {
                Ok(SortField::new(
                    schema.field_with_name(n)?.data_type().clone(),
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(KeyHasher {
            converter: RowConverter::new(fields)?,
            columns: names.to_vec(),
        })
    }

    /// One hash per row of `batch` (which has the key columns by name).
    fn hashes(&self, batch: &RecordBatch) -> anyhow::Result<Vec<u128>> {
        let cols = self
            .columns
            .iter()
            .map(|n| {
                batch
                    .column_by_name(n)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("primary key column `{n}` missing"))
            })
            .collect::<anyhow::Result<Vec<ArrayRef>>>()?;
        let rows = self.converter.convert_columns(&cols)?;
        Ok(rows.iter().map(|r| hash128(r.as_ref())).collect())
    }
}

fn hash128(bytes: &[u8]) -> u128 {
    let mut a = std::hash::DefaultHasher::new();
    a.write(bytes);
    let mut b = std::hash::DefaultHasher::new();
    b.write_u8(0x5b);
    b.write(bytes);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// Where the newest row of a key read in this run is: partition slot, row within that
/// partition's spill file, cursor value (16 bytes).
#[derive(Clone, Copy)]
struct Slot {
    part: u32,
    row: u32,
    cursor: i64,
}

/// Shards of the key index: a shard grows (and rehashes) alone, so growing never needs twice
/// the whole index at once.
const INDEX_SHARDS: usize = 64;

/// The keys read in this run: 128-bit key hash → newest row. The map's own hash is the key
/// hash's low 64 bits (already uniformly spread), the shard its top 6 bits.
struct KeyIndex {
    shards: Vec<HashMap<u128, Slot, std::hash::BuildHasherDefault<KeyHashPassThrough>>>,
    len: usize,
}

impl KeyIndex {
    fn new() -> KeyIndex {
        KeyIndex {
            shards: (0..INDEX_SHARDS).map(|_| HashMap::default()).collect(),
            len: 0,
        }
    }

    fn shard(key: u128) -> usize {
        (key >> 122) as usize
    }

    /// Insert; returns the slot the key had.
    fn insert(&mut self, key: u128, slot: Slot) -> Option<Slot> {
        let old = self.shards[Self::shard(key)].insert(key, slot);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    fn contains(&self, key: &u128) -> bool {
        self.shards[Self::shard(*key)].contains_key(key)
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A `Hasher` for keys that are already hashes: keeps the low 64 bits.
#[derive(Default)]
struct KeyHashPassThrough(u64);

impl Hasher for KeyHashPassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u128 keys are hashed; this path is a fallback that still spreads bytes.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

struct Spill {
    key: PartitionKey,
    path: PathBuf,
    sink: ParquetSink,
}

/// Write the table: see the module documentation. `stream` is the source; errors name the
/// table, and leave no file at the table's paths in the staging tree (previous data stays in
/// the previous build).
pub fn write_table(stream: TableStream, plan: Plan<'_>) -> anyhow::Result<Written> {
    let spec = plan.spec;
    let work = plan.root.join(".work").join(&spec.name);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("{}: cannot create", work.display()))?;
    let result = write_inner(stream, plan, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn write_inner(stream: TableStream, plan: Plan<'_>, work: &Path) -> anyhow::Result<Written> {
    let spec = plan.spec;
    let table = spec.name.as_str();
    let layout = Layout::of(spec);
    let mut notes = Vec::new();
    // Previous files by partition. When they were written in another layout or by another
    // strategy (whose rows may repeat a key), a table with a primary key reads them again as
    // old rows ahead of the source's, so they land in the new layout, merged by key; without a
    // key the table restarts from this run's rows.
    let previous = plan.previous;
    let mut prev_files: BTreeMap<PartitionKey, DataFile> = BTreeMap::new();
    let mut reabsorb: Vec<DataFile> = Vec::new();
    if let Some(p) = &previous {
        let fits = p
            .files
            .iter()
            .all(|f| layout.key_of_path(spec, &f.path).is_some());
        let same_run = plan
            .previous_strategy
            .as_ref()
            .is_none_or(|(st, l)| *st == spec.sync_strategy && *l == layout.describe());
        if fits && same_run {
            for f in &p.files {
                if let Some(k) = layout.key_of_path(spec, &f.path) {
                    prev_files.insert(k, f.clone());
                }
            }
        } else if !spec.primary_key.is_empty() {
            notes.push(format!(
                "the strategy or file layout changed (now {} in layout `{}`); the {} published rows are read again and merged by primary key with this run's",
                spec.sync_strategy,
                layout.describe(),
                p.rows
            ));
            reabsorb = p.files.clone();
        } else {
            notes.push(format!(
                "the strategy or file layout changed (now {} in layout `{}`) and the table has no primary key to merge by; it is rebuilt from this run's rows",
                spec.sync_strategy,
                layout.describe()
            ));
        }
    }
    let columns = unify(
        previous.as_ref().map(|p| p.columns.as_slice()),
        &stream.columns,
    );
    let schema = schema_of(&columns);
    let index_of = |name: &str, what: &str| -> anyhow::Result<usize> {
        schema.index_of(name).map_err(|_| {
            anyhow::anyhow!(
                "table `{table}`: {what} column `{name}` is not in the source (columns: {})",
                columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    for k in &spec.primary_key {
        index_of(k, "primary_key")?;
    }
    let cursor_idx = match &spec.incremental_column {
        Some(c) => {
            let i = index_of(c, "incremental_column")?;
            let t = columns[i].column_type;
            if !(t == ColumnType::Int64 || t == ColumnType::Date || t.is_timestamp()) {
                bail!("table `{table}`: incremental_column `{c}` is {t}; a cursor column must be an integer, date or timestamp");
            }
            Some(i)
        }
        None => None,
    };
    let part_idx = match &layout {
        Layout::Single => None,
        Layout::Partitioned {
            column,
            granularity,
        } => {
            for k in granularity.keys() {
                if columns.iter().any(|c| c.name.eq_ignore_ascii_case(k)) {
                    bail!("table `{table}`: a column is named `{k}`, which is a partition folder key of partition_granularity {granularity}; rename the column");
                }
            }
            Some((index_of(column, "partition_by")?, *granularity))
        }
    };
    let hasher = if spec.primary_key.is_empty() {
        None
    } else {
        Some(KeyHasher::new(&schema, &spec.primary_key)?)
    };

    let mut bounds = KeyBounds::new(&schema, &spec.primary_key);

    // 1. Read: filter, split by partition, spill, index keys.
    let mut spills: Vec<Spill> = Vec::new();
    let mut slot_of: HashMap<PartitionKey, u32> = HashMap::new();
    let mut index = KeyIndex::new();
    let mut losers: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut rows_read = 0u64;
    let mut cursor_max: Option<i64> = None;
    type Tagged = Box<dyn Iterator<Item = (anyhow::Result<RecordBatch>, bool)>>;
    let old_rows = reabsorb.iter().flat_map(|f| -> Tagged {
        match read_batches(&f.abs_path) {
            Ok(it) => Box::new(it.map(|b| (b, true))),
            Err(e) => Box::new(std::iter::once((Err(e), true))),
        }
    });
    for (batch, is_old) in old_rows.chain(stream.batches.map(|b| (b, false))) {
        let batch = conform(&batch?, &schema, table)?;
        let cursors: Option<Int64Array> = match cursor_idx {
            Some(i) => Some(
                compute::cast(batch.column(i), &DataType::Int64)?
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("cursor cast"))?,
            ),
            None => None,
        };
        let (batch, cursors) = match (plan.lower_bound.filter(|_| !is_old), cursors) {
            (Some(lb), Some(c)) => {
                // Rows with a NULL cursor are always read: they cannot be placed before it.
                let keep: BooleanArray =
                    c.iter().map(|v| Some(v.is_none_or(|v| v >= lb))).collect();
                let b = compute::filter_record_batch(&batch, &keep)?;
                let c = compute::filter(&c, &keep)?
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("cursor filter"))?;
                (b, Some(c))
            }
            (_, c) => (batch, c),
        };
        let n = batch.num_rows();
        if n == 0 {
            continue;
        }
        if !is_old {
            rows_read += n as u64;
        }
        if let Some(c) = &cursors {
            if let Some(m) = compute::max(c) {
                cursor_max = Some(cursor_max.map_or(m, |x: i64| x.max(m)));
            }
        }
        let hashes = match &hasher {
            Some(h) => {
                bounds.add(&batch)?;
                Some(h.hashes(&batch)?)
            }
            None => None,
        };
        let pkeys: Vec<PartitionKey> = match part_idx {
            Some((i, g)) => {
                if let Some(row) = (0..n).find(|&r| batch.column(i).is_null(r)) {
                    bail_null_partition(&batch, row, i, &spec.primary_key, table, is_old)?;
                }
                partition::keys(batch.column(i), g, table, schema.field(i).name())?
            }
            None => vec![0; n],
        };
        // Group rows by partition, keeping source order within each.
        let mut groups: BTreeMap<PartitionKey, Vec<u32>> = BTreeMap::new();
        let uniform = pkeys.windows(2).all(|w| w[0] == w[1]);
        if uniform {
            groups.insert(pkeys[0], Vec::new());
        } else {
            for (i, k) in pkeys.iter().enumerate() {
                groups.entry(*k).or_default().push(i as u32);
            }
        }
        for (key, rows) in groups {
            let slot = match slot_of.get(&key) {
                Some(s) => *s,
                None => {
                    let s = spills.len() as u32;
                    let path = work.join(format!("{key}.parquet"));
                    spills.push(Spill {
                        key,
                        sink: ParquetSink::create(&path, schema.clone(), table)?,
                        path,
                    });
                    slot_of.insert(key, s);
                    s
                }
            };
            let spill = &mut spills[slot as usize];
            let base = spill.sink.rows();
            let (part, source_rows): (RecordBatch, Vec<usize>) = if uniform {
                (batch.clone(), (0..n).collect())
            } else {
                let idx = UInt32Array::from(rows.clone());
                (
                    compute::take_record_batch(&batch, &idx)?,
                    rows.iter().map(|&r| r as usize).collect(),
                )
            };
            if let Some(h) = &hashes {
                for (j, &r) in source_rows.iter().enumerate() {
                    let cursor = cursors
                        .as_ref()
                        .and_then(|c| c.is_valid(r).then(|| c.value(r)))
                        .unwrap_or(i64::MIN);
                    let Ok(row) = u32::try_from(base + j as u64) else {
                        bail!("table `{table}`: more than 4,294,967,295 rows in one partition in one run; use a finer partition_granularity");
                    };
                    let new = Slot {
                        part: slot,
                        row,
                        cursor,
                    };
                    match index.insert(h[r], new) {
                        None => {}
                        Some(old) if old.cursor > new.cursor => {
                            // The earlier row is newer: it stays the winner.
                            index.insert(h[r], old);
                            losers.entry(new.part).or_default().push(new.row);
                        }
                        Some(old) => losers.entry(old.part).or_default().push(old.row),
                    }
                }
            }
            spill.sink.write(&part)?;
        }
        let buffered: usize = spills.iter().map(|s| s.sink.buffered_bytes()).sum();
        if buffered > SPILL_BUDGET_BYTES {
            if let Some(s) = spills.iter_mut().max_by_key(|s| s.sink.buffered_bytes()) {
                s.sink.flush()?;
            }
        }
    }

    // The keys previous files are merged against: none without a primary key or a row read.
    let keys = hasher
        .as_ref()
        .filter(|_| !index.is_empty())
        .map(|hasher| ReadKeys {
            hasher,
            index: &index,
            bounds: &bounds,
        });

    // 2. Partitions that received rows.
    let merge_previous = spec.sync_strategy == SyncStrategy::Incremental;
    let prev_columns: Option<Vec<SyncedColumn>> = previous.as_ref().map(|p| p.columns.clone());
    let prev_conforms = prev_columns
        .as_ref()
        .is_none_or(|p| *schema_of(p) == *schema);
    let mut files = Vec::new();
    let (mut written, mut rewritten, mut kept) = (0, 0, 0);
    let mut groups = RowGroupCounts::default();
    let mut spills_by_key: Vec<(usize, Spill)> = spills.into_iter().enumerate().collect();
    spills_by_key.sort_by_key(|(_, s)| s.key);
    for (slot, spill) in spills_by_key {
        let rel = layout.rel_path(spec, spill.key);
        let abs = plan.root.join(&rel);
        let mut lost = losers.remove(&(slot as u32)).unwrap_or_default();
        lost.sort_unstable();
        let old = prev_files.remove(&spill.key).filter(|_| merge_previous);
        let spilled = spill.sink.finish()?;
        let rows = if old.is_none() && lost.is_empty() {
            if let Some(parent) = abs.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&spill.path, &abs)
                .with_context(|| format!("{}: cannot move into place", abs.display()))?;
            spilled
        } else {
            let mut sink = ParquetSink::create_appendable(&abs, schema.clone(), table)?;
            if let Some(o) = &old {
                let prev = PreviousFile::open(&o.abs_path, keys.as_ref(), &schema, table)?;
                groups += prev.merge_into(&mut sink, &schema, table, keys.as_ref())?;
            }
            let mut next = 0u64;
            let mut li = 0usize;
            copy_rows(
                read_file(&spill.path)?,
                &spill.path,
                &schema,
                table,
                &mut sink,
                |b| {
                    let keep: BooleanArray = (0..b.num_rows())
                        .map(|_| {
                            let r = next;
                            next += 1;
                            while li < lost.len() && u64::from(lost[li]) < r {
                                li += 1;
                            }
                            Some(!(li < lost.len() && u64::from(lost[li]) == r))
                        })
                        .collect();
                    Ok(Some(keep))
                },
            )?;
            sink.finish()?
        };
        // Every row it received may have lost to a newer row of its key in another partition.
        if keep_file(&mut files, &layout, rel, abs, rows)? {
            written += 1;
        }
    }

    // 3. Previous partitions that received no rows.
    for (key, old) in prev_files {
        let rel = layout.rel_path(spec, key);
        let abs = plan.root.join(&rel);
        // Scanned for keys read in this run (a row moved to another partition) when there are.
        let scanned = match &keys {
            Some(k) => Some(PreviousFile::open(&old.abs_path, Some(k), &schema, table)?),
            None => None,
        };
        if prev_conforms && !scanned.as_ref().is_some_and(|p| p.holds_any_key()) {
            if let Some(parent) = abs.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::hard_link(&old.abs_path, &abs)
                .or_else(|_| std::fs::copy(&old.abs_path, &abs).map(|_| ()))
                .with_context(|| format!("{}: cannot keep", old.abs_path.display()))?;
            kept += 1;
            files.push(DataFile {
                path: rel,
                abs_path: abs,
                rows: old.rows,
                bytes: old.bytes,
            });
            continue;
        }
        let prev = match scanned {
            Some(p) => p,
            None => PreviousFile::open(&old.abs_path, None, &schema, table)?,
        };
        let mut sink = ParquetSink::create_appendable(&abs, schema.clone(), table)?;
        groups += prev.merge_into(&mut sink, &schema, table, keys.as_ref())?;
        let rows = sink.finish()?;
        rewritten += 1;
        keep_file(&mut files, &layout, rel, abs, rows)?;
    }
    // A table that never received a row still gets a (0-row) file when it is a single file, so
    // its schema is published.
    if files.is_empty() && layout == Layout::Single {
        let rel = layout.rel_path(spec, 0);
        let abs = plan.root.join(&rel);
        let sink = ParquetSink::create(&abs, schema.clone(), table)?;
        sink.finish()?;
        let bytes = std::fs::metadata(&abs)?.len();
        files.push(DataFile {
            path: rel,
            abs_path: abs,
            rows: 0,
            bytes,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Written {
        columns,
        files,
        rows_read,
        cursor_max,
        partitions_written: written,
        partitions_rewritten: rewritten,
        partitions_kept: kept,
        row_groups_copied: groups.copied,
        row_groups_rewritten: groups.rewritten,
        notes,
    })
}

/// Add a written file to `files`; a partition file left with no row is removed instead (a
/// single-file table keeps its empty file, which still carries the schema). Returns whether the
/// file was kept.
/// The error for row `row` of `batch`, whose partition column `column` is NULL: it names the
/// row by its primary key values (`order_id = 17`), else by its values, and says whether it
/// came from the source or from the published table.
fn bail_null_partition(
    batch: &RecordBatch,
    row: usize,
    column: usize,
    primary_key: &[String],
    table: &str,
    is_old: bool,
) -> anyhow::Result<()> {
    let schema = batch.schema();
    let value = |i: usize| {
        arrow::util::display::array_value_to_string(batch.column(i), row)
            .unwrap_or_else(|_| "?".to_string())
    };
    let named: Vec<String> = if primary_key.is_empty() {
        (0..batch.num_columns())
            .map(|i| format!("{} = {}", schema.field(i).name(), value(i)))
            .collect()
    } else {
        primary_key
            .iter()
            .filter_map(|k| schema.index_of(k).ok())
            .map(|i| format!("{} = {}", schema.field(i).name(), value(i)))
            .collect()
    };
    let from = if is_old {
        "a published row"
    } else {
        "a row of the source"
    };
    anyhow::bail!(
        "table `{table}`: partition_by column `{}` is NULL in {from} ({}); every row of a partitioned table needs a date",
        schema.field(column).name(),
        named.join(", ")
    )
}

fn keep_file(
    files: &mut Vec<DataFile>,
    layout: &Layout,
    path: String,
    abs_path: PathBuf,
    rows: u64,
) -> anyhow::Result<bool> {
    if rows == 0 && *layout != Layout::Single {
        std::fs::remove_file(&abs_path)?;
        return Ok(false);
    }
    let bytes = std::fs::metadata(&abs_path)?.len();
    files.push(DataFile {
        path,
        abs_path,
        rows,
        bytes,
    });
    Ok(true)
}

/// The batches of a Parquet file, [`READ_BATCH_ROWS`] rows each. Errors: it cannot be opened or
/// is not Parquet (decoding errors come with the batches).
fn read_batches(path: &Path) -> anyhow::Result<impl Iterator<Item = anyhow::Result<RecordBatch>>> {
    let shown = path.display().to_string();
    Ok(read_file(path)?.map(move |b| b.with_context(|| format!("{shown}: cannot decode"))))
}

/// A reader of the Parquet file at `path` ([`READ_BATCH_ROWS`] rows a batch).
fn read_file(path: &Path) -> anyhow::Result<ParquetRecordBatchReader> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    Ok(ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?
        .with_batch_size(READ_BATCH_ROWS)
        .build()?)
}

/// Stream `reader` (of the file at `path`, named in errors) into `sink`, each batch made to fit
/// `schema` and filtered by `keep` (`None` = keep every row).
fn copy_rows(
    reader: ParquetRecordBatchReader,
    path: &Path,
    schema: &SchemaRef,
    table: &str,
    sink: &mut ParquetSink,
    mut keep: impl FnMut(&RecordBatch) -> anyhow::Result<Option<BooleanArray>>,
) -> anyhow::Result<()> {
    for batch in reader {
        let batch = batch.with_context(|| format!("{}: cannot decode", path.display()))?;
        let batch = conform(&batch, schema, table)?;
        let batch = match keep(&batch)? {
            Some(mask) => compute::filter_record_batch(&batch, &mask)?,
            None => batch,
        };
        if batch.num_rows() > 0 {
            sink.write(&batch)?;
        }
    }
    Ok(())
}

/// The mask dropping rows whose key was read in this run; `None` when nothing is dropped.
fn drop_keys(
    batch: &RecordBatch,
    keys: Option<&ReadKeys<'_>>,
) -> anyhow::Result<Option<BooleanArray>> {
    let Some(k) = keys else { return Ok(None) };
    let hashes = k.hasher.hashes(batch)?;
    Ok(Some(
        hashes.iter().map(|h| Some(!k.index.contains(h))).collect(),
    ))
}

/// The keys read in this run, as previous files are merged against them.
struct ReadKeys<'a> {
    hasher: &'a KeyHasher,
    /// Not empty.
    index: &'a KeyIndex,
    bounds: &'a KeyBounds,
}

/// The range of values a key column took in this run, as far as row group statistics can be
/// compared with it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyRange {
    /// No value yet.
    Empty,
    /// Integers, dates (days) and timestamps in µs (Parquet INT64 / INT32 statistics in the same
    /// unit; other timestamp units are not compared, as Parquet may store them in another).
    Ints(i64, i64),
    /// Text: Parquet BYTE_ARRAY statistics, compared byte by byte.
    Bytes(Vec<u8>, Vec<u8>),
    /// A NULL was read, or a type whose statistics are not compared: any row group may hold it.
    Any,
}

impl KeyRange {
    fn widen(&mut self, other: KeyRange) {
        *self = match (std::mem::replace(self, KeyRange::Any), other) {
            (KeyRange::Empty, o) | (o, KeyRange::Empty) => o,
            (KeyRange::Ints(a, b), KeyRange::Ints(c, d)) => KeyRange::Ints(a.min(c), b.max(d)),
            (KeyRange::Bytes(a, b), KeyRange::Bytes(c, d)) => KeyRange::Bytes(a.min(c), b.max(d)),
            _ => KeyRange::Any,
        };
    }

    /// Whether no value of this range can lie within `stats` (a column chunk's minimum and
    /// maximum, which bound its non-NULL values; truncated statistics still bound them).
    fn outside(&self, stats: &Statistics) -> bool {
        match (self, stats) {
            (KeyRange::Ints(lo, hi), Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(min), Some(max)) => hi < min || lo > max,
                _ => false,
            },
            (KeyRange::Ints(lo, hi), Statistics::Int32(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(min), Some(max)) => *hi < i64::from(*min) || *lo > i64::from(*max),
                _ => false,
            },
            (KeyRange::Bytes(lo, hi), Statistics::ByteArray(s)) => {
                match (s.min_opt(), s.max_opt()) {
                    (Some(min), Some(max)) => {
                        hi.as_slice() < min.data() || lo.as_slice() > max.data()
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

/// Per primary key column, the range of the values read in this run. A row group whose
/// statistics put one key column outside its range holds no key read now, and is not scanned.
struct KeyBounds {
    columns: Vec<(String, KeyRange)>,
}

impl KeyBounds {
    fn new(schema: &SchemaRef, names: &[String]) -> KeyBounds {
        KeyBounds {
            columns: names
                .iter()
                .map(|n| {
                    let comparable = matches!(
                        schema.field_with_name(n).map(|f| f.data_type()),
                        Ok(DataType::Int64 | DataType::Date32 | DataType::Utf8)
                            | Ok(DataType::Timestamp(TimeUnit::Microsecond, _))
                    );
                    let range = if comparable {
                        KeyRange::Empty
                    } else {
                        KeyRange::Any
                    };
                    (n.clone(), range)
                })
                .collect(),
        }
    }

    /// Widen the ranges by the key columns of `batch` (which has them by name).
    fn add(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        for (name, range) in &mut self.columns {
            if *range == KeyRange::Any {
                continue;
            }
            let Some(column) = batch.column_by_name(name) else {
                *range = KeyRange::Any;
                continue;
            };
            if column.null_count() > 0 {
                *range = KeyRange::Any;
                continue;
            }
            let new = match column.data_type() {
                DataType::Utf8 => {
                    let text = column
                        .as_any()
                        .downcast_ref::<arrow::array::StringArray>()
                        .ok_or_else(|| anyhow::anyhow!("key column `{name}`: not text"))?;
                    match (compute::min_string(text), compute::max_string(text)) {
                        (Some(lo), Some(hi)) => {
                            KeyRange::Bytes(lo.as_bytes().to_vec(), hi.as_bytes().to_vec())
                        }
                        _ => KeyRange::Empty,
                    }
                }
                DataType::Int64
                | DataType::Date32
                | DataType::Timestamp(TimeUnit::Microsecond, _) => {
                    let ints = compute::cast(column, &DataType::Int64)?;
                    let ints = ints
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .ok_or_else(|| anyhow::anyhow!("key column `{name}`: not integers"))?;
                    match (compute::min(ints), compute::max(ints)) {
                        (Some(lo), Some(hi)) => KeyRange::Ints(lo, hi),
                        _ => KeyRange::Empty,
                    }
                }
                _ => KeyRange::Any,
            };
            range.widen(new);
        }
        Ok(())
    }

    /// Whether row group `group`, of a file whose Arrow schema has these key columns with the
    /// table's types, certainly holds no key read now, by its column statistics.
    fn excludes(&self, group: &RowGroupMetaData) -> bool {
        self.columns.iter().any(|(name, range)| {
            group
                .columns()
                .iter()
                .find(|c| c.column_descr().name() == name.as_str())
                .and_then(|c| c.statistics())
                .is_some_and(|stats| range.outside(stats))
        })
    }
}

/// Row groups of previous files, by what happened to them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct RowGroupCounts {
    copied: usize,
    rewritten: usize,
}

impl std::ops::AddAssign for RowGroupCounts {
    fn add_assign(&mut self, other: RowGroupCounts) {
        self.copied += other.copied;
        self.rewritten += other.rewritten;
    }
}

/// A previous file opened for a merge: its footer (with the page index when it has one) and,
/// per row group, whether it holds a key read in this run.
struct PreviousFile {
    path: PathBuf,
    file: File,
    meta: ArrowReaderMetadata,
    holds_key: Vec<bool>,
}

impl PreviousFile {
    /// Open `path` and find the row groups holding a key of `keys`: a row group whose key
    /// column statistics lie outside the keys' range holds none; the others are scanned on
    /// their key columns only. No scan without `keys`; a file without every key column holds
    /// none, as its keys cannot be compared.
    fn open(
        path: &Path,
        keys: Option<&ReadKeys<'_>>,
        schema: &SchemaRef,
        table: &str,
    ) -> anyhow::Result<PreviousFile> {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let meta = ArrowReaderMetadata::load(
            &file,
            // The page index and the page encoding statistics go along with a copied row group.
            ArrowReaderOptions::new()
                .with_page_index_policy(PageIndexPolicy::Optional)
                .with_encoding_stats_as_mask(false),
        )
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        let groups = meta.metadata().num_row_groups();
        let mut prev = PreviousFile {
            path: path.to_path_buf(),
            file,
            meta,
            holds_key: vec![false; groups],
        };
        let Some(ReadKeys {
            hasher,
            index,
            bounds,
        }) = keys
        else {
            return Ok(prev);
        };
        let file_schema = prev.meta.schema().clone();
        let roots: Vec<usize> = hasher
            .columns
            .iter()
            .filter_map(|n| file_schema.index_of(n).ok())
            .collect();
        if roots.len() != hasher.columns.len() {
            return Ok(prev);
        }
        let mask = ProjectionMask::roots(prev.meta.parquet_schema(), roots);
        let key_schema = Arc::new(Schema::new(
            hasher
                .columns
                .iter()
                .map(|n| Ok(schema.field_with_name(n)?.clone()))
                .collect::<anyhow::Result<Vec<Field>>>()?,
        ));
        // Statistics are compared only where they are of the table's types.
        let same_types = key_schema.fields().iter().all(|f| {
            file_schema
                .field_with_name(f.name())
                .is_ok_and(|x| x == f.as_ref())
        });
        for g in 0..groups {
            if same_types && bounds.excludes(prev.meta.metadata().row_group(g)) {
                continue;
            }
            let reader = prev
                .reader()?
                .with_projection(mask.clone())
                .with_row_groups(vec![g])
                .build()?;
            for batch in reader {
                let batch = batch.with_context(|| format!("{}: cannot decode", path.display()))?;
                let batch = conform(&batch, &key_schema, table)?;
                if hasher.hashes(&batch)?.iter().any(|k| index.contains(k)) {
                    prev.holds_key[g] = true;
                    break;
                }
            }
        }
        Ok(prev)
    }

    fn holds_any_key(&self) -> bool {
        self.holds_key.iter().any(|&h| h)
    }

    /// A reader of the file (every column and row group, [`READ_BATCH_ROWS`] rows a batch).
    fn reader(&self) -> anyhow::Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = self
            .file
            .try_clone()
            .with_context(|| format!("{}: cannot open", self.path.display()))?;
        Ok(
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
                .with_batch_size(READ_BATCH_ROWS),
        )
    }

    /// Write the file's rows into `sink` without the rows whose key was read in this run. A row
    /// group that holds none of those keys is appended as it is (raw bytes), unless it is
    /// small (under half of [`ROW_GROUP_ROWS`] rows and half of [`ROW_GROUP_BYTES`] bytes): a
    /// small one is decoded and its rows join the sink's open row group, so a table that grows
    /// by a few rows a run does not pile up small row groups. A row group that holds a key is
    /// decoded, filtered and encoded again. A file whose schema the sink does not accept (the
    /// table's schema changed) is decoded whole.
    fn merge_into(
        &self,
        sink: &mut ParquetSink,
        schema: &SchemaRef,
        table: &str,
        keys: Option<&ReadKeys<'_>>,
    ) -> anyhow::Result<RowGroupCounts> {
        let metadata = self.meta.metadata();
        let groups = metadata.row_groups();
        if !sink.accepts_row_groups(self.meta.schema(), metadata) {
            copy_rows(
                self.reader()?.build()?,
                &self.path,
                schema,
                table,
                sink,
                |b| drop_keys(b, keys),
            )?;
            return Ok(RowGroupCounts {
                copied: 0,
                rewritten: groups.len(),
            });
        }
        let mut counts = RowGroupCounts::default();
        for (g, group) in groups.iter().enumerate() {
            let small = usize::try_from(group.num_rows()).unwrap_or(0) < ROW_GROUP_ROWS / 2
                && usize::try_from(group.total_byte_size()).unwrap_or(0) < ROW_GROUP_BYTES / 2;
            if !self.holds_key[g] && !small {
                sink.append_row_group(&self.file, metadata, g)
                    .with_context(|| format!("{}: row group {g}", self.path.display()))?;
                counts.copied += 1;
                continue;
            }
            let reader = self.reader()?.with_row_groups(vec![g]).build()?;
            let holds_key = self.holds_key[g];
            copy_rows(reader, &self.path, schema, table, sink, |b| {
                if holds_key {
                    drop_keys(b, keys)
                } else {
                    Ok(None)
                }
            })?;
            counts.rewritten += 1;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, TimestampMicrosecondArray};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("t", arrow_type(ColumnType::Timestamptz), true),
            Field::new("f", DataType::Float64, true),
        ]))
    }

    fn batch(n: &[Option<i64>], s: &[&str], t: &[i64]) -> RecordBatch {
        let f: Vec<f64> = n.iter().map(|_| 1.5).collect();
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(n.to_vec())),
                Arc::new(StringArray::from(s.to_vec())),
                Arc::new(TimestampMicrosecondArray::from(t.to_vec()).with_timezone("UTC")),
                Arc::new(arrow::array::Float64Array::from(f)),
            ],
        )
        .unwrap()
    }

    /// The row group of a file holding `batch`, as written by a sink.
    fn row_group(b: &RecordBatch) -> RowGroupMetaData {
        let dir = crate::testkit::tempdir().unwrap();
        let path = dir.path().join("a.parquet");
        let mut sink = ParquetSink::create(&path, schema(), "t").unwrap();
        sink.write(b).unwrap();
        sink.finish().unwrap();
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        b.metadata().row_group(0).clone()
    }

    fn bounds(key: &[&str], read: &[RecordBatch]) -> KeyBounds {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        let mut b = KeyBounds::new(&schema(), &key);
        for r in read {
            b.add(r).unwrap();
        }
        b
    }

    #[test]
    fn row_groups_outside_the_range_of_a_key_column_read_are_excluded() {
        let old = row_group(&batch(
            &[Some(10), Some(20)],
            &["banana", "cherry"],
            &[1_000, 2_000],
        ));
        let read = |n: i64, s: &str, t: i64| batch(&[Some(n)], &[s], &[t]);
        // Integers: 21 and 9 are outside 10..=20, 20 and 10 inside.
        assert!(bounds(&["n"], &[read(21, "x", 0), read(30, "x", 0)]).excludes(&old));
        assert!(bounds(&["n"], &[read(9, "x", 0)]).excludes(&old));
        assert!(!bounds(&["n"], &[read(20, "x", 0)]).excludes(&old));
        assert!(!bounds(&["n"], &[read(10, "x", 0)]).excludes(&old));
        assert!(!bounds(&["n"], &[read(1, "x", 0), read(99, "x", 0)]).excludes(&old));
        // Text, byte by byte: "cherry0" sorts after "cherry", "b" before "banana".
        assert!(bounds(&["s"], &[read(0, "cherry0", 0)]).excludes(&old));
        assert!(bounds(&["s"], &[read(0, "b", 0)]).excludes(&old));
        assert!(!bounds(&["s"], &[read(0, "banana", 0)]).excludes(&old));
        assert!(!bounds(&["s"], &[read(0, "c", 0)]).excludes(&old));
        // Timestamps (µs).
        assert!(bounds(&["t"], &[read(0, "x", 2_001)]).excludes(&old));
        assert!(!bounds(&["t"], &[read(0, "x", 2_000)]).excludes(&old));
        // A composite key: one column outside is enough.
        assert!(bounds(&["n", "s"], &[read(15, "zebra", 0)]).excludes(&old));
        assert!(!bounds(&["n", "s"], &[read(15, "banana", 0)]).excludes(&old));
        // Floats are not compared; a NULL read may match any row group.
        assert!(!bounds(&["f"], &[read(99, "x", 0)]).excludes(&old));
        let null = batch(&[None], &["x"], &[0]);
        assert!(!bounds(&["n"], &[read(99, "x", 0), null]).excludes(&old));
        // A row group of NULLs only has no minimum: never excluded.
        let nulls = row_group(&batch(&[None, None], &["a", "b"], &[0, 0]));
        assert!(!bounds(&["n"], &[read(99, "x", 0)]).excludes(&nulls));
    }
}
