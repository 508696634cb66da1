//! Sync stage: read each table from its data source as Arrow record batches with an explicit
//! schema and write typed Parquet (zstd, column statistics) into the staging tree.

pub mod csv_reader;
pub mod csv_source;
pub mod decode;
pub mod merge;
pub mod partition;
pub mod sliced_export;
pub mod sniff;
pub mod values;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use rayon::prelude::*;
use serde::Serialize;

use crate::content::{ColumnType, SyncStrategy, TableSpec};
use crate::state::Cursor;

/// Rows per Parquet row group (DuckDB's own row group size, so readers parallelise well).
pub const ROW_GROUP_ROWS: usize = 122_880;

/// A row group is closed early once its buffered data reaches this many bytes, so memory stays
/// bounded for wide tables.
pub const ROW_GROUP_BYTES: usize = 128 << 20;

/// The Arrow type of a column type: Int64, Float64, Boolean, Date32, Timestamp(µs) without a
/// zone for `timestamp` (wall clock), Timestamp(µs, "UTC") for `timestamptz` (instant), Utf8.
pub fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnType::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::String => DataType::Utf8,
    }
}

/// An open table: its schema and a stream of record batches of exactly that schema.
pub struct TableStream {
    /// Arrow schema of every batch.
    pub schema: SchemaRef,
    /// The schema with source names and type provenance.
    pub columns: Vec<SyncedColumn>,
    /// Where the rows come from, as the catalog shows it (`csv: orders.csv`; never a secret).
    pub source: String,
    /// Batches in source order; an `Err` ends the stream and fails the table.
    pub batches: Box<dyn Iterator<Item = anyhow::Result<RecordBatch>> + Send>,
}

/// A data source: reads a declared table as a typed stream.
pub trait Connector: Sync {
    /// Open `spec` for reading. Errors name the source file or request, line, column and value
    /// where known.
    fn read_table(&self, spec: &TableSpec) -> anyhow::Result<TableStream>;

    /// What [`Connector::read_table`] would read for `spec`, for `broker build --dry-run`
    /// (`csv: orders.csv (1.2 MB)`), without reading any data. Errors: the source cannot be
    /// found.
    fn describe(&self, spec: &TableSpec) -> anyhow::Result<String>;
}

/// One column of a synced table's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncedColumn {
    /// Column name in Parquet and in the DuckDB view (unique, never empty).
    pub name: String,
    /// The header text as found in the source (may differ from `name`: BOM, duplicates, blanks).
    pub source_name: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// `declared` when `columns:` gave the type, `inferred` when read from the data.
    pub type_source: &'static str,
    /// How the source's text was read when that is worth saying on the catalog (`decimal
    /// comma (1,5 read as 1.5)`, `day-first dates (dd.mm.yyyy)`), or why a column is text
    /// (`no values to infer a type from: read as text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A data file written for a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataFile {
    /// Path relative to the output root, with `/` separators (`data/sales/orders.parquet`).
    pub path: String,
    /// Absolute path of the file in the staging tree.
    #[serde(skip)]
    pub abs_path: PathBuf,
    /// Rows in the file.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
}

/// What the sync of one table produced.
#[derive(Debug, Clone, Serialize)]
pub struct SyncedTable {
    /// Table name.
    pub table: String,
    /// Schema as written.
    pub columns: Vec<SyncedColumn>,
    /// Parquet files (one for a plain table; several for a partitioned one).
    pub files: Vec<DataFile>,
    /// Total rows.
    pub rows: u64,
    /// Total bytes of the files.
    pub bytes: u64,
    /// Where the rows came from, as the catalog shows it (`csv: orders.csv`).
    pub source: String,
    /// Milliseconds spent (not serialised: pages and twins stay byte-identical between builds).
    #[serde(skip)]
    pub elapsed_ms: u64,
    /// What this build's sync did (not serialised, like `elapsed_ms`).
    #[serde(skip)]
    pub run: RunStats,
}

/// What one build's sync of a table did.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Rows taken from the source (after an incremental table's cursor filter).
    pub rows_read: u64,
    /// The table's cursor after this run (incremental tables with `incremental_column`).
    pub cursor: Option<Cursor>,
    /// Things the operator should know (a reset cursor, a changed layout, …).
    pub notes: Vec<String>,
    /// Partitions (or the single file) written from rows read in this run.
    pub partitions_written: usize,
    /// Previous partitions rewritten (rows moved out, schema changed).
    pub partitions_rewritten: usize,
    /// Previous partitions kept unchanged.
    pub partitions_kept: usize,
}

/// Write `stream` to `path` as Parquet (see [`ParquetSink`]). The file is written as
/// `<path>.tmp` and renamed only when complete: a failure leaves no file, not even a partial one.
///
/// Returns the rows written. Errors: a batch error from the stream, I/O errors.
pub fn write_parquet(stream: TableStream, path: &Path, table: &str) -> anyhow::Result<u64> {
    let mut sink = ParquetSink::create(path, stream.schema.clone(), table)?;
    for batch in stream.batches {
        match batch {
            Ok(b) => sink.write(&b)?,
            Err(e) => {
                sink.abandon();
                return Err(e);
            }
        }
    }
    sink.finish()
}

/// A Parquet file being written: zstd level 3, statistics per column chunk and page,
/// [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] bytes per row group, the table name in the
/// key-value metadata. Data goes to `<path>.tmp`; [`ParquetSink::finish`] fsyncs and renames it
/// to `path`; dropping the sink unfinished removes the temporary file.
pub struct ParquetSink {
    writer: Option<ArrowWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    rows: u64,
}

impl ParquetSink {
    /// Start writing `path` with `schema`. Errors: the temporary file cannot be created.
    pub fn create(path: &Path, schema: SchemaRef, table: &str) -> anyhow::Result<ParquetSink> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_created_by(format!("broker {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
                "broker.table".to_string(),
                table.to_string(),
            )]))
            .build();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
        }
        let file =
            File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        let writer = ArrowWriter::try_new(file, schema, Some(props))?;
        Ok(ParquetSink {
            writer: Some(writer),
            tmp,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Append a batch (of the sink's schema). Errors: encoding or I/O.
    pub fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        if let Some(w) = &mut self.writer {
            w.write(batch)
                .with_context(|| format!("{}: cannot write", self.tmp.display()))?;
            self.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    /// Bytes buffered for the row group in progress.
    pub fn buffered_bytes(&self) -> usize {
        self.writer.as_ref().map_or(0, |w| w.in_progress_size())
    }

    /// Close the row group in progress early (bounds memory when many files are open).
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(w) = &mut self.writer {
            w.flush()?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finish the file: footer, fsync, rename into place. Returns the rows written.
    pub fn finish(mut self) -> anyhow::Result<u64> {
        let Some(writer) = self.writer.take() else {
            return Ok(self.rows);
        };
        let file = writer.into_inner()?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("{}: cannot rename into place", self.path.display()))?;
        Ok(self.rows)
    }

    /// Stop and remove the temporary file.
    pub fn abandon(mut self) {
        self.writer = None;
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The same stream with its batches produced on their own thread, up to two batches ahead, so
/// reading the source (parsing CSV) and encoding Parquet run on two cores at once. The thread
/// ends when the stream ends, fails, or the returned stream is dropped.
pub fn prefetch(stream: TableStream) -> TableStream {
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    let inner = stream.batches;
    std::thread::spawn(move || {
        for batch in inner {
            let failed = batch.is_err();
            if tx.send(batch).is_err() || failed {
                break;
            }
        }
    });
    TableStream {
        batches: Box::new(rx.into_iter()),
        ..stream
    }
}

/// How one table is synced in this build.
pub struct TableRun<'a> {
    /// The table.
    pub spec: &'a TableSpec,
    /// The table as the previous build published it (files under that build's root); `None`
    /// on a first run and on a full refresh.
    pub previous: Option<SyncedTable>,
    /// The stored cursor of an incremental table; `None` on a first run and a full refresh.
    pub cursor: Option<Cursor>,
    /// The strategy and layout (see [`merge::Layout::describe`]) of the last successful run,
    /// from the state; a change makes the merge re-read the published rows into the new form.
    pub previous_strategy: Option<(SyncStrategy, String)>,
    /// Now, for `max_history_days`.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Sync one table through `connector` into the staging tree at `root`, by its strategy:
/// `full_refresh` writes `data/<folder>/<name>.parquet` from every row; `incremental` and
/// `partitioned` go through [`merge::write_table`].
///
/// Errors: as [`Connector::read_table`], [`write_parquet`] and [`merge::write_table`]; no file of
/// the table is left in staging after an error.
pub fn sync_table(
    connector: &dyn Connector,
    run: TableRun<'_>,
    root: &Path,
) -> anyhow::Result<SyncedTable> {
    let started = Instant::now();
    let spec = run.spec;
    let stream = prefetch(connector.read_table(spec)?);
    let source = stream.source.clone();
    if spec.sync_strategy == SyncStrategy::FullRefresh {
        let columns = stream.columns.clone();
        let rel = format!("data/{}/{}.parquet", spec.folder, spec.name);
        let abs = root.join(&rel);
        let rows = write_parquet(stream, &abs, &spec.name)?;
        let bytes = std::fs::metadata(&abs)?.len();
        return Ok(SyncedTable {
            table: spec.name.clone(),
            columns,
            files: vec![DataFile {
                path: rel,
                abs_path: abs,
                rows,
                bytes,
            }],
            rows,
            bytes,
            source,
            elapsed_ms: started.elapsed().as_millis() as u64,
            run: RunStats {
                rows_read: rows,
                ..RunStats::default()
            },
        });
    }
    // The cursor column's type as the merge will write it (a column with no values in this
    // run keeps the published type).
    let unified = merge::unify(
        run.previous.as_ref().map(|p| p.columns.as_slice()),
        &stream.columns,
    );
    let cursor_column = spec
        .incremental_column
        .as_deref()
        .and_then(|c| unified.iter().find(|x| x.name == c));
    let mut notes = Vec::new();
    let stored = match (run.cursor, cursor_column) {
        (Some(c), Some(col))
            if c.column == col.name && same_unit(c.column_type, col.column_type) =>
        {
            Some(c)
        }
        (Some(c), _) => {
            notes.push(format!(
                "the stored cursor is on `{}` ({}), which no longer fits incremental_column; every row is read again",
                c.column, c.column_type
            ));
            None
        }
        (None, _) => None,
    };
    let lower_bound = match (spec.sync_strategy, cursor_column) {
        (SyncStrategy::Incremental, Some(col)) => {
            let day = day_in_unit(col.column_type);
            match &stored {
                Some(c) => Some(
                    c.value
                        .saturating_sub(day * i64::from(spec.incremental_window_days)),
                ),
                None => spec.max_history_days.filter(|_| day > 1).map(|n| {
                    let now_days = run.now.timestamp().div_euclid(86_400);
                    (now_days - i64::from(n)) * day
                }),
            }
        }
        _ => None,
    };
    let cursor_type = cursor_column.map(|c| (c.name.clone(), c.column_type));
    let written = merge::write_table(
        stream,
        merge::Plan {
            spec,
            root,
            previous: run.previous,
            previous_strategy: run.previous_strategy,
            lower_bound,
        },
    )?;
    notes.extend(written.notes);
    // The cursor is the largest value seen, never the clock; a run that read no row keeps it.
    let cursor = match (cursor_type, written.cursor_max) {
        (Some((column, column_type)), Some(m)) => {
            let value = stored.as_ref().map_or(m, |c| c.value.max(m));
            Some(Cursor {
                text: cursor_text(column_type, value),
                column,
                column_type,
                value,
            })
        }
        _ => stored,
    };
    let rows = written.files.iter().map(|f| f.rows).sum();
    let bytes = written.files.iter().map(|f| f.bytes).sum();
    Ok(SyncedTable {
        table: spec.name.clone(),
        columns: written.columns,
        files: written.files,
        rows,
        bytes,
        source,
        elapsed_ms: started.elapsed().as_millis() as u64,
        run: RunStats {
            rows_read: written.rows_read,
            cursor,
            notes,
            partitions_written: written.partitions_written,
            partitions_rewritten: written.partitions_rewritten,
            partitions_kept: written.partitions_kept,
        },
    })
}

/// One day in the unit of a cursor of type `t`: 1 for dates, 86,400,000,000 µs for
/// timestamps, 0 for integers (`incremental_window_days` does not apply to them).
fn day_in_unit(t: ColumnType) -> i64 {
    match t {
        ColumnType::Date => 1,
        t if t.is_timestamp() => 86_400_000_000,
        _ => 0,
    }
}

fn same_unit(a: ColumnType, b: ColumnType) -> bool {
    a == b || (a.is_timestamp() && b.is_timestamp())
}

/// A cursor value as people read it: the integer, `YYYY-MM-DD`, or an ISO 8601 timestamp (with
/// `Z` for a `timestamptz`, without for a wall-clock `timestamp`).
pub fn cursor_text(t: ColumnType, value: i64) -> String {
    match t {
        ColumnType::Date => chrono::DateTime::from_timestamp(value.saturating_mul(86_400), 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| value.to_string()),
        ColumnType::Timestamptz => chrono::DateTime::from_timestamp_micros(value)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
            .unwrap_or_else(|| value.to_string()),
        ColumnType::Timestamp => chrono::DateTime::from_timestamp_micros(value)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
            .unwrap_or_else(|| value.to_string()),
        _ => value.to_string(),
    }
}

/// Sync the given tables in parallel (rayon); results in input order. One table's failure does
/// not stop the others. The scratch folder `<root>/.work` is removed afterwards.
pub fn sync_all(
    connector: &dyn Connector,
    runs: Vec<TableRun<'_>>,
    root: &Path,
) -> Vec<anyhow::Result<SyncedTable>> {
    let out = runs
        .into_par_iter()
        .map(|r| sync_table(connector, r, root))
        .collect();
    let _ = std::fs::remove_dir_all(root.join(".work"));
    out
}
