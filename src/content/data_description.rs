//! `data_description.md`: tables declared in fenced YAML blocks inside Markdown.
//!
//! Every block fenced with three backticks and `yaml` (or `yml`) is parsed; blocks may hold
//! `tables:` (a list, concatenated across blocks) and `folder_mapping:` (a map from a table id's
//! bucket to a folder, merged across blocks). This is the original system's format, with two
//! additions: `columns:` (per-column description and optional type) and `file:` (the CSV file of a
//! `csv` data source, relative to its folder).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};

/// How a table is brought up to date on each build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStrategy {
    /// Replace the whole table every run.
    FullRefresh,
    /// Read rows changed since the stored cursor and merge them by primary key.
    Incremental,
    /// Files per partition of a date column, rewriting only partitions that received rows.
    Partitioned,
}

impl fmt::Display for SyncStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyncStrategy::FullRefresh => "full_refresh",
            SyncStrategy::Incremental => "incremental",
            SyncStrategy::Partitioned => "partitioned",
        })
    }
}

/// A column's logical type, as declared in `columns:` or inferred from the data.
///
/// Maps to Arrow: Int64, Float64, Boolean, Date32, Timestamp(microsecond, no zone),
/// Timestamp(microsecond, "UTC"), Utf8, Decimal128(precision, scale). The two timestamp types
/// carry DuckDB's names: `timestamp` is a wall-clock time (a local date and time as written, no
/// zone applied) and `timestamptz` is an instant (stored in UTC). `decimal(p,s)` is an exact
/// decimal number of at most 38 digits, `s` of them after the point (DuckDB `DECIMAL(p,s)`).
///
/// Written (YAML, JSON) as its name: `int64`, …, `string`, `decimal(38,9)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// 64-bit signed integer.
    Int64,
    /// 64-bit IEEE float.
    Float64,
    /// true / false.
    Boolean,
    /// Calendar date (days since 1970-01-01).
    Date,
    /// Wall-clock date and time, microsecond precision, no time zone: the value as written,
    /// never shifted (DuckDB `TIMESTAMP`).
    Timestamp,
    /// Instant in time, microsecond precision, stored in UTC (DuckDB `TIMESTAMP WITH TIME ZONE`).
    Timestamptz,
    /// UTF-8 text.
    String,
    /// Exact decimal: `precision` digits in all (1..=38), `scale` of them after the point
    /// (0..=precision).
    Decimal {
        /// Total digits, 1..=38.
        precision: u8,
        /// Digits after the point, 0..=precision.
        scale: i8,
    },
}

/// The largest precision of a [`ColumnType::Decimal`] (Arrow Decimal128, DuckDB's widest
/// exact DECIMAL).
pub const MAX_DECIMAL_PRECISION: u8 = 38;

impl ColumnType {
    /// The type's family name used in pages, JSON and `AGENTS.md` (`int64`, `float64`,
    /// `boolean`, `date`, `timestamp`, `timestamptz`, `string`, `decimal`); [`ColumnType::name`]
    /// adds a decimal's precision and scale.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Int64 => "int64",
            ColumnType::Float64 => "float64",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Timestamptz => "timestamptz",
            ColumnType::String => "string",
            ColumnType::Decimal { .. } => "decimal",
        }
    }

    /// The full name: [`ColumnType::as_str`], and `decimal(p,s)` for a decimal.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            ColumnType::Decimal { precision, scale } => {
                format!("decimal({precision},{scale})").into()
            }
            t => t.as_str().into(),
        }
    }

    /// Parse a name written by [`ColumnType::name`] (`int64`, `decimal(12,2)`; `decimal`
    /// alone is `decimal(38,9)`, Snowflake's default NUMBER). `None` for anything else or a
    /// precision outside 1..=38 or a scale above the precision.
    pub fn parse(text: &str) -> Option<ColumnType> {
        let t = text.trim();
        Some(match t {
            "int64" => ColumnType::Int64,
            "float64" => ColumnType::Float64,
            "boolean" => ColumnType::Boolean,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            "timestamptz" => ColumnType::Timestamptz,
            "string" => ColumnType::String,
            "decimal" => ColumnType::Decimal {
                precision: 38,
                scale: 9,
            },
            _ => {
                let inner = t.strip_prefix("decimal(")?.strip_suffix(')')?;
                let (p, s) = inner.split_once(',')?;
                let precision: u8 = p.trim().parse().ok()?;
                let scale: i8 = s.trim().parse().ok()?;
                if precision == 0
                    || precision > MAX_DECIMAL_PRECISION
                    || scale < 0
                    || scale as u8 > precision
                {
                    return None;
                }
                ColumnType::Decimal { precision, scale }
            }
        })
    }

    /// Whether values are dates with a time of day (`timestamp` or `timestamptz`).
    pub fn is_timestamp(self) -> bool {
        matches!(self, ColumnType::Timestamp | ColumnType::Timestamptz)
    }

    /// The DuckDB SQL type a view exposes for this column.
    pub fn duckdb_type(self) -> std::borrow::Cow<'static, str> {
        match self {
            ColumnType::Int64 => "BIGINT".into(),
            ColumnType::Float64 => "DOUBLE".into(),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Timestamp => "TIMESTAMP".into(),
            ColumnType::Timestamptz => "TIMESTAMP WITH TIME ZONE".into(),
            ColumnType::String => "VARCHAR".into(),
            ColumnType::Decimal { precision, scale } => {
                format!("DECIMAL({precision},{scale})").into()
            }
        }
    }
}

impl Serialize for ColumnType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for ColumnType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ColumnType, D::Error> {
        let text = std::string::String::deserialize(d)?;
        ColumnType::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown type `{text}`, expected one of int64, float64, boolean, date, timestamp, timestamptz, string, decimal(p,s) with p at most 38"
            ))
        })
    }
}

impl ColumnType {
    /// What a value of a timestamp type means, as the catalog states it; `None` for the other
    /// types, whose meaning the name says.
    pub fn meaning(self) -> Option<&'static str> {
        match self {
            ColumnType::Timestamp => Some("wall-clock time, no time zone"),
            ColumnType::Timestamptz => Some("instant, in UTC"),
            _ => None,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One declared column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Column name as in the source's header.
    pub name: String,
    /// What the column means, for the catalog and `AGENTS.md`.
    #[serde(default)]
    pub description: Option<String>,
    /// Declared type; when absent the type is inferred from the whole file.
    #[serde(default, rename = "type")]
    pub column_type: Option<ColumnType>,
}

/// A foreign key: `column` of this table references `references` (`table.column`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    /// Column of the declaring table.
    pub column: String,
    /// `table.column` it points to.
    pub references: String,
    /// What the relation means.
    #[serde(default)]
    pub description: Option<String>,
    /// The line of `data_description.md` that declares it (its `references:`; 1-based), for
    /// messages; the table's line when it cannot be told.
    #[serde(skip)]
    pub line: usize,
}

impl ForeignKey {
    /// `(table, column)` of the referenced side; `None` when `references` has no dot.
    pub fn target(&self) -> Option<(&str, &str)> {
        self.references.split_once('.')
    }
}

/// A row filter sent to the source (`column operator values`), kept for connectors that support it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhereFilter {
    /// Column to filter on.
    pub column: String,
    /// One of eq, ne, gt, ge, lt, le.
    pub operator: String,
    /// Values compared against.
    pub values: Vec<String>,
}

/// Per-table options of the `csv` data source: the `csv:` key of a table, validated.
///
/// ```yaml
/// csv: {delimiter: ";", decimal: ",", date_format: "%d/%m/%Y", encoding: windows-1252, null_values: [NULL, "\\N"]}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CsvOptions {
    /// Field delimiter, one ASCII character other than `"`, CR and LF. `None`: detected among
    /// `,` `;` tab `|` from the first 64 KiB, else `,`.
    pub delimiter: Option<char>,
    /// Decimal separator of numbers: `.` or `,`. `None`: `.`, and with a delimiter other than
    /// `,` a column whose every value is an integer or `digits,digits` is read with `,`.
    pub decimal: Option<char>,
    /// A chrono strftime format (`%d/%m/%Y`) that date values are written in. `None`:
    /// `YYYY-MM-DD`, `dd.mm.yyyy`, and `a/b/yyyy` when the column's values tell the order.
    pub date_format: Option<String>,
    /// The file's character encoding as its canonical WHATWG name (`windows-1252`,
    /// `ISO-8859-2`, `UTF-16LE`). `None`: UTF-8, checked.
    pub encoding: Option<String>,
    /// Unquoted field texts read as NULL (`NULL`, `NA`). A quoted field is never NULL.
    pub null_values: Vec<String>,
}

/// The `csv:` key as written; validated into [`CsvOptions`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsvOptions {
    #[serde(default)]
    delimiter: Option<String>,
    #[serde(default)]
    decimal: Option<String>,
    #[serde(default)]
    date_format: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    null_values: Vec<String>,
}

/// Whether `format` is a usable chrono strftime date format: every specifier known, and a
/// date written with it reads back as the same date (so it has a year, a month and a day).
pub fn valid_date_format(format: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    use std::fmt::Write as _;
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return false;
    }
    let Some(probe) = chrono::NaiveDate::from_ymd_opt(2024, 11, 23) else {
        return false;
    };
    let mut text = String::new();
    if write!(text, "{}", probe.format(format)).is_err() {
        return false;
    }
    chrono::NaiveDate::parse_from_str(&text, format) == Ok(probe)
}

fn validate_csv(raw: RawCsvOptions, table: &str) -> anyhow::Result<CsvOptions> {
    let delimiter = match raw.delimiter.as_deref() {
        None => None,
        Some("tab") | Some("\\t") => Some('\t'),
        Some(d) => {
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii() && !matches!(c, '"' | '\r' | '\n') => Some(c),
                _ => bail!(
                    "key `csv.delimiter`: `{d}` of table `{table}` must be one ASCII character other than a quote or a line break (e.g. \",\", \";\", \"|\", tab)"
                ),
            }
        }
    };
    let decimal = match raw.decimal.as_deref() {
        None => None,
        Some(".") => Some('.'),
        Some(",") => Some(','),
        Some(d) => bail!("key `csv.decimal`: `{d}` of table `{table}` must be \".\" or \",\""),
    };
    if let Some(f) = &raw.date_format {
        if !valid_date_format(f) {
            bail!(
                "key `csv.date_format`: `{f}` of table `{table}` is not a chrono strftime date format with a year, month and day (e.g. \"%d/%m/%Y\")"
            );
        }
    }
    let encoding = match raw.encoding.as_deref() {
        None => None,
        Some(label) => match encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
            Some(e) if e != encoding_rs::REPLACEMENT => Some(e.name().to_string()),
            _ => bail!(
                "key `csv.encoding`: `{label}` of table `{table}` is not a known encoding (e.g. utf-8, windows-1252, iso-8859-2, utf-16le)"
            ),
        },
    };
    if raw.null_values.iter().any(String::is_empty) {
        bail!(
            "key `csv.null_values`: table `{table}` lists an empty text; an unquoted empty field is always NULL"
        );
    }
    Ok(CsvOptions {
        delimiter,
        decimal,
        date_format: raw.date_format,
        encoding,
        null_values: raw.null_values,
    })
}

/// One table as declared in `data_description.md`, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableSpec {
    /// Source table id (`in.c-crm.orders`); the bucket is the id minus its last segment.
    pub id: String,
    /// Short name: the Parquet file name, the DuckDB view name and the page name.
    pub name: String,
    /// What the table holds.
    pub description: String,
    /// Primary key columns (composite keys have several); may be empty.
    pub primary_key: Vec<String>,
    /// How the table is synced.
    pub sync_strategy: SyncStrategy,
    /// Output folder under `data/` (`folder`, else `folder_mapping[bucket]`, else the bucket).
    pub folder: String,
    /// For `incremental`: how far before the cursor to read again, in days (default 7).
    pub incremental_window_days: u32,
    /// For `incremental`: the cursor column (an integer, date or timestamp column whose largest
    /// value seen is stored as the table's cursor). Required by sources that cannot tell which
    /// rows changed themselves (CSV).
    pub incremental_column: Option<String>,
    /// Column whose date partitions the table's files.
    pub partition_by: Option<String>,
    /// year | month | day (default month).
    pub partition_granularity: Option<String>,
    /// Limit of the first incremental load, in days.
    pub max_history_days: Option<u32>,
    /// Declared columns, in declaration order.
    pub columns: Vec<ColumnSpec>,
    /// Foreign keys from this table to others.
    pub foreign_keys: Vec<ForeignKey>,
    /// Filters sent to the source.
    pub where_filters: Vec<WhereFilter>,
    /// For a `csv` data source: the file relative to the source folder (default `<name>.csv`,
    /// or `<name>.csv.gz` when only that exists). A folder holding `manifest.json` is a
    /// Keboola sliced export.
    pub file: Option<String>,
    /// For a `csv` data source: how the file is written (delimiter, decimal separator, date
    /// format, encoding, NULL texts).
    pub csv: CsvOptions,
    /// Caps on profiling this table (`profile: {sample_rows, time_budget_s}`); a field set here
    /// overrides the instance's.
    pub profile: crate::profile::ProfileSettings,
    /// `private: true`: only the gate's private group sees the table. Its data files live under
    /// the private overlay ([`crate::publish::PRIVATE_OVERLAY`]), and the catalog at the root
    /// of the tree never names it (see [`crate::site::private`]).
    pub private: bool,
    /// The line of `data_description.md` where the table's entry starts (1-based).
    pub line: usize,
}

impl TableSpec {
    /// A table known by name and primary key alone: `full_refresh`, no declared columns,
    /// descriptions or foreign keys (what `broker profile` profiles).
    pub fn bare(name: &str, primary_key: &[String]) -> TableSpec {
        TableSpec {
            id: name.to_string(),
            name: name.to_string(),
            description: String::new(),
            primary_key: primary_key.to_vec(),
            sync_strategy: SyncStrategy::FullRefresh,
            folder: String::new(),
            incremental_window_days: 7,
            incremental_column: None,
            partition_by: None,
            partition_granularity: None,
            max_history_days: None,
            columns: Vec::new(),
            foreign_keys: Vec::new(),
            where_filters: Vec::new(),
            file: None,
            csv: Default::default(),
            profile: Default::default(),
            private: false,
            line: 0,
        }
    }

    /// Where the table's data files go, relative to the output root, without extension:
    /// `data/<folder>/<name>`, under the private overlay for a private table
    /// (`_private/data/<folder>/<name>`). A plain table's file is `<stem>.parquet`, a
    /// partitioned table's files are `<stem>/<partition>/part-0.parquet`.
    pub fn data_stem(&self) -> String {
        if self.private {
            let overlay = crate::publish::PRIVATE_OVERLAY;
            format!("{overlay}/data/{}/{}", self.folder, self.name)
        } else {
            format!("data/{}/{}", self.folder, self.name)
        }
    }

    /// The declared column named `name`, if any.
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// [`TableSpec::column`], looked for at position `at` first: where it is when the data's
    /// columns follow the declaration, as they almost always do, so a lookup per column of a
    /// wide table costs one comparison instead of a scan.
    pub fn column_at(&self, at: usize, name: &str) -> Option<&ColumnSpec> {
        match self.columns.get(at) {
            Some(c) if c.name == name => Some(c),
            _ => self.column(name),
        }
    }

    /// The declaration of the data's column at position `at`, read under the header
    /// `source_name` and named `name`: by its header first, then by its name.
    pub fn column_of(&self, at: usize, source_name: &str, name: &str) -> Option<&ColumnSpec> {
        self.column_at(at, source_name)
            .or_else(|| self.column_at(at, name))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    #[serde(default)]
    folder_mapping: BTreeMap<String, String>,
    #[serde(default)]
    tables: Vec<RawTable>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyList {
    Text(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    id: String,
    name: String,
    description: String,
    #[serde(default)]
    primary_key: Option<KeyList>,
    sync_strategy: SyncStrategy,
    #[serde(default)]
    incremental_window_days: Option<u32>,
    #[serde(default)]
    incremental_column: Option<String>,
    #[serde(default)]
    partition_by: Option<String>,
    #[serde(default)]
    partition_granularity: Option<String>,
    #[serde(default)]
    max_history_days: Option<u32>,
    #[serde(default)]
    initial_load_chunk_days: Option<u32>,
    #[serde(default)]
    folder: Option<String>,
    #[serde(default)]
    dataset: Option<String>,
    #[serde(default)]
    foreign_keys: Vec<ForeignKey>,
    #[serde(default)]
    where_filters: Vec<WhereFilter>,
    #[serde(default)]
    columns: Vec<ColumnSpec>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    csv: Option<RawCsvOptions>,
    #[serde(default)]
    profile: Option<crate::profile::ProfileSettings>,
    #[serde(default)]
    private: bool,
}

/// A fenced YAML block: its text and the 1-based line of the file where its first line is.
struct YamlBlock<'a> {
    text: &'a str,
    first_line: usize,
}

fn yaml_blocks(markdown: &str) -> Vec<YamlBlock<'_>> {
    let mut blocks = Vec::new();
    let mut offset = 0usize;
    let mut open: Option<(usize, usize)> = None; // (byte start, first line)
    for (i, line) in markdown.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        match open {
            None => {
                let info = trimmed.strip_prefix("```").map(str::trim);
                if matches!(info, Some("yaml") | Some("yml")) {
                    open = Some((offset + line.len(), i + 2));
                }
            }
            Some((start, first_line)) => {
                if trimmed == "```" {
                    blocks.push(YamlBlock {
                        text: &markdown[start..offset],
                        first_line,
                    });
                    open = None;
                }
            }
        }
        offset += line.len();
    }
    blocks
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parse the tables of one `data_description.md` text; `path` only names the file in errors.
///
/// Errors (each naming `path`, line and key): YAML syntax, unknown keys, missing required fields
/// (`id`, `name`, `description`, `sync_strategy`), an invalid strategy or granularity, a name that
/// is not a SQL identifier, a duplicate table name, `partitioned` without `partition_by`, a
/// primary key or partition column missing from declared `columns`, no YAML block at all.
pub fn parse(markdown: &str, path: &Path) -> anyhow::Result<Vec<TableSpec>> {
    let blocks = yaml_blocks(markdown);
    if blocks.is_empty() {
        bail!(
            "{}: no ```yaml block found; tables are declared in fenced YAML blocks",
            path.display()
        );
    }
    let mut folder_mapping = BTreeMap::new();
    let mut raw: Vec<(RawTable, usize, &YamlBlock)> = Vec::new();
    let mut errors = Vec::new();
    for block in &blocks {
        match serde_yaml::from_str::<Option<Block>>(block.text) {
            Ok(Some(b)) => {
                folder_mapping.extend(b.folder_mapping);
                let start = raw.len();
                let lines = name_lines(block);
                for t in b.tables {
                    // A repeated name is found at its own line, not its first one.
                    let nth = raw[start..]
                        .iter()
                        .filter(|(r, _, _)| r.name == t.name)
                        .count();
                    let line = lines
                        .get(t.name.as_str())
                        .and_then(|l| l.get(nth))
                        .copied()
                        .unwrap_or(block.first_line);
                    let mut t = t;
                    let mut from = line;
                    for fk in &mut t.foreign_keys {
                        fk.line =
                            key_line(block, from, "references:", &fk.references).unwrap_or(line);
                        from = fk.line.max(line);
                    }
                    raw.push((t, line, block));
                }
            }
            Ok(None) => {}
            Err(e) => {
                let line = e
                    .location()
                    .map(|l| block.first_line + l.line() - 1)
                    .unwrap_or(block.first_line);
                let msg = shift_lines(&e.to_string(), block.first_line - 1);
                errors.push(format!("{}:{line}: {msg}", path.display()));
            }
        }
    }
    let mut tables: Vec<TableSpec> = Vec::new();
    let ends: Vec<usize> = raw
        .iter()
        .skip(1)
        .map(|(_, l, _)| *l)
        .chain([usize::MAX])
        .collect();
    for ((t, line, block), end) in raw.into_iter().zip(ends) {
        match validate(t, line, &folder_mapping) {
            Ok(spec) => {
                // Case-insensitively: DuckDB's view names and the data files on a laptop's
                // case-insensitive file system (macOS, Windows) would collide.
                if let Some(first) = tables
                    .iter()
                    .find(|x| x.name.eq_ignore_ascii_case(&spec.name))
                {
                    let same = if first.name == spec.name {
                        String::new()
                    } else {
                        format!(
                            " as `{}`: the names differ only in case, which DuckDB and macOS file names ignore",
                            first.name
                        )
                    };
                    errors.push(format!(
                        "{}:{line}: key `name`: duplicate table name `{}` (first declared at line {}{same})",
                        path.display(),
                        spec.name,
                        first.line
                    ));
                } else {
                    tables.push(spec);
                }
            }
            Err(e) => {
                let at = error_line(&e.to_string(), block, line, end).unwrap_or(line);
                errors.push(format!("{}:{at}: {e}", path.display()))
            }
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(tables)
}

/// Read and parse `path`. Errors: the file is missing or unreadable, or as [`parse`].
pub fn load(path: &Path) -> anyhow::Result<Vec<TableSpec>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    parse(&text, path)
}

/// Add `offset` to every `line N` in a YAML parser message, so lines inside a fenced block
/// become lines of the Markdown file.
fn shift_lines(msg: &str, offset: usize) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("line ") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// File lines of the block's `name: <name>` entries (tables' and columns'), by name, in order:
/// the `nth` table called `x` is declared at `lines["x"][nth]` (one pass over the block, so a
/// file declaring thousands of tables is read in linear time).
fn name_lines<'b>(block: &YamlBlock<'b>) -> BTreeMap<&'b str, Vec<usize>> {
    let mut out: BTreeMap<&'b str, Vec<usize>> = BTreeMap::new();
    for (i, line) in block.text.lines().enumerate() {
        let l = line.trim_start().trim_start_matches("- ").trim();
        if let Some(v) = l.strip_prefix("name:") {
            let name = v.trim().trim_matches(|c| c == '"' || c == '\'');
            out.entry(name).or_default().push(block.first_line + i);
        } else if let Some(at) = l.find("{name:").or_else(|| l.find(" name:")) {
            // A flow mapping: `- {id: a.b, name: orders, ...}`.
            let v = &l[at + 6..];
            let v = v.split([',', '}']).next().unwrap_or("");
            let name = v.trim().trim_matches(|c| c == '"' || c == '\'');
            out.entry(name).or_default().push(block.first_line + i);
        }
    }
    out
}

/// The line of the key a [`validate`] error names (`key \`csv.decimal\`: …` → the `decimal:`
/// line; `` `references: x` `` → that foreign key's line) within the table's entry, which runs
/// from its `name:` line `from` to the next table's `end`; `None` when it is not there.
fn error_line(msg: &str, block: &YamlBlock<'_>, from: usize, end: usize) -> Option<usize> {
    if let Some(rest) = msg.split_once("`references: ").map(|(_, r)| r) {
        let value = rest.split('`').next()?;
        return key_line(block, from, "references:", value).filter(|l| *l < end);
    }
    // Two columns differing only in case: the second one's `name:` line.
    if let Some(rest) = msg.strip_prefix("key `columns`: columns `") {
        let second = rest.split('`').nth(2)?;
        return key_line(block, from + 1, "name:", second).filter(|l| *l < end);
    }
    let key = msg.strip_prefix("key `")?.split('`').next()?;
    let last = format!("{}:", key.rsplit('.').next()?);
    // A key before `name:` in the entry (`- id: …` first) is searched from the entry's start.
    let lines: Vec<&str> = block.text.lines().collect();
    let start = from
        .saturating_sub(block.first_line)
        .min(lines.len().checked_sub(1)?);
    let entry_start = (0..=start)
        .rev()
        .find(|&i| lines[i].trim_start().starts_with("- "))
        .unwrap_or(start);
    lines
        .iter()
        .enumerate()
        .skip(entry_start)
        .take_while(|(i, _)| block.first_line + i < end)
        .find(|(_, l)| {
            let l = l
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches('{');
            l.starts_with(&last)
                || l.contains(&format!(" {last}"))
                || l.contains(&format!("{{{last}"))
        })
        .map(|(i, _)| block.first_line + i)
}

/// The first file line at or after `from` of `block` holding `key` followed by `value` (quotes
/// aside): `references: customers.id`, also inside a flow mapping (`{column: x, references: …}`).
fn key_line(block: &YamlBlock<'_>, from: usize, key: &str, value: &str) -> Option<usize> {
    let skip = from.saturating_sub(block.first_line);
    block
        .text
        .lines()
        .enumerate()
        .skip(skip)
        .find(|(_, l)| {
            l.match_indices(key).any(|(i, _)| {
                let rest = l[i + key.len()..].trim_start();
                let rest = rest.trim_start_matches(['"', '\'']);
                rest.strip_prefix(value).is_some_and(|r| {
                    !r.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
                })
            })
        })
        .map(|(i, _)| block.first_line + i)
}

fn validate(
    t: RawTable,
    line: usize,
    folder_mapping: &BTreeMap<String, String>,
) -> anyhow::Result<TableSpec> {
    let _ = (t.initial_load_chunk_days, &t.dataset);
    if !valid_name(&t.name) {
        bail!(
            "key `name`: `{}` is not a valid table name (letters, digits and _, not starting with a digit)",
            t.name
        );
    }
    if t.description.trim().is_empty() {
        bail!(
            "key `description`: table `{}` has an empty description",
            t.name
        );
    }
    let primary_key: Vec<String> = match t.primary_key {
        None => Vec::new(),
        Some(KeyList::Text(s)) => s
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        Some(KeyList::List(v)) => v
            .into_iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
    };
    if let Some(g) = &t.partition_granularity {
        if !matches!(g.as_str(), "year" | "month" | "day") {
            bail!(
                "key `partition_granularity`: invalid value `{g}` for table `{}`; allowed: year, month, day",
                t.name
            );
        }
    }
    let mut seen_key = std::collections::HashSet::new();
    if let Some(dup) = primary_key.iter().find(|k| !seen_key.insert(k.as_str())) {
        bail!(
            "key `primary_key`: column `{dup}` of table `{}` is listed twice",
            t.name
        );
    }
    if t.sync_strategy == SyncStrategy::Incremental && primary_key.is_empty() {
        bail!(
            "key `primary_key`: table `{}` has sync_strategy incremental but no primary_key (rows are merged by it)",
            t.name
        );
    }
    if t.sync_strategy == SyncStrategy::Partitioned && t.partition_by.is_none() {
        bail!(
            "key `partition_by`: table `{}` has sync_strategy partitioned but no partition_by",
            t.name
        );
    }
    let mut seen = std::collections::HashSet::new();
    let mut folded = std::collections::HashMap::new();
    for c in &t.columns {
        if !seen.insert(c.name.as_str()) {
            bail!(
                "key `columns`: column `{}` of table `{}` is declared twice",
                c.name,
                t.name
            );
        }
        // DuckDB resolves column names case-insensitively: `Name` and `name` cannot both be
        // queried.
        if let Some(first) = folded.insert(c.name.to_lowercase(), c.name.as_str()) {
            bail!(
                "key `columns`: columns `{first}` and `{}` of table `{}` differ only in case (DuckDB ignores case in column names)",
                c.name,
                t.name
            );
        }
    }
    if !t.columns.is_empty() {
        for k in primary_key
            .iter()
            .chain(t.partition_by.iter())
            .chain(t.incremental_column.iter())
        {
            if !seen.contains(k.as_str()) {
                bail!(
                    "key `primary_key`: column `{k}` of table `{}` is not among its declared columns",
                    t.name
                );
            }
        }
    }
    for fk in &t.foreign_keys {
        let ok = fk
            .target()
            .is_some_and(|(table, column)| valid_name(table) && !column.trim().is_empty());
        if !ok {
            return Err(anyhow!(
                "key `foreign_keys`: `references: {}` of table `{}` must be `table.column`",
                fk.references,
                t.name
            ));
        }
    }
    let bucket = t.id.rsplit_once('.').map(|(b, _)| b).unwrap_or("");
    let folder = t
        .folder
        .clone()
        .or_else(|| folder_mapping.get(bucket).cloned())
        .unwrap_or_else(|| {
            if bucket.is_empty() {
                "default".to_string()
            } else {
                bucket.to_string()
            }
        });
    if let Some(f) = &t.file {
        if Path::new(f)
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            bail!(
                "key `file`: `{f}` of table `{}` must be a path inside the data source folder (no `..`, not absolute)",
                t.name
            );
        }
    }
    let csv = validate_csv(t.csv.unwrap_or_default(), &t.name)?;
    if folder.contains("..") || folder.starts_with('/') || folder.contains('\\') {
        bail!(
            "key `folder`: `{folder}` of table `{}` must be a plain relative folder name",
            t.name
        );
    }
    Ok(TableSpec {
        id: t.id,
        name: t.name,
        description: t.description.trim().to_string(),
        primary_key,
        sync_strategy: t.sync_strategy,
        folder,
        incremental_window_days: t.incremental_window_days.unwrap_or(7),
        incremental_column: t.incremental_column,
        partition_by: t.partition_by,
        partition_granularity: t.partition_granularity,
        max_history_days: t.max_history_days,
        columns: t.columns,
        foreign_keys: t.foreign_keys,
        where_filters: t.where_filters,
        file: t.file,
        csv,
        profile: t.profile.unwrap_or_default(),
        private: t.private,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Tables\n\ntext\n\n```yaml\nfolder_mapping: {\"in.c-crm\": sales}\ntables:\n  - id: in.c-crm.orders\n    name: orders\n    description: Orders\n    primary_key: \"order_id, line_id\"\n    sync_strategy: full_refresh\n```\n\n```yaml\ntables:\n  - id: in.c-x.customers\n    name: customers\n    description: People\n    primary_key: id\n    sync_strategy: incremental\n    columns:\n      - {name: id, type: int64}\n```\n";

    #[test]
    fn parses_all_blocks_with_folder_mapping_and_composite_keys() {
        let t = parse(DOC, Path::new("dd.md")).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].folder, "sales");
        assert_eq!(t[0].primary_key, vec!["order_id", "line_id"]);
        assert_eq!(t[0].line, 9);
        assert_eq!(t[1].folder, "in.c-x");
        assert_eq!(t[1].columns[0].column_type, Some(ColumnType::Int64));
        assert_eq!(t[1].incremental_window_days, 7);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    colour: red\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(e.starts_with("dd.md:7:"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn errors_name_the_line_of_their_key_and_names_differing_in_case_collide() {
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    foreign_keys:\n      - column: x\n        references: c.y\n      - {column: z, references: nodot}\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(
            e.starts_with("dd.md:10: key `foreign_keys`: `references: nodot`"),
            "{e}"
        );
        for bad in ["\".x\"", "\"c.\"", "\"c. \""] {
            let doc = format!("```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    foreign_keys:\n      - column: x\n        references: {bad}\n```\n");
            let e = parse(&doc, Path::new("dd.md")).unwrap_err().to_string();
            assert!(e.starts_with("dd.md:9: key `foreign_keys`"), "{bad}: {e}");
        }
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    csv: {decimal: \";\"}\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(e.starts_with("dd.md:7: key `csv.decimal`"), "{e}");
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    foreign_keys:\n      - column: x\n        references: c.y\n      - column: x2\n        references: c.y2\n```\n";
        let t = parse(doc, Path::new("dd.md")).unwrap();
        let lines: Vec<usize> = t[0].foreign_keys.iter().map(|f| f.line).collect();
        assert_eq!(lines, [9, 11]);
        let doc = "```yaml\ntables:\n  - {id: a.b, name: orders, description: d, sync_strategy: full_refresh}\n  - {id: a.c, name: Orders, description: d, sync_strategy: full_refresh}\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(
            e.starts_with("dd.md:4: key `name`: duplicate table name `Orders` (first declared at line 3 as `orders`"),
            "{e}"
        );
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    columns:\n      - name: Email\n      - name: email\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(
            e.starts_with("dd.md:9: key `columns`: columns `Email` and `email` of table `b` differ only in case"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_names_and_bad_strategy_are_errors() {
        let doc = "```yaml\ntables:\n  - {id: a.b, name: b, description: d, sync_strategy: full_refresh}\n  - {id: a.c, name: b, description: d, sync_strategy: full_refresh}\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(e.contains("duplicate table name `b`"), "{e}");
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n  - id: a.c\n    name: b\n    description: d\n    sync_strategy: full_refresh\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(
            e.starts_with("dd.md:8: ") && e.contains("first declared at line 4"),
            "{e}"
        );
        let doc = "```yaml\ntables:\n  - {id: a.b, name: b, description: d, primary_key: [id, id], sync_strategy: full_refresh}\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(
            e.contains("column `id` of table `b` is listed twice"),
            "{e}"
        );
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: sometimes\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(e.starts_with("dd.md:6:") && e.contains("sometimes"), "{e}");
    }

    #[test]
    fn a_file_outside_the_source_folder_is_refused() {
        let doc = "```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    file: ../../etc/passwd\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(e.starts_with("dd.md:7: key `file`"), "{e}");
    }

    #[test]
    fn yaml_syntax_errors_give_lines_of_the_markdown_file() {
        let doc = "# T\n\n```yaml\ntables:\n  - id: a.b\n    name: \"b\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(e.contains("line 6"), "{e}");
        assert!(!e.contains("line 3 "), "{e}");
        assert_eq!(
            shift_lines("at line 2 column 3, x line 10", 5),
            "at line 7 column 3, x line 15"
        );
    }

    fn with_csv(csv: &str) -> anyhow::Result<Vec<TableSpec>> {
        let doc = format!("```yaml\ntables:\n  - id: a.b\n    name: b\n    description: d\n    sync_strategy: full_refresh\n    csv: {csv}\n```\n");
        parse(&doc, Path::new("dd.md"))
    }

    #[test]
    fn csv_options_are_validated_with_file_line_and_key() {
        let t = with_csv(
            "{delimiter: tab, decimal: \",\", date_format: \"%d/%m/%Y\", encoding: latin1, null_values: [NULL, NA]}",
        )
        .unwrap();
        let o = &t[0].csv;
        assert_eq!(o.delimiter, Some('\t'));
        assert_eq!(o.decimal, Some(','));
        // WHATWG: latin1 is windows-1252 (its printable 0x80-0x9F are what such files hold).
        assert_eq!(o.encoding.as_deref(), Some("windows-1252"));
        assert_eq!(o.null_values, vec!["NULL", "NA"]);
        assert_eq!(
            with_csv("{delimiter: \";\"}").unwrap()[0].csv.delimiter,
            Some(';')
        );
        assert_eq!(with_csv("{}").unwrap()[0].csv, CsvOptions::default());
        let e = with_csv("{delimiter: \";\", quote: \"'\"}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("dd.md:7:") && e.contains("quote"), "{e}");
        for (bad, key) in [
            ("{delimiter: \";;\"}", "csv.delimiter"),
            ("{delimiter: '\"'}", "csv.delimiter"),
            ("{decimal: \";\"}", "csv.decimal"),
            ("{date_format: \"%d/%m\"}", "csv.date_format"),
            ("{date_format: \"%Q\"}", "csv.date_format"),
            ("{encoding: klingon}", "csv.encoding"),
            ("{null_values: [\"\"]}", "csv.null_values"),
        ] {
            let e = with_csv(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("dd.md:7: ") && e.contains(&format!("key `{key}`")),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn missing_description_is_an_error() {
        let doc =
            "```yaml\ntables:\n  - id: a.b\n    name: b\n    sync_strategy: full_refresh\n```\n";
        let e = parse(doc, Path::new("dd.md")).unwrap_err().to_string();
        assert!(e.contains("description"), "{e}");
    }
}
