//! An RFC 4180 CSV tokenizer that keeps what general-purpose readers throw away: whether each
//! field was quoted (a quoted empty field is the empty string, an unquoted one is NULL), the
//! physical line and the byte offset of every record, for errors that point at the exact place.
//!
//! Accepted: a UTF-8 byte order mark before the header (removed), `"` quoting with `""` as the
//! escaped quote, delimiters and line breaks inside quotes, LF, CRLF and lone CR line ends, a
//! missing final line end. Backslashes are ordinary characters. Memory is one record.

use std::io::BufRead;

/// One record: its bytes, where each field is in them, whether it was quoted and where it
/// starts in the input. After [`CsvReader::read_record`] the bytes are also checked as UTF-8
/// once, so fields are handed out as text without a check per field.
#[derive(Debug, Clone)]
pub struct Record {
    /// The record's bytes: fields with quotes removed (`""` unescaped), or, for a line without
    /// quotes, the line as it is (delimiters included).
    text: Result<String, std::string::FromUtf8Error>,
    buf: Vec<u8>,
    fields: Vec<FieldSpan>,
    /// 1-based physical line where the record starts.
    pub line: u64,
    /// Byte offset in the (decompressed) input where the record starts.
    pub byte: u64,
}

/// Where one field is: `start..end` in the record's bytes, and its byte offset in the input.
#[derive(Debug, Clone, Copy)]
struct FieldSpan {
    start: u32,
    end: u32,
    quoted: bool,
    byte: u64,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            text: Ok(String::new()),
            buf: Vec::new(),
            fields: Vec::new(),
            line: 0,
            byte: 0,
        }
    }
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the record has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        match &self.text {
            Ok(s) => s.as_bytes(),
            Err(e) => e.as_bytes(),
        }
    }

    /// Bytes of field `i` (quotes removed, `""` unescaped). Panics if `i >= len()`.
    #[inline]
    pub fn field(&self, i: usize) -> &[u8] {
        let f = self.fields[i];
        &self.bytes()[f.start as usize..f.end as usize]
    }

    /// Field `i` as text; `None` when its bytes are not UTF-8 (then [`Record::field`] and
    /// `std::str::from_utf8` tell where). Panics if `i >= len()`.
    #[inline]
    pub fn field_text(&self, i: usize) -> Option<&str> {
        let f = self.fields[i];
        match &self.text {
            Ok(s) => s.get(f.start as usize..f.end as usize),
            Err(_) => std::str::from_utf8(self.field(i)).ok(),
        }
    }

    /// True when field `i` was written in quotes.
    #[inline]
    pub fn is_quoted(&self, i: usize) -> bool {
        self.fields[i].quoted
    }

    /// Byte offset in the input where field `i` starts.
    pub fn field_byte(&self, i: usize) -> u64 {
        self.fields[i].byte
    }

    /// True for a line with nothing on it (one unquoted empty field).
    pub fn is_blank(&self) -> bool {
        self.fields.len() == 1
            && self.fields[0].end == self.fields[0].start
            && !self.fields[0].quoted
    }

    /// Start a record: take the bytes back from the text of the previous one.
    fn clear(&mut self) {
        let text = std::mem::replace(&mut self.text, Ok(String::new()));
        self.buf = match text {
            Ok(s) => s.into_bytes(),
            Err(e) => e.into_bytes(),
        };
        self.buf.clear();
        self.fields.clear();
    }

    /// End field `start..` of the bytes at their current end.
    fn push_field(&mut self, start: usize, quoted: bool, byte: u64) -> Result<(), ReadError> {
        let end = self.buf.len();
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
            return Err(ReadError::TooLong(self.line, self.byte));
        };
        self.fields.push(FieldSpan {
            start,
            end,
            quoted,
            byte,
        });
        Ok(())
    }

    /// End the record: check its bytes as UTF-8 once.
    fn finish(&mut self) {
        self.text = String::from_utf8(std::mem::take(&mut self.buf));
    }
}

/// A malformed input: a quoted field never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizeError {
    /// 1-based line where the unterminated quoted field starts.
    pub line: u64,
    /// Byte offset where it starts.
    pub byte: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Reads records from a buffered byte stream.
pub struct CsvReader<R: BufRead> {
    inner: R,
    delimiter: u8,
    line: u64,
    byte: u64,
    at_start: bool,
    pending_cr: bool,
}

impl<R: BufRead> CsvReader<R> {
    /// A reader splitting fields on `delimiter` (usually `b','`).
    pub fn new(inner: R, delimiter: u8) -> Self {
        CsvReader {
            inner,
            delimiter,
            line: 1,
            byte: 0,
            at_start: true,
            pending_cr: false,
        }
    }

    /// A reader over a part of a file that starts at a record boundary: `line` and `byte` are
    /// where that part starts in the whole file, so records and errors name the file's own
    /// lines and offsets. No byte order mark is looked for.
    pub fn resume(inner: R, delimiter: u8, line: u64, byte: u64) -> Self {
        CsvReader {
            inner,
            delimiter,
            line,
            byte,
            at_start: false,
            pending_cr: false,
        }
    }

    /// The byte offset the reader is at (where the next record starts, blank lines included).
    pub fn byte(&self) -> u64 {
        self.byte
    }

    /// The 1-based physical line the reader is at (where the next record starts, or where
    /// reading stopped on an error).
    pub fn line(&self) -> u64 {
        self.line
    }

    fn skip_bom(&mut self) -> std::io::Result<()> {
        self.at_start = false;
        let buf = self.inner.fill_buf()?;
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.inner.consume(3);
            self.byte += 3;
        }
        Ok(())
    }

    /// Read the next record into `rec`. Returns `Ok(false)` at the end of input.
    ///
    /// A line without quotes that is whole in the buffer (nearly every line of most files) is
    /// split with vectorised searches; any other record goes through the byte-by-byte state
    /// machine.
    ///
    /// Errors ([`ReadError`]): an I/O error of the stream (gzip and decoding errors too); an
    /// unterminated quoted field; a record of 4 GiB or more.
    pub fn read_record(&mut self, rec: &mut Record) -> Result<bool, ReadError> {
        if self.at_start {
            self.skip_bom().map_err(ReadError::Io)?;
        }
        rec.clear();
        if self.pending_cr {
            // The LF of a CRLF whose CR ended the previous record at the end of a buffer.
            self.pending_cr = false;
            if self.fill()?.first() == Some(&b'\n') {
                self.inner.consume(1);
                self.byte += 1;
            }
        }
        rec.line = self.line;
        rec.byte = self.byte;
        if !self.quick_record(rec)? {
            self.slow_record(rec)?;
        }
        if rec.fields.is_empty() {
            return Ok(false);
        }
        rec.finish();
        Ok(true)
    }

    /// The buffered bytes, refilled when empty (empty at the end of input).
    fn fill(&mut self) -> Result<&[u8], ReadError> {
        loop {
            match self.inner.fill_buf() {
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
        // Filled: this returns the buffered bytes without reading.
        self.inner.fill_buf().map_err(ReadError::Io)
    }

    /// The fast path: a line end in the buffer and no quote before it. Returns `false`
    /// (nothing consumed) otherwise.
    fn quick_record(&mut self, rec: &mut Record) -> Result<bool, ReadError> {
        let delim = self.delimiter;
        let start = self.byte;
        let buf = self.fill()?;
        let Some(end) = memchr::memchr2(b'\n', b'\r', buf) else {
            return Ok(false);
        };
        let line = &buf[..end];
        if memchr::memchr(b'"', line).is_some() {
            return Ok(false);
        }
        let mut used = end + 1;
        let mut pending_cr = false;
        if buf[end] == b'\r' {
            match buf.get(end + 1) {
                Some(b'\n') => used += 1,
                Some(_) => {}
                None => pending_cr = true,
            }
        }
        rec.buf.extend_from_slice(line);
        let mut field = 0;
        for p in memchr::memchr_iter(delim, line) {
            rec.fields.push(FieldSpan {
                start: field as u32,
                end: p as u32,
                quoted: false,
                byte: start + field as u64,
            });
            field = p + 1;
        }
        if u32::try_from(end).is_err() {
            return Err(ReadError::TooLong(self.line, start));
        }
        rec.fields.push(FieldSpan {
            start: field as u32,
            end: end as u32,
            quoted: false,
            byte: start + field as u64,
        });
        self.inner.consume(used);
        self.pending_cr = pending_cr;
        self.line += 1;
        self.byte += used as u64;
        Ok(true)
    }

    /// The state machine: any record, over as many buffers as it spans. Leaves `rec` without
    /// fields at the end of input.
    fn slow_record(&mut self, rec: &mut Record) -> Result<(), ReadError> {
        let mut state = State::FieldStart;
        let mut any = false;
        let mut field_quoted = false;
        let mut field_start = self.byte;
        let mut field_begin = 0usize;
        let delim = self.delimiter;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Io(e)),
            };
            if buf.is_empty() {
                // End of input.
                return match state {
                    State::Quoted => Err(ReadError::Unterminated(TokenizeError {
                        line: rec.line,
                        byte: field_start,
                    })),
                    _ if !any => Ok(()),
                    _ => rec.push_field(field_begin, field_quoted, field_start),
                };
            }
            let mut i = 0;
            let n = buf.len();
            let mut done = false;
            while i < n {
                let b = buf[i];
                match state {
                    State::FieldStart | State::Unquoted => {
                        if b == delim {
                            any = true;
                            rec.push_field(field_begin, field_quoted, field_start)?;
                            field_quoted = false;
                            field_start = self.byte + i as u64 + 1;
                            field_begin = rec.buf.len();
                            state = State::FieldStart;
                        } else if b == b'\n' || b == b'\r' {
                            rec.push_field(field_begin, field_quoted, field_start)?;
                            self.line += 1;
                            if b == b'\r' {
                                if i + 1 < n {
                                    if buf[i + 1] == b'\n' {
                                        i += 1;
                                    }
                                } else {
                                    self.pending_cr = true;
                                }
                            }
                            i += 1;
                            done = true;
                            break;
                        } else if b == b'"' && state == State::FieldStart {
                            any = true;
                            field_quoted = true;
                            state = State::Quoted;
                        } else {
                            any = true;
                            // Copy the run of ordinary bytes at once.
                            let run_end = memchr::memchr3(delim, b'\n', b'\r', &buf[i..])
                                .map_or(n, |p| i + p);
                            rec.buf.extend_from_slice(&buf[i..run_end]);
                            state = State::Unquoted;
                            i = run_end;
                            continue;
                        }
                    }
                    State::Quoted => {
                        if b == b'"' {
                            state = State::QuoteInQuoted;
                        } else {
                            let run_end = memchr::memchr(b'"', &buf[i..]).map_or(n, |p| i + p);
                            let run = &buf[i..run_end];
                            self.line += memchr::memchr_iter(b'\n', run).count() as u64;
                            rec.buf.extend_from_slice(run);
                            i = run_end;
                            continue;
                        }
                    }
                    State::QuoteInQuoted => {
                        if b == b'"' {
                            rec.buf.push(b'"');
                            state = State::Quoted;
                        } else if b == delim || b == b'\n' || b == b'\r' {
                            state = State::Unquoted;
                            continue; // handled as the end of the field
                        } else {
                            // Text after a closing quote: kept literally.
                            rec.buf.push(b);
                            state = State::Unquoted;
                        }
                    }
                }
                i += 1;
            }
            self.byte += i as u64;
            self.inner.consume(i);
            if done {
                return Ok(());
            }
        }
    }
}

/// Why a record could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The underlying stream failed (includes gzip errors).
    Io(std::io::Error),
    /// A quoted field is never closed.
    Unterminated(TokenizeError),
    /// A record of 4 GiB or more (line, byte offset where it starts).
    TooLong(u64, u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<Vec<(String, bool)>> {
        let mut r = CsvReader::new(input, b',');
        let mut rec = Record::default();
        let mut out = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            out.push(
                (0..rec.len())
                    .map(|i| {
                        (
                            String::from_utf8(rec.field(i).to_vec()).unwrap(),
                            rec.is_quoted(i),
                        )
                    })
                    .collect(),
            );
        }
        out
    }

    #[test]
    fn quoted_newlines_doubled_quotes_and_empty_kinds() {
        let recs = all(b"\xEF\xBB\xBF\"id\",t\n1,\"a \"\"q\"\"\nb\"\n2,\"\"\n3,\r\n");
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0][0], ("id".to_string(), true));
        assert_eq!(recs[1][1].0, "a \"q\"\nb");
        assert_eq!(recs[2][1], (String::new(), true));
        assert_eq!(recs[3][1], (String::new(), false));
    }

    #[test]
    fn lines_and_bytes_are_tracked() {
        let mut r = CsvReader::new(&b"a,b\n\"x\ny\",1\nlast,2"[..], b',');
        let mut rec = Record::default();
        r.read_record(&mut rec).unwrap();
        assert_eq!((rec.line, rec.byte), (1, 0));
        r.read_record(&mut rec).unwrap();
        assert_eq!((rec.line, rec.byte), (2, 4));
        r.read_record(&mut rec).unwrap();
        assert_eq!((rec.line, rec.byte), (4, 12));
        assert_eq!(rec.field(0), b"last");
        assert!(!r.read_record(&mut rec).unwrap());
    }

    #[test]
    fn unterminated_quote_is_an_error_with_its_line() {
        let mut r = CsvReader::new(&b"a\n\"open\n"[..], b',');
        let mut rec = Record::default();
        r.read_record(&mut rec).unwrap();
        match r.read_record(&mut rec) {
            Err(ReadError::Unterminated(e)) => assert_eq!(e.line, 2),
            other => panic!("expected error, got {other:?}"),
        }
    }

    #[test]
    fn small_buffers_give_the_same_records() {
        let data = b"h1,h2\r\n\"a,\"\"b\",c\r\n,\"\"\r\n";
        let small = std::io::BufReader::with_capacity(1, &data[..]);
        let mut r = CsvReader::new(small, b',');
        let mut rec = Record::default();
        let mut n = 0;
        while r.read_record(&mut rec).unwrap() {
            n += 1;
            if n == 2 {
                assert_eq!(rec.field(0), b"a,\"b");
            }
            if n == 3 {
                assert!(!rec.is_quoted(0) && rec.is_quoted(1));
                assert_eq!(rec.line, 3);
            }
        }
        assert_eq!(n, 3);
    }

    /// A record as (line, byte, fields with their quoted flag and byte offset).
    type Seen = (u64, u64, Vec<(Vec<u8>, bool, u64)>);

    fn with_capacity(input: &[u8], capacity: usize) -> Vec<Seen> {
        let mut r = CsvReader::new(std::io::BufReader::with_capacity(capacity, input), b';');
        let mut rec = Record::default();
        let mut out = Vec::new();
        while r.read_record(&mut rec).unwrap() {
            let fields = (0..rec.len())
                .map(|i| (rec.field(i).to_vec(), rec.is_quoted(i), rec.field_byte(i)))
                .collect();
            out.push((rec.line, rec.byte, fields));
        }
        out
    }

    #[test]
    fn the_fast_path_and_the_state_machine_split_alike_at_every_buffer_size() {
        let input =
            "a;b;c\r\n1;;x y\r\n\"q;\"\"\";2;\"\"\n\n\r3;\"multi\nline\";z\rlast;é;\"\"\"\"";
        let whole = with_capacity(input.as_bytes(), 1 << 16);
        assert_eq!(whole.len(), 7); // blank lines are records here (one empty field)
        assert_eq!(whole[1].2[1], (Vec::new(), false, 9));
        assert_eq!(whole[2].2[0], (b"q;\"".to_vec(), true, 15));
        assert_eq!((whole[4].0, whole[4].1), (5, 28));
        assert_eq!((whole[5].0, whole[5].1), (6, 29));
        assert_eq!(whole[5].2[1].0, b"multi\nline");
        assert_eq!(
            (whole[6].0, whole[6].2[1].0.as_slice()),
            (8, "é".as_bytes())
        );
        assert_eq!(whole[6].2[2], (b"\"".to_vec(), true, 54));
        for capacity in 1..40 {
            assert_eq!(
                with_capacity(input.as_bytes(), capacity),
                whole,
                "capacity {capacity}"
            );
        }
    }
}
