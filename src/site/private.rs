//! Private tables (`private: true` in `data_description.md`): the catalog a reader outside the
//! gate's private group sees, and the overlay that completes it for the group's members.
//!
//! A build with private tables renders the site twice. The full view (every table) goes to the
//! private overlay folder ([`PRIVATE_OVERLAY`]); the public view goes to the root: the private
//! tables, the metrics that read them and the docs that mention them are left out, and so are
//! the public tables' relations to them and the names of those metrics. Then [`keep_differences`]
//! drops every overlay file whose bytes equal the root's, so the overlay holds only what the
//! full view adds or changes (the private tables' pages, twins and data files; the dashboard,
//! catalogs, search shards, analyst kit and `meta/` files that list them). The gate lays it over
//! the root for members (`/x` is answered with `_private/x` when that exists).
//!
//! "Mentions" means the table's name as a whole identifier, ASCII case-insensitive:
//! `support_tickets` is mentioned by `FROM support_tickets` and by `[x](table:support_tickets)`,
//! not by `support_tickets_archive` or by the words "support tickets".

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context as _;
use rayon::prelude::*;

use super::SiteInput;
pub use crate::publish::{logical_path, PRIVATE_OVERLAY};
use crate::sync::SyncedTable;

/// The names of the private tables of `input` (empty when none is private).
pub fn private_tables(input: &SiteInput) -> BTreeSet<String> {
    input
        .content
        .tables
        .iter()
        .filter(|t| t.private)
        .map(|t| t.name.clone())
        .collect()
}

/// The public view of `input`, or `None` when no table is private (the one view is public).
///
/// Left out: the private tables (pages, twins, profiles, search entries, analyst kit entries);
/// every metric that reads one (`table`/`tables`) or mentions one anywhere in its definition
/// (SQL, description, notes); every doc whose Markdown mentions a private table or a left-out
/// metric; in the public tables, the
/// foreign keys and relations to private tables and the names of left-out metrics.
pub fn public_view(input: &SiteInput) -> Option<SiteInput> {
    let private = private_tables(input);
    if private.is_empty() {
        return None;
    }
    let mentions_private = |text: &str| private.iter().any(|name| mentions(text, name));
    let metric_is_private = |m: &crate::content::Metric| {
        m.tables_used().iter().any(|t| private.contains(t))
            || serde_json::to_string(m).map_or(true, |json| mentions_private(&json))
    };
    let private_metrics: Vec<&str> = input
        .content
        .metrics
        .iter()
        .filter(|m| metric_is_private(m))
        .map(|m| m.name.as_str())
        .collect();
    let mut view = input.clone();
    view.content.tables.retain(|t| !t.private);
    for t in &mut view.content.tables {
        t.foreign_keys.retain(|fk| {
            fk.target()
                .is_none_or(|(table, _)| !private.contains(table))
        });
    }
    view.content.metrics.retain(|m| !metric_is_private(m));
    view.content.docs.retain(|d| {
        !mentions_private(&d.markdown) && !private_metrics.iter().any(|m| mentions(&d.markdown, m))
    });
    view.metrics.retain(|r| !metric_is_private(&r.metric));
    let public_metrics: BTreeSet<&str> = view
        .content
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let public_tables = view.content.tables.clone();
    view.tables.retain(|r| !r.spec.private);
    for r in &mut view.tables {
        if let Some(spec) = public_tables.iter().find(|t| t.name == r.spec.name) {
            r.spec = spec.clone();
        }
        if let Some(p) = &mut r.profile {
            p.related_tables = crate::profile::related_tables(&r.spec, &public_tables);
            p.used_by_metrics
                .retain(|m| public_metrics.contains(m.as_str()));
        }
    }
    Some(view)
}

/// The pages of the full view `full` that can differ from the public view `public` (from
/// [`public_view`]): the private tables' pages and those of public tables whose relations or
/// metrics lost a private entry, the left-out metrics' and docs' pages. The overlay renders only
/// these besides the catalog pages, search index, analyst kit and `meta/`
/// ([`super::render_subset`]); every other page is the same in both views.
pub fn overlay_subset(full: &SiteInput, public: &SiteInput) -> super::Subset {
    let shown = |r: &super::TableReport| {
        serde_json::to_string(&(
            &r.spec,
            r.profile
                .as_ref()
                .map(|p| (&p.related_tables, &p.used_by_metrics)),
        ))
        .unwrap_or_default()
    };
    let tables = full
        .tables
        .iter()
        .filter(|r| {
            public
                .tables
                .iter()
                .find(|p| p.spec.name == r.spec.name)
                .is_none_or(|p| shown(p) != shown(r))
        })
        .map(|r| r.spec.name.clone())
        .collect();
    let metrics = full
        .metrics
        .iter()
        .map(|m| &m.metric.name)
        .filter(|name| !public.metrics.iter().any(|p| &p.metric.name == *name))
        .cloned()
        .collect();
    let docs = full
        .content
        .docs
        .iter()
        .map(|d| &d.slug)
        .filter(|slug| !public.content.docs.iter().any(|p| &p.slug == *slug))
        .cloned()
        .collect();
    super::Subset {
        tables,
        metrics,
        docs,
    }
}

/// Whether `text` holds `name` as a whole identifier (neighbours are not ASCII letters, digits
/// or `_`), ASCII case-insensitive. An empty name is never mentioned.
pub fn mentions(text: &str, name: &str) -> bool {
    mentions_bytes(text.as_bytes(), name)
}

fn mentions_bytes(text: &[u8], name: &str) -> bool {
    mentions_lowercase(&text.to_ascii_lowercase(), &name.to_ascii_lowercase())
}

/// [`mentions`] over text and name already in ASCII lower case.
fn mentions_lowercase(lower: &[u8], needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(lower, needle.as_bytes()).any(|at| {
        let before = at.checked_sub(1).map(|i| lower[i]);
        let after = lower.get(at + needle.len()).copied();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Remove every file under `root/<overlay>` whose bytes equal those of the file at the same
/// relative path under `root`, then the folders left empty, and make the overlay folder
/// readable by its owner and group only (mode 0750: an analyst copying the tree over ssh
/// cannot read it unless in the build user's group; the gate runs as that user or in that
/// group). Returns the number of overlay files kept. Errors: a file or folder that cannot be
/// read, removed or changed.
pub fn keep_differences(root: &Path) -> anyhow::Result<usize> {
    let overlay = root.join(PRIVATE_OVERLAY);
    let mut kept = 0;
    let mut folders = Vec::new();
    for entry in walkdir::WalkDir::new(&overlay).min_depth(1) {
        let entry = entry.with_context(|| format!("{}: cannot list", overlay.display()))?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            folders.push(path.to_path_buf());
            continue;
        }
        let Ok(rel) = path.strip_prefix(&overlay) else {
            continue;
        };
        if same_bytes(path, &root.join(rel))? {
            std::fs::remove_file(path)
                .with_context(|| format!("{}: cannot remove", path.display()))?;
        } else {
            kept += 1;
        }
    }
    // Deepest first, so a folder is empty once its sub-folders are gone.
    folders.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
    for f in folders {
        if std::fs::read_dir(&f).is_ok_and(|mut d| d.next().is_none()) {
            std::fs::remove_dir(&f).with_context(|| format!("{}: cannot remove", f.display()))?;
        }
    }
    if overlay.is_dir() {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&overlay, std::fs::Permissions::from_mode(0o750))
            .with_context(|| format!("{}: cannot restrict", overlay.display()))?;
    }
    Ok(kept)
}

/// Whether the files `a` and `b` hold the same bytes (`false` when `b` does not exist).
fn same_bytes(a: &Path, b: &Path) -> anyhow::Result<bool> {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return Ok(false);
    };
    if ma.len() != mb.len() || !mb.is_file() {
        return Ok(false);
    }
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("{}: cannot read", p.display()));
    Ok(read(a)? == read(b)?)
}

/// Files of the public tree under `root` (the overlay and Parquet files aside) that mention a
/// private table all the same, from text an author wrote into a public table's description or
/// a theme: one warning per private table, naming up to five files. Errors: a file that cannot
/// be read.
pub fn leak_warnings(root: &Path, private: &BTreeSet<String>) -> anyhow::Result<Vec<String>> {
    let files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| e.depth() > 1 || e.file_name() != PRIVATE_OVERLAY)
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_none_or(|e| e != "parquet"))
        .collect();
    let names: Vec<String> = private.iter().map(|n| n.to_ascii_lowercase()).collect();
    // Per file, the private tables it names (files in parallel).
    let hits: Vec<(usize, String)> = files
        .par_iter()
        .map(|path| {
            let mut bytes =
                std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
            bytes.make_ascii_lowercase();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string();
            Ok(names
                .iter()
                .enumerate()
                .filter(|(_, name)| mentions_lowercase(&bytes, name))
                .map(|(i, _)| (i, rel.clone()))
                .collect::<Vec<_>>())
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut found: Vec<(String, Vec<String>)> =
        private.iter().map(|n| (n.clone(), Vec::new())).collect();
    for (i, rel) in hits {
        found[i].1.push(rel);
    }
    for (_, files) in &mut found {
        files.sort();
    }
    Ok(found
        .into_iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(name, files)| {
            let shown: Vec<&str> = files.iter().take(5).map(String::as_str).collect();
            format!(
                "private table `{name}` is named in {} file(s) every reader sees ({}{}): text of a public table, column or theme mentions it; reword it if the name itself is private",
                files.len(),
                shown.join(", "),
                if files.len() > shown.len() { ", …" } else { "" }
            )
        })
        .collect())
}

/// `synced` with its files' paths as [`logical_path`] gives them (borrowed when none is in
/// the overlay).
pub fn logical_files(synced: &SyncedTable) -> Cow<'_, SyncedTable> {
    if synced
        .files
        .iter()
        .all(|f| logical_path(&f.path).len() == f.path.len())
    {
        return Cow::Borrowed(synced);
    }
    let mut owned = synced.clone();
    for f in &mut owned.files {
        f.path = logical_path(&f.path).to_string();
    }
    Cow::Owned(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_identifiers_only() {
        assert!(mentions(
            "SELECT * FROM support_tickets t",
            "support_tickets"
        ));
        assert!(mentions(
            "[tickets](table:support_tickets)",
            "support_tickets"
        ));
        assert!(mentions("Support_Tickets.", "support_tickets"));
        assert!(!mentions("support_tickets_archive", "support_tickets"));
        assert!(!mentions("old_support_tickets", "support_tickets"));
        assert!(!mentions(
            "Support tickets come from customers",
            "support_tickets"
        ));
        assert!(!mentions("anything", ""));
    }

    #[test]
    fn public_view_leaves_out_what_names_a_private_table() {
        let mut input = crate::site::tests::input();
        assert!(public_view(&input).is_none(), "no private table: one view");
        for t in &mut input.content.tables {
            t.private = t.name == "orders";
        }
        for r in &mut input.tables {
            r.spec.private = r.spec.name == "orders";
        }
        let view = public_view(&input).unwrap();
        let names = |v: &SiteInput| -> Vec<String> {
            v.tables.iter().map(|r| r.spec.name.clone()).collect()
        };
        assert!(names(&input).contains(&"orders".to_string()));
        assert!(!names(&view).contains(&"orders".to_string()));
        assert_eq!(names(&view).len(), names(&input).len() - 1);
        // `total_revenue` reads orders; the guide links to its page; `other` names neither.
        assert!(view
            .metrics
            .iter()
            .all(|m| m.metric.name != "total_revenue"));
        assert!(view
            .content
            .metrics
            .iter()
            .all(|m| m.name != "total_revenue"));
        let slugs: Vec<&str> = view.content.docs.iter().map(|d| d.slug.as_str()).collect();
        assert_eq!(slugs, ["other"]);
        // The overlay renders the pages that differ: orders', and customers' (it lost its
        // relation to orders), the metric that reads orders, the doc that links to it.
        let subset = overlay_subset(&input, &view);
        assert!(subset.tables.contains("orders"));
        assert!(subset.tables.len() < input.tables.len(), "{subset:?}");
        assert_eq!(subset.metrics.iter().collect::<Vec<_>>(), ["total_revenue"]);
        assert_eq!(subset.docs.iter().collect::<Vec<_>>(), ["guide"]);
        // The public tables keep no relation to it, in their declarations or profiles.
        for r in &view.tables {
            assert!(serde_json::to_string(&r.spec).is_ok_and(|j| !mentions(&j, "orders")));
            if let Some(p) = &r.profile {
                assert!(p.related_tables.iter().all(|t| t.table != "orders"));
                assert!(p.used_by_metrics.iter().all(|m| m != "total_revenue"));
            }
        }
    }

    #[test]
    fn leaks_from_authored_text_are_warned_about() {
        let dir = crate::testkit::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("tables")).unwrap();
        std::fs::create_dir_all(root.join("_private/tables")).unwrap();
        std::fs::write(root.join("tables/a.html"), "joins to Salaries by id").unwrap();
        std::fs::write(root.join("tables/b.html"), "salaries_archive").unwrap();
        std::fs::write(root.join("_private/tables/salaries.html"), "salaries").unwrap();
        let private: BTreeSet<String> = ["salaries".to_string()].into();
        let w = leak_warnings(root, &private).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("`salaries` is named in 1 file(s)"), "{w:?}");
        assert!(w[0].contains("tables/a.html"), "{w:?}");
        std::fs::remove_file(root.join("tables/a.html")).unwrap();
        assert!(leak_warnings(root, &private).unwrap().is_empty());
    }

    #[test]
    fn logical_paths_drop_the_overlay() {
        assert_eq!(
            logical_path("_private/data/crm/t.parquet"),
            "data/crm/t.parquet"
        );
        assert_eq!(logical_path("data/crm/t.parquet"), "data/crm/t.parquet");
        assert_eq!(logical_path("_privateer/x"), "_privateer/x");
        use crate::publish::placed;
        assert_eq!(
            placed("data/a/t.parquet", true),
            "_private/data/a/t.parquet"
        );
        assert_eq!(
            placed("_private/data/a/t.parquet", true),
            "_private/data/a/t.parquet"
        );
        assert_eq!(
            placed("_private/data/a/t.parquet", false),
            "data/a/t.parquet"
        );
    }

    #[test]
    fn overlay_keeps_only_differing_files() {
        let dir = crate::testkit::tempdir().unwrap();
        let root = dir.path();
        let w = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w("index.html", "public");
        w("tables/a.html", "a");
        w("_private/index.html", "full");
        w("_private/tables/a.html", "a");
        w("_private/tables/b.html", "b");
        w("_private/docs/same.html", "");
        w("docs/same.html", "");
        assert_eq!(keep_differences(root).unwrap(), 2);
        assert!(root.join("_private/index.html").is_file());
        assert!(root.join("_private/tables/b.html").is_file());
        assert!(!root.join("_private/tables/a.html").exists());
        assert!(!root.join("_private/docs").exists());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(root.join("_private"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
    }
}
