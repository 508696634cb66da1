//! The three sync strategies, the sync state and the build flags, run through the `broker`
//! binary on CSV files that change between builds, as a cron job would see them.

mod common;

use common::summary_table as table;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;

const TABLES: &str = r#"```yaml
tables:
  - id: shop.orders
    name: orders
    description: Orders, merged by key
    primary_key: order_id
    sync_strategy: incremental
    incremental_column: updated_at
    incremental_window_days: 1
    folder: shop
  - id: shop.events
    name: events
    description: Events, one file per month
    primary_key: event_id
    sync_strategy: incremental
    incremental_column: updated_at
    incremental_window_days: 0
    partition_by: happened_on
    partition_granularity: month
    folder: shop
  - id: shop.visits
    name: visits
    description: Visits, partitions replaced
    sync_strategy: partitioned
    partition_by: day
    partition_granularity: year
    folder: shop
  - id: shop.customers
    name: customers
    description: Customers
    primary_key: id
    sync_strategy: full_refresh
    folder: shop
```
"#;

/// An instance with the four tables above reading CSV files from `<dir>/csv`.
fn instance() -> broker::testkit::TempDir {
    let dir = csv_instance("Strategies");
    let d = dir.path();
    std::fs::write(d.join("content/data_description.md"), TABLES).unwrap();
    write_csv(d, "customers", "id,name\n1,Ann\n2,Bob\n");
    write_csv(
        d,
        "visits",
        "visit_id,day,pages\n1,2024-05-01,3\n2,2025-01-02,4\n",
    );
    write_csv(
        d,
        "events",
        "event_id,happened_on,updated_at,kind\n\
         1,2025-01-05,2025-01-05T10:00:00Z,open\n\
         2,2025-01-20,2025-01-20T10:00:00Z,open\n\
         3,2025-02-03,2025-02-03T10:00:00Z,open\n\
         4,2025-03-09,2025-03-09T10:00:00Z,open\n",
    );
    write_csv(
        d,
        "orders",
        "order_id,amount,updated_at\n\
         1,10,2025-01-01T08:00:00Z\n\
         2,20,2025-01-02T08:00:00Z\n\
         3,30,2025-01-03T08:00:00Z\n\
         4,40,2025-01-04T08:00:00Z\n\
         5,50,2025-01-05T08:00:00Z\n",
    );
    dir
}

fn write_csv(d: &Path, table: &str, text: &str) {
    std::fs::write(d.join("csv").join(format!("{table}.csv")), text).unwrap();
}

/// `broker build --json` with extra flags; returns (exit code, summary JSON, stderr).
fn build_json(d: &Path, flags: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut args = vec!["build", "--instance", d.to_str().unwrap(), "--json"];
    args.extend_from_slice(flags);
    let out = broker(&args);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("--json prints JSON ({e}): {}", text(&out)));
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn state(d: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(d.join("state/sync_state.json")).unwrap())
        .unwrap()
}

/// Rows of a query over the published tree, as text per column (`NULL` for NULL).
fn query(d: &Path, sql: &str) -> Vec<Vec<String>> {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let sql = sql.replace("$ROOT", d.join("public").to_str().unwrap());
    let mut stmt = conn.prepare(&sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let n = row.as_ref().column_count();
        out.push(
            (0..n)
                .map(|i| match row.get_ref(i).unwrap() {
                    duckdb::types::ValueRef::Null => "NULL".to_string(),
                    duckdb::types::ValueRef::BigInt(v) => v.to_string(),
                    duckdb::types::ValueRef::Int(v) => v.to_string(),
                    duckdb::types::ValueRef::Double(v) => v.to_string(),
                    duckdb::types::ValueRef::Boolean(v) => v.to_string(),
                    duckdb::types::ValueRef::Text(t) => String::from_utf8_lossy(t).to_string(),
                    other => format!("{other:?}"),
                })
                .collect(),
        );
    }
    out
}

fn orders(d: &Path) -> Vec<Vec<String>> {
    query(
        d,
        "SELECT order_id, amount FROM read_parquet('$ROOT/data/shop/orders.parquet') ORDER BY order_id",
    )
}

fn rows(v: &[(i64, i64)]) -> Vec<Vec<String>> {
    v.iter()
        .map(|(a, b)| vec![a.to_string(), b.to_string()])
        .collect()
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .map(|e| e.path().strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    v.sort();
    v
}

#[test]
fn incremental_merges_by_primary_key_newest_row_wins_and_the_cursor_is_the_largest_value_seen() {
    let dir = instance();
    let d = dir.path();
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "orders")["rows_read"], 5);
    assert_eq!(table(&s, "orders")["rows"], 5);
    assert_eq!(table(&s, "orders")["strategy"], "incremental");
    let st = state(d);
    assert_eq!(st["version"], 1);
    assert_eq!(
        st["tables"]["orders"]["cursor"]["text"],
        "2025-01-05T08:00:00.000000Z"
    );

    // The next export: order 3 changed, order 6 is new, order 7 appears twice (the newer row
    // first in the file: the cursor decides, not the position). Orders 1-2 are outside the
    // window (cursor 01-05 08:00 minus 1 day) and are not read again.
    write_csv(
        d,
        "orders",
        "order_id,amount,updated_at\n\
         1,10,2025-01-01T08:00:00Z\n\
         2,20,2025-01-02T08:00:00Z\n\
         3,33,2025-01-10T08:00:00Z\n\
         4,40,2025-01-04T08:00:00Z\n\
         5,50,2025-01-05T08:00:00Z\n\
         6,60,2025-01-11T08:00:00Z\n\
         7,71,2025-01-12T09:00:00Z\n\
         7,70,2025-01-12T08:00:00Z\n",
    );
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "orders")["rows_read"], 6, "rows 3..7 and 7 again");
    assert_eq!(
        orders(d),
        rows(&[
            (1, 10),
            (2, 20),
            (3, 33),
            (4, 40),
            (5, 50),
            (6, 60),
            (7, 71)
        ])
    );
    assert_eq!(
        state(d)["tables"]["orders"]["cursor"]["text"],
        "2025-01-12T09:00:00.000000Z"
    );

    // An export with only old rows: nothing is read, the cursor stays, the table stays.
    write_csv(
        d,
        "orders",
        "order_id,amount,updated_at\n1,11,2025-01-01T08:00:00Z\n",
    );
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "orders")["rows_read"], 0);
    assert_eq!(table(&s, "orders")["rows"], 7);
    assert_eq!(
        state(d)["tables"]["orders"]["cursor"]["text"],
        "2025-01-12T09:00:00.000000Z"
    );
    assert_eq!(orders(d)[0], vec!["1", "10"], "the old row was not re-read");

    // --full-refresh forgets the cursor and the published rows: the table is the export.
    let (code, s, err) = build_json(d, &["--full-refresh", "--select", "orders"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "orders")["rows_read"], 1);
    assert_eq!(orders(d), rows(&[(1, 11)]));
    assert_eq!(
        state(d)["tables"]["orders"]["cursor"]["text"],
        "2025-01-01T08:00:00.000000Z"
    );
}

#[test]
fn a_build_killed_after_publishing_and_run_again_never_duplicates_a_key() {
    let dir = instance();
    let d = dir.path();
    assert_eq!(build_json(d, &[]).0, Some(0));
    let old_state = std::fs::read(d.join("state/sync_state.json")).unwrap();
    write_csv(
        d,
        "orders",
        "order_id,amount,updated_at\n\
         4,44,2025-01-06T08:00:00Z\n\
         8,80,2025-01-06T09:00:00Z\n",
    );
    assert_eq!(build_json(d, &[]).0, Some(0));
    // The worst moment to die: the tree is published, the state not yet written. The next run
    // starts from the old cursor and reads the same rows again.
    std::fs::write(d.join("state/sync_state.json"), &old_state).unwrap();
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "orders")["rows_read"], 2);
    assert_eq!(
        orders(d),
        rows(&[(1, 10), (2, 20), (3, 30), (4, 44), (5, 50), (8, 80)])
    );
    let dups = query(
        d,
        "SELECT count(*) - count(DISTINCT event_id) FROM read_parquet('$ROOT/data/shop/events/*/*/*.parquet', hive_partitioning=false)",
    );
    assert_eq!(dups, vec![vec!["0"]]);

    // SIGKILL at several moments of a build over a bigger export, then one clean build.
    let mut csv = String::from("order_id,amount,updated_at\n");
    for i in 0..200_000 {
        csv.push_str(&format!("{},{},2025-02-01T00:00:00Z\n", i % 150_000, i));
    }
    write_csv(d, "orders", &csv);
    for delay_ms in [50u64, 150, 400] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_broker"))
            .args(["build", "--instance", d.to_str().unwrap(), "--quiet"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    let (code, _, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    let counts = query(
        d,
        "SELECT count(*), count(DISTINCT order_id), max(amount) FROM read_parquet('$ROOT/data/shop/orders.parquet')",
    );
    // Keys 0..150,000 (the old orders 1-8 among them, replaced); of a repeated key with the
    // same cursor the later row wins, so key 0 holds amount 150,000.
    assert_eq!(counts, vec![vec!["150000", "150000", "199999"]]);
    let key0 = query(
        d,
        "SELECT amount FROM read_parquet('$ROOT/data/shop/orders.parquet') WHERE order_id = 0",
    );
    assert_eq!(key0, vec![vec!["150000"]]);
}

#[test]
fn partitioned_tables_are_hive_folders_and_only_partitions_that_received_rows_are_rewritten() {
    let dir = instance();
    let d = dir.path();
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    let events = d.join("public/data/shop/events");
    assert_eq!(
        parquet_files(&events),
        vec![
            PathBuf::from("year=2025/month=01/part-0.parquet"),
            PathBuf::from("year=2025/month=02/part-0.parquet"),
            PathBuf::from("year=2025/month=03/part-0.parquet"),
        ]
    );
    assert_eq!(table(&s, "events")["rows"], 4);
    assert_eq!(
        parquet_files(&d.join("public/data/shop/visits")),
        vec![
            PathBuf::from("year=2024/part-0.parquet"),
            PathBuf::from("year=2025/part-0.parquet"),
        ]
    );
    let inode = |rel: &str| std::fs::metadata(events.join(rel)).unwrap().ino();
    let (jan, feb, mar) = (
        inode("year=2025/month=01/part-0.parquet"),
        inode("year=2025/month=02/part-0.parquet"),
        inode("year=2025/month=03/part-0.parquet"),
    );

    // Event 4 changes and event 5 arrives, both in March: only March is written again.
    write_csv(
        d,
        "events",
        "event_id,happened_on,updated_at,kind\n\
         1,2025-01-05,2025-01-05T10:00:00Z,open\n\
         2,2025-01-20,2025-01-20T10:00:00Z,open\n\
         3,2025-02-03,2025-02-03T10:00:00Z,open\n\
         4,2025-03-09,2025-03-10T10:00:00Z,closed\n\
         5,2025-03-11,2025-03-11T10:00:00Z,open\n",
    );
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "events")["rows_read"], 2);
    assert_eq!(table(&s, "events")["rows"], 5);
    assert_eq!(inode("year=2025/month=01/part-0.parquet"), jan);
    assert_eq!(inode("year=2025/month=02/part-0.parquet"), feb);
    assert_ne!(inode("year=2025/month=03/part-0.parquet"), mar);
    let march = query(
        d,
        "SELECT event_id, kind FROM read_parquet('$ROOT/data/shop/events/year=2025/month=03/part-0.parquet') ORDER BY 1",
    );
    assert_eq!(march, vec![vec!["4", "closed"], vec!["5", "open"]]);

    // Event 1 moves from January to March: January is rewritten without it, no key twice.
    write_csv(
        d,
        "events",
        "event_id,happened_on,updated_at,kind\n1,2025-03-20,2025-03-20T10:00:00Z,moved\n",
    );
    let (code, _, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    let all = query(
        d,
        "SELECT event_id, kind, filename LIKE '%month=03%' FROM read_parquet('$ROOT/data/shop/events/*/*/*.parquet', hive_partitioning=false, filename=true) ORDER BY 1",
    );
    assert_eq!(
        all,
        vec![
            vec!["1", "moved", "true"],
            vec!["2", "open", "false"],
            vec!["3", "open", "false"],
            vec!["4", "closed", "true"],
            vec!["5", "open", "true"],
        ]
    );
    assert_eq!(inode("year=2025/month=02/part-0.parquet"), feb);
    assert_ne!(inode("year=2025/month=01/part-0.parquet"), jan);

    // The analyst kit's view reads every partition.
    let views = std::fs::read_to_string(d.join("public/analyst/views.sql")).unwrap();
    assert!(
        views.contains("year=2025/month=01/part-0.parquet"),
        "{views}"
    );
}

#[test]
fn schema_changes_are_recorded_in_the_state_and_shown_on_the_table_page() {
    let dir = instance();
    let d = dir.path();
    assert_eq!(build_json(d, &[]).0, Some(0));
    write_csv(d, "customers", "id,name,email\n1,Ann,ann@x.org\n2,Bob,\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    write_csv(d, "customers", "id,email\n1.5,ann@x.org\n");
    let (code, _, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    let st = state(d);
    let history = st["tables"]["customers"]["schema_history"]
        .as_array()
        .unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["added"][0]["name"], "email");
    assert_eq!(history[1]["removed"][0]["name"], "name");
    assert_eq!(history[1]["retyped"][0]["name"], "id");
    assert_eq!(history[1]["retyped"][0]["from"], "int64");
    assert_eq!(history[1]["retyped"][0]["to"], "float64");
    assert_eq!(st["tables"]["customers"]["status"], "ok");
    assert_eq!(st["tables"]["customers"]["rows_written"], 1);
    let page = std::fs::read_to_string(d.join("public/tables/customers.html")).unwrap();
    assert!(page.contains("Schema changes"), "{page}");
    assert!(page.contains("int64 → float64"), "{page}");
    let home = std::fs::read_to_string(d.join("public/index.html")).unwrap();
    assert!(home.contains("Recent schema changes"), "{home}");
}

#[test]
fn select_exclude_and_dry_run() {
    let dir = instance();
    let d = dir.path();
    // A dry run on a fresh instance reads and writes nothing.
    let out = broker(&["build", "--instance", d.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("orders (incremental)"), "{plan}");
    assert!(plan.contains("csv: orders.csv ("), "{plan}");
    assert!(
        plan.contains("data/shop/events/year=…/month=…/part-0.parquet"),
        "{plan}"
    );
    assert!(!d.join("public").exists() && !d.join("state/sync_state.json").exists());

    assert_eq!(build_json(d, &[]).0, Some(0));
    write_csv(d, "customers", "id,name\n1,Ann\n2,Bob\n3,Cy\n");
    write_csv(
        d,
        "orders",
        "order_id,amount,updated_at\n9,90,2025-01-09T08:00:00Z\n",
    );
    let (code, s, err) = build_json(d, &["--select", "customers"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "customers")["status"], "ok");
    assert_eq!(table(&s, "customers")["rows"], 3);
    assert_eq!(table(&s, "orders")["status"], "skipped");
    assert_eq!(table(&s, "orders")["rows"], 5, "published data kept");
    assert_eq!(
        table(&s, "orders")["cursor"],
        "2025-01-05T08:00:00.000000Z",
        "a skipped table keeps its cursor, and says so"
    );
    assert_eq!(orders(d).len(), 5);

    // An empty --select (an empty shell variable) is an error, not "every table".
    for empty in ["", ","] {
        let out = broker(&[
            "build",
            "--instance",
            d.to_str().unwrap(),
            "--select",
            empty,
        ]);
        assert_eq!(out.status.code(), Some(2), "{empty:?}: {}", text(&out));
        assert!(
            text(&out).contains("--select: names no table (an empty value)"),
            "{}",
            text(&out)
        );
    }
    assert_eq!(orders(d).len(), 5, "nothing synced");

    let (code, s, err) = build_json(d, &["--exclude", "customers,visits"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "customers")["status"], "skipped");
    assert_eq!(table(&s, "orders")["status"], "ok");
    assert_eq!(orders(d).len(), 6);

    // The dry run now names the cursor it would read from.
    let out = broker(&[
        "build",
        "--instance",
        d.to_str().unwrap(),
        "--dry-run",
        "--json",
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = plan["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "orders")
        .unwrap();
    assert_eq!(o["cursor"], "2025-01-09T08:00:00.000000Z");
    assert_eq!(o["published_rows"], 6);

    let out = broker(&[
        "build",
        "--instance",
        d.to_str().unwrap(),
        "--select",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no table named `nope`"));
}

#[test]
fn a_corrupt_state_stops_the_build_and_full_refresh_starts_over() {
    let dir = instance();
    let d = dir.path();
    assert_eq!(build_json(d, &[]).0, Some(0));
    std::fs::write(d.join("state/sync_state.json"), "{\"orders\": ").unwrap();
    let out = build(d);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sync_state.json") && err.contains("--full-refresh"),
        "{err}"
    );
    let (code, _, err) = build_json(d, &["--full-refresh"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(state(d)["version"], 1);
    assert_eq!(state(d)["tables"]["orders"]["rows_written"], 5);
}

// ------------------------------------------------------------------ one test per defect found
// by trying the strategies as a user would (each once lost or corrupted published data).

/// An instance with one table `t` declared by `yaml` (its `tables:` entry, indented) over
/// `csv/t.csv`.
fn one_table(yaml: &str) -> broker::testkit::TempDir {
    let dir = csv_instance("One");
    set_table(dir.path(), yaml);
    dir
}

fn set_table(d: &Path, yaml: &str) {
    std::fs::write(
        d.join("content/data_description.md"),
        format!("```yaml\ntables:\n  - id: s.t\n    name: t\n    description: T\n    folder: s\n{yaml}```\n"),
    )
    .unwrap();
}

/// Every row of table `t` as text, ordered by its first column.
fn t_rows(d: &Path, columns: &str) -> Vec<Vec<String>> {
    query(
        d,
        &format!("SELECT {columns} FROM read_parquet('$ROOT/data/s/t*.parquet', union_by_name=true) ORDER BY 1"),
    )
}

const INCREMENTAL: &str =
    "    primary_key: id\n    sync_strategy: incremental\n    incremental_column: c\n";

#[test]
fn a_run_whose_cursor_column_is_empty_keeps_the_cursor_and_the_newer_rows() {
    let dir = one_table(INCREMENTAL);
    let d = dir.path();
    write_csv(d, "t", "id,c\n1,20\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    write_csv(d, "t", "id,c\n4,\n");
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("no longer fits"), "{err}");
    assert_eq!(table(&s, "t")["cursor"], "20");
    assert_eq!(state(d)["tables"]["t"]["cursor"]["value"], 20);
    // An old row below the cursor is not read again: (1, 20) stays.
    write_csv(d, "t", "id,c\n1,1\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    assert_eq!(t_rows(d, "id, c"), vec![vec!["1", "20"], vec!["4", "NULL"]]);
    // An integer cursor has no window in days, and the page does not claim one.
    let page = std::fs::read_to_string(d.join("public/tables/t.html")).unwrap();
    assert!(
        page.contains("reads rows from the largest `c` read"),
        "{page}"
    );
    assert!(!page.contains("days"), "{page}");
}

#[test]
fn dates_widen_to_timestamps_and_text_widens_the_column_to_string() {
    let dir = one_table("    primary_key: id\n    sync_strategy: incremental\n");
    let d = dir.path();
    write_csv(d, "t", "id,c,y\n1,2025-03-10,5\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    write_csv(d, "t", "id,c,y\n3,2025-03-05T08:00:00Z,007\n");
    let (code, _, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    let cols = &state(d)["tables"]["t"]["columns"];
    assert_eq!(cols[1]["type"], "timestamptz", "{cols}");
    assert_eq!(cols[2]["type"], "string", "{cols}");
    // The leading zero of the code survives; the old number is now the text "5".
    assert_eq!(
        t_rows(d, "id, CAST(c AS VARCHAR), y"),
        vec![
            vec!["1", "2025-03-10 00:00:00+00", "5"],
            vec!["3", "2025-03-05 08:00:00+00", "007"],
        ]
    );
}

#[test]
fn a_column_missing_from_one_run_keeps_its_published_values() {
    let dir = one_table(INCREMENTAL);
    let d = dir.path();
    write_csv(d, "t", "id,c,x\n1,1,5\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    write_csv(d, "t", "id,c,z\n2,2,new\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    assert_eq!(
        t_rows(d, "id, x, z"),
        vec![vec!["1", "5", "NULL"], vec!["2", "NULL", "new"]]
    );
}

#[test]
fn a_changed_layout_or_strategy_reads_the_published_rows_again() {
    let dir = one_table(
        "    primary_key: id\n    sync_strategy: full_refresh\n    incremental_column: c\n",
    );
    let d = dir.path();
    write_csv(
        d,
        "t",
        "id,c,v\n1,2025-01-15,a\n2,2025-02-15,b\n2,2025-02-16,b2\n",
    );
    assert_eq!(build_json(d, &[]).0, Some(0));
    // full_refresh -> incremental: the published duplicate key 2 is merged away.
    set_table(d, INCREMENTAL);
    write_csv(d, "t", "id,c,v\n3,2025-03-15,c\n");
    let (code, _, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("read again"), "{err}");
    assert_eq!(
        t_rows(d, "id, v"),
        vec![vec!["1", "a"], vec!["2", "b2"], vec!["3", "c"]]
    );
    // Adding partition_by: the rows before the cursor move into partitions, none is lost.
    set_table(
        d,
        &format!("{INCREMENTAL}    partition_by: c\n    partition_granularity: month\n"),
    );
    write_csv(d, "t", "id,c,v\n4,2025-03-20,d\n");
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "t")["rows"], 4);
    assert_eq!(
        parquet_files(&d.join("public/data/s/t")),
        vec![
            PathBuf::from("year=2025/month=01/part-0.parquet"),
            PathBuf::from("year=2025/month=02/part-0.parquet"),
            PathBuf::from("year=2025/month=03/part-0.parquet"),
        ]
    );
}

#[test]
fn a_removed_output_or_a_separate_out_reads_every_row_again() {
    let dir = one_table(INCREMENTAL);
    let d = dir.path();
    write_csv(d, "t", "id,c\n1,1\n2,2\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    // A preview elsewhere neither uses nor moves the instance's cursor.
    write_csv(d, "t", "id,c\n1,1\n2,2\n3,5\n5,10\n");
    let preview = d.join("preview");
    let out = broker(&[
        "build",
        "--instance",
        d.to_str().unwrap(),
        "--out",
        preview.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(state(d)["tables"]["t"]["cursor"]["value"], 2);
    std::fs::remove_file(d.join("public")).unwrap();
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("every source row is read again"), "{err}");
    assert_eq!(table(&s, "t")["rows"], 4);
}

#[test]
fn full_refresh_of_some_tables_does_not_replace_an_unreadable_state() {
    let dir = instance();
    let d = dir.path();
    assert_eq!(build_json(d, &[]).0, Some(0));
    std::fs::write(d.join("state/sync_state.json"), "garbage").unwrap();
    let out = broker(&[
        "build",
        "--instance",
        d.to_str().unwrap(),
        "--full-refresh",
        "--select",
        "orders",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("drop --select/--exclude"));
    assert_eq!(
        std::fs::read_to_string(d.join("state/sync_state.json")).unwrap(),
        "garbage"
    );
}

#[test]
fn kept_partitions_leave_no_stray_files_and_empty_partitions_are_not_written() {
    let dir = one_table(
        "    primary_key: [k1, k2]\n    sync_strategy: incremental\n    incremental_column: upd\n    partition_by: d\n    partition_granularity: day\n",
    );
    let d = dir.path();
    write_csv(
        d,
        "t",
        "k1,k2,d,upd,v\n1,a,2025-01-15,2025-05-01T10:00:00Z,new\n1,a,2025-03-15,2025-05-01T09:00:00Z,old\n",
    );
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "t")["rows"], 1);
    assert_eq!(
        parquet_files(&d.join("public/data/s/t")),
        vec![PathBuf::from("year=2025/month=01/day=15/part-0.parquet")]
    );
    write_csv(
        d,
        "t",
        "k1,k2,d,upd,v\n2,b,2025-02-01,2025-05-02T10:00:00Z,x\n",
    );
    assert_eq!(build_json(d, &[]).0, Some(0));
    let stray: Vec<_> = walkdir::WalkDir::new(d.join("public/"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn an_unreadable_published_file_costs_its_table_not_the_build() {
    let dir = instance();
    let d = dir.path();
    assert_eq!(build_json(d, &[]).0, Some(0));
    // The current build's orders file is damaged; the incremental merge reads it.
    let orders = std::fs::canonicalize(d.join("public/data/shop/orders.parquet")).unwrap();
    std::fs::remove_file(&orders).unwrap();
    std::fs::write(&orders, "not parquet").unwrap();
    let (code, s, err) = build_json(d, &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(table(&s, "orders")["status"], "failed");
    assert_eq!(table(&s, "customers")["status"], "ok");
    assert!(d.join("public/tables/customers.html").exists());
}

/// Byte range, compressed size and statistics of every column chunk of a Parquet file, per row
/// group, with the chunk's bytes.
type Chunk = (i64, Option<parquet::file::statistics::Statistics>, Vec<u8>);

fn chunks(path: &Path) -> Vec<Vec<Chunk>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(path).unwrap();
    let reader = SerializedFileReader::new(file.try_clone().unwrap()).unwrap();
    reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| {
            g.columns()
                .iter()
                .map(|c| {
                    let (start, len) = c.byte_range();
                    let mut bytes = vec![0; len as usize];
                    file.read_exact_at(&mut bytes, start).unwrap();
                    (c.compressed_size(), c.statistics().cloned(), bytes)
                })
                .collect()
        })
        .collect()
}

/// Every row of a Parquet file read with the `parquet` crate, and whether each row group has a
/// page index (column and offset index of every column).
fn read_with_parquet_crate(path: &Path) -> (usize, Vec<bool>) {
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use parquet::file::metadata::PageIndexPolicy;
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(
        std::fs::File::open(path).unwrap(),
        options,
    )
    .unwrap();
    let meta = builder.metadata().clone();
    let indexed = (0..meta.num_row_groups())
        .map(|g| {
            (0..meta.row_group(g).num_columns()).all(|c| {
                meta.page_index().is_some_and(|p| {
                    p.column_index(g, c).is_some() && p.offset_index(g, c).is_some()
                })
            })
        })
        .collect();
    let rows = builder
        .build()
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    (rows, indexed)
}

#[test]
fn an_incremental_merge_copies_row_groups_without_keys_read_as_raw_bytes() {
    let dir = instance();
    let d = dir.path();
    let file = d.join("public/data/shop/orders.parquet");
    // 400,000 orders: row groups of 122,880, 122,880, 122,880 and 31,360 rows.
    let mut csv = String::from("order_id,amount,updated_at\n");
    for i in 0..400_000 {
        csv.push_str(&format!("{i},{},2025-01-01T08:00:00Z\n", i % 1000));
    }
    write_csv(d, "orders", &csv);
    let (code, s, err) = build_json(d, &["--select", "orders"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(table(&s, "orders")["rows"], 400_000);
    let before = chunks(&file);
    assert_eq!(before.len(), 4);
    let first = d.join("first.parquet");
    std::fs::copy(&file, &first).unwrap();

    // A "changed since" export: 100 orders of the last row group updated, 1,000 new ones.
    let mut csv = String::from("order_id,amount,updated_at\n");
    for i in 390_000..390_100 {
        csv.push_str(&format!("{i},-1,2025-02-01T08:00:00Z\n"));
    }
    for i in 400_000..401_000 {
        csv.push_str(&format!("{i},7,2025-02-01T09:00:00Z\n"));
    }
    write_csv(d, "orders", &csv);
    let (code, s, err) = build_json(d, &["--select", "orders"]);
    assert_eq!(code, Some(0), "{err}");
    let t = table(&s, "orders");
    assert_eq!(t["rows_read"], 1_100);
    assert_eq!(t["rows"], 401_000);
    assert_eq!(t["row_groups_copied"], 3, "{t}");
    assert_eq!(t["row_groups_rewritten"], 1, "{t}");
    let after = chunks(&file);
    assert_eq!(after.len(), 4);
    assert!(
        after[..3] == before[..3],
        "the first three row groups are byte for byte the same"
    );
    assert_ne!(after[3], before[3]);
    // The footer describes the copied chunks as it did (statistics, old-style min/max,
    // encodings, page encoding statistics, sizes), as DuckDB reads it.
    let footer = |f: &Path| {
        query(
            d,
            &format!(
                "SELECT row_group_id, row_group_num_rows, path_in_schema, stats_min, stats_max, \
                 stats_null_count, stats_min_value, stats_max_value, min_is_exact, max_is_exact, \
                 encodings, CAST(encoding_stats AS VARCHAR), compression, total_compressed_size, \
                 total_uncompressed_size \
                 FROM parquet_metadata('{}') WHERE row_group_id < 3 ORDER BY 1, 3",
                f.display()
            ),
        )
    };
    let (old_footer, new_footer) = (footer(&first), footer(&file));
    assert_eq!(old_footer.len(), 9);
    assert!(
        !old_footer.iter().any(|r| r.contains(&"NULL".to_string())),
        "{old_footer:?}"
    );
    assert_eq!(new_footer, old_footer);

    let check = |want_rows: u64| {
        let counts = query(
            d,
            "SELECT count(*), count(DISTINCT order_id), count(*) FILTER (WHERE amount = -1), \
             count(*) FILTER (WHERE amount = 7), max(order_id), typeof(any_value(updated_at)) \
             FROM read_parquet('$ROOT/data/shop/orders.parquet')",
        );
        assert_eq!(
            counts,
            vec![vec![
                want_rows.to_string(),
                want_rows.to_string(),
                "100".to_string(),
                (1000 + 400 - 1).to_string(), // the new orders, and 7 mod 1000 among the old
                (want_rows - 1).to_string(),
                "TIMESTAMP WITH TIME ZONE".to_string(),
            ]]
        );
        let (rows, indexed) = read_with_parquet_crate(&file);
        assert_eq!(rows as u64, want_rows);
        assert!(
            indexed.iter().all(|&i| i),
            "page index of every row group: {indexed:?}"
        );
    };
    check(401_000);
    let sample = query(
        d,
        "SELECT order_id, amount, epoch_us(updated_at) // 1000000 FROM read_parquet('$ROOT/data/shop/orders.parquet') \
         WHERE order_id IN (0, 200007, 389999, 390000, 390099, 390100, 400999) ORDER BY 1",
    );
    assert_eq!(
        sample,
        vec![
            vec!["0", "0", "1735718400"],
            vec!["200007", "7", "1735718400"],
            vec!["389999", "999", "1735718400"],
            vec!["390000", "-1", "1738396800"],
            vec!["390099", "-1", "1738396800"],
            vec!["390100", "100", "1735718400"],
            vec!["400999", "7", "1738400400"],
        ]
    );

    // An update in the first row group (of a file already merged once): it is rewritten, the
    // two full ones after it copied, the small last one merged with the new rows.
    write_csv(
        d,
        "orders",
        "order_id,amount,updated_at\n5,-1,2025-03-01T08:00:00Z\n401000,7,2025-03-01T08:00:00Z\n",
    );
    let before = chunks(&file);
    let (code, s, err) = build_json(d, &["--select", "orders"]);
    assert_eq!(code, Some(0), "{err}");
    let t = table(&s, "orders");
    assert_eq!(t["rows"], 401_001);
    assert_eq!(t["row_groups_copied"], 2, "{t}");
    assert_eq!(t["row_groups_rewritten"], 2, "{t}");
    let after = chunks(&file);
    assert!(after[..2] == before[1..3], "copied row groups come first");
    let counts = query(
        d,
        "SELECT count(*), count(DISTINCT order_id), count(*) FILTER (WHERE amount = -1) \
         FROM read_parquet('$ROOT/data/shop/orders.parquet')",
    );
    assert_eq!(counts, vec![vec!["401001", "401001", "101"]]);
    let (rows, indexed) = read_with_parquet_crate(&file);
    assert_eq!(rows, 401_001);
    assert!(indexed.iter().all(|&i| i), "{indexed:?}");

    // A new column: the previous row groups no longer fit the schema and are decoded whole.
    write_csv(
        d,
        "orders",
        "order_id,amount,updated_at,note\n401001,8,2025-04-01T08:00:00Z,hello\n",
    );
    let (code, s, err) = build_json(d, &["--select", "orders"]);
    assert_eq!(code, Some(0), "{err}");
    let t = table(&s, "orders");
    assert_eq!(t["rows"], 401_002);
    assert_eq!(t["row_groups_copied"], 0, "{t}");
    assert_eq!(t["row_groups_rewritten"], 4, "{t}");
    let counts = query(
        d,
        "SELECT count(*), count(DISTINCT order_id), count(note), sum(amount)::BIGINT \
         FROM read_parquet('$ROOT/data/shop/orders.parquet')",
    );
    // Amounts: 400 × (0 + … + 999), minus the 101 updated rows' old amounts (390,000..390,099
    // and 5), plus -101, 1,000 × 7 (400,000..400,999), 7 (401,000) and 8.
    let old: i64 = 400 * (0..1000).sum::<i64>() - (0..100).sum::<i64>() - 5;
    let want = old - 101 + 7_000 + 7 + 8;
    assert_eq!(
        counts,
        vec![vec![
            "401002".to_string(),
            "401002".to_string(),
            "1".to_string(),
            want.to_string()
        ]]
    );
}

#[test]
fn a_header_only_export_records_no_made_up_type_change() {
    let dir = one_table("    sync_strategy: full_refresh\n");
    let d = dir.path();
    write_csv(d, "t", "id,when\n1,2025-01-01\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    write_csv(d, "t", "id,when\n");
    assert_eq!(build_json(d, &[]).0, Some(0));
    let history = &state(d)["tables"]["t"]["schema_history"];
    assert_eq!(history, &serde_json::json!([]), "{history}");
}

/// The error of a monthly partitioned table `t` (primary key `id`, partitioned by `d`) built
/// from `csv`, which must fail it.
fn partition_error(csv: &str) -> String {
    let dir = one_table(
        "    primary_key: id\n    sync_strategy: partitioned\n    partition_by: d\n    partition_granularity: month\n",
    );
    let d = dir.path();
    write_csv(d, "t", csv);
    let (code, s, _) = build_json(d, &[]);
    assert_eq!(code, Some(1));
    table(&s, "t")["error"].as_str().unwrap().to_string()
}

#[test]
fn a_partition_column_that_is_not_a_date_names_a_value() {
    let e = partition_error("id,d\n1,2025-01-01\n2,soon\n");
    assert!(
        e.contains("partition_by column `d`") && e.contains("the value `soon`"),
        "{e}"
    );
}

#[test]
fn a_null_partition_date_names_the_row_by_its_primary_key() {
    let e = partition_error("id,d\n1,2025-01-01\n27,\n3,2025-02-01\n");
    assert!(
        e.contains("partition_by column `d` is NULL in a row of the source (id = 27)"),
        "{e}"
    );
}
