//! Sync stage: read each table from its data source as Arrow record batches with an explicit
//! schema and write typed Parquet (zstd, column statistics) into the staging tree.

mod csv_parallel;
pub mod csv_reader;
pub mod csv_source;
pub mod decode;
pub mod keboola;
pub mod merge;
pub mod partition;
pub mod sliced_export;
pub mod sniff;
pub mod values;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
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
/// zone for `timestamp` (wall clock), Timestamp(µs, "UTC") for `timestamptz` (instant), Utf8,
/// Decimal128(p, s) for `decimal(p,s)`.
pub fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnType::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::String => DataType::Utf8,
        ColumnType::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
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

    /// Open `spec` for an incremental run whose stored cursor is `cursor` (`None`: first run or
    /// full refresh). A source that can filter changed rows itself (Keboola's `changedSince`)
    /// reads only those; the default reads every row ([`Connector::read_table`]) and leaves
    /// the filtering to the merge.
    fn read_changed(
        &self,
        spec: &TableSpec,
        cursor: Option<&Cursor>,
    ) -> anyhow::Result<TableStream> {
        let _ = cursor;
        self.read_table(spec)
    }

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
    /// Row groups of previous files copied unchanged (raw bytes) into the files rewritten.
    pub row_groups_copied: usize,
    /// Row groups of previous files decoded and encoded again (they held a key read in this
    /// run, were small, or the schema changed).
    pub row_groups_rewritten: usize,
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

/// A Parquet file being written: zstd level 3, dictionary encoding for the columns with few
/// distinct values ([`plain_columns`] of the first batch; in a sink made by
/// [`ParquetSink::create_appendable`] whose first rows are a row group appended, that row
/// group's choice), statistics per column chunk and page,
/// [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] bytes per row group, the Arrow schema
/// (`ARROW:schema`) and the table name (`broker.table`) in the key-value metadata. Data goes to
/// `<path>.tmp`; [`ParquetSink::finish`] fsyncs and renames it to `path`; dropping the sink
/// unfinished removes the temporary file.
///
/// A sink made by [`ParquetSink::create_appendable`] also takes whole row groups of other
/// Parquet files as they are ([`ParquetSink::append_row_group`]: column chunks copied as raw
/// bytes, no decoding).
pub struct ParquetSink {
    writer: Option<Writer>,
    tmp: PathBuf,
    path: PathBuf,
    rows: u64,
}

enum Writer {
    /// Batches only, none written yet: the first batch decides which columns are dictionary
    /// encoded ([`plain_columns`]) and makes the Arrow writer.
    Pending(File, SchemaRef, String),
    /// Batches only: the Arrow writer (what [`write_parquet`] has always written).
    Batches(ArrowWriter<File>),
    /// Batches and raw row groups, nothing written yet: the first batch decides which columns
    /// are dictionary encoded ([`plain_columns`]), or the first row group appended does (its
    /// columns written without a dictionary stay so).
    PendingRowGroups(File, SchemaRef, String),
    /// Batches and raw row groups.
    RowGroups(RowGroupWriter),
}

/// Writes a file row group by row group: batches are encoded into an open row group, closed
/// at [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] estimated bytes; raw row groups of other
/// files go to the file at once, while the open row group stays open.
struct RowGroupWriter {
    file: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Column writers of the open row group; empty when none is open.
    open: Vec<ArrowColumnWriter>,
    open_rows: usize,
}

impl RowGroupWriter {
    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        if batch.schema().fields() != self.schema.fields() {
            anyhow::bail!(
                "batch schema {:?} is not the file's schema {:?}",
                batch.schema(),
                self.schema
            );
        }
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            if self.open.is_empty() {
                self.open = self
                    .factory
                    .create_column_writers(self.file.flushed_row_groups().len())?;
                self.open_rows = 0;
            }
            let take = rest.num_rows().min(ROW_GROUP_ROWS - self.open_rows);
            let part = rest.slice(0, take);
            rest = rest.slice(take, rest.num_rows() - take);
            let mut writers = self.open.iter_mut();
            for (field, column) in self.schema.fields().iter().zip(part.columns()) {
                for leaf in compute_leaves(field, column)? {
                    writers
                        .next()
                        .ok_or_else(|| anyhow::anyhow!("more leaf columns than column writers"))?
                        .write(&leaf)?;
                }
            }
            self.open_rows += take;
            if self.open_rows >= ROW_GROUP_ROWS || self.buffered_bytes() >= ROW_GROUP_BYTES {
                self.close_open()?;
            }
        }
        Ok(())
    }

    fn buffered_bytes(&self) -> usize {
        self.open
            .iter()
            .map(|w| w.get_estimated_total_bytes())
            .sum()
    }

    /// Write the open row group (if any) to the file.
    fn close_open(&mut self) -> anyhow::Result<()> {
        let writers = std::mem::take(&mut self.open);
        if writers.is_empty() {
            return Ok(());
        }
        self.open_rows = 0;
        let mut group = self.file.next_row_group()?;
        for w in writers {
            w.close()?.append_to_row_group(&mut group)?;
        }
        group.close()?;
        Ok(())
    }

    fn append(
        &mut self,
        source: &File,
        metadata: &ParquetMetaData,
        index: usize,
    ) -> anyhow::Result<u64> {
        let group = metadata
            .row_groups()
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("no row group {index}"))?;
        if group.schema_descr().root_schema() != self.file.schema_descr().root_schema() {
            anyhow::bail!("the row group's Parquet schema is not the file's");
        }
        let rows = u64::try_from(group.num_rows())
            .map_err(|_| anyhow::anyhow!("row group {index} claims {} rows", group.num_rows()))?;
        let page_index = metadata.page_index();
        let mut out = self.file.next_row_group()?;
        for (c, chunk) in group.columns().iter().enumerate() {
            let chunk = with_writer_statistics(chunk)?;
            let close = ColumnCloseResult {
                bytes_written: u64::try_from(chunk.compressed_size()).map_err(|_| {
                    anyhow::anyhow!("column chunk {c} of row group {index} claims a negative size")
                })?,
                rows_written: rows,
                metadata: chunk,
                bloom_filter: None,
                column_index: page_index.and_then(|p| p.column_index(index, c)).cloned(),
                offset_index: page_index.and_then(|p| p.offset_index(index, c)).cloned(),
            };
            out.append_column(&BigReads(source), close)?;
        }
        out.close()?;
        Ok(rows)
    }
}

/// A file whose chunks are read through a 1 MiB buffer: a raw row-group copy reads every
/// column chunk whole, and the `File` reader of the parquet crate buffers 8 KiB at a time.
struct BigReads<'a>(&'a File);

impl parquet::file::reader::Length for BigReads<'_> {
    fn len(&self) -> u64 {
        parquet::file::reader::Length::len(self.0)
    }
}

impl parquet::file::reader::ChunkReader for BigReads<'_> {
    type T = std::io::BufReader<File>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use std::io::{Seek, SeekFrom};
        let mut file = self.0.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        Ok(std::io::BufReader::with_capacity(1 << 20, file))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// `chunk` with its statistics as the writer writes them. Read back from a file, statistics
/// forget that the writer also filled the deprecated `min`/`max` fields for signed sort orders
/// (integers, dates, timestamps); without this a copied chunk would lose them and differ from
/// its source for readers that look at them (DuckDB's `parquet_metadata` shows them).
fn with_writer_statistics(chunk: &ColumnChunkMetaData) -> anyhow::Result<ColumnChunkMetaData> {
    use parquet::file::statistics::Statistics as S;
    let Some(stats) = chunk.statistics().filter(|s| !s.is_min_max_deprecated()) else {
        return Ok(chunk.clone());
    };
    let signed = chunk.column_descr().sort_order().is_signed();
    let stats = match stats.clone() {
        S::Boolean(v) => S::Boolean(v.with_backwards_compatible_min_max(signed)),
        S::Int32(v) => S::Int32(v.with_backwards_compatible_min_max(signed)),
        S::Int64(v) => S::Int64(v.with_backwards_compatible_min_max(signed)),
        S::Int96(v) => S::Int96(v.with_backwards_compatible_min_max(signed)),
        S::Float(v) => S::Float(v.with_backwards_compatible_min_max(signed)),
        S::Double(v) => S::Double(v.with_backwards_compatible_min_max(signed)),
        S::ByteArray(v) => S::ByteArray(v.with_backwards_compatible_min_max(signed)),
        S::FixedLenByteArray(v) => {
            S::FixedLenByteArray(v.with_backwards_compatible_min_max(signed))
        }
    };
    Ok(chunk.clone().into_builder().set_statistics(stats).build()?)
}

/// The writer properties of every file broker writes (see [`ParquetSink`]); `plain` names the
/// columns written without a dictionary (every other column has one).
fn writer_properties(table: &str, plain: &[ColumnPath]) -> anyhow::Result<WriterProperties> {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_created_by(format!("broker {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            "broker.table".to_string(),
            table.to_string(),
        )]));
    for column in plain {
        builder = builder.set_column_dictionary_enabled(column.clone(), false);
    }
    Ok(builder.build())
}

/// Values of a column's first batch looked at to choose its encoding.
const DICTIONARY_SAMPLE_ROWS: usize = 65_536;

/// The top-level columns of `batch` not worth a dictionary: more than one distinct value in
/// ten among the non-null values of the first [`DICTIONARY_SAMPLE_ROWS`] rows (identifiers,
/// amounts, instants). A dictionary there costs a hash lookup per value and makes the file
/// bigger: the Parquet writer keeps dictionary encoding until the dictionary page passes
/// 1 MiB, which a row group of distinct int64 values never does. Columns of types other than
/// integers, floats, dates, timestamps and strings keep the dictionary. Deterministic: the same
/// batch gives the same answer.
fn plain_columns(batch: &RecordBatch) -> Vec<ColumnPath> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
    use std::collections::HashSet;
    fn many<T: std::hash::Hash + Eq>(values: impl Iterator<Item = Option<T>>) -> bool {
        let mut seen = HashSet::new();
        let mut present = 0usize;
        for v in values.take(DICTIONARY_SAMPLE_ROWS).flatten() {
            present += 1;
            seen.insert(v);
        }
        present > 0 && seen.len() * 10 > present
    }
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(_, c)| match c.data_type() {
            DataType::Int64 => many(c.as_primitive::<Int64Type>().iter()),
            DataType::Float64 => many(
                c.as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| v.map(f64::to_bits)),
            ),
            DataType::Date32 => many(c.as_primitive::<Date32Type>().iter()),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                many(c.as_primitive::<TimestampMicrosecondType>().iter())
            }
            DataType::Utf8 => many(c.as_string::<i32>().iter()),
            _ => false,
        })
        .map(|(f, _)| ColumnPath::from(f.name().as_str()))
        .collect()
}

impl ParquetSink {
    /// Start writing `path` with `schema`. Errors: the temporary file cannot be created.
    pub fn create(path: &Path, schema: SchemaRef, table: &str) -> anyhow::Result<ParquetSink> {
        let (file, tmp) = Self::create_tmp(path)?;
        Ok(ParquetSink {
            writer: Some(Writer::Pending(file, schema, table.to_string())),
            tmp,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Start writing `path` with `schema`, as [`ParquetSink::create`], in a sink that also takes
    /// row groups of other files ([`ParquetSink::append_row_group`]). Batches go to one open
    /// row group, closed when full; row groups appended meanwhile are written before it, so rows
    /// written before an append may come after the appended rows in the file. Errors: the
    /// temporary file cannot be created.
    pub fn create_appendable(
        path: &Path,
        schema: SchemaRef,
        table: &str,
    ) -> anyhow::Result<ParquetSink> {
        let (file, tmp) = Self::create_tmp(path)?;
        Ok(ParquetSink {
            writer: Some(Writer::PendingRowGroups(file, schema, table.to_string())),
            tmp,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Make the writer of a pending sink, with `plain` the columns written without a
    /// dictionary. A sink that is not pending is left as it is.
    fn start(&mut self, plain: &[ColumnPath]) -> anyhow::Result<()> {
        match self.writer.take() {
            Some(Writer::Pending(file, schema, table)) => {
                let props = writer_properties(&table, plain)?;
                self.writer = Some(Writer::Batches(ArrowWriter::try_new(
                    file,
                    schema,
                    Some(props),
                )?));
            }
            Some(Writer::PendingRowGroups(file, schema, table)) => {
                // The Arrow writer derives the Parquet schema and stores the Arrow schema in
                // the key-value metadata, exactly as for `create`; nothing is buffered yet.
                let props = writer_properties(&table, plain)?;
                let (file, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props))?
                    .into_serialized_writer()?;
                self.writer = Some(Writer::RowGroups(RowGroupWriter {
                    file,
                    factory,
                    schema,
                    open: Vec::new(),
                    open_rows: 0,
                }));
            }
            other => self.writer = other,
        }
        Ok(())
    }

    fn create_tmp(path: &Path) -> anyhow::Result<(File, PathBuf)> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: cannot create", parent.display()))?;
        }
        let file =
            File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        Ok((file, tmp))
    }

    /// Append a batch (of the sink's schema). Errors: encoding or I/O.
    pub fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        if let Some(Writer::Pending(..) | Writer::PendingRowGroups(..)) = self.writer {
            self.start(&plain_columns(batch))?;
        }
        match &mut self.writer {
            Some(Writer::Batches(w)) => w.write(batch).map_err(anyhow::Error::from),
            Some(Writer::RowGroups(w)) => w.write(batch),
            Some(Writer::Pending(..) | Writer::PendingRowGroups(..)) | None => return Ok(()),
        }
        .with_context(|| format!("{}: cannot write", self.tmp.display()))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Whether row groups of a file with Arrow schema `schema` and metadata `metadata` can be
    /// appended as they are: the sink was made by [`ParquetSink::create_appendable`], the Arrow
    /// fields are the sink's and the Parquet schema is the one the sink writes.
    pub fn accepts_row_groups(&self, schema: &Schema, metadata: &ParquetMetaData) -> bool {
        match &self.writer {
            Some(Writer::RowGroups(w)) => {
                schema.fields() == w.schema.fields()
                    && metadata.file_metadata().schema_descr().root_schema()
                        == w.file.schema_descr().root_schema()
            }
            Some(Writer::PendingRowGroups(_, own, _)) => {
                // The Parquet schema the Arrow writer will derive (no type coercion).
                schema.fields() == own.fields()
                    && parquet::arrow::ArrowSchemaConverter::new()
                        .convert(own)
                        .is_ok_and(|p| {
                            metadata.file_metadata().schema_descr().root_schema() == p.root_schema()
                        })
            }
            _ => false,
        }
    }

    /// Append row group `index` of the Parquet file `source`, whose footer is `metadata`, as it
    /// is: its column chunks are copied byte for byte with their statistics, with their column
    /// and offset indexes when `metadata` holds the page index (else the row group has none),
    /// and with their page encoding statistics when `metadata` holds them in full (read with
    /// `with_encoding_stats_as_mask(false)`). The open row group of batches stays open. Returns
    /// the rows appended.
    ///
    /// Errors: the sink was made by [`ParquetSink::create`], `index` is out of range, the row
    /// group's schema is not the sink's (see [`ParquetSink::accepts_row_groups`]), I/O.
    pub fn append_row_group(
        &mut self,
        source: &File,
        metadata: &ParquetMetaData,
        index: usize,
    ) -> anyhow::Result<u64> {
        if let Some(Writer::PendingRowGroups(..)) = self.writer {
            let plain: Vec<ColumnPath> = metadata
                .row_groups()
                .get(index)
                .map(|g| {
                    g.columns()
                        .iter()
                        .filter(|c| c.dictionary_page_offset().is_none())
                        .map(|c| c.column_path().clone())
                        .collect()
                })
                .unwrap_or_default();
            self.start(&plain)?;
        }
        let Some(Writer::RowGroups(w)) = &mut self.writer else {
            anyhow::bail!(
                "{}: internal: this sink takes no row groups",
                self.tmp.display()
            );
        };
        let rows = w
            .append(source, metadata, index)
            .with_context(|| format!("{}: cannot copy a row group", self.tmp.display()))?;
        self.rows += rows;
        Ok(rows)
    }

    /// Bytes buffered for the row group in progress.
    pub fn buffered_bytes(&self) -> usize {
        match &self.writer {
            Some(Writer::Batches(w)) => w.in_progress_size(),
            Some(Writer::RowGroups(w)) => w.buffered_bytes(),
            Some(Writer::Pending(..) | Writer::PendingRowGroups(..)) | None => 0,
        }
    }

    /// Close the row group in progress early (bounds memory when many files are open).
    pub fn flush(&mut self) -> anyhow::Result<()> {
        match &mut self.writer {
            Some(Writer::Batches(w)) => w.flush()?,
            Some(Writer::RowGroups(w)) => w.close_open()?,
            Some(Writer::Pending(..) | Writer::PendingRowGroups(..)) | None => {}
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finish the file: footer, fsync, rename into place. Returns the rows written.
    pub fn finish(mut self) -> anyhow::Result<u64> {
        let file = match self.writer.take() {
            None => return Ok(self.rows),
            Some(
                Writer::Pending(file, schema, table)
                | Writer::PendingRowGroups(file, schema, table),
            ) => ArrowWriter::try_new(file, schema, Some(writer_properties(&table, &[])?))?
                .into_inner()?,
            Some(Writer::Batches(w)) => w.into_inner()?,
            Some(Writer::RowGroups(mut w)) => {
                w.close_open()?;
                w.file.into_inner()?
            }
        };
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
#[derive(Clone)]
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
    match sync_table_once(connector, run.clone(), root, started) {
        Err(e) if e.chain().any(|c| c.is::<ReadAgain>()) => {
            sync_table_once(connector, run, root, started)
        }
        other => other,
    }
}

/// The end of a table's stream when the types it was read with, decided from a sample, turn
/// out not to be the types of every value: nothing read is kept, and the table is read again
/// ([`sync_table`] does), by then with the types of every value.
#[derive(Debug)]
pub struct ReadAgain;

impl std::fmt::Display for ReadAgain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the column types read from a sample of the source do not hold for every row; the table must be read again")
    }
}

impl std::error::Error for ReadAgain {}

/// One read of the table for [`sync_table`].
/// A note per column published under another name than its header's: an empty header
/// (`column_4`), or one another column already has, ignoring case as DuckDB does (`email_2`).
fn renamed_columns(columns: &[SyncedColumn]) -> Vec<String> {
    columns
        .iter()
        .filter(|c| c.name != c.source_name.trim_start_matches('\u{feff}'))
        .map(|c| {
            let why = if c.source_name.trim().is_empty() {
                "its header is empty"
            } else {
                "another column has the same name, ignoring case (as DuckDB compares names)"
            };
            format!(
                "column `{}` is published as `{}`: {why}",
                c.source_name, c.name
            )
        })
        .collect()
}

fn sync_table_once(
    connector: &dyn Connector,
    run: TableRun<'_>,
    root: &Path,
    started: Instant,
) -> anyhow::Result<SyncedTable> {
    let spec = run.spec;
    let stream = match spec.sync_strategy {
        SyncStrategy::Incremental => connector.read_changed(spec, run.cursor.as_ref())?,
        _ => connector.read_table(spec)?,
    };
    let stream = prefetch(stream);
    let source = stream.source.clone();
    let renamed = renamed_columns(&stream.columns);
    if spec.sync_strategy == SyncStrategy::FullRefresh {
        let columns = stream.columns.clone();
        let rel = format!("{}.parquet", spec.data_stem());
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
                notes: renamed,
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
    let mut notes = renamed;
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
            row_groups_copied: written.row_groups_copied,
            row_groups_rewritten: written.row_groups_rewritten,
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    use parquet::file::metadata::PageIndexPolicy;
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            arrow::datatypes::Field::new("id", DataType::Int64, true),
            arrow::datatypes::Field::new("name", DataType::Utf8, true),
            arrow::datatypes::Field::new("at", arrow_type(ColumnType::Timestamptz), true),
        ]))
    }

    fn batch(from: i64, n: i64) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + n));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (from..from + n).map(|i| format!("name {}", i % 1000)),
        ));
        let at: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from_iter_values((from..from + n).map(|i| i * 1_000_000))
                .with_timezone("UTC"),
        );
        RecordBatch::try_new(schema(), vec![ids, names, at]).unwrap()
    }

    fn load(path: &Path) -> (File, ArrowReaderMetadata) {
        let file = File::open(path).unwrap();
        let meta = ArrowReaderMetadata::load(
            &file,
            ArrowReaderOptions::new()
                .with_page_index_policy(PageIndexPolicy::Optional)
                .with_encoding_stats_as_mask(false),
        )
        .unwrap();
        (file, meta)
    }

    fn ids(path: &Path) -> Vec<i64> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for b in reader {
            let b = b.unwrap();
            assert_eq!(b.schema().fields(), schema().fields());
            let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            out.extend(c.values().iter().copied());
        }
        out
    }

    #[test]
    fn appended_row_groups_keep_their_bytes_statistics_and_page_index() {
        let dir = crate::testkit::tempdir().unwrap();
        let old = dir.path().join("old.parquet");
        let mut sink = ParquetSink::create(&old, schema(), "t").unwrap();
        sink.write(&batch(0, ROW_GROUP_ROWS as i64 * 2 + 10))
            .unwrap();
        sink.finish().unwrap();
        let (old_file, old_meta) = load(&old);
        assert_eq!(old_meta.metadata().num_row_groups(), 3);

        // Batches before, between and after two raw row groups.
        let new = dir.path().join("new.parquet");
        let mut sink = ParquetSink::create_appendable(&new, schema(), "t").unwrap();
        assert!(sink.accepts_row_groups(old_meta.schema(), old_meta.metadata()));
        sink.write(&batch(-5, 5)).unwrap();
        sink.append_row_group(&old_file, old_meta.metadata(), 1)
            .unwrap();
        sink.append_row_group(&old_file, old_meta.metadata(), 0)
            .unwrap();
        sink.write(&batch(1_000_000, 7)).unwrap();
        assert!(sink
            .append_row_group(&old_file, old_meta.metadata(), 3)
            .is_err());
        assert_eq!(sink.finish().unwrap(), 12 + 2 * ROW_GROUP_ROWS as u64);

        let (new_file, new_meta) = load(&new);
        let n = ROW_GROUP_ROWS as i64;
        let mut want: Vec<i64> = (n..2 * n).chain(0..n).collect();
        want.extend((-5..0).chain(1_000_000..1_000_007));
        assert_eq!(ids(&new), want, "raw groups first, then the open row group");
        let (om, nm) = (old_meta.metadata(), new_meta.metadata());
        assert_eq!(nm.num_row_groups(), 3);
        assert_eq!(
            nm.file_metadata().key_value_metadata(),
            om.file_metadata().key_value_metadata(),
            "ARROW:schema and broker.table"
        );
        let bytes = |f: &File, c: &parquet::file::metadata::ColumnChunkMetaData| {
            let (start, len) = c.byte_range();
            let mut buf = vec![0; len as usize];
            std::os::unix::fs::FileExt::read_exact_at(f, &mut buf, start).unwrap();
            buf
        };
        for (new_g, old_g) in [(0, 1), (1, 0)] {
            let (a, b) = (nm.row_group(new_g), om.row_group(old_g));
            assert_eq!(a.num_rows(), b.num_rows());
            for c in 0..3 {
                let (ca, cb) = (a.column(c), b.column(c));
                assert_eq!(ca.compressed_size(), cb.compressed_size());
                assert_eq!(ca.uncompressed_size(), cb.uncompressed_size());
                assert_eq!(ca.num_values(), cb.num_values());
                assert_eq!(ca.encodings_mask(), cb.encodings_mask());
                assert!(cb.page_encoding_stats().is_some());
                assert_eq!(ca.page_encoding_stats(), cb.page_encoding_stats());
                assert_eq!(
                    ca.unencoded_byte_array_data_bytes(),
                    cb.unencoded_byte_array_data_bytes()
                );
                assert_eq!(
                    ca.definition_level_histogram(),
                    cb.definition_level_histogram()
                );
                assert_eq!(ca.statistics(), cb.statistics());
                assert_eq!(bytes(&new_file, ca), bytes(&old_file, cb));
                let pi = (nm.page_index().unwrap(), om.page_index().unwrap());
                assert!(pi.0.column_index(new_g, c).is_some());
                assert_eq!(pi.0.column_index(new_g, c), pi.1.column_index(old_g, c));
                let (oa, ob) = (
                    pi.0.offset_index(new_g, c).unwrap(),
                    pi.1.offset_index(old_g, c).unwrap(),
                );
                assert_eq!(oa.page_locations.len(), ob.page_locations.len());
                for (x, y) in oa.page_locations.iter().zip(&ob.page_locations) {
                    assert_eq!(
                        x.offset - ca.byte_range().0 as i64,
                        y.offset - cb.byte_range().0 as i64
                    );
                }
            }
        }
        // The batches' row group has its page index too.
        assert!(nm.page_index().unwrap().column_index(2, 0).is_some());
    }

    #[test]
    fn a_sink_refuses_row_groups_of_another_schema_and_batch_sinks_take_none() {
        let dir = crate::testkit::tempdir().unwrap();
        let old = dir.path().join("old.parquet");
        let mut sink = ParquetSink::create(&old, schema(), "t").unwrap();
        sink.write(&batch(0, 10)).unwrap();
        sink.finish().unwrap();
        let (old_file, old_meta) = load(&old);

        let other = Arc::new(Schema::new(vec![arrow::datatypes::Field::new(
            "id",
            DataType::Int64,
            true,
        )]));
        let path = dir.path().join("other.parquet");
        let mut sink = ParquetSink::create_appendable(&path, other, "t").unwrap();
        assert!(!sink.accepts_row_groups(old_meta.schema(), old_meta.metadata()));
        assert!(sink
            .append_row_group(&old_file, old_meta.metadata(), 0)
            .is_err());
        drop(sink);
        assert!(
            !dir.path().join("other.parquet.tmp").exists(),
            "dropped unfinished"
        );

        let path = dir.path().join("batches.parquet");
        let mut sink = ParquetSink::create(&path, schema(), "t").unwrap();
        assert!(!sink.accepts_row_groups(old_meta.schema(), old_meta.metadata()));
        assert!(sink
            .append_row_group(&old_file, old_meta.metadata(), 0)
            .is_err());
        sink.abandon();
    }

    #[test]
    fn an_appendable_sink_writes_batches_in_full_row_groups() {
        let dir = crate::testkit::tempdir().unwrap();
        let path = dir.path().join("a.parquet");
        let mut sink = ParquetSink::create_appendable(&path, schema(), "t").unwrap();
        let n = ROW_GROUP_ROWS as i64;
        for i in 0..5 {
            sink.write(&batch(i * 60_000, 60_000)).unwrap();
        }
        sink.write(&batch(5 * 60_000, 0)).unwrap();
        assert_eq!(sink.finish().unwrap(), 300_000);
        let (_, meta) = load(&path);
        let sizes: Vec<i64> = meta
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(sizes, vec![n, n, 300_000 - 2 * n]);
        assert_eq!(ids(&path), (0..300_000).collect::<Vec<_>>());
    }

    #[test]
    fn only_columns_with_few_distinct_values_get_a_dictionary() {
        // 200,000 rows: unique ids, 5 statuses, codes with one value in five distinct.
        let n = 200_000i64;
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
        let status: ArrayRef =
            Arc::new(StringArray::from_iter_values((0..n).map(|i| {
                ["new", "paid", "shipped", "delivered", "cancelled"][i as usize % 5]
            })));
        let codes: ArrayRef = Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 40_000)));
        let schema = Arc::new(Schema::new(vec![
            arrow::datatypes::Field::new("id", DataType::Int64, true),
            arrow::datatypes::Field::new("status", DataType::Utf8, true),
            arrow::datatypes::Field::new("code", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(schema.clone(), vec![ids, status, codes]).unwrap();
        let plain: Vec<String> = plain_columns(&batch).iter().map(|c| c.string()).collect();
        assert_eq!(plain, ["id", "code"]);
        let dir = crate::testkit::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut sink = ParquetSink::create(&path, schema, "t").unwrap();
        sink.write(&batch).unwrap();
        assert_eq!(sink.finish().unwrap(), 200_000);
        let dictionaries = |path: &Path| -> Vec<Vec<bool>> {
            let file = File::open(path).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
            reader
                .metadata()
                .row_groups()
                .iter()
                .map(|g| {
                    g.columns()
                        .iter()
                        .map(|c| c.dictionary_page_offset().is_some())
                        .collect()
                })
                .collect()
        };
        // Two row groups: 122,880 and 77,120 rows.
        assert_eq!(dictionaries(&path), vec![[false, true, false]; 2]);
        // An appendable sink whose first rows are a row group copied keeps that row group's
        // choice for the batches written after it.
        let meta = ArrowReaderMetadata::load(
            &File::open(&path).unwrap(),
            ArrowReaderOptions::new().with_encoding_stats_as_mask(false),
        )
        .unwrap();
        let merged = dir.path().join("merged.parquet");
        let mut sink = ParquetSink::create_appendable(&merged, batch.schema(), "t").unwrap();
        assert!(sink.accepts_row_groups(meta.schema(), meta.metadata()));
        let source = File::open(&path).unwrap();
        sink.append_row_group(&source, meta.metadata(), 0).unwrap();
        sink.write(&batch).unwrap();
        assert_eq!(sink.finish().unwrap(), 122_880 + 200_000);
        assert_eq!(dictionaries(&merged), vec![[false, true, false]; 3]);
    }
}
