//! Tests of the whole site stage on a small hand-built input.

use std::collections::BTreeMap;
use std::path::Path;

use crate::content::metrics::MetricSql;
use crate::content::{
    ColumnSpec, ColumnType, Content, Doc, ForeignKey, Metric, SyncStrategy, TableSpec,
};
use crate::metrics::{MetricResult, QueryResult};
use crate::profile::{
    Alert, ColumnProfile, DateRange, Histogram, NumericStats, StringStats, TableProfile, TopValue,
};
use crate::site::{render, SiteInput, TableReport};
use crate::sync::{DataFile, SyncedColumn, SyncedTable};

const EVIL: &str = "<script>alert(1)</script>";

fn spec(name: &str, folder: &str) -> TableSpec {
    TableSpec {
        id: format!("in.c-{folder}.{name}"),
        name: name.to_string(),
        description: format!("The {name} table."),
        primary_key: vec!["id".to_string()],
        sync_strategy: SyncStrategy::FullRefresh,
        folder: folder.to_string(),
        incremental_window_days: 7,
        incremental_column: None,
        partition_by: None,
        partition_granularity: None,
        max_history_days: None,
        columns: vec![ColumnSpec {
            name: "id".to_string(),
            description: Some("Row id".to_string()),
            column_type: Some(ColumnType::Int64),
        }],
        foreign_keys: Vec::new(),
        where_filters: Vec::new(),
        file: None,
        csv: Default::default(),
        profile: Default::default(),
        line: 10,
    }
}

fn column(name: &str, t: ColumnType, source: &str) -> SyncedColumn {
    SyncedColumn {
        name: name.to_string(),
        source_name: source.to_string(),
        column_type: t,
        type_source: "inferred",
        note: None,
    }
}

pub(crate) fn input() -> SiteInput {
    let mut orders = spec("orders", "sales");
    orders.foreign_keys.push(ForeignKey {
        column: "customer_id".to_string(),
        references: "customers.id".to_string(),
        description: Some("who ordered".to_string()),
    });
    orders.columns.push(ColumnSpec {
        name: "status".to_string(),
        description: Some("Order status <i>as text</i>".to_string()),
        column_type: None,
    });
    let orders_synced = SyncedTable {
        table: "orders".to_string(),
        columns: vec![
            column("id", ColumnType::Int64, "id"),
            column("customer_id", ColumnType::Int64, "customer_id"),
            column("status", ColumnType::String, "status"),
            column(EVIL, ColumnType::String, EVIL),
            column("amount", ColumnType::Float64, "Amount (€)"),
        ],
        files: vec![DataFile {
            path: "data/sales/it's orders.parquet".to_string(),
            abs_path: Default::default(),
            rows: 3,
            bytes: 2048,
        }],
        rows: 3,
        bytes: 2048,
        source: "https://user:hunter2@example.com/orders.csv".to_string(),
        elapsed_ms: 12,
        run: Default::default(),
    };
    let orders_profile = TableProfile {
        table: "orders".to_string(),
        row_count: 3,
        column_count: 5,
        file_bytes: 2048,
        uncompressed_bytes: 4096,
        completeness_pct: Some(93.3),
        missing_cells: 1,
        duplicate_primary_keys: Some(0),
        date_range: Some(DateRange {
            column: "created_at".into(),
            earliest: "2024-01-01".into(),
            latest: "2024-12-31".into(),
            span_days: 365,
        }),
        sample_rows: vec![
            vec![
                Some("1".into()),
                Some("7".into()),
                Some("paid".into()),
                Some("<b>bold</b>".into()),
                Some("10.5".into()),
            ],
            vec![
                Some("2".into()),
                None,
                Some("new".into()),
                None,
                Some("3".into()),
            ],
        ],
        alerts: vec![Alert {
            column: EVIL.to_string(),
            kind: "high_missing".to_string(),
            message: format!("{EVIL} is 33% missing"),
        }],
        columns: vec![
            ColumnProfile {
                name: "id".into(),
                column_type: "int64".into(),
                null_count: 0,
                null_pct: Some(0.0),
                distinct_count: 3,
                distinct_pct: Some(100.0),
                min: Some(serde_json::json!(1)),
                max: Some(serde_json::json!(3)),
                is_primary_key: true,
                numeric: Some(NumericStats {
                    mean: Some(2.0),
                    stddev: Some(1.0),
                    p25: Some(1.5),
                    p50: Some(2.0),
                    p75: Some(2.5),
                    histogram: Some(Histogram {
                        edges: vec![1.0, 2.0, 3.0],
                        counts: vec![1, 2],
                        rule: "freedman_diaconis".into(),
                        values: Vec::new(),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ColumnProfile {
                name: "customer_id".into(),
                column_type: "int64".into(),
                null_count: 1,
                null_pct: Some(50.0),
                distinct_count: 1,
                distinct_pct: Some(100.0),
                min: Some(serde_json::json!(7)),
                max: Some(serde_json::json!(7)),
                numeric: Some(NumericStats {
                    mean: Some(7.0),
                    p50: Some(7.0),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ColumnProfile {
                name: "status".into(),
                column_type: "string".into(),
                distinct_count: 2,
                string: Some(StringStats {
                    min_length: Some(3),
                    max_length: Some(4),
                    avg_length: Some(3.5),
                    empty_count: 0,
                    ..Default::default()
                }),
                top_values: vec![TopValue {
                    value: "<b>paid</b>".into(),
                    count: 2,
                    pct: 66.7,
                }],
                ..Default::default()
            },
            ColumnProfile {
                name: EVIL.into(),
                column_type: "string".into(),
                null_count: 1,
                null_pct: Some(33.3),
                sample_values: vec!["<b>bold</b>".into()],
                alerts: vec![Alert {
                    column: EVIL.to_string(),
                    kind: "high_missing".to_string(),
                    message: "mostly missing".to_string(),
                }],
                ..Default::default()
            },
            ColumnProfile {
                name: "amount".into(),
                column_type: "float64".into(),
                numeric: Some(NumericStats::default()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let customers = spec("customers", "crm");
    let customers_synced = SyncedTable {
        table: "customers".to_string(),
        columns: vec![column("id", ColumnType::Int64, "id")],
        files: vec![
            DataFile {
                path: "data/crm/customers/year=2024/part-0.parquet".into(),
                abs_path: Default::default(),
                rows: 1,
                bytes: 100,
            },
            DataFile {
                path: "data/crm/customers/year=2025/part-0.parquet".into(),
                abs_path: Default::default(),
                rows: 1,
                bytes: 100,
            },
        ],
        rows: 2,
        bytes: 200,
        source: "/srv/customers.csv".into(),
        elapsed_ms: 1,
        run: Default::default(),
    };
    let mut weird = spec("we\"ird", "crm");
    weird.primary_key.clear();
    let broken = spec("broken", "sales");

    let metric = Metric {
        name: "total_revenue".into(),
        display_name: "Total revenue".into(),
        category: "revenue".into(),
        metric_type: Some("sum".into()),
        unit: Some("USD".into()),
        grain: Some("monthly".into()),
        time_column: Some("created_at".into()),
        table: Some("orders".into()),
        tables: vec!["customers".into()],
        expression: Some("SUM(amount)".into()),
        description: "Revenue of paid orders.".into(),
        dimensions: vec!["channel".into()],
        notes: vec!["Excludes refunds".into()],
        synonyms: vec!["sales".into()],
        validation: None,
        queries: vec![
            MetricSql {
                key: "sql".into(),
                title: "Basic query".into(),
                query: "SELECT 1 AS x".into(),
            },
            MetricSql {
                key: "sql_by_channel".into(),
                title: "By Channel".into(),
                query: "SELECT channel FROM orders".into(),
            },
        ],
        file: "revenue/total_revenue.yml".into(),
    };
    let results = vec![
        QueryResult {
            key: "sql".into(),
            title: "Basic query".into(),
            query: "SELECT 1 AS x".into(),
            columns: vec!["x".into(), "<i>label</i>".into()],
            column_types: vec!["INTEGER".into(), "VARCHAR".into()],
            rows: vec![vec![serde_json::json!(1), serde_json::json!("<b>v</b>")]],
            row_count: 250,
            error: None,
            elapsed_ms: 5,
        },
        QueryResult {
            key: "sql_by_channel".into(),
            title: "By Channel".into(),
            query: "SELECT channel FROM orders".into(),
            columns: vec![],
            column_types: vec![],
            rows: vec![],
            row_count: 0,
            error: Some("Binder Error: Referenced column \"channel\" not found".into()),
            elapsed_ms: 5,
        },
    ];
    let docs = vec![
        Doc {
            slug: "guide".into(),
            title: "Guide".into(),
            markdown: "# Guide\n\n## Start\n\nSee [orders](../tables/orders.html#column-id) and [x](../tables/nope.html).\n\n<script>alert('doc')</script>\n\nAlso [other](other.md).\n".into(),
            source: "content/docs/guide.md".into(),
        },
        Doc {
            slug: "other".into(),
            title: "Other".into(),
            markdown: "No heading here. Back to [guide](guide.html).\n".into(),
            source: "content/docs/other.md".into(),
        },
    ];
    SiteInput {
        instance_name: "Acme <Data>".into(),
        instance_subtitle: "Shop analytics".into(),
        built_at: "2025-01-01T00:00:00Z".into(),
        broker_version: "0.1.0".into(),
        content: Content {
            tables: vec![
                orders.clone(),
                customers.clone(),
                weird.clone(),
                broken.clone(),
            ],
            metrics: vec![metric.clone()],
            docs,
        },
        tables: vec![
            TableReport {
                spec: orders,
                synced: Some(orders_synced),
                profile: Some(orders_profile),
                error: None,
                sync_state: None,
            },
            TableReport {
                spec: customers,
                synced: Some(customers_synced),
                profile: None,
                error: None,
                sync_state: None,
            },
            TableReport {
                spec: weird,
                synced: Some(SyncedTable {
                    table: "we\"ird".into(),
                    columns: vec![column("id", ColumnType::Int64, "id")],
                    files: vec![DataFile {
                        path: "data/crm/weird.parquet".into(),
                        abs_path: Default::default(),
                        rows: 0,
                        bytes: 10,
                    }],
                    rows: 0,
                    bytes: 10,
                    source: String::new(),
                    elapsed_ms: 0,
                    run: Default::default(),
                }),
                profile: None,
                error: None,
                sync_state: None,
            },
            TableReport {
                spec: broken,
                synced: None,
                profile: None,
                error: Some(
                    "sales/broken.csv:4: column `amount`: value `abc` is not a number\nmore".into(),
                ),
                sync_state: None,
            },
        ],
        metrics: vec![MetricResult { metric, results }],
        catalog: Default::default(),
    }
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn all_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn renders_every_page_and_twin() {
    let dir = crate::testkit::tempdir().unwrap();
    render(&input(), dir.path(), None).unwrap();
    for rel in [
        "index.html",
        "index.json",
        "tables/index.html",
        "tables/index.json",
        "tables/orders.html",
        "tables/orders.json",
        "tables/broken.html",
        "metrics/index.html",
        "metrics/index.json",
        "metrics/revenue/total_revenue.html",
        "metrics/revenue/total_revenue.json",
        "docs/index.html",
        "docs/index.json",
        "docs/guide.html",
        "docs/guide.json",
        "docs/other.html",
        "assets/style.css",
        "assets/site.js",
        "analyst/views.sql",
        "analyst/AGENTS.md",
    ] {
        assert!(dir.path().join(rel).is_file(), "missing {rel}");
    }
    for (rel, bytes) in all_files(dir.path()) {
        if rel.ends_with(".json") {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["version"], 1, "{rel}");
            assert!(v["kind"].is_string(), "{rel}");
        }
        if rel.ends_with(".html") {
            let s = String::from_utf8(bytes).unwrap();
            assert!(
                !s.contains("src=\"http") && !s.contains("href=\"http"),
                "{rel} loads from the network"
            );
            assert!(!s.contains("href=\"/"), "{rel} has an absolute link");
        }
    }
    let dash = read(dir.path(), "index.html");
    assert!(dash.contains("Acme &lt;Data&gt;"));
    assert!(dash.contains("2025-01-01T00:00:00Z"));
    assert!(dash.contains("value `abc` is not a number"));
    assert!(dash.contains("Binder Error"));
    assert!(dash.contains("in 1 category"));
    let dash_json: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "index.json")).unwrap();
    assert_eq!(dash_json["kind"], "dashboard");
    assert_eq!(dash_json["counts"]["tables_failed"], 1);
}

#[test]
fn table_page_escapes_user_data() {
    let dir = crate::testkit::tempdir().unwrap();
    render(&input(), dir.path(), None).unwrap();
    let page = read(dir.path(), "tables/orders.html");
    assert!(!page.contains("<script>alert"), "raw script in page");
    assert!(!page.contains("<b>bold"), "raw <b> in page");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(page.contains("id=\"column-id\""));
    assert!(page.contains("id=\"column-&lt;script&gt;"));
    // header text that differs from the column name
    assert!(page.contains("Amount (€)"));
    // foreign keys both ways, metrics, how to query, n/a, redacted source
    assert!(page.contains("customers.html#column-id"));
    assert!(page.contains("total_revenue.html"));
    assert!(page.contains("SELECT * FROM orders LIMIT 10;"));
    assert!(page.contains("duckdb -init analyst/views.sql"));
    assert!(page.contains("n/a"));
    assert!(page.contains("user:***@example.com"));
    assert!(!page.contains("hunter2"));
    let customers = read(dir.path(), "tables/customers.html");
    assert!(customers.contains("orders.html#column-customer_id"));
    let broken = read(dir.path(), "tables/broken.html");
    assert!(broken.contains("value `abc` is not a number"));
    let twin: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "tables/orders.json")).unwrap();
    assert_eq!(twin["kind"], "table");
    assert_eq!(twin["profile"]["columns"][3]["name"], EVIL);
}

#[test]
fn metric_page_shows_sql_results_and_errors() {
    let dir = crate::testkit::tempdir().unwrap();
    render(&input(), dir.path(), None).unwrap();
    let page = read(dir.path(), "metrics/revenue/total_revenue.html");
    assert!(page.contains("<pre><code>SELECT 1 AS x</code></pre>"));
    assert!(page.contains("Binder Error: Referenced column &quot;channel&quot; not found"));
    assert!(page.contains("alert-error"));
    assert!(page.contains("Showing first 1 of 250 rows"));
    assert!(page.contains("&lt;b&gt;v&lt;/b&gt;"));
    assert!(page.contains("&lt;i&gt;label&lt;/i&gt;"));
    assert!(page.contains("../../tables/orders.html"));
    let catalog = read(dir.path(), "metrics/index.html");
    assert!(catalog.contains("Total revenue"));
    assert!(catalog.contains("revenue/total_revenue.html"));
}

#[test]
fn docs_render_with_toc_and_warn_on_broken_links() {
    let dir = crate::testkit::tempdir().unwrap();
    let warnings = render(&input(), dir.path(), None).unwrap();
    let broken: Vec<&String> = warnings
        .iter()
        .filter(|w| w.contains("broken link"))
        .collect();
    assert_eq!(
        broken,
        vec!["content/docs/guide.md:5: broken link ../tables/nope.html"],
        "{warnings:?}"
    );
    let page = read(dir.path(), "docs/guide.html");
    assert!(!page.contains("<script>alert"), "raw script in doc");
    assert!(page.contains("&lt;script&gt;alert("));
    assert!(page.contains("<h2 id=\"start\">Start</h2>"));
    assert!(page.contains("href=\"#start\""));
    assert!(page.contains("href=\"other.html\""));
    let other = read(dir.path(), "docs/other.html");
    assert!(other.contains("<h1>Other</h1>"));
    let index = read(dir.path(), "docs/index.html");
    assert!(index.contains("guide.html"));
}

#[test]
fn views_sql_has_one_view_per_synced_table() {
    let dir = crate::testkit::tempdir().unwrap();
    render(&input(), dir.path(), None).unwrap();
    let sql = read(dir.path(), "analyst/views.sql");
    assert!(sql.contains("duckdb -init analyst/views.sql"));
    assert!(sql.contains(
        "CREATE OR REPLACE VIEW \"orders\" AS SELECT * FROM read_parquet('data/sales/it''s orders.parquet');"
    ));
    assert!(sql.contains("CREATE OR REPLACE VIEW \"customers\" AS SELECT * FROM read_parquet(['data/crm/customers/year=2024/part-0.parquet', 'data/crm/customers/year=2025/part-0.parquet'], union_by_name=true, hive_partitioning=false);"));
    assert!(sql.contains("CREATE OR REPLACE VIEW \"we\"\"ird\" AS"));
    assert!(sql.contains("-- broken: not available (sales/broken.csv:4: column `amount`: value `abc` is not a number)"));
    assert_eq!(sql.matches("CREATE OR REPLACE VIEW").count(), 3);
    let agents = read(dir.path(), "analyst/AGENTS.md");
    assert!(agents.contains("duckdb -init analyst/views.sql"));
    assert!(agents.contains("### `orders`"));
    assert!(agents.contains("`data/sales/it's orders.parquet`"));
    assert!(agents.contains("SELECT channel FROM orders"));
    assert!(agents.contains("`orders.customer_id` → `customers.id`"));
    assert!(agents.contains("**Not available**"));
}

#[test]
fn renders_are_deterministic_except_the_dashboard_and_freshness() {
    let a = crate::testkit::tempdir().unwrap();
    let b = crate::testkit::tempdir().unwrap();
    let first = input();
    let mut second = input();
    second.built_at = "2025-06-30T12:00:00Z".into();
    second.broker_version = "0.2.0".into();
    for t in &mut second.tables {
        if let Some(s) = &mut t.synced {
            s.elapsed_ms += 1000;
        }
    }
    render(&first, a.path(), None).unwrap();
    render(&second, b.path(), None).unwrap();
    let fa = all_files(a.path());
    let fb = all_files(b.path());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (rel, bytes) in &fa {
        if rel == "index.html" || rel == "index.json" || rel == "meta/freshness.js" {
            assert_ne!(bytes, &fb[rel], "{rel} should show the build time");
        } else {
            assert_eq!(bytes, &fb[rel], "{rel} differs between identical renders");
        }
    }
}

#[test]
fn theme_dir_overrides_templates_and_static_files() {
    let theme = crate::testkit::tempdir().unwrap();
    std::fs::create_dir_all(theme.path().join("templates")).unwrap();
    std::fs::create_dir_all(theme.path().join("static")).unwrap();
    std::fs::write(
        theme.path().join("templates/metric.html"),
        "CUSTOM {{ metric.display_name }}",
    )
    .unwrap();
    std::fs::write(theme.path().join("static/style.css"), "body{}").unwrap();
    std::fs::write(theme.path().join("static/logo.svg"), "<svg/>").unwrap();
    let dir = crate::testkit::tempdir().unwrap();
    render(&input(), dir.path(), Some(theme.path())).unwrap();
    assert_eq!(
        read(dir.path(), "metrics/revenue/total_revenue.html"),
        "CUSTOM Total revenue"
    );
    assert_eq!(read(dir.path(), "assets/style.css"), "body{}");
    assert_eq!(read(dir.path(), "assets/logo.svg"), "<svg/>");
    assert!(read(dir.path(), "assets/site.js").contains("Copy"));
    assert!(read(dir.path(), "tables/orders.html").contains("Column profiles"));

    let missing = render(&input(), dir.path(), Some(&theme.path().join("nope")));
    assert!(missing.is_err());
}

#[test]
fn empty_input_renders() {
    let dir = crate::testkit::tempdir().unwrap();
    let input = SiteInput {
        instance_name: "Empty".into(),
        instance_subtitle: String::new(),
        built_at: "2025-01-01T00:00:00Z".into(),
        broker_version: "0.1.0".into(),
        content: Content::default(),
        tables: Vec::new(),
        metrics: Vec::new(),
        catalog: Default::default(),
    };
    let warnings = render(&input, dir.path(), None).unwrap();
    assert!(warnings.is_empty());
    assert!(read(dir.path(), "tables/index.html").contains("No tables are declared"));
    assert!(read(dir.path(), "analyst/views.sql").starts_with("-- DuckDB views"));
}

#[test]
fn warns_about_undeclared_tables() {
    let mut i = input();
    i.tables[0].spec.foreign_keys.push(ForeignKey {
        column: "x".into(),
        references: "ghosts.id".into(),
        description: None,
    });
    let dir = crate::testkit::tempdir().unwrap();
    let warnings = render(&i, dir.path(), None).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("data_description.md:10") && w.contains("ghosts.id")),
        "{warnings:?}"
    );
}

#[test]
fn views_sql_runs_in_duckdb() {
    use crate::site::kit::sql_string;
    let dir = crate::testkit::tempdir().unwrap();
    let root = dir.path();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    for (rel, select) in [
        ("data/sales/it's orders.parquet", "SELECT 1::BIGINT AS id"),
        (
            "data/crm/customers/year=2024/part-0.parquet",
            "SELECT 1::BIGINT AS id",
        ),
        (
            "data/crm/customers/year=2025/part-0.parquet",
            "SELECT 2::BIGINT AS id, 'Ann' AS name",
        ),
        ("data/crm/weird.parquet", "SELECT 3::BIGINT AS id"),
    ] {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        conn.execute_batch(&format!(
            "COPY ({select}) TO {} (FORMAT parquet);",
            sql_string(&path.to_string_lossy())
        ))
        .unwrap();
    }
    render(&input(), root, None).unwrap();
    // The views' paths are relative to the output root; DuckDB resolves them from there.
    conn.execute_batch(&format!(
        "SET file_search_path = {};",
        sql_string(&root.to_string_lossy())
    ))
    .unwrap();
    conn.execute_batch(&read(root, "analyst/views.sql"))
        .unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM orders"), 1);
    assert_eq!(count("SELECT count(*) FROM customers"), 2);
    assert_eq!(count("SELECT count(name) FROM customers"), 1);
    assert_eq!(count("SELECT count(*) FROM \"we\"\"ird\""), 1);
    // No hive columns (year) added to the partitioned table's view.
    assert_eq!(
        count("SELECT count(*) FROM (DESCRIBE customers) WHERE column_name = 'year'"),
        0
    );
}
