//! An RFC 4180 CSV tokenizer that keeps what general-purpose readers throw away: whether each
//! field was quoted (a quoted empty field is the empty string, an unquoted one is NULL), the
//! physical line and the byte offset of every record, for errors that point at the exact place.
//!
//! Accepted: a UTF-8 byte order mark before the header (removed), `"` quoting with `""` as the
//! escaped quote, delimiters and line breaks inside quotes, LF, CRLF and lone CR line ends, a
//! missing final line end. Backslashes are ordinary characters. Memory is one record.

use std::io::BufRead;

/// One record: its fields' bytes, where each field ends, and whether it was quoted.
#[derive(Debug, Default, Clone)]
pub struct Record {
    buf: Vec<u8>,
    ends: Vec<usize>,
    quoted: Vec<bool>,
    starts: Vec<u64>,
    /// 1-based physical line where the record starts.
    pub line: u64,
    /// Byte offset in the (decompressed) input where the record starts.
    pub byte: u64,
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the record has no field.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of field `i` (quotes removed, `""` unescaped). Panics if `i >= len()`.
    pub fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }

    /// True when field `i` was written in quotes.
    pub fn is_quoted(&self, i: usize) -> bool {
        self.quoted[i]
    }

    /// Byte offset in the input where field `i` starts.
    pub fn field_byte(&self, i: usize) -> u64 {
        self.starts[i]
    }

    /// True for a line with nothing on it (one unquoted empty field).
    pub fn is_blank(&self) -> bool {
        self.ends.len() == 1 && self.ends[0] == 0 && !self.quoted[0]
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.quoted.clear();
        self.starts.clear();
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
    /// Errors ([`ReadError`]): an I/O error of the stream (gzip and decoding errors too); an
    /// unterminated quoted field.
    pub fn read_record(&mut self, rec: &mut Record) -> Result<bool, ReadError> {
        if self.at_start {
            self.skip_bom().map_err(ReadError::Io)?;
        }
        rec.clear();
        let mut state = State::FieldStart;
        let mut any = false;
        rec.line = self.line;
        rec.byte = self.byte;
        let mut field_quoted = false;
        let mut field_start = self.byte;
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
                    _ if !any => Ok(false),
                    _ => {
                        rec.ends.push(rec.buf.len());
                        rec.quoted.push(field_quoted);
                        rec.starts.push(field_start);
                        Ok(true)
                    }
                };
            }
            let mut i = 0;
            let n = buf.len();
            if self.pending_cr {
                self.pending_cr = false;
                if buf[0] == b'\n' {
                    i = 1;
                    if !any {
                        // The LF of a CRLF whose CR ended the previous record.
                        rec.byte += 1;
                        field_start += 1;
                    }
                }
            }
            let mut done = false;
            while i < n {
                let b = buf[i];
                match state {
                    State::FieldStart | State::Unquoted => {
                        if b == delim {
                            any = true;
                            rec.ends.push(rec.buf.len());
                            rec.quoted.push(field_quoted);
                            rec.starts.push(field_start);
                            field_quoted = false;
                            field_start = self.byte + i as u64 + 1;
                            state = State::FieldStart;
                        } else if b == b'\n' || b == b'\r' {
                            rec.ends.push(rec.buf.len());
                            rec.quoted.push(field_quoted);
                            rec.starts.push(field_start);
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
                            // Fast path: copy the run of ordinary bytes at once.
                            let run_end = buf[i..]
                                .iter()
                                .position(|&c| c == delim || c == b'\n' || c == b'\r')
                                .map(|p| i + p)
                                .unwrap_or(n);
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
                            let run_end = buf[i..]
                                .iter()
                                .position(|&c| c == b'"')
                                .map(|p| i + p)
                                .unwrap_or(n);
                            let run = &buf[i..run_end];
                            self.line += run.iter().filter(|&&c| c == b'\n').count() as u64;
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
                return Ok(true);
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
}
