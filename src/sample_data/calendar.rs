//! Civil-calendar arithmetic on day numbers (days since 1970-01-01, UTC) and the text forms the
//! CSVs use (`YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS`). Pure integer code: fast and identical everywhere.

use std::fmt::Write;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// Seconds in an hour.
pub(crate) const HOUR: i64 = 3_600;

/// Day number of a civil date (proleptic Gregorian). `month` 1–12, `day` 1–31.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month 1–12, day 1–31)` of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Weekday of a day number: 0 = Monday … 6 = Sunday.
pub(crate) fn weekday(days: i64) -> usize {
    (days + 3).rem_euclid(7) as usize
}

/// Append `YYYY-MM-DD` of a day number to `buf`.
pub(crate) fn push_date(buf: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(buf, "{y:04}-{m:02}-{d:02}");
}

/// Append `YYYY-MM-DD HH:MM:SS` (UTC) of seconds since the epoch to `buf`.
pub(crate) fn push_timestamp(buf: &mut String, secs: i64) {
    let days = secs.div_euclid(DAY);
    let rest = secs.rem_euclid(DAY);
    push_date(buf, days);
    let _ = write!(
        buf,
        " {:02}:{:02}:{:02}",
        rest / HOUR,
        rest % HOUR / 60,
        rest % 60
    );
}

/// `YYYY-MM-DD` of a day number.
pub(crate) fn date_string(days: i64) -> String {
    let mut s = String::with_capacity(10);
    push_date(&mut s, days);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate};

    #[test]
    fn agrees_with_chrono_over_a_wide_range() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for days in (-800_000..800_000).step_by(97) {
            let date = epoch + chrono::Duration::days(days);
            assert_eq!(
                civil_from_days(days),
                (
                    i64::from(date.year()),
                    i64::from(date.month()),
                    i64::from(date.day())
                )
            );
            assert_eq!(
                days_from_civil(
                    i64::from(date.year()),
                    i64::from(date.month()),
                    i64::from(date.day())
                ),
                days
            );
            assert_eq!(
                weekday(days),
                date.weekday().num_days_from_monday() as usize
            );
        }
    }

    #[test]
    fn formats_dates_and_timestamps() {
        let d = days_from_civil(2026, 3, 1);
        assert_eq!(date_string(d), "2026-03-01");
        let mut s = String::new();
        push_timestamp(&mut s, d * DAY - 1);
        assert_eq!(s, "2026-02-28 23:59:59");
        assert_eq!(weekday(d), 6); // a Sunday
    }
}
