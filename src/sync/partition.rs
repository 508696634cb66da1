//! Partitions of a table's files: the date of a partition column's value, cut to a granularity,
//! laid out hive style (`<table>/year=2025/month=03/part-0.parquet`).

use std::fmt;

use anyhow::bail;
use arrow::array::{Array, ArrayRef, Date32Array, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{Datelike, NaiveDate};

/// How finely a partitioned table's files are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One file per calendar year.
    Year,
    /// One file per calendar month (the default).
    Month,
    /// One file per day.
    Day,
}

impl Granularity {
    /// From `partition_granularity` (`year`, `month`, `day`; absent = month). The value was
    /// validated when data_description.md was read; anything else falls back to month.
    pub fn of(text: Option<&str>) -> Granularity {
        match text {
            Some("year") => Granularity::Year,
            Some("day") => Granularity::Day,
            _ => Granularity::Month,
        }
    }

    /// The hive keys this granularity writes; data columns of these names are refused (a folder
    /// key would shadow them in DuckDB).
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Granularity::Year => &["year"],
            Granularity::Month => &["year", "month"],
            Granularity::Day => &["year", "month", "day"],
        }
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Granularity::Year => "year",
            Granularity::Month => "month",
            Granularity::Day => "day",
        })
    }
}

/// A partition: `year * 10_000 + month * 100 + day`, with the parts below the granularity 0.
pub type PartitionKey = u32;

/// Microseconds per day.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The partition of a date given as days since 1970-01-01. `None` for a date outside years
/// 0..=9999.
pub fn key_of_days(days: i64, g: Granularity) -> Option<PartitionKey> {
    let date = NaiveDate::from_ymd_opt(1970, 1, 1)?
        .checked_add_signed(chrono::Duration::try_days(days)?)?;
    let y = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    Some(match g {
        Granularity::Year => y * 10_000,
        Granularity::Month => y * 10_000 + date.month() * 100,
        Granularity::Day => y * 10_000 + date.month() * 100 + date.day(),
    })
}

/// The partition of every row of `column` (Date32 or Timestamp in microseconds; a timestamp is
/// cut at its stored value, i.e. the UTC date for instants and the wall-clock date otherwise).
///
/// Errors, naming `table` and `column`: another type; a NULL or out-of-range value (a partitioned
/// table needs a date in every row).
pub fn keys(
    column: &ArrayRef,
    g: Granularity,
    table: &str,
    name: &str,
) -> anyhow::Result<Vec<PartitionKey>> {
    let days: Box<dyn Fn(usize) -> i64> = match column.data_type() {
        DataType::Date32 => {
            let a = column
                .as_any()
                .downcast_ref::<Date32Array>()
                .ok_or_else(|| anyhow::anyhow!("Date32 column expected"))?;
            let a = a.clone();
            Box::new(move |i| i64::from(a.value(i)))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let a = column
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .ok_or_else(|| anyhow::anyhow!("timestamp column expected"))?;
            let a = a.clone();
            Box::new(move |i| a.value(i).div_euclid(MICROS_PER_DAY))
        }
        other => {
            // The first value that does not even start with a date, else the first value.
            let text = |i: usize| arrow::util::display::array_value_to_string(column, i).ok();
            let starts_with_date = |v: &str| {
                v.get(..10)
                    .is_some_and(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            };
            let valid: Vec<usize> = (0..column.len()).filter(|&i| column.is_valid(i)).collect();
            let example = valid
                .iter()
                .filter_map(|&i| text(i))
                .find(|v| !starts_with_date(v))
                .or_else(|| valid.first().and_then(|&i| text(i)))
                .map_or("it holds no value".to_string(), |v| {
                    format!("e.g. the value `{v}`")
                });
            bail!(
                "table `{table}`: partition_by column `{name}` is read as {other}, not a date or timestamp ({example})"
            )
        }
    };
    let mut out = Vec::with_capacity(column.len());
    let mut last: Option<(i64, PartitionKey)> = None;
    for i in 0..column.len() {
        if column.is_null(i) {
            bail!(
                "table `{table}`: partition_by column `{name}` is NULL in a row; every row of a partitioned table needs a date"
            );
        }
        let d = days(i);
        let key = match last {
            Some((ld, k)) if ld == d => k,
            _ => {
                let Some(k) = key_of_days(d, g) else {
                    bail!(
                        "table `{table}`: partition_by column `{name}` has a date outside years 0-9999 ({d} days from 1970-01-01)"
                    );
                };
                last = Some((d, k));
                k
            }
        };
        out.push(key);
    }
    Ok(out)
}

/// The folder of a partition relative to the table's folder: `year=2025/month=03`.
pub fn hive_path(key: PartitionKey, g: Granularity) -> String {
    let (y, m, d) = (key / 10_000, key / 100 % 100, key % 100);
    match g {
        Granularity::Year => format!("year={y:04}"),
        Granularity::Month => format!("year={y:04}/month={m:02}"),
        Granularity::Day => format!("year={y:04}/month={m:02}/day={d:02}"),
    }
}

/// The partition of a hive folder path written by [`hive_path`] (`year=2025/month=03`), or
/// `None` when `path` is not one of `g`.
pub fn parse_hive_path(path: &str, g: Granularity) -> Option<PartitionKey> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() != g.keys().len() {
        return None;
    }
    let mut key = 0u32;
    for (part, (name, scale)) in parts
        .iter()
        .zip(["year", "month", "day"].iter().zip([10_000u32, 100, 1]))
    {
        let v: u32 = part.strip_prefix(name)?.strip_prefix('=')?.parse().ok()?;
        key += v * scale;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn keys_cut_dates_and_timestamps_to_the_granularity() {
        // 2024-02-29 = 19782 days; 2024-03-01T00:30 UTC.
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![19782, 19783, -1]));
        assert_eq!(
            keys(&dates, Granularity::Month, "t", "d").unwrap(),
            vec![20240200, 20240300, 19691200]
        );
        assert_eq!(
            keys(&dates, Granularity::Day, "t", "d").unwrap(),
            vec![20240229, 20240301, 19691231]
        );
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![19783 * MICROS_PER_DAY + 1_800_000_000])
                .with_timezone("UTC"),
        );
        assert_eq!(
            keys(&ts, Granularity::Year, "t", "ts").unwrap(),
            vec![20240000]
        );
        let nulls: ArrayRef = Arc::new(Date32Array::from(vec![Some(1), None]));
        let e = keys(&nulls, Granularity::Month, "orders", "created")
            .unwrap_err()
            .to_string();
        assert!(e.contains("orders") && e.contains("created") && e.contains("NULL"));
    }

    #[test]
    fn hive_paths_round_trip() {
        for (k, g, p) in [
            (20240300, Granularity::Month, "year=2024/month=03"),
            (20240000, Granularity::Year, "year=2024"),
            (20241231, Granularity::Day, "year=2024/month=12/day=31"),
        ] {
            assert_eq!(hive_path(k, g), p);
            assert_eq!(parse_hive_path(p, g), Some(k));
        }
        assert_eq!(parse_hive_path("year=2024", Granularity::Month), None);
        assert_eq!(
            parse_hive_path("month=03/year=2024", Granularity::Month),
            None
        );
    }
}
