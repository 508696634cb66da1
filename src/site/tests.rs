//! Tests of the whole site stage on a small hand-built input.

use std::collections::BTreeMap;
use std::path::Path;

use crate::content::metrics::MetricSql;
use crate::content::{
    ColumnSpec, ColumnType, Content, Doc, ForeignKey, Metric, SyncStrategy, TableSpec,
};
use crate::metrics::{MetricResult, QueryResult};
use crate::profile::{
    Alert, BooleanStats, ColumnProfile, DateRange, Histogram, NumericStats, PeriodCount,
    PeriodHistogram, RelatedTable, StringStats, TableProfile, TemporalStats, TopValue,
};
use crate::site::{render, SiteInput, TableReport};
use crate::sync::{DataFile, SyncedColumn, SyncedTable};

const EVIL: &str = "<script>alert(1)</script>";
/// A value that breaks out of an attribute and opens an element if not escaped.
const EVIL_ATTR: &str = "\"><svg onload=alert(1)>";

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
        private: false,
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
        line: 0,
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
            column("created_at", ColumnType::Timestamptz, "created_at"),
            column("is_gift", ColumnType::Boolean, "is_gift"),
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
        row_count: 10_000_000,
        column_count: 7,
        duplicate_rows: None,
        related_tables: vec![
            RelatedTable {
                table: "customers".into(),
                column: "customer_id".into(),
                foreign_column: "id".into(),
                direction: "belongs_to".into(),
                description: Some("who ordered".into()),
            },
            RelatedTable {
                table: "we\"ird".into(),
                column: "id".into(),
                foreign_column: "order_id".into(),
                direction: "has_many".into(),
                description: None,
            },
            RelatedTable {
                table: "ghosts".into(),
                column: "ghost_id".into(),
                foreign_column: "id".into(),
                direction: "belongs_to".into(),
                description: None,
            },
        ],
        used_by_metrics: vec!["total_revenue".into(), "ghost_metric".into()],
        sampled: true,
        profiled_rows: 1_000_000,
        sample_reason: Some("sample_rows: 1000000".into()),
        fingerprint: "abc".into(),
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
                distinct_exact: true,
                distinct_pct: Some(100.0),
                min: Some(serde_json::json!(1)),
                max: Some(serde_json::json!(3)),
                is_primary_key: true,
                numeric: Some(NumericStats {
                    mean: Some(2.0),
                    stddev: Some(1.0),
                    p5: Some(1.25),
                    p25: Some(1.5),
                    p50: Some(2.0),
                    p75: Some(2.5),
                    p95: Some(3.75),
                    quantiles_exact: false,
                    quantile_rank_error_pct: Some(0.5),
                    histogram: Some(Histogram {
                        edges: vec![0.0, 1.0, 2.0, 3.0, 4.0],
                        counts: vec![2, 4, 1, 0],
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
                distinct_count: 1_234_000,
                distinct_exact: false,
                distinct_error_pct: Some(2.4),
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
                distinct_exact: true,
                top_values: vec![
                    TopValue {
                        value: "<b>paid</b>".into(),
                        count: 40,
                        pct: 40.0,
                    },
                    TopValue {
                        value: "</script>".into(),
                        count: 30,
                        pct: 30.0,
                    },
                    TopValue {
                        value: EVIL_ATTR.into(),
                        count: 20,
                        pct: 20.0,
                    },
                    TopValue {
                        value: String::new(),
                        count: 10,
                        pct: 10.0,
                    },
                ],
                ..Default::default()
            },
            ColumnProfile {
                name: EVIL.into(),
                column_type: "string".into(),
                null_count: 1,
                null_pct: Some(33.3),
                sample_values: vec!["<b>bold</b>".into()],
                string: Some(StringStats::default()),
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
                distinct_count: 3,
                distinct_exact: true,
                numeric: Some(NumericStats {
                    quantiles_exact: true,
                    histogram: Some(Histogram {
                        edges: Vec::new(),
                        counts: vec![3, 1, 2],
                        rule: "distinct".into(),
                        values: vec![1.5, 2.5, 10.0],
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ColumnProfile {
                name: "created_at".into(),
                column_type: "timestamptz".into(),
                distinct_count: 17,
                distinct_exact: true,
                temporal: Some(TemporalStats {
                    earliest: Some("2024-01-03T10:00:00Z".into()),
                    latest: Some("2024-05-30T08:00:00Z".into()),
                    span_days: Some(147),
                    histogram: Some(PeriodHistogram {
                        granularity: "month".into(),
                        bins: [
                            ("2024-01", 5),
                            ("2024-02", 0),
                            ("2024-03", 10),
                            ("2024-04", 2),
                            ("2024-05", 10),
                        ]
                        .iter()
                        .map(|(p, c)| PeriodCount {
                            period: p.to_string(),
                            count: *c,
                        })
                        .collect(),
                    }),
                }),
                ..Default::default()
            },
            ColumnProfile {
                name: "is_gift".into(),
                column_type: "boolean".into(),
                distinct_count: 2,
                distinct_exact: true,
                boolean: Some(BooleanStats {
                    true_count: 3,
                    false_count: 1,
                    true_pct: Some(75.0),
                }),
                ..Default::default()
            },
        ],
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
            data_description: "content/data_description.md".into(),
            doc_files: Default::default(),
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
        rsync_source: "analytics.example.com:/srv/broker/public".into(),
        brand: Default::default(),
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
    // An icon of its own, so a browser asks for no /favicon.ico (a 404 behind the gate).
    assert!(dash.contains(r#"<link rel="icon" type="image/svg+xml" href="assets/favicon.svg">"#));
    assert!(read(dir.path(), "assets/favicon.svg").starts_with("<svg "));
    assert!(
        !dash.contains("2025-01-01T00:00:00Z"),
        "the dashboard carries no build time"
    );
    assert!(read(dir.path(), "meta/freshness.js").contains("\"built_at\":\"2025-01-01T00:00:00Z\""));
    assert!(dash.contains("value `abc` is not a number"));
    assert!(dash.contains("Binder Error"));
    assert!(dash.contains("in 1 category"));
    let dash_json: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "index.json")).unwrap();
    assert_eq!(dash_json["kind"], "dashboard");
    assert_eq!(dash_json["built_at_in"], "meta/manifest.json");
    assert_eq!(dash_json["counts"]["tables_failed"], 1);
}

#[test]
fn catalog_rows_carry_freshness_and_a_completeness_badge() {
    let mut input = input();
    input.tables[1].sync_state = Some(synced_at("2025-01-01T00:00:00Z"));
    let dir = crate::testkit::tempdir().unwrap();
    render(&input, dir.path(), None).unwrap();
    let page = read(dir.path(), "tables/index.html");
    let row = |name: &str| -> String {
        let at = page
            .find(&format!("<tr data-search=\"{name} "))
            .unwrap_or_else(|| panic!("{name}"));
        page[at..at + page[at..].find("</tr>").unwrap()].to_string()
    };
    // orders: 93.3 % of its cells are set, between the `missing` (5 %) and `high_missing`
    // (30 %) thresholds; no sync state recorded yet.
    let orders = row("orders");
    assert!(
        orders.contains(
            "<span class=\"badge badge-warn\" title=\"Share of cells that are not NULL\">93.3%</span>"
        ),
        "{orders}"
    );
    assert!(
        orders.contains("<td class=\"synced\">never</td>"),
        "{orders}"
    );
    // customers: synced, its time filled in from meta/freshness.js; not profiled: no badge.
    let customers = row("customers");
    assert!(
        customers.contains(
            "<a href=\"../index.html\" data-synced-ago=\"customers\">on the dashboard</a>"
        ),
        "{customers}"
    );
    assert!(
        customers.ends_with("<td class=\"num\">n/a</td>\n      "),
        "{customers}"
    );
    let twin: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "tables/index.json")).unwrap();
    let orders = twin["folders"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["tables"].as_array().unwrap())
        .find(|t| t["name"] == "orders")
        .unwrap();
    assert_eq!(orders["quality"], "warn");
    assert_eq!(super::pages::quality_level(95.0), "ok");
    assert_eq!(super::pages::quality_level(94.9), "warn");
    // As shown: 94.96 % is written "95%", and is green like 95 %.
    assert_eq!(crate::site::format::pct(Some(94.96)), "95%");
    assert_eq!(super::pages::quality_level(94.96), "ok");
    assert_eq!(super::pages::quality_level(69.96), "warn");
    assert_eq!(super::pages::quality_level(69.9), "error");
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
        vec!["content/docs/guide.md:5: broken link ../tables/nope.html: the site has no such page"],
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
fn renders_are_deterministic_except_the_freshness_script() {
    let a = crate::testkit::tempdir().unwrap();
    let b = crate::testkit::tempdir().unwrap();
    let first = input();
    let mut second = input();
    second.built_at = "2025-06-30T12:00:00Z".into();
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
        if rel == "meta/freshness.js" {
            assert_ne!(bytes, &fb[rel], "{rel} should show the build time");
        } else {
            assert!(
                bytes == &fb[rel],
                "{rel} differs between identical renders:\n{}\n---\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&fb[rel])
            );
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
    assert!(read(dir.path(), "tables/orders.html").contains("<h2>Profile</h2>"));

    let missing = render(&input(), dir.path(), Some(&theme.path().join("nope")));
    assert!(missing.is_err());
}

#[test]
fn table_parts_written_in_rust_match_their_partial_templates() {
    // A theme holding the default partials' own text takes the template path for each part:
    // every table page must come out byte for byte as the Rust-written parts make it.
    let theme = crate::testkit::tempdir().unwrap();
    std::fs::create_dir_all(theme.path().join("templates")).unwrap();
    for name in [
        "table_schema.html",
        "table_sample.html",
        "table_column.html",
    ] {
        let (_, text) = crate::site::theme::TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        std::fs::write(theme.path().join("templates").join(name), text).unwrap();
    }
    let mut i = input();
    // A table that is declared only (schema from the declaration, no profile, no sample).
    i.tables[1].synced = None;
    i.tables[1].profile = None;
    let rust = crate::testkit::tempdir().unwrap();
    let templates = crate::testkit::tempdir().unwrap();
    render(&i, rust.path(), None).unwrap();
    render(&i, templates.path(), Some(theme.path())).unwrap();
    let (rust, templates) = (all_files(rust.path()), all_files(templates.path()));
    let mut pages = 0;
    for (rel, bytes) in &rust {
        if rel.starts_with("tables/") && rel.ends_with(".html") {
            assert_eq!(
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&templates[rel]),
                "{rel}"
            );
            pages += 1;
        }
    }
    assert!(pages >= 3, "{pages}");
    let orders = String::from_utf8_lossy(&rust["tables/orders.html"]).into_owned();
    for part in [
        "<section id=\"schema\">",
        "<section id=\"sample\">",
        "<article class=\"column\"",
        "<span class=\"null\">NULL</span>",
    ] {
        assert!(orders.contains(part), "{part}");
    }
}

#[test]
fn a_theme_overriding_one_partial_changes_only_that_part() {
    let theme = crate::testkit::tempdir().unwrap();
    std::fs::create_dir_all(theme.path().join("templates")).unwrap();
    std::fs::write(
        theme.path().join("templates/table_column.html"),
        "<article class=\"mine\">{{ c.name }} {{ c.stats|length }} {{ t.name }}</article>",
    )
    .unwrap();
    let dir = crate::testkit::tempdir().unwrap();
    render(&input(), dir.path(), Some(theme.path())).unwrap();
    let page = read(dir.path(), "tables/orders.html");
    assert!(page.contains("<article class=\"mine\">id "), "{page}");
    assert!(page.contains(" orders</article>"));
    assert!(!page.contains("<article class=\"column\""));
    // The other parts keep the default markup.
    assert!(page.contains("<section id=\"schema\">"));
    assert!(page.contains("<section id=\"sample\">"));
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
        rsync_source: "analytics.example.com:/srv/broker/public".into(),
        brand: Default::default(),
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
        line: 12,
    });
    let dir = crate::testkit::tempdir().unwrap();
    let warnings = render(&i, dir.path(), None).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w == "content/data_description.md:12: table `orders`: foreign key `x` references `ghosts.id`, which is not a declared table"),
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

// ---------------------------------------------------------------- the profile on the table page

/// The HTML of the column card with anchor `id` (`column-<name>`).
fn card<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<article class=\"column\" id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no card {id}"));
    let end = page[start..].find("</article>").expect("card end") + start;
    &page[start..end]
}

/// The values of attribute `attr` of every element whose opening tag starts with `open`
/// (`<rect class="bar"`), in order.
fn attrs(html: &str, open: &str, attr: &str) -> Vec<String> {
    html.match_indices(open)
        .map(|(i, _)| {
            let tag = &html[i..i + html[i..].find('>').expect("tag end")];
            let key = format!(" {attr}=\"");
            let at = tag.find(&key).unwrap_or_else(|| panic!("{tag}: no {attr}")) + key.len();
            tag[at..at + tag[at..].find('"').unwrap()].to_string()
        })
        .collect()
}

/// The texts of the elements `<tag …>text</tag>` whose opening tag starts with `open`.
fn texts(html: &str, open: &str, close: &str) -> Vec<String> {
    html.match_indices(open)
        .map(|(i, _)| {
            let body = i + html[i..].find('>').unwrap() + 1;
            html[body..body + html[body..].find(close).unwrap()].to_string()
        })
        .collect()
}

/// The statistic `label` of a card: the text of the `<dd>` after `<dt>label</dt>`.
fn stat_of(card: &str, label: &str) -> String {
    let key = format!("<dt>{label}</dt><dd>");
    let at = card
        .find(&key)
        .unwrap_or_else(|| panic!("no stat {label} in {card}"))
        + key.len();
    card[at..at + card[at..].find("</dd>").unwrap()].to_string()
}

fn orders_page() -> (crate::testkit::TempDir, String) {
    let dir = crate::testkit::tempdir().unwrap();
    render(&input(), dir.path(), None).unwrap();
    let page = read(dir.path(), "tables/orders.html");
    (dir, page)
}

#[test]
fn histogram_svg_has_one_bar_per_count_with_proportional_heights() {
    let (_dir, page) = orders_page();
    let c = card(&page, "column-id");
    assert_eq!(c.matches("<svg ").count(), 1, "{c}");
    assert!(c.contains(
        "role=\"img\" aria-label=\"Histogram of id: 4 bins from 0 to 4; the largest holds 4 values\""
    ));
    // counts [2, 4, 1, 0]: the largest bar is 100 px tall, the others in proportion.
    assert_eq!(
        attrs(c, "<rect class=\"bar\"", "height"),
        ["50", "100", "25", "0"]
    );
    assert_eq!(
        attrs(c, "<rect class=\"bar\"", "y"),
        ["50", "0", "75", "100"]
    );
    assert_eq!(
        attrs(c, "<rect class=\"bar\"", "x"),
        ["2%", "27%", "52%", "77%"]
    );
    assert_eq!(
        attrs(c, "<rect class=\"bar\"", "width"),
        ["21%", "21%", "21%", "21%"]
    );
    assert_eq!(
        texts(c, "<title", "</title>"),
        [
            "[0, 1): 2 values",
            "[1, 2): 4 values",
            "[2, 3): 1 value",
            "[3, 4]: 0 values"
        ]
    );
    // The axis: the first and last edge at the ends.
    assert_eq!(texts(c, "<text class=\"axis\"", "</text>"), ["0", "4"]);
    // One bin as written: no layout whitespace, no `y="0"` on the hit area (SVG's default).
    assert!(c.contains(
        "<g class=\"bin\"><title>[0, 1): 2 values</title><rect class=\"hit\" x=\"0%\" width=\"25%\" height=\"100\"/><rect class=\"bar\" x=\"2%\" y=\"50\" width=\"21%\" height=\"50\"/></g><g class=\"bin\">"
    ), "{c}");
    assert_eq!(
        attrs(c, "<text class=\"axis\"", "text-anchor"),
        ["start", "end"]
    );
    assert!(c.contains("4 bins (Freedman–Diaconis widths) · largest: 4 values"));

    // The `distinct` rule: one bar per value, each labelled by its value.
    let amount = card(&page, "column-amount");
    assert_eq!(
        attrs(amount, "<rect class=\"bar\"", "height"),
        ["100", "33.333", "66.667"]
    );
    assert_eq!(
        texts(amount, "<text class=\"axis\"", "</text>"),
        ["1.5", "2.5", "10"]
    );
    assert_eq!(
        texts(amount, "<title", "</title>"),
        ["1.5: 3 values", "2.5: 1 value", "10: 2 values"]
    );
}

#[test]
fn period_histogram_has_a_bar_per_period_and_end_labels() {
    let (_dir, page) = orders_page();
    let c = card(&page, "column-created_at");
    assert!(c.contains("<h4>Values over time</h4>"));
    assert!(c.contains("aria-label=\"Values of created_at per month: 5 months from 2024-01 to 2024-05; the busiest, 2024-03, holds 10 values\""));
    assert_eq!(
        attrs(c, "<rect class=\"bar\"", "height"),
        ["50", "0", "100", "20", "100"]
    );
    assert_eq!(
        texts(c, "<title", "</title>"),
        [
            "2024-01: 5 values",
            "2024-02: 0 values",
            "2024-03: 10 values",
            "2024-04: 2 values",
            "2024-05: 10 values"
        ]
    );
    assert_eq!(
        texts(c, "<text class=\"axis\"", "</text>"),
        ["2024-01", "2024-05"]
    );
    assert!(c.contains("5 months · busiest: 2024-03 (10 values)"));
    assert_eq!(stat_of(c, "earliest"), "2024-01-03T10:00:00Z");
    assert_eq!(stat_of(c, "latest"), "2024-05-30T08:00:00Z");
    assert_eq!(stat_of(c, "span"), "147 days");
}

#[test]
fn top_values_and_booleans_are_bar_charts() {
    let (_dir, page) = orders_page();
    let c = card(&page, "column-status");
    assert!(c.contains("<h4>Top values</h4>"));
    // Bar lengths relative to the most frequent value; the empty string named as such.
    assert_eq!(
        attrs(c, "<rect class=\"bar\"", "width"),
        ["100%", "75%", "50%", "25%"]
    );
    assert_eq!(
        texts(c, "<text class=\"num\"", "</text>"),
        ["40 · 40%", "30 · 30%", "20 · 20%", "10 · 10%"]
    );
    assert_eq!(
        texts(c, "<text class=\"label", "</text>"),
        [
            "&lt;b&gt;paid&lt;/b&gt;",
            "&lt;/script&gt;",
            "&quot;&gt;&lt;svg onload=alert(1)&gt;",
            "(empty)"
        ]
    );
    assert!(c.contains("<text class=\"label empty\""));
    // One row as written: no layout whitespace, no attribute that repeats SVG's default.
    assert!(c.contains(
        "<g class=\"row\"><title>&lt;b&gt;paid&lt;/b&gt;: 40 values (40%)</title><text class=\"label\" y=\"13\">&lt;b&gt;paid&lt;/b&gt;</text><text class=\"num\" x=\"100%\" y=\"13\" text-anchor=\"end\">40 · 40%</text><rect class=\"track\" y=\"18\" width=\"100%\" height=\"8\" rx=\"2\"/><rect class=\"bar\" y=\"18\" width=\"100%\" height=\"8\" rx=\"2\"/></g>"
    ), "{c}");

    let b = card(&page, "column-is_gift");
    assert_eq!(stat_of(b, "true"), "3 (75%)");
    assert_eq!(stat_of(b, "false"), "1 (25%)");
    assert_eq!(
        texts(b, "<text class=\"label", "</text>"),
        ["true", "false"]
    );
    assert_eq!(
        attrs(b, "<rect class=\"bar\"", "width"),
        ["100%", "33.333%"]
    );
    assert!(b.contains("aria-label=\"Values of is_gift: true 3 (75%), false 1 (25%)\""));
}

#[test]
fn undefined_statistics_show_na() {
    let (_dir, page) = orders_page();
    let amount = card(&page, "column-amount");
    for label in [
        "min",
        "max",
        "mean",
        "std dev",
        "p5",
        "p25",
        "median (p50)",
        "p75",
        "p95",
    ] {
        assert_eq!(stat_of(amount, label), "n/a", "{label}");
    }
    assert_eq!(stat_of(amount, "nulls"), "0 (n/a)");
    assert_eq!(stat_of(amount, "not a number"), "0");
    assert_eq!(stat_of(amount, "infinite"), "0");
    let evil = card(&page, "column-&lt;script&gt;alert(1)&lt;/script&gt;");
    assert_eq!(stat_of(evil, "length"), "n/a – n/a (mean n/a)");
    assert_eq!(stat_of(evil, "look numeric"), "n/a");
    // int64 has no NaN or infinities to count.
    assert!(!card(&page, "column-id").contains("<dt>not a number</dt>"));
    assert!(!page.contains("<dd></dd>"));
    assert!(!page.contains("NaN"), "NaN on the page");
    // Table facts without a value.
    assert!(page.contains(
        "<dt>duplicate rows</dt><dd>n/a</dd><dd class=\"fact-note\">not counted on a sample</dd>"
    ));
}

#[test]
fn estimates_are_marked_with_their_error() {
    let (_dir, page) = orders_page();
    let cust = card(&page, "column-customer_id");
    assert_eq!(stat_of(cust, "distinct"), "≈ 1,234,000 (±2.4%)");
    assert!(cust.contains("99.7% of estimates fall within ±2.4% of the true count"));
    // Percentiles without a known error are still marked.
    assert_eq!(stat_of(cust, "median (p50)"), "≈ 7");
    assert_eq!(stat_of(cust, "p5"), "n/a");
    assert!(cust.contains("≈ Percentiles are computed on a sample of the rows."));

    let id = card(&page, "column-id");
    assert_eq!(stat_of(id, "distinct"), "3 (100%)");
    assert_eq!(stat_of(id, "p5"), "≈ 1.25");
    assert_eq!(stat_of(id, "p25"), "≈ 1.5");
    assert_eq!(stat_of(id, "median (p50)"), "≈ 2");
    assert_eq!(stat_of(id, "p75"), "≈ 2.5");
    assert_eq!(stat_of(id, "p95"), "≈ 3.75");
    assert_eq!(stat_of(id, "mean"), "2");
    assert!(id.contains("(rank error ±0.5% at 99% confidence: the median shown lies between the true p49.5 and p50.5)"));
    // Exact ones are not.
    let amount = card(&page, "column-amount");
    assert_eq!(stat_of(amount, "distinct"), "3 (n/a)");
    assert!(!amount.contains('≈'));
    // The schema table marks the estimate too.
    assert!(page.contains("<td class=\"num\">≈ 1,234,000</td>"));
}

#[test]
fn sampled_profile_says_so() {
    let (_dir, page) = orders_page();
    assert!(page.contains(
        "<p class=\"notice\" role=\"note\"><strong>Profiled on 1,000,000 of 10,000,000 rows (sample_rows: 1000000).</strong>"
    ));
    assert!(page.contains(
        "<dt>profiled rows</dt><dd>1,000,000</dd><dd class=\"fact-note\">of 10,000,000 (10%)</dd>"
    ));
    // Alerts first in the profile section, each linking to its column card.
    let profile = &page[page.find("<section id=\"profiles\">").unwrap()..];
    let alerts = profile.find("id=\"alerts\"").unwrap();
    assert!(alerts < profile.find("<article").unwrap());
    assert!(profile.contains(
        "<a href=\"#column-%3Cscript%3Ealert%281%29%3C%2Fscript%3E\"><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></a>"
    ));

    // Not sampled: no notice, all rows profiled.
    let mut i = input();
    let p = i.tables[0].profile.as_mut().unwrap();
    p.sampled = false;
    p.profiled_rows = p.row_count;
    p.sample_reason = None;
    p.duplicate_rows = Some(0);
    let dir = crate::testkit::tempdir().unwrap();
    render(&i, dir.path(), None).unwrap();
    let page = read(dir.path(), "tables/orders.html");
    assert!(!page.contains("class=\"notice\""));
    assert!(page.contains(
        "<dt>profiled rows</dt><dd>10,000,000</dd><dd class=\"fact-note\">all rows</dd>"
    ));
    assert!(page.contains("<dt>duplicate rows</dt><dd>0</dd>"));
}

/// The page paths that the `href`s inside `html` (relative to page `from`) point at, without
/// fragments and percent-decoded.
fn link_targets(html: &str, from: &str) -> Vec<String> {
    let base: Vec<&str> = from
        .rsplit_once('/')
        .map(|(d, _)| d.split('/').collect())
        .unwrap_or_default();
    attrs(html, "<a ", "href")
        .into_iter()
        .filter(|h| !h.starts_with('#'))
        .map(|h| {
            let h = h.split('#').next().unwrap().to_string();
            let mut parts: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            for seg in h.split('/') {
                if seg == ".." {
                    parts.pop();
                } else {
                    let mut bytes = Vec::new();
                    let b = seg.as_bytes();
                    let mut k = 0;
                    while k < b.len() {
                        if b[k] == b'%' {
                            bytes.push(u8::from_str_radix(&seg[k + 1..k + 3], 16).unwrap());
                            k += 3;
                        } else {
                            bytes.push(b[k]);
                            k += 1;
                        }
                    }
                    parts.push(String::from_utf8(bytes).unwrap());
                }
            }
            parts.join("/")
        })
        .collect()
}

fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    &page[start..start + page[start..].find("</section>").unwrap()]
}

#[test]
fn related_tables_and_metrics_link_to_pages_that_exist() {
    let (dir, page) = orders_page();
    let rel = section(&page, "relationships");
    // Declared and profiled: listed once.
    assert_eq!(rel.matches("<code>customers.id</code>").count(), 1, "{rel}");
    assert!(rel
        .contains("<a href=\"../tables/customers.html#column-id\"><code>customers.id</code></a>"));
    // From the profile only: `has_many` is "referenced by", `belongs_to` "references".
    let referenced_by = &rel[rel.find("<h3>Referenced by</h3>").unwrap()..];
    // we"ird has no column `order_id` (only `id`): its page is linked at the top, not at an
    // anchor that is not there.
    assert!(referenced_by.contains(
        "<a href=\"../tables/we%22ird.html\"><code>we&quot;ird.order_id</code></a> → <a href=\"#column-id\"><code>id</code></a>"
    ), "{referenced_by}");
    assert!(
        rel.contains("<code>ghosts.id</code> <span class=\"muted small\">(not declared)</span>")
    );
    let targets = link_targets(rel, "tables/orders.html");
    assert_eq!(targets, ["tables/customers.html", "tables/we\"ird.html"]);

    let metrics = section(&page, "metrics");
    assert!(metrics.contains("<a href=\"../metrics/revenue/total_revenue.html\">Total revenue</a>"));
    assert_eq!(metrics.matches("total_revenue.html").count(), 1);
    assert!(metrics
        .contains("<code>ghost_metric</code> <span class=\"muted small\">(no metric page)</span>"));
    let targets = link_targets(metrics, "tables/orders.html");
    assert_eq!(targets, ["metrics/revenue/total_revenue.html"]);
    for t in link_targets(rel, "tables/orders.html")
        .into_iter()
        .chain(targets)
    {
        assert!(dir.path().join(&t).is_file(), "{t} does not exist");
    }
}

#[test]
fn hostile_profile_values_are_escaped_in_html_and_svg() {
    let mut i = input();
    let p = i.tables[0].profile.as_mut().unwrap();
    // Hostile text everywhere a chart takes text from: column name (aria-label), periods,
    // top values, and the sampling reason.
    p.sample_reason = Some(EVIL_ATTR.into());
    let created = p
        .columns
        .iter_mut()
        .find(|c| c.name == "created_at")
        .unwrap();
    created.name = format!("{EVIL_ATTR}</script>");
    let t = created.temporal.as_mut().unwrap();
    let h = t.histogram.as_mut().unwrap();
    h.bins[0].period = "</script><script>alert(2)</script>".into();
    h.bins[4].period = EVIL_ATTR.into();
    h.granularity = EVIL_ATTR.into();
    let dir = crate::testkit::tempdir().unwrap();
    render(&i, dir.path(), None).unwrap();
    let page = read(dir.path(), "tables/orders.html");
    assert!(!page.contains("<svg onload"), "raw hostile SVG element");
    assert!(!page.contains("<script>alert"), "raw script");
    assert!(!page.contains("\"><svg"), "an attribute was closed by data");
    // Only the four script tags of the layout (theme, freshness, site, search) close a script.
    assert_eq!(page.matches("</script>").count(), 4);
    // The hostile values are there, escaped: in the SVG's text, titles and aria-labels.
    assert!(page.contains("<text class=\"axis\" x=\"0%\" y=\"116\" text-anchor=\"start\">&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;</text>"));
    assert!(page.contains("<text class=\"axis\" x=\"100%\" y=\"116\" text-anchor=\"end\">&quot;&gt;&lt;svg onload=alert(1)&gt;</text>"));
    assert!(page.contains("<title>&quot;&gt;&lt;svg onload=alert(1)&gt;: 10 values</title>"));
    assert!(page.contains("aria-label=\"Values of &quot;&gt;&lt;svg onload=alert(1)&gt;&lt;/script&gt; per &quot;&gt;&lt;svg onload=alert(1)&gt;: 5 periods from &lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt; to &quot;&gt;&lt;svg onload=alert(1)&gt;;"));
    assert!(page.contains("<title>&lt;/script&gt;: 30 values (30%)</title>"));
    assert!(page.contains(
        "Profiled on 1,000,000 of 10,000,000 rows (&quot;&gt;&lt;svg onload=alert(1)&gt;)."
    ));
    // The twin keeps the values as they are.
    let twin: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "tables/orders.json")).unwrap();
    assert_eq!(twin["profile"]["sample_reason"], EVIL_ATTR);
    assert_eq!(
        twin["profile"]["columns"][2]["top_values"][2]["value"],
        EVIL_ATTR
    );
}

#[test]
fn column_anchors_are_one_to_one() {
    use super::pages::column_anchor;
    let names = [
        "first name",
        "first_name",
        "First_Name",
        "first~20~name",
        "a\tb",
        "id",
    ];
    let anchors: Vec<String> = names.iter().map(|n| column_anchor(n)).collect();
    assert_eq!(
        anchors,
        [
            "column-first~20~name",
            "column-first_name",
            "column-First_Name",
            "column-first~7e~20~7e~name",
            "column-a~9~b",
            "column-id"
        ]
    );
}

/// A sync state whose last successful sync was at `at`.
fn synced_at(at: &str) -> crate::state::TableState {
    crate::state::TableState {
        strategy: crate::content::SyncStrategy::FullRefresh,
        layout: "single".into(),
        cursor: None,
        last_run: at.into(),
        last_success: Some(at.into()),
        rows_read: 2,
        rows_written: 2,
        schema_fingerprint: String::new(),
        columns: Vec::new(),
        status: crate::state::SyncStatus::Ok,
        error: None,
        schema_history: Vec::new(),
    }
}

#[test]
fn stale_tables_are_those_the_latest_sync_left_out_not_those_this_build_did_not_sync() {
    let stale = |input: &SiteInput| -> Vec<String> {
        let dir = crate::testkit::tempdir().unwrap();
        render(input, dir.path(), None).unwrap();
        let v: serde_json::Value = serde_json::from_str(&read(dir.path(), "index.json")).unwrap();
        v["stale_tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    // A rebuild that synced nothing (`broker serve` after a doc edit): built later than every
    // sync, nothing is stale.
    let mut input = input();
    input.built_at = "2025-01-02T09:00:00Z".into();
    input.tables[0].sync_state = Some(synced_at("2025-01-01T00:00:00Z"));
    input.tables[1].sync_state = Some(synced_at("2025-01-01T00:00:00Z"));
    assert_eq!(stale(&input), Vec::<String>::new());
    // customers left out of the latest sync (--select orders): stale, on every later rebuild.
    input.tables[0].sync_state = Some(synced_at("2025-01-02T08:00:00Z"));
    assert_eq!(stale(&input), ["customers"]);
    // A table left out before it ever synced: stale with no date, not failed.
    input.tables[3].error = None;
    assert_eq!(stale(&input), ["customers", "broken"]);
    let dir = crate::testkit::tempdir().unwrap();
    render(&input, dir.path(), None).unwrap();
    let v: serde_json::Value = serde_json::from_str(&read(dir.path(), "index.json")).unwrap();
    assert_eq!(v["counts"]["tables_failed"], 0);
    assert_eq!(
        v["stale_tables"][1]["last_success"],
        serde_json::Value::Null
    );
    assert!(read(dir.path(), "index.html").contains("never synced: no data published yet"));
    assert!(!read(dir.path(), "tables/index.html").contains(">failed</span>"));
    input.tables[3].error = Some("sales/broken.csv:4: bad".into());
    let dir = crate::testkit::tempdir().unwrap();
    render(&input, dir.path(), None).unwrap();
    assert!(read(dir.path(), "index.html").contains("Not refreshed by the latest sync (1)"));
    assert!(read(dir.path(), "tables/index.html").contains(">failed</span>"));
}
