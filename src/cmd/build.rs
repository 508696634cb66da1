//! `broker build`: sync every table, profile it, run the metrics, render the catalog and publish
//! the tree atomically. Exit code 0 when all went well, 1 when some table or metric failed (the
//! rest is still published), 2 for a usage or configuration error (nothing published).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::config::{Config, DataSource};
use crate::content::{Content, SyncStrategy, TableSpec};
use crate::metrics::{self, MetricResult, TableView};
use crate::profile::{self, ProfilesFile, TableProfile, PROFILES_VERSION};
use crate::publish::{self, Manifest, Staging};
use crate::report::{Reporter, Verbosity};
use crate::sample_data;
use crate::site::{self, SiteInput, TableReport};
use crate::sync::{self, csv_source::CsvConnector, Connector, SyncedTable};

/// Flags of `broker build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The instance folder (holds config/instance.yaml and content/).
    #[arg(long, default_value = ".")]
    pub instance: PathBuf,
    /// Publish here instead of the `output` of instance.yaml.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print a JSON summary object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail.
    #[arg(short, long)]
    pub verbose: bool,
}

/// The `--json` summary.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// `ok` or `failed` (some table or metric failed; the rest was published).
    pub status: &'static str,
    /// Build id (folder name of the published build).
    pub build_id: String,
    /// The published output path.
    pub output: String,
    /// Per table: rows, bytes, error.
    pub tables: Vec<TableSummary>,
    /// Metrics whose every query ran.
    pub metrics_ok: usize,
    /// Metrics with a failed query, with the first error.
    pub metrics_failed: Vec<(String, String)>,
    /// Warnings (broken links, metrics naming unknown tables, …).
    pub warnings: Vec<String>,
    /// Seconds per stage.
    pub timings: BTreeMap<&'static str, f64>,
}

/// One table in the summary.
#[derive(Debug, Serialize)]
pub struct TableSummary {
    /// Table name.
    pub name: String,
    /// Rows published (from this build, or kept from the previous one when it failed).
    pub rows: Option<u64>,
    /// Bytes of its data files.
    pub bytes: Option<u64>,
    /// The error, when this build could not sync it.
    pub error: Option<String>,
}

/// Run the build; returns the exit code.
pub fn run(args: Args) -> i32 {
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else if args.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let log = Reporter::new(verbosity);
    // With --json, stdout always holds one object, also when the build does not run.
    let early = |status: &str, error: Option<String>, code: i32| -> i32 {
        if let Some(e) = &error {
            log.error(e);
        }
        if args.json {
            println!("{}", serde_json::json!({"status": status, "error": error}));
        }
        code
    };
    let mut config = match Config::load(&args.instance) {
        Ok(c) => c,
        Err(e) => return early("config_error", Some(format!("{e:#}")), 2),
    };
    if let Some(out) = &args.out {
        match std::path::absolute(out) {
            Ok(p) => config.output = p,
            Err(e) => {
                return early(
                    "config_error",
                    Some(format!("--out {}: {e}", out.display())),
                    2,
                )
            }
        }
    }
    if config.instance_dir.starts_with(&config.output) || config.state.starts_with(&config.output) {
        let msg = format!(
            "output {} would contain the instance folder {} or the state folder {}; choose an output beside them",
            config.output.display(),
            config.instance_dir.display(),
            config.state.display()
        );
        return early("config_error", Some(msg), 2);
    }
    if let Err(e) = publish::check_output(&config.output) {
        return early("config_error", Some(format!("{e:#}")), 2);
    }
    let content = match Content::load(&config.content_dir()) {
        Ok(c) => c,
        Err(e) => return early("config_error", Some(format!("{e:#}")), 2),
    };
    let _lock = match publish::lock(&config.state) {
        Ok(Some(l)) => l,
        Ok(None) => {
            log.info("another build of this instance is running; nothing to do");
            return early("skipped", None, 0);
        }
        Err(e) => return early("config_error", Some(format!("{e:#}")), 2),
    };
    match build(&config, &content, &log) {
        Ok(summary) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            }
            i32::from(summary.status != "ok")
        }
        Err(e) => early(
            "failed",
            Some(format!("build failed, nothing published: {e:#}")),
            1,
        ),
    }
}

/// The pipeline: config → content → sync → profile → metrics → site → publish.
fn build(config: &Config, content: &Content, log: &Reporter) -> anyhow::Result<Summary> {
    let now = chrono::Utc::now();
    let build_id = now.format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let built_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut timings = BTreeMap::new();
    let mut warnings = Vec::new();

    let connector = prepare_source(config, log)?;
    let staging = Staging::create(&config.output, &build_id)?;
    let previous = publish::current_tree(&config.output);

    log.info(&format!("sync: {} tables", content.tables.len()));
    let t = Instant::now();
    let synced = sync_tables(
        content,
        connector.as_ref(),
        &staging,
        previous.as_deref(),
        &build_id,
        log,
    )?;
    timings.insert("sync", t.elapsed().as_secs_f64());

    log.info("profile: every table and column");
    let t = Instant::now();
    let profiles = profile_tables(content, &synced, log);
    timings.insert("profile", t.elapsed().as_secs_f64());
    log.info(&format!("profile: done in {:.2} s", timings["profile"]));

    log.info(&format!("metrics: {} metrics", content.metrics.len()));
    let t = Instant::now();
    let metric_results = run_metrics(content, &synced, log)?;
    timings.insert("metrics", t.elapsed().as_secs_f64());
    log.info(&format!("metrics: done in {:.2} s", timings["metrics"]));

    log.info("site: pages, JSON twins, analyst kit, manifest");
    let t = Instant::now();
    let reports: Vec<TableReport> = content
        .tables
        .iter()
        .zip(synced.iter())
        .zip(profiles)
        .map(|((spec, s), profile)| TableReport {
            spec: spec.clone(),
            synced: s.data.clone(),
            profile,
            error: s.error.clone(),
        })
        .collect();
    write_meta(staging.root(), &built_at, &reports)?;
    let input = SiteInput {
        instance_name: config.name.clone(),
        instance_subtitle: config.subtitle.clone(),
        built_at: built_at.clone(),
        broker_version: env!("CARGO_PKG_VERSION").to_string(),
        content: content.clone(),
        tables: reports,
        metrics: metric_results,
        catalog: config.catalog.clone(),
    };
    let site_warnings = site::render(&input, staging.root(), config.theme.as_deref())?;
    for w in &site_warnings {
        log.warn(w);
    }
    warnings.extend(site_warnings);
    let kept: Vec<(&SyncedTable, String)> = synced
        .iter()
        .filter_map(|s| s.data.as_ref().map(|d| (d, s.synced_in.clone())))
        .collect();
    let manifest = Manifest::of(&build_id, &built_at, &kept)?;
    publish::write_json_atomic(&staging.root().join("meta/manifest.json"), &manifest)?;
    timings.insert("site", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let linked = staging.publish(config.keep_builds)?;
    timings.insert("publish", t.elapsed().as_secs_f64());
    log.detail(&format!(
        "{linked} unchanged files kept from the previous build"
    ));

    let summary = summarize(
        config,
        &build_id,
        &synced,
        &input.metrics,
        warnings,
        timings,
    );
    log.info(&format!(
        "published {} ({} tables, {} failed; {} metrics, {} failed)",
        config.output.display(),
        summary.tables.len(),
        summary.tables.iter().filter(|t| t.error.is_some()).count(),
        input.metrics.len(),
        summary.metrics_failed.len()
    ));
    Ok(summary)
}

/// The connector of the configured data source; for a demo instance, generates the sample CSV
/// files first when they are missing.
fn prepare_source(config: &Config, log: &Reporter) -> anyhow::Result<Box<dyn Connector>> {
    match &config.data_source {
        DataSource::Csv { folder, sample } => {
            if let Some((size, seed)) = sample {
                if !sample_data::is_current(*size, *seed, folder) {
                    log.info(&format!(
                        "generating the demo shop's CSV files into {}",
                        folder.display()
                    ));
                    sample_data::generate(*size, *seed, folder).with_context(|| {
                        format!("{}: cannot generate sample data", folder.display())
                    })?;
                }
            }
            Ok(Box::new(CsvConnector {
                folder: folder.clone(),
            }))
        }
    }
}

/// The sync outcome of one table.
struct Synced {
    /// Table name.
    name: String,
    /// Data published for the table: this build's, or the previous build's when this one failed.
    data: Option<SyncedTable>,
    /// The error of this build's sync.
    error: Option<String>,
    /// Build id the data comes from.
    synced_in: String,
}

fn sync_tables(
    content: &Content,
    connector: &dyn Connector,
    staging: &Staging,
    previous: Option<&Path>,
    build_id: &str,
    log: &Reporter,
) -> anyhow::Result<Vec<Synced>> {
    for spec in &content.tables {
        if spec.sync_strategy != SyncStrategy::FullRefresh {
            log.warn(&format!(
                "sync  {}: sync_strategy {} is not supported yet; the table is read whole (full_refresh)",
                spec.name, spec.sync_strategy
            ));
        }
    }
    let results = sync::sync_all(connector, &content.tables, staging.root());
    let prev_manifest = previous.and_then(Manifest::read);
    let mut out = Vec::with_capacity(results.len());
    for (spec, result) in content.tables.iter().zip(results) {
        match result {
            Ok(t) => {
                log.info(&format!(
                    "sync  {}: {} rows, {} bytes ({} ms)",
                    spec.name, t.rows, t.bytes, t.elapsed_ms
                ));
                out.push(Synced {
                    name: spec.name.clone(),
                    data: Some(t),
                    error: None,
                    synced_in: build_id.to_string(),
                });
            }
            Err(e) => {
                let msg = format!("{e:#}");
                log.error(&format!("sync  {}: {msg}", spec.name));
                let kept = match (previous, &prev_manifest) {
                    (Some(prev), Some(m)) => keep_previous(spec, m, prev, staging.root())?,
                    _ => None,
                };
                if kept.is_some() {
                    log.warn(&format!(
                        "sync  {}: keeping the previously published data",
                        spec.name
                    ));
                }
                let (data, synced_in) = match kept {
                    Some((d, id)) => (Some(d), id),
                    None => (None, String::new()),
                };
                out.push(Synced {
                    name: spec.name.clone(),
                    data,
                    error: Some(msg),
                    synced_in,
                });
            }
        }
    }
    Ok(out)
}

/// Hard-link a failed table's files from the previous build into staging, so nothing already
/// published is lost.
fn keep_previous(
    spec: &TableSpec,
    manifest: &Manifest,
    prev_root: &Path,
    root: &Path,
) -> anyhow::Result<Option<(SyncedTable, String)>> {
    let Some((table, synced_in)) = manifest.synced_table(&spec.name, root) else {
        return Ok(None);
    };
    for f in &table.files {
        let src = prev_root.join(&f.path);
        if let Some(parent) = f.abs_path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let _ = std::fs::remove_file(&f.abs_path);
        std::fs::hard_link(&src, &f.abs_path)
            .or_else(|_| std::fs::copy(&src, &f.abs_path).map(|_| ()))
            .with_context(|| format!("{}: cannot keep previous data", src.display()))?;
    }
    Ok(Some((table, synced_in)))
}

fn profile_tables(
    content: &Content,
    synced: &[Synced],
    log: &Reporter,
) -> Vec<Option<TableProfile>> {
    let items: Vec<(&TableSpec, &SyncedTable)> = content
        .tables
        .iter()
        .zip(synced)
        .filter_map(|(spec, s)| s.data.as_ref().map(|d| (spec, d)))
        .collect();
    let mut results = profile::profile_all(&items).into_iter();
    let mut out = Vec::with_capacity(synced.len());
    for (spec, s) in content.tables.iter().zip(synced) {
        if s.data.is_none() {
            out.push(None);
            continue;
        }
        match results.next() {
            Some(Ok(p)) => out.push(Some(p)),
            Some(Err(e)) => {
                log.error(&format!("profile {}: {e:#}", spec.name));
                out.push(None);
            }
            None => out.push(None),
        }
    }
    out
}

fn run_metrics(
    content: &Content,
    synced: &[Synced],
    log: &Reporter,
) -> anyhow::Result<Vec<MetricResult>> {
    let views: Vec<TableView> = synced
        .iter()
        .filter_map(|s| s.data.as_ref())
        .map(|d| TableView {
            name: d.table.clone(),
            files: d.files.iter().map(|f| f.abs_path.clone()).collect(),
            timestamptz_columns: d
                .columns
                .iter()
                .filter(|c| c.column_type == crate::content::ColumnType::Timestamptz)
                .map(|c| c.name.clone())
                .collect(),
        })
        .collect();
    let conn = metrics::open_views(&views)?;
    let mut results = metrics::run_all(&conn, &content.metrics);
    // A query over a table this build has no data for fails in DuckDB with an unrelated hint
    // ("Did you mean ..."): say which table is missing and why.
    for r in &mut results {
        let missing: Vec<String> = r
            .metric
            .tables_used()
            .into_iter()
            .filter(|t| !views.iter().any(|v| &v.name == t))
            .collect();
        if missing.is_empty() {
            continue;
        }
        for q in &mut r.results {
            if let Some(e) = &q.error {
                q.error = Some(format!(
                    "table {} not available (its sync failed, see its page); DuckDB said: {e}",
                    missing.join(", ")
                ));
            }
        }
    }
    for r in &results {
        for q in &r.results {
            match &q.error {
                Some(e) => log.error(&format!("metric {} ({}): {e}", r.metric.name, q.key)),
                None => log.detail(&format!(
                    "metric {} ({}): {} rows ({} ms)",
                    r.metric.name, q.key, q.row_count, q.elapsed_ms
                )),
            }
        }
    }
    Ok(results)
}

/// `meta/profiles.json` and `meta/schema.json`.
fn write_meta(root: &Path, built_at: &str, reports: &[TableReport]) -> anyhow::Result<()> {
    let profiles = ProfilesFile {
        version: PROFILES_VERSION,
        generated_at: built_at.to_string(),
        tables: reports
            .iter()
            .filter_map(|r| r.profile.clone().map(|p| (r.spec.name.clone(), p)))
            .collect(),
    };
    publish::write_json_atomic(&root.join("meta/profiles.json"), &profiles)?;
    let tables: BTreeMap<&str, serde_json::Value> = reports
        .iter()
        .map(|r| {
            let columns: Vec<serde_json::Value> = r
                .synced
                .iter()
                .flat_map(|s| s.columns.iter())
                .map(|c| {
                    serde_json::json!({
                        "name": c.name,
                        "source_name": c.source_name,
                        "type": c.column_type,
                        "type_source": c.type_source,
                        "meaning": c.column_type.meaning(),
                        "note": c.note,
                        "description": r.spec.column(&c.name).and_then(|d| d.description.clone()),
                    })
                })
                .collect();
            (
                r.spec.name.as_str(),
                serde_json::json!({
                    "id": r.spec.id,
                    "description": r.spec.description,
                    "folder": r.spec.folder,
                    "primary_key": r.spec.primary_key,
                    "sync_strategy": r.spec.sync_strategy,
                    "foreign_keys": r.spec.foreign_keys,
                    "files": r.synced.iter().flat_map(|s| s.files.iter().map(|f| f.path.clone())).collect::<Vec<_>>(),
                    "columns": columns,
                }),
            )
        })
        .collect();
    publish::write_json_atomic(
        &root.join("meta/schema.json"),
        &serde_json::json!({"version": 1, "tables": tables}),
    )
}

fn summarize(
    config: &Config,
    build_id: &str,
    synced: &[Synced],
    metrics: &[MetricResult],
    warnings: Vec<String>,
    timings: BTreeMap<&'static str, f64>,
) -> Summary {
    let tables: Vec<TableSummary> = synced
        .iter()
        .map(|s| TableSummary {
            name: s.name.clone(),
            rows: s.data.as_ref().map(|d| d.rows),
            bytes: s.data.as_ref().map(|d| d.bytes),
            error: s.error.clone(),
        })
        .collect();
    let metrics_failed: Vec<(String, String)> = metrics
        .iter()
        .filter_map(|m| {
            m.results
                .iter()
                .find_map(|q| q.error.clone())
                .map(|e| (m.metric.name.clone(), e))
        })
        .collect();
    let failed = tables.iter().any(|t| t.error.is_some()) || !metrics_failed.is_empty();
    Summary {
        status: if failed { "failed" } else { "ok" },
        build_id: build_id.to_string(),
        output: config.output.display().to_string(),
        metrics_ok: metrics.len() - metrics_failed.len(),
        tables,
        metrics_failed,
        warnings,
        timings,
    }
}
