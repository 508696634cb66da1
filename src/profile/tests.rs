//! End-to-end tests of the profile stage: small Parquet files written with the ArrowWriter
//! (zstd), profiled, and checked against values worked out by hand (and against DuckDB).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::*;
use crate::content::ColumnType;
use crate::sync::SyncedColumn;

fn write(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>, rg_rows: usize) -> DataFile {
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    write_batches(dir, name, &[batch], rg_rows)
}

fn write_batches(dir: &Path, name: &str, batches: &[RecordBatch], rg_rows: usize) -> DataFile {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create");
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(rg_rows))
        .build();
    let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("writer");
    for b in batches {
        w.write(b).expect("write");
    }
    w.close().expect("close");
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    DataFile {
        path: format!("data/test/{name}"),
        bytes: std::fs::metadata(&path).expect("meta").len(),
        abs_path: path,
        rows,
    }
}

fn synced(name: &str, files: Vec<DataFile>) -> SyncedTable {
    SyncedTable {
        table: name.to_string(),
        columns: Vec::new(),
        rows: files.iter().map(|f| f.rows).sum(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        files,
        source: "test".to_string(),
        elapsed_ms: 0,
        run: Default::default(),
    }
}

fn spec(name: &str, pk: &[&str]) -> TableSpec {
    let pk: Vec<String> = pk.iter().map(|s| s.to_string()).collect();
    TableSpec::bare(name, &pk)
}

fn profile(name: &str, pk: &[&str], files: Vec<DataFile>) -> TableProfile {
    run(&spec(name, pk), &synced(name, files)).expect("profile")
}

fn run(spec: &TableSpec, synced: &SyncedTable) -> Result<TableProfile> {
    profile_table(&ProfileJob {
        spec,
        synced,
        settings: ProfileSettings::default(),
        previous: None,
    })
}

fn col<'a>(p: &'a TableProfile, name: &str) -> &'a ColumnProfile {
    p.columns
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

fn alert_kinds(c: &ColumnProfile) -> Vec<&str> {
    c.alerts.iter().map(|a| a.kind.as_str()).collect()
}

fn arr<A: arrow::array::Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

#[test]
fn all_null_column_has_nulls_not_nan() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "t.parquet",
        vec![
            ("id", arr(Int64Array::from(vec![1, 2, 3]))),
            ("x", arr(Float64Array::from(vec![None, None, None]))),
            ("s", arr(StringArray::from(vec![None::<&str>, None, None]))),
        ],
        1024,
    );
    let p = profile("t", &["id"], vec![f]);
    assert_eq!(p.row_count, 3);
    assert_eq!(p.column_count, 3);
    assert_eq!(p.missing_cells, 6);
    assert!(close(p.completeness_pct, 100.0 / 3.0));
    assert_eq!(p.duplicate_primary_keys, Some(0));
    let x = col(&p, "x");
    assert_eq!(x.column_type, "float64");
    assert_eq!(x.null_count, 3);
    assert_eq!(x.null_pct, Some(100.0));
    assert_eq!(x.distinct_count, 0);
    assert_eq!(x.distinct_pct, None);
    assert_eq!(x.min, None);
    assert!(x.sample_values.is_empty());
    let n = x.numeric.as_ref().expect("numeric");
    assert_eq!(n.mean, None);
    assert_eq!(n.stddev, None);
    assert_eq!(n.p50, None);
    assert_eq!(n.histogram, None);
    assert_eq!(alert_kinds(x), vec!["high_missing"]);
    let s = col(&p, "s").string.as_ref().expect("string");
    assert_eq!(s.avg_length, None);
    assert!(col(&p, "s").top_values.is_empty());
    // The id column is a key: no `unique` alert.
    assert!(col(&p, "id").alerts.is_empty());

    let json = serde_json::to_string(&p).expect("json");
    assert!(json.contains("\"mean\":null"), "{json}");
    assert!(!json.contains("NaN"), "{json}");
    assert_eq!(
        p.sample_rows[0],
        vec![Some("1".to_string()), None, None],
        "sample rows keep NULL as None"
    );
}

#[test]
fn single_row_table() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "one.parquet",
        vec![("v", arr(Int64Array::from(vec![5])))],
        1024,
    );
    let p = profile("one", &[], vec![f]);
    let v = col(&p, "v");
    let n = v.numeric.as_ref().expect("numeric");
    assert_eq!(n.mean, Some(5.0));
    assert_eq!(n.stddev, None);
    assert_eq!(n.p25, Some(5.0));
    assert_eq!(n.p75, Some(5.0));
    assert_eq!(
        n.histogram,
        Some(Histogram {
            edges: Vec::new(),
            counts: vec![1],
            rule: "distinct".into(),
            values: vec![5.0],
        })
    );
    assert_eq!(v.min, Some(serde_json::json!(5)));
    assert!(
        v.alerts.is_empty(),
        "one row is neither constant nor unique"
    );
    assert_eq!(p.duplicate_primary_keys, None);
    assert_eq!(p.sample_rows, vec![vec![Some("5".to_string())]]);
}

#[test]
fn floats_with_nan_and_infinities() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let values = vec![
        Some(1.0),
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
        Some(-0.0),
        Some(0.0),
        Some(2.0),
        None,
    ];
    let f = write(
        dir.path(),
        "f.parquet",
        vec![("x", arr(Float64Array::from(values)))],
        1024,
    );
    let p = profile("f", &[], vec![f]);
    let x = col(&p, "x");
    assert_eq!(x.null_count, 1);
    // Finite {0, 1, 2} (−0.0 = 0.0) + NaN + inf + −inf.
    assert_eq!(x.distinct_count, 6);
    assert_eq!(x.min, Some(serde_json::json!(0.0)));
    assert_eq!(x.max, Some(serde_json::json!(2.0)));
    assert_eq!(x.sample_values, vec!["1.0", "NaN", "inf", "-inf", "0.0"]);
    let n = x.numeric.as_ref().expect("numeric");
    assert_eq!(n.nan_count, 1);
    assert_eq!(n.infinite_count, 2);
    assert_eq!(n.zeros, 2);
    assert_eq!(n.negatives, 0);
    // Finite values sorted: [0, 0, 1, 2].
    assert!(close(n.mean, 0.75));
    // Σd² = 0.5625 + 0.5625 + 0.0625 + 1.5625 = 2.75; / 3.
    assert!(close(n.stddev, (2.75_f64 / 3.0).sqrt()));
    assert!(close(n.p25, 0.0));
    assert!(close(n.p50, 0.5));
    assert!(close(n.p75, 1.25));
    let h = n.histogram.as_ref().expect("histogram");
    // Three distinct finite values: one bin each.
    assert_eq!(h.rule, "distinct");
    assert_eq!(h.values, vec![0.0, 1.0, 2.0]);
    assert_eq!(h.counts, vec![2, 1, 1]);
    assert_eq!(
        p.sample_rows
            .iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>(),
        vec![
            Some("1.0".to_string()),
            Some("NaN".to_string()),
            Some("inf".to_string()),
            Some("-inf".to_string()),
            Some("-0.0".to_string())
        ]
    );
    // NaN only ever appears as sample text, never as a number.
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(
        json["columns"][0]["numeric"]["nan_count"],
        serde_json::json!(1)
    );
}

#[test]
fn timestamps_and_dates() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    // 2025-03-01T10:00:00Z and 2025-03-03T09:30:00.5Z.
    let t0 = 1_740_823_200_000_000_i64;
    let t1 = t0 + (47 * 3600 + 30 * 60) * 1_000_000 + 500_000;
    let ts = TimestampMicrosecondArray::from(vec![Some(t1), None, Some(t0)]).with_timezone("UTC");
    // The same values as wall-clock times: no zone, shown without `Z`.
    let local = TimestampMicrosecondArray::from(vec![Some(t1), None, Some(t0)]);
    let empty_dates = Date32Array::from(vec![None, None, None]);
    let dates = Date32Array::from(vec![Some(20148), Some(20148 + 30), None]);
    let f = write(
        dir.path(),
        "t.parquet",
        vec![
            ("never", arr(empty_dates)),
            ("at", arr(ts)),
            ("day", arr(dates)),
            ("local", arr(local)),
        ],
        1024,
    );
    let p = profile("t", &[], vec![f]);
    let local = col(&p, "local");
    assert_eq!(local.column_type, "timestamp");
    assert_eq!(local.min, Some(serde_json::json!("2025-03-01T10:00:00")));
    assert_eq!(local.sample_values[0], "2025-03-03T09:30:00.500");
    let at = col(&p, "at");
    assert_eq!(at.column_type, "timestamptz");
    assert_eq!(at.min, Some(serde_json::json!("2025-03-01T10:00:00Z")));
    assert_eq!(at.max, Some(serde_json::json!("2025-03-03T09:30:00.500Z")));
    let t = at.temporal.as_ref().expect("temporal");
    assert_eq!(t.span_days, Some(1));
    assert_eq!(at.sample_values[0], "2025-03-03T09:30:00.500Z");
    let day = col(&p, "day");
    assert_eq!(day.column_type, "date");
    assert_eq!(day.min, Some(serde_json::json!("2025-03-01")));
    assert_eq!(day.max, Some(serde_json::json!("2025-03-31")));
    assert_eq!(day.temporal.as_ref().and_then(|t| t.span_days), Some(30));
    // The first temporal column with values is `at`, not the all-NULL `never`.
    assert_eq!(
        p.date_range,
        Some(DateRange {
            column: "at".into(),
            earliest: "2025-03-01T10:00:00Z".into(),
            latest: "2025-03-03T09:30:00.500Z".into(),
            span_days: 1,
        })
    );
    assert_eq!(
        col(&p, "never")
            .temporal
            .as_ref()
            .map(|t| t.earliest.clone()),
        Some(None)
    );
}

#[test]
fn strings_empty_null_and_unicode() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let s = StringArray::from(vec![
        Some(""),
        Some("héllo"),
        None,
        Some("日本"),
        Some(""),
        Some("b"),
    ]);
    let f = write(dir.path(), "s.parquet", vec![("s", arr(s))], 1024);
    let p = profile("s", &[], vec![f]);
    let c = col(&p, "s");
    assert_eq!(c.column_type, "string");
    assert_eq!(c.null_count, 1);
    assert_eq!(c.distinct_count, 4);
    assert!(close(c.distinct_pct, 80.0));
    // Byte order = code point order: "" < "b" < "héllo" < "日本".
    assert_eq!(c.min, Some(serde_json::json!("")));
    assert_eq!(c.max, Some(serde_json::json!("日本")));
    assert_eq!(c.sample_values, vec!["", "héllo", "日本", "b"]);
    let st = c.string.as_ref().expect("string");
    assert_eq!(st.empty_count, 2);
    assert_eq!(st.min_length, Some(0));
    assert_eq!(st.max_length, Some(5), "héllo is 5 characters, 6 bytes");
    // (0 + 5 + 2 + 0 + 1) / 5.
    assert!(close(st.avg_length, 1.6));
    let top: Vec<(&str, u64, f64)> = c
        .top_values
        .iter()
        .map(|t| (t.value.as_str(), t.count, t.pct))
        .collect();
    assert_eq!(
        top,
        vec![
            ("", 2, 40.0),
            ("b", 1, 20.0),
            ("héllo", 1, 20.0),
            ("日本", 1, 20.0)
        ]
    );
    assert_eq!(alert_kinds(c), vec!["missing"], "1 of 6 NULL is 16.7%");
}

#[test]
fn top_values_order_limit_and_alerts() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    // "z" 70 times, then "k00".."k11" 12 values with counts 3, 3, 2, 2, … and the rest 1.
    let mut v: Vec<String> = vec!["z".to_string(); 70];
    for i in 0..12 {
        let reps = match i {
            0 | 1 => 3,
            2 | 3 => 2,
            _ => 1,
        };
        for _ in 0..reps {
            v.push(format!("k{i:02}"));
        }
    }
    let n = v.len() as f64;
    let f = write(
        dir.path(),
        "t.parquet",
        vec![("s", arr(StringArray::from(v.clone())))],
        1024,
    );
    let p = profile("t", &[], vec![f]);
    let c = col(&p, "s");
    assert!(c.string.is_some());
    let values: Vec<&str> = c.top_values.iter().map(|t| t.value.as_str()).collect();
    assert_eq!(
        values,
        vec!["z", "k00", "k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08"]
    );
    assert!(close(Some(c.top_values[0].pct), 70.0 * 100.0 / n));
    assert_eq!(alert_kinds(c), vec!["imbalance"]);
    assert_eq!(p.alerts.len(), 1);
    assert_eq!(p.alerts[0].column, "s");
}

#[test]
fn duplicate_primary_keys_composite_and_single() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let a1 = Int64Array::from(vec![Some(1), Some(1), Some(1), Some(2)]);
    let b1 = StringArray::from(vec![Some("x"), Some("y"), Some("x"), Some("x")]);
    let a2 = Int64Array::from(vec![None, None, Some(1)]);
    let b2 = StringArray::from(vec![Some("x"), Some("x"), Some("x")]);
    let f1 = write(
        dir.path(),
        "p1.parquet",
        vec![("a", arr(a1)), ("b", arr(b1))],
        2,
    );
    let f2 = write(
        dir.path(),
        "p2.parquet",
        vec![("a", arr(a2)), ("b", arr(b2))],
        2,
    );
    // (1,x) (1,y) (1,x)* (2,x) | (∅,x) (∅,x)* (1,x)*  → 3 repeats.
    let p = profile("p", &["a", "b"], vec![f1.clone(), f2.clone()]);
    assert_eq!(p.duplicate_primary_keys, Some(3));
    assert!(col(&p, "a").is_primary_key && col(&p, "b").is_primary_key);
    // Single key a: 1,1,1,2,∅,∅,1 → 1 repeats 3 times, ∅ once.
    let p = profile("p", &["a"], vec![f1.clone(), f2.clone()]);
    assert_eq!(p.duplicate_primary_keys, Some(4));
    // Key in the other order gives the same count.
    let p = profile("p", &["b", "a"], vec![f1, f2]);
    assert_eq!(p.duplicate_primary_keys, Some(3));
}

#[test]
fn percentiles_match_quantile_cont() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "q.parquet",
        vec![
            ("i", arr(Int64Array::from(vec![4, 1, 3, 2]))),
            ("f", arr(Float64Array::from(vec![10.0, 20.0, 40.0, 30.0]))),
        ],
        1024,
    );
    let p = profile("q", &[], vec![f]);
    let i = col(&p, "i").numeric.clone().expect("numeric");
    assert!(close(i.p25, 1.75) && close(i.p50, 2.5) && close(i.p75, 3.25));
    assert!(close(i.mean, 2.5));
    // Σd² = 2.25 + 0.25 + 0.25 + 2.25 = 5; / 3.
    assert!(close(i.stddev, (5.0_f64 / 3.0).sqrt()));
    let f = col(&p, "f").numeric.clone().expect("numeric");
    assert!(close(f.p25, 17.5) && close(f.p50, 25.0) && close(f.p75, 32.5));
    assert_eq!(alert_kinds(col(&p, "i")), vec!["unique"]);
}

/// A deterministic pseudo-random table with every column kind.
fn mixed_batch(start: usize, rows: usize) -> RecordBatch {
    let mut x = 0x2545_F491_4F6C_DD1D_u64 ^ start as u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut ids = Vec::new();
    let mut ints = Vec::new();
    let mut floats = Vec::new();
    let mut bools = Vec::new();
    let mut dates = Vec::new();
    let mut stamps = Vec::new();
    let mut strings = Vec::new();
    for i in start..start + rows {
        let r = next();
        ids.push(i as i64);
        ints.push((r % 7 != 0).then_some((r % 1000) as i64 - 300));
        floats.push((r % 11 != 0).then_some(((r >> 8) % 100_000) as f64 / 7.0 - 2000.0));
        bools.push((r % 5 != 0).then_some(r % 3 == 0));
        dates.push((r % 13 != 0).then_some(19000 + (r % 400) as i32));
        stamps.push(Some(
            1_700_000_000_000_000 + (r % 1_000_000_000) as i64 * 1000,
        ));
        strings.push((r % 9 != 0).then(|| format!("v{}", (r >> 20) % 150)));
    }
    RecordBatch::try_from_iter(vec![
        ("id", arr(Int64Array::from(ids))),
        ("n", arr(Int64Array::from(ints))),
        ("x", arr(Float64Array::from(floats))),
        ("flag", arr(BooleanArray::from(bools))),
        ("day", arr(Date32Array::from(dates))),
        (
            "at",
            arr(TimestampMicrosecondArray::from(stamps).with_timezone("UTC")),
        ),
        ("s", arr(StringArray::from(strings))),
    ])
    .expect("batch")
}

#[test]
fn split_files_and_row_groups_give_the_same_profile() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let whole = write_batches(
        dir.path(),
        "whole.parquet",
        &[mixed_batch(0, 3000)],
        100_000,
    );
    let parts = vec![
        write_batches(
            dir.path(),
            "a.parquet",
            &[mixed_batch(0, 3000).slice(0, 1000)],
            128,
        ),
        write_batches(
            dir.path(),
            "b.parquet",
            &[mixed_batch(0, 3000).slice(1000, 1500)],
            333,
        ),
        write_batches(
            dir.path(),
            "c.parquet",
            &[mixed_batch(0, 3000).slice(2500, 500)],
            7,
        ),
    ];
    let one = profile("m", &["id"], vec![whole]);
    let many = profile("m", &["id"], parts);
    let strip = |p: &TableProfile| {
        let mut v = serde_json::to_value(p).expect("json");
        if let Some(o) = v.as_object_mut() {
            o.remove("file_bytes");
            o.remove("uncompressed_bytes");
            o.remove("fingerprint");
        }
        // Means and deviations merged from other splits may differ in the last bits.
        for c in v["columns"].as_array_mut().into_iter().flatten() {
            for k in ["mean", "stddev"] {
                if let Some(x) = c["numeric"][k].as_f64() {
                    c["numeric"][k] = serde_json::json!(format!("{x:.9e}"));
                }
            }
        }
        v
    };
    assert_eq!(strip(&one), strip(&many));
    assert_eq!(one.row_count, 3000);
    assert_eq!(one.duplicate_primary_keys, Some(0));
    assert!(one.uncompressed_bytes > 0 && many.uncompressed_bytes > 0);
    assert_eq!(one.sample_rows.len(), 5);
    assert_eq!(one.sample_rows[0].len(), 7);
    let flag = col(&one, "flag").boolean.clone().expect("boolean");
    assert_eq!(
        flag.true_count + flag.false_count + col(&one, "flag").null_count,
        3000
    );
}

#[test]
fn agrees_with_duckdb() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f = write_batches(
        dir.path(),
        "d.parquet",
        &[mixed_batch(0, 4000), mixed_batch(4000, 1000)],
        1500,
    );
    let path = f.abs_path.display().to_string();
    let p = profile("d", &[], vec![f]);
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    for name in ["n", "x"] {
        let sql = format!(
            "SELECT quantile_cont({name}, 0.25), quantile_cont({name}, 0.5), \
             quantile_cont({name}, 0.75), stddev_samp({name}), avg({name}), \
             count(DISTINCT {name}), count(*) - count({name}), \
             count(*) FILTER (WHERE {name} = 0), count(*) FILTER (WHERE {name} < 0) \
             FROM read_parquet('{path}')"
        );
        let row: (f64, f64, f64, f64, f64, i64, i64, i64, i64) = conn
            .query_row(&sql, [], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .expect("query");
        let c = col(&p, name);
        let n = c.numeric.as_ref().expect("numeric");
        assert!(close(n.p25, row.0), "{name} p25 {:?} vs {}", n.p25, row.0);
        assert!(close(n.p50, row.1), "{name} p50 {:?} vs {}", n.p50, row.1);
        assert!(close(n.p75, row.2), "{name} p75 {:?} vs {}", n.p75, row.2);
        assert!(
            close(n.stddev, row.3),
            "{name} sd {:?} vs {}",
            n.stddev,
            row.3
        );
        assert!(
            close(n.mean, row.4),
            "{name} mean {:?} vs {}",
            n.mean,
            row.4
        );
        assert_eq!(c.distinct_count, row.5 as u64, "{name} distinct");
        assert_eq!(c.null_count, row.6 as u64, "{name} nulls");
        assert_eq!(n.zeros, row.7 as u64, "{name} zeros");
        assert_eq!(n.negatives, row.8 as u64, "{name} negatives");
    }
    let sql = format!(
        "SELECT count(DISTINCT s), min(length(s)), max(length(s)), avg(length(s)), \
         min(s), max(s), count(DISTINCT day), min(day)::VARCHAR, \
         count(*) FILTER (WHERE flag) FROM read_parquet('{path}')"
    );
    let row: (i64, i64, i64, f64, String, String, i64, String, i64) = conn
        .query_row(&sql, [], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .expect("query");
    let s = col(&p, "s");
    let st = s.string.as_ref().expect("string");
    assert_eq!(s.distinct_count, row.0 as u64);
    assert_eq!(st.min_length, Some(row.1 as u64));
    assert_eq!(st.max_length, Some(row.2 as u64));
    assert!(close(st.avg_length, row.3));
    assert_eq!(s.min, Some(serde_json::json!(row.4)));
    assert_eq!(s.max, Some(serde_json::json!(row.5)));
    assert_eq!(col(&p, "day").distinct_count, row.6 as u64);
    assert_eq!(col(&p, "day").min, Some(serde_json::json!(row.7)));
    assert_eq!(
        col(&p, "flag").boolean.as_ref().map(|b| b.true_count),
        Some(row.8 as u64)
    );
}

#[test]
fn other_arrow_types_are_mapped() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f = write(
        dir.path(),
        "o.parquet",
        vec![
            (
                "small",
                arr(Int32Array::from(vec![Some(3), None, Some(-1)])),
            ),
            ("big", arr(UInt64Array::from(vec![u64::MAX, 1, 1]))),
        ],
        1024,
    );
    let p = profile("o", &[], vec![f]);
    let small = col(&p, "small");
    assert_eq!(small.column_type, "int64");
    assert_eq!(small.min, Some(serde_json::json!(-1)));
    assert_eq!(small.numeric.as_ref().and_then(|n| n.mean), Some(1.0));
    let big = col(&p, "big");
    assert_eq!(big.column_type, "string");
    assert_eq!(
        big.sample_values,
        vec![u64::MAX.to_string(), "1".to_string()]
    );
    assert_eq!(big.distinct_count, 2);
}

#[test]
fn empty_tables() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    // A file with a schema and no rows.
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new(
            "t",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]));
    let batch = RecordBatch::new_empty(schema);
    let f = write_batches(dir.path(), "e.parquet", &[batch], 1024);
    let p = profile("e", &["a"], vec![f]);
    assert_eq!(p.row_count, 0);
    assert_eq!(p.completeness_pct, None);
    assert_eq!(p.duplicate_primary_keys, Some(0));
    assert!(p.sample_rows.is_empty());
    assert_eq!(col(&p, "a").null_pct, None);
    assert_eq!(col(&p, "t").column_type, "timestamptz");
    assert_eq!(p.date_range, None);

    // No file at all: columns from the synced schema.
    let mut t = synced("none", Vec::new());
    t.columns = vec![SyncedColumn {
        name: "d".into(),
        source_name: "d".into(),
        column_type: ColumnType::Date,
        type_source: "declared",
        note: None,
    }];
    let p = run(&spec("none", &[]), &t).expect("profile");
    assert_eq!(p.column_count, 1);
    assert_eq!(p.columns[0].column_type, "date");
    assert_eq!(p.row_count, 0);
}

#[test]
fn errors_name_the_file_and_column() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f1 = write(
        dir.path(),
        "a.parquet",
        vec![("a", arr(Int64Array::from(vec![1])))],
        1024,
    );
    let f2 = write(
        dir.path(),
        "b.parquet",
        vec![("a", arr(StringArray::from(vec!["1"])))],
        1024,
    );
    let err = run(&spec("t", &[]), &synced("t", vec![f1.clone(), f2])).expect_err("types differ");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("profiling table t") && msg.contains("b.parquet"),
        "{msg}"
    );
    assert!(msg.contains("column a"), "{msg}");

    let err = run(&spec("t", &["nope"]), &synced("t", vec![f1.clone()])).expect_err("missing key");
    assert!(format!("{err:#}").contains("nope"));

    let mut missing = f1.clone();
    missing.abs_path = dir.path().join("gone.parquet");
    let err = run(&spec("t", &[]), &synced("t", vec![missing])).expect_err("no file");
    assert!(format!("{err:#}").contains("gone.parquet"));

    let garbage = dir.path().join("bad.parquet");
    std::fs::write(&garbage, b"not parquet at all").expect("write");
    let mut bad = f1;
    bad.abs_path = garbage;
    let err = run(&spec("t", &[]), &synced("t", vec![bad])).expect_err("bad file");
    assert!(format!("{err:#}").contains("bad.parquet"));
}

#[test]
fn profile_all_keeps_input_order() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let mut specs = Vec::new();
    let mut tables = Vec::new();
    for i in 0..6 {
        let name = format!("t{i}");
        let f = write(
            dir.path(),
            &format!("{name}.parquet"),
            vec![("v", arr(Int64Array::from(vec![i; (i as usize) + 1])))],
            1024,
        );
        specs.push(spec(&name, &[]));
        tables.push(synced(&name, vec![f]));
    }
    let mut items: Vec<(&TableSpec, &SyncedTable)> = specs.iter().zip(tables.iter()).collect();
    let broken = synced("broken", Vec::new());
    let broken_spec = spec("broken", &["missing"]);
    items.insert(3, (&broken_spec, &broken));
    let jobs: Vec<ProfileJob> = items
        .into_iter()
        .map(|(spec, synced)| ProfileJob {
            spec,
            synced,
            settings: ProfileSettings::default(),
            previous: None,
        })
        .collect();
    let out = profile_all(&jobs);
    assert_eq!(out.len(), 7);
    assert!(out[3].is_err(), "a failing table does not stop the others");
    let names: Vec<String> = out
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|p| format!("{}:{}", p.table, p.row_count))
        .collect();
    assert_eq!(names, vec!["t0:1", "t1:2", "t2:3", "t3:4", "t4:5", "t5:6"]);
}

/// 2,000,000 rows: past the exact limits, so distinct counts are HyperLogLog estimates and
/// percentiles come from the row sample; each must fall within its stated error of the exact
/// value, computed here by sorting every value. Histogram counts stay exact.
#[test]
fn two_million_rows_sketches_stay_within_their_stated_error() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let n = 2_000_000usize;
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let ids: Vec<i64> = (0..n as i64).collect();
    // Skewed amounts: a square of a uniform value, 1 in 50 NULL.
    let amounts: Vec<Option<f64>> = (0..n)
        .map(|_| {
            let r = next();
            (r % 50 != 0)
                .then(|| ((r >> 11) % 1_000_000) as f64 / 1000.0)
                .map(|u| u * u)
        })
        .collect();
    let codes: Vec<String> = (0..n)
        .map(|i| format!("c{}", (i * 7919) % 600_000))
        .collect();
    let batches: Vec<RecordBatch> = (0..n)
        .step_by(250_000)
        .map(|s| {
            let e = (s + 250_000).min(n);
            RecordBatch::try_from_iter(vec![
                ("id", arr(Int64Array::from(ids[s..e].to_vec()))),
                ("amount", arr(Float64Array::from(amounts[s..e].to_vec()))),
                ("code", arr(StringArray::from(codes[s..e].to_vec()))),
            ])
            .expect("batch")
        })
        .collect();
    let f = write_batches(dir.path(), "big.parquet", &batches, 122_880);
    let p = profile("big", &["id"], vec![f]);
    assert_eq!(p.row_count, n as u64);
    assert!(!p.sampled);
    assert_eq!(
        p.duplicate_primary_keys,
        Some(0),
        "ids increase: no key read again"
    );
    assert_eq!(p.duplicate_rows, Some(0));

    // Distinct counts: estimates within the stated bound.
    for (name, exact) in [("id", n as f64), ("code", 600_000.0)] {
        let c = col(&p, name);
        assert!(!c.distinct_exact, "{name}");
        let bound = c.distinct_error_pct.expect("bound");
        assert!((bound - 2.4375).abs() < 1e-9);
        let err = (c.distinct_count as f64 - exact).abs() / exact * 100.0;
        assert!(
            err <= bound,
            "{name}: {} is {err:.3}% off",
            c.distinct_count
        );
        assert!(
            c.top_values.is_empty(),
            "no top values past the exact limit"
        );
    }

    // Percentiles: the reported value's rank lies within the stated rank error.
    let a = col(&p, "amount");
    let num = a.numeric.as_ref().expect("numeric");
    assert!(!num.quantiles_exact);
    let rank_err = num.quantile_rank_error_pct.expect("rank error");
    // About 100,000 sampled rows, 98% non-null: ε ≈ 0.52%.
    assert!(rank_err > 0.45 && rank_err < 0.6, "{rank_err}");
    let mut sorted: Vec<f64> = amounts.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let m = sorted.len() as f64;
    for (q, got) in [
        (0.05, num.p5),
        (0.25, num.p25),
        (0.5, num.p50),
        (0.75, num.p75),
        (0.95, num.p95),
    ] {
        let got = got.expect("percentile");
        let lo = sorted.partition_point(|&v| v < got) as f64 / m;
        let hi = sorted.partition_point(|&v| v <= got) as f64 / m;
        let e = rank_err / 100.0;
        assert!(
            lo <= q + e && hi >= q - e,
            "p{q}: {got} has rank {lo}..{hi}"
        );
    }
    // Mean, min and max stay exact.
    let mean = sorted.iter().sum::<f64>() / m;
    assert!(close(num.mean, mean));
    assert_eq!(a.min, Some(serde_json::json!(sorted[0])));
    assert_eq!(a.null_count, (n - sorted.len()) as u64);
    // The histogram's counts are exact: each bin holds the values between its edges.
    let h = num.histogram.as_ref().expect("histogram");
    assert_eq!(h.rule, "freedman_diaconis");
    assert!(h.counts.len() <= 40);
    assert_eq!(h.counts.iter().sum::<u64>(), sorted.len() as u64);
    for (i, &c) in h.counts.iter().enumerate() {
        let lo = sorted.partition_point(|&v| v < h.edges[i]);
        let hi = if i + 1 == h.counts.len() {
            sorted.len()
        } else {
            sorted.partition_point(|&v| v < h.edges[i + 1])
        };
        let want = (hi - lo) as u64;
        assert!(want.abs_diff(c) <= 2, "bin {i}: {c} vs {want}");
    }
}

#[test]
fn sample_rows_cap_profiles_spread_row_groups_and_says_so() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f = write_batches(dir.path(), "m.parquet", &[mixed_batch(0, 10_000)], 1000);
    let t = synced("m", vec![f]);
    let s = spec("m", &["id"]);
    let job = ProfileJob {
        spec: &s,
        synced: &t,
        settings: ProfileSettings {
            sample_rows: Some(2500),
            time_budget_s: None,
        },
        previous: None,
    };
    let p = profile_table(&job).expect("profile");
    assert!(p.sampled);
    assert_eq!(p.row_count, 10_000);
    assert_eq!(p.profiled_rows, 2500);
    assert_eq!(p.sample_reason.as_deref(), Some("sample_rows: 2500"));
    assert_eq!(p.duplicate_primary_keys, None);
    assert_eq!(p.duplicate_rows, None);
    let id = col(&p, "id");
    // Row groups 0, 3 and 6 (every 10/3rd), the last cut to 500 rows.
    assert_eq!(id.min, Some(serde_json::json!(0)));
    assert_eq!(id.max, Some(serde_json::json!(6499)));
    assert_eq!(id.distinct_count, 2500);
}

#[test]
fn unchanged_files_reuse_the_previous_profile_and_changed_ones_do_not() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    let f = write_batches(dir.path(), "m.parquet", &[mixed_batch(0, 500)], 100);
    let t = synced("m", vec![f]);
    let s = spec("m", &["id"]);
    let mut first = run(&s, &t).expect("profile");
    assert_eq!(first.fingerprint.len(), 64);
    // A marker only a reused profile carries.
    first.row_count = 12_345;
    let job = |prev| ProfileJob {
        spec: &s,
        synced: &t,
        settings: ProfileSettings::default(),
        previous: prev,
    };
    assert_eq!(
        profile_table(&job(Some(&first))).expect("reuse").row_count,
        12_345
    );
    // Other settings: profiled again.
    let capped = ProfileJob {
        settings: ProfileSettings {
            sample_rows: Some(100),
            time_budget_s: None,
        },
        ..job(Some(&first))
    };
    assert_eq!(profile_table(&capped).expect("profile").row_count, 500);
    // Other content under the same name and size: profiled again.
    write_batches(dir.path(), "m.parquet", &[mixed_batch(7, 500)], 100);
    assert_eq!(
        profile_table(&job(Some(&first)))
            .expect("profile")
            .row_count,
        500
    );
}

/// Text shapes are counted over every row whether the distinct values stay exact or overflow
/// into the sketch part way, and whatever the split into row groups.
#[test]
fn text_shapes_count_every_row_across_the_distinct_limit() {
    let dir = crate::testkit::tempdir().expect("tempdir");
    // 150,000 distinct e-mails (past the exact limit), 50,000 dates, 50,000 numbers, 10,000
    // empty strings (not counted), 40,000 words.
    let mut v: Vec<String> = Vec::new();
    for i in 0..150_000 {
        v.push(format!("user{i}@example.com"));
    }
    for i in 0..50_000 {
        v.push(format!("2025-01-{:02}", i % 28 + 1));
        v.push(format!("{}.5", i % 1000));
        v.push("word".to_string());
    }
    for _ in 0..10_000 {
        v.push(String::new());
    }
    let n = v.len();
    let f = write(
        dir.path(),
        "t.parquet",
        vec![("s", arr(StringArray::from(v)))],
        30_000,
    );
    let p = profile("t", &[], vec![f]);
    let c = col(&p, "s");
    assert!(!c.distinct_exact);
    let st = c.string.as_ref().expect("string");
    assert!(st.looks_exact, "every row is kept below 1M rows");
    assert_eq!(st.empty_count, 10_000);
    let non_empty = (n - 10_000) as f64;
    assert!(close(st.looks_email_pct, 150_000.0 * 100.0 / non_empty));
    assert!(close(st.looks_date_pct, 50_000.0 * 100.0 / non_empty));
    assert!(close(st.looks_numeric_pct, 50_000.0 * 100.0 / non_empty));
}
