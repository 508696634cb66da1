//! A plain CSV file big enough for several batches is parsed in parallel in its second pass;
//! the same file gzipped is read sequentially. Both must give the same table, and an error deep
//! in the file must name the same line.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

/// About 75 MB of CSV: more than two 32 MiB parts of a parallel first pass, 23 batches of
/// 65,536 rows in the second.
const ROWS: usize = 1_500_000;

fn instance(csv_text: &str, declared_qty: bool) -> broker::testkit::TempDir {
    let dir = csv_instance("Parallel");
    let d = dir.path();
    let columns = if declared_qty {
        "    columns:\n      - {name: qty, type: int64}\n"
    } else {
        ""
    };
    std::fs::write(
        d.join("content/data_description.md"),
        format!(
            "```yaml\ntables:\n  - {{id: p.plain, name: plain, description: Plain, sync_strategy: full_refresh, file: t.csv, folder: p}}\n  - {{id: p.plain2, name: plain2, description: Plain again, sync_strategy: full_refresh, file: t.csv, folder: p}}\n  - {{id: p.plain3, name: plain3, description: Plain again, sync_strategy: full_refresh, file: t.csv, folder: p}}\n  - id: p.packed\n    name: packed\n    description: Gzipped\n    sync_strategy: full_refresh\n    file: t.csv.gz\n    folder: p\n{columns}```\n"
        ),
    )
    .unwrap();
    if declared_qty {
        // The plain table declares the same column, so both read it as declared.
        let md = std::fs::read_to_string(d.join("content/data_description.md")).unwrap();
        let md = md.replacen(
            "file: t.csv, folder: p}",
            "file: t.csv, folder: p, columns: [{name: qty, type: int64}]}",
            1,
        );
        std::fs::write(d.join("content/data_description.md"), md).unwrap();
    }
    std::fs::write(d.join("csv/t.csv"), csv_text).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(d.join("csv/t.csv.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(csv_text.as_bytes()).unwrap();
    gz.finish().unwrap();
    dir
}

fn csv(bad_line: Option<usize>) -> String {
    let mut s = String::from("\u{feff}id,name,qty,when,note\n");
    for i in 0..ROWS {
        let line = i + 2;
        let qty = if Some(line) == bad_line {
            "lots".to_string()
        } else {
            (i % 97).to_string()
        };
        // Quoted fields with delimiters and newlines inside, now and then.
        let note = if i % 1000 == 0 {
            "\"a, b\nc \"\"d\"\"\"".to_string()
        } else {
            format!("n{i}")
        };
        s.push_str(&format!(
            "{i},name {i},{qty},2025-01-{:02}T10:00:00Z,{note}\n",
            i % 28 + 1
        ));
    }
    s
}

fn one(d: &Path, sql: &str) -> String {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let sql = sql.replace("$ROOT", d.join("public").to_str().unwrap());
    conn.query_row(&sql, [], |r| r.get::<_, String>(0)).unwrap()
}

#[test]
fn parallel_and_sequential_reads_give_the_same_table() {
    let dir = instance(&csv(None), false);
    let d = dir.path();
    let out = build(d);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let summary = |t: &str| {
        one(
            d,
            &format!(
                "SELECT count(*) || ' ' || sum(id) || ' ' || sum(qty) || ' ' || count(DISTINCT note) || ' ' || sum(length(note)) || ' ' || max(\"when\")::VARCHAR FROM read_parquet('$ROOT/data/p/{t}.parquet')"
            ),
        )
    };
    // Three tables parsed in parallel at once keep every sync worker waiting on its parser:
    // the parsers must not need those workers (they once did, and the build hung).
    let plain = summary("plain");
    assert_eq!(plain, summary("packed"));
    assert_eq!(plain, summary("plain2"));
    assert_eq!(plain, summary("plain3"));
    assert!(
        plain.starts_with("1500000 1124999250000 "),
        "rows and ids: {plain}"
    );
    // The quoted notes kept their newline and quotes.
    let note = one(
        d,
        "SELECT note FROM read_parquet('$ROOT/data/p/plain.parquet') WHERE id = 299000",
    );
    assert_eq!(note, "a, b\nc \"d\"");
    // Row order is the file's.
    let order = one(
        d,
        "SELECT count(*)::VARCHAR FROM (SELECT id, row_number() OVER () - 1 AS pos FROM read_parquet('$ROOT/data/p/plain.parquet')) WHERE id <> pos",
    );
    assert_eq!(order, "0");
}

#[test]
fn an_error_deep_in_a_parallel_read_names_the_files_own_line() {
    // Line 1,200,001 is in the second or third part of the first pass; the notes before it
    // hold 1,200 quoted newlines.
    let bad = 1_200_001;
    let dir = instance(&csv(Some(bad)), true);
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    // Physical line: the record's index + 2, plus one per quoted newline before it.
    let physical = bad + (bad - 2).div_ceil(1000);
    for file in ["t.csv:", "t.csv.gz:"] {
        let expected = format!("{file}{physical}: column `qty`: value `lots` is not a valid int64");
        assert!(err.contains(&expected), "{expected}\n{err}");
    }
}
