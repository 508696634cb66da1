//! Page models: for each page, the template context (display-ready strings, relative links) and
//! the JSON twin (the input structs as serialised by serde).
//!
//! Nothing here depends on the build time except the dashboard, so an unchanged table, metric
//! or doc gives the same bytes on every build.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{json, Value};

use crate::content::{ForeignKey, Metric};
use crate::metrics::{MetricResult, QueryResult};
use crate::profile::{ColumnProfile, TableProfile};
use crate::site::charts;
use crate::site::format::{self, NA};
use crate::site::kit;
use crate::site::markdown;
use crate::site::{SiteInput, TableReport};

mod partials;

/// Version of the JSON twins' format.
pub const JSON_VERSION: u32 = 1;

/// A path segment safe as a file name: `/`, `\` and control characters become `_`; empty,
/// `.` and `..` become `_`.
pub fn safe_segment(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out.is_empty() || out == "." || out == ".." {
        "_".to_string()
    } else {
        out
    }
}

/// Percent-encode one URL path segment (everything but `A-Z a-z 0-9 - . _ ~`).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode the `%XX` escapes of a URL (the inverse of [`enc`]); bytes, as an escape may encode
/// part of a UTF-8 character. `None` when a `%` is not followed by two hex digits.
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The anchor id of a column on its table page: `column-<name>`, a whitespace character or `~`
/// written `~<hex code point>~` (an id holds no whitespace): `first name` →
/// `column-first~20~name`.
/// One-to-one, so no two columns of a table share an anchor (`first name` and `first_name`
/// did when whitespace became `_`).
pub fn column_anchor(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 7);
    out.push_str("column-");
    for c in name.chars() {
        if c.is_whitespace() || c == '~' {
            out.push_str(&format!("~{:x}~", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The anchor id of a folder on the tables catalog: `folder-<name>` (whitespace as `_`).
pub fn folder_anchor(folder: &str) -> String {
    let clean: String = folder
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    format!("folder-{clean}")
}

/// Output path of a table page (`tables/<name>.html`; a table named `index` is published as
/// `tables/index.table.html`, since `tables/index.html` is the catalog and a table name never
/// holds a dot).
pub fn table_path(name: &str) -> String {
    if name == "index" {
        return "tables/index.table.html".to_string();
    }
    format!("tables/{}.html", safe_segment(name))
}

/// Output path of a metric page (`metrics/<category>/<name>.html`).
pub fn metric_path(m: &Metric) -> String {
    format!(
        "metrics/{}/{}.html",
        safe_segment(&m.category),
        safe_segment(&m.name)
    )
}

/// Output path of a doc page (`docs/<slug>.html`; a doc named `index` is the docs index).
pub fn doc_path(slug: &str) -> String {
    format!("docs/{}.html", safe_segment(slug))
}

/// The href of output path `target` from page `from` (both relative to the output root).
pub fn href(from: &str, target: &str) -> String {
    let depth = from.matches('/').count();
    let mut out = "../".repeat(depth);
    let encoded: Vec<String> = target.split('/').map(enc).collect();
    out.push_str(&encoded.join("/"));
    out
}

/// The JSON twin's path for a page path (`x.html` → `x.json`).
pub fn json_path(page: &str) -> String {
    match page.strip_suffix(".html") {
        Some(stem) => format!("{stem}.json"),
        None => format!("{page}.json"),
    }
}

/// Redact a password in a URL's user info (`https://user:secret@host` → `https://user:***@host`).
fn redact(source: &str) -> String {
    let Some(scheme_end) = source.find("://") else {
        return source.to_string();
    };
    let rest = &source[scheme_end + 3..];
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    match authority.rfind('@') {
        Some(at) => {
            let user = authority[..at].split(':').next().unwrap_or("");
            format!(
                "{}://{}:***@{}",
                &source[..scheme_end],
                user,
                &rest[at + 1..]
            )
        }
        None => source.to_string(),
    }
}

/// Which repeated parts of a table page broker writes in Rust ([`partials`]) instead of
/// rendering their partial template (`table_schema.html`, `table_sample.html`,
/// `table_column.html`): each part while the theme overrides neither `table.html` nor that
/// partial, so a theme's own markup always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RustPartials {
    /// The schema section (`table_schema.html`).
    pub schema: bool,
    /// The sample rows (`table_sample.html`).
    pub sample: bool,
    /// The column cards (`table_column.html`).
    pub columns: bool,
}

impl RustPartials {
    /// The parts `theme` leaves to the default theme's markup.
    pub fn for_theme(theme: &crate::site::theme::Theme) -> RustPartials {
        let default = |partial| !theme.overrides("table.html") && !theme.overrides(partial);
        RustPartials {
            schema: default("table_schema.html"),
            sample: default("table_sample.html"),
            columns: default("table_column.html"),
        }
    }
}

/// The parts of a table page written in Rust ([`RustPartials`]), in page order. In the template
/// context each is a marker ([`part_marker`]), which [`RustParts::pieces`] replaces by the
/// part's markup when the page is written: the markup (most of the page) is never copied into
/// a template value nor through the template's output.
#[derive(Debug, Default)]
pub struct RustParts(Vec<String>);

/// The marker of part `i` in a rendered page: an HTML comment, which no escaped text can hold
/// (autoescape writes `<` as `&lt;`).
fn part_marker(i: usize) -> String {
    format!("<!--broker:part:{i}-->")
}

impl RustParts {
    /// `views` written as HTML by `write` when `in_rust`, kept here and returned as its
    /// marker (the views are emptied then: the template does not read them); else the views
    /// as they are and no HTML.
    fn add<T: Default>(
        &mut self,
        in_rust: bool,
        views: T,
        write: impl Fn(&mut String, &T),
    ) -> (T, Option<minijinja::Value>) {
        if !in_rust {
            return (views, None);
        }
        let mut html = String::with_capacity(16 * 1024);
        write(&mut html, &views);
        if html.is_empty() {
            // Falsy in the template, as an empty part has always been.
            return (T::default(), Some(minijinja::Value::from_safe_string(html)));
        }
        let marker = part_marker(self.0.len());
        self.0.push(html);
        (
            T::default(),
            Some(minijinja::Value::from_safe_string(marker)),
        )
    }

    /// `page` (rendered from a context holding these parts' markers) as the pieces of the
    /// finished page, in order: the text around each marker and the part in its place. A
    /// marker the page does not hold (a theme's `base.html` without the content block) leaves
    /// its part out.
    pub fn pieces<'a>(&'a self, page: &'a str) -> Vec<&'a [u8]> {
        let mut found: Vec<(usize, usize, &String)> = self
            .0
            .iter()
            .enumerate()
            .filter_map(|(i, part)| {
                let marker = part_marker(i);
                page.find(&marker).map(|at| (at, at + marker.len(), part))
            })
            .collect();
        found.sort_unstable_by_key(|&(at, ..)| at);
        let mut pieces = Vec::with_capacity(2 * found.len() + 1);
        let mut from = 0;
        for (at, end, part) in found {
            pieces.push(&page.as_bytes()[from..at]);
            pieces.push(part.as_bytes());
            from = end;
        }
        pieces.push(&page.as_bytes()[from..]);
        pieces
    }
}

/// The foreign keys that point at each table: target table name → `(table, key)` of each
/// declaration, in the order of `tables` and of their declarations.
pub fn foreign_keys_in(tables: &[TableReport]) -> BTreeMap<&str, Vec<(&str, &ForeignKey)>> {
    let mut fk_in: BTreeMap<&str, Vec<(&str, &ForeignKey)>> = BTreeMap::new();
    for t in tables {
        for fk in &t.spec.foreign_keys {
            if let Some((target, _)) = fk.target() {
                fk_in
                    .entry(target)
                    .or_default()
                    .push((t.spec.name.as_str(), fk));
            }
        }
    }
    fk_in
}

/// Indexes over the input shared by all pages.
pub struct Site<'a> {
    /// The input.
    pub input: &'a SiteInput,
    tables: BTreeMap<&'a str, &'a TableReport>,
    fk_in: BTreeMap<&'a str, Vec<(&'a str, &'a ForeignKey)>>,
    metrics_by_table: BTreeMap<String, Vec<&'a Metric>>,
    /// Every HTML page the site will hold, by path from the output root.
    pub pages: BTreeSet<String>,
    /// The heading ids of each doc page, by its path from the output root.
    doc_anchors: BTreeMap<String, BTreeSet<String>>,
    /// The doc images, by path from the output root (`docs/img/schema.png`).
    doc_images: BTreeSet<String>,
}

impl<'a> Site<'a> {
    /// Build the indexes.
    pub fn new(input: &'a SiteInput) -> Site<'a> {
        let mut tables = BTreeMap::new();
        for t in &input.tables {
            tables.entry(t.spec.name.as_str()).or_insert(t);
        }
        let fk_in = foreign_keys_in(&input.tables);
        let mut metrics_by_table: BTreeMap<String, Vec<&Metric>> = BTreeMap::new();
        for m in &input.metrics {
            for t in m.metric.tables_used() {
                metrics_by_table.entry(t).or_default().push(&m.metric);
            }
        }
        let mut pages = BTreeSet::new();
        for p in [
            "index.html",
            "tables/index.html",
            "metrics/index.html",
            "docs/index.html",
        ] {
            pages.insert(p.to_string());
        }
        for t in &input.tables {
            pages.insert(table_path(&t.spec.name));
        }
        for m in &input.metrics {
            pages.insert(metric_path(&m.metric));
        }
        for d in &input.content.docs {
            pages.insert(doc_path(&d.slug));
        }
        let doc_anchors = input
            .content
            .docs
            .iter()
            .map(|d| {
                let ids = markdown::headings(&d.markdown).into_iter().map(|h| h.id);
                (doc_path(&d.slug), ids.collect())
            })
            .collect();
        Site {
            input,
            tables,
            fk_in,
            metrics_by_table,
            pages,
            doc_anchors,
            doc_images: input
                .content
                .doc_files
                .images
                .iter()
                .map(|i| format!("docs/{}", i.path))
                .collect(),
        }
    }

    /// `site` in every template: name, subtitle, `logo` (`{src, rooted}`: `rooted` when `src`
    /// is relative to the output root, so templates prefix `page.root`) and `brand_css` (an
    /// `assets/brand.css` with the accent colours exists).
    fn site(&self) -> Value {
        use crate::site::brand::Logo;
        let logo = match &self.input.brand.logo {
            Some(Logo::Svg { .. }) => json!({"src": "assets/logo.svg", "rooted": true}),
            Some(Logo::Url(u)) => json!({"src": u, "rooted": false}),
            None => Value::Null,
        };
        json!({
            "name": self.input.instance_name,
            "subtitle": self.input.instance_subtitle,
            "logo": logo,
            "brand_css": self.input.brand.accent.is_some(),
        })
    }

    fn page(&self, path: &str, title: &str, section: &str) -> Value {
        let depth = path.matches('/').count();
        let json_name = json_path(path.rsplit('/').next().unwrap_or(path));
        json!({
            "path": path,
            "title": title,
            "section": section,
            "root": "../".repeat(depth),
            "json": json_name,
        })
    }

    /// The link from the page at `from` to `table`'s page, at `column`'s anchor when the
    /// table has that column (declared or synced; else at the top of the page, never at an
    /// anchor that is not there). `None` when the catalog has no such table.
    fn table_href(&self, from: &str, table: &str, column: Option<&str>) -> Option<String> {
        self.tables.get(table)?;
        let mut h = href(from, &table_path(table));
        if let Some(c) = column.filter(|c| self.has_column(table, c)) {
            h.push('#');
            h.push_str(&enc(&column_anchor(c)));
        }
        Some(h)
    }

    /// Whether `page` (a path from the output root) has an element with id `anchor`, as far as
    /// can be told: the headings of a doc page, the column anchors of a table page; any other
    /// anchor is taken to exist.
    fn has_anchor(&self, page: &str, anchor: &str) -> bool {
        if let Some(ids) = self.doc_anchors.get(page) {
            return ids.contains(anchor);
        }
        if anchor.starts_with("column-") {
            if let Some(t) = self
                .input
                .tables
                .iter()
                .find(|t| table_path(&t.spec.name) == page)
            {
                return t.column_names().map(column_anchor).any(|a| a == anchor);
            }
        }
        true
    }

    /// Whether `table` declares or (after its sync) has a column named `column`.
    fn has_column(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .is_some_and(|r| r.column_names().any(|c| c == column))
    }

    // ---------------------------------------------------------------- dashboard

    /// `meta/freshness.js`: `window.brokerFreshness = {"built_at": …, "tables": {name:
    /// {"last_success", "last_run", "status"}}};` — loaded by every page (a script, not JSON, so
    /// it also works on pages opened from disk) to show "synced 12 minutes ago".
    /// Errors: JSON encoding.
    pub fn freshness_script(&self) -> anyhow::Result<String> {
        let tables: serde_json::Map<String, Value> = self
            .input
            .tables
            .iter()
            .filter_map(|t| {
                let s = t.sync_state.as_ref()?;
                Some((
                    t.spec.name.clone(),
                    json!({"last_success": s.last_success, "last_run": s.last_run, "status": s.status}),
                ))
            })
            .collect();
        let data = json!({"built_at": self.input.built_at, "tables": tables});
        // `</` cannot end a script here: JSON escapes nothing of it, so escape the slash.
        let text = serde_json::to_string(&data)?.replace("</", "<\\/");
        Ok(format!("window.brokerFreshness = {text};\n"))
    }

    /// `index.html`: counts, failures, stale tables, the latest schema changes. It carries no
    /// build time (that is in `meta/freshness.js` and `meta/manifest.json`), so a build that
    /// changed nothing leaves it byte-identical.
    pub fn dashboard(&self) -> (Value, Value) {
        let path = "index.html";
        let input = self.input;
        let synced: Vec<&TableReport> =
            input.tables.iter().filter(|t| t.synced.is_some()).collect();
        let rows: u64 = synced
            .iter()
            .filter_map(|t| t.synced.as_ref())
            .map(|s| s.rows)
            .sum();
        let bytes: u64 = synced
            .iter()
            .filter_map(|t| t.synced.as_ref())
            .map(|s| s.bytes)
            .sum();
        let categories: BTreeSet<&str> = input
            .metrics
            .iter()
            .map(|m| m.metric.category.as_str())
            .collect();
        let failed_tables: Vec<&TableReport> =
            input.tables.iter().filter(|t| t.error.is_some()).collect();
        let failed_metrics: Vec<&MetricResult> =
            input.metrics.iter().filter(|m| m.failed()).collect();
        // Published data the latest sync did not refresh (the table was left out by --select
        // or --exclude): stale by as long as since its last successful sync. The latest sync is
        // the newest successful one of any table, not this build: a rebuild of `broker serve`
        // after a doc edit syncs nothing and leaves every table as fresh as it was. (Tables
        // whose sync failed are listed as failures, with the same date.)
        let latest_sync = input
            .tables
            .iter()
            .filter_map(|t| t.sync_state.as_ref()?.last_success.as_deref())
            .max()
            .unwrap_or(&input.built_at);
        // A table left out before it ever synced has no data yet: listed with no date.
        let stale_tables: Vec<Value> = input
            .tables
            .iter()
            .filter(|t| t.error.is_none())
            .filter_map(|t| {
                if t.synced.is_none() {
                    return Some(json!({
                        "name": t.spec.name,
                        "href": href(path, &table_path(&t.spec.name)),
                        "last_success": null,
                    }));
                }
                let s = t.sync_state.as_ref()?;
                let last = s.last_success.as_deref()?;
                (last < latest_sync).then(|| {
                    json!({
                        "name": t.spec.name,
                        "href": href(path, &table_path(&t.spec.name)),
                        "last_success": last,
                    })
                })
            })
            .collect();

        let folders: Vec<(&str, (u64, u64, u64))> = input
            .catalog
            .ordered(input.tables.iter().map(|t| t.spec.folder.as_str()))
            .into_iter()
            .map(|f| {
                let mut e = (0u64, 0u64, 0u64);
                for t in input.tables.iter().filter(|t| t.spec.folder == f) {
                    e.0 += 1;
                    if let Some(s) = &t.synced {
                        e.1 += s.rows;
                        e.2 += s.bytes;
                    }
                }
                (f, e)
            })
            .collect();

        let ctx = json!({
            "site": self.site(),
            "page": self.page(path, &input.instance_name, "home"),
            "broker_version": input.broker_version,
            "counts": [
                {"label": "tables", "value": format::int(input.tables.len() as u64),
                 "note": if failed_tables.is_empty() { "all synced".to_string() } else { format!("{} failed", failed_tables.len()) },
                 "href": "tables/index.html"},
                {"label": "rows", "value": format::int(rows), "note": "across synced tables", "href": "tables/index.html"},
                {"label": "on disk", "value": format::bytes(bytes), "note": "Parquet, zstd", "href": "tables/index.html"},
                {"label": "metrics", "value": format::int(input.metrics.len() as u64),
                 "note": format!("in {} {}", categories.len(), if categories.len() == 1 { "category" } else { "categories" }),
                 "href": "metrics/index.html"},
                {"label": "docs", "value": format::int(input.content.docs.len() as u64), "note": "pages", "href": "docs/index.html"},
            ],
            "folders": folders.iter().map(|(f, (n, r, b))| json!({
                "folder": f, "label": input.catalog.label(f), "href": format!("tables/index.html#{}", enc(&folder_anchor(f))), "tables": format::int(*n), "rows": format::int(*r), "bytes": format::bytes(*b),
            })).collect::<Vec<_>>(),
            "schema_changes": recent_schema_changes(input, path),
            "failed_tables": failed_tables.iter().map(|t| json!({
                "name": t.spec.name,
                "href": href(path, &table_path(&t.spec.name)),
                "error": t.error.clone().unwrap_or_else(|| "sync failed".to_string()),
                "data_from": t.synced.as_ref().and(t.sync_state.as_ref()).and_then(|s| s.last_success.clone()),
            })).collect::<Vec<_>>(),
            "stale_tables": stale_tables,
            "failed_metrics": failed_metrics.iter().map(|m| json!({
                "name": m.metric.name,
                "display_name": m.metric.display_name,
                "href": href(path, &metric_path(&m.metric)),
                "errors": m.results.iter().filter_map(|r| r.error.as_ref().map(|e| json!({"title": r.title, "key": r.key, "error": e}))).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let twin = json!({
            "version": JSON_VERSION,
            "kind": "dashboard",
            // Not the time itself: that would make every build rewrite this file.
            "built_at_in": "meta/manifest.json",
            "instance": {"name": input.instance_name, "subtitle": input.instance_subtitle},
            "broker_version": input.broker_version,
            "counts": {
                "tables": input.tables.len(),
                "tables_synced": synced.len(),
                "tables_failed": failed_tables.len(),
                "rows": rows,
                "bytes": bytes,
                "metrics": input.metrics.len(),
                "metric_categories": categories.len(),
                "metrics_failed": failed_metrics.len(),
                "docs": input.content.docs.len(),
            },
            "schema_changes": recent_schema_changes(input, path),
            "failed_tables": failed_tables.iter().map(|t| json!({
                "name": t.spec.name,
                "href": href(path, &table_path(&t.spec.name)),
                "error": t.error,
                "data_from": t.synced.as_ref().and(t.sync_state.as_ref()).and_then(|s| s.last_success.clone()),
            })).collect::<Vec<_>>(),
            "stale_tables": stale_tables,
            "failed_metrics": failed_metrics.iter().map(|m| json!({
                "name": m.metric.name,
                "category": m.metric.category,
                "href": href(path, &metric_path(&m.metric)),
                "errors": m.results.iter().filter_map(|r| r.error.as_ref().map(|e| json!({"key": r.key, "error": e}))).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        (ctx, twin)
    }

    // ---------------------------------------------------------------- tables

    /// `tables/index.html`: tables grouped by folder, each with description, rows, columns, size,
    /// when it was last synced (filled in by the page's script from `meta/freshness.js`, so that
    /// a build which changed no data leaves the page byte-identical) and a completeness badge
    /// ([`quality_level`]).
    pub fn table_catalog(&self) -> (Value, Value) {
        let path = "tables/index.html";
        let catalog = &self.input.catalog;
        let order = catalog.ordered(self.input.tables.iter().map(|t| t.spec.folder.as_str()));
        let folders: Vec<(&str, Vec<&TableReport>)> = order
            .into_iter()
            .map(|f| {
                let tables = self
                    .input
                    .tables
                    .iter()
                    .filter(|t| t.spec.folder == f)
                    .collect();
                (f, tables)
            })
            .collect();
        let groups: Vec<Value> = folders
            .iter()
            .map(|(folder, tables)| {
                let rows: Vec<Value> = tables
                    .iter()
                    .map(|t| {
                        let columns: Vec<&str> = match &t.synced {
                            Some(s) => s.columns.iter().map(|c| c.name.as_str()).collect(),
                            None => t.spec.columns.iter().map(|c| c.name.as_str()).collect(),
                        };
                        let search = format!(
                            "{} {} {} {} {}",
                            t.spec.name,
                            t.spec.folder,
                            catalog.label(folder),
                            t.spec.description,
                            columns.join(" ")
                        )
                        .to_lowercase();
                        let completeness = t.profile.as_ref().and_then(|p| p.completeness_pct);
                        json!({
                            "name": t.spec.name,
                            "href": href(path, &table_path(&t.spec.name)),
                            "description": t.spec.description,
                            "rows": t.synced.as_ref().map(|s| format::int(s.rows)).unwrap_or_else(|| NA.to_string()),
                            "columns": if columns.is_empty() { NA.to_string() } else { columns.len().to_string() },
                            "bytes": t.synced.as_ref().map(|s| format::bytes(s.bytes)).unwrap_or_else(|| NA.to_string()),
                            "completeness": format::pct(completeness),
                            "quality": completeness.map(quality_level),
                            "synced": t.sync_state.is_some(),
                            "failed": t.error.is_some(),
                            "private": t.spec.private,
                            "error": t.error.as_deref().map(format::first_line),
                            "alerts": t.profile.as_ref().map(|p| p.alerts.len()).unwrap_or(0),
                            "search": search,
                        })
                    })
                    .collect();
                json!({"folder": folder, "label": catalog.label(folder), "anchor": folder_anchor(folder), "tables": rows})
            })
            .collect();
        let ctx = json!({
            "site": self.site(),
            "page": self.page(path, "Tables", "tables"),
            "count": self.input.tables.len(),
            "folders": groups,
        });
        let twin = json!({
            "version": JSON_VERSION,
            "kind": "table_catalog",
            "folders": folders.iter().map(|(folder, tables)| json!({
                "folder": folder,
                "label": catalog.label(folder),
                "tables": tables.iter().map(|t| json!({
                    "name": t.spec.name,
                    "href": href(path, &table_path(&t.spec.name)),
                    "json": json_path(&href(path, &table_path(&t.spec.name))),
                    "description": t.spec.description,
                    "rows": t.synced.as_ref().map(|s| s.rows),
                    "columns": t.synced.as_ref().map(|s| s.columns.len()),
                    "bytes": t.synced.as_ref().map(|s| s.bytes),
                    "completeness_pct": t.profile.as_ref().and_then(|p| p.completeness_pct),
                    "quality": t.profile.as_ref().and_then(|p| p.completeness_pct).map(quality_level),
                    "error": t.error,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        (ctx, twin)
    }

    /// `tables/<name>.html`.
    ///
    /// Returns the page's template context, its JSON twin's bytes (both built from typed
    /// views, without an intermediate `serde_json::Value` of the profile: a table page carries
    /// every column's statistics and charts, and this is the site's hot path) and the parts
    /// written in Rust (`partials`, see [`RustPartials`]). `profile_json`: the table's profile
    /// as [`crate::site::ProfileJson`] holds it, for the twin.
    ///
    /// Errors: the twin cannot be serialised.
    pub fn table(
        &self,
        r: &TableReport,
        profile_json: Option<&str>,
        partials: RustPartials,
    ) -> anyhow::Result<(minijinja::Value, Vec<u8>, RustParts)> {
        let spec = &r.spec;
        let path = table_path(&spec.name);
        let path = path.as_str();
        let profile = r.profile.as_ref();

        // Schema: the synced columns, else the declared ones.
        let schema: Vec<SchemaColumn> = match &r.synced {
            Some(s) => s
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let desc = spec
                        .column_of(i, &c.source_name, &c.name)
                        .and_then(|d| d.description.as_deref());
                    let p = profile.and_then(|p| p.column_at(i, &c.name));
                    let anchor = column_anchor(&c.name);
                    SchemaColumn {
                        name: &c.name,
                        href: format!("#{}", enc(&anchor)),
                        anchor,
                        source_name: (c.source_name != c.name).then_some(c.source_name.as_str()),
                        r#type: c.column_type.as_str(),
                        meaning: c.column_type.meaning(),
                        note: c.note.as_deref(),
                        type_source: c.type_source,
                        description: desc,
                        primary_key: spec.primary_key.contains(&c.name),
                        nulls: p
                            .map(|p| format::pct(p.null_pct))
                            .unwrap_or_else(|| NA.to_string()),
                        distinct: p
                            .map(|p| approx(p.distinct_exact, format::int(p.distinct_count)))
                            .unwrap_or_else(|| NA.to_string()),
                        profiled: p.is_some(),
                    }
                })
                .collect(),
            None => spec
                .columns
                .iter()
                .map(|c| {
                    let anchor = column_anchor(&c.name);
                    SchemaColumn {
                        name: &c.name,
                        href: format!("#{}", enc(&anchor)),
                        anchor,
                        source_name: None,
                        r#type: c.column_type.map(|t| t.as_str()).unwrap_or(NA),
                        meaning: c.column_type.and_then(|t| t.meaning()),
                        note: None,
                        type_source: if c.column_type.is_some() {
                            "declared"
                        } else {
                            NA
                        },
                        description: c.description.as_deref(),
                        primary_key: spec.primary_key.contains(&c.name),
                        nulls: NA.to_string(),
                        distinct: NA.to_string(),
                        profiled: false,
                    }
                })
                .collect(),
        };

        let mut facts: Vec<Value> = Vec::new();
        let mut fact =
            |label: &str, value: String| facts.push(json!({"label": label, "value": value}));
        match (&r.synced, profile) {
            (Some(s), _) => {
                fact("rows", format::int(s.rows));
                fact("columns", format::int(s.columns.len() as u64));
                fact("on disk", format::bytes(s.bytes));
            }
            (None, _) => {
                fact("rows", NA.to_string());
            }
        }
        if let Some(p) = profile {
            fact("complete", format::pct(p.completeness_pct));
        }

        let details = {
            let mut d: Vec<Value> = Vec::new();
            let mut add = |label: &str, value: String| {
                d.push(json!({"label": label, "value": value}));
            };
            add("id", spec.id.clone());
            add(
                "primary key",
                if spec.primary_key.is_empty() {
                    "none declared".to_string()
                } else {
                    spec.primary_key.join(", ")
                },
            );
            let mut strategy = spec.sync_strategy.to_string();
            if let Some(col) = &spec.partition_by {
                strategy.push_str(&format!(
                    " by {col} ({})",
                    spec.partition_granularity.as_deref().unwrap_or("month")
                ));
            }
            if spec.sync_strategy == crate::content::SyncStrategy::Incremental {
                let cursor = r.sync_state.as_ref().and_then(|s| s.cursor.as_ref());
                match (&spec.incremental_column, cursor) {
                    // The window applies to dates and timestamps only.
                    (Some(c), Some(k)) if k.column_type == crate::content::ColumnType::Int64 => {
                        strategy.push_str(&format!(", reads rows from the largest `{c}` read"))
                    }
                    (Some(c), _) => strategy.push_str(&format!(
                        ", reads rows from the latest `{c}` read minus {} days",
                        spec.incremental_window_days
                    )),
                    (None, _) => strategy.push_str(", reads every row and merges it by key"),
                }
            }
            add("sync", strategy);
            add("folder", spec.folder.clone());
            if let Some(s) = &r.synced {
                if !s.source.is_empty() {
                    add("source", redact(&s.source));
                }
            }
            if let Some(range) = profile.and_then(|p| p.date_range.as_ref()) {
                add(
                    "data range",
                    format!(
                        "{} to {} ({}, {} days)",
                        range.earliest,
                        range.latest,
                        range.column,
                        format::int_signed(range.span_days)
                    ),
                );
            }
            d
        };

        let files: Vec<Value> = r
            .synced
            .iter()
            .flat_map(|s| s.files.iter())
            .map(|f| {
                // As the private group sees the tree: the overlay laid over the root.
                let logical = super::private::logical_path(&f.path);
                json!({
                    "path": logical,
                    "href": href(path, logical),
                    "rows": format::int(f.rows),
                    "bytes": format::bytes(f.bytes),
                })
            })
            .collect();

        let alerts: Vec<Value> = profile
            .map(|p| {
                p.alerts
                    .iter()
                    .map(|a| {
                        json!({
                            "column": a.column,
                            "href": format!("#{}", enc(&column_anchor(&a.column))),
                            "kind": a.kind,
                            "message": a.message,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();

        let columns: Vec<ColumnView> = profile
            .map(|p| {
                p.columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let desc = spec
                            .column_at(i, &c.name)
                            .and_then(|d| d.description.as_deref());
                        column_view(c, desc)
                    })
                    .collect()
            })
            .unwrap_or_default();

        let sample = profile.map(sample_view);
        let mut parts = RustParts::default();
        let (schema, schema_html) = parts.add(partials.schema, schema, |out, s| {
            partials::schema_section(out, s)
        });
        let (sample, sample_html) = parts.add(partials.sample, sample, |out, s| {
            partials::sample_section(out, s.as_ref())
        });
        let (columns, columns_html) = parts.add(partials.columns, columns, |out, cs| {
            out.reserve(cs.len() * 4096);
            for c in cs {
                partials::column_card(out, c);
            }
        });
        let summary = profile.map(|p| profile_summary(p, !spec.primary_key.is_empty()));

        let fk_out: Vec<Value> = spec
            .foreign_keys
            .iter()
            .map(|fk| {
                let (t, c) = fk.target().unwrap_or((fk.references.as_str(), ""));
                json!({
                    "column": fk.column,
                    "column_href": self.has_column(&spec.name, &fk.column).then(|| format!("#{}", enc(&column_anchor(&fk.column)))),
                    "references": fk.references,
                    "href": self.table_href(path, t, if c.is_empty() { None } else { Some(c) }),
                    "description": fk.description,
                })
            })
            .collect();
        let mut fk_out = fk_out;
        let fk_in_list: &[(&str, &ForeignKey)] = self
            .fk_in
            .get(spec.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let fk_in: Vec<Value> = fk_in_list
            .iter()
            .map(|(from, fk)| {
                let ours = fk.target().map(|(_, c)| c).unwrap_or("");
                json!({
                    "from": format!("{from}.{}", fk.column),
                    "href": self.table_href(path, from, Some(&fk.column)),
                    "column": ours,
                    "column_href": self.has_column(&spec.name, ours).then(|| format!("#{}", enc(&column_anchor(ours)))),
                    "description": fk.description,
                })
            })
            .collect();

        let mut fk_in = fk_in;
        // The profile's related tables add the keys the declarations above do not list:
        // `belongs_to` as "references", `has_many` as "referenced by".
        for rt in profile.map(|p| p.related_tables.as_slice()).unwrap_or(&[]) {
            let theirs = format!("{}.{}", rt.table, rt.foreign_column);
            let (list, key) = match rt.direction.as_str() {
                "belongs_to" => (&mut fk_out, "references"),
                "has_many" => (&mut fk_in, "from"),
                _ => continue,
            };
            if list
                .iter()
                .any(|f| f["column"] == rt.column.as_str() && f[key] == theirs.as_str())
            {
                continue;
            }
            list.push(json!({
                "column": rt.column,
                "column_href": format!("#{}", enc(&column_anchor(&rt.column))),
                key: theirs,
                "href": self.table_href(path, &rt.table, Some(&rt.foreign_column)),
                "description": rt.description,
            }));
        }

        // Metrics reading this table: from their SQL as parsed here, and the profile's
        // `used_by_metrics` (by name; a name without a metric page is listed without a link).
        let mut metrics: Vec<&Metric> = self
            .metrics_by_table
            .get(&spec.name)
            .cloned()
            .unwrap_or_default();
        let mut unknown_metrics: Vec<&str> = Vec::new();
        for name in profile.map(|p| p.used_by_metrics.as_slice()).unwrap_or(&[]) {
            let found: Vec<&Metric> = self
                .input
                .metrics
                .iter()
                .map(|m| &m.metric)
                .filter(|m| &m.name == name)
                .collect();
            if found.is_empty() && !unknown_metrics.contains(&name.as_str()) {
                unknown_metrics.push(name);
            }
            for m in found {
                if !metrics
                    .iter()
                    .any(|x| x.category == m.category && x.name == m.name)
                {
                    metrics.push(m);
                }
            }
        }
        let failed_metrics: BTreeSet<(&str, &str)> = self
            .input
            .metrics
            .iter()
            .filter(|m| m.failed())
            .map(|m| (m.metric.category.as_str(), m.metric.name.as_str()))
            .collect();
        let metric_links: Vec<Value> = metrics
            .iter()
            .map(|m| {
                json!({
                    "name": m.name,
                    "display_name": m.display_name,
                    "category": m.category,
                    "description": m.description,
                    "href": href(path, &metric_path(m)),
                    "failed": failed_metrics.contains(&(m.category.as_str(), m.name.as_str())),
                })
            })
            .chain(unknown_metrics.iter().map(|name| {
                json!({
                    "name": name,
                    "display_name": name,
                    "category": Value::Null,
                    "description": "No metric of this name is defined.",
                    "href": Value::Null,
                    "failed": false,
                })
            }))
            .collect();

        let snippet = format!(
            "duckdb -init analyst/views.sql\nSELECT * FROM {} LIMIT 10;",
            kit::query_name(&spec.name)
        );
        let copy = r
            .synced
            .as_ref()
            .map(|s| copy_command(&self.input.rsync_source, s));

        let ctx = TablePage {
            site: self.site(),
            page: self.page(path, &spec.name, "tables"),
            table: TableView {
                name: &spec.name,
                description: &spec.description,
                folder: &spec.folder,
                error: r.error.as_deref(),
                failed: r.synced.is_none(),
                private: spec.private,
                profile_missing: r.synced.is_some() && profile.is_none(),
                facts,
                details,
                files,
                alerts,
                profile: summary,
                schema,
                schema_html,
                columns,
                columns_html,
                sample,
                sample_html,
                fk_out,
                fk_in,
                metrics: metric_links,
                snippet,
                copy,
                sync: sync_view(r.sync_state.as_ref()),
                latest: profile
                    .and_then(|p| p.date_range.as_ref())
                    .map(|d| json!({"date": d.latest, "column": d.column})),
            },
        };
        let places = crate::publish::Places::default();
        let twin = TableTwin {
            version: JSON_VERSION,
            kind: "table",
            name: &spec.name,
            spec,
            synced: r.synced.as_ref().map(super::private::logical_files),
            profile: profile_json.map(|p| places.piece(p, 1)),
            error: r.error.as_deref(),
            sync_state: r.sync_state.as_ref().map(stable_state),
            foreign_keys_in: fk_in_list
                .iter()
                .map(|(from, fk)| {
                    json!({
                        "table": from, "column": fk.column, "references": fk.references, "description": fk.description,
                    })
                })
                .collect(),
            metrics: metrics
                .iter()
                .map(|m| {
                    json!({
                        "name": m.name, "category": m.category, "href": href(path, &metric_path(m)),
                    })
                })
                .collect(),
        };
        Ok((
            minijinja::Value::from_serialize(&ctx),
            crate::publish::json_spliced(&twin, crate::site::TWIN_LINES_TO, &places)
                .context("cannot serialise a JSON twin")?,
            parts,
        ))
    }

    // ---------------------------------------------------------------- metrics

    /// `metrics/index.html`: metrics grouped by category.
    pub fn metric_catalog(&self) -> (Value, Value) {
        let path = "metrics/index.html";
        let mut cats: BTreeMap<&str, Vec<&MetricResult>> = BTreeMap::new();
        for m in &self.input.metrics {
            cats.entry(m.metric.category.as_str()).or_default().push(m);
        }
        let view = |m: &MetricResult| {
            let mm = &m.metric;
            json!({
                "name": mm.name,
                "display_name": mm.display_name,
                "description": mm.description,
                "href": href(path, &metric_path(mm)),
                "type": mm.metric_type,
                "unit": mm.unit,
                "grain": mm.grain,
                "tables": mm.tables_used(),
                "failed": m.failed(),
                "queries": mm.queries.len(),
            })
        };
        let ctx = json!({
            "site": self.site(),
            "page": self.page(path, "Metrics", "metrics"),
            "count": self.input.metrics.len(),
            "categories": cats.iter().map(|(c, ms)| json!({
                "category": c,
                "label": format::title_case(c),
                "anchor": format!("category-{}", enc(c)),
                "metrics": ms.iter().map(|m| view(m)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let twin = json!({
            "version": JSON_VERSION,
            "kind": "metric_catalog",
            "categories": cats.iter().map(|(c, ms)| json!({
                "category": c,
                "metrics": ms.iter().map(|m| json!({
                    "name": m.metric.name,
                    "display_name": m.metric.display_name,
                    "description": m.metric.description,
                    "type": m.metric.metric_type,
                    "unit": m.metric.unit,
                    "grain": m.metric.grain,
                    "href": href(path, &metric_path(&m.metric)),
                    "failed": m.failed(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        (ctx, twin)
    }

    /// `metrics/<category>/<name>.html`: the page's template context, built from typed views
    /// (a result's rows are most of a metric page), and its JSON twin.
    pub fn metric<'m>(&self, mr: &'m MetricResult) -> (MetricPage<'m>, Value) {
        let m = &mr.metric;
        let path = metric_path(m);
        let path = path.as_str();
        let mut definition: Vec<Value> = Vec::new();
        let mut def = |label: &str, value: &Option<String>| {
            if let Some(v) = value {
                definition.push(json!({"label": label, "value": v}));
            }
        };
        def("type", &m.metric_type);
        def("unit", &m.unit);
        def("grain", &m.grain);
        def("time column", &m.time_column);
        let tables: Vec<Value> = m
            .tables_used()
            .iter()
            .map(|t| json!({"name": t, "href": self.table_href(path, t, None)}))
            .collect();
        let queries: Vec<QueryView> = m
            .queries
            .iter()
            .map(|q| {
                let result = mr.results.iter().find(|r| r.key == q.key);
                QueryView {
                    key: &q.key,
                    title: &q.title,
                    query: &q.query,
                    anchor: format!("query-{}", q.key),
                    result: result.map(result_view),
                    charts: result.map(charts::metric_charts).unwrap_or_default(),
                }
            })
            .collect();
        let ctx = MetricPage {
            site: self.site(),
            page: self.page(path, &m.display_name, "metrics"),
            metric: MetricView {
                name: &m.name,
                display_name: &m.display_name,
                category: &m.category,
                category_label: format::title_case(&m.category),
                category_href: format!(
                    "{}#category-{}",
                    href(path, "metrics/index.html"),
                    enc(&m.category)
                ),
                description: &m.description,
                definition,
                tables,
                expression: m.expression.as_deref(),
                dimensions: &m.dimensions,
                notes: &m.notes,
                synonyms: &m.synonyms,
                validation: m.validation.as_deref(),
                file: &m.file,
                failed: mr.failed(),
                queries,
            },
        };
        // A `Value`, so every object's keys come out sorted, as the twin has always had them.
        let twin = json!({
            "version": JSON_VERSION,
            "kind": "metric",
            "name": m.name,
            "category": m.category,
            "metric": m,
            "results": mr.results,
        });
        (ctx, twin)
    }

    // ---------------------------------------------------------------- docs

    /// `docs/index.html`: the docs list, with the doc named `index` (if any) on top. Returns the
    /// context, the twin and warnings.
    pub fn docs_index(&self) -> (Value, Value, Option<markdown::Rendered>) {
        let path = "docs/index.html";
        let docs: Vec<Value> = self
            .input
            .content
            .docs
            .iter()
            .filter(|d| d.slug != "index")
            .map(|d| json!({"slug": d.slug, "title": d.title, "href": href(path, &doc_path(&d.slug))}))
            .collect();
        let intro = self
            .input
            .content
            .docs
            .iter()
            .find(|d| d.slug == "index")
            .map(|d| markdown::render(&d.markdown, &|r| self.reference_href(path, r)));
        let ctx = json!({
            "site": self.site(),
            "page": self.page(path, "Docs", "docs"),
            "docs": docs,
            "toc": intro.as_ref().map(|r| toc(&r.headings)).unwrap_or_default(),
        });
        let twin = json!({
            "version": JSON_VERSION,
            "kind": "doc_catalog",
            "docs": docs,
            "markdown": self.input.content.docs.iter().find(|d| d.slug == "index").map(|d| &d.markdown),
        });
        (ctx, twin, intro)
    }

    /// `docs/<slug>.html` with its rendered Markdown.
    pub fn doc(&self, d: &crate::content::Doc) -> (Value, Value, markdown::Rendered) {
        let path = doc_path(&d.slug);
        let rendered = markdown::render(&d.markdown, &|r| self.reference_href(&path, r));
        let ctx = json!({
            "site": self.site(),
            "page": self.page(&path, &d.title, "docs"),
            "doc": {"slug": d.slug, "title": d.title, "has_h1": rendered.headings.iter().any(|h| h.level == 1)},
            "toc": toc(&rendered.headings),
        });
        let twin = json!({
            "version": JSON_VERSION,
            "kind": "doc",
            "slug": d.slug,
            "title": d.title,
            "headings": rendered.headings,
            "markdown": d.markdown,
        });
        (ctx, twin, rendered)
    }

    /// The URL, relative to the page at `from`, of a catalog reference in a doc
    /// ([`markdown::reference`]): `table:<name>`, `table:<name>.<column>` (the column's anchor;
    /// a table whose name holds a dot is matched whole first), `metric:<name>`, `doc:<slug>`
    /// (optionally `#fragment`). `None` when the catalog has no such table, column, metric or
    /// doc.
    pub fn reference_href(&self, from: &str, reference: &str) -> Option<String> {
        let (scheme, name) = markdown::reference(reference)?;
        match scheme {
            "table" => {
                if self.tables.contains_key(name) {
                    return self.table_href(from, name, None);
                }
                let (table, column) = name.rsplit_once('.')?;
                self.has_column(table, column)
                    .then(|| self.table_href(from, table, Some(column)))?
            }
            "metric" => self
                .input
                .metrics
                .iter()
                .find(|m| m.metric.name == name)
                .map(|m| href(from, &metric_path(&m.metric))),
            _ => {
                let (slug, fragment) = match name.split_once('#') {
                    Some((s, f)) => (s, Some(f)),
                    None => (name, None),
                };
                self.input.content.docs.iter().find(|d| d.slug == slug)?;
                let target = doc_path(slug);
                let mut h = href(from, &target);
                if let Some(f) = fragment {
                    // The doc must have a heading with that id.
                    self.doc_anchors
                        .get(&target)
                        .filter(|ids| ids.contains(&markdown::decode(f)))?;
                    h.push('#');
                    h.push_str(f);
                }
                Some(h)
            }
        }
    }

    /// Warnings for links in a doc that point at pages the site does not have.
    pub fn check_links(
        &self,
        d: &crate::content::Doc,
        rendered: &markdown::Rendered,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for link in &rendered.links {
            if link.target.starts_with('#') {
                // `render` returns only the page's own anchors that no heading has.
                out.push(format!(
                    "{}:{}: broken link {}: no heading of this page has that id",
                    d.source, link.line, link.target
                ));
                continue;
            }
            let path_part = link.target.split(['#', '?']).next().unwrap_or("");
            if !path_part.ends_with(".html") {
                // A file beside the docs: published only when it is an image (or a doc).
                let target = markdown::resolve("docs", path_part);
                if let Some(p) = target.filter(|p| p.starts_with("docs/")) {
                    if !self.doc_images.contains(&p) && !path_part.ends_with('/') {
                        out.push(format!(
                            "{}:{}: broken link {}: {p} is not published (of the files beside the docs only images are: {})",
                            d.source,
                            link.line,
                            link.target,
                            crate::content::docs::IMAGE_EXTENSIONS.join(", ")
                        ));
                    }
                }
                continue;
            }
            let Some(page) =
                markdown::resolve("docs", &link.target).filter(|p| self.pages.contains(p))
            else {
                out.push(format!(
                    "{}:{}: broken link {}: the site has no such page",
                    d.source, link.line, link.target
                ));
                continue;
            };
            let fragment = link
                .target
                .split_once('#')
                .map(|(_, f)| markdown::decode(f));
            if let Some(f) = fragment.filter(|f| !f.is_empty()) {
                if !self.has_anchor(&page, &f) {
                    out.push(format!(
                        "{}:{}: broken link {}: {page} has no anchor #{f}",
                        d.source, link.line, link.target
                    ));
                }
            }
        }
        for image in &rendered.images {
            let t = image.target.as_str();
            let scheme = markdown::scheme(t);
            if t.starts_with("//") || matches!(scheme.as_deref(), Some("http" | "https")) {
                out.push(format!(
                    "{}:{}: image {} loads from the network: readers offline or behind a firewall do not see it, and its host sees every reader; put the file next to the docs (content/docs/) and link it relatively",
                    d.source, image.line, image.target
                ));
            } else if let Some(s) = scheme {
                out.push(format!(
                    "{}:{}: image {}…: a {s}: URL is not shown (only files next to the docs and http(s) URLs are)",
                    d.source,
                    image.line,
                    t.chars().take(24).collect::<String>()
                ));
            } else if t.starts_with('/') {
                out.push(format!(
                    "{}:{}: image {t}: an absolute path works only at a web server's root, not from file:// after rsync nor under a path prefix; put the file next to the docs (content/docs/) and link it relatively",
                    d.source, image.line
                ));
            } else if !t.is_empty()
                && !t.starts_with('#')
                && !markdown::resolve("docs", t).is_some_and(|p| self.doc_images.contains(&p))
            {
                out.push(format!(
                    "{}:{}: broken image {}: no such image under content/docs/ (published are {})",
                    d.source,
                    image.line,
                    image.target,
                    crate::content::docs::IMAGE_EXTENSIONS.join(", ")
                ));
            }
        }
        for r in &rendered.broken {
            out.push(format!(
                "{}:{}: broken reference {}: the catalog has no such {}",
                d.source,
                r.line,
                r.target,
                match r.target.split(':').next() {
                    Some("table") => "table or column",
                    Some("metric") => "metric",
                    _ => "doc or heading",
                }
            ));
        }
        out
    }

    /// Warnings about references to tables that are not declared.
    pub fn reference_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let file = match self.input.content.data_description.as_str() {
            "" => "data_description.md",
            f => f,
        };
        for t in &self.input.tables {
            // A table whose sync failed and that declares no columns has none to check.
            let knows_columns = !t.spec.columns.is_empty() || t.synced.is_some();
            for fk in &t.spec.foreign_keys {
                let (target, column) = fk.target().unwrap_or((&fk.references, ""));
                let line = if fk.line > 0 { fk.line } else { t.spec.line };
                let lead = format!(
                    "{file}:{line}: table `{}`: foreign key `{}` references `{}`",
                    t.spec.name, fk.column, fk.references
                );
                if !self.tables.contains_key(target) {
                    out.push(format!("{lead}, which is not a declared table"));
                    continue;
                }
                if knows_columns && !self.has_column(&t.spec.name, &fk.column) {
                    out.push(format!(
                        "{lead}, but `{}` has no column `{}`",
                        t.spec.name, fk.column
                    ));
                }
                let target_report = self.tables[target];
                let target_knows =
                    !target_report.spec.columns.is_empty() || target_report.synced.is_some();
                if target_knows && !self.has_column(target, column) {
                    out.push(format!("{lead}, but `{target}` has no column `{column}`"));
                }
            }
        }
        for m in &self.input.metrics {
            for t in m.metric.tables_used() {
                if !self.tables.contains_key(t.as_str()) {
                    out.push(format!(
                        "metrics/{}: metric `{}` uses table `{t}`, which is not a declared table",
                        m.metric.file, m.metric.name
                    ));
                }
            }
        }
        out
    }
}

fn toc(headings: &[markdown::Heading]) -> Vec<Value> {
    headings
        .iter()
        .filter(|h| (2..=3).contains(&h.level))
        .map(|h| json!({"level": h.level, "id": h.id, "href": format!("#{}", enc(&h.id)), "text": h.text}))
        .collect()
}

/// One statistic of a column card; a long value (a timestamp) takes a whole row of the grid.
/// The catalog's completeness badge for a table whose cells are `pct` % non-NULL: `"ok"` at
/// least 100 − [`MISSING_PCT`] %, `"warn"` at least 100 − [`HIGH_MISSING_PCT`] %, else
/// `"error"`: the thresholds of the column alerts `missing` and `high_missing`, applied to the
/// whole table, to the number as the badge shows it ([`format::pct`]: 94.96 shows as 95 % and
/// is `"ok"`, so colour and number never disagree).
///
/// [`MISSING_PCT`]: crate::profile::alerts::MISSING_PCT
/// [`HIGH_MISSING_PCT`]: crate::profile::alerts::HIGH_MISSING_PCT
pub fn quality_level(pct: f64) -> &'static str {
    use crate::profile::alerts::{HIGH_MISSING_PCT, MISSING_PCT};
    let shown = format::pct(Some(pct));
    let pct = shown
        .trim_start_matches(['<', '>'])
        .trim_end_matches('%')
        .parse()
        .unwrap_or(pct);
    if pct >= 100.0 - MISSING_PCT {
        "ok"
    } else if pct >= 100.0 - HIGH_MISSING_PCT {
        "warn"
    } else {
        "error"
    }
}

fn stat(label: &'static str, value: String) -> StatView {
    let wide = value.chars().count() > 19;
    StatView { label, value, wide }
}

/// `text` marked as an estimate (`≈ text`) unless `exact` or undefined.
fn approx(exact: bool, text: String) -> String {
    if exact || text == NA {
        text
    } else {
        format!("≈ {text}")
    }
}

/// An error bound in percent: `±2.4%`.
fn plus_minus(e: Option<f64>) -> Option<String> {
    e.filter(|e| e.is_finite() && *e >= 0.0)
        .map(|e| format!("±{}", format::pct(Some(e))))
}

/// The distinct count of a column: `3 (100%)` when exact (with its share of non-null values),
/// `≈ 1,234,000 (±2.4%)` for an estimate (with its error bound when known).
fn distinct_text(c: &ColumnProfile) -> String {
    if c.distinct_exact {
        return count_share(c.distinct_count, c.distinct_pct);
    }
    let n = format::int(c.distinct_count);
    match plus_minus(c.distinct_error_pct) {
        Some(e) => format!("≈ {n} ({e})"),
        None => format!("≈ {n}"),
    }
}

/// `count (share)`, the share as [`format::pct`].
fn count_share(n: u64, pct: Option<f64>) -> String {
    let mut text = String::with_capacity(24);
    format::push_int(&mut text, n);
    text.push_str(" (");
    format::push_pct(&mut text, pct);
    text.push(')');
    text
}

/// The display model of one column profile: its statistics (every undefined one as "n/a"),
/// notes on the estimated ones, and its charts (see [`charts`]).
fn column_view<'a>(c: &'a ColumnProfile, description: Option<&'a str>) -> ColumnView<'a> {
    let mut stats = vec![
        stat("nulls", count_share(c.null_count, c.null_pct)),
        stat("distinct", distinct_text(c)),
    ];
    let mut notes: Vec<String> = Vec::new();
    let mut charts_: Vec<ChartView> = Vec::new();
    if !c.distinct_exact {
        notes.push(match plus_minus(c.distinct_error_pct) {
            Some(e) => format!(
                "≈ The distinct count is a HyperLogLog estimate: 99.7% of estimates fall within {e} of the true count."
            ),
            None => "≈ The distinct count is an estimate.".to_string(),
        });
    }
    if c.temporal.is_none() && c.boolean.is_none() && c.column_type != "boolean" {
        stats.push(stat("min", format::json_stat(c.min.as_ref())));
        stats.push(stat("max", format::json_stat(c.max.as_ref())));
    }
    if let Some(n) = &c.numeric {
        let q = |x: Option<f64>| approx(n.quantiles_exact, format::float(x));
        stats.push(stat("mean", format::float(n.mean)));
        stats.push(stat("std dev", format::float(n.stddev)));
        stats.push(stat("p5", q(n.p5)));
        stats.push(stat("p25", q(n.p25)));
        stats.push(stat("median (p50)", q(n.p50)));
        stats.push(stat("p75", q(n.p75)));
        stats.push(stat("p95", q(n.p95)));
        stats.push(stat("zeros", format::int(n.zeros)));
        stats.push(stat("negatives", format::int(n.negatives)));
        if c.column_type == "float64" {
            stats.push(stat("not a number", format::int(n.nan_count)));
            stats.push(stat("infinite", format::int(n.infinite_count)));
        }
        let any_quantile = [n.p5, n.p25, n.p50, n.p75, n.p95]
            .iter()
            .any(|x| x.is_some_and(f64::is_finite));
        if !n.quantiles_exact && any_quantile {
            let e = n
                .quantile_rank_error_pct
                .filter(|e| e.is_finite() && *e >= 0.0);
            notes.push(match e {
                Some(e) => format!(
                    "≈ Percentiles are computed on a uniform sample of the rows (rank error {} at 99% confidence: the median shown lies between the true p{} and p{}).",
                    plus_minus(Some(e)).unwrap_or_default(),
                    format::float(Some(50.0 - e)),
                    format::float(Some(50.0 + e))
                ),
                None => "≈ Percentiles are computed on a sample of the rows.".to_string(),
            });
        }
        if let Some(h) = &n.histogram {
            if let Some(chart) = charts::numeric_histogram(&c.name, h) {
                charts_.push(ChartView::new("Distribution", chart));
            }
        }
    }
    if let Some(s) = &c.string {
        let len = |x: Option<u64>| x.map(format::int).unwrap_or_else(|| NA.to_string());
        stats.push(stat(
            "length",
            format!(
                "{} – {} (mean {})",
                len(s.min_length),
                len(s.max_length),
                format::float(s.avg_length)
            ),
        ));
        stats.push(stat("empty strings", format::int(s.empty_count)));
        let shape = |p: Option<f64>| approx(s.looks_exact, format::pct(p));
        stats.push(stat("look numeric", shape(s.looks_numeric_pct)));
        stats.push(stat("look like dates", shape(s.looks_date_pct)));
        stats.push(stat("look like e-mails", shape(s.looks_email_pct)));
        let any_shape = [s.looks_numeric_pct, s.looks_date_pct, s.looks_email_pct]
            .iter()
            .any(Option::is_some);
        if !s.looks_exact && any_shape {
            notes.push(
                "≈ The shares of values that look numeric, like dates or like e-mails are measured on a sample of the rows."
                    .to_string(),
            );
        }
    }
    if let Some(t) = &c.temporal {
        let text = |x: &Option<String>| x.clone().unwrap_or_else(|| NA.to_string());
        stats.push(stat("earliest", text(&t.earliest)));
        stats.push(stat("latest", text(&t.latest)));
        stats.push(stat(
            "span",
            t.span_days
                .map(|d| format!("{} days", format::int_signed(d)))
                .unwrap_or_else(|| NA.to_string()),
        ));
        if let Some(p) = &t.histogram {
            if let Some(chart) = charts::period_histogram(&c.name, p) {
                charts_.push(ChartView::new("Values over time", chart));
            }
        }
    }
    if let Some(b) = &c.boolean {
        let total = b.true_count + b.false_count;
        // `true_pct` as profiled; from the counts for a profile that lacks it.
        let true_pct = b
            .true_pct
            .filter(|p| p.is_finite())
            .or_else(|| (total > 0).then(|| b.true_count as f64 / total as f64 * 100.0));
        let false_pct = true_pct.map(|p| 100.0 - p);
        stats.push(stat("true", count_share(b.true_count, true_pct)));
        stats.push(stat("false", count_share(b.false_count, false_pct)));
        let rows = [
            charts::BarRow {
                value: "true",
                count: b.true_count,
                pct: true_pct,
            },
            charts::BarRow {
                value: "false",
                count: b.false_count,
                pct: false_pct,
            },
        ];
        if let Some(chart) = charts::bar_chart(&format!("Values of {}", c.name), &rows) {
            charts_.push(ChartView::new("Values", chart));
        }
    } else {
        // Values that each occur once say nothing a sample does not: no bars then.
        if c.top_values.iter().any(|v| v.count > 1) {
            let rows: Vec<charts::BarRow> = c
                .top_values
                .iter()
                .map(|v| charts::BarRow {
                    value: &v.value,
                    count: v.count,
                    pct: Some(v.pct),
                })
                .collect();
            if let Some(chart) =
                charts::bar_chart(&format!("Most frequent values of {}", c.name), &rows)
            {
                charts_.push(ChartView::new("Top values", chart));
            }
        }
    }
    ColumnView {
        name: &c.name,
        anchor: column_anchor(&c.name),
        r#type: &c.column_type,
        primary_key: c.is_primary_key,
        description,
        alerts: c
            .alerts
            .iter()
            .map(|a| AlertView {
                kind: &a.kind,
                message: &a.message,
            })
            .collect(),
        stats,
        notes,
        charts: charts_,
        samples: &c.sample_values,
    }
}

/// The table-level part of a profile: the sampling notice and the facts about all rows.
fn profile_summary(p: &TableProfile, has_key: bool) -> Value {
    let sampled = p.sampled.then(|| {
        let mut text = format!(
            "Profiled on {} of {} rows",
            format::int(p.profiled_rows),
            format::int(p.row_count)
        );
        if let Some(reason) = p.sample_reason.as_deref().filter(|r| !r.is_empty()) {
            text.push_str(&format!(" ({reason})"));
        }
        text.push('.');
        text
    });
    let mut facts: Vec<Value> = Vec::new();
    let mut fact = |label: &str, value: String, note: Option<&str>| {
        facts.push(json!({"label": label, "value": value, "note": note}));
    };
    if p.sampled {
        let share = (p.row_count > 0).then(|| p.profiled_rows as f64 / p.row_count as f64 * 100.0);
        fact(
            "profiled rows",
            format::int(p.profiled_rows),
            Some(&format!(
                "of {} ({})",
                format::int(p.row_count),
                format::pct(share)
            )),
        );
    } else {
        fact("profiled rows", format::int(p.row_count), Some("all rows"));
    }
    fact(
        "duplicate keys",
        p.duplicate_primary_keys
            .map(format::int)
            .unwrap_or_else(|| NA.to_string()),
        if has_key {
            None
        } else {
            Some("no primary key")
        },
    );
    fact(
        "duplicate rows",
        p.duplicate_rows
            .map(format::int)
            .unwrap_or_else(|| NA.to_string()),
        match (p.duplicate_rows, p.sampled) {
            (None, true) => Some("not counted on a sample"),
            (None, false) => Some("not counted"),
            _ => None,
        },
    );
    fact(
        "complete",
        format::pct(p.completeness_pct),
        Some("non-null cells"),
    );
    fact("missing cells", format::int(p.missing_cells), None);
    json!({
        "sampled": sampled,
        "facts": facts,
    })
}

fn sample_view(p: &TableProfile) -> SampleView<'_> {
    SampleView {
        headers: p.columns.iter().map(|c| c.name.as_str()).collect(),
        rows: p
            .sample_rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| match v {
                        Some(s) => SampleCell {
                            text: s,
                            null: false,
                        },
                        None => SampleCell {
                            text: "NULL",
                            null: true,
                        },
                    })
                    .collect()
            })
            .collect(),
    }
}

/// One query's result as a metric page shows it.
#[derive(Serialize)]
struct ResultView<'a> {
    error: Option<&'a str>,
    columns: Vec<ResultColumn<'a>>,
    rows: Vec<Vec<ResultCell>>,
    /// Rows of the whole result, formatted.
    row_count: String,
    /// Rows shown (the result keeps the first ones), formatted.
    shown: String,
    truncated: bool,
}

/// A result column: name, DuckDB type, and whether its values are right-aligned numbers.
#[derive(Serialize)]
struct ResultColumn<'a> {
    name: &'a str,
    r#type: &'a str,
    numeric: bool,
}

/// A result cell: its text ([`format::cell`]), whether it is NULL, and whether it is a number.
#[derive(Serialize)]
struct ResultCell {
    text: String,
    null: bool,
    numeric: bool,
}

/// A query of a metric page, with its result and charts.
#[derive(Serialize)]
struct QueryView<'a> {
    key: &'a str,
    title: &'a str,
    query: &'a str,
    anchor: String,
    result: Option<ResultView<'a>>,
    charts: Vec<Value>,
}

/// The metric of a metric page.
#[derive(Serialize)]
struct MetricView<'a> {
    name: &'a str,
    display_name: &'a str,
    category: &'a str,
    category_label: String,
    category_href: String,
    description: &'a str,
    definition: Vec<Value>,
    tables: Vec<Value>,
    expression: Option<&'a str>,
    dimensions: &'a [String],
    notes: &'a [String],
    synonyms: &'a [String],
    validation: Option<&'a str>,
    file: &'a str,
    failed: bool,
    queries: Vec<QueryView<'a>>,
}

/// A metric page's template context.
#[derive(Serialize)]
pub struct MetricPage<'a> {
    site: Value,
    page: Value,
    metric: MetricView<'a>,
}

fn result_view(r: &QueryResult) -> ResultView<'_> {
    let numeric: Vec<bool> = r
        .column_types
        .iter()
        .map(|t| {
            let t = t.to_ascii_uppercase();
            [
                "INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "NUMERIC", "HUGEINT",
            ]
            .iter()
            .any(|k| t.contains(k))
        })
        .collect();
    ResultView {
        error: r.error.as_deref(),
        columns: r
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ResultColumn {
                name: c,
                r#type: r.column_types.get(i).map_or("", String::as_str),
                numeric: numeric.get(i).copied().unwrap_or(false),
            })
            .collect(),
        rows: r
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(i, v)| ResultCell {
                        text: format::cell(v),
                        null: v.is_null(),
                        numeric: numeric.get(i).copied().unwrap_or(false),
                    })
                    .collect()
            })
            .collect(),
        row_count: format::int(r.row_count),
        shown: format::int(r.rows.len() as u64),
        truncated: (r.rows.len() as u64) < r.row_count,
    }
}

/// The shell commands that copy one table's data files from the server: resolve the current
/// build first (the published path is a symlink swapped by every build; docs/operations.md),
/// then rsync the table's file or partition folder into the same relative path (a private
/// table's from the private overlay into the path it has with the overlay laid over the root).
fn copy_command(rsync_source: &str, s: &crate::sync::SyncedTable) -> String {
    let (host, root) = rsync_source
        .split_once(':')
        .unwrap_or(("server", rsync_source));
    let physical = s.files.first().map(|f| f.path.as_str()).unwrap_or_default();
    let rel = super::private::logical_path(physical);
    let overlay = if rel.len() < physical.len() {
        format!("{}/", super::private::PRIVATE_OVERLAY)
    } else {
        String::new()
    };
    // A partitioned table: its folder (data/<folder>/<table>/), else its one file.
    let (what, into) = match rel.split('/').collect::<Vec<_>>().as_slice() {
        ["data", folder, table, _, ..] => (
            format!("data/{folder}/{table}/"),
            format!("data/{folder}/{table}/"),
        ),
        _ => (
            rel.to_string(),
            rel.rsplit_once('/')
                .map_or(String::new(), |(d, _)| format!("{d}/")),
        ),
    };
    format!(
        "build=$(ssh {} readlink -f {})\nrsync -a --checksum --mkpath {}:\"$build\"/{} {}",
        sh_quote(host),
        sh_quote(root),
        sh_quote(host),
        sh_quote(&format!("{overlay}{what}")),
        sh_quote(&into)
    )
}

/// `s` as one POSIX shell word: as is when it holds only `A-Z a-z 0-9 _ . / = - + , @ %`,
/// else in single quotes (a `'` inside written `'\''`).
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=-+,@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A table's sync state without the times of the last run, which change on every build: table
/// pages and their twins stay byte-identical when the data did not change (rsync skips them).
/// The times are in `meta/freshness.js` and `index.json`.
fn stable_state(s: &crate::state::TableState) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("last_run");
        o.remove("last_success");
    }
    v
}

/// The sync facts a table page shows: status, cursor, rows read, and the schema changes newest
/// first (the time of the last sync is filled in from `meta/freshness.js`). `null` before the
/// first sync.
fn sync_view(state: Option<&crate::state::TableState>) -> Value {
    let Some(s) = state else { return Value::Null };
    json!({
        "failed": s.status == crate::state::SyncStatus::Failed,
        "cursor": s.cursor.as_ref().map(|c| json!({"column": c.column, "text": c.text})),
        "rows_read": format::int(s.rows_read),
        "schema_history": s.schema_history.iter().rev().map(schema_change_view).collect::<Vec<_>>(),
    })
}

fn schema_change_view(c: &crate::state::SchemaChange) -> Value {
    json!({
        "at": c.at,
        "added": c.added.iter().map(|x| format!("{} ({})", x.name, x.column_type)).collect::<Vec<_>>(),
        "removed": c.removed.iter().map(|x| format!("{} ({})", x.name, x.column_type)).collect::<Vec<_>>(),
        "retyped": c.retyped.iter().map(|x| format!("{}: {} → {}", x.name, x.from, x.to)).collect::<Vec<_>>(),
    })
}

/// The ten most recent schema changes over all tables, newest first, for the dashboard.
fn recent_schema_changes(input: &SiteInput, path: &str) -> Vec<Value> {
    let mut all: Vec<(&str, &crate::state::SchemaChange)> = input
        .tables
        .iter()
        .filter_map(|t| t.sync_state.as_ref().map(|s| (t.spec.name.as_str(), s)))
        .flat_map(|(name, s)| s.schema_history.iter().map(move |c| (name, c)))
        .collect();
    all.sort_by(|a, b| b.1.at.cmp(&a.1.at).then(a.0.cmp(b.0)));
    all.into_iter()
        .take(10)
        .map(|(name, c)| {
            let mut v = schema_change_view(c);
            v["table"] = json!(name);
            v["href"] = json!(href(path, &table_path(name)));
            v
        })
        .collect()
}

// ---------------------------------------------------------------- table page views

/// The template context of a table page (`site`, `page`, `table`).
#[derive(Serialize)]
struct TablePage<'a> {
    site: Value,
    page: Value,
    table: TableView<'a>,
}

/// `table` in `table.html`.
#[derive(Serialize)]
struct TableView<'a> {
    name: &'a str,
    description: &'a str,
    folder: &'a str,
    error: Option<&'a str>,
    failed: bool,
    /// `private: true`: only the private group sees it (docs/gate.md).
    private: bool,
    profile_missing: bool,
    facts: Vec<Value>,
    details: Vec<Value>,
    files: Vec<Value>,
    alerts: Vec<Value>,
    profile: Option<Value>,
    schema: Vec<SchemaColumn<'a>>,
    /// The schema section written in Rust ([`RustPartials`]); `schema` is empty then.
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_html: Option<minijinja::Value>,
    columns: Vec<ColumnView<'a>>,
    /// The column cards written in Rust; `columns` is empty then.
    #[serde(skip_serializing_if = "Option::is_none")]
    columns_html: Option<minijinja::Value>,
    sample: Option<SampleView<'a>>,
    /// The sample rows written in Rust; `sample` is none then.
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_html: Option<minijinja::Value>,
    fk_out: Vec<Value>,
    fk_in: Vec<Value>,
    metrics: Vec<Value>,
    snippet: String,
    copy: Option<String>,
    sync: Value,
    latest: Option<Value>,
}

/// One row of a table page's schema.
#[derive(Serialize)]
struct SchemaColumn<'a> {
    name: &'a str,
    anchor: String,
    href: String,
    source_name: Option<&'a str>,
    r#type: &'a str,
    meaning: Option<&'static str>,
    note: Option<&'a str>,
    type_source: &'a str,
    description: Option<&'a str>,
    primary_key: bool,
    nulls: String,
    distinct: String,
    profiled: bool,
}

/// One column profile card.
#[derive(Serialize)]
struct ColumnView<'a> {
    name: &'a str,
    anchor: String,
    r#type: &'a str,
    primary_key: bool,
    description: Option<&'a str>,
    alerts: Vec<AlertView<'a>>,
    stats: Vec<StatView>,
    notes: Vec<String>,
    charts: Vec<ChartView>,
    samples: &'a [String],
}

#[derive(Serialize)]
struct AlertView<'a> {
    kind: &'a str,
    message: &'a str,
}

/// One statistic of a column card (see [`stat`]).
#[derive(Serialize)]
struct StatView {
    label: &'static str,
    value: String,
    wide: bool,
}

/// One chart of a column card: its title, caption and SVG (the markup of [`charts`], whose
/// texts are escaped there: a safe string for templates).
#[derive(Serialize)]
struct ChartView {
    title: &'static str,
    caption: String,
    #[serde(serialize_with = "safe_html")]
    svg: String,
}

impl ChartView {
    fn new(title: &'static str, chart: charts::Chart) -> ChartView {
        ChartView {
            title,
            caption: chart.caption,
            svg: chart.svg,
        }
    }
}

/// Markup as a template value that autoescape leaves as it is.
fn safe_html<S: serde::Serializer>(html: &str, serializer: S) -> Result<S::Ok, S::Error> {
    minijinja::Value::from_safe_string(html.to_string()).serialize(serializer)
}

/// A table page's sample rows: column names and, per row, each cell's text or NULL.
#[derive(Serialize)]
struct SampleView<'a> {
    headers: Vec<&'a str>,
    rows: Vec<Vec<SampleCell<'a>>>,
}

#[derive(Serialize)]
struct SampleCell<'a> {
    text: &'a str,
    null: bool,
}

/// A table's JSON twin (`tables/<name>.json`): the declaration, the sync's result, the
/// profile, the error, the stable part of its sync state, the declared foreign keys that
/// point at it and the metrics that read it.
#[derive(Serialize)]
struct TableTwin<'a> {
    version: u32,
    kind: &'static str,
    name: &'a str,
    spec: &'a crate::content::TableSpec,
    synced: Option<std::borrow::Cow<'a, crate::sync::SyncedTable>>,
    /// The profile as [`crate::site::ProfileJson`] holds it.
    profile: Option<crate::publish::Piece<'a, 'a>>,
    error: Option<&'a str>,
    sync_state: Option<Value>,
    foreign_keys_in: Vec<Value>,
    metrics: Vec<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_hrefs() {
        assert_eq!(
            href("index.html", "tables/orders.html"),
            "tables/orders.html"
        );
        assert_eq!(
            href("metrics/rev/x.html", "tables/a b.html"),
            "../../tables/a%20b.html"
        );
        assert_eq!(safe_segment(".."), "_");
        assert_eq!(table_path("index"), "tables/index.table.html");
        assert_eq!(table_path("orders"), "tables/orders.html");
        assert_eq!(safe_segment("a/b"), "a_b");
        assert_eq!(json_path("tables/x.html"), "tables/x.json");
        assert_eq!(
            redact("https://bob:secret@example.com/x.csv"),
            "https://bob:***@example.com/x.csv"
        );
        assert_eq!(redact("/srv/data/x.csv"), "/srv/data/x.csv");
    }
}
