//! `broker profile`, run as a user would, on Parquet files written by DuckDB: a file table, a
//! folder table of hive partitions, primary keys, output to a file or stdout, failed tables and
//! usage errors. Only statistics that any correct profiler gives on small data are checked
//! (row and column counts, names, types, NULL counts, min/max, exact distinct counts, duplicate
//! keys).

mod common;

use std::path::Path;

use common::{broker, column, text};
use serde_json::{json, Value};

/// Write the result of `select` as a Parquet file with the bundled DuckDB.
fn parquet(path: &Path, select: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "COPY ({select}) TO '{}' (FORMAT parquet, COMPRESSION zstd);",
        path.display()
    ))
    .unwrap();
}

/// A small customers table: ids 1..4, one NULL name, one NULL score, dates in 2024.
fn customers(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("customers.parquet");
    parquet(
        &path,
        "SELECT * FROM (VALUES
            (1::BIGINT, 'ann', 1.5::DOUBLE, DATE '2024-01-31', true),
            (2::BIGINT, NULL, 2.5::DOUBLE, DATE '2024-03-01', false),
            (3::BIGINT, 'bob', NULL, DATE '2024-02-15', true),
            (4::BIGINT, 'ann', -4.0::DOUBLE, DATE '2024-01-01', true)
         ) t(customer_id, name, score, joined, active)",
    );
    path
}

/// An events folder: two hive partitions of 3 and 2 rows; id 3 is in both (a duplicate key).
fn events(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("events");
    parquet(
        &folder.join("month=2025-01/part-0.parquet"),
        "SELECT * FROM (VALUES (1::BIGINT, 'click'), (2::BIGINT, 'view'), (3::BIGINT, NULL))
         t(id, kind)",
    );
    parquet(
        &folder.join("month=2025-02/part-0.parquet"),
        "SELECT * FROM (VALUES (3::BIGINT, 'buy'), (10::BIGINT, 'click')) t(id, kind)",
    );
    // Not Parquet: ignored.
    std::fs::write(folder.join("_SUCCESS"), "").unwrap();
    std::fs::write(folder.join("month=2025-01/notes.txt"), "not data").unwrap();
    folder
}

fn run(args: &[&str]) -> std::process::Output {
    broker(&[&["profile"], args].concat())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn profiles_a_file_and_a_folder_of_partitions_into_a_file() {
    let dir = broker::testkit::tempdir().unwrap();
    let customers = customers(dir.path());
    let events = events(dir.path());
    let out = dir.path().join("out/profiles.json");
    let o = run(&[
        "--out",
        s(&out),
        "--primary-key",
        "customers=customer_id",
        "--primary-key",
        "events=id",
        s(&customers),
        s(&events),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));
    let doc = read_json(&out);
    assert_eq!(doc["version"], json!(broker::profile::PROFILES_VERSION));
    let generated = doc["generated_at"].as_str().unwrap();
    assert!(
        generated.len() == 20 && generated.ends_with('Z') && generated.as_bytes()[10] == b'T',
        "{generated}"
    );
    let tables = doc["tables"].as_object().unwrap();
    assert_eq!(
        tables.keys().collect::<Vec<_>>(),
        vec!["customers", "events"]
    );
    // No temporary file left beside the output.
    let left: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec!["profiles.json"]);

    let c = &doc["tables"]["customers"];
    assert_eq!(c["row_count"], 4);
    assert_eq!(c["column_count"], 5);
    let names: Vec<&str> = c["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["customer_id", "name", "score", "joined", "active"]);
    assert_eq!(c["duplicate_primary_keys"], 0);

    let id = column(c, "customer_id");
    assert_eq!(id["type"], "int64");
    assert_eq!(id["is_primary_key"], true);
    assert_eq!((&id["min"], &id["max"]), (&json!(1), &json!(4)));
    assert_eq!(id["null_count"], 0);
    assert_eq!(id["distinct_count"], 4);

    let name = column(c, "name");
    assert_eq!(name["type"], "string");
    assert_eq!(name["is_primary_key"], false);
    assert_eq!(name["null_count"], 1);
    assert_eq!(name["distinct_count"], 2);
    assert_eq!((&name["min"], &name["max"]), (&json!("ann"), &json!("bob")));

    let score = column(c, "score");
    assert_eq!(score["type"], "float64");
    assert_eq!(score["null_count"], 1);
    assert_eq!(score["distinct_count"], 3);
    assert_eq!(score["min"].as_f64(), Some(-4.0));
    assert_eq!(score["max"].as_f64(), Some(2.5));

    let joined = column(c, "joined");
    assert_eq!(joined["type"], "date");
    assert_eq!(
        (&joined["min"], &joined["max"]),
        (&json!("2024-01-01"), &json!("2024-03-01"))
    );

    let active = column(c, "active");
    assert_eq!(active["type"], "boolean");
    assert_eq!(active["distinct_count"], 2);

    // The folder: both partitions, the files that are not Parquet ignored, no `month` column.
    let e = &doc["tables"]["events"];
    assert_eq!(e["row_count"], 5);
    assert_eq!(e["column_count"], 2);
    let id = column(e, "id");
    assert_eq!((&id["min"], &id["max"]), (&json!(1), &json!(10)));
    assert_eq!(id["distinct_count"], 4);
    assert_eq!(e["duplicate_primary_keys"], 1);
    let kind = column(e, "kind");
    assert_eq!(kind["null_count"], 1);
    assert_eq!(kind["distinct_count"], 3);
    assert_eq!(
        (&kind["min"], &kind["max"]),
        (&json!("buy"), &json!("view"))
    );
}

#[test]
fn prints_to_stdout_and_counts_duplicate_composite_keys() {
    let dir = broker::testkit::tempdir().unwrap();
    let path = dir.path().join("lines.parquet");
    // (order_id, line) = (1, 1) three times: two rows repeat an earlier key.
    parquet(
        &path,
        "SELECT * FROM (VALUES (1, 1, 5), (1, 2, 6), (1, 1, 7), (2, 1, 8), (1, 1, 9),
                               (3, 1, NULL), (3, 2, 2))
         t(order_id, line, qty)",
    );
    let o = run(&["--primary-key", "lines=order_id,line", s(&path)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = &doc["tables"]["lines"];
    assert_eq!(t["row_count"], 7);
    assert_eq!(t["duplicate_primary_keys"], 2);
    assert_eq!(column(t, "order_id")["is_primary_key"], true);
    assert_eq!(column(t, "line")["is_primary_key"], true);
    assert_eq!(column(t, "qty")["is_primary_key"], false);
    assert_eq!(column(t, "qty")["null_count"], 1);
    assert_eq!(column(t, "qty")["distinct_count"], 6);
    assert_eq!(column(t, "line")["distinct_count"], 2);

    // Without --primary-key: no key, no duplicate count.
    let o = run(&[s(&path)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["tables"]["lines"]["duplicate_primary_keys"],
        Value::Null
    );

    // The sampling flags are accepted; the table's row count stays the table's.
    let o = run(&["--sample-rows", "3", "--time-budget-s", "30", s(&path)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["tables"]["lines"]["row_count"], 7);
}

#[test]
fn a_failed_table_is_named_and_the_others_are_written() {
    let dir = broker::testkit::tempdir().unwrap();
    let customers = customers(dir.path());
    let missing = dir.path().join("nowhere/orders.parquet");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("month=2025-01")).unwrap();
    std::fs::write(empty.join("month=2025-01/data.csv"), "a\n1\n").unwrap();
    let bogus = dir.path().join("bogus.parquet");
    std::fs::write(&bogus, "this is not parquet").unwrap();
    let out = dir.path().join("profiles.json");
    let o = run(&[
        "--out",
        s(&out),
        s(&customers),
        s(&missing),
        s(&empty),
        s(&bogus),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for (table, path) in [("orders", &missing), ("empty", &empty), ("bogus", &bogus)] {
        let line = err
            .lines()
            .find(|l| l.starts_with(&format!("error: table {table}:")))
            .unwrap_or_else(|| panic!("no error for {table}: {err}"));
        assert!(line.contains(s(path)), "{line}");
    }
    assert!(err.contains("no .parquet file"), "{err}");
    assert!(err.contains("No such file"), "{err}");
    let doc = read_json(&out);
    let tables = doc["tables"].as_object().unwrap();
    assert_eq!(tables.keys().collect::<Vec<_>>(), vec!["customers"]);
    assert_eq!(doc["tables"]["customers"]["row_count"], 4);

    // A primary-key column that is not in the data fails that table.
    let o = run(&["--primary-key", "customers=nope", s(&customers)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("table customers") && err.contains("nope"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2_and_read_nothing() {
    let dir = broker::testkit::tempdir().unwrap();
    let customers = customers(dir.path());
    let other = dir.path().join("other/customers.parquet");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(&customers, &other).unwrap();
    let out = dir.path().join("profiles.json");
    let cases: [&[&str]; 6] = [
        &[],
        &["--primary-key", "customers", s(&customers)],
        &["--primary-key", "orders=id", s(&customers)],
        &[
            "--primary-key",
            "customers=customer_id",
            "--primary-key",
            "customers=name",
            s(&customers),
        ],
        &[s(&customers), s(&other)],
        &["--sample-rows", "0", s(&customers)],
    ];
    for args in cases {
        let o = run(&[&["--out", s(&out)], args].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(!o.stderr.is_empty(), "{args:?}");
        assert!(!out.exists(), "{args:?}");
    }
}

/// Parquet as other tools write it: every codec DuckDB offers, and a text value whose
/// multi-byte character once panicked the date-shape check (golden-test report).
#[test]
fn reads_every_common_codec_and_survives_multibyte_text() {
    let dir = broker::testkit::tempdir().unwrap();
    let mut paths = Vec::new();
    for codec in ["snappy", "gzip", "lz4", "brotli", "uncompressed"] {
        let path = dir.path().join(format!("{codec}.parquet"));
        let conn = duckdb::Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!(
            "COPY (SELECT i AS id, CASE WHEN i = 2 THEN '2025-03-01T10:00+a€' ELSE 'x' || i END AS s \
             FROM range(1, 1001) t(i)) TO '{}' (FORMAT parquet, COMPRESSION {codec});",
            path.display()
        ))
        .unwrap();
        paths.push(path);
    }
    let out_file = dir.path().join("p.json");
    let mut args = vec!["--out", s(&out_file)];
    args.extend(paths.iter().map(|p| s(p)));
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = read_json(&out_file);
    for codec in ["snappy", "gzip", "lz4", "brotli", "uncompressed"] {
        let t = &doc["tables"][codec];
        assert_eq!(t["row_count"], json!(1000), "{codec}");
        let c = column(t, "s");
        assert_eq!(c["distinct_count"], json!(1000), "{codec}");
        assert_eq!(c["max"], json!("x999"), "{codec}");
        // 999 values `x<i>` and one that is not a date either.
        assert_eq!(c["string"]["looks_date_pct"], json!(0.0), "{codec}");
    }
}
