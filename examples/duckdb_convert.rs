//! The peer in `bench/build.sh`: DuckDB (the same bundled version broker links) converting every
//! CSV file of a folder to zstd Parquet with its own CSV sniffer, one table after another.
//!
//! Usage: `duckdb_convert <csv folder> <out folder>`; prints `<table> <rows> <seconds>` per file
//! and `total <rows> <seconds>`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: duckdb_convert <csv folder> <out folder>");
        std::process::exit(2);
    }
    let (src, out) = (
        std::path::Path::new(&args[1]),
        std::path::Path::new(&args[2]),
    );
    std::fs::create_dir_all(out)?;
    let conn = duckdb::Connection::open_in_memory()?;
    conn.execute_batch(
        "SET autoinstall_known_extensions=false; SET autoload_known_extensions=false;",
    )?;
    let mut files: Vec<_> = std::fs::read_dir(src)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    let all = Instant::now();
    let mut total = 0u64;
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        let dest = out.join(format!("{name}.parquet"));
        let t = Instant::now();
        conn.execute_batch(&format!(
            "COPY (FROM read_csv('{}')) TO '{}' (FORMAT parquet, COMPRESSION zstd);",
            f.display(),
            dest.display()
        ))?;
        let rows: i64 = conn.query_row(
            &format!("SELECT count(*) FROM read_parquet('{}')", dest.display()),
            [],
            |r| r.get(0),
        )?;
        total += rows as u64;
        println!("{name} {rows} {:.3}", t.elapsed().as_secs_f64());
    }
    println!("total {total} {:.3}", all.elapsed().as_secs_f64());
    Ok(())
}
