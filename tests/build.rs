//! `broker build` on the demo instance, run as a user runs it, checked against DuckDB queries
//! over the CSV files.

mod common;

use std::path::Path;

use broker::content::{data_description, ColumnType, TableSpec};
use common::*;

/// An in-memory DuckDB (the bundled build: no ICU, so timestamps are compared as UTC `TIMESTAMP`).
fn duck() -> duckdb::Connection {
    duckdb::Connection::open_in_memory().unwrap()
}

fn one_string(c: &duckdb::Connection, sql: &str) -> Option<String> {
    c.query_row(sql, [], |r| r.get::<_, Option<String>>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn one_u64(c: &duckdb::Connection, sql: &str) -> u64 {
    c.query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}")) as u64
}

fn csv_relation(csv: &Path) -> String {
    format!(
        "read_csv('{}', header=true, all_varchar=true, allow_quoted_nulls=false, delim=',', quote='\"', escape='\"')",
        csv.display()
    )
}

fn cast(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Int64 => "BIGINT",
        ColumnType::Float64 => "DOUBLE",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        // The CSV holds wall-clock text (UTC for timestamptz); compare as plain TIMESTAMP (no
        // ICU here).
        ColumnType::Timestamp | ColumnType::Timestamptz => "TIMESTAMP",
        ColumnType::String => "VARCHAR",
        // The demo shop has no decimal column.
        ColumnType::Decimal { .. } => "DECIMAL(38,9)",
    }
}

/// The profile's text for a DuckDB value: numbers as JSON numbers, others as text.
fn profile_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn duck_text(t: ColumnType, expr: &str) -> String {
    match t {
        ColumnType::Timestamptz => format!("strftime({expr}, '%Y-%m-%dT%H:%M:%SZ')"),
        ColumnType::Timestamp => format!("strftime({expr}, '%Y-%m-%dT%H:%M:%S')"),
        ColumnType::Date => format!("strftime({expr}, '%Y-%m-%d')"),
        ColumnType::Float64 => format!("CAST({expr} AS VARCHAR)"),
        _ => format!("CAST({expr} AS VARCHAR)"),
    }
}

#[test]
fn demo_build_matches_duckdb_over_the_csv_files() {
    let inst = demo_instance(None);
    let out = build(inst.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let root = inst.path().join("public");
    let csv_dir = inst.path().join("state/sample-data");
    let tables: Vec<TableSpec> =
        data_description::load(&inst.path().join("content/data_description.md")).unwrap();
    assert_eq!(tables.len(), 9);
    let profiles: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("meta/profiles.json")).unwrap())
            .unwrap();
    assert_eq!(profiles["version"], broker::profile::PROFILES_VERSION);
    let c = duck();
    for t in &tables {
        let parquet = root.join(format!("data/{}/{}.parquet", t.folder, t.name));
        assert!(parquet.is_file(), "{} missing", parquet.display());
        let csv = csv_dir.join(format!("{}.csv", t.name));
        let rel = csv_relation(&csv);
        let csv_rows = one_u64(&c, &format!("SELECT count(*) FROM {rel}"));
        let pq = format!("read_parquet('{}')", parquet.display());
        let pq_rows = one_u64(&c, &format!("SELECT count(*) FROM {pq}"));
        assert_eq!(pq_rows, csv_rows, "{}", t.name);
        assert!(csv_rows > 0, "{}", t.name);
        // Declared types reach Parquet.
        let mut stmt = c
            .prepare(&format!(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {pq})"
            ))
            .unwrap();
        let described: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for col in &t.columns {
            if let Some(ty) = col.column_type {
                let found = described
                    .iter()
                    .find(|(n, _)| n == &col.name)
                    .unwrap_or_else(|| panic!("{}.{} missing", t.name, col.name));
                let want = match ty {
                    ColumnType::Timestamptz => "TIMESTAMP WITH TIME ZONE",
                    other => cast(other),
                };
                assert_eq!(found.1, want, "{}.{}", t.name, col.name);
            }
        }
        // Profile of the first numeric, string and date/timestamp column vs DuckDB over the CSV.
        let profile = &profiles["tables"][&t.name];
        assert_eq!(profile["row_count"], csv_rows, "{}", t.name);
        let declared = |pred: &dyn Fn(ColumnType) -> bool| {
            t.columns
                .iter()
                .find(|c| c.column_type.is_some_and(pred))
                .cloned()
        };
        let picks = [
            declared(&|t| matches!(t, ColumnType::Int64 | ColumnType::Float64)),
            declared(&|t| t == ColumnType::String),
            declared(&|t| {
                matches!(
                    t,
                    ColumnType::Date | ColumnType::Timestamp | ColumnType::Timestamptz
                )
            }),
        ];
        let mut checked = 0;
        for col in picks.into_iter().flatten() {
            let ty = col.column_type.unwrap();
            let expr = format!("CAST(\"{}\" AS {})", col.name, cast(ty));
            let p = profile["columns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == col.name.as_str())
                .unwrap_or_else(|| panic!("no profile for {}.{}", t.name, col.name));
            let nulls = one_u64(
                &c,
                &format!("SELECT count(*) - count(\"{}\") FROM {rel}", col.name),
            );
            let distinct = one_u64(&c, &format!("SELECT count(DISTINCT {expr}) FROM {rel}"));
            assert_eq!(p["null_count"], nulls, "{}.{} nulls", t.name, col.name);
            assert_eq!(
                p["distinct_count"], distinct,
                "{}.{} distinct",
                t.name, col.name
            );
            for agg in ["min", "max"] {
                let want = one_string(
                    &c,
                    &format!(
                        "SELECT {} FROM {rel}",
                        duck_text(ty, &format!("{agg}({expr})"))
                    ),
                );
                let got = p[agg].clone();
                match ty {
                    ColumnType::Int64 | ColumnType::Float64 => {
                        let want: f64 = want.unwrap().parse().unwrap();
                        let got = got.as_f64().unwrap();
                        assert!(
                            (want - got).abs() < 1e-9,
                            "{}.{} {agg}: {got} vs {want}",
                            t.name,
                            col.name
                        );
                    }
                    _ => assert_eq!(
                        Some(profile_value(&got)),
                        want,
                        "{}.{} {agg}",
                        t.name,
                        col.name
                    ),
                }
            }
            checked += 1;
        }
        assert!(checked >= 2, "{}: too few typed columns to check", t.name);
    }
    // Metric pages hold results, none an error.
    let metrics_dir = root.join("metrics");
    let mut metric_pages = 0;
    for entry in walkdir::WalkDir::new(&metrics_dir).min_depth(2) {
        let entry = entry.unwrap();
        if entry.path().extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let twin: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        let html = std::fs::read_to_string(entry.path().with_extension("html")).unwrap();
        let results = twin["results"].as_array().expect("results in metric twin");
        assert!(!results.is_empty());
        for r in results {
            assert!(
                r["error"].is_null(),
                "{}: {}",
                entry.path().display(),
                r["error"]
            );
            assert!(
                r["row_count"].as_u64().unwrap() > 0,
                "{}",
                entry.path().display()
            );
            let first = profile_value(&r["rows"][0][0]);
            assert!(
                html.contains(&first),
                "{}: first value {first} not on the page",
                entry.path().display()
            );
        }
        metric_pages += 1;
    }
    assert_eq!(metric_pages, 10);
    // views.sql opened from the output root gives the same counts.
    let views = std::fs::read_to_string(root.join("analyst/views.sql")).unwrap();
    let v = duck();
    v.execute_batch(&format!(
        "SET file_search_path = '{}';",
        std::fs::canonicalize(&root).unwrap().display()
    ))
    .unwrap();
    v.execute_batch(&views).unwrap();
    for t in &tables {
        let csv = csv_dir.join(format!("{}.csv", t.name));
        assert_eq!(
            one_u64(&v, &format!("SELECT count(*) FROM \"{}\"", t.name)),
            one_u64(&c, &format!("SELECT count(*) FROM {}", csv_relation(&csv))),
            "{}",
            t.name
        );
    }
    // The catalog groups tables by folder in instance.yaml's order, with its labels.
    let catalog = std::fs::read_to_string(root.join("tables/index.html")).unwrap();
    let at = |label: &str| {
        catalog
            .find(&format!("<h2>{label}</h2>"))
            .unwrap_or_else(|| panic!("{label}"))
    };
    assert!(at("Sales") < at("Customers &amp; support"));
    assert!(at("Customers &amp; support") < at("Marketing"));
    // The manifest lists every data file with its hash.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("meta/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["files"].as_array().unwrap().len(), 9);
    let f0 = &manifest["files"][0];
    let bytes = std::fs::read(root.join(f0["path"].as_str().unwrap())).unwrap();
    assert_eq!(f0["bytes"], bytes.len() as u64);
    use sha2::Digest;
    assert_eq!(f0["sha256"], format!("{:x}", sha2::Sha256::digest(&bytes)));
}

fn small_instance(dir: &Path, csv: &str, extra_yaml: &str) {
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("content")).unwrap();
    std::fs::create_dir_all(dir.join("csv")).unwrap();
    std::fs::write(
        dir.join("config/instance.yaml"),
        "instance:\n  name: Small <b>test</b>\ndata_source:\n  type: csv\n  csv:\n    folder: csv\n",
    )
    .unwrap();
    std::fs::write(dir.join("csv/things.csv"), csv).unwrap();
    std::fs::write(
        dir.join("content/data_description.md"),
        format!("# Tables\n\n```yaml\ntables:\n  - id: t.things\n    name: things\n    description: Things\n    primary_key: id\n    sync_strategy: full_refresh\n{extra_yaml}```\n"),
    )
    .unwrap();
}

#[test]
fn script_in_a_header_and_a_value_is_escaped_on_the_table_page() {
    let dir = broker::testkit::tempdir().unwrap();
    small_instance(
        dir.path(),
        "id,<script>alert(1)</script>\n1,\"<script>alert(2)</script>\"\n2,plain\n",
        "",
    );
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let page = std::fs::read_to_string(dir.path().join("public/tables/things.html")).unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "header not shown escaped"
    );
    assert!(
        page.contains("&lt;script&gt;alert(2)&lt;/script&gt;"),
        "value not shown escaped"
    );
    assert!(!page.contains("<script>alert"), "raw script on the page");
    let index = std::fs::read_to_string(dir.path().join("public/index.html")).unwrap();
    assert!(index.contains("Small &lt;b&gt;test&lt;/b&gt;"));
}

#[test]
fn a_broken_metric_exits_1_shows_its_error_and_keeps_everything_else() {
    let csv = sample_csv("xs");
    let inst = demo_instance(Some(&csv));
    std::fs::write(
        inst.path().join("content/metrics/revenue/broken_metric.yml"),
        "- name: broken_metric\n  display_name: Broken\n  category: revenue\n  table: orders\n  description: A metric whose SQL names a column that does not exist.\n  sql: SELECT no_such_column FROM orders\n",
    )
    .unwrap();
    let out = build(inst.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let root = inst.path().join("public");
    let page = std::fs::read_to_string(root.join("metrics/revenue/broken_metric.html")).unwrap();
    assert!(page.contains("no_such_column"), "error not on the page");
    assert!(
        page.contains("Binder Error"),
        "DuckDB's error not on the page"
    );
    let ok: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("metrics/revenue/total_revenue.json")).unwrap(),
    )
    .unwrap();
    assert!(ok["results"][0]["error"].is_null());
    for t in ["customers", "orders", "payments"] {
        let files: Vec<_> = walkdir::WalkDir::new(root.join("data"))
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy() == format!("{t}.parquet"))
            .collect();
        assert_eq!(files.len(), 1, "{t}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken_metric"));
}

#[test]
fn a_build_killed_midway_leaves_the_previous_tree_byte_identical() {
    let csv = sample_csv("m");
    let inst = demo_instance(Some(&csv));
    let out = build(inst.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let root = inst.path().join("public");
    let before = snapshot(&root);
    let builds = inst.path().join(".public.builds");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_broker"))
        .args(["build", "-q", "--instance", inst.path().to_str().unwrap()])
        .spawn()
        .unwrap();
    // Kill it as soon as it has started writing data into its staging folder.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let writing = std::fs::read_dir(&builds).unwrap().any(|e| {
            let p = e.unwrap().path();
            p.extension().is_some_and(|x| x == "partial") && p.join("data").exists()
        });
        if writing {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "build ended before it could be killed"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "build never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(snapshot(&root), before, "the published tree changed");
    // The next build cleans up and publishes.
    let out = build(inst.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let partial = std::fs::read_dir(&builds)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "partial")
        })
        .count();
    assert_eq!(partial, 0);
}

#[test]
fn a_configuration_error_exits_2_names_file_line_and_key_and_publishes_nothing() {
    let dir = broker::testkit::tempdir().unwrap();
    small_instance(dir.path(), "id\n1\n", "");
    std::fs::write(
        dir.path().join("config/instance.yaml"),
        "instance:\n  name: X\ndata_source:\n  type: csv\n  csv:\n    folder: csv\n    token: ${BROKER_TEST_UNSET_VARIABLE}\n",
    )
    .unwrap();
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("instance.yaml:7: key `token`"), "{err}");
    assert!(err.contains("BROKER_TEST_UNSET_VARIABLE"), "{err}");
    assert!(!dir.path().join("public").exists());
}

#[test]
fn a_failing_table_keeps_its_published_data_and_the_build_exits_1() {
    let dir = broker::testkit::tempdir().unwrap();
    small_instance(dir.path(), "id,name\n1,a\n2,b\n", "");
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let data = dir.path().join("public/data/t/things.parquet");
    let before = std::fs::read(&data).unwrap();
    // A ragged row: the sync fails with file and line, the old data stays published.
    std::fs::write(
        dir.path().join("csv/things.csv"),
        "id,name\n1,a\n2,b,extra\n",
    )
    .unwrap();
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("things.csv:3: row has 3 fields, the header has 2"),
        "{err}"
    );
    assert_eq!(std::fs::read(&data).unwrap(), before);
    let page = std::fs::read_to_string(dir.path().join("public/tables/things.html")).unwrap();
    assert!(
        page.contains("row has 3 fields"),
        "error not on the table page"
    );
}

#[test]
fn a_declared_type_violation_names_file_line_column_and_value() {
    let dir = broker::testkit::tempdir().unwrap();
    small_instance(
        dir.path(),
        "id,qty\n1,5\n2,five\n",
        "    columns:\n      - {name: id, type: int64}\n      - {name: qty, type: int64}\n",
    );
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("things.csv:3: column `qty`: value `five` is not a valid int64"),
        "{err}"
    );
    assert!(!dir.path().join("public/data/t/things.parquet").exists());
}

#[test]
fn an_existing_folder_at_the_output_is_refused_and_left_untouched() {
    let dir = broker::testkit::tempdir().unwrap();
    small_instance(dir.path(), "id\n1\n", "");
    std::fs::create_dir_all(dir.path().join("public")).unwrap();
    std::fs::write(dir.path().join("public/keep.txt"), "precious").unwrap();
    let out = broker(&[
        "build",
        "--json",
        "--instance",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not the symlink broker publishes"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "config_error");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("public/keep.txt")).unwrap(),
        "precious"
    );
    // An output that would contain the instance itself is refused too.
    let out = broker(&[
        "build",
        "--instance",
        dir.path().to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(dir.path().join("config/instance.yaml").is_file());
}

#[test]
fn a_table_made_private_moves_its_published_files_even_when_not_synced() {
    let dir = common::demo_instance(Some(&common::sample_csv("s")));
    let inst = dir.path().to_str().unwrap();
    let dd = dir.path().join("content/data_description.md");
    let public = std::fs::read_to_string(&dd).unwrap();
    let private = public.replacen(
        "    name: support_tickets\n",
        "    name: support_tickets\n    private: true\n",
        1,
    );
    let file = "data/crm/support_tickets.parquet";
    let tree = || std::fs::canonicalize(dir.path().join("public")).unwrap();
    let out = common::build(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(tree().join(file).is_file());
    // Made private, left out of the sync: its kept file moves into the overlay.
    for (declared, at, not_at) in [
        (&private, format!("_private/{file}"), file.to_string()),
        (&public, file.to_string(), "_private".to_string()),
    ] {
        std::fs::write(&dd, declared).unwrap();
        let out = common::broker(&[
            "build",
            "--instance",
            inst,
            "--json",
            "--exclude",
            "support_tickets",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let tickets = common::summary_table(&summary, "support_tickets");
        assert_eq!(tickets["status"], "skipped");
        assert_eq!(tickets["rows"], 500);
        assert!(tree().join(&at).is_file(), "{at}");
        assert!(!tree().join(&not_at).exists(), "{not_at}");
    }
}
