//! The parts of `bench/keboola.sh`:
//!
//! - `keboola_bench serve <rows> <slices>`: the fake Keboola Storage API
//!   (`broker::testkit::keboola`) with one typed table `in.c-bench.orders` of `<rows>` rows made
//!   on export, in `<slices>` gzip'd slices; prints its URL and serves until stdin closes.
//! - `keboola_bench dump <rows> <slices> <dir>`: the same slices written into `<dir>` (for the
//!   peer).
//! - `keboola_bench duckdb <dir> <out.parquet>`: the peer, DuckDB (the bundled version broker
//!   links) reading those headerless gzip'd slices with the table's column types into zstd
//!   Parquet; prints `rows seconds`.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use broker::testkit::keboola::{FakeKeboola, FakeTable};

const TOKEN: &str = "bench-token";

fn table(rows: u64) -> FakeTable {
    let mut t = FakeTable::typed(
        "in.c-bench.orders",
        &[
            ("order_id", "INTEGER", None),
            ("customer", "STRING", None),
            ("status", "STRING", None),
            ("amount", "NUMERIC", Some("12,2")),
            ("paid", "BOOLEAN", None),
            ("created", "DATE", None),
            ("updated", "TIMESTAMP", None),
        ],
    );
    t.primary_key = vec!["order_id".into()];
    t.generated = Some((
        rows,
        Arc::new(|i: u64| {
            let statuses = ["new", "paid", "shipped", "delivered", "cancelled"];
            let day = 1 + (i % 28);
            vec![
                Some((i + 1).to_string()),
                Some(format!("C-{:06}", (i * 7919) % 200_000)),
                Some(statuses[(i % 5) as usize].to_string()),
                Some(format!("{}.{:02}", (i * 31) % 5000, i % 100)),
                if i.is_multiple_of(11) {
                    None
                } else {
                    Some(i.is_multiple_of(2).to_string())
                },
                Some(format!("2025-{:02}-{day:02}", 1 + (i % 12))),
                Some(format!(
                    "2025-{:02}-{day:02} {:02}:{:02}:{:02}",
                    1 + (i % 12),
                    i % 24,
                    i % 60,
                    (i * 7) % 60
                )),
            ]
        }),
    ));
    t
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("serve") if args.len() == 4 => {
            let fake = FakeKeboola::start(TOKEN, 1, vec![table(args[2].parse()?)])?;
            fake.state().slices = args[3].parse()?;
            println!("{}", fake.url);
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        }
        Some("dump") if args.len() == 5 => {
            let slices = broker::testkit::keboola::export_slices(
                &table(args[2].parse()?),
                &serde_json::json!({}),
                args[3].parse()?,
            )?;
            let dir = std::path::Path::new(&args[4]);
            std::fs::create_dir_all(dir)?;
            for (i, s) in slices.iter().enumerate() {
                std::fs::write(dir.join(format!("slice_{i:03}.csv.gz")), s)?;
            }
        }
        Some("duckdb") if args.len() == 4 => {
            let conn = duckdb::Connection::open_in_memory()?;
            conn.execute_batch(
                "SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;",
            )?;
            let t = Instant::now();
            conn.execute_batch(&format!(
                "COPY (FROM read_csv('{}/*.csv.gz', header=false, compression='gzip', delim=',', quote='\"', escape='\"', \
                 columns={{'order_id': 'BIGINT', 'customer': 'VARCHAR', 'status': 'VARCHAR', 'amount': 'DECIMAL(12,2)', \
                 'paid': 'BOOLEAN', 'created': 'DATE', 'updated': 'TIMESTAMPTZ'}})) TO '{}' (FORMAT parquet, COMPRESSION zstd);",
                args[2], args[3]
            ))?;
            let secs = t.elapsed().as_secs_f64();
            let rows: i64 =
                conn.query_row(&format!("SELECT count(*) FROM '{}'", args[3]), [], |r| {
                    r.get(0)
                })?;
            println!("{rows} {secs:.3}");
        }
        _ => {
            eprintln!("usage: keboola_bench serve <rows> <slices> | dump <rows> <slices> <dir> | duckdb <dir> <out.parquet>");
            std::process::exit(2);
        }
    }
    Ok(())
}
