//! Publish stage: the output tree is built in a staging folder beside the published builds and
//! swapped in at the end with one `rename(2)` of a symlink, so a reader (rsync, the gate) never
//! sees a half-written tree and a crashed build leaves the previous tree as it was.
//!
//! Layout, for an output path `public`:
//! ```text
//! public -> .public.builds/20261129T154300.123Z      (symlink, swapped atomically)
//! .public.builds/20261129T154300.123Z/               (the current build)
//! .public.builds/20261128T060000.000Z/               (kept for readers still syncing it)
//! .public.builds/20261129T160000.000Z.partial/       (a build in progress, or one that died)
//! ```
//! A file whose bytes did not change since the current build is hard-linked from it, so it keeps
//! its mtime and inode and an analyst's next rsync skips it.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sync::{SyncedColumn, SyncedTable};

/// Version of `meta/manifest.json`. Version 1 had one timestamp type, `timestamp`, for UTC
/// instants: [`Manifest::read`] reads it as `timestamptz`.
pub const MANIFEST_VERSION: u32 = 2;

/// `meta/manifest.json`: every data file of the tree, and each table's schema.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_VERSION`].
    pub version: u32,
    /// Build id (the build folder's name).
    pub build_id: String,
    /// RFC 3339 UTC time the build started.
    pub built_at: String,
    /// Every data file, sorted by path.
    pub files: Vec<ManifestFile>,
    /// Per table, sorted by name.
    pub tables: Vec<ManifestTable>,
}

/// One data file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestFile {
    /// Path relative to the tree root, `/`-separated.
    pub path: String,
    /// Table it belongs to.
    pub table: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows.
    pub rows: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

/// One table's schema and files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestTable {
    /// Table name.
    pub name: String,
    /// Columns: name, source name, type, type source.
    pub columns: Vec<ManifestColumn>,
    /// Paths of its files.
    pub files: Vec<String>,
    /// Build id of the build that last synced it (differs from the manifest's when the table
    /// failed and its previous data was kept).
    pub synced_in: String,
    /// The source it was read from.
    pub source: String,
}

/// A column in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestColumn {
    /// Name in Parquet.
    pub name: String,
    /// Header text in the source.
    pub source_name: String,
    /// Column type name (`int64`, …).
    #[serde(rename = "type")]
    pub column_type: crate::content::ColumnType,
    /// `declared` or `inferred`.
    pub type_source: String,
    /// How the source's text was read, when the catalog says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// SHA-256 of a file, lowercase hex. Errors: the file cannot be read.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

impl Manifest {
    /// Build the manifest of `tables` (hashing every file). `synced_in` gives, per table name,
    /// the build that synced it when that is not this one.
    pub fn of(
        build_id: &str,
        built_at: &str,
        tables: &[(&SyncedTable, String)],
    ) -> anyhow::Result<Manifest> {
        let mut files = Vec::new();
        let mut out_tables = Vec::new();
        for (t, synced_in) in tables {
            for f in &t.files {
                files.push(ManifestFile {
                    path: f.path.clone(),
                    table: t.table.clone(),
                    bytes: f.bytes,
                    rows: f.rows,
                    sha256: sha256_file(&f.abs_path)?,
                });
            }
            out_tables.push(ManifestTable {
                name: t.table.clone(),
                columns: t
                    .columns
                    .iter()
                    .map(|c| ManifestColumn {
                        name: c.name.clone(),
                        source_name: c.source_name.clone(),
                        column_type: c.column_type,
                        type_source: c.type_source.to_string(),
                        note: c.note.clone(),
                    })
                    .collect(),
                files: t.files.iter().map(|f| f.path.clone()).collect(),
                synced_in: synced_in.clone(),
                source: t.source.clone(),
            });
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        out_tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Manifest {
            version: MANIFEST_VERSION,
            build_id: build_id.to_string(),
            built_at: built_at.to_string(),
            files,
            tables: out_tables,
        })
    }

    /// Read `<root>/meta/manifest.json`; `None` when absent or of an unknown version. A
    /// version 1 manifest is brought to the current one (its `timestamp` columns hold UTC
    /// instants: `timestamptz`).
    pub fn read(root: &Path) -> Option<Manifest> {
        let text = fs::read_to_string(root.join("meta/manifest.json")).ok()?;
        let mut m: Manifest = serde_json::from_str(&text).ok()?;
        if m.version == 1 {
            for c in m.tables.iter_mut().flat_map(|t| t.columns.iter_mut()) {
                if c.column_type == crate::content::ColumnType::Timestamp {
                    c.column_type = crate::content::ColumnType::Timestamptz;
                }
            }
            m.version = MANIFEST_VERSION;
        }
        (m.version == MANIFEST_VERSION).then_some(m)
    }

    /// Re-create the [`SyncedTable`] of `name` from this manifest, with files under `root`.
    pub fn synced_table(&self, name: &str, root: &Path) -> Option<(SyncedTable, String)> {
        let t = self.tables.iter().find(|t| t.name == name)?;
        let files: Vec<crate::sync::DataFile> = t
            .files
            .iter()
            .filter_map(|p| self.files.iter().find(|f| &f.path == p))
            .map(|f| crate::sync::DataFile {
                path: f.path.clone(),
                abs_path: root.join(&f.path),
                rows: f.rows,
                bytes: f.bytes,
            })
            .collect();
        let columns = t
            .columns
            .iter()
            .map(|c| SyncedColumn {
                name: c.name.clone(),
                source_name: c.source_name.clone(),
                column_type: c.column_type,
                type_source: if c.type_source == "declared" {
                    "declared"
                } else {
                    "inferred"
                },
                note: c.note.clone(),
            })
            .collect();
        Some((
            SyncedTable {
                table: t.name.clone(),
                columns,
                rows: files.iter().map(|f| f.rows).sum(),
                bytes: files.iter().map(|f| f.bytes).sum(),
                files,
                source: t.source.clone(),
                elapsed_ms: 0,
            },
            t.synced_in.clone(),
        ))
    }
}

/// Write `value` as pretty JSON to `path` atomically (temp file in the same folder, fsync, rename).
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Write `bytes` to `path` atomically (temp file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut f = File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path).with_context(|| format!("{}: cannot rename into place", path.display()))
}

/// The exclusive lock of an instance's builds: held while the value lives, released by the
/// kernel if the process dies (flock), so a killed build never blocks the next one.
pub struct BuildLock {
    _file: File,
}

/// Take `<state>/build.lock` without waiting. `Ok(None)` when another build holds it.
pub fn lock(state: &Path) -> anyhow::Result<Option<BuildLock>> {
    fs::create_dir_all(state).with_context(|| format!("{}: cannot create", state.display()))?;
    let path = state.join("build.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ =
                std::io::Write::write_all(&mut &file, std::process::id().to_string().as_bytes());
            Ok(Some(BuildLock { _file: file }))
        }
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("{}: cannot lock", path.display())))
        }
    }
}

/// Refuse an output path that exists and is not a symlink: a folder or file broker did not
/// create is never replaced, so nothing of the user's is moved or deleted.
///
/// Errors: `output` exists and is not a symlink (the message names it).
pub fn check_output(output: &Path) -> anyhow::Result<()> {
    match fs::symlink_metadata(output) {
        Ok(meta) if !meta.file_type().is_symlink() => bail!(
            "output {} exists and is not the symlink broker publishes; move it away or choose another output (broker never replaces a folder it did not create)",
            output.display()
        ),
        _ => Ok(()),
    }
}

/// A build being assembled.
pub struct Staging {
    output: PathBuf,
    builds: PathBuf,
    id: String,
    root: PathBuf,
}

fn builds_dir(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("public");
    output.with_file_name(format!(".{name}.builds"))
}

/// The folder the published output currently is (the symlink's target, or the folder itself).
pub fn current_tree(output: &Path) -> Option<PathBuf> {
    fs::canonicalize(output).ok().filter(|p| p.is_dir())
}

impl Staging {
    /// Create `<builds>/<id>.partial/`, removing partial folders left by builds that died (the
    /// caller holds the build lock, so none is running).
    ///
    /// Errors: `output` exists and is not a symlink (a folder or file broker did not create is
    /// never replaced: nothing of the user's is moved or deleted); I/O errors.
    pub fn create(output: &Path, id: &str) -> anyhow::Result<Staging> {
        check_output(output)?;
        let builds = builds_dir(output);
        fs::create_dir_all(&builds)
            .with_context(|| format!("{}: cannot create", builds.display()))?;
        for entry in fs::read_dir(&builds)? {
            let p = entry?.path();
            if p.extension().and_then(|e| e.to_str()) == Some("partial") {
                fs::remove_dir_all(&p)
                    .with_context(|| format!("{}: cannot remove a dead build", p.display()))?;
            }
        }
        let root = builds.join(format!("{id}.partial"));
        fs::create_dir_all(&root)?;
        Ok(Staging {
            output: output.to_path_buf(),
            builds,
            id: id.to_string(),
            root,
        })
    }

    /// The staging root, where every stage writes.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Make the staged tree the published one and drop builds beyond the `keep` newest previous
    /// ones. Returns the number of files hard-linked unchanged from the previous build.
    ///
    /// Errors: I/O errors; `output` exists and is neither a symlink nor a folder.
    pub fn publish(self, keep: usize) -> anyhow::Result<usize> {
        let previous = current_tree(&self.output);
        let linked = match &previous {
            Some(prev) => link_unchanged(&self.root, prev)?,
            None => 0,
        };
        let final_root = self.builds.join(&self.id);
        fs::rename(&self.root, &final_root)?;
        sync_dir(&self.builds)?;
        if let Ok(meta) = fs::symlink_metadata(&self.output) {
            if !meta.file_type().is_symlink() {
                bail!(
                    "{}: appeared during the build and is not a symlink; not replaced",
                    self.output.display()
                );
            }
        }
        let builds_name = self
            .builds
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(".builds");
        let target = PathBuf::from(builds_name).join(&self.id);
        let tmp_link = self.output.with_file_name(format!(
            ".{}.swap-{}",
            self.output
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("public"),
            self.id
        ));
        let _ = fs::remove_file(&tmp_link);
        std::os::unix::fs::symlink(&target, &tmp_link)?;
        fs::rename(&tmp_link, &self.output)?;
        if let Some(parent) = self.output.parent() {
            sync_dir(parent)?;
        }
        prune(&self.builds, &self.id, keep)?;
        Ok(linked)
    }
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (ma, mb) = (fs::metadata(a)?, fs::metadata(b)?);
    if ma.len() != mb.len() {
        return Ok(false);
    }
    let (mut fa, mut fb) = (File::open(a)?, File::open(b)?);
    let mut ba = vec![0u8; 1 << 16];
    let mut bb = vec![0u8; 1 << 16];
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(true);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// Replace every file of `new_root` whose bytes equal the same path in `prev_root` by a hard link
/// to the previous file (keeping its mtime); fsync the others.
fn link_unchanged(new_root: &Path, prev_root: &Path) -> anyhow::Result<usize> {
    let mut linked = 0;
    for entry in walkdir::WalkDir::new(new_root) {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(new_root)?;
        let old = prev_root.join(rel);
        if old.is_file() && same_bytes(entry.path(), &old)? {
            let tmp = entry
                .path()
                .with_file_name(format!(".{}.link", entry.file_name().to_string_lossy()));
            if fs::hard_link(&old, &tmp).is_ok() {
                fs::rename(&tmp, entry.path())?;
                linked += 1;
                continue;
            }
        }
        File::open(entry.path())?.sync_all()?;
    }
    Ok(linked)
}

fn prune(builds: &Path, current: &str, keep: usize) -> anyhow::Result<()> {
    let mut done: Vec<String> = fs::read_dir(builds)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.ends_with(".partial") && n != current)
        .collect();
    done.sort();
    let excess = done.len().saturating_sub(keep);
    for name in &done[..excess] {
        fs::remove_dir_all(builds.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_swaps_links_unchanged_files_and_prunes() {
        let dir = crate::testkit::tempdir().unwrap();
        let out = dir.path().join("public");
        for (i, id) in ["b1", "b2", "b3", "b4"].iter().enumerate() {
            let s = Staging::create(&out, id).unwrap();
            fs::write(s.root().join("same.txt"), "same").unwrap();
            fs::write(s.root().join("changing.txt"), format!("v{i}")).unwrap();
            let linked = s.publish(2).unwrap();
            assert_eq!(linked, usize::from(i > 0));
            assert_eq!(
                fs::read_to_string(out.join("changing.txt")).unwrap(),
                format!("v{i}")
            );
        }
        let builds = builds_dir(&out);
        let mut names: Vec<String> = fs::read_dir(&builds)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        assert_eq!(names, vec!["b2", "b3", "b4"]);
        use std::os::unix::fs::MetadataExt;
        let ino_now = fs::metadata(out.join("same.txt")).unwrap().ino();
        let ino_b2 = fs::metadata(builds.join("b2/same.txt")).unwrap().ino();
        assert_eq!(ino_now, ino_b2);
    }

    #[test]
    fn a_dead_partial_build_is_removed_and_the_published_tree_kept() {
        let dir = crate::testkit::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Staging::create(&out, "b1").unwrap();
        fs::write(s.root().join("a.txt"), "one").unwrap();
        s.publish(1).unwrap();
        let dead = Staging::create(&out, "b2").unwrap();
        fs::write(dead.root().join("a.txt"), "half").unwrap();
        drop(dead); // dies without publishing
        assert_eq!(fs::read_to_string(out.join("a.txt")).unwrap(), "one");
        let _next = Staging::create(&out, "b3").unwrap();
        assert!(!builds_dir(&out).join("b2.partial").exists());
    }

    #[test]
    fn an_existing_folder_at_the_output_is_never_replaced() {
        let dir = crate::testkit::tempdir().unwrap();
        let out = dir.path().join("public");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("keep.txt"), "precious").unwrap();
        let e = Staging::create(&out, "b1").err().unwrap().to_string();
        assert!(e.contains("is not the symlink broker publishes"), "{e}");
        assert_eq!(
            fs::read_to_string(out.join("keep.txt")).unwrap(),
            "precious"
        );
    }

    #[test]
    fn second_lock_is_refused_while_the_first_is_held() {
        let dir = crate::testkit::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        assert!(first.is_some());
        assert!(lock(dir.path()).unwrap().is_none());
        drop(first);
        assert!(lock(dir.path()).unwrap().is_some());
    }
}
