//! Values as text, the one way they appear in `sample_values`, `sample_rows`, `min`/`max` of
//! non-numeric columns and temporal ranges. Instants (`timestamptz`) are shown in UTC with `Z`,
//! wall-clock times (`timestamp`) as written, without a zone.

use chrono::{DateTime, NaiveDate, SecondsFormat};

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// An `int64` value: its decimal form (`-42`).
pub fn int(v: i64) -> String {
    v.to_string()
}

/// A `float64` value: the shortest text that reads back to the same number, always with a
/// decimal point or exponent (`1.0`, `0.1`, `1e-7`, `1e300`), and `NaN`, `inf`, `-inf`.
pub fn float(v: f64) -> String {
    format!("{v:?}")
}

/// A `boolean` value: `true` or `false`.
pub fn boolean(v: bool) -> String {
    if v { "true" } else { "false" }.to_string()
}

/// A date stored as days since 1970-01-01: `YYYY-MM-DD`. A day outside chrono's range (beyond
/// ±262,000 years) is written as `<n> days since 1970-01-01` instead of failing.
pub fn date(days: i64) -> String {
    i32::try_from(days)
        .ok()
        .and_then(NaiveDate::from_epoch_days)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("{days} days since 1970-01-01"))
}

/// A timestamp stored as microseconds since 1970-01-01T00:00:00Z: RFC 3339 in UTC with `Z`,
/// without a fractional part when it is zero (`2025-03-01T10:00:00Z`), else with 3 or 6 digits
/// (`2025-03-01T10:00:00.250Z`). Out of chrono's range: `<n> µs since 1970-01-01T00:00:00Z`.
pub fn timestamp(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| format!("{micros} µs since 1970-01-01T00:00:00Z"))
}

/// A wall-clock timestamp (no zone) stored as microseconds since 1970-01-01T00:00:00: like
/// [`timestamp`] without the `Z` (`2021-03-28T01:59:59`), since no zone applies. Out of
/// chrono's range: `<n> µs since 1970-01-01T00:00:00`.
pub fn wall_clock(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| {
            let text = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            text.strip_suffix('Z').unwrap_or(&text).to_string()
        })
        .unwrap_or_else(|| format!("{micros} µs since 1970-01-01T00:00:00"))
}

/// Whole days from `earliest` to `latest` for values in `unit_per_day` units per day (1 for
/// dates, [`MICROS_PER_DAY`] for timestamps), rounded down; computed in i128 so it never
/// overflows.
pub fn span_days(earliest: i64, latest: i64, unit_per_day: i64) -> i64 {
    let diff = i128::from(latest) - i128::from(earliest);
    let days = diff.div_euclid(i128::from(unit_per_day.max(1)));
    i64::try_from(days).unwrap_or(if days < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(20148), "2025-03-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(
            date(i64::from(i32::MAX)),
            "2147483647 days since 1970-01-01"
        );
        // 2025-03-01T10:00:00Z = 1740823200 s.
        assert_eq!(timestamp(1_740_823_200_000_000), "2025-03-01T10:00:00Z");
        assert_eq!(timestamp(1_740_823_200_250_000), "2025-03-01T10:00:00.250Z");
        assert_eq!(
            timestamp(1_740_823_200_000_001),
            "2025-03-01T10:00:00.000001Z"
        );
        assert_eq!(wall_clock(1_740_823_200_250_000), "2025-03-01T10:00:00.250");
        assert_eq!(float(1.0), "1.0");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::NEG_INFINITY), "-inf");
        assert_eq!(boolean(true), "true");
        assert_eq!(span_days(0, MICROS_PER_DAY * 3 - 1, MICROS_PER_DAY), 2);
        assert_eq!(span_days(i64::MIN, i64::MAX, 1), i64::MAX);
    }
}
