//! `broker profile`: the profile stage on its own, over Parquet files outside any instance.
//!
//! ```text
//! broker profile [--out FILE] [--primary-key TABLE=col1,col2]... [--sample-rows N]
//!                [--time-budget-s S] PATH...
//! ```
//!
//! Each PATH is one table: a Parquet file (the table is named after the file's stem,
//! `data/orders.parquet` → `orders`) or a folder (named after the folder) whose `*.parquet`
//! files, found recursively (hive partitions such as `month=2025-01/part-0.parquet` included)
//! and taken in path order, make up the table. The tables are profiled in parallel by
//! [`crate::profile::profile_all`], exactly as `broker build` profiles synced tables, and written
//! as a `profiles.json` document ([`ProfilesFile`]: `version`, `generated_at`, `tables`).
//!
//! Exit codes: 0 every table was profiled; 1 some table failed (a path that does not exist or
//! holds no Parquet file, a file that is not Parquet, files whose schemas differ, a primary-key
//! column missing from the data; each named on stderr with its table and path, the other tables
//! are still profiled and written) or the output could not be written; 2 a usage error (bad
//! flags, two paths naming the same table, `--primary-key` for a table not given): nothing is
//! read or written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::content::TableSpec;
use crate::profile::{self, ProfileJob, ProfileSettings, ProfilesFile, PROFILES_VERSION};
use crate::sync::{DataFile, SyncedTable};

/// Arguments of `broker profile`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Write the profiles to this file (atomically: a temporary file in the same folder, then
    /// a rename) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Primary key of a table, `TABLE=col1,col2` (a composite key lists several columns);
    /// repeat the flag for several tables. Marks the key columns and counts rows whose key
    /// repeats an earlier row's (`duplicate_primary_keys`).
    #[arg(long = "primary-key", value_name = "TABLE=COLUMNS", value_parser = parse_primary_key)]
    pub primary_key: Vec<PrimaryKey>,
    /// Profile at most about this many rows of each table (whole row groups spread over the
    /// table); the profile is then marked `sampled`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sample_rows: Option<u64>,
    /// Stop starting new row groups of a table after this many seconds (fractions allowed);
    /// the profile covers the row groups finished and is marked `sampled`.
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub time_budget_s: Option<f64>,
    /// One table per path: a Parquet file, or a folder whose `*.parquet` files (recursively)
    /// make up the table.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// `--primary-key TABLE=col1,col2`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryKey {
    /// The table's name (the file stem or folder name of its PATH).
    pub table: String,
    /// The key's columns, in order (at least one).
    pub columns: Vec<String>,
}

/// Parses `TABLE=col1,col2` (spaces around names are ignored). Errors: no `=`, an empty table
/// name, or an empty column name.
pub fn parse_primary_key(text: &str) -> Result<PrimaryKey, String> {
    let (table, cols) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected TABLE=col1,col2"))?;
    let table = table.trim();
    if table.is_empty() {
        return Err(format!("{text:?}: the table name is empty"));
    }
    let columns: Vec<String> = cols.split(',').map(|c| c.trim().to_string()).collect();
    if columns.iter().any(String::is_empty) {
        return Err(format!(
            "{text:?}: a column name is empty (expected TABLE=col1,col2)"
        ));
    }
    Ok(PrimaryKey {
        table: table.to_string(),
        columns,
    })
}

/// Parses a positive, finite number of seconds.
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!("{text:?}: expected a positive number of seconds")),
    }
}

/// The table name a PATH stands for: the folder's name for a folder, else the file's stem
/// (the name without its last extension). `.` and `..` are resolved first. Errors: a path
/// without any name (`/`).
pub fn table_name(path: &Path) -> Result<String> {
    let resolved;
    let path = if path.file_name().is_none() {
        resolved = std::fs::canonicalize(path)
            .with_context(|| format!("{}: cannot resolve the path", path.display()))?;
        resolved.as_path()
    } else {
        path
    };
    let name = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    name.map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow!("{}: no table name can be taken from it", path.display()))
}

/// The Parquet files of a table PATH, with their rows (from each file's footer) and bytes (file
/// size), as a [`SyncedTable`] named `name` (its `columns` stay empty: the profiler reads the
/// schema from the files). A file PATH is the table's only file, whatever its extension; a
/// folder contributes every file whose name ends in `.parquet` below it, in path order.
///
/// `DataFile::path` is the file name for a file PATH and `<name>/<path within the folder>` for a
/// folder, with `/` separators; `abs_path` is the path to open.
///
/// Errors, each naming the path: it does not exist or cannot be read, a folder holds no
/// `.parquet` file, a file's Parquet footer cannot be read.
pub fn discover_table(name: &str, path: &Path) -> Result<SyncedTable> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    let found: Vec<(PathBuf, String)> = if meta.is_dir() {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.with_context(|| format!("listing {}", path.display()))?;
            let is_parquet = entry
                .path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("parquet"));
            if entry.file_type().is_file() && is_parquet {
                let rel = entry
                    .path()
                    .strip_prefix(path)
                    .unwrap_or(entry.path())
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((entry.path().to_path_buf(), format!("{name}/{rel}")));
            }
        }
        if files.is_empty() {
            bail!(
                "{}: the folder holds no .parquet file (searched recursively)",
                path.display()
            );
        }
        files
    } else {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
        vec![(path.to_path_buf(), file_name)]
    };

    let mut files = Vec::with_capacity(found.len());
    for (abs_path, rel) in found {
        let file =
            File::open(&abs_path).with_context(|| format!("opening {}", abs_path.display()))?;
        let bytes = file
            .metadata()
            .with_context(|| format!("{}", abs_path.display()))?
            .len();
        let reader = SerializedFileReader::new(file)
            .with_context(|| format!("reading the Parquet footer of {}", abs_path.display()))?;
        let rows = u64::try_from(reader.metadata().file_metadata().num_rows()).map_err(|_| {
            anyhow!(
                "{}: the Parquet footer gives a negative row count",
                abs_path.display()
            )
        })?;
        files.push(DataFile {
            path: rel,
            abs_path,
            rows,
            bytes,
        });
    }
    Ok(SyncedTable {
        table: name.to_string(),
        columns: Vec::new(),
        rows: files.iter().map(|f| f.rows).sum(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        files,
        source: format!("parquet: {}", path.display()),
        elapsed_ms: 0,
        run: Default::default(),
    })
}

/// Run `broker profile`. Writes the JSON document to `--out` or stdout, one error line per
/// failed table and a one-line summary to stderr. Returns 0, 1 or 2 as the module doc says.
pub fn run(args: Args) -> i32 {
    let started = Instant::now();
    let stderr = |line: &str| {
        let _ = writeln!(std::io::stderr(), "{line}");
    };

    // Usage checks: every path names a distinct table; every --primary-key names one of them,
    // once.
    let mut tables: Vec<(String, &Path)> = Vec::with_capacity(args.paths.len());
    for path in &args.paths {
        let name = match table_name(path) {
            Ok(n) => n,
            Err(e) => {
                stderr(&format!("error: {e:#}"));
                return 2;
            }
        };
        if let Some((_, other)) = tables.iter().find(|(n, _)| *n == name) {
            stderr(&format!(
                "error: {} and {} both name table {name}; profile them in separate runs",
                other.display(),
                path.display()
            ));
            return 2;
        }
        tables.push((name, path));
    }
    let mut keys: BTreeMap<&str, &[String]> = BTreeMap::new();
    for pk in &args.primary_key {
        if !tables.iter().any(|(n, _)| *n == pk.table) {
            let names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
            stderr(&format!(
                "error: --primary-key {}: no PATH is table {} (tables: {})",
                pk.table,
                pk.table,
                names.join(", ")
            ));
            return 2;
        }
        if keys.insert(&pk.table, &pk.columns).is_some() {
            stderr(&format!(
                "error: --primary-key given twice for table {}",
                pk.table
            ));
            return 2;
        }
    }

    let settings = ProfileSettings {
        sample_rows: args.sample_rows,
        time_budget_s: args.time_budget_s,
    };
    let mut failed: BTreeSet<&str> = BTreeSet::new();
    let mut found = Vec::with_capacity(tables.len());
    for (name, path) in &tables {
        match discover_table(name, path) {
            Ok(synced) => {
                let spec = TableSpec::bare(name, keys.get(name.as_str()).copied().unwrap_or(&[]));
                found.push((spec, synced, *path));
            }
            Err(e) => {
                // The error starts with the path.
                stderr(&format!("error: table {name}: {e:#}"));
                failed.insert(name);
            }
        }
    }
    let jobs: Vec<ProfileJob> = found
        .iter()
        .map(|(spec, synced, _)| ProfileJob {
            spec,
            synced,
            settings: settings.clone(),
            previous: None,
        })
        .collect();
    let results = profile::profile_all(&jobs);

    let mut out = ProfilesFile {
        version: PROFILES_VERSION,
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        tables: BTreeMap::new(),
    };
    let mut rows = 0u64;
    for ((spec, _, path), result) in found.iter().zip(results) {
        match result {
            Ok(p) => {
                rows += p.row_count;
                out.tables.insert(spec.name.clone(), p);
            }
            Err(e) => {
                stderr(&format!(
                    "error: table {} ({}): {e:#}",
                    spec.name,
                    path.display()
                ));
                failed.insert(&spec.name);
            }
        }
    }

    let written = match &args.out {
        Some(file) => crate::publish::write_json_atomic(file, &out)
            .with_context(|| format!("writing {}", file.display())),
        None => write_stdout(&out),
    };
    if let Err(e) = written {
        stderr(&format!("error: {e:#}"));
        return 1;
    }
    stderr(&format!(
        "profiled {} of {} tables ({rows} rows) in {:.2} s{}",
        out.tables.len(),
        tables.len(),
        started.elapsed().as_secs_f64(),
        match &args.out {
            Some(f) => format!(" → {}", f.display()),
            None => String::new(),
        }
    ));
    if failed.is_empty() {
        0
    } else {
        stderr(&format!(
            "failed: {}",
            failed.into_iter().collect::<Vec<_>>().join(", ")
        ));
        1
    }
}

/// The document, pretty-printed, on stdout.
fn write_stdout(out: &ProfilesFile) -> Result<()> {
    let mut text = serde_json::to_string_pretty(out)?;
    text.push('\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("writing to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_key_flag() {
        assert_eq!(
            parse_primary_key("orders=order_id"),
            Ok(PrimaryKey {
                table: "orders".into(),
                columns: vec!["order_id".into()]
            })
        );
        assert_eq!(
            parse_primary_key(" items = order_id, line ")
                .unwrap()
                .columns,
            vec!["order_id", "line"]
        );
        assert!(parse_primary_key("orders").is_err());
        assert!(parse_primary_key("=id").is_err());
        assert!(parse_primary_key("orders=").is_err());
        assert!(parse_primary_key("orders=a,,b").is_err());
    }

    #[test]
    fn seconds_flag() {
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("NaN").is_err());
    }

    #[test]
    fn names_of_paths() {
        let dir = crate::testkit::tempdir().unwrap();
        let folder = dir.path().join("events");
        std::fs::create_dir(&folder).unwrap();
        assert_eq!(table_name(&folder).unwrap(), "events");
        assert_eq!(
            table_name(Path::new("data/orders.parquet")).unwrap(),
            "orders"
        );
        assert!(table_name(Path::new("/")).is_err());
    }
}
