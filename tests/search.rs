//! The catalog's search index at scale: a generated instance of 1,000 tables × 50 columns and 100
//! metrics rendered by `broker::site::render`; the first download of a search (core file plus the
//! one shard a 1–3 letter query needs) stays under 200 KB, and a column is found with the link
//! its table page answers.

use std::collections::BTreeMap;
use std::path::Path;

use broker::content::{ColumnSpec, ColumnType, Content, Metric, SyncStrategy, TableSpec};
use broker::metrics::MetricResult;
use broker::site::search::{fold, shard_file, MAX_KEY_CHARS, SHARD_BUDGET};
use broker::site::{render, SiteInput, TableReport};

const DOMAINS: &[&str] = &[
    "sales",
    "billing",
    "crm",
    "support",
    "marketing",
    "logistics",
    "hr",
    "finance",
    "web",
    "product",
];
const ENTITIES: &[&str] = &[
    "orders",
    "invoices",
    "customers",
    "tickets",
    "campaigns",
    "shipments",
    "employees",
    "ledger",
    "sessions",
    "items",
    "payments",
    "refunds",
    "contracts",
    "leads",
    "events",
    "stock",
    "suppliers",
    "returns",
    "visits",
    "budgets",
];
/// Column names most tables share.
const COMMON: &[(&str, ColumnType, &str)] = &[
    ("id", ColumnType::Int64, "Row id, unique within the table."),
    (
        "created_at",
        ColumnType::Timestamptz,
        "When the row was created in the source system.",
    ),
    (
        "updated_at",
        ColumnType::Timestamptz,
        "When the row was last changed in the source system.",
    ),
    (
        "status",
        ColumnType::String,
        "Lifecycle status of the record: open, closed or cancelled.",
    ),
    (
        "customer_id",
        ColumnType::String,
        "The customer this record belongs to.",
    ),
    (
        "amount",
        ColumnType::Float64,
        "Amount in the account currency, taxes included.",
    ),
    (
        "currency",
        ColumnType::String,
        "ISO 4217 currency code of the amount.",
    ),
    (
        "country",
        ColumnType::String,
        "ISO 3166 country code of the billing address.",
    ),
    (
        "is_deleted",
        ColumnType::Boolean,
        "True when the record was deleted at the source.",
    ),
    (
        "owner_email",
        ColumnType::String,
        "E-mail address of the employee who owns the record.",
    ),
];
const WORDS: &[&str] = &[
    "net",
    "gross",
    "discount",
    "rate",
    "score",
    "segment",
    "channel",
    "region",
    "warehouse",
    "quantity",
    "weight",
    "volume",
    "priority",
    "category",
    "source",
    "target",
    "reason",
    "code",
    "label",
    "comment",
    "duration",
    "latency",
    "revenue",
    "margin",
    "cost",
    "budget",
    "forecast",
    "tier",
    "plan",
    "seats",
    "churn",
    "renewal",
    "delivery",
    "carrier",
    "tracking",
    "promised",
    "actual",
    "planned",
    "approved",
    "rejected",
    "pending",
    "first",
    "last",
    "total",
    "average",
    "median",
    "count",
    "flag",
    "version",
    "external",
    "internal",
    "partner",
    "vendor",
    "store",
    "device",
    "browser",
    "page",
    "referrer",
    "utm",
    "medium",
    "term",
    "content",
    "language",
    "timezone",
    "zákazník",
    "číslo",
    "顧客",
    "番号",
    "ørsted",
    "straße",
];

/// A deterministic pseudo-random sequence (xorshift), so the instance is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as usize
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.next() % xs.len()]
    }
}

fn table(i: usize, rng: &mut Rng) -> TableReport {
    let domain = DOMAINS[i % DOMAINS.len()];
    let entity = ENTITIES[(i / DOMAINS.len()) % ENTITIES.len()];
    let name = format!("{domain}_{entity}_{i:04}");
    let mut columns: Vec<ColumnSpec> = COMMON
        .iter()
        .map(|(n, t, d)| ColumnSpec {
            name: n.to_string(),
            description: Some(d.to_string()),
            column_type: Some(*t),
        })
        .collect();
    while columns.len() < 50 {
        let (a, b) = (rng.pick(WORDS), rng.pick(WORDS));
        let col = format!("{a}_{b}_{}", columns.len());
        let description = format!(
            "The {a} {b} of the {} for {entity} in {domain}, as reported by the {} team; see the {} docs.",
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS)
        );
        columns.push(ColumnSpec {
            name: col,
            description: Some(description),
            column_type: Some(ColumnType::String),
        });
    }
    TableReport {
        spec: TableSpec {
            id: format!("in.c-{domain}.{name}"),
            name: name.clone(),
            description: format!(
                "{entity} of the {domain} department, one row per record, synced nightly from the {} system.",
                rng.pick(WORDS)
            ),
            primary_key: vec!["id".to_string()],
            sync_strategy: SyncStrategy::FullRefresh,
            folder: domain.to_string(),
            incremental_window_days: 7,
            incremental_column: None,
            partition_by: None,
            partition_granularity: None,
            max_history_days: None,
            columns,
            foreign_keys: Vec::new(),
            where_filters: Vec::new(),
            file: None,
            csv: Default::default(),
            profile: Default::default(),
            private: false,
            line: 1,
        },
        synced: None,
        profile: None,
        error: None,
        sync_state: None,
    }
}

fn metric(i: usize, rng: &mut Rng) -> MetricResult {
    let (a, b) = (rng.pick(WORDS), rng.pick(WORDS));
    MetricResult {
        metric: Metric {
            name: format!("{a}_{b}_{i:03}"),
            display_name: format!("{a} {b} #{i}"),
            category: DOMAINS[i % DOMAINS.len()].to_string(),
            metric_type: None,
            unit: None,
            grain: None,
            time_column: None,
            table: None,
            tables: Vec::new(),
            expression: None,
            description: format!("The {a} of {b} per month, by {}.", rng.pick(WORDS)),
            dimensions: Vec::new(),
            notes: Vec::new(),
            synonyms: vec![format!("{b} {a}")],
            validation: None,
            queries: Vec::new(),
            file: format!("content/metrics/m{i}.yaml"),
        },
        results: Vec::new(),
    }
}

fn generated() -> SiteInput {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let tables: Vec<TableReport> = (0..1000).map(|i| table(i, &mut rng)).collect();
    let metrics: Vec<MetricResult> = (0..100).map(|i| metric(i, &mut rng)).collect();
    SiteInput {
        instance_name: "Scale".to_string(),
        instance_subtitle: String::new(),
        built_at: "2026-01-01T00:00:00Z".to_string(),
        broker_version: "test".to_string(),
        content: Content {
            tables: tables.iter().map(|t| t.spec.clone()).collect(),
            metrics: metrics.iter().map(|m| m.metric.clone()).collect(),
            docs: Vec::new(),
            data_description: String::new(),
            doc_files: Default::default(),
        },
        tables,
        metrics,
        catalog: Default::default(),
        rsync_source: "analytics.example.com:/srv/scale/public".to_string(),
        brand: Default::default(),
    }
}

/// The JSON inside `brokerSearch.<call>(…);`.
fn payload(path: &Path, call: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let body = text
        .strip_prefix(&format!("brokerSearch.{call}("))
        .and_then(|t| t.strip_suffix(");\n"))
        .unwrap_or_else(|| panic!("{}: not a {call} call", path.display()));
    serde_json::from_str(body).unwrap()
}

/// The shard key a query word resolves to, as search.js does: the longest listed key that is a
/// prefix of the word.
fn key_for(word: &str, keys: &[String]) -> Option<String> {
    let chars: Vec<char> = word.chars().collect();
    (1..=chars.len().min(MAX_KEY_CHARS))
        .rev()
        .map(|n| chars[..n].iter().collect::<String>())
        .find(|k| keys.contains(k))
}

#[test]
fn first_search_download_of_1000_tables_by_50_columns_is_under_200_kb() {
    let input = generated();
    let out = broker::testkit::tempdir().unwrap();
    let started = std::time::Instant::now();
    let files = broker::site::search::build(&input).unwrap();
    let index_s = started.elapsed().as_secs_f64();
    assert!(files.len() > 100, "{} files", files.len());
    let started = std::time::Instant::now();
    render(&input, out.path(), None).unwrap();
    let render_s = started.elapsed().as_secs_f64();
    let search = out.path().join("search");

    let manifest = payload(&search.join("index.js"), "init");
    let keys: Vec<String> = manifest["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let core = std::fs::metadata(search.join("index.js")).unwrap().len();
    let script = std::fs::metadata(out.path().join("assets/search.js"))
        .unwrap()
        .len();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for k in &keys {
        let len = std::fs::metadata(search.join(shard_file(k))).unwrap().len();
        assert!(len <= SHARD_BUDGET as u64, "shard {k}: {len} bytes");
        sizes.insert(k.clone(), len);
    }
    // Every query of one to three letters resolves to a key of at most three characters.
    let (biggest_key, biggest) = sizes
        .iter()
        .filter(|(k, _)| k.chars().count() <= 3)
        .max_by_key(|(_, len)| **len)
        .map(|(k, len)| (k.clone(), *len))
        .unwrap();
    let total: u64 = sizes.values().sum::<u64>() + core;
    eprintln!(
        "search index: core {core} B, assets/search.js {script} B, {} shards, biggest shard for a 1-3 letter query `{biggest_key}` {biggest} B, all files {total} B; index {index_s:.2} s, whole render {render_s:.2} s",
        keys.len()
    );
    assert!(
        core + biggest < 200_000,
        "core {core} + shard {biggest_key} {biggest} bytes"
    );
    // Also with the script itself, which every page loads.
    assert!(core + biggest + script < 200_000);
    assert_eq!(manifest["tables"].as_array().unwrap().len(), 1000);
    assert_eq!(manifest["metrics"].as_array().unwrap().len(), 100);

    // A known column: the 50th of the first table in catalog order (with no catalog order, the
    // first of the alphabetically first folder; so also the first at equal rank when its shard
    // is partial) is in the shard of its name's prefix, pointing at that table, whose page holds
    // the anchor the link targets.
    let ti = (0..input.tables.len())
        .min_by_key(|&i| input.tables[i].spec.folder.as_str())
        .unwrap();
    let spec = &input.tables[ti].spec;
    let column = &spec.columns[49];
    let word = fold(column.name.split('_').next().unwrap());
    let key = key_for(&word, &keys).expect("a shard for the word");
    assert!(word.starts_with(&key));
    let shard = payload(&search.join(shard_file(&key)), "load");
    let records = shard["c"].as_array().unwrap();
    let j = records
        .iter()
        .position(|r| r[0] == ti && r[1] == column.name.as_str())
        .unwrap_or_else(|| panic!("{} not in shard {key}", column.name));
    let words = shard["w"].as_array().unwrap();
    let w = words.iter().position(|w| *w == word.as_str()).unwrap();
    assert!(shard["h"][w]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(j * 4 + 3)));
    assert_eq!(
        records[j][2],
        manifest["types"]
            .as_array()
            .unwrap()
            .iter()
            .position(|t| t == "string")
            .unwrap()
    );
    assert_eq!(manifest["tables"][ti][0], spec.name.as_str());
    assert_eq!(
        manifest["tables"][ti].as_array().unwrap().len(),
        2,
        "default path tables/<name>.html"
    );
    let page =
        std::fs::read_to_string(out.path().join(format!("tables/{}.html", spec.name))).unwrap();
    assert!(
        page.contains(&format!("id=\"column-{}\"", column.name)),
        "the anchor is on the page"
    );

    // Accented and non-Latin words are found in the shard of their folded first letter.
    for (query, expect) in [
        ("zakaznik", "zákazník"),
        ("顧客", "顧客"),
        ("orsted", "ørsted"),
        ("strasse", "straße"),
    ] {
        let key = key_for(query, &keys).expect(query);
        let shard = payload(&search.join(shard_file(&key)), "load");
        assert!(
            shard["w"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().starts_with(query)),
            "{query} (for {expect}) not in shard {key}"
        );
    }

    // A second render of the same input gives the same bytes.
    let again = broker::testkit::tempdir().unwrap();
    render(&input, again.path(), None).unwrap();
    for entry in std::fs::read_dir(&search).unwrap() {
        let p = entry.unwrap().path();
        let other = again.path().join("search").join(p.file_name().unwrap());
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(other).unwrap(),
            "{}",
            p.display()
        );
    }
}
