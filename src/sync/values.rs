//! Parsing CSV text into typed values, and deciding a column's type from all of its values.
//!
//! Policy (applied the same way to the Parquet file, the profile and the catalog):
//! - An unquoted empty field is NULL. A quoted empty field (`""`) is the empty string in a
//!   string column, and NULL in a column of any other type (it is not a number, date or boolean).
//! - Integers: optional sign and digits, fitting in Int64. A value with a redundant leading zero
//!   (`007`, `-01`; a lone `0` is fine) makes the column text, so codes keep their zeros. An
//!   integer beyond Int64 makes the column text, never a float.
//! - Floats: decimal point and/or exponent (`1.5`, `.5`, `1e3`), `NaN`, `inf`, `Infinity`.
//! - Booleans: `true`/`false` and `t`/`f` in any case. `0`/`1` stay integers, `yes`/`no` text.
//! - Dates: `YYYY-MM-DD` (a valid calendar date).
//! - Timestamps: `YYYY-MM-DD` then `T` or a space, `HH:MM[:SS[.ffffff]]`, then an optional zone
//!   `Z`, `±HH`, `±HH:MM` or `±HHMM`; the instant is stored in UTC with microsecond precision.
//!   A value without a zone is read as UTC. A column mixing dates and timestamps is a timestamp
//!   column (dates at midnight UTC).
//! - Anything else is text. Types are decided on every value of the file, never a sample.

use chrono::NaiveDate;

use crate::content::ColumnType;

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The shape of an integer-looking text.
#[derive(Debug, PartialEq, Eq)]
pub enum IntShape {
    /// A valid Int64.
    Int(i64),
    /// Digits with a redundant leading zero (`007`): a code, not a number.
    LeadingZero,
    /// Digits that do not fit in Int64.
    Overflow,
    /// Not an integer literal.
    NotInt,
}

/// Classify `s` as an integer literal. ASCII digits only, optional leading `+` or `-`.
pub fn int_shape(s: &str) -> IntShape {
    let b = s.as_bytes();
    let digits = match b.first() {
        Some(b'+') | Some(b'-') => &b[1..],
        _ => b,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return IntShape::NotInt;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return IntShape::LeadingZero;
    }
    match s.parse::<i64>() {
        Ok(v) => IntShape::Int(v),
        Err(_) => IntShape::Overflow,
    }
}

/// Parse a float literal (see the module policy). `None` when `s` is not one, or when its
/// integer part has a redundant leading zero (`01.5`).
pub fn parse_f64(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let body = match b.first() {
        Some(b'+') | Some(b'-') => &b[1..],
        _ => b,
    };
    if body.is_empty() {
        return None;
    }
    if body[0].is_ascii_alphabetic() {
        let word = std::str::from_utf8(body).ok()?.to_ascii_lowercase();
        return match word.as_str() {
            "nan" => Some(f64::NAN),
            "inf" | "infinity" => Some(if b[0] == b'-' {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }),
            _ => None,
        };
    }
    // Only digits, one '.', and an exponent: no hex, no thousands separators, no spaces.
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'0'..=b'9' => seen_digit = true,
            b'.' if !seen_dot => seen_dot = true,
            b'e' | b'E' if seen_digit => break,
            _ => return None,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if i < body.len() {
        let exp = &body[i + 1..];
        let exp = match exp.first() {
            Some(b'+') | Some(b'-') => &exp[1..],
            _ => exp,
        };
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    let int_part_len = body
        .iter()
        .position(|&c| c == b'.' || c == b'e' || c == b'E');
    let int_part = &body[..int_part_len.unwrap_or(body.len())];
    if int_part.len() > 1 && int_part[0] == b'0' {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Parse a boolean: `true`/`false`/`t`/`f`, any case.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("t") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("f") {
        Some(false)
    } else {
        None
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v = 0u32;
    for &d in b {
        v = v * 10 + u32::from(d - b'0');
    }
    Some(v)
}

fn parse_ymd(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// Parse `YYYY-MM-DD` into days since 1970-01-01 (Arrow Date32).
pub fn parse_date(s: &str) -> Option<i32> {
    use chrono::Datelike;
    parse_ymd(s.as_bytes()).map(|d| d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

/// Parse a timestamp (see the module policy) into microseconds since 1970-01-01T00:00:00Z.
/// A plain date is accepted as midnight UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let date = parse_ymd(&b[..10])?;
    let days = i64::from(parse_date(&s[..10])?);
    let _ = date;
    if b.len() == 10 {
        return days.checked_mul(86_400_000_000);
    }
    if b[10] != b'T' && b[10] != b' ' && b[10] != b't' {
        return None;
    }
    let rest = &b[11..];
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let hh = digits(&rest[0..2])?;
    let mm = digits(&rest[3..5])?;
    let mut i = 5;
    let mut ss = 0u32;
    let mut micros = 0u32;
    if rest.len() >= 8 && rest[5] == b':' {
        ss = digits(&rest[6..8])?;
        i = 8;
        if i < rest.len() && (rest[i] == b'.' || rest[i] == b',') {
            let start = i + 1;
            let mut end = start;
            while end < rest.len() && rest[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return None;
            }
            let frac = &rest[start..end];
            let mut v = 0u32;
            for k in 0..6 {
                v = v * 10 + frac.get(k).map(|d| u32::from(d - b'0')).unwrap_or(0);
            }
            micros = v;
            i = end;
        }
    }
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let zone = &rest[i..];
    let zone = zone.strip_prefix(b" ").unwrap_or(zone);
    let offset_secs: i64 = match zone {
        [] | b"Z" | b"z" | b"UTC" => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail.len() {
                2 => (digits(tail)?, 0),
                4 => (digits(&tail[0..2])?, digits(&tail[2..4])?),
                5 if tail[2] == b':' => (digits(&tail[0..2])?, digits(&tail[3..5])?),
                _ => return None,
            };
            if h > 18 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let secs = days * 86_400 + i64::from(hh * 3600 + mm * 60 + ss) - offset_secs;
    secs.checked_mul(1_000_000)?.checked_add(i64::from(micros))
}

/// Accumulates what a column's values allow, value by value.
#[derive(Debug, Clone)]
pub struct TypeGuess {
    can_int: bool,
    can_float: bool,
    can_bool: bool,
    can_date: bool,
    can_timestamp: bool,
    saw_value: bool,
}

impl Default for TypeGuess {
    fn default() -> Self {
        TypeGuess {
            can_int: true,
            can_float: true,
            can_bool: true,
            can_date: true,
            can_timestamp: true,
            saw_value: false,
        }
    }
}

impl TypeGuess {
    /// True once only text remains possible: further values need not be looked at.
    pub fn is_text(&self) -> bool {
        self.saw_value
            && !(self.can_int
                || self.can_float
                || self.can_bool
                || self.can_date
                || self.can_timestamp)
    }

    /// Take one non-null value into account. `quoted_empty` values (`""`) say nothing about the
    /// type and are ignored here.
    pub fn observe(&mut self, s: &str) {
        self.saw_value = true;
        if self.can_int || self.can_float {
            match int_shape(s) {
                IntShape::Int(_) => {}
                IntShape::LeadingZero | IntShape::Overflow => {
                    self.can_int = false;
                    self.can_float = false;
                }
                IntShape::NotInt => {
                    self.can_int = false;
                    if self.can_float && parse_f64(s).is_none() {
                        self.can_float = false;
                    }
                }
            }
        }
        if self.can_bool && parse_bool(s).is_none() {
            self.can_bool = false;
        }
        if self.can_date || self.can_timestamp {
            if s.len() == 10 {
                if parse_date(s).is_none() {
                    self.can_date = false;
                    self.can_timestamp = false;
                }
            } else {
                self.can_date = false;
                if self.can_timestamp && parse_timestamp(s).is_none() {
                    self.can_timestamp = false;
                }
            }
        }
    }

    /// The type the values seen allow, narrowest first: int64, float64, boolean, date,
    /// timestamp, else string. A column with no value at all is string.
    pub fn decide(&self) -> ColumnType {
        if !self.saw_value {
            ColumnType::String
        } else if self.can_int {
            ColumnType::Int64
        } else if self.can_float {
            ColumnType::Float64
        } else if self.can_bool {
            ColumnType::Boolean
        } else if self.can_date {
            ColumnType::Date
        } else if self.can_timestamp {
            ColumnType::Timestamp
        } else {
            ColumnType::String
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(values: &[&str]) -> ColumnType {
        let mut g = TypeGuess::default();
        for v in values {
            g.observe(v);
        }
        g.decide()
    }

    #[test]
    fn leading_zero_codes_and_big_integers_stay_text() {
        assert_eq!(guess(&["04017", "10001"]), ColumnType::String);
        assert_eq!(guess(&["0", "1", "-1"]), ColumnType::Int64);
        assert_eq!(guess(&["1", "99999999999999999999"]), ColumnType::String);
        assert_eq!(guess(&["2", "2.75"]), ColumnType::Float64);
        assert_eq!(guess(&["1", "X1501"]), ColumnType::String);
    }

    #[test]
    fn booleans_dates_timestamps() {
        assert_eq!(guess(&["TRUE", "false", "T"]), ColumnType::Boolean);
        assert_eq!(guess(&["1", "0"]), ColumnType::Int64);
        assert_eq!(guess(&["yes", "no"]), ColumnType::String);
        assert_eq!(guess(&["2024-02-29", "2024-03-01"]), ColumnType::Date);
        assert_eq!(guess(&["2023-02-29"]), ColumnType::String);
        assert_eq!(
            guess(&["2024-02-29", "2024-03-01 10:00:00"]),
            ColumnType::Timestamp
        );
    }

    #[test]
    fn timestamp_offsets_become_utc_instants() {
        // 2021-06-30T08:15:42.123456+02 == 2021-06-30T06:15:42.123456Z == 1625033742.123456
        assert_eq!(
            parse_timestamp("2021-06-30 08:15:42.123456+02"),
            Some(1_625_033_742_123_456)
        );
        assert_eq!(
            parse_timestamp("2021-01-01T00:00:00+01:00"),
            Some(1_609_455_600_000_000)
        );
        assert_eq!(
            parse_timestamp("2021-01-01T12:00:00+0530"),
            Some(1_609_482_600_000_000)
        );
        assert_eq!(
            parse_timestamp("2021-01-01T06:30:00Z"),
            Some(1_609_482_600_000_000)
        );
        assert_eq!(parse_timestamp("2021-01-01T25:00:00Z"), None);
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64("1e3"), Some(1000.0));
        assert_eq!(parse_f64(".5"), Some(0.5));
        assert_eq!(parse_f64("0.5"), Some(0.5));
        assert_eq!(parse_f64("01.5"), None);
        assert_eq!(parse_f64("1,5"), None);
        assert!(parse_f64("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_f64("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64("e5"), None);
        assert_eq!(parse_f64("1e"), None);
    }
}
