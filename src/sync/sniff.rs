//! Delimiter detection for CSV files whose table does not configure `csv: {delimiter}`.
//!
//! Each candidate (`,` `;` tab `|`) splits the first [`SAMPLE_BYTES`] of the file with the
//! quote-aware tokenizer; a candidate fits when the header has more than one field and every
//! record after it in the sample has as many. Exactly one fitting candidate is the delimiter;
//! none or several (ambiguous) leave the default `,`, whose errors (a ragged row) then say
//! what is wrong.

use super::csv_reader::{CsvReader, ReadError, Record};

/// The delimiters tried, in this order.
pub const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Bytes from the start of a file (decompressed and decoded) that detection looks at.
pub const SAMPLE_BYTES: usize = 64 * 1024;

/// The delimiter of a file starting with `sample`; `complete` is true when the sample is the
/// whole file (otherwise its last record may be cut and is not counted). `None` when no
/// candidate or more than one fits.
pub fn detect_delimiter(sample: &[u8], complete: bool) -> Option<u8> {
    let mut found = None;
    for &d in &CANDIDATES {
        if fits(sample, d, complete) {
            if found.is_some() {
                return None;
            }
            found = Some(d);
        }
    }
    found
}

/// True when `delimiter` gives the header more than one field and every following record of
/// the sample as many.
fn fits(sample: &[u8], delimiter: u8, complete: bool) -> bool {
    let mut reader = CsvReader::new(sample, delimiter);
    let mut rec = Record::default();
    let mut counts = Vec::new();
    let mut last_may_be_cut = !complete;
    loop {
        match reader.read_record(&mut rec) {
            Ok(true) if rec.is_blank() => continue,
            Ok(true) => counts.push(rec.len()),
            Ok(false) => break,
            Err(ReadError::Unterminated(_)) if !complete => {
                // The cut fell inside a quoted field: that record was not counted.
                last_may_be_cut = false;
                break;
            }
            Err(_) => return false,
        }
    }
    if last_may_be_cut {
        counts.pop();
    }
    match counts.split_first() {
        Some((&header, rest)) => header > 1 && rest.iter().all(|&n| n == header),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_with_decimal_commas_are_found() {
        let s = "produkt;menge;preis\nÄpfel;3;1,29\nBirnen;12;0,5\n".as_bytes();
        assert_eq!(detect_delimiter(s, true), Some(b';'));
    }

    #[test]
    fn quotes_are_respected() {
        let s = b"a,b\n\"x;y;z\",1\n\"p|q\",2\n";
        assert_eq!(detect_delimiter(s, true), Some(b','));
        let t = b"a\tb\n\"1,2\"\t3\n";
        assert_eq!(detect_delimiter(t, true), Some(b'\t'));
    }

    #[test]
    fn one_column_ambiguous_or_ragged_gives_none() {
        assert_eq!(detect_delimiter(b"name\nx\ny\n", true), None);
        // Both `,` and `;` split every line evenly.
        assert_eq!(detect_delimiter(b"a,b;c\n1,2;3\n", true), None);
        assert_eq!(detect_delimiter(b"a;b\n1;2;3\n", true), None);
        assert_eq!(detect_delimiter(b"", true), None);
        // A header alone decides.
        assert_eq!(detect_delimiter(b"id|name|at\n", true), Some(b'|'));
    }

    #[test]
    fn a_cut_sample_ignores_its_last_record() {
        assert_eq!(detect_delimiter(b"a;b\n1;2\n3", false), Some(b';'));
        assert_eq!(detect_delimiter(b"a;b\n1;2\n\"3\n", false), Some(b';'));
    }
}
