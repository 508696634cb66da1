//! Test data for `bench/profile.sh`: a deterministic orders-like table of ROWS rows and 10
//! columns, written by the bundled DuckDB as zstd Parquet in row groups of 122,880 rows.
//!
//! Usage: `duckdb_generate ROWS OUT.parquet`; prints `<rows> <bytes> <seconds>`.
//!
//! Columns (all values from `hash(i)` of the row number, never `random()`, so every run writes
//! the same values):
//! - `id` BIGINT: 1..ROWS in order (the primary key);
//! - `customer_id` BIGINT: 1..200,000, pseudo-random;
//! - `status` VARCHAR: delivered 50%, shipped 25%, paid 13%, new 8%, cancelled 4%;
//! - `amount` DOUBLE: 0.00..999.99 in cents, NULL in 2% of rows;
//! - `quantity` INTEGER: 1..10;
//! - `created_at` DATE: rising with `id` over 2020-01-01..2025-12-30 (six years);
//! - `updated_at` TIMESTAMP WITH TIME ZONE: `created_at` plus 0..30 days and a time of day;
//! - `is_paid` BOOLEAN: true in 70%;
//! - `email` VARCHAR: `user<k>@example.com`, k < 3,000,000 (high cardinality);
//! - `note` VARCHAR: NULL in 90%, empty in 8%, one of four texts in 2%.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows: u64 = match (args.len(), args.get(1).map(|r| r.parse())) {
        (3, Some(Ok(n))) => n,
        _ => {
            eprintln!("usage: duckdb_generate ROWS OUT.parquet");
            std::process::exit(2);
        }
    };
    let out = &args[2];
    let conn = duckdb::Connection::open_in_memory()?;
    conn.execute_batch(
        "SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;",
    )?;
    let t = Instant::now();
    // h1 and h2: two 64-bit hashes per row; each column takes its own bits.
    conn.execute_batch(&format!(
        "COPY (
            WITH r AS (
                SELECT i, hash(i) AS h1, hash(i + {rows}) AS h2 FROM range({rows}) t(i)
            )
            SELECT
                i + 1 AS id,
                (h1 % 200000 + 1)::BIGINT AS customer_id,
                CASE WHEN (h1 >> 20) % 100 < 50 THEN 'delivered'
                     WHEN (h1 >> 20) % 100 < 75 THEN 'shipped'
                     WHEN (h1 >> 20) % 100 < 88 THEN 'paid'
                     WHEN (h1 >> 20) % 100 < 96 THEN 'new'
                     ELSE 'cancelled' END AS status,
                CASE WHEN (h1 >> 28) % 50 = 0 THEN NULL
                     ELSE ((h1 >> 34) % 100000) / 100.0 END::DOUBLE AS amount,
                ((h1 >> 52) % 10 + 1)::INTEGER AS quantity,
                (DATE '2020-01-01' + (i * 2190 // {rows})::INTEGER) AS created_at,
                to_timestamp(
                    epoch(DATE '2020-01-01') + (i * 2190 // {rows}) * 86400
                    + (h2 % (30 * 86400))
                ) AS updated_at,
                (h2 >> 24) % 10 < 7 AS is_paid,
                'user' || ((h2 >> 28) % 3000000) || '@example.com' AS email,
                CASE WHEN (h2 >> 52) % 100 < 90 THEN NULL
                     WHEN (h2 >> 52) % 100 < 98 THEN ''
                     ELSE (['gift wrap', 'call before delivery', 'leave at the door',
                            'fragile'])[((h2 >> 58) % 4 + 1)::INTEGER] END AS note
            FROM r
            ORDER BY i
        ) TO '{}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880);",
        out.replace('\'', "''")
    ))?;
    let bytes = std::fs::metadata(out)?.len();
    println!("{rows} {bytes} {:.3}", t.elapsed().as_secs_f64());
    Ok(())
}
