//! Data docs: `content/docs/*.md`, Markdown pages rendered into the catalog site.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// One Markdown page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Doc {
    /// File stem; the page is published as `docs/<slug>.html`.
    pub slug: String,
    /// The first `# ` heading, else the slug.
    pub title: String,
    /// The Markdown source.
    pub markdown: String,
    /// Path of the source file, for messages.
    pub source: String,
}

/// Load every `*.md` directly under `dir`, sorted by slug. A missing folder means no docs.
/// Errors: a file that cannot be read or is not UTF-8 (naming the file).
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Doc>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut docs = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let markdown = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read as UTF-8 text", path.display()))?;
        let slug = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("doc")
            .to_string();
        let title = markdown
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .map(|t| t.trim().to_string())
            .unwrap_or_else(|| slug.clone());
        docs.push(Doc {
            slug,
            title,
            markdown,
            source: path.display().to_string(),
        });
    }
    docs.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(docs)
}
