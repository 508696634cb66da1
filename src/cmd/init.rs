//! `broker init`: set up an instance in one guided step, on a terminal (prompts) or by flags
//! (scripts): `config/instance.yaml`, `.env` (mode 0600, never overwritten without asking) and
//! `content/data_description.md` generated from the data source's tables (a Keboola project's
//! tables and metadata, or a folder of CSV files with inferred types); then the first build if
//! asked. Run again on an instance, it offers the source's tables not yet declared, and adds
//! only those.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::config::{Config, DataSource};
use crate::content::TableSpec;
use crate::sync::csv_source::CsvConnector;
use crate::sync::keboola::client::RetryPolicy;
use crate::sync::keboola::{
    types, KeboolaConnector, KeboolaSettings, TableDetail, TIMESTAMP_COLUMN,
};
use crate::sync::Connector;

/// Default Keboola stack.
pub const DEFAULT_STACK: &str = "https://connection.keboola.com";

/// Arguments of `broker init`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The instance folder to set up (created if missing).
    #[arg(long, default_value = ".")]
    pub instance: PathBuf,
    /// Instance name shown on every page.
    #[arg(long)]
    pub name: Option<String>,
    /// The company's e-mail domain(s), comma-separated (`acme.com,acme.de`).
    #[arg(long, value_delimiter = ',')]
    pub domain: Vec<String>,
    /// Data source: keboola or csv.
    #[arg(long, value_parser = ["keboola", "csv"])]
    pub source: Option<String>,
    /// Keboola stack URL.
    #[arg(long)]
    pub keboola_url: Option<String>,
    /// Keboola project id (default: the token's project).
    #[arg(long)]
    pub keboola_project: Option<u64>,
    /// Keboola Storage API token (default: $KEBOOLA_STORAGE_TOKEN); written to `.env` only.
    #[arg(long, env = "KEBOOLA_STORAGE_TOKEN", hide_env_values = true)]
    pub keboola_token: Option<String>,
    /// S3 endpoint override for export slices (tests, S3-compatible stores).
    #[arg(long, hide = true)]
    pub keboola_s3_endpoint: Option<String>,
    /// Folder of CSV files (relative to the instance, or absolute) for the csv source.
    #[arg(long)]
    pub csv_folder: Option<PathBuf>,
    /// Never prompt: missing answers take their defaults, an existing `.env` is kept, new tables
    /// are added.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Run the first build when done.
    #[arg(long)]
    pub build: bool,
}

/// Prompts on a terminal, or the defaults without one.
struct Asker {
    interactive: bool,
    input: Box<dyn BufRead>,
}

impl Asker {
    fn line(&mut self, question: &str, default: Option<&str>) -> anyhow::Result<String> {
        if !self.interactive {
            return Ok(default.unwrap_or("").to_string());
        }
        let mut err = std::io::stderr();
        match default.filter(|d| !d.is_empty()) {
            Some(d) => write!(err, "{question} [{d}]: ")?,
            None => write!(err, "{question}: ")?,
        }
        err.flush()?;
        let mut s = String::new();
        if self.input.read_line(&mut s)? == 0 {
            bail!("no answer to `{question}` (input closed)");
        }
        let s = s.trim().to_string();
        Ok(if s.is_empty() {
            default.unwrap_or("").to_string()
        } else {
            s
        })
    }

    fn yes_no(&mut self, question: &str, default: bool) -> anyhow::Result<bool> {
        if !self.interactive {
            return Ok(default);
        }
        let hint = if default { "Y/n" } else { "y/N" };
        loop {
            let a = self.line(&format!("{question} ({hint})"), None)?;
            match a.to_ascii_lowercase().as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("please answer y or n"),
            }
        }
    }
}

/// One table entry of a generated `data_description.md`.
#[derive(Serialize)]
struct Entry {
    id: String,
    name: String,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    primary_key: Vec<String>,
    sync_strategy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    incremental_column: Option<String>,
    folder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    columns: Vec<EntryColumn>,
}

#[derive(Serialize)]
struct EntryColumn {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    column_type: Option<String>,
}

/// A table name usable as a file and view name: lowercase letters, digits and `_`.
fn table_name(raw: &str, taken: &mut BTreeSet<String>) -> String {
    let mut n: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    n = n.trim_matches('_').to_string();
    if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
        n = format!("t_{n}");
    }
    let mut candidate = n.clone();
    let mut i = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{n}_{i}");
        i += 1;
    }
    candidate
}

/// Entries for Keboola tables: incremental by `_timestamp` when the table has a primary key,
/// else full refresh; the bucket's display name as folder; every column with its description.
fn keboola_entries(tables: &[TableDetail], taken: &mut BTreeSet<String>) -> Vec<Entry> {
    tables
        .iter()
        .map(|t| {
            let bucket = t.id.rsplit_once('.').map_or("", |(b, _)| b);
            let folder = t
                .bucket
                .as_ref()
                .map(|b| b.display_name.clone())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| {
                    bucket
                        .rsplit('.')
                        .next()
                        .unwrap_or(bucket)
                        .trim_start_matches("c-")
                        .to_string()
                });
            let incremental = !t.primary_key.is_empty();
            Entry {
                id: t.id.clone(),
                name: table_name(if t.name.is_empty() { &t.id } else { &t.name }, taken),
                description: types::table_description(t)
                    .unwrap_or_else(|| format!("Keboola table {}.", t.id)),
                primary_key: t.primary_key.clone(),
                sync_strategy: if incremental {
                    "incremental"
                } else {
                    "full_refresh"
                }
                .into(),
                incremental_column: incremental.then(|| TIMESTAMP_COLUMN.to_string()),
                folder: table_name(&folder, &mut BTreeSet::new()),
                file: None,
                columns: t
                    .columns
                    .iter()
                    .map(|c| EntryColumn {
                        name: c.clone(),
                        description: types::column_description(t, c),
                        column_type: None,
                    })
                    .chain(incremental.then(|| EntryColumn {
                        name: TIMESTAMP_COLUMN.into(),
                        description: Some("When Keboola last changed the row (UTC).".into()),
                        column_type: None,
                    }))
                    .collect(),
            }
        })
        .collect()
}

/// CSV files in `folder` (`*.csv`, `*.csv.gz`), by name.
fn csv_files(folder: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(folder)
        .with_context(|| format!("{}: cannot read the CSV folder", folder.display()))?
    {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        if e.path().is_file() && (name.ends_with(".csv") || name.ends_with(".csv.gz")) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Entries for CSV files, with the types read from every value.
fn csv_entries(
    folder: &Path,
    files: &[String],
    taken: &mut BTreeSet<String>,
) -> anyhow::Result<Vec<Entry>> {
    let connector = CsvConnector::new(folder.to_path_buf());
    let mut out = Vec::new();
    for f in files {
        let stem = f.trim_end_matches(".gz").trim_end_matches(".csv");
        let name = table_name(stem, taken);
        let mut spec = TableSpec::bare(&name, &[]);
        spec.file = Some(f.clone());
        let stream = connector
            .read_table(&spec)
            .with_context(|| format!("{}: cannot read", folder.join(f).display()))?;
        out.push(Entry {
            id: format!("csv.{name}"),
            name,
            description: format!("Rows of {f}."),
            primary_key: Vec::new(),
            sync_strategy: "full_refresh".into(),
            incremental_column: None,
            folder: "tables".into(),
            file: Some(f.clone()),
            columns: stream
                .columns
                .iter()
                .map(|c| EntryColumn {
                    name: c.source_name.clone(),
                    description: None,
                    column_type: Some(c.column_type.name().into_owned()),
                })
                .collect(),
        });
    }
    Ok(out)
}

/// A fenced YAML block declaring `entries`.
fn yaml_block(entries: &[Entry]) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Block<'a> {
        tables: &'a [Entry],
    }
    let yaml = serde_yaml::to_string(&Block { tables: entries })?;
    Ok(format!("```yaml\n{yaml}```\n"))
}

/// Run `broker init`. Returns 0 when the instance was written (and built, if asked), 1 when the
/// build failed, 2 on bad input or an unreachable source.
pub fn run(args: Args) -> i32 {
    let stdin = std::io::stdin();
    let interactive = !args.yes && stdin.is_terminal();
    let mut ask = Asker {
        interactive,
        input: Box::new(stdin.lock()),
    };
    match init(&args, &mut ask) {
        Ok(build) => {
            if !build {
                return 0;
            }
            let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("broker"));
            match std::process::Command::new(exe)
                .args(["build", "--instance"])
                .arg(&args.instance)
                .status()
            {
                Ok(s) if s.success() => 0,
                Ok(_) => 1,
                Err(e) => {
                    eprintln!("error: init: cannot run the first build: {e}");
                    1
                }
            }
        }
        Err(e) => {
            eprintln!("error: init: {e:#}");
            2
        }
    }
}

fn keboola_settings(
    url: &str,
    project: Option<u64>,
    token: &str,
    s3: Option<String>,
) -> KeboolaSettings {
    KeboolaSettings {
        url: url.trim_end_matches('/').to_string(),
        project_id: project,
        token: token.to_string(),
        s3_endpoint: s3,
        gcs_endpoint: None,
        retry: RetryPolicy {
            attempts: 3,
            base: std::time::Duration::from_millis(500),
        },
        job_timeout: std::time::Duration::from_secs(600),
        poll_max: std::time::Duration::from_secs(2),
    }
}

/// The set-up itself; returns whether to run the first build.
fn init(args: &Args, ask: &mut Asker) -> anyhow::Result<bool> {
    let dir = &args.instance;
    std::fs::create_dir_all(dir.join("config"))
        .with_context(|| format!("{}: cannot create", dir.join("config").display()))?;
    std::fs::create_dir_all(dir.join("content"))?;
    let config_file = dir.join("config/instance.yaml");
    let description = dir.join("content/data_description.md");
    if config_file.exists() {
        return add_new_tables(args, ask, &description);
    }
    let default_name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "Data catalog".into());
    let name = match &args.name {
        Some(n) => n.clone(),
        None => ask.line("Instance name", Some(&default_name))?,
    };
    let domains: Vec<String> = if args.domain.is_empty() {
        ask.line("Company e-mail domain(s), comma-separated", None)?
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    } else {
        args.domain
            .iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect()
    };
    let source = match &args.source {
        Some(s) => s.clone(),
        None => loop {
            let s = ask.line("Data source (keboola or csv)", Some("keboola"))?;
            if s == "keboola" || s == "csv" {
                break s;
            }
            eprintln!("please answer keboola or csv");
        },
    };
    let mut taken = BTreeSet::new();
    let yaml_name = serde_yaml::to_string(&name)?;
    let mut config = format!(
        "# Written by `broker init`; see docs/configuration.md. Secrets live in .env.\ninstance:\n  name: {}",
        yaml_name.trim_end()
    );
    let (entries, env) = if source == "keboola" {
        let url = match &args.keboola_url {
            Some(u) => u.clone(),
            None => ask.line("Keboola stack URL", Some(DEFAULT_STACK))?,
        };
        let token = match &args.keboola_token {
            Some(t) => t.clone(),
            None => ask.line(
                "Keboola Storage API token (read-only token recommended)",
                None,
            )?,
        };
        if token.trim().is_empty() {
            bail!(
                "a Keboola Storage API token is needed (--keboola-token or KEBOOLA_STORAGE_TOKEN)"
            );
        }
        let project = match args.keboola_project {
            Some(p) => Some(p),
            None if ask.interactive => ask
                .line("Keboola project id (empty: the token's project)", None)?
                .parse()
                .ok(),
            None => None,
        };
        let connector = KeboolaConnector::new(keboola_settings(
            &url,
            project,
            token.trim(),
            args.keboola_s3_endpoint.clone(),
        ));
        let info = connector.verify()?;
        eprintln!(
            "token ok: project {} ({}), file storage {}",
            info.project_id,
            info.project_name,
            info.file_storage.as_deref().unwrap_or("unknown")
        );
        let tables = connector.list_tables()?;
        eprintln!("{} tables found", tables.len());
        config.push_str(&format!(
            "\n\ndata_source:\n  type: keboola\n  keboola:\n    url: {}\n    project_id: {}\n    token: ${{KEBOOLA_STORAGE_TOKEN}}\n",
            url.trim_end_matches('/'),
            info.project_id
        ));
        if let Some(s3) = &args.keboola_s3_endpoint {
            config.push_str(&format!("    s3_endpoint: {s3}\n"));
        }
        (
            keboola_entries(&tables, &mut taken),
            Some(format!("KEBOOLA_STORAGE_TOKEN={}\n", token.trim())),
        )
    } else {
        let folder = match &args.csv_folder {
            Some(f) => f.clone(),
            None => PathBuf::from(ask.line("Folder of CSV files", Some("csv"))?),
        };
        let abs = if folder.is_absolute() {
            folder.clone()
        } else {
            dir.join(&folder)
        };
        let files = csv_files(&abs)?;
        eprintln!("{} CSV files found in {}", files.len(), abs.display());
        config.push_str(&format!(
            "\n\ndata_source:\n  type: csv\n  csv:\n    folder: {}\n",
            folder.display()
        ));
        (csv_entries(&abs, &files, &mut taken)?, None)
    };
    config.push_str("\noutput: public\nstate: state\n");
    if !domains.is_empty() {
        // Who may sign in through `gate` (docs/gate.md).
        config.push_str(&format!(
            "\nauth:\n  allowed_domains: [{}]\n",
            domains.join(", ")
        ));
    }
    write_env(dir, env.as_deref(), ask)?;
    let mut text = format!(
        "# {name}\n\nTables of this catalog, generated by `broker init` from the data source. Edit the\ndescriptions freely; `broker init` run again adds tables that are new in the source.\n\n"
    );
    text.push_str(&yaml_block(&entries)?);
    if description.exists() {
        bail!(
            "{}: exists; remove it or run `broker init` again once config/instance.yaml exists to add tables",
            description.display()
        );
    }
    std::fs::write(&description, text)
        .with_context(|| format!("{}: cannot write", description.display()))?;
    std::fs::write(&config_file, config)
        .with_context(|| format!("{}: cannot write", config_file.display()))?;
    eprintln!(
        "wrote {}, {} ({} tables)",
        config_file.display(),
        description.display(),
        entries.len()
    );
    Ok(args.build || ask.yes_no("Run the first build now?", false)?)
}

/// Write `.env` with `content` (mode 0600): a new file, or over an existing one only when the
/// user agrees on a terminal.
fn write_env(dir: &Path, content: Option<&str>, ask: &mut Asker) -> anyhow::Result<()> {
    let Some(content) = content else {
        return Ok(());
    };
    let path = dir.join(".env");
    if path.exists() {
        let same = std::fs::read_to_string(&path).ok().as_deref() == Some(content);
        if same {
            return Ok(());
        }
        if !ask.interactive
            || !ask.yes_no(&format!("{} exists: overwrite it?", path.display()), false)?
        {
            eprintln!(
                "kept the existing {} (set KEBOOLA_STORAGE_TOKEN there yourself if it differs)",
                path.display()
            );
            return Ok(());
        }
    }
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}

/// Re-run on an instance: offer the source's tables not declared yet and append those
/// accepted as a new YAML block.
fn add_new_tables(args: &Args, ask: &mut Asker, description: &Path) -> anyhow::Result<bool> {
    let config = Config::load(&args.instance)?;
    let declared: Vec<TableSpec> = if description.exists() {
        crate::content::Content::load(&config.content_dir())
            .map(|c| c.tables)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let ids: BTreeSet<&str> = declared.iter().map(|t| t.id.as_str()).collect();
    let mut taken: BTreeSet<String> = declared.iter().map(|t| t.name.clone()).collect();
    let files: BTreeSet<&str> = declared.iter().filter_map(|t| t.file.as_deref()).collect();
    let candidates = match &config.data_source {
        DataSource::Keboola(s) => {
            let connector = KeboolaConnector::new(s.clone());
            let info = connector.verify()?;
            eprintln!(
                "token ok: project {} ({})",
                info.project_id, info.project_name
            );
            let new: Vec<TableDetail> = connector
                .list_tables()?
                .into_iter()
                .filter(|t| !ids.contains(t.id.as_str()))
                .collect();
            let mut keep = Vec::new();
            for t in new {
                if ask.yes_no(&format!("Add new table {}?", t.id), true)? {
                    keep.push(t);
                }
            }
            keboola_entries(&keep, &mut taken)
        }
        DataSource::Csv { folder, .. } => {
            let mut keep = Vec::new();
            for f in csv_files(folder)? {
                let stem = f.trim_end_matches(".gz").trim_end_matches(".csv");
                let known = files.contains(f.as_str())
                    || declared.iter().any(|t| {
                        t.name == table_name(stem, &mut BTreeSet::new()) && t.file.is_none()
                    });
                if !known && ask.yes_no(&format!("Add new file {f}?"), true)? {
                    keep.push(f);
                }
            }
            csv_entries(folder, &keep, &mut taken)?
        }
    };
    if candidates.is_empty() {
        eprintln!("no new tables: {} is up to date", description.display());
        return Ok(args.build);
    }
    let mut text = std::fs::read_to_string(description).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n## Added by `broker init` on {}\n\n",
        chrono::Utc::now().format("%Y-%m-%d")
    ));
    text.push_str(&yaml_block(&candidates)?);
    std::fs::write(description, text)
        .with_context(|| format!("{}: cannot write", description.display()))?;
    eprintln!(
        "added {} tables to {}: {}",
        candidates.len(),
        description.display(),
        candidates
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(args.build || ask.yes_no("Run a build now?", false)?)
}
