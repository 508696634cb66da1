//! Content stage: what the data team writes, parsed once into typed structs.
//!
//! - `content/data_description.md`: tables in fenced YAML blocks inside Markdown ([`data_description`]).
//! - `content/metrics/<category>/<name>.yml`: business metrics ([`metrics`]).
//! - `content/docs/*.md`: Markdown data docs ([`docs`]).
//!
//! Errors name the file, the line and the key; unknown keys, duplicate table names and missing
//! required fields are errors.

pub mod data_description;
pub mod docs;
pub mod metrics;

use std::path::Path;

pub use data_description::{
    ColumnSpec, ColumnType, CsvOptions, ForeignKey, SyncStrategy, TableSpec, WhereFilter,
    MAX_DECIMAL_PRECISION,
};
pub use docs::Doc;
pub use metrics::Metric;

/// Everything under an instance's `content/` folder.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Content {
    /// Tables in the order they appear in `data_description.md`.
    pub tables: Vec<TableSpec>,
    /// Metrics sorted by category, then name.
    pub metrics: Vec<Metric>,
    /// Docs pages sorted by slug.
    pub docs: Vec<Doc>,
    /// Path of `data_description.md` as loaded, for messages (empty when not loaded from a
    /// file).
    pub data_description: String,
    /// Images under `content/docs/`, published next to the docs, and the Markdown files of its
    /// sub-folders, which are not.
    pub doc_files: docs::DocFiles,
}

impl Content {
    /// Load `content_dir/data_description.md`, `content_dir/metrics/*/*.yml` and
    /// `content_dir/docs/*.md`.
    ///
    /// Errors: any file that cannot be read or parsed; the message names file, line and key.
    /// Every error of every file is collected, one per line, so a user fixes them in one pass.
    pub fn load(content_dir: &Path) -> anyhow::Result<Content> {
        let mut errors = Vec::new();
        let data_description = content_dir.join("data_description.md");
        let tables = data_description::load(&data_description).unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        let metrics = metrics::load_dir(&content_dir.join("metrics")).unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        let docs = docs::load_dir(&content_dir.join("docs")).unwrap_or_else(|e| {
            errors.push(e);
            Vec::new()
        });
        let doc_files = docs::load_files(&content_dir.join("docs")).unwrap_or_else(|e| {
            errors.push(e);
            docs::DocFiles::default()
        });
        if !errors.is_empty() {
            let text: Vec<String> = errors.iter().map(|e| format!("{e:#}")).collect();
            anyhow::bail!("{}", text.join("\n"));
        }
        Ok(Content {
            tables,
            metrics,
            docs,
            data_description: data_description.display().to_string(),
            doc_files,
        })
    }

    /// The table with this short `name`, if declared.
    pub fn table(&self, name: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Metrics whose `table` or `tables` name this table, in metric order.
    pub fn metrics_using(&self, table: &str) -> Vec<&Metric> {
        self.metrics
            .iter()
            .filter(|m| m.tables_used().iter().any(|t| t == table))
            .collect()
    }
}
