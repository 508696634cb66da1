//! Sync stage: read each table from its data source as Arrow record batches with an explicit
//! schema and write typed Parquet (zstd, column statistics) into the staging tree.

pub mod csv_reader;
pub mod csv_source;
pub mod decode;
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

use crate::content::{ColumnType, TableSpec};

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
}

/// Write `stream` to `path` as Parquet (zstd level 3, statistics per column chunk and page,
/// [`ROW_GROUP_ROWS`] rows per row group). The file is written as `<path>.tmp` and renamed only
/// when complete: a failure leaves no file, not even a partial one.
///
/// Returns the rows written. Errors: a batch error from the stream, I/O errors.
pub fn write_parquet(stream: TableStream, path: &Path, table: &str) -> anyhow::Result<u64> {
    let tmp = path.with_extension("parquet.tmp");
    let result = write_parquet_inner(stream, &tmp, table);
    match result {
        Ok(rows) => {
            std::fs::rename(&tmp, path)
                .with_context(|| format!("{}: cannot rename into place", path.display()))?;
            Ok(rows)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write_parquet_inner(stream: TableStream, tmp: &Path, table: &str) -> anyhow::Result<u64> {
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
    let file = File::create(tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    let mut writer = ArrowWriter::try_new(file, stream.schema.clone(), Some(props))?;
    let mut rows = 0u64;
    for batch in stream.batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    let file = writer.into_inner()?;
    file.sync_all()?;
    Ok(rows)
}

/// Sync one table through `connector` into `<root>/data/<folder>/<name>.parquet`.
/// Errors: as [`Connector::read_table`] and [`write_parquet`], prefixed with the table name.
pub fn sync_table(
    connector: &dyn Connector,
    spec: &TableSpec,
    root: &Path,
) -> anyhow::Result<SyncedTable> {
    let started = Instant::now();
    let stream = connector.read_table(spec)?;
    let columns = stream.columns.clone();
    let source = stream.source.clone();
    let rel = format!("data/{}/{}.parquet", spec.folder, spec.name);
    let abs = root.join(&rel);
    if let Some(parent) = abs.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create", parent.display()))?;
    }
    let rows = write_parquet(stream, &abs, &spec.name)?;
    let bytes = std::fs::metadata(&abs)?.len();
    Ok(SyncedTable {
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
    })
}

/// Sync every table in parallel (rayon); results in `tables` order. One table's failure does not
/// stop the others.
pub fn sync_all(
    connector: &dyn Connector,
    tables: &[TableSpec],
    root: &Path,
) -> Vec<anyhow::Result<SyncedTable>> {
    tables
        .par_iter()
        .map(|t| sync_table(connector, t, root))
        .collect()
}
