//! Business metrics: `content/metrics/<category>/<name>.yml`, each a YAML list holding one map in
//! the original system's schema (name, display_name, category, type, unit, grain, time_column,
//! table, tables, expression, description, dimensions, notes, synonyms, validation, `sql` and any
//! number of `sql_*` variants).

use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// One SQL query of a metric: `sql` (the basic query) or a `sql_<variant>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSql {
    /// The YAML key: `sql`, `sql_by_channel`, ...
    pub key: String,
    /// Human title: "Basic query" for `sql`, else the key minus `sql_`, words capitalised.
    pub title: String,
    /// The query text, trimmed.
    pub query: String,
}

/// A business metric, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Snake-case id, unique across all metrics.
    pub name: String,
    /// Human name.
    pub display_name: String,
    /// The folder under `metrics/` the file lives in.
    pub category: String,
    /// sum | average | ratio | count_distinct | count (free text kept as written).
    pub metric_type: Option<String>,
    /// USD, %, customers, hours, ...
    pub unit: Option<String>,
    /// daily, weekly, monthly, ...
    pub grain: Option<String>,
    /// The column that places a row in time.
    pub time_column: Option<String>,
    /// The primary table.
    pub table: Option<String>,
    /// Further tables the SQL reads.
    pub tables: Vec<String>,
    /// The aggregate formula in words or SQL.
    pub expression: Option<String>,
    /// What the metric means.
    pub description: String,
    /// Dimensions the metric can be cut by.
    pub dimensions: Vec<String>,
    /// Free notes.
    pub notes: Vec<String>,
    /// Other names analysts use for it.
    pub synonyms: Vec<String>,
    /// How it was validated, as written.
    pub validation: Option<String>,
    /// `sql` first, then the `sql_*` variants in file order.
    pub queries: Vec<MetricSql>,
    /// Path relative to the metrics folder: `<category>/<file>.yml`.
    pub file: String,
}

impl Metric {
    /// `table` followed by `tables`, without repeats.
    pub fn tables_used(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in self.table.iter().chain(self.tables.iter()) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrList {
    One(serde_yaml::Mapping),
    List(Vec<serde_yaml::Mapping>),
}

const KNOWN: &[&str] = &[
    "name",
    "display_name",
    "category",
    "type",
    "unit",
    "grain",
    "time_column",
    "table",
    "tables",
    "expression",
    "description",
    "dimensions",
    "notes",
    "synonyms",
    "validation",
    "cost_allocation_guide",
];

fn title_of(key: &str) -> String {
    if key == "sql" {
        return "Basic query".to_string();
    }
    title_case(key.trim_start_matches("sql_"))
}

/// `snake_case`, `kebab-case` or spaced words → `Title Case` (each word's first letter upper-cased).
pub fn title_case(s: &str) -> String {
    s.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::Null => None,
        serde_yaml::Value::String(s) => Some(s.trim().to_string()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        other => serde_yaml::to_string(other)
            .ok()
            .map(|s| s.trim().to_string()),
    }
}

fn list(v: &serde_yaml::Value) -> Vec<String> {
    match v {
        serde_yaml::Value::Sequence(items) => items.iter().filter_map(text).collect(),
        serde_yaml::Value::Null => Vec::new(),
        other => text(other).into_iter().collect(),
    }
}

fn line_of(source: &str, key: &str) -> usize {
    source
        .lines()
        .position(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .starts_with(&format!("{key}:"))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Parse one metric file's text. `category` is its folder name, `file` the path shown in errors
/// and kept as [`Metric::file`].
///
/// Errors (naming file, line and key): YAML syntax, not a map or a one-map list, unknown keys,
/// missing `name`, `description` or `sql`, a name that is not snake case, an empty query.
pub fn parse(source: &str, category: &str, file: &str) -> anyhow::Result<Metric> {
    let parsed: OneOrList = serde_yaml::from_str(source).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(1);
        anyhow::anyhow!("{file}:{line}: {e}")
    })?;
    let map = match parsed {
        OneOrList::One(m) => m,
        OneOrList::List(mut v) if v.len() == 1 => v.remove(0),
        OneOrList::List(v) => bail!(
            "{file}:1: a metric file holds one metric (a map, or a list of one map); found {}",
            v.len()
        ),
    };
    let mut queries = Vec::new();
    let get = |k: &str| map.get(k).cloned().unwrap_or(serde_yaml::Value::Null);
    for (k, v) in &map {
        let Some(key) = k.as_str() else {
            bail!("{file}:1: keys must be text, found {k:?}");
        };
        if key == "sql" || key.starts_with("sql_") {
            let query = text(v).unwrap_or_default();
            if query.is_empty() {
                bail!("{file}:{}: key `{key}`: empty query", line_of(source, key));
            }
            queries.push(MetricSql {
                key: key.to_string(),
                title: title_of(key),
                query,
            });
        } else if !KNOWN.contains(&key) {
            bail!(
                "{file}:{}: key `{key}`: unknown key (known: {}, sql, sql_*)",
                line_of(source, key),
                KNOWN.join(", ")
            );
        }
    }
    queries.sort_by_key(|q| q.key != "sql");
    let name =
        text(&get("name")).with_context(|| format!("{file}:1: key `name`: missing (required)"))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!(
            "{file}:{}: key `name`: `{name}` must be snake_case (a-z, 0-9, _)",
            line_of(source, "name")
        );
    }
    let description = text(&get("description"))
        .with_context(|| format!("{file}:1: key `description`: missing (required)"))?;
    if !queries.iter().any(|q| q.key == "sql") {
        bail!("{file}:1: key `sql`: missing (required)");
    }
    if let Some(c) = text(&get("category")) {
        if c != category {
            bail!(
                "{file}:{}: key `category`: `{c}` differs from the folder `{category}` the file is in",
                line_of(source, "category")
            );
        }
    }
    Ok(Metric {
        display_name: text(&get("display_name")).unwrap_or_else(|| title_of(&name)),
        name,
        category: category.to_string(),
        metric_type: text(&get("type")),
        unit: text(&get("unit")),
        grain: text(&get("grain")),
        time_column: text(&get("time_column")),
        table: text(&get("table")),
        tables: list(&get("tables")),
        expression: text(&get("expression")),
        description: description.split_whitespace().collect::<Vec<_>>().join(" "),
        dimensions: list(&get("dimensions")),
        notes: list(&get("notes")),
        synonyms: list(&get("synonyms")),
        validation: text(&get("validation")),
        queries,
        file: file.to_string(),
    })
}

/// Load every `<category>/<name>.yml` (or `.yaml`) under `dir`, sorted by category then name.
/// A missing folder means no metrics. Errors: as [`parse`], all files' errors joined; a duplicate
/// metric name.
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Metric>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut metrics: Vec<Metric> = Vec::new();
    let mut errors = Vec::new();
    let mut files: Vec<_> = walkdir::WalkDir::new(dir)
        .min_depth(2)
        .max_depth(2)
        .sort_by_file_name()
        .into_iter()
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: cannot list", dir.display()))?;
    files.retain(|e| {
        e.file_type().is_file()
            && matches!(
                e.path().extension().and_then(|x| x.to_str()),
                Some("yml" | "yaml")
            )
    });
    for entry in files {
        let path = entry.path();
        let category = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let rel = format!(
            "{category}/{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("")
        );
        let shown = path.display().to_string();
        let result = std::fs::read_to_string(path)
            .with_context(|| format!("{shown}: cannot read"))
            .and_then(|s| parse(&s, &category, &shown));
        match result {
            Ok(mut m) => {
                m.file = rel;
                if let Some(other) = metrics.iter().find(|x| x.name == m.name) {
                    errors.push(format!(
                        "{shown}:{}: key `name`: duplicate metric name `{}` (also in {})",
                        1, m.name, other.file
                    ));
                } else {
                    metrics.push(m);
                }
            }
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    metrics.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_list_of_one_with_variants_in_order() {
        let src = "- name: total_revenue\n  display_name: Total Revenue\n  category: revenue\n  type: sum\n  unit: USD\n  table: orders\n  tables: [orders, customers]\n  description: >\n    Monthly   revenue.\n  sql_by_channel: SELECT 2\n  sql: SELECT 1\n";
        let m = parse(src, "revenue", "revenue/total_revenue.yml").unwrap();
        assert_eq!(m.description, "Monthly revenue.");
        assert_eq!(m.queries[0].key, "sql");
        assert_eq!(m.queries[1].title, "By Channel");
        assert_eq!(m.tables_used(), vec!["orders", "customers"]);
    }

    #[test]
    fn unknown_key_names_line() {
        let src = "name: x\ndescription: d\nsql: SELECT 1\nfoo: 1\n";
        let e = parse(src, "c", "c/x.yml").unwrap_err().to_string();
        assert!(e.starts_with("c/x.yml:4: key `foo`"), "{e}");
    }
}
