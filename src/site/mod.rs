//! Site stage: the static catalog (minijinja templates from `themes/<name>/`, Markdown by
//! pulldown-cmark), a JSON twin per page, and the analyst kit.

pub mod brand;
pub mod charts;
pub mod format;
pub mod kit;
pub mod markdown;
pub mod pages;
pub mod private;
pub mod search;
pub mod theme;

use std::path::Path;

use anyhow::Context as _;
use rayon::prelude::*;
use serde::Serialize;

use crate::content::{Content, TableSpec};
use crate::metrics::MetricResult;
use crate::profile::TableProfile;
use crate::sync::SyncedTable;

/// Everything one table page shows.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// The declaration from `data_description.md`.
    pub spec: TableSpec,
    /// The sync's result; `None` when the sync failed.
    pub synced: Option<SyncedTable>,
    /// The profile; `None` when sync or profiling failed.
    pub profile: Option<TableProfile>,
    /// The error that stopped the sync or profile of this table, as one message naming file,
    /// line, column and value where known.
    pub error: Option<String>,
    /// The table's entry in the sync state after this build (last sync, cursor, schema
    /// history); `None` before its first sync.
    pub sync_state: Option<crate::state::TableState>,
}

/// What the site renders.
#[derive(Debug, Clone, Serialize)]
pub struct SiteInput {
    /// Instance name (`instance.name`).
    pub instance_name: String,
    /// Subtitle (`instance.subtitle`), may be empty.
    pub instance_subtitle: String,
    /// RFC 3339 UTC time the build started.
    pub built_at: String,
    /// broker's version.
    pub broker_version: String,
    /// Parsed content.
    pub content: Content,
    /// One per declared table, in declaration order.
    pub tables: Vec<TableReport>,
    /// One per metric, in `content.metrics` order.
    pub metrics: Vec<MetricResult>,
    /// Folder order and labels of the catalog (`catalog:` in instance.yaml).
    pub catalog: crate::config::CatalogConfig,
    /// Where analysts copy the tree from, `host:/path` ([`crate::config::Config::rsync_source`]).
    pub rsync_source: String,
    /// White-label: logo and accent colours (`instance.logo`, `instance.accent`).
    #[serde(skip)]
    pub brand: brand::Brand,
}

/// Write `bytes` to `out/rel`, creating folders.
fn write(out: &Path, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = out.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: cannot create folder", parent.display()))?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

/// Pretty JSON with a trailing newline (deterministic: map keys sorted by serde_json).
fn to_json(v: &impl Serialize) -> anyhow::Result<Vec<u8>> {
    // Sized for a table's twin (about 120 KB with 50 columns), so it is not copied as it grows.
    let mut bytes = Vec::with_capacity(128 * 1024);
    serde_json::to_writer_pretty(&mut bytes, v).context("cannot serialise a JSON twin")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A page's JSON twin as the template variable `data`, parsed from the twin's bytes on first
/// use: the default theme never reads it, so most pages never pay for it.
#[derive(Debug)]
struct LazyTwin {
    bytes: Vec<u8>,
    parsed: std::sync::OnceLock<minijinja::Value>,
}

impl LazyTwin {
    fn value(&self) -> &minijinja::Value {
        self.parsed.get_or_init(|| {
            serde_json::from_slice::<serde_json::Value>(&self.bytes)
                .map(|v| minijinja::Value::from_serialize(&v))
                .unwrap_or_default()
        })
    }
}

impl minijinja::value::Object for LazyTwin {
    fn get_value(self: &std::sync::Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        self.value()
            .get_item(key)
            .ok()
            .filter(|v| !v.is_undefined())
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        match self.value().try_iter() {
            Ok(keys) => minijinja::value::Enumerator::Values(keys.collect()),
            Err(_) => minijinja::value::Enumerator::Empty,
        }
    }
}

/// Render one page and write it with its JSON twin (`twin`: the twin's bytes, see [`to_json`]).
fn page(
    theme: &theme::Theme,
    out: &Path,
    template: &str,
    path: &str,
    ctx: minijinja::Value,
    twin: Vec<u8>,
) -> anyhow::Result<()> {
    write(out, &pages::json_path(path), &twin)?;
    // `data`: the twin, for themes that want the raw input.
    let data = minijinja::Value::from_object(LazyTwin {
        bytes: twin,
        parsed: std::sync::OnceLock::new(),
    });
    let ctx = minijinja::context! { data => data, ..ctx };
    let html = theme
        .render(template, ctx)
        .with_context(|| format!("rendering {path}"))?;
    write(out, path, html.as_bytes())
}

/// Render every page, its JSON twin, static assets and the analyst kit into `out` (the staging
/// root). Returns warnings (e.g. a broken link), each naming the file.
///
/// Pages: `index.html` (dashboard), `tables/index.html`, `tables/<name>.html`,
/// `metrics/index.html`, `metrics/<category>/<name>.html`, `docs/index.html`,
/// `docs/<slug>.html`, each with a `.json` twin; `assets/` (the theme's static files, and
/// `brand.css` and `logo.svg` when the instance sets an accent or an SVG logo);
/// `search/` (the search index, see [`search`]);
/// `analyst/views.sql` and `analyst/AGENTS.md`. Every link is relative. Only `meta/freshness.js` carries the
/// build time, so every other file keeps its bytes when its data did not change.
///
/// The default theme is embedded in the binary; `theme_dir` (a folder with `templates/` and
/// `static/`) overrides any template or static file by the same name.
///
/// Errors: the theme folder is missing, a template fails, or a file cannot be written.
pub fn render(
    input: &SiteInput,
    out: &Path,
    theme_dir: Option<&Path>,
) -> anyhow::Result<Vec<String>> {
    render_pages(input, out, theme_dir, None)
}

/// The table, metric and doc pages a partial render writes ([`render_subset`]).
#[derive(Debug, Clone, Default)]
pub struct Subset {
    /// Table names.
    pub tables: std::collections::BTreeSet<String>,
    /// Metric names.
    pub metrics: std::collections::BTreeSet<String>,
    /// Doc slugs.
    pub docs: std::collections::BTreeSet<String>,
}

/// [`render`], but of the table, metric and doc pages only those in `only`, and no static
/// assets: the catalog pages (dashboard, table, metric and doc indexes), the search index, the
/// analyst kit and `meta/freshness.js` are written whole. The private overlay is rendered so
/// (see [`private`]): the pages left out are those equal in both views. Warnings and errors as
/// [`render`]'s, for what it renders.
pub fn render_subset(
    input: &SiteInput,
    out: &Path,
    theme_dir: Option<&Path>,
    only: &Subset,
) -> anyhow::Result<Vec<String>> {
    render_pages(input, out, theme_dir, Some(only))
}

fn render_pages(
    input: &SiteInput,
    out: &Path,
    theme_dir: Option<&Path>,
    only: Option<&Subset>,
) -> anyhow::Result<Vec<String>> {
    let theme = theme::Theme::load(theme_dir)?;
    let site = pages::Site::new(input);
    let mut warnings = site.reference_warnings();

    // The one script that changes on every build: when each table was last synced.
    crate::publish::write_atomic(
        &out.join("meta/freshness.js"),
        site.freshness_script()?.as_bytes(),
    )?;

    // Dashboard.
    let (ctx, twin) = site.dashboard();
    let ctx = minijinja::Value::from_serialize(&ctx);
    page(
        &theme,
        out,
        "index.html",
        "index.html",
        ctx,
        to_json(&twin)?,
    )?;

    // Tables.
    let (ctx, twin) = site.table_catalog();
    page(
        &theme,
        out,
        "tables.html",
        "tables/index.html",
        minijinja::Value::from_serialize(&ctx),
        to_json(&twin)?,
    )?;
    let partials = pages::RustPartials::for_theme(&theme);
    let table_pages: Vec<&TableReport> = input
        .tables
        .iter()
        .filter(|t| only.is_none_or(|o| o.tables.contains(&t.spec.name)))
        .collect();
    table_pages.par_iter().try_for_each(|t| {
        let (ctx, twin) = site.table(t, partials)?;
        page(
            &theme,
            out,
            "table.html",
            &pages::table_path(&t.spec.name),
            ctx,
            twin,
        )
    })?;

    // Metrics.
    let (ctx, twin) = site.metric_catalog();
    page(
        &theme,
        out,
        "metrics.html",
        "metrics/index.html",
        minijinja::Value::from_serialize(&ctx),
        to_json(&twin)?,
    )?;
    let metric_pages: Vec<&MetricResult> = input
        .metrics
        .iter()
        .filter(|m| only.is_none_or(|o| o.metrics.contains(&m.metric.name)))
        .collect();
    metric_pages.par_iter().try_for_each(|m| {
        let (ctx, twin) = site.metric(m);
        page(
            &theme,
            out,
            "metric.html",
            &pages::metric_path(&m.metric),
            minijinja::Value::from_serialize(&ctx),
            to_json(&twin)?,
        )
    })?;

    // Docs.
    let (ctx, twin, intro) = site.docs_index();
    let mut ctx = minijinja::Value::from_serialize(&ctx);
    if let Some(r) = &intro {
        if let Some(d) = input.content.docs.iter().find(|d| d.slug == "index") {
            warnings.extend(site.check_links(d, r));
        }
        ctx = minijinja::context! { content => minijinja::Value::from_safe_string(r.html.clone()), ..ctx };
    }
    page(
        &theme,
        out,
        "docs.html",
        "docs/index.html",
        ctx,
        to_json(&twin)?,
    )?;
    let doc_pages = input
        .content
        .docs
        .iter()
        .filter(|d| d.slug != "index" && only.is_none_or(|o| o.docs.contains(&d.slug)));
    for d in doc_pages {
        let (ctx, twin, rendered) = site.doc(d);
        warnings.extend(site.check_links(d, &rendered));
        // The Markdown HTML is generated here (raw HTML escaped, URLs checked): the only
        // content marked safe.
        let ctx = minijinja::context! {
            content => minijinja::Value::from_safe_string(rendered.html),
            ..minijinja::Value::from_serialize(&ctx)
        };
        page(
            &theme,
            out,
            "doc.html",
            &pages::doc_path(&d.slug),
            ctx,
            to_json(&twin)?,
        )?;
    }

    // Search index (`search/`, loaded by `assets/search.js`).
    for f in search::build(input)? {
        write(out, &f.path, f.text.as_bytes())?;
    }

    // Static assets, then the instance's accent colours and logo (which win over a theme's
    // files of the same name).
    let assets = if only.is_none() {
        theme.static_files()?
    } else {
        Vec::new()
    };
    for (name, bytes) in assets {
        write(out, &format!("assets/{name}"), &bytes)?;
    }
    if let Some(accent) = input.brand.accent.as_ref().filter(|_| only.is_none()) {
        write(out, "assets/brand.css", accent.css().as_bytes())?;
    }
    if let Some(brand::Logo::Svg { svg, .. }) = input.brand.logo.as_ref().filter(|_| only.is_none())
    {
        write(out, "assets/logo.svg", svg.as_bytes())?;
    }

    // Analyst kit.
    write(out, "analyst/views.sql", kit::views_sql(input).as_bytes())?;
    write(out, "analyst/AGENTS.md", kit::agents_md(input).as_bytes())?;

    Ok(warnings)
}

#[cfg(test)]
mod style_contrast;
#[cfg(test)]
mod tests;
