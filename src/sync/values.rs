//! Parsing CSV text into typed values, and deciding a column's type from all of its values.
//!
//! Policy (applied the same way to the Parquet file, the profile and the catalog):
//! - An unquoted empty field is NULL, and so is an unquoted field equal to one of the table's
//!   `null_values`. A quoted empty field (`""`) is the empty string in a string column, and NULL
//!   in a column of any other type (it is not a number, date or boolean). A quoted field is
//!   never a NULL token.
//! - Integers: optional sign and digits, fitting in Int64. A value with a redundant leading zero
//!   (`007`, `-01`; a lone `0` is fine) makes the column text, so codes keep their zeros. An
//!   integer beyond Int64 makes the column text, never a float.
//! - Floats: decimal point and/or exponent (`1.5`, `.5`, `1e3`), `NaN`, `inf`, `Infinity`.
//!   With [`DecimalPolicy::Comma`] the separator is `,` instead (`1,5`, `,5`, `1,5e3`) and a `.`
//!   makes the value text. With [`DecimalPolicy::Detect`] a column whose every value is an
//!   integer or `digits,digits` (`1,29`, `-0,5`), at least one of them with the comma, is a
//!   float read with `,`; a column mixing `1,5` and `1.5` is text. A decimal comma is never
//!   dropped: `1,29` is 1.29 or text, never 129.
//! - Booleans: `true`/`false` and `t`/`f` in any case. `0`/`1` stay integers, `yes`/`no` text.
//! - Dates: `YYYY-MM-DD`; `dd.mm.yyyy` (day first; 1 or 2 digit day and month); `a/b/yyyy`
//!   decided over the whole column: a first part above 12 somewhere makes it day-first, a second
//!   part above 12 month-first, and when every value reads both ways (or neither) the column is
//!   text. A `date_format` (chrono strftime) replaces the `dd.mm.yyyy` and `a/b/yyyy` guesses:
//!   a column is a date when every value is `YYYY-MM-DD`, or every value reads with the format.
//!   An impossible calendar date (Feb 30) makes the column text. One column, one format.
//! - Timestamps: `YYYY-MM-DD` then `T` or a space, `HH:MM[:SS[.fraction]]` (microseconds kept,
//!   digits beyond the sixth dropped), then an optional zone `Z`, `UTC`, `±HH`, `±HH:MM` or
//!   `±HHMM`. Values with a zone are instants: `timestamptz`, converted to UTC. Values without
//!   one are wall-clock times: `timestamp`, stored as written and never shifted. A column mixing
//!   the two is text. A plain `YYYY-MM-DD` among wall-clock timestamps is midnight.
//! - Anything else is text. Types are decided on every value of the file, never a sample.
//! - A declared column is not read before it is written: its decimal separator (when not fixed
//!   by the table's options) and its date form come from its first value that tells them
//!   ([`decimal_comma_of`], [`date_format_of`]); later values must follow.

use chrono::{Datelike, NaiveDate};

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

/// Parse a float literal with a decimal point (see the module policy). `None` when `s` is not
/// one, or when its integer part has a redundant leading zero (`01.5`).
pub fn parse_f64(s: &str) -> Option<f64> {
    parse_float(s, b'.')
}

/// Parse a float literal whose decimal separator is `sep` (`b'.'` or `b','`): optional sign,
/// digits with at most one `sep`, optional exponent; or `NaN`, `inf`, `infinity` in any case.
/// `None` when `s` is not one, or when its integer part has a redundant leading zero.
pub fn parse_float(s: &str, sep: u8) -> Option<f64> {
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
    // Only digits, one separator, and an exponent: no hex, no thousands separators, no spaces.
    let mut seen_digit = false;
    let mut sep_at = None;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'0'..=b'9' => seen_digit = true,
            c if c == sep && sep_at.is_none() => sep_at = Some(i),
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
    let int_part = &body[..sep_at.unwrap_or(i)];
    if int_part.len() > 1 && int_part[0] == b'0' {
        return None;
    }
    match sep_at {
        Some(at) if sep != b'.' => {
            // Rust reads `.` only: the same text with the separator replaced.
            let at = at + (b.len() - body.len());
            let mut text = [0u8; 64];
            if b.len() <= text.len() {
                text[..b.len()].copy_from_slice(b);
                text[at] = b'.';
                std::str::from_utf8(&text[..b.len()]).ok()?.parse().ok()
            } else {
                let mut owned = b.to_vec();
                owned[at] = b'.';
                std::str::from_utf8(&owned).ok()?.parse().ok()
            }
        }
        _ => s.parse().ok(),
    }
}

/// Parse `[+-]digits,digits` without a redundant leading zero (`1,29`, `0,5`, `-12,00`): the
/// one shape a decimal comma is recognised in when it is not configured.
pub fn parse_decimal_comma(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let body = match b.first() {
        Some(b'+') | Some(b'-') => &b[1..],
        _ => b,
    };
    let comma = body.iter().position(|&c| c == b',')?;
    let (int, frac) = (&body[..comma], &body[comma + 1..]);
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !digits(int) || !digits(frac) {
        return None;
    }
    parse_float(s, b',')
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
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v = 0u32;
    for &d in b {
        v = v * 10 + u32::from(d - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 (Arrow Date32) of the proleptic Gregorian date `y`-`m`-`d`; `None`
/// when it is no calendar date (2024-02-30, month 13). Formula: Howard Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `days_from_civil` (years counted from March,
/// eras of 400 years = 146,097 days). Here rather than chrono's `from_ymd_opt` because it runs
/// for every date and timestamp value, twice per value in a one-pass read.
fn ymd(y: u32, m: u32, d: u32) -> Option<i32> {
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let month_days = [
        31,
        28 + u32::from(leap),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > month_days[m as usize - 1] {
        return None;
    }
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((i64::from(m) + 9) % 12) + 2) / 5 + i64::from(d) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i32::try_from(era * 146_097 + day_of_era - 719_468).ok()
}

fn parse_ymd(b: &[u8]) -> Option<i32> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    ymd(digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// `a<sep>b<sep>yyyy` with one- or two-digit `a` and `b`: `(a, b, year)`, not yet a date.
fn split_date(b: &[u8], sep: u8) -> Option<(u32, u32, u32)> {
    if !(8..=10).contains(&b.len()) {
        return None;
    }
    let first = b.iter().position(|&c| c == sep)?;
    let second = first + 1 + b[first + 1..].iter().position(|&c| c == sep)?;
    let (a, rest) = (&b[..first], &b[first + 1..second]);
    let year = &b[second + 1..];
    if !(1..=2).contains(&a.len()) || !(1..=2).contains(&rest.len()) || year.len() != 4 {
        return None;
    }
    Some((digits(a)?, digits(rest)?, digits(year)?))
}

fn epoch_days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// How the dates of a column are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `YYYY-MM-DD`.
    Iso,
    /// `dd.mm.yyyy` (day and month of one or two digits).
    DayFirstDot,
    /// `dd/mm/yyyy`.
    DayFirstSlash,
    /// `mm/dd/yyyy`.
    MonthFirstSlash,
    /// The table's `date_format` (chrono strftime).
    Custom,
}

impl DateFormat {
    /// How the dates are written (`YYYY-MM-DD`, `dd.mm.yyyy`, …; `custom` for
    /// [`DateFormat::Custom`]).
    pub fn written(self, custom: Option<&str>) -> String {
        match self {
            DateFormat::Iso => "YYYY-MM-DD".into(),
            DateFormat::DayFirstDot => "dd.mm.yyyy".into(),
            DateFormat::DayFirstSlash => "dd/mm/yyyy".into(),
            DateFormat::MonthFirstSlash => "mm/dd/yyyy".into(),
            DateFormat::Custom => format!("date_format {}", custom.unwrap_or("")),
        }
    }

    /// How the catalog describes the format; `None` for `YYYY-MM-DD`, which needs no note.
    pub fn note(self, custom: Option<&str>) -> Option<String> {
        let written = self.written(custom);
        match self {
            DateFormat::Iso => None,
            DateFormat::DayFirstDot | DateFormat::DayFirstSlash => {
                Some(format!("day-first dates ({written})"))
            }
            DateFormat::MonthFirstSlash => Some(format!("month-first dates ({written})")),
            DateFormat::Custom => Some(format!("dates read with {written}")),
        }
    }
}

/// Parse a date written as `format` into days since 1970-01-01 (Arrow Date32). `custom` is the
/// strftime format [`DateFormat::Custom`] reads with. `None` when `s` is not such a date or
/// not a calendar date (2024-02-30).
pub fn parse_date_as(s: &str, format: DateFormat, custom: Option<&str>) -> Option<i32> {
    let b = s.as_bytes();
    match format {
        DateFormat::Iso => parse_ymd(b),
        DateFormat::DayFirstDot => split_date(b, b'.').and_then(|(d, m, y)| ymd(y, m, d)),
        DateFormat::DayFirstSlash => split_date(b, b'/').and_then(|(d, m, y)| ymd(y, m, d)),
        DateFormat::MonthFirstSlash => split_date(b, b'/').and_then(|(m, d, y)| ymd(y, m, d)),
        DateFormat::Custom => NaiveDate::parse_from_str(s, custom?).ok().map(epoch_days),
    }
}

/// Parse `YYYY-MM-DD` into days since 1970-01-01 (Arrow Date32).
pub fn parse_date(s: &str) -> Option<i32> {
    parse_date_as(s, DateFormat::Iso, None)
}

/// A parsed timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Microseconds since 1970-01-01T00:00:00: since the UTC epoch for a value with a zone
    /// (the instant), of the wall-clock time as written for one without.
    pub micros: i64,
    /// True when the text had a zone (`Z`, `UTC`, `+02`, `+01:00`, `+0530`).
    pub zoned: bool,
}

/// Parse a timestamp (see the module policy). A plain `YYYY-MM-DD` is midnight without a zone.
pub fn parse_timestamp(s: &str) -> Option<Stamp> {
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let days = i64::from(parse_ymd(&b[..10])?);
    if b.len() == 10 {
        return Some(Stamp {
            micros: days.checked_mul(86_400_000_000)?,
            zoned: false,
        });
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
    let offset_secs: Option<i64> = match zone {
        [] => None,
        b"Z" | b"z" | b"UTC" => Some(0),
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
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => return None,
    };
    let secs = days * 86_400 + i64::from(hh * 3600 + mm * 60 + ss) - offset_secs.unwrap_or(0);
    Some(Stamp {
        micros: secs
            .checked_mul(1_000_000)?
            .checked_add(i64::from(micros))?,
        zoned: offset_secs.is_some(),
    })
}

/// An exact decimal text (`149.90`, `-0.5`, `+12`, `.5`, `1.25e3`) as the integer of its value
/// times 10^`scale` (Arrow Decimal128's representation), for a column of `precision` digits.
/// `None` when the text is not a decimal number, has non-zero digits beyond `scale` (never
/// rounded), or needs more than `precision` digits.
pub fn parse_decimal(s: &str, precision: u8, scale: i8) -> Option<i128> {
    let b = s.as_bytes();
    let (negative, mut i) = match b.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut digits: Vec<u8> = Vec::with_capacity(b.len());
    let mut point: Option<usize> = None;
    let mut any = false;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                digits.push(c - b'0');
                any = true;
            }
            b'.' if point.is_none() => point = Some(digits.len()),
            b'e' | b'E' => break,
            _ => return None,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    let mut exponent: i64 = 0;
    if i < b.len() {
        let e = std::str::from_utf8(&b[i + 1..]).ok()?;
        if e.is_empty() || e.starts_with('+') && e.len() == 1 {
            return None;
        }
        exponent = e.parse().ok()?;
        if exponent.abs() > 100 {
            return None;
        }
    }
    // Value = digits × 10^(exponent − fraction digits); wanted: value × 10^scale.
    let fraction = (digits.len() - point.unwrap_or(digits.len())) as i64;
    let shift = i64::from(scale) + exponent - fraction;
    if shift < 0 {
        let cut = (-shift) as usize;
        if cut > digits.len() {
            if digits.iter().any(|&d| d != 0) {
                return None;
            }
            digits.clear();
        } else {
            let keep = digits.len() - cut;
            if digits[keep..].iter().any(|&d| d != 0) {
                return None;
            }
            digits.truncate(keep);
        }
    } else {
        digits.extend(std::iter::repeat_n(0, shift as usize));
    }
    let first = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
    if digits.len() - first > usize::from(precision) {
        return None;
    }
    let mut v: i128 = 0;
    for &d in &digits[first..] {
        v = v * 10 + i128::from(d);
    }
    Some(if negative { -v } else { v })
}

/// How decimal fractions are written in a table's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalPolicy {
    /// `.` only: `1,5` is text (a comma-delimited file without `decimal:`, or `decimal: "."`).
    Point,
    /// `,` only (`decimal: ","`): `1,5`, `,5`, `1,5e3`; a value with `.` is text.
    Comma,
    /// Decided per column (a delimiter other than `,` and no `decimal:`): `.`, or `,` for a
    /// column whose every value is an integer or `digits,digits`.
    Detect,
}

/// The table-wide rules values are read with, from the table's `csv:` options.
#[derive(Debug, Clone)]
pub struct ValueRules {
    /// Decimal separator of numbers.
    pub decimal: DecimalPolicy,
    /// `date_format`: a chrono strftime format (already checked to be a valid date format).
    pub date_format: Option<String>,
}

impl Default for ValueRules {
    fn default() -> Self {
        ValueRules {
            decimal: DecimalPolicy::Point,
            date_format: None,
        }
    }
}

/// How pass 2 reads a column: its type and how its values are written. An inferred column's
/// form is known from pass 1; a declared column is not read in pass 1 (a table whose columns
/// are all declared is read once), so its form is `None` until its first value that tells it
/// (see [`decimal_comma_of`], [`date_format_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The column's type.
    pub column_type: ColumnType,
    /// For `float64`: whether `,` is the decimal separator.
    pub decimal_comma: Option<bool>,
    /// For `date`: how the dates are written.
    pub dates: Option<DateFormat>,
}

impl Reading {
    /// Plain reading of type `t`: decimal point, `YYYY-MM-DD`.
    pub fn plain(t: ColumnType) -> Reading {
        Reading {
            column_type: t,
            decimal_comma: Some(false),
            dates: Some(DateFormat::Iso),
        }
    }

    /// The reading of a column declared as `t`: the decimal separator when `rules` fix it,
    /// else (and for dates always) left to the column's first value that tells it.
    pub fn declared(t: ColumnType, rules: &ValueRules) -> Reading {
        Reading {
            column_type: t,
            decimal_comma: match rules.decimal {
                DecimalPolicy::Point => Some(false),
                DecimalPolicy::Comma => Some(true),
                DecimalPolicy::Detect => None,
            },
            dates: None,
        }
    }

    /// How the catalog describes a reading that is not plain (decimal comma, date order).
    pub fn note(&self, rules: &ValueRules) -> Option<String> {
        match (self.column_type, self.decimal_comma, self.dates) {
            (ColumnType::Float64, Some(true), _) => Some("decimal comma (1,5 read as 1.5)".into()),
            (ColumnType::Date, _, Some(d)) => d.note(rules.date_format.as_deref()),
            _ => None,
        }
    }
}

/// The decimal separator a value of a declared `float64` column tells (when the delimiter is
/// not `,` and `decimal:` is not set): `Some(false)` for a float with a point, `Some(true)` for
/// one with a comma, `None` for an integer (either) or a value that is no float.
pub fn decimal_comma_of(s: &str) -> Option<bool> {
    if matches!(int_shape(s), IntShape::Int(_)) {
        None
    } else if parse_f64(s).is_some() {
        Some(false)
    } else if parse_float(s, b',').is_some() {
        Some(true)
    } else {
        None
    }
}

/// The date form a value of a declared `date` column tells: with a `date_format` (`custom`),
/// that format or `YYYY-MM-DD`; without, `YYYY-MM-DD` or `dd.mm.yyyy`. `a/b/yyyy` is not
/// guessed from one value: a declared column of such dates needs `date_format`.
pub fn date_format_of(s: &str, custom: Option<&str>) -> Option<DateFormat> {
    let candidates = if custom.is_some() {
        [DateFormat::Custom, DateFormat::Iso]
    } else {
        [DateFormat::Iso, DateFormat::DayFirstDot]
    };
    candidates
        .into_iter()
        .find(|&f| parse_date_as(s, f, custom).is_some())
}

/// The note of a column typed text only because it held no value at all (every field NULL):
/// its type is unknown, not text, and a merge keeps the published type.
pub const NO_VALUES_NOTE: &str = "no values to infer a type from: read as text";

/// Accumulates what a column's values allow, value by value.
#[derive(Debug, Clone)]
pub struct TypeGuess {
    can_int: bool,
    can_float: bool,
    can_comma: bool,
    can_bool: bool,
    iso_date: bool,
    dot_date: bool,
    slash_dmy: bool,
    slash_mdy: bool,
    custom_date: bool,
    can_timestamp: bool,
    zoned: bool,
    naive: bool,
    saw_value: bool,
}

impl TypeGuess {
    /// A guess that nothing has ruled out yet, under `rules`.
    pub fn new(rules: &ValueRules) -> TypeGuess {
        let custom = rules.date_format.is_some();
        TypeGuess {
            can_int: true,
            can_float: rules.decimal != DecimalPolicy::Comma,
            can_comma: rules.decimal != DecimalPolicy::Point,
            can_bool: true,
            iso_date: true,
            dot_date: !custom,
            slash_dmy: !custom,
            slash_mdy: !custom,
            custom_date: custom,
            can_timestamp: true,
            zoned: false,
            naive: false,
            saw_value: false,
        }
    }

    fn can_date(&self) -> bool {
        self.iso_date || self.dot_date || self.slash_dmy || self.slash_mdy || self.custom_date
    }

    /// Combine the guess of another part of the same column (read in parallel): what either
    /// part ruled out stays ruled out, what either part saw was seen. The result decides as one
    /// guess over both parts' values would.
    pub fn merge(&mut self, o: &TypeGuess) {
        self.can_int &= o.can_int;
        self.can_float &= o.can_float;
        self.can_comma &= o.can_comma;
        self.can_bool &= o.can_bool;
        self.iso_date &= o.iso_date;
        self.dot_date &= o.dot_date;
        self.slash_dmy &= o.slash_dmy;
        self.slash_mdy &= o.slash_mdy;
        self.custom_date &= o.custom_date;
        self.can_timestamp &= o.can_timestamp;
        self.zoned |= o.zoned;
        self.naive |= o.naive;
        self.saw_value |= o.saw_value;
    }

    /// True once only text remains possible: further values need not be looked at.
    pub fn is_text(&self) -> bool {
        self.saw_value
            && !(self.can_int
                || self.can_float
                || self.can_comma
                || self.can_bool
                || self.can_date()
                || (self.can_timestamp && !(self.zoned && self.naive)))
    }

    /// True when observing a value that its column's builder read canonically as `t` (an
    /// integer; a float with a decimal point, shorter than 19 bytes, so no integer too big
    /// for int64; a `YYYY-MM-DD` date; a timestamp without a zone for `timestamp`, with one for
    /// `timestamptz`) cannot change this guess: everything such a value could rule out is
    /// already ruled out and everything it shows was already seen. A one-pass read then skips
    /// [`TypeGuess::observe`] for it.
    pub fn settles(&self, t: ColumnType) -> bool {
        let numeric = self.can_int || self.can_float || self.can_comma;
        let other_dates = self.dot_date || self.slash_dmy || self.slash_mdy || self.custom_date;
        self.saw_value
            && match t {
                ColumnType::Int64 => {
                    self.can_int && !self.can_bool && !self.can_date() && !self.can_timestamp
                }
                ColumnType::Float64 => {
                    !self.can_int
                        && self.can_float
                        && !self.can_comma
                        && !self.can_bool
                        && !self.can_date()
                        && !self.can_timestamp
                }
                ColumnType::Date => {
                    !numeric && !self.can_bool && self.iso_date && !other_dates && self.naive
                }
                ColumnType::Timestamp | ColumnType::Timestamptz => {
                    let zoned = t == ColumnType::Timestamptz;
                    !numeric
                        && !self.can_bool
                        && !self.can_date()
                        && self.can_timestamp
                        && self.zoned == zoned
                        && self.naive != zoned
                }
                _ => false,
            }
    }

    /// Take one non-null, non-empty value into account (`""` says nothing about the type).
    pub fn observe(&mut self, s: &str, rules: &ValueRules) {
        self.saw_value = true;
        if self.can_int || self.can_float || self.can_comma {
            match int_shape(s) {
                IntShape::Int(_) => {}
                IntShape::LeadingZero | IntShape::Overflow => {
                    self.can_int = false;
                    self.can_float = false;
                    self.can_comma = false;
                }
                IntShape::NotInt => {
                    self.can_int = false;
                    if self.can_float && parse_f64(s).is_none() {
                        self.can_float = false;
                    }
                    if self.can_comma {
                        let ok = match rules.decimal {
                            DecimalPolicy::Comma => parse_float(s, b',').is_some(),
                            DecimalPolicy::Detect => parse_decimal_comma(s).is_some(),
                            DecimalPolicy::Point => false,
                        };
                        self.can_comma = ok;
                    }
                }
            }
        }
        if self.can_bool && parse_bool(s).is_none() {
            self.can_bool = false;
        }
        if self.custom_date {
            self.custom_date =
                parse_date_as(s, DateFormat::Custom, rules.date_format.as_deref()).is_some();
        }
        if !s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            self.iso_date = false;
            self.dot_date = false;
            self.slash_dmy = false;
            self.slash_mdy = false;
            self.can_timestamp = false;
            return;
        }
        if self.iso_date || self.can_timestamp {
            if parse_ymd(s.as_bytes()).is_some() {
                self.naive = true;
            } else {
                self.iso_date = false;
                if self.can_timestamp {
                    match parse_timestamp(s) {
                        Some(t) if t.zoned => self.zoned = true,
                        Some(_) => self.naive = true,
                        None => self.can_timestamp = false,
                    }
                }
            }
        }
        if self.dot_date {
            self.dot_date = parse_date_as(s, DateFormat::DayFirstDot, None).is_some();
        }
        if self.slash_dmy || self.slash_mdy {
            self.slash_dmy &= parse_date_as(s, DateFormat::DayFirstSlash, None).is_some();
            self.slash_mdy &= parse_date_as(s, DateFormat::MonthFirstSlash, None).is_some();
        }
    }

    /// The date format every value seen fits, if one does: the table's `date_format`, then
    /// `YYYY-MM-DD`, `dd.mm.yyyy`, and `a/b/yyyy` when only one order fits.
    fn date_format(&self) -> Option<DateFormat> {
        if self.custom_date {
            Some(DateFormat::Custom)
        } else if self.iso_date {
            Some(DateFormat::Iso)
        } else if self.dot_date {
            Some(DateFormat::DayFirstDot)
        } else if self.slash_dmy && !self.slash_mdy {
            Some(DateFormat::DayFirstSlash)
        } else if self.slash_mdy && !self.slash_dmy {
            Some(DateFormat::MonthFirstSlash)
        } else {
            None
        }
    }

    /// The type the values seen allow, narrowest first: int64, float64, boolean, date,
    /// timestamp (no value with a zone) or timestamptz (every value with one), else string;
    /// with the catalog's note on how the values were read, or why the column is text when it
    /// nearly was not (no value at all, ambiguous dates, timestamps with and without zones).
    pub fn decide(&self, rules: &ValueRules) -> (Reading, Option<String>) {
        let text = |note: &str| (Reading::plain(ColumnType::String), Some(note.to_string()));
        if !self.saw_value {
            return text(NO_VALUES_NOTE);
        }
        let t = if self.can_int {
            ColumnType::Int64
        } else if self.can_float || self.can_comma {
            ColumnType::Float64
        } else if self.can_bool {
            ColumnType::Boolean
        } else if self.date_format().is_some() {
            ColumnType::Date
        } else if self.can_timestamp && self.zoned && self.naive {
            return text("mixes timestamps with and without a time zone: read as text");
        } else if self.can_timestamp && self.zoned {
            ColumnType::Timestamptz
        } else if self.can_timestamp {
            ColumnType::Timestamp
        } else if self.slash_dmy && self.slash_mdy {
            return text(
                "dates that read both day-first and month-first: read as text (set csv: date_format)",
            );
        } else {
            ColumnType::String
        };
        let reading = Reading {
            column_type: t,
            // A float column that cannot be read with a point is read with a comma.
            decimal_comma: Some(t == ColumnType::Float64 && !self.can_float),
            dates: Some(self.date_format().unwrap_or(DateFormat::Iso)),
        };
        let note = reading.note(rules);
        (reading, note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_exactly_or_not_at_all() {
        assert_eq!(parse_decimal("149.90", 12, 2), Some(14990));
        assert_eq!(parse_decimal("-0.5", 12, 2), Some(-50));
        assert_eq!(parse_decimal(".5", 3, 1), Some(5));
        assert_eq!(parse_decimal("1.25e3", 10, 2), Some(125000));
        assert_eq!(parse_decimal("1.250", 10, 2), Some(125));
        assert_eq!(parse_decimal("1.255", 10, 2), None, "never rounded");
        assert_eq!(parse_decimal("12345", 4, 0), None, "too many digits");
        assert_eq!(
            parse_decimal("12345678901234567890123456789.123456789", 38, 9),
            Some(12345678901234567890123456789123456789)
        );
        assert_eq!(
            parse_decimal("-99999999999999999999999999999.999999999", 38, 9),
            Some(-99999999999999999999999999999999999999)
        );
        for bad in ["", "-", ".", "1.2.3", "1e", "abc", "1,5", " 1"] {
            assert_eq!(parse_decimal(bad, 38, 9), None, "{bad:?}");
        }
    }

    fn rules(decimal: DecimalPolicy, date_format: Option<&str>) -> ValueRules {
        ValueRules {
            decimal,
            date_format: date_format.map(str::to_string),
        }
    }

    fn guess_with(values: &[&str], r: &ValueRules) -> Reading {
        let mut g = TypeGuess::new(r);
        for v in values {
            if !g.is_text() {
                g.observe(v, r);
            }
        }
        g.decide(r).0
    }

    fn guess(values: &[&str]) -> ColumnType {
        guess_with(values, &ValueRules::default()).column_type
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
        assert_eq!(
            guess(&["2024-03-01 10:00:00Z", "2024-03-01 10:00:00+01"]),
            ColumnType::Timestamptz
        );
        // With and without a zone: neither an instant nor a wall clock.
        assert_eq!(
            guess(&["2024-03-01 10:00:00Z", "2024-03-01 10:00:00"]),
            ColumnType::String
        );
        assert_eq!(
            guess(&["2024-03-01", "2024-03-01 10:00:00Z"]),
            ColumnType::String
        );
    }

    #[test]
    fn day_first_and_month_first_dates_are_decided_over_the_column() {
        let r = ValueRules::default();
        let dot = guess_with(&["03.02.2024", "29.02.2024", "1.3.2024"], &r);
        assert_eq!(
            (dot.column_type, dot.dates),
            (ColumnType::Date, Some(DateFormat::DayFirstDot))
        );
        assert_eq!(
            parse_date_as("03.02.2024", DateFormat::DayFirstDot, None),
            parse_date("2024-02-03")
        );
        let dmy = guess_with(&["01/02/2024", "13/02/2024"], &r);
        assert_eq!(dmy.dates, Some(DateFormat::DayFirstSlash));
        let mdy = guess_with(&["01/02/2024", "02/13/2024"], &r);
        assert_eq!(mdy.dates, Some(DateFormat::MonthFirstSlash));
        assert_eq!(
            parse_date_as("02/13/2024", DateFormat::MonthFirstSlash, None),
            parse_date("2024-02-13")
        );
        // Every value reads both ways: text, unless a format is configured.
        assert_eq!(guess(&["01/02/2024", "03/04/2024"]), ColumnType::String);
        let custom = rules(DecimalPolicy::Point, Some("%d/%m/%Y"));
        let c = guess_with(&["01/02/2024", "03/04/2024"], &custom);
        assert_eq!(
            (c.column_type, c.dates),
            (ColumnType::Date, Some(DateFormat::Custom))
        );
        assert_eq!(
            parse_date_as("01/02/2024", DateFormat::Custom, Some("%d/%m/%Y")),
            parse_date("2024-02-01")
        );
        // Impossible calendar dates make the column text.
        assert_eq!(guess(&["30.02.2024"]), ColumnType::String);
        assert_eq!(guess(&["30/02/2024", "13/01/2024"]), ColumnType::String);
        // One format per column.
        assert_eq!(guess(&["2024-02-03", "03.02.2024"]), ColumnType::String);
    }

    #[test]
    fn decimal_comma_is_detected_or_configured_never_dropped() {
        let detect = rules(DecimalPolicy::Detect, None);
        let r = guess_with(&["1,29", "0,5", "12,00", "3"], &detect);
        assert_eq!(
            (r.column_type, r.decimal_comma),
            (ColumnType::Float64, Some(true))
        );
        assert_eq!(parse_float("1,29", b','), Some(1.29));
        assert_eq!(parse_float("-12,00", b','), Some(-12.0));
        // Integers stay integers; a dot column stays a dot column.
        assert_eq!(
            guess_with(&["3", "12"], &detect).column_type,
            ColumnType::Int64
        );
        let dot = guess_with(&["1.5", "2"], &detect);
        assert_eq!(
            (dot.column_type, dot.decimal_comma),
            (ColumnType::Float64, Some(false))
        );
        // Mixed separators, thousands groups and redundant zeros are text.
        assert_eq!(
            guess_with(&["1,5", "1.5"], &detect).column_type,
            ColumnType::String
        );
        assert_eq!(
            guess_with(&["1.234,5"], &detect).column_type,
            ColumnType::String
        );
        assert_eq!(
            guess_with(&["01,5"], &detect).column_type,
            ColumnType::String
        );
        // With a comma delimiter `1,5` is never a number.
        assert_eq!(guess(&["1,5"]), ColumnType::String);
        // Configured: the full grammar with a comma, and a dot is not a separator.
        let comma = rules(DecimalPolicy::Comma, None);
        assert_eq!(
            guess_with(&[",5", "1,5e3"], &comma).column_type,
            ColumnType::Float64
        );
        assert_eq!(guess_with(&["1.5"], &comma).column_type, ColumnType::String);
        assert_eq!(parse_float("1,5e3", b','), Some(1500.0));
        assert_eq!(parse_float("1.5", b','), None);
    }

    #[test]
    fn timestamp_offsets_become_utc_instants_and_naive_values_stay_as_written() {
        let zoned = |s: &str| parse_timestamp(s).filter(|t| t.zoned).map(|t| t.micros);
        // 2021-06-30T08:15:42.123456+02 == 2021-06-30T06:15:42.123456Z == 1625033742.123456
        assert_eq!(
            zoned("2021-06-30 08:15:42.123456+02"),
            Some(1_625_033_742_123_456)
        );
        assert_eq!(
            zoned("2021-01-01T00:00:00+01:00"),
            Some(1_609_455_600_000_000)
        );
        assert_eq!(
            zoned("2021-01-01T12:00:00+0530"),
            Some(1_609_482_600_000_000)
        );
        assert_eq!(zoned("2021-01-01T06:30:00Z"), Some(1_609_482_600_000_000));
        assert_eq!(parse_timestamp("2021-01-01T25:00:00Z"), None);
        // No zone: the wall clock as written (2021-03-28 01:59:59 = 1616896799 s as if UTC).
        assert_eq!(
            parse_timestamp("2021-03-28 01:59:59"),
            Some(Stamp {
                micros: 1_616_896_799_000_000,
                zoned: false
            })
        );
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
    }

    #[test]
    fn a_declared_column_takes_its_form_from_its_first_telling_value() {
        assert_eq!(decimal_comma_of("12"), None);
        assert_eq!(decimal_comma_of("1.5"), Some(false));
        assert_eq!(decimal_comma_of("1,5"), Some(true));
        assert_eq!(decimal_comma_of("x"), None);
        assert_eq!(date_format_of("2024-02-03", None), Some(DateFormat::Iso));
        assert_eq!(
            date_format_of("3.2.2024", None),
            Some(DateFormat::DayFirstDot)
        );
        assert_eq!(date_format_of("03/02/2024", None), None);
        assert_eq!(
            date_format_of("03/02/2024", Some("%m/%d/%Y")),
            Some(DateFormat::Custom)
        );
        assert_eq!(
            date_format_of("2024-02-03", Some("%m/%d/%Y")),
            Some(DateFormat::Iso)
        );
        let r = rules(DecimalPolicy::Detect, None);
        assert_eq!(
            Reading::declared(ColumnType::Float64, &r).decimal_comma,
            None
        );
        let r = rules(DecimalPolicy::Comma, None);
        assert_eq!(
            Reading::declared(ColumnType::Float64, &r).decimal_comma,
            Some(true)
        );
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
        assert_eq!(parse_decimal_comma("1,5e3"), None);
        assert_eq!(parse_decimal_comma("+0,25"), Some(0.25));
    }

    #[test]
    fn calendar_days_agree_with_chrono_from_year_0_to_9999() {
        let mut date = NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        let mut days = 0usize;
        while date <= end {
            use chrono::Datelike;
            let (y, m, d) = (date.year() as u32, date.month(), date.day());
            assert_eq!(ymd(y, m, d), Some(epoch_days(date)), "{date}");
            days += 1;
            date = date.succ_opt().unwrap();
        }
        assert_eq!(days, 3_652_425);
        for (y, m, d) in [
            (2023, 2, 29),
            (1900, 2, 29),
            (2024, 4, 31),
            (2024, 13, 1),
            (2024, 0, 1),
            (2024, 1, 0),
        ] {
            assert_eq!(ymd(y, m, d), None, "{y}-{m}-{d}");
        }
        assert_eq!(ymd(2000, 2, 29), Some(11_016));
        assert_eq!(parse_date("1970-01-01"), Some(0));
    }
}
