//! The `csv` connector: one CSV file (optionally `.gz`, multi-member too) per table, read twice:
//! once to decide every column's type from all of its values (see [`super::values`]), once to
//! stream typed Arrow record batches.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::csv_reader::{CsvReader, ReadError, Record};
use super::values::{
    int_shape, parse_bool, parse_date, parse_f64, parse_timestamp, IntShape, TypeGuess,
};
use super::{arrow_type, Connector, SyncedColumn, TableStream};
use crate::content::{ColumnType, TableSpec};

/// Rows per record batch.
pub const BATCH_ROWS: usize = 65_536;

/// Reads tables from CSV files in one folder.
pub struct CsvConnector {
    /// The folder holding the files.
    pub folder: PathBuf,
}

impl CsvConnector {
    /// The file of `spec`: `file:` if given, else `<name>.csv`, else `<name>.csv.gz`.
    /// Errors: no such file (naming every path tried).
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
        }
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "table `{}`: no CSV file found (tried {})",
            spec.name,
            tried.join(", ")
        )
    }
}

fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let gz = path.extension().and_then(|e| e.to_str()) == Some("gz");
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, file))
    })
}

/// Reads records and turns tokenizer failures and invalid UTF-8 into messages naming the file,
/// line, column and byte.
struct Records {
    reader: CsvReader<Box<dyn BufRead + Send>>,
    path: String,
    names: Vec<String>,
}

impl Records {
    fn next(&mut self, rec: &mut Record) -> anyhow::Result<bool> {
        loop {
            match self.reader.read_record(rec) {
                Ok(false) => return Ok(false),
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
                    return Err(anyhow!(e).context(format!("{}: read error", self.path)))
                }
                Err(ReadError::Unterminated(e)) => bail!(
                    "{}:{}: quoted field opened at byte offset {} is never closed",
                    self.path,
                    e.line,
                    e.byte
                ),
            }
        }
    }

    fn text<'r>(&self, rec: &'r Record, i: usize) -> anyhow::Result<&'r str> {
        let bytes = rec.field(i);
        std::str::from_utf8(bytes).map_err(|e| {
            let at = e.valid_up_to();
            let column = self.names.get(i).map(String::as_str).unwrap_or("?");
            anyhow!(
                "{}:{}: column `{}`: invalid UTF-8 byte 0x{:02X} at byte offset {} (the file must be UTF-8: convert it, e.g. with iconv)",
                self.path,
                rec.line,
                column,
                bytes[at],
                rec.field_byte(i) + at as u64
            )
        })
    }
}

/// Unique, non-empty column names from header texts: an empty header becomes `column_<n>`
/// (n = 1-based position); a repeated name gets `_2`, `_3`, … skipping any name the header
/// already uses. Deterministic: depends only on the header.
pub fn unique_names(headers: &[String]) -> Vec<String> {
    let taken: std::collections::HashSet<&str> = headers.iter().map(String::as_str).collect();
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
        while used.contains(&name) || (name != base && taken.contains(name.as_str())) {
            name = format!("{base}_{k}");
            k += 1;
        }
        used.insert(name.clone());
        out.push(name);
    }
    out
}

impl CsvConnector {
    fn records(&self, path: &Path, names: Vec<String>) -> anyhow::Result<Records> {
        Ok(Records {
            reader: CsvReader::new(open(path)?, b','),
            path: path.display().to_string(),
            names,
        })
    }
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
        let path = self.file_of(spec)?;
        let shown = path.display().to_string();
        let mut records = self.records(&path, Vec::new())?;
        let mut rec = Record::default();
        if !records.next(&mut rec)? {
            bail!("{shown}: the file is empty (no header line)");
        }
        let mut headers = Vec::with_capacity(rec.len());
        for i in 0..rec.len() {
            headers.push(records.text(&rec, i)?.to_string());
        }
        let names = unique_names(&headers);
        for c in &spec.columns {
            if !names.contains(&c.name) {
                bail!(
                    "{shown}:1: column `{}` declared in data_description.md (table `{}`, line {}) is not in the header ({})",
                    c.name,
                    spec.name,
                    spec.line,
                    names.join(", ")
                );
            }
        }
        records.names = names.clone();
        // Pass 1: types of undeclared columns from every value.
        let declared: Vec<Option<ColumnType>> = names
            .iter()
            .map(|n| spec.column(n).and_then(|c| c.column_type))
            .collect();
        let mut guesses: Vec<TypeGuess> = vec![TypeGuess::default(); names.len()];
        let open_cols: Vec<usize> = (0..names.len())
            .filter(|&i| declared[i].is_none())
            .collect();
        if !open_cols.is_empty() {
            while records.next(&mut rec)? {
                for &i in &open_cols {
                    if guesses[i].is_text() || rec.field(i).is_empty() {
                        continue;
                    }
                    let s = records.text(&rec, i)?;
                    guesses[i].observe(s);
                }
            }
        }
        let columns: Vec<SyncedColumn> = names
            .iter()
            .enumerate()
            .map(|(i, n)| SyncedColumn {
                name: n.clone(),
                source_name: headers[i].clone(),
                column_type: declared[i].unwrap_or_else(|| guesses[i].decide()),
                type_source: if declared[i].is_some() {
                    "declared"
                } else {
                    "inferred"
                },
            })
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(&c.name, arrow_type(c.column_type), true))
                .collect::<Vec<_>>(),
        ));
        // Pass 2: stream typed batches.
        let mut records = self.records(&path, names)?;
        records.next(&mut rec)?; // header
        let batches = CsvBatches {
            records,
            types: columns.iter().map(|c| c.column_type).collect(),
            schema: schema.clone(),
            rec,
            done: false,
        };
        // The catalog names the file relative to the source folder: no server paths on pages.
        let source = path
            .strip_prefix(&self.folder)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| shown.clone());
        Ok(TableStream {
            schema,
            columns,
            source: format!("csv: {source}"),
            batches: Box::new(batches),
        })
    }
}

struct CsvBatches {
    records: Records,
    types: Vec<ColumnType>,
    schema: SchemaRef,
    rec: Record,
    done: bool,
}

enum Builder {
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Str(StringBuilder),
}

impl Builder {
    fn new(t: ColumnType) -> Builder {
        match t {
            ColumnType::Int64 => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Float64 => Builder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Timestamp => Builder::Ts(
                TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            ),
            ColumnType::String => {
                Builder::Str(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16))
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
            Builder::Str(b) => Arc::new(b.finish()),
        }
    }

    /// Append one field. `None` = NULL. Returns false when the text is not of the type.
    fn append(&mut self, v: Option<&str>) -> bool {
        match (self, v) {
            (Builder::Int(b), None) => b.append_null(),
            (Builder::Float(b), None) => b.append_null(),
            (Builder::Bool(b), None) => b.append_null(),
            (Builder::Date(b), None) => b.append_null(),
            (Builder::Ts(b), None) => b.append_null(),
            (Builder::Str(b), None) => b.append_null(),
            (Builder::Int(b), Some(s)) => match int_shape(s) {
                IntShape::Int(v) => b.append_value(v),
                _ => return false,
            },
            (Builder::Float(b), Some(s)) => match parse_f64(s) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Builder::Bool(b), Some(s)) => match parse_bool(s) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Builder::Date(b), Some(s)) => match parse_date(s) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Builder::Ts(b), Some(s)) => match parse_timestamp(s) {
                Some(v) => b.append_value(v),
                None => return false,
            },
            (Builder::Str(b), Some(s)) => b.append_value(s),
        }
        true
    }
}

impl CsvBatches {
    fn next_batch(&mut self) -> anyhow::Result<Option<RecordBatch>> {
        let mut builders: Vec<Builder> = self.types.iter().map(|&t| Builder::new(t)).collect();
        let mut rows = 0;
        while rows < BATCH_ROWS && self.records.next(&mut self.rec)? {
            for (i, b) in builders.iter_mut().enumerate() {
                let raw = self.rec.field(i);
                let value = if raw.is_empty() {
                    // Unquoted empty: NULL. Quoted empty: "" for text, NULL for other types.
                    if self.rec.is_quoted(i) && self.types[i] == ColumnType::String {
                        Some("")
                    } else {
                        None
                    }
                } else {
                    Some(self.records.text(&self.rec, i)?)
                };
                if !b.append(value) {
                    bail!(
                        "{}:{}: column `{}`: value `{}` is not a valid {} (type declared in data_description.md)",
                        self.records.path,
                        self.rec.line,
                        self.records.names[i],
                        value.unwrap_or_default(),
                        self.types[i]
                    );
                }
            }
            rows += 1;
        }
        if rows == 0 {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        Ok(Some(RecordBatch::try_new(self.schema.clone(), arrays)?))
    }
}

impl Iterator for CsvBatches {
    type Item = anyhow::Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
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
    }
}
