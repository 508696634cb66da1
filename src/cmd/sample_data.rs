//! `broker sample-data`: write the deterministic demo shop (9 CSV tables and `_manifest.json`)
//! into a folder and print what was written.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::sample_data::{generate, SampleSize};

/// Arguments of `broker sample-data`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Size preset: xs (100 orders, 3 months), s (2,000 orders, 12 months), m (20,000 orders,
    /// 24 months) or l (200,000 orders, 36 months).
    #[arg(long, value_enum, default_value_t = SampleSize::S)]
    pub size: SampleSize,
    /// Seed of the random generator; the same seed and size give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Folder to write `<table>.csv` and `_manifest.json` into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Run `broker sample-data`. Prints one line per table (name, rows, bytes) and a total to stdout.
///
/// Returns 0 when all files were written, 1 when writing failed (the error goes to stderr), 2
/// when `--out` names something that is not a folder.
pub fn run(args: Args) -> i32 {
    if args.out.exists() && !args.out.is_dir() {
        let _ = writeln!(
            std::io::stderr(),
            "error: --out {}: exists and is not a folder",
            args.out.display()
        );
        return 2;
    }
    let started = Instant::now();
    let summary = match generate(args.size, args.seed, &args.out) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: sample-data: {e:#}");
            return 1;
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let mut text = format!(
        "demo shop: size {}, seed {} → {}\n{:<16} {:>10} {:>14}\n",
        args.size,
        args.seed,
        args.out.display(),
        "table",
        "rows",
        "bytes"
    );
    for t in &summary.tables {
        text.push_str(&format!("{:<16} {:>10} {:>14}\n", t.name, t.rows, t.bytes));
    }
    text.push_str(&format!(
        "{:<16} {:>10} {:>14}\ndone in {elapsed:.1} s\n",
        "total",
        summary.total_rows(),
        summary.total_bytes()
    ));
    // The files are written; a closed stdout (`| head`) is not a failure, and must not panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}
