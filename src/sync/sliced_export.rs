//! Keboola sliced exports: a table exported as several CSV slices, listed in order by a
//! manifest (`manifest.json`: `{"entries": [{"url": "..."}, ...]}`), with the column names in
//! the table's detail (`table.json`: `{"columns": ["id", ...]}`). Slices have **no header**,
//! are RFC 4180 with `,` and `"`, and are usually gzip-compressed (whatever their name); a
//! slice may be empty.
//!
//! Reading the manifest is kept apart from reading CSV so a Keboola connector can reuse it
//! after downloading the slices into one folder under their file names.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// The manifest's file name in an export folder.
pub const MANIFEST: &str = "manifest.json";

/// The table detail's file name in an export folder.
pub const TABLE_DETAIL: &str = "table.json";

/// A sliced export in a folder: its column names and its slice files, in manifest order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlicedExport {
    /// Column names, from `table.json`.
    pub columns: Vec<String>,
    /// Slice files, in the manifest's order.
    pub slices: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct Manifest {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    url: String,
}

#[derive(Deserialize)]
struct TableDetail {
    columns: Vec<String>,
}

/// The slice URLs of a manifest's text, in order. Other keys are ignored.
/// Errors: not JSON, or no `entries` list of objects with a `url`.
pub fn parse_manifest(text: &str) -> anyhow::Result<Vec<String>> {
    let m: Manifest = serde_json::from_str(text)
        .context("not a sliced-export manifest ({\"entries\": [{\"url\": ...}]})")?;
    Ok(m.entries.into_iter().map(|e| e.url).collect())
}

/// The relative path a slice is stored under in the export folder: for a URL with a scheme
/// (`s3://bucket/exp/123.csv.gz0000_part_00`, `https://...?signature`) its last path segment,
/// otherwise the relative path as written. `None` for an empty name, an absolute path or one
/// that leaves the folder (`..`).
pub fn slice_path(url: &str) -> Option<PathBuf> {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let rel = match url.split_once("://") {
        Some((_, rest)) => rest.rsplit('/').next().unwrap_or(""),
        None => url,
    };
    let path = PathBuf::from(rel);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (!rel.is_empty() && plain).then_some(path)
}

/// True when `folder` holds a sliced export (a [`MANIFEST`] file).
pub fn is_sliced_export(folder: &Path) -> bool {
    folder.join(MANIFEST).is_file()
}

/// Read the export in `folder`. Errors, each naming the file: a missing or invalid
/// `manifest.json` or `table.json`, a `table.json` without columns, a slice URL that is not a
/// plain relative name, a slice file that is missing.
pub fn read(folder: &Path) -> anyhow::Result<SlicedExport> {
    let manifest_path = folder.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("{}: cannot read", manifest_path.display()))?;
    let urls = parse_manifest(&text).with_context(|| manifest_path.display().to_string())?;
    let mut slices = Vec::with_capacity(urls.len());
    for (i, url) in urls.iter().enumerate() {
        let Some(rel) = slice_path(url) else {
            bail!(
                "{}: entry {}: url `{url}` is not a file name inside the export folder",
                manifest_path.display(),
                i + 1
            );
        };
        let path = folder.join(rel);
        if !path.is_file() {
            bail!(
                "{}: entry {}: slice `{}` not found",
                manifest_path.display(),
                i + 1,
                path.display()
            );
        }
        slices.push(path);
    }
    let detail_path = folder.join(TABLE_DETAIL);
    let text = std::fs::read_to_string(&detail_path).with_context(|| {
        format!(
            "{}: cannot read (a sliced export needs the table's columns)",
            detail_path.display()
        )
    })?;
    let detail: TableDetail = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a table detail with `columns`",
            detail_path.display()
        )
    })?;
    if detail.columns.is_empty() {
        bail!("{}: `columns` is empty", detail_path.display());
    }
    Ok(SlicedExport {
        columns: detail.columns,
        slices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_urls_in_order_and_their_local_names() {
        let urls = parse_manifest(
            r#"{"entries":[{"url":"s3://b/exp/1.csv.gz0000_part_00","mandatory":true},{"url":"part_01.csv.gz"}],"x":1}"#,
        )
        .unwrap();
        assert_eq!(urls.len(), 2);
        assert_eq!(
            slice_path(&urls[0]),
            Some(PathBuf::from("1.csv.gz0000_part_00"))
        );
        assert_eq!(slice_path(&urls[1]), Some(PathBuf::from("part_01.csv.gz")));
        assert_eq!(
            slice_path("https://h/a/p.gz?X-Amz-Signature=1"),
            Some(PathBuf::from("p.gz"))
        );
        assert_eq!(slice_path("../etc/passwd"), None);
        assert_eq!(slice_path("/etc/passwd"), None);
        assert_eq!(slice_path("s3://bucket/"), None);
        assert!(parse_manifest("{\"files\": []}").is_err());
    }
}
