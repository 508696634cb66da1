//! The `csv` connector: one CSV file per table (optionally gzip, multi-member too: by a `.gz`
//! name or by its first bytes), or a Keboola sliced export (a folder with `manifest.json`, see
//! [`super::sliced_export`]). Every column's type and the form its values are written in are
//! decided from all of its values (see [`super::values`]), and the rows stream as typed Arrow
//! record batches: in two passes (types, then batches), or for a big plain file in one pass
//! whose sampled types are checked against every value (see the `csv_parallel` module). The
//! table's `csv:` options (delimiter, decimal separator, date format, encoding, NULL texts)
//! apply to every read.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use encoding_rs::Encoding;

use super::csv_parallel::{ExactPasses, ParallelBatches, Pass1, PlainFile, Speculation};
use super::csv_reader::{CsvReader, ReadError, Record};
use super::decode::{DecodeError, Decoding};
use super::sliced_export::{self, SlicedExport};
use super::sniff::{detect_delimiter, SAMPLE_BYTES};
use super::values::{
    date_format_of, decimal_comma_of, int_shape, parse_bool, parse_date_as, parse_decimal,
    parse_float, parse_timestamp, DateFormat, DecimalPolicy, IntShape, Reading, TypeGuess,
    ValueRules,
};
use super::{arrow_type, Connector, SyncedColumn, TableStream};
use crate::content::{ColumnType, TableSpec};

/// Rows per record batch.
pub const BATCH_ROWS: usize = 65_536;

/// Reads tables from CSV files in one folder.
pub struct CsvConnector {
    /// The folder holding the files.
    pub folder: PathBuf,
    /// Exact first passes done by one-pass reads that missed, for their read again.
    exact: ExactPasses,
}

/// Where a table's rows are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvInput {
    /// One file whose first record is the header.
    File(PathBuf),
    /// A Keboola sliced export: headerless slices read in order, names from `table.json`.
    Sliced {
        /// The export folder.
        folder: PathBuf,
        /// Its columns and slices.
        export: SlicedExport,
    },
}

impl CsvInput {
    /// The files read, in order.
    pub fn parts(&self) -> Vec<PathBuf> {
        match self {
            CsvInput::File(p) => vec![p.clone()],
            CsvInput::Sliced { export, .. } => export.slices.clone(),
        }
    }

    /// The file or folder named in messages and on the catalog.
    pub fn path(&self) -> &Path {
        match self {
            CsvInput::File(p) => p,
            CsvInput::Sliced { folder, .. } => folder,
        }
    }
}

impl CsvConnector {
    /// A connector reading the files in `folder`.
    pub fn new(folder: PathBuf) -> CsvConnector {
        CsvConnector {
            folder,
            exact: ExactPasses::default(),
        }
    }

    /// The file of `spec`: `file:` if given (a file, or a folder holding a sliced export), else
    /// `<name>.csv`, else `<name>.csv.gz`. Errors: nothing found (naming every path tried), or
    /// a folder without `manifest.json`.
    pub fn file_of(&self, spec: &TableSpec) -> anyhow::Result<PathBuf> {
        let candidates: Vec<PathBuf> = match &spec.file {
            Some(f) => vec![self.folder.join(f)],
            None => vec![
                self.folder.join(format!("{}.csv", spec.name)),
                self.folder.join(format!("{}.csv.gz", spec.name)),
            ],
        };
        for c in &candidates {
            if c.is_file() {
                return Ok(c.clone());
            }
            if spec.file.is_some() && c.is_dir() {
                if sliced_export::is_sliced_export(c) {
                    return Ok(c.clone());
                }
                bail!(
                    "table `{}`: {} is a folder without {} (only a Keboola sliced export can be a folder)",
                    spec.name,
                    c.display(),
                    sliced_export::MANIFEST
                );
            }
        }
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "table `{}`: no CSV file found (tried {})",
            spec.name,
            tried.join(", ")
        )
    }

    /// What to read for `spec`. Errors: as [`CsvConnector::file_of`] and
    /// [`sliced_export::read`].
    pub fn input_of(&self, spec: &TableSpec) -> anyhow::Result<CsvInput> {
        let path = self.file_of(spec)?;
        if path.is_dir() {
            let export = sliced_export::read(&path)?;
            Ok(CsvInput::Sliced {
                folder: path,
                export,
            })
        } else {
            Ok(CsvInput::File(path))
        }
    }
}

/// How a table's files are written: its `csv:` options, with the delimiter detected when not
/// configured.
pub(super) struct Dialect {
    delimiter: u8,
    detected: bool,
    /// `None`: UTF-8, read as it is and checked field by field.
    encoding: Option<&'static Encoding>,
    null_values: Vec<String>,
    pub(super) rules: ValueRules,
}

impl Dialect {
    fn resolve(spec: &TableSpec, input: &CsvInput) -> anyhow::Result<Dialect> {
        let o = &spec.csv;
        let encoding = match &o.encoding {
            None => None,
            Some(label) => match Encoding::for_label(label.as_bytes()) {
                Some(e) if e == encoding_rs::UTF_8 => None,
                Some(e) => Some(e),
                None => bail!("table `{}`: unknown encoding `{label}`", spec.name),
            },
        };
        let (delimiter, detected) = match (o.delimiter, input) {
            (Some(c), _) => (
                u8::try_from(c).map_err(|_| anyhow!("delimiter `{c}` is not ASCII"))?,
                false,
            ),
            // Keboola slices are always comma-separated.
            (None, CsvInput::Sliced { .. }) => (b',', false),
            (None, CsvInput::File(path)) => match sample(path, encoding) {
                Some((bytes, complete)) => match detect_delimiter(&bytes, complete) {
                    Some(d) => (d, true),
                    None => (b',', false),
                },
                None => (b',', false),
            },
        };
        let decimal = match o.decimal {
            Some(',') => DecimalPolicy::Comma,
            Some(_) => DecimalPolicy::Point,
            None if delimiter == b',' => DecimalPolicy::Point,
            None => DecimalPolicy::Detect,
        };
        Ok(Dialect {
            delimiter,
            detected,
            encoding,
            null_values: o.null_values.clone(),
            rules: ValueRules {
                decimal,
                date_format: o.date_format.clone(),
            },
        })
    }

    /// How the source reads, for the catalog: `detected delimiter ";"`, `encoding windows-1252`.
    fn describe(&self) -> Vec<String> {
        let mut how = Vec::new();
        if self.delimiter != b',' {
            let d = match self.delimiter {
                b'\t' => "tab".to_string(),
                d => format!("\"{}\"", char::from(d)),
            };
            let detected = if self.detected { "detected " } else { "" };
            how.push(format!("{detected}delimiter {d}"));
        }
        if let Some(e) = self.encoding {
            how.push(format!("encoding {}", e.name()));
        }
        how
    }
}

/// The first [`SAMPLE_BYTES`] of a file as read (decompressed, decoded), and whether that is
/// the whole file. `None` when it cannot be read: the real read then reports why.
fn sample(path: &Path, encoding: Option<&'static Encoding>) -> Option<(Vec<u8>, bool)> {
    let reader = open(path, encoding).ok()?;
    let mut bytes = Vec::with_capacity(SAMPLE_BYTES + 1);
    reader
        .take(SAMPLE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    let complete = bytes.len() <= SAMPLE_BYTES;
    bytes.truncate(SAMPLE_BYTES);
    Some((bytes, complete))
}

/// Open a file for reading: gunzipped when its name ends in `.gz` or it starts with the gzip
/// magic bytes, decoded to UTF-8 when an encoding is given (else read as it is).
fn open(
    path: &Path,
    encoding: Option<&'static Encoding>,
) -> anyhow::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut raw = BufReader::with_capacity(1 << 20, file);
    let gz = path.extension().and_then(|e| e.to_str()) == Some("gz")
        || raw
            .fill_buf()
            .with_context(|| format!("{}: cannot read", path.display()))?
            .starts_with(&[0x1F, 0x8B]);
    let plain: Box<dyn BufRead + Send> = if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    Ok(match encoding {
        Some(e) => Box::new(BufReader::with_capacity(1 << 20, Decoding::new(plain, e))),
        None => plain,
    })
}

/// Reads the records of a table's files in order and turns tokenizer failures and invalid
/// text into messages naming the file, line, column and byte.
pub(super) struct Records {
    parts: Vec<PathBuf>,
    next_part: usize,
    reader: Option<CsvReader<Box<dyn BufRead + Send>>>,
    /// The file being read, for messages.
    path: String,
    /// Column names; empty while the header is read.
    names: Vec<String>,
    dialect: Arc<Dialect>,
}

impl Records {
    fn new(parts: Vec<PathBuf>, dialect: Arc<Dialect>, names: Vec<String>) -> Records {
        Records {
            parts,
            next_part: 0,
            reader: None,
            path: String::new(),
            names,
            dialect,
        }
    }

    /// Records of `bytes`, a part of the file `path` that starts at a record boundary at
    /// `line`/`byte` of the file (see [`CsvReader::resume`]).
    pub(super) fn resumed(
        inner: Box<dyn BufRead + Send>,
        path: &str,
        (line, byte): (u64, u64),
        dialect: Arc<Dialect>,
        names: Vec<String>,
    ) -> Records {
        Records {
            parts: Vec::new(),
            next_part: 0,
            reader: Some(CsvReader::resume(inner, dialect.delimiter, line, byte)),
            path: path.to_string(),
            names,
            dialect,
        }
    }

    pub(super) fn next(&mut self, rec: &mut Record) -> anyhow::Result<bool> {
        loop {
            let Some(reader) = self.reader.as_mut() else {
                let Some(part) = self.parts.get(self.next_part) else {
                    return Ok(false);
                };
                self.path = part.display().to_string();
                self.reader = Some(CsvReader::new(
                    open(part, self.dialect.encoding)?,
                    self.dialect.delimiter,
                ));
                self.next_part += 1;
                continue;
            };
            match reader.read_record(rec) {
                Ok(false) => self.reader = None,
                Ok(true) => {
                    if rec.is_blank() && self.names.len() != 1 {
                        continue; // blank lines carry no record
                    }
                    if !self.names.is_empty() && rec.len() != self.names.len() {
                        bail!(
                            "{}:{}: row has {} fields, the header has {} (ragged row; byte offset {})",
                            self.path,
                            rec.line,
                            rec.len(),
                            self.names.len(),
                            rec.byte
                        );
                    }
                    return Ok(true);
                }
                Err(ReadError::Io(e)) => {
                    let line = reader.line();
                    if let Some(d) = e.get_ref().and_then(|x| x.downcast_ref::<DecodeError>()) {
                        bail!("{}:{}: {d}", self.path, d.line);
                    }
                    return Err(anyhow!(e).context(format!("{}:{line}: read error", self.path)));
                }
                Err(ReadError::TooLong(line, byte)) => bail!(
                    "{}:{line}: the record at byte offset {byte} is 4 GiB or longer",
                    self.path
                ),
                Err(ReadError::Unterminated(e)) => bail!(
                    "{}:{}: quoted field opened at byte offset {} is never closed",
                    self.path,
                    e.line,
                    e.byte
                ),
            }
        }
    }

    /// Where the next record starts: (line, byte offset); `None` before the first file is open.
    pub(super) fn position(&self) -> Option<(u64, u64)> {
        self.reader.as_ref().map(|r| (r.line(), r.byte()))
    }

    /// Field `i` as text. Errors: it is not UTF-8 (naming line, column, byte and offset, with a
    /// hint to configure the encoding).
    #[inline]
    fn text<'r>(&self, rec: &'r Record, i: usize) -> anyhow::Result<&'r str> {
        if let Some(s) = rec.field_text(i) {
            return Ok(s);
        }
        let bytes = rec.field(i);
        let at = std::str::from_utf8(bytes)
            .err()
            .map_or(0, |e| e.valid_up_to());
        let column = self.names.get(i).map(String::as_str).unwrap_or("(header)");
        bail!(
            "{}:{}: column `{}`: invalid UTF-8 byte 0x{:02X} at byte offset {}: the file is not UTF-8; declare its encoding on the table in data_description.md, e.g. `csv: {{encoding: windows-1252}}`",
            self.path,
            rec.line,
            column,
            bytes.get(at).copied().unwrap_or(0),
            rec.field_byte(i) + at as u64
        )
    }

    /// Field `i` as a value: `None` for NULL (unquoted and empty, or one of the table's
    /// `null_values`), `Some("")` for a quoted empty field. Errors: as [`Records::text`].
    #[inline]
    pub(super) fn value<'r>(&self, rec: &'r Record, i: usize) -> anyhow::Result<Option<&'r str>> {
        let raw = rec.field(i);
        if !rec.is_quoted(i)
            && (raw.is_empty() || self.dialect.null_values.iter().any(|t| t.as_bytes() == raw))
        {
            return Ok(None);
        }
        self.text(rec, i).map(Some)
    }
}

/// A table's columns as decided from its columns' guesses (or declarations).
struct TableShape {
    readings: Vec<Reading>,
    columns: Vec<SyncedColumn>,
    declared: Vec<bool>,
    schema: SchemaRef,
}

impl TableShape {
    /// Column `i` is `names[i]` (header text `headers[i]`), declared as `declared[i]` or else
    /// typed by `guesses[i]`.
    fn new(
        names: &[String],
        headers: &[String],
        declared: &[Option<ColumnType>],
        guesses: &[TypeGuess],
        dialect: &Dialect,
    ) -> TableShape {
        let rules = &dialect.rules;
        let mut readings = Vec::with_capacity(names.len());
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let (reading, note) = match declared[i] {
                Some(t) => {
                    let r = Reading::declared(t, rules);
                    (r, r.note(rules))
                }
                None => guesses[i].decide(rules),
            };
            readings.push(reading);
            columns.push(SyncedColumn {
                name: name.clone(),
                source_name: headers[i].clone(),
                column_type: reading.column_type,
                type_source: if declared[i].is_some() {
                    "declared"
                } else {
                    "inferred"
                },
                note,
            });
        }
        let schema: SchemaRef = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, arrow_type(c.column_type), true))
                .collect::<Vec<_>>(),
        ));
        TableShape {
            readings,
            columns,
            declared: declared.iter().map(Option::is_some).collect(),
            schema,
        }
    }

    /// Whether every column's written form is known before any value is read: batches can
    /// then be parsed in parallel. A declared float or date column learns its form from its
    /// first value, which must be the file's first.
    fn forms_known(&self) -> bool {
        self.readings
            .iter()
            .zip(&self.declared)
            .all(|(r, d)| !d || !matches!(r.column_type, ColumnType::Float64 | ColumnType::Date))
    }

    fn batch_shape(&self, dialect: &Arc<Dialect>, names: &[String]) -> BatchShape {
        BatchShape {
            dialect: dialect.clone(),
            names: names.to_vec(),
            readings: self.readings.clone(),
            declared: self.declared.clone(),
            schema: self.schema.clone(),
        }
    }
}

/// Unique, non-empty column names from header texts: an empty header becomes `column_<n>`
/// (n = 1-based position); a repeated name gets `_2`, `_3`, … skipping any name the header
/// already uses. Names are compared without regard to case, as DuckDB resolves them: `Email`
/// and `email` would be one column in SQL (DuckDB itself calls the second `email_1` in a view),
/// so the second is published as `email_2`, the name the catalog shows. Deterministic: depends
/// only on the header.
pub fn unique_names(headers: &[String]) -> Vec<String> {
    let taken: std::collections::HashSet<String> =
        headers.iter().map(|h| h.to_lowercase()).collect();
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let base = if h.trim().is_empty() {
            format!("column_{}", i + 1)
        } else {
            h.clone()
        };
        let mut name = base.clone();
        let mut k = 2;
        while used.contains(&name.to_lowercase())
            || (name != base && taken.contains(&name.to_lowercase()))
        {
            name = format!("{base}_{k}");
            k += 1;
        }
        used.insert(name.to_lowercase());
        out.push(name);
    }
    out
}

impl Connector for CsvConnector {
    fn describe(&self, spec: &TableSpec) -> anyhow::Result<String> {
        let path = self.file_of(spec)?;
        let bytes = std::fs::metadata(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?
            .len();
        let shown = path.strip_prefix(&self.folder).unwrap_or(&path);
        Ok(format!("csv: {} ({bytes} bytes)", shown.display()))
    }

    fn read_table(&self, spec: &TableSpec) -> anyhow::Result<TableStream> {
        let input = self.input_of(spec)?;
        let shown = input.path().display().to_string();
        let dialect = Arc::new(Dialect::resolve(spec, &input)?);
        let rules = &dialect.rules;
        let mut records = Records::new(input.parts(), dialect.clone(), Vec::new());
        let mut rec = Record::default();
        let (headers, header_place) = match &input {
            CsvInput::File(_) => {
                if !records.next(&mut rec)? {
                    bail!("{shown}: the file is empty (no header line)");
                }
                let headers = (0..rec.len())
                    .map(|i| records.text(&rec, i).map(str::to_string))
                    .collect::<anyhow::Result<Vec<String>>>()?;
                (headers, format!("{shown}:1: column"))
            }
            CsvInput::Sliced { folder, export } => (
                export.columns.clone(),
                format!(
                    "{}: column",
                    folder.join(sliced_export::TABLE_DETAIL).display()
                ),
            ),
        };
        let names = unique_names(&headers);
        for c in &spec.columns {
            if !names.contains(&c.name) {
                bail!(
                    "{header_place} `{}` declared in data_description.md (table `{}`, line {}) is not in the header ({})",
                    c.name,
                    spec.name,
                    spec.line,
                    names.join(", ")
                );
            }
        }
        records.names = names.clone();
        // The catalog names the file relative to the source folder: no server paths on pages.
        let rel = input
            .path()
            .strip_prefix(&self.folder)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| shown.clone());
        let mut how = Vec::new();
        if let CsvInput::Sliced { export, .. } = &input {
            how.push(format!(
                "Keboola sliced export, {} slice{}",
                export.slices.len(),
                if export.slices.len() == 1 { "" } else { "s" }
            ));
        }
        how.extend(dialect.describe());
        let source = if how.is_empty() {
            format!("csv: {rel}")
        } else {
            format!("csv: {rel} ({})", how.join(", "))
        };
        // Pass 1: types of undeclared columns from every value (skipped when all are declared).
        let declared: Vec<Option<ColumnType>> = names
            .iter()
            .map(|n| spec.column(n).and_then(|c| c.column_type))
            .collect();
        let observed: Vec<bool> = declared.iter().map(Option::is_none).collect();
        let shape_of =
            |guesses: &[TypeGuess]| TableShape::new(&names, &headers, &declared, guesses, &dialect);
        // A big plain file (no gzip, no decoding) is read in parallel parts. The first read of
        // such a file in a build is one pass with types from a sample; when they do not hold,
        // the read again finds the exact first pass that one did.
        let mut plain = match &input {
            CsvInput::File(p) if dialect.encoding.is_none() => PlainFile::open(p),
            _ => None,
        };
        let exact = plain.as_ref().and_then(|f| {
            let mut known = self.exact.lock().unwrap_or_else(|e| e.into_inner());
            match known.remove(&spec.name) {
                Some((len, modified, outcome)) if len == f.len && modified == f.modified => {
                    Some(outcome)
                }
                _ => None,
            }
        });
        let pass1 = Pass1 {
            dialect: dialect.clone(),
            names: names.clone(),
            observed: observed.clone(),
            fresh: TypeGuess::new(rules),
        };
        let first = records.position();
        let starts = match (&plain, first, &exact) {
            (Some(file), Some((_, byte)), None) if observed.contains(&true) => {
                file.part_starts(byte)
            }
            _ => None,
        };
        let mut parallel = exact.flatten();
        if let (Some(starts), Some((first_line, _)), Some(file)) = (starts, first, plain.take()) {
            let sampled = shape_of(&pass1.sample(&file, &starts));
            if sampled.forms_known() {
                let decided = (0..names.len())
                    .map(|i| {
                        observed[i].then(|| (sampled.readings[i], sampled.columns[i].note.clone()))
                    })
                    .collect();
                let shape = sampled.batch_shape(&dialect, &names);
                return Ok(TableStream {
                    schema: sampled.schema,
                    columns: sampled.columns,
                    source,
                    batches: batches(Speculation::new(
                        pass1,
                        file,
                        starts,
                        first_line,
                        shape,
                        decided,
                        &spec.name,
                        self.exact.clone(),
                    )),
                });
            }
            parallel = pass1.run(&file, &starts, first_line);
            plain = Some(file);
        }
        let mut guesses: Vec<TypeGuess> = vec![TypeGuess::new(rules); names.len()];
        let mut checkpoints: Vec<(u64, u64)> = Vec::new();
        if let Some((g, c)) = parallel {
            guesses = g;
            checkpoints = c;
        } else if observed.contains(&true) {
            let mut count = 0usize;
            while records.next(&mut rec)? {
                if plain.is_some() {
                    if count.is_multiple_of(BATCH_ROWS) {
                        checkpoints.push((rec.line, rec.byte));
                    }
                    count += 1;
                }
                for (i, guess) in guesses.iter_mut().enumerate() {
                    if !observed[i] || guess.is_text() {
                        continue;
                    }
                    if let Some(s) = records.value(&rec, i)? {
                        if !s.is_empty() {
                            guess.observe(s, rules);
                        }
                    }
                }
            }
        }
        let table = shape_of(&guesses);
        let schema = table.schema.clone();
        let columns = table.columns.clone();
        let forms_known = table.forms_known();
        let shape = table.batch_shape(&dialect, &names);
        // Pass 2: stream typed batches.
        let batches: Box<dyn Iterator<Item = anyhow::Result<RecordBatch>> + Send> = match plain {
            Some(file) if checkpoints.len() > 1 && forms_known => {
                batches(ParallelBatches::new(file, checkpoints, shape))
            }
            _ => {
                let mut records = Records::new(input.parts(), dialect.clone(), names.clone());
                if let CsvInput::File(_) = input {
                    records.next(&mut rec)?; // header
                }
                batches(CsvBatches::new(records, &shape))
            }
        };
        Ok(TableStream {
            schema,
            columns,
            source,
            batches,
        })
    }
}

/// Dialect, column names, readings and schema: what a batch's parse needs besides its bytes.
pub(super) struct BatchShape {
    pub(super) dialect: Arc<Dialect>,
    pub(super) names: Vec<String>,
    pub(super) readings: Vec<Reading>,
    pub(super) declared: Vec<bool>,
    pub(super) schema: SchemaRef,
}

/// A reader of record batches, one at a time.
pub(super) trait NextBatch: Send {
    /// The next batch; `Ok(None)` after the last.
    fn next_batch(&mut self) -> anyhow::Result<Option<RecordBatch>>;
}

/// The batches of `source` as a table stream's iterator: until `Ok(None)`, or up to and
/// including the first error.
fn batches(
    mut source: impl NextBatch + 'static,
) -> Box<dyn Iterator<Item = anyhow::Result<RecordBatch>> + Send> {
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let next = source.next_batch().transpose();
        done = !matches!(next, Some(Ok(_)));
        next
    }))
}

/// Typed batches of the records of a [`Records`], [`BATCH_ROWS`] rows each.
pub(super) struct CsvBatches {
    records: Records,
    readings: Vec<Reading>,
    declared: Vec<bool>,
    schema: SchemaRef,
    rec: Record,
}

/// The builders of one batch's columns, and the rows appended.
pub(super) struct BatchBuilder {
    builders: Vec<Builder>,
    readings: Vec<Reading>,
    pub(super) rows: usize,
}

impl BatchBuilder {
    pub(super) fn new(readings: &[Reading]) -> BatchBuilder {
        BatchBuilder {
            builders: readings.iter().map(|&r| Builder::new(r)).collect(),
            readings: readings.to_vec(),
            rows: 0,
        }
    }

    /// Append column `i`'s value of the current row (`None`: NULL; a quoted empty field is
    /// `""` for text, NULL for other types). `custom` is the table's `date_format`.
    pub(super) fn append(
        &mut self,
        i: usize,
        value: Option<&str>,
        custom: Option<&str>,
    ) -> Result<bool, Misfit> {
        let value = match value {
            Some("") if self.readings[i].column_type != ColumnType::String => None,
            v => v,
        };
        self.builders[i].append(value, custom)
    }

    /// Column `i`'s type.
    pub(super) fn column_type(&self, i: usize) -> ColumnType {
        self.readings[i].column_type
    }

    /// The batch of the rows appended; the builders start again empty (forms learned from
    /// values are learned again). Errors: the columns do not fit `schema`.
    pub(super) fn finish(&mut self, schema: &SchemaRef) -> anyhow::Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        *self = BatchBuilder::new(&self.readings);
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    }
}

impl CsvBatches {
    pub(super) fn new(records: Records, shape: &BatchShape) -> CsvBatches {
        CsvBatches {
            records,
            readings: shape.readings.clone(),
            declared: shape.declared.clone(),
            schema: shape.schema.clone(),
            rec: Record::default(),
        }
    }
}

/// A column's Arrow builder, with the written form of its values (`None`: not known yet, set
/// by the first value that tells it).
enum Builder {
    Int(Int64Builder),
    /// Floats; `Some(true)` for a decimal comma.
    Float(Float64Builder, Option<bool>),
    Bool(BooleanBuilder),
    Date(Date32Builder, Option<DateFormat>),
    /// Timestamps; `true` for instants (`timestamptz`), `false` for wall-clock times.
    Ts(TimestampMicrosecondBuilder, bool),
    Str(StringBuilder),
    /// Exact decimals of this precision and scale.
    Dec(Decimal128Builder, u8, i8),
}

/// Why a text does not fit its column.
pub(super) enum Misfit {
    /// Not a value of the type.
    NotOfType,
    /// Not a float in the column's form (`true`: decimal comma).
    NotFloat(bool),
    /// Not a date in the column's form (`None`: no value has told the form yet).
    NotDate(Option<DateFormat>),
    /// A timestamp with a zone in a wall-clock (`timestamp`) column.
    Zoned,
}

impl Builder {
    fn new(r: Reading) -> Builder {
        match r.column_type {
            ColumnType::Int64 => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Float64 => {
                Builder::Float(Float64Builder::with_capacity(BATCH_ROWS), r.decimal_comma)
            }
            ColumnType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS), r.dates),
            ColumnType::Timestamp => Builder::Ts(
                TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS),
                false,
            ),
            ColumnType::Timestamptz => Builder::Ts(
                TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
                true,
            ),
            ColumnType::String => {
                Builder::Str(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16))
            }
            ColumnType::Decimal { precision, scale } => Builder::Dec(
                Decimal128Builder::with_capacity(BATCH_ROWS)
                    .with_precision_and_scale(precision, scale)
                    .expect("ColumnType::parse keeps precision and scale valid"),
                precision,
                scale,
            ),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b, _) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Date(b, _) => Arc::new(b.finish()),
            Builder::Ts(b, _) => Arc::new(b.finish()),
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Dec(b, ..) => Arc::new(b.finish()),
        }
    }

    /// Append one field. `None` = NULL. `custom` is the table's `date_format`. Returns whether
    /// the value was read canonically (see [`TypeGuess::settles`]): an integer, a float with a
    /// decimal point shorter than 19 bytes, a `YYYY-MM-DD` date, a timestamp with a zone in an instant column or any in a wall-clock
    /// one; `false` for other types and NULL.
    fn append(&mut self, v: Option<&str>, custom: Option<&str>) -> Result<bool, Misfit> {
        let Some(s) = v else {
            match self {
                Builder::Int(b) => b.append_null(),
                Builder::Float(b, _) => b.append_null(),
                Builder::Bool(b) => b.append_null(),
                Builder::Date(b, _) => b.append_null(),
                Builder::Ts(b, _) => b.append_null(),
                Builder::Str(b) => b.append_null(),
                Builder::Dec(b, ..) => b.append_null(),
            }
            return Ok(false);
        };
        Ok(match self {
            Builder::Int(b) => match int_shape(s) {
                IntShape::Int(v) => {
                    b.append_value(v);
                    true
                }
                _ => return Err(Misfit::NotOfType),
            },
            Builder::Float(b, comma) => {
                if comma.is_none() {
                    *comma = decimal_comma_of(s);
                }
                let sep = if *comma == Some(true) { b',' } else { b'.' };
                let v = parse_float(s, sep).ok_or(Misfit::NotFloat(sep == b','))?;
                b.append_value(v);
                sep == b'.' && s.len() < 19
            }
            Builder::Bool(b) => {
                b.append_value(parse_bool(s).ok_or(Misfit::NotOfType)?);
                false
            }
            Builder::Date(b, format) => {
                if format.is_none() {
                    *format = date_format_of(s, custom);
                }
                let f = format.ok_or(Misfit::NotDate(None))?;
                let v = parse_date_as(s, f, custom).ok_or(Misfit::NotDate(Some(f)))?;
                b.append_value(v);
                f == DateFormat::Iso
            }
            Builder::Ts(b, instant) => {
                let t = parse_timestamp(s).ok_or(Misfit::NotOfType)?;
                if t.zoned && !*instant {
                    return Err(Misfit::Zoned);
                }
                // An instant column reads a value without a zone as UTC.
                b.append_value(t.micros);
                t.zoned == *instant
            }
            Builder::Str(b) => {
                b.append_value(s);
                false
            }
            Builder::Dec(b, precision, scale) => {
                b.append_value(parse_decimal(s, *precision, *scale).ok_or(Misfit::NotOfType)?);
                false
            }
        })
    }
}

impl CsvBatches {}

impl NextBatch for CsvBatches {
    fn next_batch(&mut self) -> anyhow::Result<Option<RecordBatch>> {
        let mut rows = BatchBuilder::new(&self.readings);
        let custom = self.records.dialect.rules.date_format.clone();
        while rows.rows < BATCH_ROWS && self.records.next(&mut self.rec)? {
            for i in 0..self.readings.len() {
                let value = self.records.value(&self.rec, i)?;
                if let Err(misfit) = rows.append(i, value, custom.as_deref()) {
                    bail!(
                        "{}:{}: column `{}`: value `{}` is not a valid {}{}",
                        self.records.path,
                        self.rec.line,
                        self.records.names[i],
                        value.unwrap_or_default(),
                        self.readings[i].column_type,
                        self.why(i, misfit)
                    );
                }
            }
            rows.rows += 1;
        }
        if rows.rows == 0 {
            return Ok(None);
        }
        rows.finish(&self.schema).map(Some)
    }
}

impl CsvBatches {
    /// The end of a misfit's message: what the column expects, and where its type came from.
    fn why(&self, i: usize, misfit: Misfit) -> String {
        let custom = self.records.dialect.rules.date_format.as_deref();
        let mut why = match misfit {
            Misfit::Zoned => ": it has a time zone, and `timestamp` is a wall-clock time; declare the column `timestamptz` to store instants".to_string(),
            Misfit::NotDate(Some(f)) => format!(
                " (the column's dates are written {}; `csv: {{date_format}}` sets another form)",
                f.written(custom)
            ),
            Misfit::NotDate(None) => match custom {
                Some(c) => format!(" (dates are read with date_format {c} or as YYYY-MM-DD)"),
                None => " (dates are read as YYYY-MM-DD or dd.mm.yyyy; for another form such as dd/mm/yyyy set `csv: {date_format: \"%d/%m/%Y\"}`)".to_string(),
            },
            Misfit::NotFloat(true) => " (read with a decimal comma)".to_string(),
            Misfit::NotFloat(false) | Misfit::NotOfType => String::new(),
        };
        why.push_str(if self.declared[i] {
            " (type declared in data_description.md)"
        } else {
            " (the file changed between the two reads)"
        });
        why
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_and_empty_headers_are_made_unique_without_collisions() {
        let h: Vec<String> = ["id", "name", "name", "", "amount", "name_2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            unique_names(&h),
            vec!["id", "name", "name_3", "column_4", "amount", "name_2"]
        );
        let h: Vec<String> = ["id", "Email", "email", "EMAIL_2", "ID"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            unique_names(&h),
            vec!["id", "Email", "email_3", "EMAIL_2", "ID_2"]
        );
    }
}
