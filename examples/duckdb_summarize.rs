//! The peer in `bench/profile.sh`: DuckDB (the same bundled version broker links) running
//! `SUMMARIZE` over the Parquet files of each table, one table after another, all result rows
//! fetched.
//!
//! Usage: `duckdb_summarize PATH...`, each PATH one table as in `broker profile`: a Parquet file
//! (table = file stem) or a folder (table = folder name) read as `<folder>/**/*.parquet`
//! (`hive_partitioning = false`, so partition folders add no columns that broker does not
//! profile). Prints `<table> <rows summarized> <seconds>` per table and `total <rows>
//! <seconds>`.

use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: duckdb_summarize PATH...");
        std::process::exit(2);
    }
    let conn = duckdb::Connection::open_in_memory()?;
    conn.execute_batch(
        "SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;",
    )?;
    let all = Instant::now();
    let mut total = 0u64;
    for p in &paths {
        let path = Path::new(p);
        let (name, glob) = if path.is_dir() {
            let name = std::fs::canonicalize(path)?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, format!("{}/**/*.parquet", path.display()))
        } else if path.is_file() {
            let name = path
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, path.display().to_string())
        } else {
            return Err(format!("{p}: no such file or folder").into());
        };
        let t = Instant::now();
        // The summary's values as text: reading them as `duckdb::types::Value` panics in
        // duckdb-rs 1.2 on some NULLs of SUMMARIZE's result (the demo's customers table), and
        // casting its one row per column costs nothing.
        let sql = format!(
            "SELECT COLUMNS(*)::VARCHAR FROM (SUMMARIZE SELECT * FROM read_parquet('{}', \
             hive_partitioning = false))",
            glob.replace('\'', "''")
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut summarized = 0u64;
        while let Some(row) = rows.next()? {
            // Every value of every result row is read: the whole summary is materialised.
            let columns = row.as_ref().column_count();
            for i in 0..columns {
                let value: Option<String> = row.get(i)?;
                if row.as_ref().column_name(i)? == "count" {
                    summarized = value.and_then(|v| v.parse().ok()).unwrap_or(0);
                }
            }
        }
        total += summarized;
        println!("{name} {summarized} {:.3}", t.elapsed().as_secs_f64());
    }
    println!("total {total} {:.3}", all.elapsed().as_secs_f64());
    Ok(())
}
