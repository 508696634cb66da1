//! Themes: minijinja templates and static files. The default theme (`themes/default/`) is
//! embedded in the binary; a theme folder given at run time overrides any template
//! (`<dir>/templates/<name>`) or static file (`<dir>/static/<name>`) by the same name and may add
//! new ones.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use minijinja::{AutoEscape, Environment, Error, ErrorKind};

/// Templates of the default theme, by name.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../themes/default/templates/base.html"),
    ),
    (
        "macros.html",
        include_str!("../../themes/default/templates/macros.html"),
    ),
    (
        "index.html",
        include_str!("../../themes/default/templates/index.html"),
    ),
    (
        "tables.html",
        include_str!("../../themes/default/templates/tables.html"),
    ),
    (
        "table.html",
        include_str!("../../themes/default/templates/table.html"),
    ),
    (
        "table_schema.html",
        include_str!("../../themes/default/templates/table_schema.html"),
    ),
    (
        "table_sample.html",
        include_str!("../../themes/default/templates/table_sample.html"),
    ),
    (
        "table_column.html",
        include_str!("../../themes/default/templates/table_column.html"),
    ),
    (
        "metrics.html",
        include_str!("../../themes/default/templates/metrics.html"),
    ),
    (
        "metric.html",
        include_str!("../../themes/default/templates/metric.html"),
    ),
    (
        "docs.html",
        include_str!("../../themes/default/templates/docs.html"),
    ),
    (
        "doc.html",
        include_str!("../../themes/default/templates/doc.html"),
    ),
];

/// Static files of the default theme, by name; published under `assets/`.
const STATIC: &[(&str, &str)] = &[
    (
        "favicon.svg",
        include_str!("../../themes/default/static/favicon.svg"),
    ),
    (
        "style.css",
        include_str!("../../themes/default/static/style.css"),
    ),
    (
        "site.js",
        include_str!("../../themes/default/static/site.js"),
    ),
    (
        "theme.js",
        include_str!("../../themes/default/static/theme.js"),
    ),
    (
        "search.js",
        include_str!("../../themes/default/static/search.js"),
    ),
];

/// A loaded theme: the template environment and where overrides come from.
pub struct Theme {
    env: Environment<'static>,
    dir: Option<PathBuf>,
}

/// Escape text for HTML content and quoted attributes (`& < > " '`).
pub fn html_escape(s: &str) -> String {
    Escaped(s).to_string()
}

/// `s` escaped for HTML content and quoted attributes (`&` `<` `>` `"` `'` as `&amp;` `&lt;`
/// `&gt;` `&quot;` `&#39;`), written by `Display` in runs between those characters: no
/// allocation. The theme's autoescape and the SVG of [`crate::site::charts`] both use it, so
/// text escapes the same wherever it lands.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        escape_runs(self.0, |piece| f.write_str(piece))
    }
}

/// Append `s` to `out` escaped as [`Escaped`] writes it; text with nothing to escape (most of
/// it) is copied in one piece.
pub fn push_escaped(out: &mut String, s: &str) {
    let _ = escape_runs(s, |piece| {
        out.push_str(piece);
        Ok::<(), std::convert::Infallible>(())
    });
}

/// `s` escaped, given to `write` piece by piece: the runs between special characters and the
/// entity of each; `s` whole when it holds none. Stops at `write`'s first error.
fn escape_runs<E>(s: &str, mut write: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
    let Some(first) = first_special(s.as_bytes()) else {
        return write(s);
    };
    let mut last = 0;
    for (i, b) in s.bytes().enumerate().skip(first) {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        write(&s[last..i])?;
        write(entity)?;
        last = i + 1;
    }
    write(&s[last..])
}

/// Index of the first of `& < > " '` in `bytes`. Eight bytes at a time: a byte of a word `w`
/// equals `c` where `w ^ c·0x0101…` has a zero byte, which `(x − 0x0101…) & !x & 0x8080…`
/// detects without a false positive for the word as a whole ("Determine if a word has a zero
/// byte", Anderson, *Bit Twiddling Hacks*); the byte is then found one at a time.
fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has = |w: u64, c: u8| {
        let x = w ^ (ONES * c as u64);
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let special = |b: &u8| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'');
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        if has(w, b'&') | has(w, b'<') | has(w, b'>') | has(w, b'"') | has(w, b'\'') != 0 {
            return word.iter().position(special).map(|i| at + i);
        }
        at += 8;
    }
    words.remainder().iter().position(special).map(|i| at + i)
}

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['/', '\\'])
        && name
            .split(['/', '\\'])
            .all(|seg| seg != ".." && !seg.is_empty())
}

impl Theme {
    /// The default theme, overridden by files under `dir` when given.
    ///
    /// Errors: `dir` is given but is not a folder.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Theme> {
        if let Some(d) = dir {
            if !d.is_dir() {
                bail!("{}: theme folder not found", d.display());
            }
        }
        let dir = dir.map(Path::to_path_buf);
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Strings are escaped like minijinja does, minus its `/` → `&#x2f;` (not needed in
        // content or quoted attributes), so paths and SQL read naturally in the page source.
        env.set_formatter(|out, state, value| {
            if let (AutoEscape::Html, Some(s)) = (state.auto_escape(), value.as_str()) {
                if !value.is_safe() {
                    return write!(out, "{}", Escaped(s)).map_err(Error::from);
                }
            }
            minijinja::escape_formatter(out, state, value)
        });
        let override_dir = dir.clone();
        env.set_loader(move |name| {
            if !safe_name(name) {
                return Ok(None);
            }
            if let Some(d) = &override_dir {
                let p = d.join("templates").join(name);
                if p.is_file() {
                    return std::fs::read_to_string(&p).map(Some).map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("{}: cannot read: {e}", p.display()),
                        )
                    });
                }
            }
            Ok(TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s.to_string()))
        });
        Ok(Theme { env, dir })
    }

    /// Whether the theme folder holds its own template `name`, in place of the default theme's.
    pub fn overrides(&self, name: &str) -> bool {
        self.dir
            .as_ref()
            .is_some_and(|d| safe_name(name) && d.join("templates").join(name).is_file())
    }

    /// Render template `name` with `ctx`.
    ///
    /// Errors: the template is missing or fails; the message names the template and line.
    pub fn render<S: serde::Serialize>(&self, name: &str, ctx: S) -> anyhow::Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| anyhow::anyhow!("theme template {name}: {e:#}"))?;
        tmpl.render(ctx)
            .map_err(|e| anyhow::anyhow!("theme template {name}: {e:#}"))
    }

    /// The static files to publish under `assets/`: the default theme's, replaced or extended by
    /// the files under `<dir>/static/` (subfolders kept), sorted by path.
    ///
    /// Errors: a file under `<dir>/static/` cannot be read.
    pub fn static_files(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let mut files: std::collections::BTreeMap<String, Vec<u8>> = STATIC
            .iter()
            .map(|(n, s)| (n.to_string(), s.as_bytes().to_vec()))
            .collect();
        if let Some(d) = &self.dir {
            let root = d.join("static");
            if root.is_dir() {
                for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
                    let entry =
                        entry.with_context(|| format!("{}: cannot list", root.display()))?;
                    if !entry.file_type().is_file() {
                        continue;
                    }
                    let rel = entry
                        .path()
                        .strip_prefix(&root)
                        .unwrap_or(entry.path())
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    let bytes = std::fs::read(entry.path())
                        .with_context(|| format!("{}: cannot read", entry.path().display()))?;
                    files.insert(rel, bytes);
                }
            }
        }
        Ok(files.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time search finds every special character at every offset, and
    /// `push_escaped` writes what `Escaped` writes.
    #[test]
    fn push_escaped_writes_what_escaped_writes() {
        let plain = "abcdefghijklmnopqrstuvwxyz é 0123456789";
        for special in ["&", "<", ">", "\"", "'"] {
            for at in 0..plain.len() {
                if !plain.is_char_boundary(at) {
                    continue;
                }
                let s = format!("{}{special}{}", &plain[..at], &plain[at..]);
                assert_eq!(first_special(s.as_bytes()), Some(at), "{s}");
                let mut out = String::from("x");
                push_escaped(&mut out, &s);
                assert_eq!(out, format!("x{}", Escaped(&s)));
            }
        }
        assert_eq!(first_special(plain.as_bytes()), None);
        let mut out = String::new();
        push_escaped(&mut out, "a<b>&\"c'\u{80}&");
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&#39;\u{80}&amp;");
    }
}
