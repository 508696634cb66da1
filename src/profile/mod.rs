//! Profile stage: per-table, per-column statistics of the fresh Parquet files, computed in
//! parallel (rayon) in memory bounded by a row group.
//!
//! How a table is read: each file's footer is parsed once; then every column is scanned on its
//! own rayon task, which opens the files, projects that one column and reads it in batches of
//! [`BATCH_ROWS`] rows, in file and row order, feeding an exact per-column state (see
//! `column.rs`). A composite primary key gets one more task that reads the key columns together.
//! Tables run in parallel too ([`profile_all`]); column tasks never wait on other rayon work, so
//! at most one column state per worker thread is alive at a time.
//!
//! Memory: one batch per running column task, plus the exact state: 8 bytes per non-null value
//! of a numeric or temporal column, and the distinct values (≈ 32 bytes + the text each) of a
//! string column. Sketches for very large tables are a later step.

pub mod alerts;
mod column;
mod interner;
pub mod model;
mod render;
mod stats;
#[cfg(test)]
mod tests;

pub use model::*;

use std::fs::File;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use crate::content::TableSpec;
use crate::sync::{DataFile, SyncedTable};

use column::{ColumnAcc, Kind, SAMPLE_SIZE};
use interner::Interner;

/// Rows per Arrow batch read from Parquet.
pub const BATCH_ROWS: usize = 64 * 1024;

/// One Parquet file of the table, footer parsed.
struct FileInfo<'a> {
    data: &'a DataFile,
    meta: ArrowReaderMetadata,
    rows: u64,
    uncompressed: u64,
    /// For each column of the table (schema order of the first file), its index in this file.
    index: Vec<usize>,
}

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

/// Profiles one table from its Parquet files (`synced.files[*].abs_path`), batch by batch.
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
    profile_inner(job.spec, job.synced)
        .with_context(|| format!("profiling table {}", job.spec.name))
}

/// Profiles many tables in parallel with rayon; one result per job, in job order.
pub fn profile_all(jobs: &[ProfileJob]) -> Vec<Result<TableProfile>> {
    jobs.par_iter().map(profile_table).collect()
}

fn profile_inner(spec: &TableSpec, synced: &SyncedTable) -> Result<TableProfile> {
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

    let (scanned, composite_dups) = rayon::join(
        || {
            (0..names.len())
                .into_par_iter()
                .map(|j| {
                    let acc = scan_column(&files, j, &names[j], kinds[j], rows)?;
                    Ok(acc.finish(&names[j], pk.contains(&j)))
                })
                .collect::<Vec<Result<_>>>()
        },
        || (pk.len() > 1).then(|| duplicate_keys(&files, &pk, &names)),
    );

    let mut columns = Vec::with_capacity(names.len());
    let mut first_rows = Vec::with_capacity(names.len());
    for (j, result) in scanned.into_iter().enumerate() {
        let result: column::ColumnResult = result?;
        column::check_rows(&names[j], result.rows, rows)?;
        let mut profile = result.profile;
        profile.alerts = alerts::column_alerts(&profile, rows);
        columns.push(profile);
        first_rows.push(result.first_rows);
    }

    let duplicate_primary_keys = match (pk.as_slice(), composite_dups) {
        ([], _) => None,
        (_, Some(dups)) => Some(dups?),
        ([only], None) => columns.get(*only).map(|c| {
            let non_null = rows.saturating_sub(c.null_count);
            non_null.saturating_sub(c.distinct_count) + c.null_count.saturating_sub(1)
        }),
        _ => None,
    };

    let missing_cells: u64 = columns.iter().map(|c| c.null_count).sum();
    let cells = rows.saturating_mul(columns.len() as u64);
    let sample_count = if columns.is_empty() {
        0
    } else {
        (rows.min(SAMPLE_SIZE as u64)) as usize
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
        date_range,
        sample_rows,
        alerts: columns.iter().flat_map(|c| c.alerts.clone()).collect(),
        profiled_rows: rows,
        columns,
        ..Default::default()
    })
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

/// Reads column `j` of every file (`rows` rows in all) into one accumulator.
fn scan_column(
    files: &[FileInfo],
    j: usize,
    name: &str,
    kind: Kind,
    rows: u64,
) -> Result<ColumnAcc> {
    let mut acc = ColumnAcc::new(kind, rows);
    for f in files {
        let idx = *f
            .index
            .get(j)
            .ok_or_else(|| anyhow!("internal: no index for column {name}"))?;
        let context = || format!("column {name} of {}", f.data.abs_path.display());
        for batch in open_reader(f, &[idx])? {
            let batch = batch.with_context(context)?;
            let array = batch
                .columns()
                .first()
                .ok_or_else(|| anyhow!("internal: projection returned no column"))
                .with_context(context)?;
            acc.feed(array).with_context(context)?;
        }
    }
    Ok(acc)
}

/// Rows whose full key tuple (columns `pk`) repeats an earlier row's, exactly: each row's key
/// is encoded with Arrow's row format (equal values ⇔ equal bytes, NULL equal to NULL) and the
/// encodings are kept in an [`Interner`].
fn duplicate_keys(files: &[FileInfo], pk: &[usize], names: &[String]) -> Result<u64> {
    let Some(first) = files.first() else {
        return Ok(0);
    };
    let schema = first.meta.schema();
    let fields = pk
        .iter()
        .map(|&j| {
            let i = first.index.get(j).copied().unwrap_or(j);
            SortField::new(schema.field(i).data_type().clone())
        })
        .collect();
    let converter = RowConverter::new(fields).context("preparing primary-key rows")?;
    let mut seen = Interner::new();
    let mut total = 0u64;
    for f in files {
        let indices: Vec<usize> = pk.iter().filter_map(|&j| f.index.get(j).copied()).collect();
        let context = || format!("primary key of {}", f.data.abs_path.display());
        for batch in open_reader(f, &indices)? {
            let batch = batch.with_context(context)?;
            let cols = pk
                .iter()
                .map(|&j| {
                    batch
                        .column_by_name(&names[j])
                        .cloned()
                        .ok_or_else(|| anyhow!("column {} missing from the batch", names[j]))
                })
                .collect::<Result<Vec<ArrayRef>>>()
                .with_context(context)?;
            let rows = converter.convert_columns(&cols).with_context(context)?;
            for row in rows.iter() {
                seen.insert(row.as_ref()).with_context(context)?;
            }
            total += batch.num_rows() as u64;
        }
    }
    Ok(total.saturating_sub(seen.len() as u64))
}
