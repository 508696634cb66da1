//! Column alerts: data-quality warnings derived from a finished [`ColumnProfile`].
//!
//! All thresholds live here. They follow the original profiler (anchor inventory §7.1), with
//! two corrections from its history: `constant`/`unique` need at least
//! [`MIN_ROWS_CONSTANT_UNIQUE`] rows (a one-row table is trivially both), and
//! `high_cardinality` needs a high distinct share, not just > 50 distinct values.

use super::model::{Alert, ColumnProfile};

/// `high_missing` when more than this share (%) of the rows is NULL.
pub const HIGH_MISSING_PCT: f64 = 30.0;
/// `missing` when more than this share (%) of the rows is NULL (and not `high_missing`).
pub const MISSING_PCT: f64 = 5.0;
/// `zeros` when more than this share (%) of a numeric column's non-null values is 0.
pub const ZEROS_PCT: f64 = 50.0;
/// `imbalance` when a string column's most frequent value exceeds this share (%) of non-null
/// rows while the column has at least 2 distinct values.
pub const IMBALANCE_PCT: f64 = 60.0;
/// `high_cardinality` when a non-key string column's distinct values exceed this share (%) of
/// its non-null rows…
pub const HIGH_CARDINALITY_PCT: f64 = 50.0;
/// …and number more than this.
pub const HIGH_CARDINALITY_MIN_DISTINCT: u64 = 50;
/// `constant` and `unique` are only raised for tables with at least this many rows.
pub const MIN_ROWS_CONSTANT_UNIQUE: u64 = 2;

/// The alerts of one column of a table with `rows` rows, in this order: `constant`, `unique`,
/// `high_missing` | `missing`, `zeros`, `imbalance`, `high_cardinality`.
///
/// - `constant`: 1 distinct value, no NULLs, ≥ 2 rows.
/// - `unique`: as many distinct values as rows, no NULLs, ≥ 2 rows, not a primary-key column,
///   and an identifier-like type (string or int64: all-distinct amounts and timestamps are normal).
/// - `high_missing`: NULL share > [`HIGH_MISSING_PCT`]; else `missing`: > [`MISSING_PCT`].
/// - `zeros`: numeric, zeros > [`ZEROS_PCT`] of the non-null values.
/// - `imbalance`: string, ≥ 2 distinct, top value > [`IMBALANCE_PCT`] of non-null rows.
/// - `high_cardinality`: string, not a key column, distinct > [`HIGH_CARDINALITY_MIN_DISTINCT`]
///   and > [`HIGH_CARDINALITY_PCT`] of non-null rows; not raised when `unique` already is.
pub fn column_alerts(col: &ColumnProfile, rows: u64) -> Vec<Alert> {
    let mut out = Vec::new();
    let name = col.name.as_str();
    let mut push = |kind: &str, message: String| {
        out.push(Alert {
            column: name.to_string(),
            kind: kind.to_string(),
            message,
        })
    };
    let non_null = rows.saturating_sub(col.null_count);
    let share = |part: u64, whole: u64| (whole > 0).then(|| part as f64 * 100.0 / whole as f64);

    if col.distinct_count == 1 && col.null_count == 0 && rows >= MIN_ROWS_CONSTANT_UNIQUE {
        let value = col.sample_values.first().cloned().unwrap_or_default();
        push(
            "constant",
            format!("{name} has the same value ({value}) in all {rows} rows."),
        );
    }
    let unique = col.distinct_count == rows
        && col.null_count == 0
        && rows >= MIN_ROWS_CONSTANT_UNIQUE
        && !col.is_primary_key
        && matches!(col.column_type.as_str(), "string" | "int64");
    if unique {
        push(
            "unique",
            format!(
                "Every one of the {rows} values of {name} is distinct; it may be an identifier."
            ),
        );
    }
    if let Some(pct) = col.null_pct {
        if pct > HIGH_MISSING_PCT {
            push(
                "high_missing",
                format!(
                    "{name} is NULL in {pct:.1}% of rows ({} of {rows}).",
                    col.null_count
                ),
            );
        } else if pct > MISSING_PCT {
            push(
                "missing",
                format!(
                    "{name} is NULL in {pct:.1}% of rows ({} of {rows}).",
                    col.null_count
                ),
            );
        }
    }
    if let Some(num) = &col.numeric {
        if let Some(pct) = share(num.zeros, non_null) {
            if pct > ZEROS_PCT {
                push("zeros", format!("{pct:.1}% of the values of {name} are 0."));
            }
        }
    }
    if col.string.is_some() {
        if let Some(top) = col.top_values.first() {
            if col.distinct_count >= 2 && top.pct > IMBALANCE_PCT {
                push(
                    "imbalance",
                    format!(
                        "One value (\"{}\") makes up {:.1}% of {name}.",
                        top.value, top.pct
                    ),
                );
            }
        }
        if !col.is_primary_key && !unique && col.distinct_count > HIGH_CARDINALITY_MIN_DISTINCT {
            if let Some(pct) = share(col.distinct_count, non_null) {
                if pct > HIGH_CARDINALITY_PCT {
                    push(
                        "high_cardinality",
                        format!(
                            "{name} has {} distinct values ({pct:.1}% of non-null rows).",
                            col.distinct_count
                        ),
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::model::{NumericStats, StringStats, TopValue};

    fn kinds(col: &ColumnProfile, rows: u64) -> Vec<String> {
        column_alerts(col, rows)
            .into_iter()
            .map(|a| a.kind)
            .collect()
    }

    #[test]
    fn thresholds() {
        let mut c = ColumnProfile {
            name: "x".into(),
            column_type: "int64".into(),
            distinct_count: 1,
            sample_values: vec!["7".into()],
            null_pct: Some(0.0),
            numeric: Some(NumericStats {
                zeros: 0,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(kinds(&c, 3), vec!["constant"]);
        assert!(
            kinds(&c, 1).is_empty(),
            "one row is neither constant nor unique"
        );

        c.distinct_count = 3;
        assert_eq!(kinds(&c, 3), vec!["unique"]);
        c.column_type = "float64".into();
        assert!(kinds(&c, 3).is_empty(), "all-distinct amounts are normal");
        c.column_type = "int64".into();
        c.is_primary_key = true;
        assert!(kinds(&c, 3).is_empty());

        // 31% NULL, the 69 non-null values are 40 zeros (58%).
        c.is_primary_key = false;
        c.distinct_count = 10;
        c.null_count = 31;
        c.null_pct = Some(31.0);
        c.numeric = Some(NumericStats {
            zeros: 40,
            ..Default::default()
        });
        assert_eq!(kinds(&c, 100), vec!["high_missing", "zeros"]);
        c.null_pct = Some(5.5);
        assert_eq!(kinds(&c, 100), vec!["missing", "zeros"]);
        c.null_pct = Some(5.0);
        assert_eq!(kinds(&c, 100), vec!["zeros"]);
    }

    #[test]
    fn string_alerts() {
        let c = ColumnProfile {
            name: "s".into(),
            distinct_count: 60,
            null_pct: Some(0.0),
            string: Some(StringStats::default()),
            top_values: vec![TopValue {
                value: "a".into(),
                count: 61,
                pct: 61.0,
            }],
            ..Default::default()
        };
        // 60 distinct of 100 non-null rows: high cardinality; top value 61%: imbalance.
        assert_eq!(kinds(&c, 100), vec!["imbalance", "high_cardinality"]);
        // 60 distinct of 200 rows is 30%: not high cardinality.
        assert_eq!(kinds(&c, 200), vec!["imbalance"]);
    }
}
