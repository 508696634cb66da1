//! Streaming decoding of a file in a configured encoding (`csv: {encoding: windows-1252}`) into
//! UTF-8, with encoding_rs. Nothing is replaced: a byte sequence that is not valid in the
//! encoding is an error naming its line and byte offset in the file. A byte order mark at the
//! start (UTF-8, UTF-16LE, UTF-16BE) takes precedence over the configured encoding and is
//! removed.
//!
//! Used only when an encoding other than UTF-8 is configured: plain UTF-8 files are read as
//! they are and checked field by field.

use std::io::{self, BufRead, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding};

/// A byte sequence that is not valid in the configured encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Name of the encoding (`windows-1252`).
    pub encoding: &'static str,
    /// 1-based physical line of the sequence.
    pub line: u64,
    /// Byte offset of the sequence in the (decompressed) file.
    pub byte: u64,
    /// The offending bytes (those of the current buffer, at most 4).
    pub bytes: Vec<u8>,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex: Vec<String> = self.bytes.iter().map(|b| format!("0x{b:02X}")).collect();
        write!(
            f,
            "byte{} {} at byte offset {} {} not valid {} (check `csv: {{encoding}}`)",
            if self.bytes.len() == 1 { "" } else { "s" },
            hex.join(" "),
            self.byte,
            if self.bytes.len() == 1 { "is" } else { "are" },
            self.encoding
        )
    }
}

impl std::error::Error for DecodeError {}

/// A [`Read`] of UTF-8 text decoded from `inner` in a given encoding. Meant to be wrapped in a
/// large `BufReader`; reads into smaller buffers than a character go through a small stash.
pub struct Decoding<R: BufRead> {
    inner: R,
    decoder: Decoder,
    encoding: &'static Encoding,
    /// Input bytes consumed so far.
    consumed: u64,
    /// Line breaks in the output so far (LF, CRLF and a lone CR each count once).
    breaks: u64,
    pending_cr: bool,
    done: bool,
    /// Decoded bytes not yet handed out (only for reads into tiny buffers).
    stash: Vec<u8>,
}

impl<R: BufRead> Decoding<R> {
    /// Decode `inner` from `encoding` (a byte order mark at the start overrides it).
    pub fn new(inner: R, encoding: &'static Encoding) -> Self {
        Decoding {
            inner,
            decoder: encoding.new_decoder(),
            encoding,
            consumed: 0,
            breaks: 0,
            pending_cr: false,
            done: false,
            stash: Vec::new(),
        }
    }

    fn count_breaks(&mut self, out: &[u8]) {
        for &b in out {
            match b {
                b'\n' if self.pending_cr => self.pending_cr = false,
                b'\n' => self.breaks += 1,
                b'\r' => {
                    self.breaks += 1;
                    self.pending_cr = true;
                }
                _ => self.pending_cr = false,
            }
        }
    }
}

impl<R: BufRead> Read for Decoding<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.stash.is_empty() {
            let n = out.len().min(self.stash.len());
            out[..n].copy_from_slice(&self.stash[..n]);
            self.stash.drain(..n);
            return Ok(n);
        }
        if out.len() >= 4 {
            return self.decode_into(out);
        }
        let mut room = [0u8; 16];
        let written = self.decode_into(&mut room)?;
        let n = out.len().min(written);
        out[..n].copy_from_slice(&room[..n]);
        self.stash.extend_from_slice(&room[n..written]);
        Ok(n)
    }
}

impl<R: BufRead> Decoding<R> {
    /// Decode into `out` (at least 4 bytes): the bytes written, 0 at the end of the input.
    fn decode_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        loop {
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let (result, read, written) = self
                .decoder
                .decode_to_utf8_without_replacement(src, out, last);
            let malformed = match result {
                DecoderResult::Malformed(len, after) => {
                    let end = read.saturating_sub(usize::from(after));
                    let start = end.saturating_sub(usize::from(len));
                    Some((src[start..end].to_vec(), start))
                }
                _ => None,
            };
            self.inner.consume(read);
            let base = self.consumed;
            self.consumed += read as u64;
            self.count_breaks(&out[..written]);
            if let Some((bytes, start)) = malformed {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    DecodeError {
                        encoding: self.encoding.name(),
                        line: self.breaks + 1,
                        byte: base + start as u64,
                        bytes,
                    },
                ));
            }
            match result {
                DecoderResult::OutputFull => return Ok(written),
                _ if last => {
                    self.done = true;
                    return Ok(written);
                }
                _ if written > 0 => return Ok(written),
                _ => {} // All input so far was a partial sequence: read more.
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], enc: &'static Encoding, cap: usize) -> io::Result<String> {
        let mut r = io::BufReader::with_capacity(
            cap.max(4),
            Decoding::new(io::BufReader::with_capacity(cap, bytes), enc),
        );
        let mut s = String::new();
        r.read_to_string(&mut s)?;
        Ok(s)
    }

    #[test]
    fn windows_1252_is_not_latin_1() {
        let s = decode(
            b"Caf\xe9 \x96 \x80\x31\x32 \x8cuvre",
            encoding_rs::WINDOWS_1252,
            3,
        )
        .unwrap();
        assert_eq!(s, "Café – €12 Œuvre");
    }

    #[test]
    fn invalid_sequences_are_errors_with_line_and_offset() {
        // UTF-16LE with a lone low surrogate (0xDC00) on line 2.
        let bytes = b"a\x00\n\x00b\x00\x00\xdc";
        let e = decode(bytes, encoding_rs::UTF_16LE, 2).unwrap_err();
        let d = e
            .get_ref()
            .and_then(|x| x.downcast_ref::<DecodeError>())
            .unwrap();
        assert_eq!((d.line, d.encoding), (2, "UTF-16LE"));
        assert_eq!(d.byte, 6);
    }

    #[test]
    fn a_byte_order_mark_is_removed() {
        let s = decode(b"\xef\xbb\xbfid", encoding_rs::WINDOWS_1252, 64).unwrap();
        assert_eq!(s, "id");
    }
}
