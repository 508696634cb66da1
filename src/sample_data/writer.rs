//! One CSV table being written: `<name>.csv.tmp`, buffered, renamed to `<name>.csv` when complete.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use super::calendar::{push_date, push_timestamp};
use super::SampleTable;

/// Streams rows of one table to disk; field buffers are reused, so a row costs no allocation.
pub(crate) struct TableWriter {
    name: &'static str,
    tmp: PathBuf,
    dst: PathBuf,
    csv: csv::Writer<BufWriter<File>>,
    fields: Vec<String>,
    used: usize,
    rows: u64,
}

impl TableWriter {
    /// Create `<dir>/<name>.csv.tmp` and write the header row.
    pub(crate) fn create(dir: &Path, name: &'static str, header: &[&str]) -> Result<TableWriter> {
        let dst = dir.join(format!("{name}.csv"));
        let tmp = dir.join(format!("{name}.csv.tmp"));
        let file =
            File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(BufWriter::with_capacity(1 << 17, file));
        csv.write_record(header)
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        Ok(TableWriter {
            name,
            tmp,
            dst,
            csv,
            fields: vec![String::new(); header.len()],
            used: 0,
            rows: 0,
        })
    }

    fn next(&mut self) -> &mut String {
        if self.used == self.fields.len() {
            self.fields.push(String::new());
        }
        let field = &mut self.fields[self.used];
        field.clear();
        self.used += 1;
        field
    }

    /// A text field (never empty: an empty field means NULL).
    pub(crate) fn text(&mut self, value: &str) {
        self.next().push_str(value);
    }

    /// A NULL: an empty, unquoted field.
    pub(crate) fn null(&mut self) {
        self.next();
    }

    /// A text field, or NULL for `None`.
    pub(crate) fn opt_text(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// A text field from format arguments (never empty).
    pub(crate) fn fmt(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.next().write_fmt(args);
    }

    /// An identifier `<prefix><number padded to width>`, e.g. `C-000042`.
    pub(crate) fn id(&mut self, prefix: &str, width: usize, number: u64) {
        let f = self.next();
        f.push_str(prefix);
        let _ = write!(f, "{number:0width$}");
    }

    /// An identifier, or NULL for `None`.
    pub(crate) fn opt_id(&mut self, prefix: &str, width: usize, number: Option<u64>) {
        match number {
            Some(n) => self.id(prefix, width, n),
            None => self.null(),
        }
    }

    /// An integer.
    pub(crate) fn int(&mut self, value: i64) {
        let _ = write!(self.next(), "{value}");
    }

    /// An integer, or NULL for `None`.
    pub(crate) fn opt_int(&mut self, value: Option<i64>) {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// Money from whole cents: `1234` → `12.34`.
    pub(crate) fn money(&mut self, cents: i64) {
        let f = self.next();
        if cents < 0 {
            f.push('-');
        }
        let c = cents.unsigned_abs();
        let _ = write!(f, "{}.{:02}", c / 100, c % 100);
    }

    /// A decimal with three places from thousandths: `1250` → `1.250`.
    pub(crate) fn thousandths(&mut self, value: i64) {
        let f = self.next();
        let v = value.max(0);
        let _ = write!(f, "{}.{:03}", v / 1000, v % 1000);
    }

    /// `true` / `false`.
    pub(crate) fn boolean(&mut self, value: bool) {
        self.text(if value { "true" } else { "false" });
    }

    /// `YYYY-MM-DD` of a day number.
    pub(crate) fn date(&mut self, days: i64) {
        push_date(self.next(), days);
    }

    /// `YYYY-MM-DD HH:MM:SS` (UTC) of seconds since the epoch.
    pub(crate) fn timestamp(&mut self, secs: i64) {
        push_timestamp(self.next(), secs);
    }

    /// A timestamp, or NULL for `None`.
    pub(crate) fn opt_timestamp(&mut self, secs: Option<i64>) {
        match secs {
            Some(s) => self.timestamp(s),
            None => self.null(),
        }
    }

    /// Write the fields added since the last row as one record.
    ///
    /// Errors: an I/O error, or a field count that differs from the header (a generator bug).
    pub(crate) fn end_row(&mut self) -> Result<()> {
        let result = self.csv.write_record(&self.fields[..self.used]);
        self.used = 0;
        result.with_context(|| {
            format!("{}: cannot write row {}", self.tmp.display(), self.rows + 1)
        })?;
        self.rows += 1;
        Ok(())
    }

    /// Flush, fsync and rename `<name>.csv.tmp` to `<name>.csv`; returns the rows and bytes.
    pub(crate) fn finish(self) -> Result<SampleTable> {
        let TableWriter {
            name,
            tmp,
            dst,
            csv,
            rows,
            ..
        } = self;
        let buffered = csv
            .into_inner()
            .map_err(|e| anyhow!("{}: cannot write: {}", tmp.display(), e.error()))?;
        let file = buffered
            .into_inner()
            .map_err(|e| anyhow!("{}: cannot write: {}", tmp.display(), e.error()))?;
        file.sync_all()
            .with_context(|| format!("{}: cannot sync", tmp.display()))?;
        let bytes = file
            .metadata()
            .with_context(|| format!("{}: cannot stat", tmp.display()))?
            .len();
        drop(file);
        std::fs::rename(&tmp, &dst)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), dst.display()))?;
        Ok(SampleTable {
            name: name.to_string(),
            rows,
            bytes,
        })
    }
}
