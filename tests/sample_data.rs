//! `broker sample-data`, run as a user would: determinism, foreign keys, amounts, presets, CSV
//! format, manifest and usage errors.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};

const TABLES: [&str; 9] = [
    "customers",
    "products",
    "campaigns",
    "web_sessions",
    "web_leads",
    "orders",
    "order_items",
    "payments",
    "support_tickets",
];

fn broker(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_broker"))
        .args(args)
        .output()
        .expect("run broker")
}

fn generate(size: &str, seed: u64, out: &Path) -> Output {
    let seed = seed.to_string();
    let out_arg = out.to_str().expect("utf-8 temp path");
    let output = broker(&[
        "sample-data",
        "--size",
        size,
        "--seed",
        &seed,
        "--out",
        out_arg,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file of a folder, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A CSV table read with the csv crate: rows as column → value.
struct Table {
    header: Vec<String>,
    rows: Vec<HashMap<String, String>>,
}

impl Table {
    fn read(dir: &Path, name: &str) -> Table {
        let mut reader = csv::Reader::from_path(dir.join(format!("{name}.csv"))).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                assert_eq!(r.len(), header.len(), "{name}: ragged row");
                header
                    .iter()
                    .cloned()
                    .zip(r.iter().map(String::from))
                    .collect()
            })
            .collect();
        Table { header, rows }
    }

    /// Rows by their first column (the primary key), asserting it is unique and non-empty.
    fn by_key(&self) -> HashMap<String, &HashMap<String, String>> {
        let key = &self.header[0];
        let mut map = HashMap::new();
        for row in &self.rows {
            let id = row[key].clone();
            assert!(!id.is_empty(), "empty key {key}");
            assert!(
                map.insert(id.clone(), row).is_none(),
                "duplicate {key} {id}"
            );
        }
        map
    }
}

/// `"123.45"` → 12345 cents; the text must have exactly two decimals.
fn cents(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').expect("money has a decimal point");
    assert_eq!(frac.len(), 2, "money {text} has two decimals");
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

fn date_of(timestamp: &str) -> &str {
    assert_eq!(timestamp.len(), 19, "timestamp {timestamp}");
    assert_eq!(&timestamp[10..11], " ");
    &timestamp[..10]
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let a = broker::testkit::tempdir().unwrap();
    let b = broker::testkit::tempdir().unwrap();
    let c = broker::testkit::tempdir().unwrap();
    generate("xs", 7, a.path());
    generate("xs", 7, b.path());
    generate("xs", 8, c.path());
    let fa = files(a.path());
    let fb = files(b.path());
    let fc = files(c.path());
    let mut expected: Vec<String> = TABLES.iter().map(|t| format!("{t}.csv")).collect();
    expected.push("_manifest.json".to_string());
    expected.sort();
    assert_eq!(fa.keys().cloned().collect::<Vec<_>>(), expected);
    assert_eq!(fa, fb, "same size and seed must give identical files");
    for t in TABLES {
        let name = format!("{t}.csv");
        assert_ne!(fa[&name], fc[&name], "{name} should change with the seed");
    }
}

#[test]
fn manifest_records_size_seed_period_and_every_file() {
    let dir = broker::testkit::tempdir().unwrap();
    let output = generate("xs", 7, dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("web_sessions"), "{stdout}");
    assert!(stdout.contains("500"), "{stdout}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("_manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["generator"], "broker sample-data");
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["size"], "xs");
    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["period"]["start"], "2025-12-01");
    assert_eq!(manifest["period"]["end"], "2026-03-01");
    let mut total = 0;
    for t in TABLES {
        let entry = &manifest["tables"][t];
        let bytes = std::fs::metadata(dir.path().join(format!("{t}.csv")))
            .unwrap()
            .len();
        assert_eq!(entry["bytes"], bytes, "{t}");
        let rows = Table::read(dir.path(), t).rows.len() as u64;
        assert_eq!(entry["rows"], rows, "{t}");
        total += rows;
    }
    assert_eq!(manifest["total_rows"], total);
    assert!(!manifest.to_string().contains("elapsed"));
}

fn assert_preset_counts(size: &str, expected: [(&str, usize); 7]) {
    let dir = broker::testkit::tempdir().unwrap();
    generate(size, 42, dir.path());
    for (table, rows) in expected {
        assert_eq!(
            Table::read(dir.path(), table).rows.len(),
            rows,
            "{size}: rows of {table}"
        );
    }
    let orders = Table::read(dir.path(), "orders").rows.len();
    let items = Table::read(dir.path(), "order_items").rows.len();
    let payments = Table::read(dir.path(), "payments").rows.len();
    assert!(
        items >= orders && items <= orders * 8,
        "{size}: {items} items"
    );
    assert!(
        payments >= orders && payments <= orders + orders / 5,
        "{size}: {payments} payments"
    );
}

#[test]
fn row_counts_follow_the_xs_preset() {
    assert_preset_counts(
        "xs",
        [
            ("customers", 50),
            ("products", 30),
            ("campaigns", 10),
            ("web_sessions", 500),
            ("web_leads", 50),
            ("orders", 100),
            ("support_tickets", 30),
        ],
    );
}

#[test]
fn row_counts_follow_the_s_preset() {
    assert_preset_counts(
        "s",
        [
            ("customers", 500),
            ("products", 100),
            ("campaigns", 30),
            ("web_sessions", 10_000),
            ("web_leads", 1_000),
            ("orders", 2_000),
            ("support_tickets", 500),
        ],
    );
}

#[test]
fn csv_format_is_plain_rfc4180_with_international_text() {
    let dir = broker::testkit::tempdir().unwrap();
    generate("s", 42, dir.path());
    for t in TABLES {
        let raw = std::fs::read_to_string(dir.path().join(format!("{t}.csv"))).unwrap();
        assert!(!raw.contains('\r'), "{t}: \\r in file");
        assert!(raw.ends_with('\n'), "{t}: no final newline");
        assert!(!raw.contains(",\"\","), "{t}: quoted empty field");
        assert!(
            !raw.lines()
                .any(|l| l.ends_with(",\"\"") || l.starts_with("\"\",")),
            "{t}: quoted empty field"
        );
    }
    let customers = std::fs::read_to_string(dir.path().join("customers.csv")).unwrap();
    assert!(
        customers.chars().any(|c| (c as u32) > 0xFF),
        "non-Latin-1 names"
    );
    let quoted = Table::read(dir.path(), "customers")
        .rows
        .iter()
        .filter(|r| r["company"].contains('"') && r["company"].contains(','))
        .count();
    assert!(quoted > 0, "a company name with a comma and a double quote");
    let products = Table::read(dir.path(), "products");
    assert!(products.rows.iter().any(|r| r["name"].contains(',')));
    for r in &products.rows {
        assert!(cents(&r["price"]) > cents(&r["cost"]), "price above cost");
        assert!(r["is_active"] == "true" || r["is_active"] == "false");
    }
}

#[test]
fn foreign_keys_hold_and_amounts_add_up_on_size_s() {
    let dir = broker::testkit::tempdir().unwrap();
    generate("s", 42, dir.path());
    let d = dir.path();
    let customers_t = Table::read(d, "customers");
    let products_t = Table::read(d, "products");
    let campaigns_t = Table::read(d, "campaigns");
    let orders_t = Table::read(d, "orders");
    let items_t = Table::read(d, "order_items");
    let payments_t = Table::read(d, "payments");
    let sessions_t = Table::read(d, "web_sessions");
    let leads_t = Table::read(d, "web_leads");
    let tickets_t = Table::read(d, "support_tickets");
    let customers = customers_t.by_key();
    let products = products_t.by_key();
    let campaigns = campaigns_t.by_key();
    let orders = orders_t.by_key();
    items_t.by_key();
    payments_t.by_key();
    sessions_t.by_key();
    leads_t.by_key();
    tickets_t.by_key();
    let end = "2026-03-01 00:00:00";
    let start = "2025-03-06";

    // Customers: ids, segments and emails.
    let mut emails = HashSet::new();
    for c in &customers_t.rows {
        assert!(c["customer_id"].starts_with("C-") && c["customer_id"].len() == 8);
        assert!(emails.insert(c["email"].clone()), "duplicate email");
        let b2b = c["segment"] != "b2c";
        assert!(["b2c", "b2b_small", "b2b_enterprise"].contains(&c["segment"].as_str()));
        assert_eq!(b2b, !c["company"].is_empty(), "company iff b2b");
        assert!(c["registration_date"].as_str() < &end[..10]);
    }

    // Orders and their customers.
    for o in &orders_t.rows {
        let c = customers
            .get(&o["customer_id"])
            .expect("order's customer exists");
        assert!(date_of(&o["created_at"]) >= c["registration_date"].as_str());
        assert!(o["created_at"].as_str() < end && date_of(&o["created_at"]) >= start);
    }

    // Order items: keys, line totals, items per order.
    let mut items_of: HashMap<&str, Vec<&HashMap<String, String>>> = HashMap::new();
    for i in &items_t.rows {
        let o = orders.get(&i["order_id"]).expect("item's order exists");
        let p = products
            .get(&i["product_id"])
            .expect("item's product exists");
        assert!(
            p["created_at"] < o["created_at"],
            "product listed before the order"
        );
        let quantity: i64 = i["quantity"].parse().unwrap();
        let discount: i64 = i["discount_percent"].parse().unwrap();
        assert!(quantity >= 1);
        assert!([0, 5, 10, 15, 20].contains(&discount));
        let expected = (quantity * cents(&i["unit_price"]) * (100 - discount) + 50) / 100;
        assert_eq!(cents(&i["line_total"]), expected, "{}", i["order_item_id"]);
        items_of.entry(&i["order_id"]).or_default().push(i);
    }
    for o in &orders_t.rows {
        let items = items_of
            .get(o["order_id"].as_str())
            .expect("order has items");
        let b2b = customers[&o["customer_id"]]["segment"] != "b2c";
        assert!(items.len() <= if b2b { 8 } else { 5 }, "{}", o["order_id"]);
        let distinct: HashSet<&str> = items.iter().map(|i| i["product_id"].as_str()).collect();
        assert_eq!(distinct.len(), items.len(), "a product once per order");
        let sum: i64 = items.iter().map(|i| cents(&i["line_total"])).sum();
        let items_total = cents(&o["items_total"]);
        assert_eq!(items_total, sum, "{}: items_total", o["order_id"]);
        let shipping = cents(&o["shipping_amount"]);
        assert_eq!(
            shipping == 0,
            items_total >= 10_000,
            "{}: free shipping",
            o["order_id"]
        );
        assert_eq!(
            cents(&o["total_amount"]),
            items_total - cents(&o["discount_amount"]) + shipping,
            "{}: total_amount",
            o["order_id"]
        );
    }

    // Payments: one counting payment per order, declined attempts before about 5 %.
    let mut counting: HashMap<&str, usize> = HashMap::new();
    let mut failed = 0;
    for p in &payments_t.rows {
        let o = orders.get(&p["order_id"]).expect("payment's order exists");
        assert_eq!(p["customer_id"], o["customer_id"]);
        assert_eq!(p["amount"], o["total_amount"]);
        assert_eq!(p["currency"], "EUR");
        assert!(p["created_at"] >= o["created_at"] && p["created_at"].as_str() < end);
        match p["status"].as_str() {
            "failed" => {
                failed += 1;
                assert!(p["completed_at"].is_empty());
            }
            "completed" | "refunded" => {
                assert!(p["completed_at"] > p["created_at"] && p["completed_at"].as_str() < end);
                *counting.entry(&p["order_id"]).or_default() += 1;
            }
            "pending" | "cancelled" => {
                assert!(p["completed_at"].is_empty());
                *counting.entry(&p["order_id"]).or_default() += 1;
            }
            other => panic!("payment status {other}"),
        }
        if p["status"] == "cancelled" {
            assert_eq!(o["status"], "cancelled");
        }
        if p["status"] == "refunded" {
            assert_eq!(o["status"], "returned");
        }
    }
    assert_eq!(counting.len(), orders.len());
    assert!(counting.values().all(|&n| n == 1));
    assert!(
        (40..=180).contains(&failed),
        "{failed} failed attempts of 2000"
    );

    // Sessions: customer registered, campaign running that day.
    let mut with_customer = 0;
    let mut with_campaign = 0;
    for s in &sessions_t.rows {
        let day = date_of(&s["started_at"]);
        assert!(s["started_at"].as_str() < end && day >= start);
        if !s["customer_id"].is_empty() {
            with_customer += 1;
            let c = customers.get(&s["customer_id"]).expect("session customer");
            assert!(day >= c["registration_date"].as_str());
        }
        if !s["campaign_id"].is_empty() {
            with_campaign += 1;
            let k = campaigns.get(&s["campaign_id"]).expect("session campaign");
            assert!(k["start_date"].as_str() <= day && day <= k["end_date"].as_str());
        }
        assert_eq!(s["is_bounce"] == "true", s["pages_viewed"] == "1");
    }
    let n = sessions_t.rows.len();
    assert!(
        (n * 35 / 100..=n * 45 / 100).contains(&with_customer),
        "{with_customer}"
    );
    assert!(
        (n * 18 / 100..=n * 30 / 100).contains(&with_campaign),
        "{with_campaign}"
    );

    // Leads.
    for l in &leads_t.rows {
        let day = date_of(&l["created_at"]);
        if !l["customer_id"].is_empty() {
            let c = customers.get(&l["customer_id"]).expect("lead customer");
            assert_eq!(l["email"], c["email"]);
        }
        if !l["campaign_id"].is_empty() {
            let k = campaigns.get(&l["campaign_id"]).expect("lead campaign");
            assert!(k["start_date"].as_str() <= day && day <= k["end_date"].as_str());
        }
        let converted = l["status"] == "converted";
        assert_eq!(converted, !l["converted_at"].is_empty());
        if converted {
            assert!(!l["customer_id"].is_empty());
            assert!(l["converted_at"] > l["created_at"] && l["converted_at"].as_str() < end);
        }
    }

    // Support tickets.
    let mut about_orders = 0;
    for t in &tickets_t.rows {
        let c = customers.get(&t["customer_id"]).expect("ticket customer");
        assert!(date_of(&t["created_at"]) >= c["registration_date"].as_str());
        if !t["order_id"].is_empty() {
            about_orders += 1;
            let o = orders.get(&t["order_id"]).expect("ticket order");
            assert_eq!(
                o["customer_id"], t["customer_id"],
                "the customer's own order"
            );
            assert!(o["created_at"] < t["created_at"]);
        }
        let resolved = t["status"] == "resolved" || t["status"] == "closed";
        assert_eq!(resolved, !t["resolved_at"].is_empty());
        if resolved {
            assert!(t["resolved_at"] > t["created_at"] && t["resolved_at"].as_str() < end);
        }
        if !t["satisfaction_score"].is_empty() {
            assert!(resolved);
            let score: i64 = t["satisfaction_score"].parse().unwrap();
            assert!((1..=5).contains(&score));
        }
    }
    assert!(
        (250..=350).contains(&about_orders),
        "{about_orders} of 500 about orders"
    );
}

#[test]
fn bad_size_is_a_usage_error() {
    let dir = broker::testkit::tempdir().unwrap();
    let out = dir.path().join("x");
    let output = broker(&[
        "sample-data",
        "--size",
        "xl",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("xl"), "{stderr}");
    assert!(!out.exists(), "nothing written on a usage error");
}

#[test]
fn out_that_is_a_file_is_refused() {
    let dir = broker::testkit::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let output = broker(&[
        "sample-data",
        "--size",
        "xs",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}
