//! Profile stage: per-table, per-column statistics of the fresh Parquet files, computed in
//! parallel (rayon) across tables and across row groups, in memory bounded by the row group.
//!
//! How a table is read: each file's footer is parsed once; the table's row groups are the units
//! of work. Every unit reads all columns of its row group in batches of
//! [`limits::BATCH_ROWS`] rows and feeds one [`column::ColumnAcc`] per column; units run on
//! rayon's pool a window at a time and their partial states are merged strictly in row order,
//! so the same files always give the same bytes.
//! Exact duplicate checks (primary keys, whole rows) read the columns they need once more, only
//! when the statistics cannot answer them (see [`TableProfile::duplicate_rows`]).
//!
//! What the Parquet footer already knows is used: row counts, and the min/max statistics of
//! numeric columns as the range of the fine histogram bins of sampled columns.
//!
//! Memory: per running unit, one batch of every column plus the partial states; per table, the
//! merged state: up to [`limits::EXACT_DISTINCT`] distinct values per column, and the values
//! kept for percentiles (all of them up to [`limits::EXACT_QUANTILE_ROWS`] rows, else a
//! sample of about [`limits::QUANTILE_SAMPLE_ROWS`]).

pub mod alerts;
mod column;
mod interner;
pub mod limits;
pub mod model;
mod render;
mod sketch;
mod stats;
#[cfg(test)]
mod tests;

pub use model::*;

use std::fs::File;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::content::TableSpec;
use crate::sync::{DataFile, SyncedTable};

use column::{Batch, ColumnAcc, Kind};
use limits::{BATCH_ROWS, EXACT_QUANTILE_ROWS, QUANTILE_SAMPLE_ROWS, SAMPLE_SIZE};

/// Caps on the work of profiling one table: `profile:` in `instance.yaml`, overridden per table
/// by `profile:` in its `data_description.md` entry. Unset fields mean no cap.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    /// Profile at most about this many rows: whole row groups spread over the table are read
    /// until they hold this many (the first one cut to it when a single row group is larger).
    pub sample_rows: Option<u64>,
    /// Stop starting new row groups of the table after this many seconds; the profile covers
    /// the row groups finished (at least one).
    pub time_budget_s: Option<f64>,
}

impl ProfileSettings {
    /// These settings with every field `over` sets replacing this one's.
    pub fn overridden_by(&self, over: &ProfileSettings) -> ProfileSettings {
        ProfileSettings {
            sample_rows: over.sample_rows.or(self.sample_rows),
            time_budget_s: over.time_budget_s.or(self.time_budget_s),
        }
    }
}

/// One table to profile.
#[derive(Debug, Clone)]
pub struct ProfileJob<'a> {
    /// The table's declaration (name, primary key).
    pub spec: &'a TableSpec,
    /// Its Parquet files.
    pub synced: &'a SyncedTable,
    /// Caps for this table.
    pub settings: ProfileSettings,
    /// The profile the last build published for this table; reused as it is when its
    /// `fingerprint` equals this build's (same files, same settings, same format version).
    /// `None` profiles afresh (`--reprofile`).
    pub previous: Option<&'a TableProfile>,
}

/// Profiles one table from its Parquet files (`synced.files[*].abs_path`), row group by row
/// group, or returns `job.previous` unchanged when its fingerprint matches.
///
/// Columns are in the Arrow schema order of the first file; every other file must have the
/// same columns (by name, any order) with the same Arrow types. A table without files gets an
/// empty profile typed from `synced.columns`. `spec.primary_key` marks key columns and drives
/// `duplicate_primary_keys` (a NULL key part equals another NULL, as in `SELECT DISTINCT`).
///
/// Errors (each naming the table, and the file and column where it applies): a file that
/// cannot be opened or decoded, files whose schemas differ, a primary-key column missing from
/// the data, a row count that disagrees with the file's metadata. Never panics on data.
pub fn profile_table(job: &ProfileJob) -> Result<TableProfile> {
    profile_inner(job).with_context(|| format!("profiling table {}", job.spec.name))
}

/// Profiles many tables in parallel with rayon; one result per job, in job order.
pub fn profile_all(jobs: &[ProfileJob]) -> Vec<Result<TableProfile>> {
    jobs.par_iter().map(profile_table).collect()
}

/// The tables joined to `table` by the foreign keys declared in `tables`, both directions:
/// first the keys `table` declares (`belongs_to`), then those pointing at it (`has_many`), each
/// in declaration order.
pub fn related_tables(table: &TableSpec, tables: &[TableSpec]) -> Vec<RelatedTable> {
    let mut out: Vec<RelatedTable> = table
        .foreign_keys
        .iter()
        .filter_map(|fk| {
            let (t, c) = fk.target()?;
            Some(RelatedTable {
                table: t.to_string(),
                column: fk.column.clone(),
                foreign_column: c.to_string(),
                direction: "belongs_to".into(),
                description: fk.description.clone(),
            })
        })
        .collect();
    for other in tables {
        for fk in &other.foreign_keys {
            if let Some((t, c)) = fk.target() {
                if t == table.name {
                    out.push(RelatedTable {
                        table: other.name.clone(),
                        column: c.to_string(),
                        foreign_column: fk.column.clone(),
                        direction: "has_many".into(),
                        description: fk.description.clone(),
                    });
                }
            }
        }
    }
    out
}

/// One Parquet file of the table, footer parsed.
struct FileInfo<'a> {
    data: &'a DataFile,
    meta: ArrowReaderMetadata,
    rows: u64,
    uncompressed: u64,
    /// For each column of the table (schema order of the first file), its index in this file.
    index: Vec<usize>,
}

/// One row group to read (the unit of parallel work).
#[derive(Debug, Clone, Copy)]
struct Unit {
    file: usize,
    row_group: usize,
    /// Index of the group's first row in the whole table.
    first_row: u64,
    /// Rows to read (the group's, or fewer under a `sample_rows` cap).
    rows: u64,
}

/// The merged state of consecutive units.
struct Partial {
    columns: Vec<ColumnAcc>,
    rows: u64,
}

fn profile_inner(job: &ProfileJob) -> Result<TableProfile> {
    let (spec, synced) = (job.spec, job.synced);
    let fingerprint = fingerprint(synced, &job.settings)?;
    if let Some(prev) = job.previous {
        if prev.fingerprint == fingerprint {
            return Ok(prev.clone());
        }
    }
    let started = Instant::now();
    let mut files = synced
        .files
        .iter()
        .map(open_file)
        .collect::<Result<Vec<_>>>()?;

    // The table's columns: the first file's schema, else the synced schema.
    let (names, kinds, types): (Vec<String>, Vec<Kind>, Vec<Option<DataType>>) = match files.first()
    {
        Some(first) => {
            let schema = first.meta.schema();
            (
                schema.fields().iter().map(|f| f.name().clone()).collect(),
                schema
                    .fields()
                    .iter()
                    .map(|f| Kind::of(f.data_type()))
                    .collect(),
                schema
                    .fields()
                    .iter()
                    .map(|f| Some(f.data_type().clone()))
                    .collect(),
            )
        }
        None => (
            synced.columns.iter().map(|c| c.name.clone()).collect(),
            synced
                .columns
                .iter()
                .map(|c| Kind::of_declared(c.column_type))
                .collect(),
            vec![None; synced.columns.len()],
        ),
    };
    let first_path = synced
        .files
        .first()
        .map(|f| f.abs_path.display().to_string())
        .unwrap_or_default();
    for f in &mut files {
        f.index = index_columns(f, &names, &types, &first_path)?;
    }

    let pk: Vec<usize> = spec
        .primary_key
        .iter()
        .map(|k| {
            names.iter().position(|n| n == k).ok_or_else(|| {
                anyhow!(
                    "primary key column {k} is not in the data (columns: {})",
                    names.join(", ")
                )
            })
        })
        .collect::<Result<_>>()?;
    let rows: u64 = files.iter().map(|f| f.rows).sum();

    // Units, and the cap on rows.
    let all_units = units(&files);
    let (units, mut sample_reason) = match job.settings.sample_rows {
        Some(cap) if cap < rows => (spread(&all_units, cap), Some(format!("sample_rows: {cap}"))),
        _ => (all_units, None),
    };
    let planned: u64 = units.iter().map(|u| u.rows).sum();
    let exact_q = planned <= EXACT_QUANTILE_ROWS;
    let threshold = sketch::sample_threshold(QUANTILE_SAMPLE_ROWS, planned);
    let ranges: Vec<Option<(f64, f64)>> = (0..names.len())
        .map(|j| stat_range(&files, j, &names[j], types[j].as_ref()))
        .collect();
    // Columns whose rows so far held more than EXACT_DISTINCT distinct values start later
    // units with the sketch alone.
    let mut sketch_only = vec![false; names.len()];
    let fresh = |sketch_only: &[bool]| -> Vec<ColumnAcc> {
        kinds
            .iter()
            .zip(&ranges)
            .zip(sketch_only)
            .map(|((&k, &r), &s)| ColumnAcc::new(k, exact_q, r, s))
            .collect()
    };

    // Units run a window at a time (all of a window in parallel) and are merged strictly in
    // row order, so float sums round the same way on every run: the same files give
    // byte-identical profiles. A window holds twice as many units as there are threads.
    let budget = job.settings.time_budget_s;
    let threads = rayon::current_num_threads().max(1);
    let mut merged: Option<Partial> = None;
    let mut done = 0usize;
    // The first window is one unit per thread, so a column with many distinct values is seen
    // early and later units count it with the sketch alone.
    let mut start = 0;
    while start < units.len() {
        let window = if start == 0 { threads } else { 2 * threads };
        let chunk = &units[start..(start + window).min(units.len())];
        start += chunk.len();
        if let Some(b) = budget {
            if done > 0 && started.elapsed().as_secs_f64() > b {
                sample_reason = Some(format!("time_budget_s: {b}"));
                break;
            }
        }
        let partials = chunk
            .par_iter()
            .map(|u| scan_unit(&files, u, &names, fresh(&sketch_only), exact_q, threshold))
            .collect::<Result<Vec<Partial>>>()?;
        for p in partials {
            done += 1;
            merged = Some(match merged {
                None => p,
                Some(mut a) => {
                    for (x, y) in a.columns.iter_mut().zip(p.columns) {
                        x.merge(y)?;
                    }
                    a.rows += p.rows;
                    a
                }
            });
        }
        if let Some(m) = &merged {
            for (flag, acc) in sketch_only.iter_mut().zip(&m.columns) {
                *flag = !acc.distinct_is_exact();
            }
        }
    }
    let (accs, profiled_rows) = match merged {
        Some(p) => (p.columns, p.rows),
        None => (fresh(&sketch_only), 0),
    };
    let sampled = profiled_rows < rows;

    let mut columns = Vec::with_capacity(names.len());
    let mut first_rows = Vec::with_capacity(names.len());
    let mut increasing = Vec::with_capacity(names.len());
    for (j, acc) in accs.into_iter().enumerate() {
        let result = acc.finish(&names[j], pk.contains(&j));
        column::check_rows(&names[j], result.rows, profiled_rows)?;
        let mut profile = result.profile;
        profile.alerts = alerts::column_alerts(&profile, profiled_rows);
        columns.push(profile);
        first_rows.push(result.first_rows);
        increasing.push(result.strictly_increasing);
    }

    // Duplicates: from the statistics where they tell, else by one more read.
    let duplicate_primary_keys = match pk.as_slice() {
        _ if sampled => None,
        [] => None,
        [only] => {
            let c = &columns[*only];
            if c.distinct_exact {
                let non_null = rows.saturating_sub(c.null_count);
                Some(non_null.saturating_sub(c.distinct_count) + c.null_count.saturating_sub(1))
            } else if increasing[*only] {
                Some(0)
            } else {
                Some(duplicate_tuples(&files, &pk, &names)?)
            }
        }
        _ => Some(duplicate_tuples(&files, &pk, &names)?),
    };
    let duplicate_rows = match duplicate_primary_keys {
        _ if sampled || names.is_empty() => None,
        Some(0) => Some(0),
        _ => {
            let all: Vec<usize> = (0..names.len()).collect();
            Some(duplicate_tuples(&files, &all, &names)?)
        }
    };

    let missing_cells: u64 = columns.iter().map(|c| c.null_count).sum();
    let cells = profiled_rows.saturating_mul(columns.len() as u64);
    let sample_count = if columns.is_empty() {
        0
    } else {
        (profiled_rows.min(SAMPLE_SIZE as u64)) as usize
    };
    let sample_rows = (0..sample_count)
        .map(|i| {
            first_rows
                .iter()
                .map(|c| c.get(i).cloned().flatten())
                .collect()
        })
        .collect();
    let date_range = columns.iter().find_map(|c| {
        let t = c.temporal.as_ref()?;
        Some(DateRange {
            column: c.name.clone(),
            earliest: t.earliest.clone()?,
            latest: t.latest.clone()?,
            span_days: t.span_days?,
        })
    });

    Ok(TableProfile {
        table: spec.name.clone(),
        row_count: rows,
        column_count: columns.len(),
        file_bytes: synced.files.iter().map(|f| f.bytes).sum(),
        uncompressed_bytes: files.iter().map(|f| f.uncompressed).sum(),
        completeness_pct: column::pct(cells.saturating_sub(missing_cells), cells),
        missing_cells,
        duplicate_primary_keys,
        duplicate_rows,
        date_range,
        sample_rows,
        alerts: columns.iter().flat_map(|c| c.alerts.clone()).collect(),
        related_tables: Vec::new(),
        used_by_metrics: Vec::new(),
        sampled,
        profiled_rows,
        sample_reason: if sampled { sample_reason } else { None },
        fingerprint,
        columns,
    })
}

/// Hex SHA-256 over the profile format version, the settings, and each file's path, length and
/// content SHA-256, in order.
fn fingerprint(synced: &SyncedTable, settings: &ProfileSettings) -> Result<String> {
    let mut h = Sha256::new();
    h.update(format!("profiles v{PROFILES_VERSION}\n").as_bytes());
    h.update(serde_json::to_vec(settings).unwrap_or_default());
    for f in &synced.files {
        let digest = crate::publish::sha256_file(&f.abs_path)?;
        h.update(format!("\n{} {} {digest}", f.path, f.bytes).as_bytes());
    }
    Ok(format!("{:x}", h.finalize()))
}

/// Every row group of every file, in order.
fn units(files: &[FileInfo]) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut first_row = 0u64;
    for (fi, f) in files.iter().enumerate() {
        for (gi, g) in f.meta.metadata().row_groups().iter().enumerate() {
            let rows = u64::try_from(g.num_rows()).unwrap_or(0);
            out.push(Unit {
                file: fi,
                row_group: gi,
                first_row,
                rows,
            });
            first_row += rows;
        }
    }
    out
}

/// Whole row groups spread evenly over the table until they hold `cap` rows (the last one cut
/// to fit), in table order.
fn spread(all: &[Unit], cap: u64) -> Vec<Unit> {
    let total: u64 = all.iter().map(|u| u.rows).sum();
    if total <= cap || all.is_empty() {
        return all.to_vec();
    }
    // Take every k-th group, k chosen so the picks hold about `cap` rows.
    let avg = (total / all.len() as u64).max(1);
    let want = cap.div_ceil(avg).clamp(1, all.len() as u64) as usize;
    let mut picked: Vec<Unit> = (0..want).map(|i| all[i * all.len() / want]).collect();
    let mut left = cap;
    for u in &mut picked {
        u.rows = u.rows.min(left);
        left -= u.rows;
    }
    picked.retain(|u| u.rows > 0);
    picked
}

/// The min and max of column `j` over every row group's Parquet statistics, for int and float
/// columns stored as signed INT32/INT64 or FLOAT/DOUBLE; `None` when any group lacks them.
fn stat_range(
    files: &[FileInfo],
    j: usize,
    name: &str,
    dt: Option<&DataType>,
) -> Option<(f64, f64)> {
    if !matches!(
        dt?,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
    ) {
        return None;
    }
    let mut range: Option<(f64, f64)> = None;
    for f in files {
        let _ = f.index.get(j)?;
        for g in f.meta.metadata().row_groups() {
            let c = g
                .columns()
                .iter()
                .find(|c| c.column_descr().path().string() == name)?;
            if g.num_rows() == 0 {
                continue;
            }
            let (lo, hi) = match c.statistics()? {
                Statistics::Int32(s) => (f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)),
                Statistics::Int64(s) => (*s.min_opt()? as f64, *s.max_opt()? as f64),
                Statistics::Float(s) => (f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)),
                Statistics::Double(s) => (*s.min_opt()?, *s.max_opt()?),
                _ => return None,
            };
            range = Some(match range {
                None => (lo, hi),
                Some((a, b)) => (a.min(lo), b.max(hi)),
            });
        }
    }
    range
}

/// Reads one unit's rows of every column into fresh accumulators.
fn scan_unit(
    files: &[FileInfo],
    u: &Unit,
    names: &[String],
    mut columns: Vec<ColumnAcc>,
    exact_q: bool,
    threshold: u64,
) -> Result<Partial> {
    let f = files
        .get(u.file)
        .ok_or_else(|| anyhow!("internal: no file {}", u.file))?;
    let context = || format!("row group {} of {}", u.row_group, f.data.abs_path.display());
    let path = &f.data.abs_path;
    // Columns the footer's statistics say are NULL in every row of the group are not decoded.
    let group = f
        .meta
        .metadata()
        .row_groups()
        .get(u.row_group)
        .ok_or_else(|| anyhow!("internal: no row group {}", u.row_group))?;
    let group_rows = u64::try_from(group.num_rows()).unwrap_or(0);
    let all_null: Vec<bool> = names
        .iter()
        .map(|name| {
            group_rows > 0
                && group
                    .columns()
                    .iter()
                    .find(|c| c.column_descr().path().string() == *name)
                    .and_then(|c| c.statistics())
                    .and_then(|s| s.null_count_opt())
                    == Some(group_rows)
        })
        .collect();
    let read: Vec<usize> = f
        .index
        .iter()
        .zip(&all_null)
        .filter(|(_, &skip)| !skip)
        .map(|(&i, _)| i)
        .collect();
    if read.is_empty() {
        for acc in &mut columns {
            acc.feed_nulls(u.rows);
        }
        return Ok(Partial {
            columns,
            rows: u.rows,
        });
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mask = ProjectionMask::roots(f.meta.parquet_schema(), read);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, f.meta.clone())
        .with_row_groups(vec![u.row_group])
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .with_limit(usize::try_from(u.rows).unwrap_or(usize::MAX))
        .build()
        .with_context(context)?;
    let mut rows = 0u64;
    let mut picked: Vec<u32> = Vec::new();
    for batch in reader {
        let batch = batch.with_context(context)?;
        let n = batch.num_rows();
        let keep = if exact_q {
            Batch::All
        } else {
            picked.clear();
            let base = u.first_row + rows;
            picked.extend(
                (0..n as u32).filter(|&i| sketch::sampled_row(base + u64::from(i), threshold)),
            );
            Batch::Rows(&picked)
        };
        for (j, acc) in columns.iter_mut().enumerate() {
            if all_null[j] {
                acc.feed_nulls(n as u64);
                continue;
            }
            let array = batch
                .column_by_name(&names[j])
                .ok_or_else(|| anyhow!("column {} missing from the batch", names[j]))
                .with_context(context)?;
            acc.feed(array, keep)
                .with_context(|| format!("column {} of {}", names[j], path.display()))?;
        }
        rows += n as u64;
    }
    Ok(Partial { columns, rows })
}

/// Opens a file and parses its footer.
fn open_file(data: &DataFile) -> Result<FileInfo<'_>> {
    let path = &data.abs_path;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let meta = ArrowReaderMetadata::load(&file, Default::default())
        .with_context(|| format!("reading the Parquet footer of {}", path.display()))?;
    let pq = meta.metadata();
    let rows = u64::try_from(pq.file_metadata().num_rows()).unwrap_or(0);
    let uncompressed = pq
        .row_groups()
        .iter()
        .map(|rg| u64::try_from(rg.total_byte_size()).unwrap_or(0))
        .sum();
    let index = (0..meta.schema().fields().len()).collect();
    Ok(FileInfo {
        data,
        meta,
        rows,
        uncompressed,
        index,
    })
}

/// The index in `f` of each table column; errors when `f` lacks a column, has another one, or
/// stores one with a different Arrow type (`types[j]` is `None` when unknown).
fn index_columns(
    f: &FileInfo,
    names: &[String],
    types: &[Option<DataType>],
    first_path: &str,
) -> Result<Vec<usize>> {
    let schema = f.meta.schema();
    let path = f.data.abs_path.display();
    let mut index = Vec::with_capacity(names.len());
    for (name, dt) in names.iter().zip(types) {
        let i = schema
            .index_of(name)
            .map_err(|_| anyhow!("{path} has no column {name}, which {first_path} has"))?;
        let found = schema.field(i).data_type();
        if let Some(dt) = dt {
            if found != dt {
                bail!("{path}: column {name} is {found}, but {dt} in {first_path}");
            }
        }
        index.push(i);
    }
    if schema.fields().len() != names.len() {
        let extra: Vec<&str> = schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|n| !names.iter().any(|m| m == n))
            .collect();
        bail!(
            "{path} has columns that {first_path} lacks: {}",
            extra.join(", ")
        );
    }
    Ok(index)
}

/// A reader of the root columns `indices` of `f`, [`BATCH_ROWS`] rows a batch.
fn open_reader(f: &FileInfo, indices: &[usize]) -> Result<ParquetRecordBatchReader> {
    let path = &f.data.abs_path;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mask = ProjectionMask::roots(f.meta.parquet_schema(), indices.iter().copied());
    ParquetRecordBatchReaderBuilder::new_with_metadata(file, f.meta.clone())
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .with_context(|| format!("reading {}", path.display()))
}

/// Rows whose values in columns `cols` repeat an earlier row's (NULL equal to NULL, as in
/// `SELECT DISTINCT`): each row's tuple is encoded with Arrow's row format (equal values ⇔
/// equal bytes) and hashed with XXH3-128; the sorted hashes are counted. A false match needs a
/// 128-bit collision (probability below rows² / 2¹²⁹). Memory: 16 bytes per row.
fn duplicate_tuples(files: &[FileInfo], cols: &[usize], names: &[String]) -> Result<u64> {
    let Some(first) = files.first() else {
        return Ok(0);
    };
    let schema = first.meta.schema();
    let fields = cols
        .iter()
        .map(|&j| {
            let i = first.index.get(j).copied().unwrap_or(j);
            SortField::new(schema.field(i).data_type().clone())
        })
        .collect();
    let converter = RowConverter::new(fields).context("preparing row encodings")?;
    let mut hashes: Vec<u128> = Vec::new();
    for f in files {
        let indices: Vec<usize> = cols
            .iter()
            .filter_map(|&j| f.index.get(j).copied())
            .collect();
        let context = || format!("duplicate check of {}", f.data.abs_path.display());
        for batch in open_reader(f, &indices)? {
            let batch = batch.with_context(context)?;
            let arrays = cols
                .iter()
                .map(|&j| {
                    batch
                        .column_by_name(&names[j])
                        .cloned()
                        .ok_or_else(|| anyhow!("column {} missing from the batch", names[j]))
                })
                .collect::<Result<Vec<ArrayRef>>>()
                .with_context(context)?;
            let rows = converter.convert_columns(&arrays).with_context(context)?;
            hashes.extend(
                rows.iter()
                    .map(|r| twox_hash::XxHash3_128::oneshot(r.as_ref())),
            );
        }
    }
    hashes.par_sort_unstable();
    Ok(hashes.windows(2).filter(|w| w[0] == w[1]).count() as u64)
}
