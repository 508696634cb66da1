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

/// An image next to the docs (`content/docs/img/schema.png`), published at the same path under
/// `docs/` so a doc links it relatively (`![schema](img/schema.png)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocImage {
    /// Path under the docs folder, `/`-separated (`img/schema.png`).
    pub path: String,
    /// The file.
    pub file: std::path::PathBuf,
}

/// File extensions published as doc images (SVG is sanitised as a logo is; see
/// [`crate::site::brand::sanitize_svg`]).
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "gif", "webp", "avif", "svg"];

/// What lies under the docs folder besides its own `*.md` files.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DocFiles {
    /// The images (any depth; names starting with `.` skipped), sorted by path.
    pub images: Vec<DocImage>,
    /// `*.md` files in sub-folders, which are not docs (only `content/docs/*.md` are): their
    /// paths, for a warning.
    pub nested_markdown: Vec<String>,
}

/// The images and nested Markdown files under `dir` ([`DocFiles`]). A missing folder means
/// none. Errors: a folder that cannot be listed.
pub fn load_files(dir: &Path) -> anyhow::Result<DocFiles> {
    let mut files = DocFiles::default();
    if !dir.exists() {
        return Ok(files);
    }
    let out = &mut files.images;
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let ext = entry
            .path()
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !entry.file_type().is_file() {
            continue;
        }
        if entry.depth() > 1 && ext.as_deref() == Some("md") {
            files
                .nested_markdown
                .push(entry.path().display().to_string());
            continue;
        }
        if !ext.is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str())) {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let path = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        out.push(DocImage {
            path,
            file: entry.path().to_path_buf(),
        });
    }
    Ok(files)
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
