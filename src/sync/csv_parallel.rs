//! Reading one big plain CSV file (not gzip, not decoded) on every core.
//!
//! The file is cut into parts of [`PART_BYTES`]; each part starts at the line after the first
//! newline past its nominal offset, and the part before it must end exactly there (else that
//! start was inside a quoted field and the file is read sequentially instead). Batches restart
//! at every part, so the same file always gives the same batches and the same Parquet bytes.
//!
//! - [`Speculation`]: one pass. Column types are decided from a sample (the start of every
//!   part); every part is then tokenized once, its values both observed for the exact types
//!   and built into batches of the sampled types. When the types of every value turn out to
//!   be the sampled ones, those batches are the table. Otherwise the stream ends with
//!   [`ReadAgain`], and the second read uses the exact first pass this one completed.
//! - [`Pass1::run`] + [`ParallelBatches`]: two passes, the first for the exact types and the
//!   checkpoints (line, byte) every [`BATCH_ROWS`] rows, the second parsing batches between
//!   checkpoints.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::time::SystemTime;

use anyhow::{bail, Context};
use arrow::record_batch::RecordBatch;

use super::csv_reader::Record;
use super::csv_source::{
    BatchBuilder, BatchShape, CsvBatches, Dialect, NextBatch, Records, BATCH_ROWS,
};
use super::values::{Reading, TypeGuess};
use super::ReadAgain;

/// Bytes per part (fixed, so the same file always gives the same batches).
pub const PART_BYTES: u64 = 32 << 20;

/// Bytes read at the start of every part for the sample a [`Speculation`] decides its types
/// from (up to the last whole line).
const SAMPLE_BYTES_PER_PART: usize = 256 << 10;

/// A plain CSV file: open, its length and modification time when first looked at.
pub struct PlainFile {
    pub file: Arc<File>,
    pub path: String,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

impl PlainFile {
    /// The file at `path` when it is read as it is (not gzip by name or magic bytes); `None`
    /// otherwise or when it cannot be read (the sequential read then reports why).
    pub fn open(path: &Path) -> Option<PlainFile> {
        let mut f = File::open(path).ok()?;
        let mut magic = [0u8; 2];
        let n = f.read(&mut magic).ok()?;
        if path.extension().and_then(|e| e.to_str()) == Some("gz")
            || (n == 2 && magic == [0x1F, 0x8B])
        {
            return None;
        }
        let meta = f.metadata().ok()?;
        Some(PlainFile {
            file: Arc::new(f),
            path: path.display().to_string(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }

    /// Errors: the file's length or modification time is not what it was when opened.
    pub fn unchanged(&self) -> anyhow::Result<()> {
        let changed = std::fs::metadata(&self.path)
            .map(|m| m.len() != self.len || m.modified().ok() != self.modified)
            .unwrap_or(true);
        if changed {
            bail!(
                "{}: the file changed while it was read; the next build reads it again",
                self.path
            );
        }
        Ok(())
    }

    fn read_at(&self, from: u64, to: u64) -> anyhow::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut bytes = vec![0u8; usize::try_from(to.saturating_sub(from))?];
        self.file
            .read_exact_at(&mut bytes, from)
            .with_context(|| format!("{}: read error at byte offset {from}", self.path))?;
        Ok(bytes)
    }

    /// Where each part starts: `first` (the first data record), then the line after the first
    /// newline at or past every [`PART_BYTES`]. `None` when the file is smaller than two parts
    /// past `first` or cannot be read.
    pub fn part_starts(&self, first: u64) -> Option<Vec<u64>> {
        use std::os::unix::fs::FileExt;
        if self.len < first + 2 * PART_BYTES {
            return None;
        }
        let mut starts = vec![first];
        let mut at = first + PART_BYTES;
        let mut window = vec![0u8; 1 << 16];
        while at < self.len {
            let n = self.file.read_at(&mut window, at).ok()?;
            if n == 0 {
                break;
            }
            match memchr::memchr(b'\n', &window[..n]) {
                Some(i) => {
                    let s = at + i as u64 + 1;
                    if s >= self.len {
                        break;
                    }
                    starts.push(s);
                    at = s + PART_BYTES;
                }
                None => at += n as u64,
            }
        }
        (starts.len() >= 2).then_some(starts)
    }
}

/// Reads the file opened first from `pos` on, with positional reads: every part reads the very
/// file its boundaries and sample came from, even if the path is renamed over meanwhile.
struct ReadAt {
    file: Arc<File>,
    pos: u64,
}

impl Read for ReadAt {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Threads reading one table's parts or batches: the machine's cores.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The exact outcome of a first pass: merged guesses per column, and the second pass's
/// checkpoints (line, byte) with the file's own lines.
pub type Pass1Outcome = (Vec<TypeGuess>, Vec<(u64, u64)>);

/// What the first pass over a plain file (or a [`Speculation`]) does to each part.
pub struct Pass1 {
    pub dialect: Arc<Dialect>,
    pub names: Vec<String>,
    /// Whether each column's type is read from the data (not declared).
    pub observed: Vec<bool>,
    pub fresh: TypeGuess,
}

/// One part read: guesses, checkpoints (line relative to the part's start, byte), where the
/// first record at or after the part's end starts (byte) and the lines read; with the batches
/// when they were built and every value fitted.
struct Part {
    guesses: Vec<TypeGuess>,
    checkpoints: Vec<(u64, u64)>,
    end: u64,
    lines: u64,
    batches: Option<Vec<RecordBatch>>,
}

/// Parts' outcomes joined in file order.
struct Joined {
    guesses: Vec<TypeGuess>,
    checkpoints: Vec<(u64, u64)>,
    /// The line where the next part starts.
    line: u64,
}

impl Joined {
    fn new(pass1: &Pass1, first_line: u64) -> Joined {
        Joined {
            guesses: vec![pass1.fresh.clone(); pass1.names.len()],
            checkpoints: Vec::new(),
            line: first_line,
        }
    }

    /// Add part `k` (which should end at `end`). `false` when it failed or ran past its end
    /// (the next part's start was inside a quoted field).
    fn add(&mut self, part: &Part, end: u64) -> bool {
        if part.end != end {
            return false;
        }
        for (g, p) in self.guesses.iter_mut().zip(&part.guesses) {
            g.merge(p);
        }
        let line = self.line;
        self.checkpoints
            .extend(part.checkpoints.iter().map(|&(l, b)| (line + l, b)));
        self.line += part.lines;
        true
    }
}

impl Pass1 {
    /// The exact first pass over `file` in the parts starting at `starts` (see
    /// [`PlainFile::part_starts`]), on the machine's cores; `first_line` is the line of the
    /// first data record. `None` when any part failed or ran past its end (the caller then
    /// reads sequentially, which reports an error with its exact line).
    pub fn run(&self, file: &PlainFile, starts: &[u64], first_line: u64) -> Option<Pass1Outcome> {
        let ends = ends_of(starts, file.len);
        let threads = threads().min(starts.len());
        let parts: Vec<Option<Part>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let ends = &ends;
                    scope.spawn(move || {
                        (t..starts.len())
                            .step_by(threads)
                            .map(|k| (k, self.part(file, starts[k], ends[k], None)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all: Vec<(usize, Option<Part>)> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect();
            all.sort_by_key(|(k, _)| *k);
            all.into_iter().map(|(_, p)| p).collect()
        });
        if parts.len() != starts.len() {
            return None;
        }
        let mut joined = Joined::new(self, first_line);
        for (k, part) in parts.iter().enumerate() {
            if !joined.add(part.as_ref()?, ends[k]) {
                return None;
            }
        }
        Some((joined.guesses, joined.checkpoints))
    }

    /// Read the records that start in `[from, to)`: observe the values of the observed
    /// columns and, with `build`, build them into batches of [`BATCH_ROWS`] rows (dropped at
    /// the first value that does not fit its column). `None` on any error.
    fn part(&self, file: &PlainFile, from: u64, to: u64, build: Option<&Build>) -> Option<Part> {
        let at = ReadAt {
            file: file.file.clone(),
            pos: from,
        };
        let mut records = Records::resumed(
            Box::new(BufReader::with_capacity(1 << 20, at)),
            &file.path,
            (0, from),
            self.dialect.clone(),
            self.names.clone(),
        );
        let rules = &self.dialect.rules;
        let custom = rules.date_format.as_deref();
        let mut guesses = vec![self.fresh.clone(); self.names.len()];
        let mut checkpoints = Vec::new();
        let mut rec = Record::default();
        let mut count = 0usize;
        let mut batches = build.map(|_| Vec::new());
        let mut rows = build.map(|b| BatchBuilder::new(&b.shape.readings));
        loop {
            let more = records.next(&mut rec).ok()?;
            let (end, lines) = if !more {
                let (line, byte) = records.position().unwrap_or((0, to));
                (Some(byte.max(to)), line)
            } else if rec.byte >= to {
                (Some(rec.byte), rec.line)
            } else {
                (None, 0)
            };
            if let Some(end) = end {
                if let (Some(b), Some(all), Some(r)) = (build, batches.as_mut(), rows.as_mut()) {
                    if r.rows > 0 {
                        all.push(r.finish(&b.shape.schema).ok()?);
                    }
                }
                return Some(Part {
                    guesses,
                    checkpoints,
                    end,
                    lines,
                    batches,
                });
            }
            if count.is_multiple_of(BATCH_ROWS) {
                checkpoints.push((rec.line, rec.byte));
                if count > 0 {
                    if let (Some(b), Some(all), Some(r)) = (build, batches.as_mut(), rows.as_mut())
                    {
                        all.push(r.finish(&b.shape.schema).ok()?);
                    }
                }
            }
            count += 1;
            if build.is_some_and(|b| !b.wanted.load(Ordering::Relaxed)) {
                (batches, rows) = (None, None);
            }
            for (i, guess) in guesses.iter_mut().enumerate() {
                let mut observe = self.observed[i] && !guess.is_text();
                if !observe && rows.is_none() {
                    continue;
                }
                let value = records.value(&rec, i).ok()?;
                if let Some(r) = rows.as_mut() {
                    match r.append(i, value, custom) {
                        Ok(canonical) => {
                            observe &= !(canonical && guess.settles(r.column_type(i)));
                        }
                        Err(_) => (batches, rows) = (None, None),
                    }
                }
                if observe {
                    if let Some(s) = value.filter(|s| !s.is_empty()) {
                        guess.observe(s, rules);
                    }
                }
            }
            if let Some(r) = rows.as_mut() {
                r.rows += 1;
            }
        }
    }

    /// Types observed in a sample of `file`: the whole lines in the first
    /// [`SAMPLE_BYTES_PER_PART`] bytes of every part. Garbage read from a part that starts
    /// inside a quoted field only makes a [`Speculation`] miss.
    pub fn sample(&self, file: &PlainFile, starts: &[u64]) -> Vec<TypeGuess> {
        let rules = &self.dialect.rules;
        let mut guesses = vec![self.fresh.clone(); self.names.len()];
        for &from in starts {
            let to = (from + SAMPLE_BYTES_PER_PART as u64).min(file.len);
            let Ok(mut bytes) = file.read_at(from, to) else {
                continue;
            };
            if to < file.len {
                let whole = memchr::memrchr(b'\n', &bytes).map_or(0, |i| i + 1);
                bytes.truncate(whole);
            }
            let mut records = Records::resumed(
                Box::new(std::io::Cursor::new(bytes)),
                &file.path,
                (0, from),
                self.dialect.clone(),
                self.names.clone(),
            );
            let mut rec = Record::default();
            while let Ok(true) = records.next(&mut rec) {
                for (i, guess) in guesses.iter_mut().enumerate() {
                    if !self.observed[i] || guess.is_text() {
                        continue;
                    }
                    if let Ok(Some(s)) = records.value(&rec, i) {
                        if !s.is_empty() {
                            guess.observe(s, rules);
                        }
                    }
                }
            }
        }
        guesses
    }
}

/// Where each part ends: the next part's start, the file's end for the last.
fn ends_of(starts: &[u64], len: u64) -> Vec<u64> {
    starts[1..].iter().copied().chain([len]).collect()
}

/// Work split in numbered units, done by worker threads and handed out in unit order.
trait Units: Send + Sync + 'static {
    type Out: Send + 'static;
    fn count(&self) -> usize;
    fn run(&self, k: usize) -> Self::Out;
}

/// What the workers of an [`InOrder`] share.
struct Shared<U> {
    units: U,
    next_in: AtomicUsize,
    /// Units handed out so far.
    handed_out: Mutex<usize>,
    moved: Condvar,
    stop: AtomicBool,
    /// How far ahead of the unit handed out a worker may start one (bounds memory).
    window: usize,
}

/// Units done by worker threads, handed out in order. Each worker takes the next unit index,
/// waits while it is `window` or more units ahead of the one handed out, does it and sends it
/// back: no worker waits for a slower one. Workers are plain threads, not rayon's: they run
/// while rayon's workers may all be blocked waiting for these very units, as tables sync on
/// rayon. Dropping it stops the workers.
struct InOrder<U: Units> {
    shared: Arc<Shared<U>>,
    /// Units from the workers; `None` until they are started.
    rx: Option<Receiver<(usize, U::Out)>>,
    pending: BTreeMap<usize, U::Out>,
    next_out: usize,
}

impl<U: Units> InOrder<U> {
    fn new(units: U, window: usize) -> InOrder<U> {
        InOrder {
            shared: Arc::new(Shared {
                units,
                next_in: AtomicUsize::new(0),
                handed_out: Mutex::new(0),
                moved: Condvar::new(),
                stop: AtomicBool::new(false),
                window,
            }),
            rx: None,
            pending: BTreeMap::new(),
            next_out: 0,
        }
    }

    fn work(shared: &Shared<U>, tx: std::sync::mpsc::Sender<(usize, U::Out)>) {
        loop {
            let k = shared.next_in.fetch_add(1, Ordering::SeqCst);
            if k >= shared.units.count() || shared.stop.load(Ordering::SeqCst) {
                return;
            }
            {
                let mut out = shared.handed_out.lock().unwrap_or_else(|e| e.into_inner());
                while k >= *out + shared.window && !shared.stop.load(Ordering::SeqCst) {
                    out = shared.moved.wait(out).unwrap_or_else(|e| e.into_inner());
                }
            }
            if shared.stop.load(Ordering::SeqCst) || tx.send((k, shared.units.run(k))).is_err() {
                return;
            }
        }
    }

    /// The next unit's outcome in order; `Ok(None)` after the last. Errors: the workers
    /// stopped (a worker panicked).
    fn next(&mut self) -> Result<Option<U::Out>, ()> {
        if self.rx.is_none() {
            let (tx, rx) = channel();
            for _ in 0..threads().min(self.shared.units.count()) {
                let (shared, tx) = (self.shared.clone(), tx.clone());
                std::thread::spawn(move || Self::work(&shared, tx));
            }
            self.rx = Some(rx);
        }
        loop {
            if self.next_out >= self.shared.units.count() {
                return Ok(None);
            }
            if let Some(out) = self.pending.remove(&self.next_out) {
                self.next_out += 1;
                *self
                    .shared
                    .handed_out
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = self.next_out;
                self.shared.moved.notify_all();
                return Ok(Some(out));
            }
            match self.rx.as_ref().map(Receiver::recv) {
                Some(Ok((k, out))) => {
                    self.pending.insert(k, out);
                }
                _ => return Err(()),
            }
        }
    }
}

impl<U: Units> Drop for InOrder<U> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.moved.notify_all();
    }
}

/// The second pass's batches: parsed in parallel from the byte ranges between the first
/// pass's checkpoints, handed out in file order: the batches the sequential read would give.
pub struct ParallelBatches {
    batches: InOrder<Parser>,
}

/// Parses the batch between two checkpoints.
struct Parser {
    file: PlainFile,
    /// (line, byte) where each batch starts.
    checkpoints: Vec<(u64, u64)>,
    shape: BatchShape,
}

impl Units for Parser {
    type Out = anyhow::Result<Option<RecordBatch>>;

    fn count(&self) -> usize {
        self.checkpoints.len()
    }

    fn run(&self, k: usize) -> Self::Out {
        let (line, start) = self.checkpoints[k];
        let end = self
            .checkpoints
            .get(k + 1)
            .map_or(self.file.len, |&(_, b)| b);
        let bytes = self.file.read_at(start, end)?;
        let t = &self.shape;
        let mut batches = CsvBatches::new(
            Records::resumed(
                Box::new(std::io::Cursor::new(bytes)),
                &self.file.path,
                (line, start),
                t.dialect.clone(),
                t.names.clone(),
            ),
            t,
        );
        batches.next_batch()
    }
}

impl ParallelBatches {
    /// Batches of `file` between `checkpoints`, read with `shape`.
    pub fn new(file: PlainFile, checkpoints: Vec<(u64, u64)>, shape: BatchShape) -> Self {
        ParallelBatches {
            // Twice the threads: a slow batch does not idle the others.
            batches: InOrder::new(
                Parser {
                    file,
                    checkpoints,
                    shape,
                },
                2 * threads(),
            ),
        }
    }
}

impl NextBatch for ParallelBatches {
    fn next_batch(&mut self) -> anyhow::Result<Option<RecordBatch>> {
        if self.batches.rx.is_none() {
            self.batches.shared.units.file.unchanged()?;
        }
        loop {
            match self.batches.next() {
                Ok(Some(r)) => match r? {
                    Some(b) => return Ok(Some(b)),
                    None => continue,
                },
                Ok(None) => return Ok(None),
                Err(()) => bail!(
                    "{}: the CSV parsing threads stopped",
                    self.batches.shared.units.file.path
                ),
            }
        }
    }
}

/// What a part needs to build its batches in a [`Speculation`].
struct Build {
    shape: BatchShape,
    /// Cleared once any part had a value that did not fit: later parts only observe.
    wanted: AtomicBool,
}

/// The parts of a [`Speculation`], each observed and built.
struct SpeculativeParts {
    pass1: Pass1,
    file: PlainFile,
    starts: Vec<u64>,
    ends: Vec<u64>,
    build: Build,
}

impl Units for SpeculativeParts {
    type Out = Option<Part>;

    fn count(&self) -> usize {
        self.starts.len()
    }

    fn run(&self, k: usize) -> Option<Part> {
        self.pass1
            .part(&self.file, self.starts[k], self.ends[k], Some(&self.build))
    }
}

/// First passes completed by speculations that missed, by table, for the read again: the
/// file's length and modification time, and the outcome (`None`: read sequentially).
pub type ExactPasses = Arc<Mutex<HashMap<String, (u64, Option<SystemTime>, Option<Pass1Outcome>)>>>;

/// A one-pass read of a big plain file with types from a sample (see the module's doc). Ends
/// with [`ReadAgain`] when a value did not fit its sampled column, the exact types are not the
/// sampled ones, or the first pass cannot be done in parts; the exact pass (or "sequential") is
/// then in `exact` for the read again.
pub struct Speculation {
    parts: InOrder<SpeculativeParts>,
    joined: Joined,
    /// Batches of the parts joined, not yet handed out.
    queue: VecDeque<RecordBatch>,
    /// The sampled readings and notes of the observed columns.
    sampled: Vec<Option<(Reading, Option<String>)>>,
    table: String,
    exact: ExactPasses,
    done: bool,
}

impl Speculation {
    /// Read `file` (parts at `starts`, first data record on `first_line`) with `shape`, whose
    /// readings were decided from a sample: `sampled` holds, for each observed column, the
    /// reading and note decided (`None` for a declared column).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pass1: Pass1,
        file: PlainFile,
        starts: Vec<u64>,
        first_line: u64,
        shape: BatchShape,
        sampled: Vec<Option<(Reading, Option<String>)>>,
        table: &str,
        exact: ExactPasses,
    ) -> Speculation {
        let joined = Joined::new(&pass1, first_line);
        let ends = ends_of(&starts, file.len);
        Speculation {
            parts: InOrder::new(
                SpeculativeParts {
                    pass1,
                    file,
                    starts,
                    ends,
                    build: Build {
                        shape,
                        wanted: AtomicBool::new(true),
                    },
                },
                threads(),
            ),
            joined,
            queue: VecDeque::new(),
            sampled,
            table: table.to_string(),
            exact,
            done: false,
        }
    }

    /// Stop: keep `outcome` for the read again and end with [`ReadAgain`].
    fn miss(&mut self, outcome: Option<Pass1Outcome>) -> anyhow::Error {
        self.done = true;
        self.queue.clear();
        let units = &self.parts.shared.units;
        self.parts.shared.stop.store(true, Ordering::SeqCst);
        self.parts.shared.moved.notify_all();
        self.exact.lock().unwrap_or_else(|e| e.into_inner()).insert(
            self.table.clone(),
            (units.file.len, units.file.modified, outcome),
        );
        anyhow::Error::new(ReadAgain)
    }
}

impl NextBatch for Speculation {
    fn next_batch(&mut self) -> anyhow::Result<Option<RecordBatch>> {
        loop {
            if let Some(b) = self.queue.pop_front() {
                return Ok(Some(b));
            }
            if self.done {
                return Ok(None);
            }
            let k = self.parts.next_out;
            match self.parts.next() {
                Ok(Some(part)) => {
                    let units = &self.parts.shared.units;
                    let Some(part) = part.filter(|p| self.joined.add(p, units.ends[k])) else {
                        return Err(self.miss(None));
                    };
                    match part.batches {
                        Some(b) if units.build.wanted.load(Ordering::Relaxed) => {
                            self.queue.extend(b)
                        }
                        _ => units.build.wanted.store(false, Ordering::Relaxed),
                    }
                }
                Ok(None) => {
                    self.done = true;
                    let units = &self.parts.shared.units;
                    units.file.unchanged()?;
                    let rules = &units.pass1.dialect.rules;
                    let exact = self.joined.guesses.iter().map(|g| g.decide(rules));
                    let agree = units.build.wanted.load(Ordering::Relaxed)
                        && self.sampled.iter().zip(exact).all(|(s, e)| match s {
                            None => true,
                            Some(s) => same_reading(s, &e),
                        });
                    if agree {
                        return Ok(None);
                    }
                    let outcome = (
                        std::mem::take(&mut self.joined.guesses),
                        std::mem::take(&mut self.joined.checkpoints),
                    );
                    return Err(self.miss(Some(outcome)));
                }
                Err(()) => return Err(self.miss(None)),
            }
        }
    }
}

/// Whether two decided readings give the same column: type, note, and the form the type's
/// values are read in (decimal separator for floats, date format for dates).
fn same_reading(a: &(Reading, Option<String>), b: &(Reading, Option<String>)) -> bool {
    use crate::content::ColumnType;
    let (ra, rb) = (&a.0, &b.0);
    ra.column_type == rb.column_type
        && a.1 == b.1
        && match ra.column_type {
            ColumnType::Float64 => ra.decimal_comma == rb.decimal_comma,
            ColumnType::Date => ra.dates == rb.dates,
            _ => true,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::data_description;
    use crate::sync::csv_source::CsvConnector;
    use crate::sync::{Connector, TableStream};
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Int64Type};

    /// About 77 MB of CSV in three parts. The first 256 KiB of every part (the sample) hold
    /// integers in `code` and `amount` and nothing in `seen`; further in, `code` has a text
    /// (row 1,300,000), `amount` a decimal (row 900,000) and `seen` ten dates (rows 300,000 to
    /// 300,009), when `anomalies`.
    fn table(anomalies: bool) -> (crate::testkit::TempDir, CsvConnector, TableStream) {
        let dir = crate::testkit::tempdir().unwrap();
        let mut s = String::from("id,code,amount,seen,when,pad\n");
        for i in 0..1_400_000usize {
            let code = if anomalies && i == 1_300_000 {
                "A17".to_string()
            } else {
                (i % 1000).to_string()
            };
            let amount = if anomalies && i == 900_000 {
                "2.5".to_string()
            } else {
                (i % 7).to_string()
            };
            let seen = if anomalies && (300_000..300_010).contains(&i) {
                "2025-03-04"
            } else {
                ""
            };
            s.push_str(&format!(
                "{i},{code},{amount},{seen},2025-01-{:02}T10:00:00Z,xxxxxxxxxxxxxxxxxx\n",
                i % 28 + 1
            ));
        }
        std::fs::write(dir.path().join("t.csv"), s).unwrap();
        let connector = CsvConnector::new(dir.path().to_path_buf());
        let stream = connector.read_table(&spec()).unwrap();
        (dir, connector, stream)
    }

    fn spec() -> crate::content::TableSpec {
        let md = "```yaml\ntables:\n  - {id: t.t, name: t, description: T, sync_strategy: full_refresh, file: t.csv, folder: t}\n```\n";
        let mut specs = data_description::parse(md, Path::new("data_description.md")).unwrap();
        specs.remove(0)
    }

    fn types(stream: &TableStream) -> Vec<String> {
        stream
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.column_type))
            .collect()
    }

    #[test]
    fn a_one_pass_read_whose_sample_held_gives_every_row_once() {
        let (_dir, _, stream) = table(false);
        assert_eq!(
            types(&stream),
            [
                "id int64",
                "code int64",
                "amount int64",
                "seen string",
                "when timestamptz",
                "pad string"
            ]
        );
        let (mut rows, mut sum) = (0usize, 0i64);
        for batch in stream.batches {
            let batch = batch.unwrap();
            rows += batch.num_rows();
            let ids = batch.column(0).as_primitive::<Int64Type>();
            sum += ids.iter().map(|v| v.unwrap()).sum::<i64>();
        }
        assert_eq!((rows, sum), (1_400_000, 1_400_000 * 1_399_999 / 2));
    }

    #[test]
    fn a_one_pass_read_whose_sample_misled_is_read_again_with_the_types_of_every_value() {
        let (dir, connector, stream) = table(true);
        // The sample saw only integers and no date.
        assert_eq!(
            types(&stream)[1..4],
            ["code int64", "amount int64", "seen string"]
        );
        let outcome: Vec<_> = stream.batches.collect();
        let last = outcome.last().unwrap().as_ref().unwrap_err();
        assert!(last.is::<ReadAgain>(), "{last:#}");
        assert!(outcome[..outcome.len() - 1].iter().all(Result::is_ok));
        // The read again has the exact types, from the first pass the miss completed.
        let again = connector.read_table(&spec()).unwrap();
        assert_eq!(
            types(&again)[1..4],
            ["code string", "amount float64", "seen date"]
        );
        let (mut rows, mut dates, mut code) = (0usize, 0usize, String::new());
        for batch in again.batches {
            let batch = batch.unwrap();
            assert_eq!(batch.column(3).data_type(), &DataType::Date32);
            dates += batch.column(3).len() - batch.column(3).null_count();
            let codes = batch.column(1).as_string::<i32>();
            if rows <= 1_300_000 && 1_300_000 < rows + batch.num_rows() {
                code = codes.value(1_300_000 - rows).to_string();
            }
            rows += batch.num_rows();
        }
        assert_eq!((rows, dates, code.as_str()), (1_400_000, 10, "A17"));
        drop(dir);
    }

    #[test]
    fn a_part_starting_inside_a_quoted_field_makes_the_read_again_sequential() {
        // Every record holds twenty quoted line breaks: the first line break past 32 MiB is
        // almost surely inside quotes, so a part starts mid-record.
        let dir = crate::testkit::tempdir().unwrap();
        let mut s = String::from("id,text\n");
        let text: Vec<String> = (0..20).map(|k| format!("l{k}")).collect();
        let text = text.join("\n");
        for i in 0..900_000usize {
            s.push_str(&format!("{i},\"{text}\"\n"));
        }
        std::fs::write(dir.path().join("t.csv"), s).unwrap();
        let connector = CsvConnector::new(dir.path().to_path_buf());
        let first: Vec<_> = connector.read_table(&spec()).unwrap().batches.collect();
        assert!(first
            .last()
            .unwrap()
            .as_ref()
            .unwrap_err()
            .is::<ReadAgain>());
        let again = connector.read_table(&spec()).unwrap();
        let mut rows = 0usize;
        for batch in again.batches {
            let batch = batch.unwrap();
            let texts = batch.column(1).as_string::<i32>();
            assert!(texts.iter().all(|t| t == Some(text.as_str())));
            rows += batch.num_rows();
        }
        assert_eq!(rows, 900_000);
    }
}
