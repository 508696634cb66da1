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

impl TableReport {
    /// The names of its columns as far as they are known: the declared ones (`columns:`), then
    /// those of the synced data (repeats possible); none when neither is known.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        let declared = self.spec.columns.iter().map(|c| c.name.as_str());
        let synced = self.synced.iter().flat_map(|s| s.columns.iter());
        declared.chain(synced.map(|c| c.name.as_str()))
    }
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

/// Write `bytes` to `out/rel` (in the staging tree), creating folders.
fn write(out: &Path, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
    crate::publish::write_staged(&out.join(rel), bytes)
}

/// Levels of a JSON twin laid out one member per line ([`crate::publish::json_bytes`]): a
/// table's twin gets one line per column.
pub const TWIN_LINES_TO: usize = 3;

/// A JSON twin's bytes ([`crate::publish::json_bytes`] to [`TWIN_LINES_TO`]; map keys sorted
/// by serde_json, so the bytes are deterministic).
fn to_json(v: &impl Serialize) -> anyhow::Result<Vec<u8>> {
    crate::publish::json_bytes(v, TWIN_LINES_TO).context("cannot serialise a JSON twin")
}

/// Each table's profile serialised once for a render: a [`crate::publish::json_piece`] laid out
/// for a twin ([`TWIN_LINES_TO`]), written as it is into `tables/<name>.json` and two spaces
/// deeper into `meta/profiles.json` (100 MB of JSON for 1,000 tables × 50 columns serialised
/// once instead of twice).
#[derive(Debug, Default)]
pub struct ProfileJson(Vec<Option<String>>);

impl ProfileJson {
    /// The profiles of `tables`, serialised in parallel. Errors: a profile cannot be serialised.
    pub fn of(tables: &[TableReport]) -> anyhow::Result<ProfileJson> {
        let pieces = tables
            .par_iter()
            .map(|t| {
                t.profile
                    .as_ref()
                    .map(|p| crate::publish::json_piece(p, TWIN_LINES_TO))
                    .transpose()
                    .with_context(|| format!("the profile of table {}", t.spec.name))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(ProfileJson(pieces))
    }

    /// The profile of `tables[i]` (of the tables given to [`ProfileJson::of`]), if it has one.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.0.get(i).and_then(Option::as_deref)
    }
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
    page_with_parts(
        theme,
        out,
        (template, path),
        ctx,
        twin,
        &pages::RustParts::default(),
    )
}

/// [`page`], the page's `parts` written in place of their markers ([`pages::RustParts`]).
fn page_with_parts(
    theme: &theme::Theme,
    out: &Path,
    (template, path): (&str, &str),
    ctx: minijinja::Value,
    twin: Vec<u8>,
    parts: &pages::RustParts,
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
    crate::publish::write_staged_pieces(&out.join(path), &parts.pieces(&html))
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
    let profiles = ProfileJson::of(&input.tables)?;
    render_with_profiles(input, out, theme_dir, None, &profiles)
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
    let profiles = ProfileJson::of(&input.tables)?;
    render_with_profiles(input, out, theme_dir, Some(only), &profiles)
}

/// [`render`] (or, with `only`, [`render_subset`]) with the tables' profiles already serialised
/// (`profiles`: [`ProfileJson::of`] `input.tables`), for a caller that writes them elsewhere
/// too. Warnings and errors as [`render`]'s.
pub fn render_with_profiles(
    input: &SiteInput,
    out: &Path,
    theme_dir: Option<&Path>,
    only: Option<&Subset>,
    profiles: &ProfileJson,
) -> anyhow::Result<Vec<String>> {
    let theme = theme::Theme::load(theme_dir)?;
    let site = pages::Site::new(input);
    let r = Render {
        input,
        site: &site,
        theme: &theme,
        out,
        only,
        profiles,
    };
    let mut warnings = site.reference_warnings();
    // The parts write separate files and run side by side: the table pages are most of the
    // work, and the search index and the analyst kit are built mostly on one thread.
    let ((index, kit), ((tables, metrics), docs)) = rayon::join(
        || rayon::join(|| r.search_index(), || r.catalog_and_kit()),
        || {
            rayon::join(
                || rayon::join(|| r.table_pages(), || r.metric_pages()),
                || r.doc_pages(),
            )
        },
    );
    index?;
    kit?;
    tables?;
    metrics?;
    warnings.extend(docs?);
    Ok(warnings)
}

/// One render of the site into `out`: what its parts share.
struct Render<'a> {
    input: &'a SiteInput,
    site: &'a pages::Site<'a>,
    theme: &'a theme::Theme,
    out: &'a Path,
    only: Option<&'a Subset>,
    profiles: &'a ProfileJson,
}

impl Render<'_> {
    /// `tables/<name>.html` of every table (of the subset), in parallel.
    fn table_pages(&self) -> anyhow::Result<()> {
        let partials = pages::RustPartials::for_theme(self.theme);
        let tables: Vec<(usize, &TableReport)> = self
            .input
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| self.only.is_none_or(|o| o.tables.contains(&t.spec.name)))
            .collect();
        tables.par_iter().try_for_each(|&(i, t)| {
            let (ctx, twin, parts) = self.site.table(t, self.profiles.get(i), partials)?;
            page_with_parts(
                self.theme,
                self.out,
                ("table.html", &pages::table_path(&t.spec.name)),
                ctx,
                twin,
                &parts,
            )
        })
    }

    /// `metrics/<category>/<name>.html` of every metric (of the subset), in parallel.
    fn metric_pages(&self) -> anyhow::Result<()> {
        let metrics: Vec<&MetricResult> = self
            .input
            .metrics
            .iter()
            .filter(|m| self.only.is_none_or(|o| o.metrics.contains(&m.metric.name)))
            .collect();
        metrics.par_iter().try_for_each(|m| {
            let (ctx, twin) = self.site.metric(m);
            page(
                self.theme,
                self.out,
                "metric.html",
                &pages::metric_path(&m.metric),
                minijinja::Value::from_serialize(&ctx),
                to_json(&twin)?,
            )
        })
    }

    /// `docs/index.html` and `docs/<slug>.html` of every doc (of the subset). Returns the
    /// broken links' warnings.
    fn doc_pages(&self) -> anyhow::Result<Vec<String>> {
        let (site, input) = (self.site, self.input);
        let mut warnings = Vec::new();
        if self.only.is_none() {
            warnings.extend(self.doc_images()?);
        }
        let (ctx, twin, intro) = site.docs_index();
        let mut ctx = minijinja::Value::from_serialize(&ctx);
        if let Some(r) = &intro {
            if let Some(d) = input.content.docs.iter().find(|d| d.slug == "index") {
                warnings.extend(site.check_links(d, r));
            }
            ctx = minijinja::context! { content => minijinja::Value::from_safe_string(r.html.clone()), ..ctx };
        }
        page(
            self.theme,
            self.out,
            "docs.html",
            "docs/index.html",
            ctx,
            to_json(&twin)?,
        )?;
        let docs =
            input.content.docs.iter().filter(|d| {
                d.slug != "index" && self.only.is_none_or(|o| o.docs.contains(&d.slug))
            });
        for d in docs {
            let (ctx, twin, rendered) = site.doc(d);
            warnings.extend(site.check_links(d, &rendered));
            // The Markdown HTML is generated here (raw HTML escaped, URLs checked): the only
            // content marked safe.
            let ctx = minijinja::context! {
                content => minijinja::Value::from_safe_string(rendered.html),
                ..minijinja::Value::from_serialize(&ctx)
            };
            page(
                self.theme,
                self.out,
                "doc.html",
                &pages::doc_path(&d.slug),
                ctx,
                to_json(&twin)?,
            )?;
        }
        Ok(warnings)
    }

    /// The images next to the docs, at `docs/<path>`: raster files as they are, SVG files
    /// sanitised ([`brand::sanitize_svg`]: no script, no outside reference). Returns warnings:
    /// a file that cannot be read or an SVG refused (not published), parts of an SVG removed.
    /// Errors: the output cannot be written.
    fn doc_images(&self) -> anyhow::Result<Vec<String>> {
        let mut warnings = Vec::new();
        for md in &self.input.content.doc_files.nested_markdown {
            warnings.push(format!(
                "{md}: not published: docs are the *.md files of content/docs/ itself, not of its sub-folders"
            ));
        }
        for img in &self.input.content.doc_files.images {
            let file = img.file.display();
            let bytes = match std::fs::read(&img.file) {
                Ok(b) => b,
                Err(e) => {
                    warnings.push(format!("{file}: cannot read, not published: {e}"));
                    continue;
                }
            };
            let target = format!("docs/{}", img.path);
            if !img.path.to_ascii_lowercase().ends_with(".svg") {
                write(self.out, &target, &bytes)?;
                continue;
            }
            let clean = String::from_utf8(bytes)
                .map_err(|_| "not UTF-8 text".to_string())
                .and_then(|text| brand::sanitize_svg(&text));
            match clean {
                Ok(c) => {
                    if !c.removed.is_empty() {
                        warnings.push(format!(
                            "{file}: removed from the published SVG: {}",
                            c.removed.join(", ")
                        ));
                    }
                    write(self.out, &target, c.svg.as_bytes())?;
                }
                Err(e) => warnings.push(format!("{file}: not published: {e}")),
            }
        }
        Ok(warnings)
    }

    /// The search index (`search/`, loaded by `assets/search.js`).
    fn search_index(&self) -> anyhow::Result<()> {
        for f in search::build(self.input)? {
            write(self.out, &f.path, f.text.as_bytes())?;
        }
        Ok(())
    }

    /// `meta/freshness.js`, the dashboard, the table and metric indexes, the static assets
    /// (with the instance's accent colours and logo, which win over a theme's files of the same
    /// name) and the analyst kit.
    fn catalog_and_kit(&self) -> anyhow::Result<()> {
        let (site, input, out, theme) = (self.site, self.input, self.out, self.theme);
        // The one script that changes on every build: when each table was last synced.
        write(
            out,
            "meta/freshness.js",
            site.freshness_script()?.as_bytes(),
        )?;
        let (ctx, twin) = site.dashboard();
        let ctx = minijinja::Value::from_serialize(&ctx);
        page(theme, out, "index.html", "index.html", ctx, to_json(&twin)?)?;
        let (ctx, twin) = site.table_catalog();
        let ctx = minijinja::Value::from_serialize(&ctx);
        page(
            theme,
            out,
            "tables.html",
            "tables/index.html",
            ctx,
            to_json(&twin)?,
        )?;
        let (ctx, twin) = site.metric_catalog();
        let ctx = minijinja::Value::from_serialize(&ctx);
        page(
            theme,
            out,
            "metrics.html",
            "metrics/index.html",
            ctx,
            to_json(&twin)?,
        )?;

        if self.only.is_none() {
            for (name, bytes) in theme.static_files()? {
                write(out, &format!("assets/{name}"), &bytes)?;
            }
            if let Some(accent) = input.brand.accent.as_ref() {
                write(out, "assets/brand.css", accent.css().as_bytes())?;
            }
            if let Some(brand::Logo::Svg { svg, .. }) = input.brand.logo.as_ref() {
                write(out, "assets/logo.svg", svg.as_bytes())?;
            }
        }

        write(out, "analyst/views.sql", kit::views_sql(input).as_bytes())?;
        write(out, "analyst/AGENTS.md", kit::agents_md(input).as_bytes())
    }
}

#[cfg(test)]
mod style_contrast;
#[cfg(test)]
mod tests;
