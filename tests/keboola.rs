//! The `keboola` data source against a fake Storage API on loopback (`broker::testkit::keboola`):
//! `broker build` run as a cron job would, exported slices checked through DuckDB.

mod common;

use std::path::Path;
use std::time::Instant;

use broker::testkit::keboola::{Failure, FakeKeboola, FakeTable};
use common::*;

const TOKEN: &str = "8631-412337-Qm9ndXNUb2tlbkZvclRlc3RzT25seQ";

const BIG: &str = "12345678901234567890123456789.123456789";

/// A typed table with every base type, NULLs, empty strings, quotes and a multi-line value.
fn orders() -> FakeTable {
    let mut t = FakeTable::typed(
        "in.c-shop.orders",
        &[
            ("order_id", "INTEGER", Some("18,0")),
            ("email", "STRING", Some("255")),
            ("amount", "NUMERIC", Some("38,9")),
            ("rate", "FLOAT", None),
            ("is_paid", "BOOLEAN", None),
            ("order_date", "DATE", None),
            ("updated_at", "TIMESTAMP", None),
            ("note", "STRING", None),
        ],
    )
    .row(
        &[
            Some("1"),
            Some("ana@example.org"),
            Some(BIG),
            Some("0.5"),
            Some("true"),
            Some("2025-06-01"),
            Some("2025-06-02 21:14:05"),
            Some("Leave at the \"back\" door"),
        ],
        1_748_900_000,
    )
    .row(
        &[
            Some("2"),
            Some(""),
            Some("-0.000000001"),
            None,
            Some("false"),
            Some("2025-06-02"),
            Some("2025-06-02 22:01:17"),
            None,
        ],
        1_748_900_000,
    )
    .row(
        &[
            Some("3"),
            None,
            Some("12.000000000"),
            Some("1e3"),
            None,
            None,
            None,
            Some("multi\nline, note"),
        ],
        1_748_900_100,
    );
    t.primary_key = vec!["order_id".into()];
    t.description = Some("Orders from the web shop".into());
    t.column_metadata = vec![(
        "note".into(),
        "KBC.description".into(),
        "Free-text note typed by the customer".into(),
        "user".into(),
    )];
    t
}

/// An untyped table (every value text, no NULL) with an extractor's type hint on `visits`.
fn customers() -> FakeTable {
    let mut t = FakeTable::untyped("in.c-crm.customers", &["id", "name", "visits"])
        .row(&[Some("C-1"), Some("Ann"), Some("3")], 1_748_900_000)
        .row(&[Some("C-2"), Some(""), Some("")], 1_748_900_000);
    t.column_metadata = vec![(
        "visits".into(),
        "KBC.datatype.basetype".into(),
        "INTEGER".into(),
        "keboola.ex-db-mysql".into(),
    )];
    t
}

const TABLES: &str = r#"```yaml
tables:
  - id: in.c-shop.orders
    name: orders
    description: Orders
    primary_key: order_id
    sync_strategy: full_refresh
    folder: shop
  - id: in.c-crm.customers
    name: customers
    description: Customers
    sync_strategy: full_refresh
    folder: crm
```
"#;

/// An instance reading from `fake` with token `token` (in `.env`) and these tables.
fn instance(
    fake: &FakeKeboola,
    token: &str,
    tables: &str,
    extra: &str,
) -> broker::testkit::TempDir {
    let dir = broker::testkit::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("config")).unwrap();
    std::fs::create_dir_all(d.join("content")).unwrap();
    std::fs::write(
        d.join("config/instance.yaml"),
        format!(
            "instance:\n  name: Keboola test\ndata_source:\n  type: keboola\n  keboola:\n    url: {url}\n    project_id: 8631\n    token: ${{KEBOOLA_STORAGE_TOKEN}}\n    s3_endpoint: {url}\n    gcs_endpoint: {url}/gcs\n    retry_base_ms: 10\n    poll_max_ms: 50\n{extra}",
            url = fake.url
        ),
    )
    .unwrap();
    std::fs::write(d.join(".env"), format!("KEBOOLA_STORAGE_TOKEN={token}\n")).unwrap();
    std::fs::write(d.join("content/data_description.md"), tables).unwrap();
    dir
}

/// Rows of a query over the published tree, every value as text (`NULL` for NULL).
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
                    duckdb::types::ValueRef::Text(t) => String::from_utf8_lossy(t).to_string(),
                    other => format!("{other:?}"),
                })
                .collect(),
        );
    }
    out
}

fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn typed_and_untyped_tables_keep_exact_types_nulls_and_empty_strings() {
    let fake = FakeKeboola::start(TOKEN, 8631, vec![orders(), customers()]).unwrap();
    fake.state().empty_slice = true;
    let dir = instance(&fake, TOKEN, TABLES, "");
    let d = dir.path();
    let out = build(d);
    assert!(out.status.success(), "{}", text(&out));

    let types = query(
        d,
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '$ROOT/data/shop/orders.parquet')",
    );
    assert_eq!(
        types,
        strs(&[
            &["order_id", "BIGINT"],
            &["email", "VARCHAR"],
            &["amount", "DECIMAL(38,9)"],
            &["rate", "DOUBLE"],
            &["is_paid", "BOOLEAN"],
            &["order_date", "DATE"],
            &["updated_at", "TIMESTAMP WITH TIME ZONE"],
            &["note", "VARCHAR"],
        ])
    );
    let rows = query(
        d,
        "SELECT order_id::VARCHAR, email, amount::VARCHAR, rate::VARCHAR, is_paid::VARCHAR, order_date::VARCHAR, strftime(updated_at::TIMESTAMP, '%Y-%m-%d %H:%M:%S'), note FROM '$ROOT/data/shop/orders.parquet' ORDER BY order_id",
    );
    assert_eq!(
        rows,
        strs(&[
            &[
                "1",
                "ana@example.org",
                BIG,
                "0.5",
                "true",
                "2025-06-01",
                "2025-06-02 21:14:05",
                "Leave at the \"back\" door"
            ],
            &[
                "2",
                "",
                "-0.000000001",
                "NULL",
                "false",
                "2025-06-02",
                "2025-06-02 22:01:17",
                "NULL"
            ],
            &[
                "3",
                "NULL",
                "12.000000000",
                "1000.0",
                "NULL",
                "NULL",
                "NULL",
                "multi\nline, note"
            ],
        ])
    );
    // Untyped: no NULL, an empty field is "", and the extractor's INTEGER hint types `visits`.
    let rows = query(
        d,
        "SELECT id, name, visits::VARCHAR, typeof(visits) FROM '$ROOT/data/crm/customers.parquet' ORDER BY id",
    );
    assert_eq!(
        rows,
        strs(&[
            &["C-1", "Ann", "3", "BIGINT"],
            &["C-2", "", "NULL", "BIGINT"]
        ])
    );

    let st = fake.state();
    // Every slice request was signed (and checked), and the exports asked for gzip.
    assert_eq!(st.refused, 0);
    assert!(
        st.requests
            .iter()
            .filter(|r| r.starts_with("GET /kbc-files/"))
            .count()
            >= 8
    );
    let (table, params) = &st.exports[0];
    assert!(table.starts_with("in.c-"));
    assert_eq!(params["gzip"], true);
    assert!(params.get("changedSince").is_none());
}

#[test]
fn a_503_is_retried_after_its_retry_after_and_a_401_names_code_exception_and_table() {
    let fake = FakeKeboola::start(TOKEN, 8631, vec![orders()]).unwrap();
    let one = "```yaml\ntables:\n  - id: in.c-shop.orders\n    name: orders\n    description: Orders\n    sync_strategy: full_refresh\n    folder: shop\n```\n";
    let dir = instance(&fake, TOKEN, one, "");
    fake.state().failures.push_back(Failure {
        path: "/v2/storage/tables/in.c-shop.orders/export-async".into(),
        status: 503,
        retry_after: Some(1),
        body: r#"{"status":"maintenance","reason":"Project is being migrated","estimatedEndTime":"2025-06-03T09:00:00+02:00"}"#.into(),
    });
    let started = Instant::now();
    let out = build(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        started.elapsed().as_millis() >= 1000,
        "waited Retry-After (1 s), not the 10 ms backoff"
    );
    let posts = fake
        .state()
        .requests
        .iter()
        .filter(|r| r.starts_with("POST "))
        .count();
    assert_eq!(posts, 2);

    // A slice download that fails with a 500 is retried; one refused with 403 is not.
    fake.state().failures.push_back(Failure {
        path: "/kbc-files/".into(),
        status: 500,
        retry_after: None,
        body: "<Error><Code>InternalError</Code></Error>".into(),
    });
    let out = build(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    fake.state().failures.push_back(Failure {
        path: "/kbc-files/".into(),
        status: 403,
        retry_after: None,
        body: "<Error><Code>ExpiredToken</Code></Error>".into(),
    });
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("table in.c-shop.orders: slice s3://kbc-files/")
            && err.contains("HTTP 403")
            && err.contains("ExpiredToken"),
        "{err}"
    );

    // A wrong token: not retried, and the message says what Keboola said.
    let dir = instance(&fake, "8631-1-wrong", one, "");
    let before = fake.state().requests.len();
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "in.c-shop.orders",
        "HTTP 401",
        "Invalid access token",
        "storage.tokenInvalid",
        "keboola-connection-a1b2c3d4e5f60718",
        "KEBOOLA_STORAGE_TOKEN",
    ] {
        assert!(err.contains(want), "`{want}` in: {err}");
    }
    assert_eq!(
        fake.state().requests.len(),
        before + 1,
        "a 401 is not retried"
    );
}

#[test]
fn a_failed_export_job_fails_its_table_and_leaves_its_published_data() {
    let fake = FakeKeboola::start(TOKEN, 8631, vec![orders(), customers()]).unwrap();
    let dir = instance(&fake, TOKEN, TABLES, "");
    let d = dir.path();
    assert!(build(d).status.success());
    let published = std::fs::read(d.join("public/data/shop/orders.parquet")).unwrap();

    fake.state().failing_exports.insert(
        "in.c-shop.orders".into(),
        (
            "storage.tables.validation.invalidColumns".into(),
            "Columns \"shipping_note\" not found in table in.c-shop.orders".into(),
        ),
    );
    fake.state()
        .tables
        .get_mut("in.c-crm.customers")
        .unwrap()
        .rows
        .push((
            vec![Some("C-3".into()), Some("Cy".into()), Some("1".into())],
            1_748_900_500,
        ));
    let out = build(d);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "table in.c-shop.orders: export job",
        "failed: Columns \"shipping_note\" not found",
        "storage.tables.validation.invalidColumns",
        "keboola-connection-job",
    ] {
        assert!(err.contains(want), "`{want}` in: {err}");
    }
    assert_eq!(
        std::fs::read(d.join("public/data/shop/orders.parquet")).unwrap(),
        published,
        "the failed table's published file is kept"
    );
    assert_eq!(
        query(
            d,
            "SELECT count(*)::VARCHAR FROM '$ROOT/data/crm/customers.parquet'"
        ),
        strs(&[&["3"]]),
        "the other table is updated"
    );
}

const INCREMENTAL: &str = r#"```yaml
tables:
  - id: in.c-shop.orders
    name: orders
    description: Orders
    primary_key: order_id
    sync_strategy: incremental
    incremental_column: _timestamp
    incremental_window_days: 1
    folder: shop
    where_filters:
      - column: is_paid
        operator: ne
        values: ["false"]
    columns:
      - name: order_id
        description: Order id
      - name: amount
        description: Amount
      - name: is_paid
        description: Paid
      - name: _timestamp
        description: When Keboola last changed the row
```
"#;

#[test]
fn an_incremental_run_exports_changed_rows_since_the_cursor_and_merges_them_by_key() {
    let fake = FakeKeboola::start(TOKEN, 8631, vec![orders()]).unwrap();
    let dir = instance(&fake, TOKEN, INCREMENTAL, "");
    let d = dir.path();
    let out = build(d);
    assert!(out.status.success(), "{}", text(&out));
    let sql = "SELECT order_id::VARCHAR, amount::VARCHAR, strftime(_timestamp::TIMESTAMP, '%Y-%m-%d %H:%M:%S') FROM '$ROOT/data/shop/orders.parquet' ORDER BY order_id";
    // Row 2 is not paid: filtered out by Keboola.
    assert_eq!(
        query(d, sql),
        strs(&[
            &["1", BIG, "2025-06-02 21:33:20"],
            &["3", "12.000000000", "2025-06-02 21:35:00"],
        ])
    );
    {
        let st = fake.state();
        let p = &st.exports[0].1;
        assert_eq!(p["columns"], "order_id,amount,is_paid");
        assert_eq!(p["includeInternalTimestamp"], true);
        assert_eq!(p["whereFilters"][0]["operator"], "ne");
        assert_eq!(p["whereFilters"][0]["values"][0], "false");
        assert!(p.get("changedSince").is_none(), "first run reads all");
    }
    // Two days later: row 1 changes, row 4 arrives; row 3 is untouched.
    let later = 1_748_900_100 + 2 * 86_400;
    {
        let mut st = fake.state();
        let t = st.tables.get_mut("in.c-shop.orders").unwrap();
        t.rows[0].0[2] = Some("1.5".into());
        t.rows[0].1 = later;
        t.rows.push((
            vec![
                Some("4".into()),
                None,
                Some("7".into()),
                None,
                Some("true".into()),
                None,
                None,
                None,
            ],
            later + 10,
        ));
    }
    let out = build(d);
    assert!(out.status.success(), "{}", text(&out));
    {
        let st = fake.state();
        // cursor (largest _timestamp seen: 1748900100) minus one day.
        assert_eq!(
            st.exports[1].1["changedSince"],
            (1_748_900_100 - 86_400).to_string()
        );
    }
    assert_eq!(
        query(d, sql),
        strs(&[
            &["1", "1.500000000", "2025-06-04 21:35:00"],
            &["3", "12.000000000", "2025-06-02 21:35:00"],
            &["4", "7.000000000", "2025-06-04 21:35:10"],
        ])
    );
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("state/sync_state.json")).unwrap())
            .unwrap();
    assert!(
        state.to_string().contains("2025-06-04T21:35:10"),
        "cursor is the largest _timestamp: {state}"
    );
    // A run that exports nothing keeps the cursor.
    fake.state()
        .tables
        .get_mut("in.c-shop.orders")
        .unwrap()
        .rows
        .clear();
    let out = build(d);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        fake.state().exports[2].1["changedSince"],
        (later + 10 - 86_400).to_string()
    );
    assert_eq!(
        query(
            d,
            "SELECT count(*)::VARCHAR FROM '$ROOT/data/shop/orders.parquet'"
        ),
        strs(&[&["3"]])
    );
    let out = build(d);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        fake.state().exports[3].1["changedSince"],
        (later + 10 - 86_400).to_string(),
        "0 rows never move the cursor"
    );
}

#[test]
fn gcs_slices_use_the_bearer_token_and_azure_is_refused_by_name() {
    let fake = FakeKeboola::start(TOKEN, 8631, vec![orders()]).unwrap();
    fake.state().provider = "gcp".into();
    let one = "```yaml\ntables:\n  - id: in.c-shop.orders\n    name: orders\n    description: Orders\n    sync_strategy: full_refresh\n    folder: shop\n```\n";
    let dir = instance(&fake, TOKEN, one, "");
    let out = build(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        query(
            dir.path(),
            "SELECT count(*)::VARCHAR FROM '$ROOT/data/shop/orders.parquet'"
        ),
        strs(&[&["3"]])
    );
    assert!(fake
        .state()
        .requests
        .iter()
        .any(|r| r.starts_with("GET /gcs/kbc-files/")));
    assert_eq!(fake.state().refused, 0);

    fake.state().provider = "azure".into();
    let dir = instance(&fake, TOKEN, one, "");
    let out = build(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in.c-shop.orders")
            && err.contains("Azure")
            && err.contains("not supported yet"),
        "{err}"
    );
}

#[test]
fn doctor_names_the_project_and_the_declared_tables_the_token_cannot_read() {
    let fake = FakeKeboola::start(TOKEN, 8631, vec![orders()]).unwrap();
    let dir = instance(&fake, TOKEN, TABLES, "");
    let out = broker(&["doctor", "--instance", dir.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout.contains(
            "ok    keboola: token `broker (read only)` of project 8631 (Acme Analytics (test))"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok    table orders: in.c-shop.orders"),
        "{stdout}"
    );
    assert!(
        stdout.contains("error table customers: `in.c-crm.customers` (data_description.md line 10) is not a table this token can read"),
        "{stdout}"
    );
    assert!(
        !fake
            .state()
            .requests
            .iter()
            .any(|r| r.contains("export-async")),
        "no data read"
    );

    let dir = instance(&fake, "8631-0-expired", TABLES, "");
    let out = broker(&["doctor", "--instance", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("storage.tokenInvalid"),
        "{}",
        text(&out)
    );
}
