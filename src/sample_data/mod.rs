//! `broker sample-data`: the deterministic demo shop.
//!
//! [`generate`] writes nine CSV tables of a small international web shop — customers, products,
//! campaigns, web_sessions, web_leads, orders, order_items, payments, support_tickets — plus
//! `_manifest.json`, into one folder. The same size and seed give the same bytes on every run and
//! every machine: all randomness comes from `ChaCha8Rng::seed_from_u64(seed)` (one ChaCha stream
//! per table), nothing depends on the clock or on hash-map order.
//!
//! The period ends on 2026-03-01 (exclusive: the last timestamp is 2026-02-28 23:59:59 UTC) and
//! starts `months × 30` days earlier. Rows are spread over days by linear growth (1.0 → 1.5),
//! monthly seasonality (January 0.70 … November 1.30, December 1.50) and weekday (Friday 1.15,
//! Saturday 0.80, Sunday 0.60), and over hours of the day with a peak from 10 to 14 h.
//!
//! CSV format: a header row, `,` separators, `\n` line ends, RFC 4180 quoting only where needed,
//! NULL as an empty unquoted field, dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS` in UTC,
//! money with two decimals, booleans `true`/`false`.
//!
//! Each file is written as `<table>.csv.tmp` and renamed when complete; `_manifest.json` is removed
//! first and written last, so a folder with a manifest always holds a complete generation
//! ([`is_current`]).

mod calendar;
mod names;
mod rng;
mod shop;
mod writer;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Size preset of the demo shop (row counts in [`SampleSize::preset`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SampleSize {
    /// 3 months, 100 orders: for unit tests (well under a second).
    Xs,
    /// 12 months, 2,000 orders: the default demo (about 1.9 MB of CSV).
    S,
    /// 24 months, 20,000 orders (about 18 MB of CSV).
    M,
    /// 36 months, 200,000 orders and a million web sessions (about 184 MB of CSV).
    L,
}

impl SampleSize {
    /// `xs`, `s`, `m` or `l`: the name used on the command line and in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            SampleSize::Xs => "xs",
            SampleSize::S => "s",
            SampleSize::M => "m",
            SampleSize::L => "l",
        }
    }

    /// The row counts and period length of this size.
    pub fn preset(self) -> SamplePreset {
        let (customers, products, campaigns, web_sessions, web_leads, orders, tickets, months) =
            match self {
                SampleSize::Xs => (50, 30, 10, 500, 50, 100, 30, 3),
                SampleSize::S => (500, 100, 30, 10_000, 1_000, 2_000, 500, 12),
                SampleSize::M => (5_000, 300, 80, 100_000, 10_000, 20_000, 5_000, 24),
                SampleSize::L => (50_000, 1_000, 200, 1_000_000, 100_000, 200_000, 50_000, 36),
            };
        SamplePreset {
            customers,
            products,
            campaigns,
            web_sessions,
            web_leads,
            orders,
            support_tickets: tickets,
            months,
        }
    }
}

impl std::fmt::Display for SampleSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Exact row counts of one size. `order_items` (1–5 per b2c order, 1–8 per b2b order) and
/// `payments` (one per order, plus a failed attempt before about 5 % of them) follow from `orders`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SamplePreset {
    /// Rows of `customers`.
    pub customers: u64,
    /// Rows of `products`.
    pub products: u64,
    /// Rows of `campaigns`.
    pub campaigns: u64,
    /// Rows of `web_sessions`.
    pub web_sessions: u64,
    /// Rows of `web_leads`.
    pub web_leads: u64,
    /// Rows of `orders`.
    pub orders: u64,
    /// Rows of `support_tickets`.
    pub support_tickets: u64,
    /// Length of the period in months of 30 days.
    pub months: u32,
}

/// The nine tables, in generation order. Each is written to `<name>.csv`.
pub const TABLES: [&str; 9] = [
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

/// The file name of the manifest written last into the output folder.
pub const MANIFEST: &str = "_manifest.json";

/// The value of the manifest's `generator` field.
const GENERATOR: &str = "broker sample-data";
/// The manifest's format version.
const MANIFEST_VERSION: u32 = 1;

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleSummary {
    /// One entry per table, in generation order (see [`TABLES`]).
    pub tables: Vec<SampleTable>,
}

impl SampleSummary {
    /// Sum of the tables' data rows (headers not counted).
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Sum of the CSV files' sizes in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }
}

/// One written table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleTable {
    /// Table name; the file is `<name>.csv`.
    pub name: String,
    /// Data rows (the header is not counted).
    pub rows: u64,
    /// Size of the CSV file in bytes, header included.
    pub bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    generator: String,
    version: u32,
    size: SampleSize,
    seed: u64,
    period: ManifestPeriod,
    tables: BTreeMap<String, ManifestTable>,
    total_rows: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestPeriod {
    /// First day of the period.
    start: String,
    /// First day after the period.
    end: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestTable {
    rows: u64,
    bytes: u64,
}

/// First day of the period of `size` and the first day after it, as day numbers since 1970-01-01.
fn period(size: SampleSize) -> (i64, i64) {
    let end = calendar::days_from_civil(2026, 3, 1);
    (end - i64::from(size.preset().months) * 30, end)
}

/// Writes `<out>/<table>.csv` for the 9 tables and `<out>/_manifest.json` last.
///
/// Creates `out` if needed and first removes an old manifest, so an interrupted run never looks
/// complete. Size `l` (≈ 2.1 million rows, 184 MB) takes a few seconds and about 40 MB of
/// memory.
///
/// Errors: the folder cannot be created, or a file cannot be written, synced or renamed (the
/// message names the path).
pub fn generate(size: SampleSize, seed: u64, out: &Path) -> Result<SampleSummary> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create folder", out.display()))?;
    let manifest_path = out.join(MANIFEST);
    match std::fs::remove_file(&manifest_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("{}: cannot remove", manifest_path.display()))
        }
    }
    let (start, end) = period(size);
    let tables = shop::generate(&size.preset(), seed, out, start, end)?;
    let summary = SampleSummary { tables };
    let manifest = Manifest {
        generator: GENERATOR.to_string(),
        version: MANIFEST_VERSION,
        size,
        seed,
        period: ManifestPeriod {
            start: calendar::date_string(start),
            end: calendar::date_string(end),
        },
        tables: summary
            .tables
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    ManifestTable {
                        rows: t.rows,
                        bytes: t.bytes,
                    },
                )
            })
            .collect(),
        total_rows: summary.total_rows(),
    };
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    write_atomic(&manifest_path, text.as_bytes())?;
    Ok(summary)
}

/// Write `path` through `<path>.tmp`, fsync, rename, and fsync the folder (best effort).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// True when `<out>/_manifest.json` exists and records this size and seed and every CSV it lists
/// exists with its recorded byte size (and it lists all nine tables). Any unreadable or foreign
/// manifest means false.
pub fn is_current(size: SampleSize, seed: u64, out: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(out.join(MANIFEST)) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else {
        return false;
    };
    if manifest.generator != GENERATOR
        || manifest.version != MANIFEST_VERSION
        || manifest.size != size
        || manifest.seed != seed
        || TABLES.iter().any(|t| !manifest.tables.contains_key(*t))
    {
        return false;
    }
    manifest.tables.iter().all(|(name, t)| {
        !name.contains(['/', '\\'])
            && name != ".."
            && std::fs::metadata(out.join(format!("{name}.csv")))
                .map(|m| m.is_file() && m.len() == t.bytes)
                .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_ends_on_march_first_2026() {
        let (start, end) = period(SampleSize::S);
        assert_eq!(calendar::date_string(end), "2026-03-01");
        assert_eq!(end - start, 360);
        assert_eq!(calendar::date_string(start), "2025-03-06");
    }

    #[test]
    fn generate_then_is_current_and_tampering_is_noticed() {
        let dir = crate::testkit::tempdir().unwrap();
        assert!(!is_current(SampleSize::Xs, 1, dir.path()));
        let summary = generate(SampleSize::Xs, 1, dir.path()).unwrap();
        let names: Vec<&str> = summary.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, TABLES);
        assert!(is_current(SampleSize::Xs, 1, dir.path()));
        assert!(!is_current(SampleSize::Xs, 2, dir.path()));
        assert!(!is_current(SampleSize::S, 1, dir.path()));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::write(dir.path().join("orders.csv"), "order_id\n").unwrap();
        assert!(!is_current(SampleSize::Xs, 1, dir.path()));
    }
}
