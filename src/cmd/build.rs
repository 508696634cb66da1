//! `broker build`: sync every table, profile it, run the metrics, render the catalog and publish
//! the tree atomically. Exit code 0 when all went well, 1 when some table or metric failed (the
//! rest is still published), 2 for a usage or configuration error or when another build of the
//! instance is running (nothing published).

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
use crate::state::{self, SyncState, SyncStatus, TableState, STATE_VERSION};
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
    /// Sync only these tables (comma-separated names); the others keep their published data.
    #[arg(long, value_delimiter = ',', value_name = "TABLES")]
    pub select: Vec<String>,
    /// Do not sync these tables (comma-separated names); they keep their published data.
    #[arg(long, value_delimiter = ',', value_name = "TABLES")]
    pub exclude: Vec<String>,
    /// Ignore stored cursors and published data: rebuild the synced tables from every source row.
    #[arg(long)]
    pub full_refresh: bool,
    /// Profile every table again, even those whose Parquet files did not change.
    #[arg(long)]
    pub reprofile: bool,
    /// Say what would be read and written, then stop: no data is read, nothing is written.
    #[arg(long)]
    pub dry_run: bool,
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
    /// Build id (folder name of the published build: this build's, or the previous one's when
    /// this build changed nothing, see `published`).
    pub build_id: String,
    /// Whether this build published a new tree; `false` when its tree would have differed
    /// from the published one only in when it ran ([`crate::publish::PER_BUILD_FILES`]).
    pub published: bool,
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
    /// Seconds per stage (`sync`, `profile`, `metrics`, `site`, `publish`), and `render`: the
    /// part of `site` that renders the pages, twins, assets and `meta/`; `render_cpu`: the CPU
    /// seconds (user and system, all threads) the process spent in `render`.
    pub timings: BTreeMap<&'static str, f64>,
}

/// One table in the summary.
#[derive(Debug, Serialize)]
pub struct TableSummary {
    /// Table name.
    pub name: String,
    /// `full_refresh`, `incremental` or `partitioned`.
    pub strategy: SyncStrategy,
    /// `ok`, `failed` (previous data kept when there was some) or `skipped` (not selected).
    pub status: &'static str,
    /// Rows taken from the source in this build (after an incremental table's cursor filter).
    pub rows_read: Option<u64>,
    /// Rows published (from this build, or kept from the previous one).
    pub rows: Option<u64>,
    /// Row groups of the previously published files copied unchanged (raw bytes) into the files
    /// this build rewrote (`incremental` and `partitioned` tables; 0 for a full refresh).
    pub row_groups_copied: Option<usize>,
    /// Row groups of the previously published files decoded and encoded again (they held a key
    /// read in this build, were small, or the schema changed).
    pub row_groups_rewritten: Option<usize>,
    /// Bytes of its data files.
    pub bytes: Option<u64>,
    /// Seconds spent syncing it.
    pub seconds: f64,
    /// The table's cursor after this build (incremental tables): moved by this run, or kept
    /// when the run failed or skipped the table; `None` before a run has read a cursor value.
    pub cursor: Option<String>,
    /// The error, when this build could not sync it.
    pub error: Option<String>,
}

/// Run the build; returns the exit code: 0 ok, 1 some table or metric failed (or the build
/// failed and published nothing), 2 a configuration error or another build of the instance holds
/// its lock (`state/build.lock`). With `--json`, stdout holds the [`Summary`], or an object with
/// `status` (`config_error`, `failed`, `locked`) and `error`; `locked` adds `running`, the
/// running build's `pid`, `started_at` and `instance` (null when unknown).
pub fn run(args: Args) -> i32 {
    let verbosity = Verbosity::from_flags(args.quiet, args.verbose);
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
    let selected = match select_tables(&content, &args.select, &args.exclude) {
        Ok(s) => s,
        Err(e) => return early("config_error", Some(format!("{e:#}")), 2),
    };
    let state = match SyncState::load(&config.state) {
        Ok(s) => s,
        Err(e) if args.full_refresh && selected.iter().all(|s| *s) => {
            log.warn(&format!("{e:#}; --full-refresh starts a new state"));
            SyncState::default()
        }
        Err(e) => {
            let hint = if args.full_refresh {
                " (--full-refresh starts a new state only for every table at once: drop --select/--exclude, or the other tables' cursors would be forgotten)"
            } else {
                ""
            };
            return early("config_error", Some(format!("{e:#}{hint}")), 2);
        }
    };
    let run = Run {
        separate_output: args.out.is_some(),
        selected,
        full_refresh: args.full_refresh,
        reprofile: args.reprofile,
        state,
        metrics: None,
    };
    if args.dry_run {
        return match dry_run(&config, &content, &run, args.json) {
            Ok(()) => 0,
            Err(e) => early("config_error", Some(format!("{e:#}")), 2),
        };
    }
    match locked_build(&config, &content, &run, &log) {
        Ok((summary, _)) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            }
            i32::from(summary.status != "ok")
        }
        Err(Failure::Locked { message, holder }) => {
            log.error(&message);
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"status": "locked", "error": message, "running": holder})
                );
            }
            2
        }
        Err(Failure::Config(e)) => early("config_error", Some(e), 2),
        Err(Failure::Failed(e)) => early("failed", Some(e), 2),
    }
}

/// Why a build published nothing.
#[derive(Debug)]
pub enum Failure {
    /// `instance.yaml`, `.env`, the content files or the sync state cannot be used (the message
    /// names file, line and key where known).
    Config(String),
    /// Another build of the instance holds its lock (`state/build.lock`).
    Locked {
        /// What to tell the user: instance, lock file, and the running build's PID and start.
        message: String,
        /// What the lock file says about the running build, when readable.
        holder: Option<publish::LockInfo>,
    },
    /// The build started and failed before publishing (disk full, a source that cannot be
    /// prepared, …): `build failed, nothing published: <cause>`.
    Failed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Config(m) | Failure::Failed(m) | Failure::Locked { message: m, .. } => {
                f.write_str(m)
            }
        }
    }
}

/// Which stages a build started by `broker serve` runs again; the others keep what the
/// previously published tree holds. Ordered: a larger scope includes the smaller ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Render the site: no table is synced (every table keeps its published files, hard-linked),
    /// profiles of the unchanged files are reused, and metric results passed in are reused.
    Site,
    /// Run the metrics and render the site: no table is synced, profiles are reused.
    Metrics,
    /// A normal build: every table synced, then profile, metrics, site.
    Full,
}

/// Build `instance` as `broker build --instance <instance>` does, limited to `scope`, and publish
/// it. `metrics`: results of an earlier build of the same metric files over the same data,
/// reused by [`Scope::Site`] instead of running the queries again (ignored by the other scopes).
///
/// Returns the summary and the metric results of the published tree (to pass to a later
/// [`Scope::Site`] build). Errors: a [`Failure`]; nothing was published then.
pub fn build_instance(
    instance: &Path,
    scope: Scope,
    metrics: Option<Vec<MetricResult>>,
    log: &Reporter,
) -> Result<(Summary, Vec<MetricResult>), Failure> {
    let config = Config::load(instance).map_err(|e| Failure::Config(format!("{e:#}")))?;
    publish::check_output(&config.output).map_err(|e| Failure::Config(format!("{e:#}")))?;
    let content =
        Content::load(&config.content_dir()).map_err(|e| Failure::Config(format!("{e:#}")))?;
    let state = SyncState::load(&config.state).map_err(|e| Failure::Config(format!("{e:#}")))?;
    // Without a published tree there is nothing to keep: every stage runs.
    let scope = if publish::current_tree(&config.output).is_none() {
        Scope::Full
    } else {
        scope
    };
    let run = Run {
        separate_output: false,
        selected: vec![scope == Scope::Full; content.tables.len()],
        full_refresh: false,
        reprofile: false,
        state,
        metrics: metrics.filter(|_| scope == Scope::Site),
    };
    locked_build(&config, &content, &run, log)
}

/// Take the instance's build lock, remove what builds that did not finish left, and run
/// [`build`].
fn locked_build(
    config: &Config,
    content: &Content,
    run: &Run,
    log: &Reporter,
) -> Result<(Summary, Vec<MetricResult>), Failure> {
    let lock_path = config.state.join(publish::LOCK_FILE);
    let lock = match publish::lock(&config.state, &config.name) {
        Ok(publish::Lock::Acquired { lock, stale }) => {
            if let Some(s) = stale {
                log.warn(&format!(
                    "took over a stale lock from PID {} (a build of instance \"{}\" started {} and did not end: killed or crashed); {}",
                    s.pid,
                    s.instance,
                    s.started_at,
                    lock_path.display()
                ));
            }
            lock
        }
        Ok(publish::Lock::Held(holder)) => {
            let running = match &holder {
                Some(h) => format!("PID {}, started {}", h.pid, h.started_at),
                None => "PID and start time unknown (the lock file holds no information)".into(),
            };
            let message = format!(
                "another build of instance \"{}\" ({}) is running: {running}; lock {}; this build did nothing",
                config.name,
                config.instance_dir.display(),
                lock_path.display()
            );
            return Err(Failure::Locked { message, holder });
        }
        Err(e) => return Err(Failure::Config(format!("{e:#}"))),
    };
    let failed =
        |e: anyhow::Error| Failure::Failed(format!("build failed, nothing published: {e:#}"));
    // Under the lock no other build runs: what a dead one left beside the output is garbage.
    for p in publish::remove_leftovers(&config.output, &lock).map_err(failed)? {
        log.info(&format!(
            "removed {}, left by a build that did not finish",
            p.display()
        ));
    }
    build(config, content, run, log).map_err(failed)
}

/// The pipeline: config → content → sync → profile → metrics → site → publish.
fn build(
    config: &Config,
    content: &Content,
    run: &Run,
    log: &Reporter,
) -> anyhow::Result<(Summary, Vec<MetricResult>)> {
    let now = chrono::Utc::now();
    let build_id = now.format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let built_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut timings = BTreeMap::new();
    let mut warnings = Vec::new();

    let connector = prepare_source(config, log)?;
    let staging = Staging::create(&config.output, &build_id)?;
    let previous = publish::current_tree(&config.output);

    log.info(&format!(
        "sync: {} of {} tables{}",
        run.selected.iter().filter(|s| **s).count(),
        content.tables.len(),
        if run.full_refresh {
            " (full refresh)"
        } else {
            ""
        }
    ));
    let t = Instant::now();
    let synced = sync_tables(
        content,
        connector.as_ref(),
        &staging,
        previous.as_deref(),
        run,
        (&build_id, now),
        log,
    )?;
    timings.insert("sync", t.elapsed().as_secs_f64());

    log.info("profile: every table and column");
    let t = Instant::now();
    let profiles = profile_tables(config, content, &synced, run, previous.as_deref(), log);
    timings.insert("profile", t.elapsed().as_secs_f64());
    log.info(&format!("profile: done in {:.2} s", timings["profile"]));

    let metric_results = match &run.metrics {
        Some(results) => {
            log.info("metrics: results of the previous build reused");
            results.clone()
        }
        None => {
            log.info(&format!("metrics: {} metrics", content.metrics.len()));
            let t = Instant::now();
            let results = run_metrics(content, &synced, log)?;
            timings.insert("metrics", t.elapsed().as_secs_f64());
            log.info(&format!("metrics: done in {:.2} s", timings["metrics"]));
            results
        }
    };

    log.info("site: pages, JSON twins, analyst kit, manifest");
    let t = Instant::now();
    let new_state = next_state(&run.state, content, &synced, &built_at, &build_id);
    let reports: Vec<TableReport> = content
        .tables
        .iter()
        .zip(synced.iter())
        .zip(profiles)
        .map(|((spec, s), profile)| TableReport {
            spec: spec.clone(),
            synced: s.data.clone(),
            profile,
            error: s.error.clone().or_else(|| {
                (!s.attempted && s.data.is_none()).then(|| {
                    "not synced yet: this build left it out (--select/--exclude) and no earlier build published it".to_string()
                })
            }),
            sync_state: new_state.tables.get(&spec.name).cloned(),
        })
        .collect();
    let input = SiteInput {
        instance_name: config.name.clone(),
        instance_subtitle: config.subtitle.clone(),
        built_at: built_at.clone(),
        broker_version: env!("CARGO_PKG_VERSION").to_string(),
        content: content.clone(),
        tables: reports,
        metrics: metric_results,
        catalog: config.catalog.clone(),
        rsync_source: config.rsync_source.clone(),
        brand: config.brand.clone(),
    };
    let kept: Vec<(&SyncedTable, String)> = synced
        .iter()
        .filter_map(|s| s.data.as_ref().map(|d| (d, s.synced_in.clone())))
        .collect();
    let manifest = Manifest::of(&build_id, &built_at, &kept)?;
    let mut site_warnings = config.brand.warnings(&config.file.display().to_string());
    let t_render = Instant::now();
    let cpu_render = process_cpu_seconds();
    let root = staging.root();
    let previous_full = previous
        .as_deref()
        .map(|p| publish::full_view_file(p, PROFILES_FILE));
    match site::private::public_view(&input) {
        None => site_warnings.extend(render_view(
            config,
            root,
            previous_full.as_deref(),
            (&input, None),
            &manifest,
        )?),
        Some(public) => {
            // The full view in the private overlay, then the public view at the root; the
            // overlay keeps only the files that differ.
            let overlay = root.join(site::private::PRIVATE_OVERLAY);
            let subset = site::private::overlay_subset(&input, &public);
            let mut view_warnings = render_view(
                config,
                &overlay,
                previous_full.as_deref(),
                (&input, Some(&subset)),
                &manifest,
            )?;
            let public_manifest = manifest.without(&site::private::private_tables(&input));
            let previous_public = previous.as_deref().map(|p| p.join(PROFILES_FILE));
            let public_warnings = render_view(
                config,
                root,
                previous_public.as_deref(),
                (&public, None),
                &public_manifest,
            )?;
            // The views share pages, and so warnings; what only the public view has (a public
            // doc's link to a doc left out of it) is said to be about that view.
            for w in public_warnings {
                if !view_warnings.contains(&w) {
                    view_warnings.push(format!("in the public view (without private tables): {w}"));
                }
            }
            site_warnings.extend(view_warnings);
            let overlay_files = site::private::keep_differences(root)?;
            log.detail(&format!(
                "private tables: {} files in the overlay {}",
                overlay_files,
                site::private::PRIVATE_OVERLAY
            ));
            site_warnings.extend(site::private::leak_warnings(
                root,
                &site::private::private_tables(&input),
            )?);
        }
    }
    timings.insert("render", t_render.elapsed().as_secs_f64());
    timings.insert("render_cpu", process_cpu_seconds() - cpu_render);
    for w in &site_warnings {
        log.warn(w);
    }
    warnings.extend(site_warnings);
    timings.insert("site", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let published = staging.publish(config.keep_builds)?;
    // The state follows the published tree: a build killed before this line re-reads from the
    // old cursors, and the merge by primary key makes that harmless.
    if !run.separate_output {
        new_state.save(&config.state)?;
    }
    timings.insert("publish", t.elapsed().as_secs_f64());
    if published.changed {
        log.detail(&format!(
            "{} unchanged files kept from the previous build",
            published.linked
        ));
    } else {
        log.info(&format!(
            "nothing changed since build {}: it stays published, no file rewritten",
            published.build_id
        ));
    }

    let summary = summarize(
        config,
        (&published.build_id, published.changed),
        content,
        (&synced, &new_state),
        &input.metrics,
        warnings,
        timings,
    );
    for t in &summary.tables {
        log.info(&format!(
            "table {:<20} {:<12} {:<7} read {:>10}  rows {:>10}  {:>7.2} s{}",
            t.name,
            t.strategy.to_string(),
            t.status,
            t.rows_read.map_or("-".to_string(), |r| r.to_string()),
            t.rows.map_or("-".to_string(), |r| r.to_string()),
            t.seconds,
            t.cursor
                .as_ref()
                .map_or(String::new(), |c| format!("  cursor {c}"))
        ));
    }
    log.info(&format!(
        "published {} ({} tables, {} failed; {} metrics, {} failed)",
        config.output.display(),
        summary.tables.len(),
        summary.tables.iter().filter(|t| t.error.is_some()).count(),
        input.metrics.len(),
        summary.metrics_failed.len()
    ));
    Ok((summary, input.metrics))
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
        }
        DataSource::Keboola(_) => {}
    }
    Ok(source_connector(config))
}

/// The connector of the configured data source.
pub fn source_connector(config: &Config) -> Box<dyn Connector> {
    match &config.data_source {
        DataSource::Csv { folder, .. } => Box::new(CsvConnector::new(folder.clone())),
        DataSource::Keboola(settings) => Box::new(crate::sync::keboola::KeboolaConnector::new(
            settings.clone(),
        )),
    }
}

/// What this build syncs and from which state.
struct Run {
    /// `--out`: a tree apart from the instance's output; cursors are not used and the state is
    /// not written (they belong to the instance's own output).
    separate_output: bool,
    /// Per table of `content.tables`: whether this build syncs it (`--select`, `--exclude`).
    selected: Vec<bool>,
    /// `--full-refresh`.
    full_refresh: bool,
    /// `--reprofile`.
    reprofile: bool,
    /// The state as the last build left it.
    state: SyncState,
    /// Metric results to publish instead of running the metrics (`broker serve` after an edit
    /// that changed neither metric files nor data).
    metrics: Option<Vec<MetricResult>>,
}

/// Which tables `--select` and `--exclude` leave. Errors: a name that is not a declared table;
/// a `--select` given but naming no table (`--select ""`, `--select ,`: from an empty shell
/// variable, and syncing every table would be the opposite of what was asked).
fn select_tables(
    content: &Content,
    select: &[String],
    exclude: &[String],
) -> anyhow::Result<Vec<bool>> {
    let given = !select.is_empty();
    let trim = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let (select, exclude) = (&trim(select)[..], &trim(exclude)[..]);
    if given && select.is_empty() {
        anyhow::bail!(
            "--select: names no table (an empty value); leave --select out to sync every table"
        );
    }
    for name in select.iter().chain(exclude) {
        if !content.tables.iter().any(|t| &t.name == name) {
            anyhow::bail!(
                "--select/--exclude: no table named `{name}` (tables: {})",
                content
                    .tables
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(content
        .tables
        .iter()
        .map(|t| (select.is_empty() || select.contains(&t.name)) && !exclude.contains(&t.name))
        .collect())
}

/// `--dry-run`: per table, what would be read (source, cursor) and written (layout), on stdout.
fn dry_run(config: &Config, content: &Content, run: &Run, json: bool) -> anyhow::Result<()> {
    let connector = source_connector(config);
    let generate = match &config.data_source {
        DataSource::Csv {
            folder,
            sample: Some((size, seed)),
        } if !sample_data::is_current(*size, *seed, folder) => Some(folder.clone()),
        _ => None,
    };
    let previous = publish::current_tree(&config.output);
    let manifest = previous.as_deref().and_then(Manifest::read);
    let mut plans = Vec::new();
    for (spec, selected) in content.tables.iter().zip(&run.selected) {
        let stored = run.state.tables.get(&spec.name);
        let published = manifest
            .as_ref()
            .and_then(|m| m.tables.iter().find(|t| t.name == spec.name));
        let read = if !selected {
            "nothing (not selected; the published data is kept)".to_string()
        } else if generate.is_some() {
            format!("csv: the demo shop's {}.csv, generated first", spec.name)
        } else {
            match connector.describe(spec) {
                Ok(d) => d,
                Err(e) => format!("error: {e:#}"),
            }
        };
        let cursor = stored
            .and_then(|s| s.cursor.as_ref())
            .filter(|_| !run.full_refresh && spec.sync_strategy == SyncStrategy::Incremental);
        let mode = match (spec.sync_strategy, run.full_refresh, published.is_some()) {
            (SyncStrategy::FullRefresh, ..) => "replace the table".to_string(),
            (_, true, _) | (_, _, false) => "build the table from every row read".to_string(),
            (SyncStrategy::Incremental, ..) => match cursor {
                Some(c) if c.column_type == crate::content::ColumnType::Int64 => format!(
                    "rows with {} >= {}, merged by primary key ({})",
                    c.column,
                    c.text,
                    spec.primary_key.join(", ")
                ),
                Some(c) => format!(
                    "rows with {} >= {} minus {} days, merged by primary key ({})",
                    c.column,
                    c.text,
                    spec.incremental_window_days,
                    spec.primary_key.join(", ")
                ),
                None => format!(
                    "every row, merged by primary key ({})",
                    spec.primary_key.join(", ")
                ),
            },
            (SyncStrategy::Partitioned, ..) => {
                "replace the partitions that receive rows".to_string()
            }
        };
        let write = match sync::merge::Layout::of(spec) {
            sync::merge::Layout::Single => format!("{}.parquet", spec.data_stem()),
            sync::merge::Layout::Partitioned {
                column,
                granularity,
            } => format!(
                "{}/{}/part-0.parquet (by {granularity} of {column})",
                spec.data_stem(),
                granularity
                    .keys()
                    .iter()
                    .map(|k| format!("{k}=…"))
                    .collect::<Vec<_>>()
                    .join("/")
            ),
        };
        plans.push(serde_json::json!({
            "table": spec.name,
            "selected": selected,
            "strategy": spec.sync_strategy,
            "read": read,
            "mode": if *selected { mode } else { "keep".to_string() },
            "write": write,
            "cursor": cursor.map(|c| c.text.clone()),
            "published_rows": published.map(|t| manifest.as_ref().map_or(0, |m| m.files.iter().filter(|f| f.table == t.name).map(|f| f.rows).sum::<u64>())),
        }));
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"status": "dry_run", "output": config.output.display().to_string(), "tables": plans})
            )?
        );
    } else {
        println!(
            "dry run: nothing is read or written; output {}",
            config.output.display()
        );
        if let Some(folder) = &generate {
            println!(
                "the demo shop's CSV files would be generated into {} first",
                folder.display()
            );
        }
        for p in &plans {
            println!(
                "{} ({}):\n  read:  {}\n  mode:  {}\n  write: {}",
                p["table"].as_str().unwrap_or(""),
                p["strategy"].as_str().unwrap_or(""),
                p["read"].as_str().unwrap_or(""),
                p["mode"].as_str().unwrap_or(""),
                p["write"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// The state after this build: per synced table its cursor, counts, schema and the schema change
/// against the last successful run; failed tables keep their cursor with the error; tables not
/// synced in this build are unchanged.
fn next_state(
    old: &SyncState,
    content: &Content,
    synced: &[Synced],
    built_at: &str,
    build_id: &str,
) -> SyncState {
    let mut state = SyncState {
        version: STATE_VERSION,
        tables: old.tables.clone(),
    };
    for (spec, s) in content.tables.iter().zip(synced) {
        if !s.attempted {
            continue;
        }
        let prev = old.tables.get(&spec.name);
        let entry = match (&s.error, &s.data) {
            (None, Some(d)) => {
                let columns = state::state_columns(&d.columns);
                let mut history = prev.map(|p| p.schema_history.clone()).unwrap_or_default();
                if let Some(mut change) =
                    prev.and_then(|p| state::diff(&p.columns, &columns, built_at, build_id))
                {
                    // A column without any value this run has an unknown type, not a new one.
                    change.retyped.retain(|r| {
                        d.columns
                            .iter()
                            .any(|c| c.name == r.name && sync::merge::has_values(c))
                    });
                    if !(change.added.is_empty()
                        && change.removed.is_empty()
                        && change.retyped.is_empty())
                    {
                        history.push(change);
                    }
                }
                let excess = history.len().saturating_sub(state::HISTORY_LIMIT);
                history.drain(..excess);
                TableState {
                    strategy: spec.sync_strategy,
                    layout: sync::merge::Layout::of(spec).describe(),
                    cursor: d.run.cursor.clone(),
                    last_run: built_at.to_string(),
                    last_success: Some(built_at.to_string()),
                    rows_read: d.run.rows_read,
                    rows_written: d.rows,
                    schema_fingerprint: state::fingerprint(&columns),
                    columns,
                    status: SyncStatus::Ok,
                    error: None,
                    schema_history: history,
                }
            }
            (error, _) => match prev {
                Some(p) => TableState {
                    last_run: built_at.to_string(),
                    status: SyncStatus::Failed,
                    error: error.clone(),
                    ..p.clone()
                },
                None => TableState {
                    strategy: spec.sync_strategy,
                    layout: sync::merge::Layout::of(spec).describe(),
                    cursor: None,
                    last_run: built_at.to_string(),
                    last_success: None,
                    rows_read: 0,
                    rows_written: 0,
                    schema_fingerprint: String::new(),
                    columns: Vec::new(),
                    status: SyncStatus::Failed,
                    error: error.clone(),
                    schema_history: Vec::new(),
                },
            },
        };
        state.tables.insert(spec.name.clone(), entry);
    }
    state
}

/// The sync outcome of one table.
struct Synced {
    /// Table name.
    name: String,
    /// Whether this build tried to sync it (false: not selected, previous data kept).
    attempted: bool,
    /// Data published for the table: this build's, or the previous build's when this one failed
    /// or did not sync it.
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
    run: &Run,
    (build_id, now): (&str, chrono::DateTime<chrono::Utc>),
    log: &Reporter,
) -> anyhow::Result<Vec<Synced>> {
    let prev_manifest = previous.and_then(Manifest::read);
    let runs: Vec<sync::TableRun> = content
        .tables
        .iter()
        .zip(&run.selected)
        .filter(|(_, sel)| **sel)
        .map(|(spec, _)| {
            let merges = spec.sync_strategy != SyncStrategy::FullRefresh && !run.full_refresh;
            let published = match (merges, previous, &prev_manifest) {
                (true, Some(root), Some(m)) => m.synced_table(&spec.name, root).map(|(t, _)| t),
                _ => None,
            };
            let stored = run.state.tables.get(&spec.name);
            // A cursor only means something next to the rows it was read with: without them
            // (output removed, another --out, first build) every source row is read again.
            let cursor = stored
                .and_then(|s| s.cursor.clone())
                .filter(|_| merges && published.is_some() && !run.separate_output);
            if merges
                && !run.separate_output
                && cursor.is_none()
                && stored.is_some_and(|s| s.cursor.is_some())
            {
                log.warn(&format!(
                    "sync  {}: the published data the stored cursor belongs to is missing from the output; every source row is read again",
                    spec.name
                ));
            }
            sync::TableRun {
                spec,
                previous: published,
                previous_strategy: stored.map(|s| (s.strategy, s.layout.clone())),
                cursor,
                now,
            }
        })
        .collect();
    let mut results = sync::sync_all(connector, runs, staging.root()).into_iter();
    let mut out = Vec::with_capacity(content.tables.len());
    for (spec, selected) in content.tables.iter().zip(&run.selected) {
        if !selected {
            let kept = match (previous, &prev_manifest) {
                (Some(prev), Some(m)) => keep_previous(spec, m, prev, staging.root())?,
                _ => None,
            };
            let (data, synced_in) = match kept {
                Some((d, id)) => (Some(d), id),
                None => (None, String::new()),
            };
            log.detail(&format!(
                "sync  {}: not selected; published data kept",
                spec.name
            ));
            out.push(Synced {
                name: spec.name.clone(),
                attempted: false,
                data,
                error: None,
                synced_in,
            });
            continue;
        }
        let Some(result) = results.next() else {
            anyhow::bail!("internal: no sync result for table `{}`", spec.name);
        };
        match result {
            Ok(t) => {
                for note in &t.run.notes {
                    log.warn(&format!("sync  {}: {note}", spec.name));
                }
                let groups = if t.run.row_groups_copied + t.run.row_groups_rewritten > 0 {
                    format!(
                        "; previous row groups: {} copied, {} rewritten",
                        t.run.row_groups_copied, t.run.row_groups_rewritten
                    )
                } else {
                    String::new()
                };
                log.info(&format!(
                    "sync  {}: {} rows read, {} rows, {} bytes ({} ms){groups}",
                    spec.name, t.run.rows_read, t.rows, t.bytes, t.elapsed_ms
                ));
                out.push(Synced {
                    name: spec.name.clone(),
                    attempted: true,
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
                    attempted: true,
                    data,
                    error: Some(msg),
                    synced_in,
                });
            }
        }
    }
    Ok(out)
}

/// Hard-link a failed (or not selected) table's files from the previous build into staging, so
/// nothing already published is lost; under the private overlay when the table is private now,
/// at the root when it is not ([`publish::placed`]).
fn keep_previous(
    spec: &TableSpec,
    manifest: &Manifest,
    prev_root: &Path,
    root: &Path,
) -> anyhow::Result<Option<(SyncedTable, String)>> {
    let Some((mut table, synced_in)) = manifest.synced_table(&spec.name, root) else {
        return Ok(None);
    };
    for f in &mut table.files {
        let src = prev_root.join(&f.path);
        // A table made private (or public) since that build: its files move with it.
        f.path = publish::placed(&f.path, spec.private);
        f.abs_path = root.join(&f.path);
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

/// Profiles every table with data (reusing the previous build's profile of a table whose files
/// and settings did not change, unless `--reprofile`), then adds what the content says about it:
/// related tables and the metrics that read it. A table whose profile fails gets `None` and an
/// error line; the others carry on.
fn profile_tables(
    config: &Config,
    content: &Content,
    synced: &[Synced],
    run: &Run,
    previous_tree: Option<&Path>,
    log: &Reporter,
) -> Vec<Option<TableProfile>> {
    let previous: BTreeMap<String, TableProfile> = previous_tree
        .filter(|_| !run.reprofile)
        .and_then(|root| std::fs::read(publish::full_view_file(root, PROFILES_FILE)).ok())
        .and_then(|bytes| serde_json::from_slice::<ProfilesFile>(&bytes).ok())
        .filter(|f| f.version == PROFILES_VERSION)
        .map(|f| f.tables)
        .unwrap_or_default();
    let jobs: Vec<profile::ProfileJob> = content
        .tables
        .iter()
        .zip(synced)
        .filter_map(|(spec, s)| {
            s.data.as_ref().map(|d| profile::ProfileJob {
                spec,
                synced: d,
                settings: config.profile.overridden_by(&spec.profile),
                previous: previous.get(&spec.name),
            })
        })
        .collect();
    let mut results = profile::profile_all(&jobs).into_iter();
    let mut out = Vec::with_capacity(synced.len());
    for (spec, s) in content.tables.iter().zip(synced) {
        if s.data.is_none() {
            out.push(None);
            continue;
        }
        match results.next() {
            Some(Ok(mut p)) => {
                p.related_tables = profile::related_tables(spec, &content.tables);
                p.used_by_metrics = content
                    .metrics
                    .iter()
                    .filter(|m| m.tables_used().contains(&spec.name))
                    .map(|m| m.name.clone())
                    .collect();
                out.push(Some(p))
            }
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
    let (conn, view_errors) = metrics::open_views(&views)?;
    for e in &view_errors {
        log.error(&format!("metrics: {e}"));
    }
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

/// CPU seconds (user and system) the process has used so far, all threads together
/// (`getrusage(RUSAGE_SELF)`); 0 if the call fails.
fn process_cpu_seconds() -> f64 {
    // SAFETY: `getrusage` only writes the struct it is given, which is zeroed and ours.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The build's profiles of every table, in each view of the tree.
const PROFILES_FILE: &str = "meta/profiles.json";

/// Levels of the `meta/` JSON files laid out one member per line ([`publish::json_bytes`]):
/// one line per column of a table. A profile sits one level deeper in `meta/profiles.json`
/// than in a table's twin, where [`site::ProfileJson`] lays it out.
const META_LINES_TO: usize = site::TWIN_LINES_TO + 1;

/// One view of the catalog written into `dir` (the staging root, or the private overlay in
/// it): `meta/profiles.json` and `meta/schema.json` ([`write_meta`]; `previous_profiles` is the
/// published file of the same view), the site ([`site::render`], or [`site::render_subset`]
/// with a subset) and `meta/manifest.json`. Returns the site's warnings. Errors: those of the
/// three.
fn render_view(
    config: &Config,
    dir: &Path,
    previous_profiles: Option<&Path>,
    (input, only): (&SiteInput, Option<&site::Subset>),
    manifest: &Manifest,
) -> anyhow::Result<Vec<String>> {
    let theme = config.theme.as_deref();
    let profiles = site::ProfileJson::of(&input.tables)?;
    // The meta files are written mostly on one thread: alongside the pages.
    let (meta, warnings) = rayon::join(
        || {
            write_meta(
                dir,
                previous_profiles,
                &input.built_at,
                &input.tables,
                &profiles,
            )
        },
        || site::render_with_profiles(input, dir, theme, only, &profiles),
    );
    meta?;
    let warnings = warnings?;
    let bytes = publish::json_bytes(manifest, META_LINES_TO)?;
    publish::write_staged(&dir.join("meta/manifest.json"), &bytes)?;
    Ok(warnings)
}

/// `meta/profiles.json` and `meta/schema.json`, written into the staging tree (`root`; the
/// publish fsyncs them). The profiles' `generated_at` is the time of the build that last changed
/// a profile: a build that changed none keeps the previous tree's file, so it keeps its bytes
/// (and rsync skips it). The profiles (`profiles`, of `reports`, as the twins hold them; about
/// 50 MB for 1,000 tables × 50 columns) are compared as bytes after the header, not parsed.
fn write_meta(
    root: &Path,
    previous_profiles: Option<&Path>,
    built_at: &str,
    reports: &[TableReport],
    profiles: &site::ProfileJson,
) -> anyhow::Result<()> {
    let places = publish::Places::default();
    let profiles = profile::ProfilesFileRef {
        version: PROFILES_VERSION,
        generated_at: built_at,
        tables: reports
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let piece = places.piece(profiles.get(i)?, 2);
                Some((r.spec.name.as_str(), piece))
            })
            .collect(),
    };
    let mut bytes = publish::json_spliced(&profiles, META_LINES_TO, &places)?;
    // The previous file is kept when it differs only in its time: the same bytes before the
    // `"generated_at"` key (the version) and from the `"tables"` key on. Both keys are in the
    // first few dozen bytes; nothing is parsed.
    let key = |b: &[u8], key: &[u8]| memchr::memmem::find(&b[..b.len().min(256)], key);
    let split = |b: &[u8]| Some((key(b, b"\"generated_at\":")?, key(b, b"\"tables\":")?));
    if let Some(previous) = previous_profiles.and_then(|p| std::fs::read(p).ok()) {
        if let (Some((time, tables)), Some((previous_time, previous_tables))) =
            (split(&bytes), split(&previous))
        {
            if bytes[..time] == previous[..previous_time]
                && bytes[tables..] == previous[previous_tables..]
            {
                bytes = previous;
            }
        }
    }
    publish::write_staged(&root.join(PROFILES_FILE), &bytes)?;
    drop(bytes);

    let tables: BTreeMap<&str, SchemaTable> = reports
        .iter()
        .map(|r| (r.spec.name.as_str(), SchemaTable::of(r)))
        .collect();
    let bytes = publish::json_bytes(&SchemaFile { tables, version: 1 }, META_LINES_TO)?;
    publish::write_staged(&root.join("meta/schema.json"), &bytes)
}

/// `meta/schema.json`: every declared table's columns, types and keys. Fields in alphabetical
/// order, as the file has always had them.
#[derive(Serialize)]
struct SchemaFile<'a> {
    tables: BTreeMap<&'a str, SchemaTable<'a>>,
    version: u32,
}

/// One table of [`SchemaFile`].
#[derive(Serialize)]
struct SchemaTable<'a> {
    columns: Vec<SchemaColumn<'a>>,
    description: &'a str,
    files: Vec<&'a str>,
    folder: &'a str,
    foreign_keys: Vec<SchemaForeignKey<'a>>,
    id: &'a str,
    primary_key: &'a [String],
    sync_strategy: SyncStrategy,
}

/// One column of a [`SchemaTable`].
#[derive(Serialize)]
struct SchemaColumn<'a> {
    description: Option<&'a str>,
    meaning: Option<&'static str>,
    name: &'a str,
    note: Option<&'a str>,
    source_name: &'a str,
    #[serde(rename = "type")]
    column_type: crate::content::ColumnType,
    type_source: &'a str,
}

/// A foreign key of a [`SchemaTable`].
#[derive(Serialize)]
struct SchemaForeignKey<'a> {
    column: &'a str,
    description: Option<&'a str>,
    references: &'a str,
}

impl<'a> SchemaTable<'a> {
    fn of(r: &'a TableReport) -> Self {
        let spec = &r.spec;
        SchemaTable {
            columns: r
                .synced
                .iter()
                .flat_map(|s| s.columns.iter())
                .enumerate()
                .map(|(i, c)| SchemaColumn {
                    description: spec
                        .column_at(i, &c.name)
                        .and_then(|d| d.description.as_deref()),
                    meaning: c.column_type.meaning(),
                    name: &c.name,
                    note: c.note.as_deref(),
                    source_name: &c.source_name,
                    column_type: c.column_type,
                    type_source: c.type_source,
                })
                .collect(),
            description: &spec.description,
            files: r
                .synced
                .iter()
                .flat_map(|s| s.files.iter().map(|f| f.path.as_str()))
                .collect(),
            folder: &spec.folder,
            foreign_keys: spec
                .foreign_keys
                .iter()
                .map(|k| SchemaForeignKey {
                    column: &k.column,
                    description: k.description.as_deref(),
                    references: &k.references,
                })
                .collect(),
            id: &spec.id,
            primary_key: &spec.primary_key,
            sync_strategy: spec.sync_strategy,
        }
    }
}

fn summarize(
    config: &Config,
    (build_id, published): (&str, bool),
    content: &Content,
    (synced, state): (&[Synced], &SyncState),
    metrics: &[MetricResult],
    warnings: Vec<String>,
    timings: BTreeMap<&'static str, f64>,
) -> Summary {
    let tables: Vec<TableSummary> = content
        .tables
        .iter()
        .zip(synced)
        .map(|(spec, s)| {
            let fresh = s.data.as_ref().filter(|_| s.attempted && s.error.is_none());
            TableSummary {
                name: s.name.clone(),
                strategy: spec.sync_strategy,
                status: match (s.attempted, &s.error) {
                    (false, _) => "skipped",
                    (true, None) => "ok",
                    (true, Some(_)) => "failed",
                },
                rows_read: fresh.map(|d| d.run.rows_read),
                rows: s.data.as_ref().map(|d| d.rows),
                row_groups_copied: fresh.map(|d| d.run.row_groups_copied),
                row_groups_rewritten: fresh.map(|d| d.run.row_groups_rewritten),
                bytes: s.data.as_ref().map(|d| d.bytes),
                seconds: fresh.map_or(0.0, |d| d.elapsed_ms as f64 / 1000.0),
                // The table's cursor after this build: moved, kept by a failed or skipped run,
                // or none yet.
                cursor: state
                    .tables
                    .get(&spec.name)
                    .and_then(|t| t.cursor.as_ref().map(|c| c.text.clone())),
                error: s.error.clone(),
            }
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
        published,
        output: config.output.display().to_string(),
        metrics_ok: metrics.len() - metrics_failed.len(),
        tables,
        metrics_failed,
        warnings,
        timings,
    }
}
