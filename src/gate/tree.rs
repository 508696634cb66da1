//! Serving the published tree to a signed-in user, with the private overlay: a member of the
//! private group asking for `/x` gets `/<overlay>/x` when that file exists, else `/x`; anyone
//! else gets `/x` only; `/<overlay>/…` itself is 404 for everyone, and so is any path whose real
//! location (symlinks followed) falls inside the overlay, so its existence does not leak.

use std::path::Path;

use tiny_http::Request;

use crate::gate::access;
use crate::gate::server::{Gate, Identity};
use crate::static_files::{
    ascii_url, file_reply, resolve, segments, text_response, with, Body, Reply, Resolved,
};

/// Answer a `GET`/`HEAD` for `path` of the tree for `who`.
pub fn serve(
    gate: &Gate,
    req: &Request,
    who: &Identity,
    path: &str,
    query: &str,
    head: bool,
) -> Reply {
    match serve_file(gate, req, who, path, query, head) {
        Ok(r) => r,
        Err(b) => Reply::Small(b),
    }
}

/// [`serve`]; `Err` holds the answers that are not a file.
fn serve_file(
    gate: &Gate,
    req: &Request,
    who: &Identity,
    path: &str,
    query: &str,
    head: bool,
) -> Result<Reply, Body> {
    let Some(segs) = segments(path) else {
        return Err(text_response(
            400,
            "400 bad request: not a path inside the catalog\n",
        ));
    };
    let config = &gate.config;
    if access::is_overlay_path(config, &segs) {
        return Err(not_found());
    }
    let Some(root) = gate.tree_root.get(&config.output) else {
        return Err(text_response(503, "503 no build has been published yet\n"));
    };
    let overlay = root.join(&config.private_overlay);
    let dir_slash = path.ends_with('/');
    let mut found = Resolved::NotFound;
    if access::sees_private(config, &who.groups) {
        if let Ok(o) = std::fs::canonicalize(&overlay) {
            if o.starts_with(&root) && o.is_dir() {
                found = resolve(&o, &segs, dir_slash);
            }
        }
    }
    if matches!(found, Resolved::NotFound) {
        found = match resolve(&root, &segs, dir_slash) {
            Resolved::File(f, _) if in_overlay(&f, &overlay) => Resolved::NotFound,
            other => other,
        };
    }
    match found {
        Resolved::File(f, meta) => Ok(file_reply(req, &f, &meta, head, "private, no-cache")),
        Resolved::AddSlash => {
            let location = if query.is_empty() {
                format!("{path}/")
            } else {
                format!("{path}/?{query}")
            };
            Err(with(
                text_response(301, "moved\n"),
                "Location",
                &ascii_url(&location),
            ))
        }
        Resolved::NotFound => Err(not_found()),
    }
}

/// Whether `file` (a real path) lies in the overlay folder; the overlay's own real path is looked
/// up only when the overlay is a symlink (one `lstat` per request otherwise).
fn in_overlay(file: &Path, overlay: &Path) -> bool {
    file.starts_with(overlay)
        || (std::fs::symlink_metadata(overlay).is_ok_and(|m| m.file_type().is_symlink())
            && std::fs::canonicalize(overlay).is_ok_and(|o| file.starts_with(o)))
}

/// The published tree's real path, remembered per value of the `output` symlink: `broker build`
/// publishes by replacing that symlink with one to a new build folder, so while it reads the
/// same the tree is the same, and a request costs one `readlink` instead of resolving every
/// component of the path (`realpath`). An `output` that is not a symlink is resolved each time.
#[derive(Default)]
pub struct TreeRoot {
    cache: std::sync::Mutex<Option<(std::path::PathBuf, std::path::PathBuf)>>,
}

impl TreeRoot {
    /// The real path of the tree `output` points to; `None` when none has been published.
    pub fn get(&self, output: &Path) -> Option<std::path::PathBuf> {
        let link = std::fs::read_link(output).ok();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(l), Some((seen, root))) = (&link, cache.as_ref()) {
            if l == seen {
                return Some(root.clone());
            }
        }
        let root = crate::publish::current_tree(output)?;
        *cache = link.map(|l| (l, root.clone()));
        Some(root)
    }
}

fn not_found() -> Body {
    text_response(404, "404 not found: no such page in the catalog\n")
}
