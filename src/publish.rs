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

    /// This manifest without the tables named in `tables` and their files (the public view's
    /// manifest when those tables are private).
    pub fn without(&self, tables: &std::collections::BTreeSet<String>) -> Manifest {
        let mut m = self.clone();
        m.tables.retain(|t| !tables.contains(&t.name));
        m.files.retain(|f| !tables.contains(&f.table));
        m
    }

    /// Read `<root>/meta/manifest.json` of the full view (the private overlay's copy when there
    /// is one, see [`full_view_file`]); `None` when absent or of an unknown version. A
    /// version 1 manifest is brought to the current one (its `timestamp` columns hold UTC
    /// instants: `timestamptz`).
    pub fn read(root: &Path) -> Option<Manifest> {
        let text = fs::read_to_string(full_view_file(root, "meta/manifest.json")).ok()?;
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
                run: Default::default(),
            },
            t.synced_in.clone(),
        ))
    }
}

/// Write `value` as pretty JSON to `path` atomically and durably (see [`write_atomic`]).
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// JSON as broker lays out the files it publishes (twins, `meta/`): the objects and arrays down
/// to nesting level `lines_to` (the outermost value is level 1) have one member per line,
/// indented by two spaces; anything deeper is written on one line, without spaces. A table's
/// twin with `lines_to` 3 gets one line per column (about 1.5 KB each) instead of one per
/// statistic: half the bytes of pretty JSON, and each line still fits a line-oriented reader.
/// Ends with a newline. Errors: those of `value`'s `Serialize`.
pub fn json_bytes(value: &impl Serialize, lines_to: usize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = laid_out(value, 0, lines_to)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `value` serialised by [`JsonLayout`] as if inside `level` open objects or arrays.
fn laid_out(value: &impl Serialize, level: usize, lines_to: usize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(64 * 1024);
    lay_out(&mut bytes, value, level, lines_to)?;
    Ok(bytes)
}

/// [`laid_out`] into `w`.
fn lay_out(
    w: impl std::io::Write,
    value: &impl Serialize,
    level: usize,
    lines_to: usize,
) -> anyhow::Result<()> {
    let layout = JsonLayout {
        level,
        lines_to,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(w, layout);
    value.serialize(&mut ser).context("cannot serialise JSON")
}

/// A value serialised once in [`json_bytes`]'s layout, to be written into one or more files
/// as a member of an object or array ([`Places::piece`], [`json_spliced`]): laid out as at
/// nesting level 1 of a file written with `lines_to` (the members of the file's outermost
/// value). Errors: those of `value`'s `Serialize`.
pub fn json_piece(value: &impl Serialize, lines_to: usize) -> anyhow::Result<String> {
    String::from_utf8(laid_out(value, 1, lines_to)?).context("serialised JSON is not UTF-8")
}

/// The places of the [`json_piece`]s in one document written by [`json_spliced`]: what has been
/// written so far, and where each piece goes.
#[derive(Debug, Default)]
pub struct Places<'a> {
    written: std::cell::RefCell<Vec<u8>>,
    pieces: std::cell::RefCell<Vec<(usize, &'a str, usize)>>,
}

impl<'a> Places<'a> {
    /// `piece` (a [`json_piece`]) as a member of a value given to [`json_spliced`] with these
    /// places, at nesting `level` (1: a member of the document's outermost value; a piece
    /// deeper than 1 gets two more spaces of indentation per level on each of its lines, so
    /// the document comes out as [`json_bytes`] with `lines_to + level − 1` would write the
    /// value itself).
    pub fn piece<'p>(&'p self, piece: &'a str, level: usize) -> Piece<'p, 'a> {
        Piece {
            piece,
            level,
            places: self,
        }
    }
}

/// A [`json_piece`] standing in a value ([`Places::piece`]). Serialised by [`json_spliced`], it
/// leaves `null` in the document and notes the place, where the piece then replaces it;
/// serialised by anything else, it is `null`.
#[derive(Debug, Clone, Copy)]
pub struct Piece<'p, 'a> {
    piece: &'a str,
    level: usize,
    places: &'p Places<'a>,
}

impl Serialize for Piece<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let at = self.places.written.borrow().len();
        self.places
            .pieces
            .borrow_mut()
            .push((at, self.piece, self.level));
        s.serialize_unit()
    }
}

/// The writer of [`json_spliced`]: into [`Places`]' buffer, which [`Piece`]s read their place
/// from.
struct PlacesWriter<'p, 'a>(&'p Places<'a>);

impl std::io::Write for PlacesWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.written.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.written.borrow_mut().extend_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// [`json_bytes`] of a value holding [`Piece`]s of `places` (and of no other [`Places`]), each
/// written as its [`json_piece`]: a value serialised once goes into several documents without
/// being serialised or parsed again. Errors: those of `value`'s `Serialize`.
pub fn json_spliced(
    value: &impl Serialize,
    lines_to: usize,
    places: &Places<'_>,
) -> anyhow::Result<Vec<u8>> {
    places.written.borrow_mut().clear();
    places.pieces.borrow_mut().clear();
    lay_out(PlacesWriter(places), value, 0, lines_to)?;
    let written = places.written.take();
    let pieces = places.pieces.take();
    let mut out = Vec::with_capacity(
        written.len() + pieces.iter().map(|(_, p, _)| p.len() + 64).sum::<usize>() + 1,
    );
    let mut from = 0;
    for (at, piece, level) in pieces {
        if written.get(at..at + 4) != Some(b"null") {
            bail!("a JSON piece is not where it was noted (at byte {at})");
        }
        out.extend_from_slice(&written[from..at]);
        let deeper = level.saturating_sub(1);
        let mut rest = piece.as_bytes();
        if deeper > 0 {
            // A JSON string holds no raw newline: every newline of a piece is layout.
            while let Some(i) = memchr::memchr(b'\n', rest) {
                out.extend_from_slice(&rest[..=i]);
                out.resize(out.len() + 2 * deeper, b' ');
                rest = &rest[i + 1..];
            }
        }
        out.extend_from_slice(rest);
        from = at + 4;
    }
    out.extend_from_slice(&written[from..]);
    out.push(b'\n');
    Ok(out)
}

/// The formatter of [`json_bytes`]: serde_json's pretty layout above `lines_to`, its compact one
/// below.
struct JsonLayout {
    /// Nesting level of the innermost open object or array (0 outside any).
    level: usize,
    lines_to: usize,
    /// Whether the innermost open object or array has a member yet.
    has_value: bool,
}

impl JsonLayout {
    fn begin<W: ?Sized + std::io::Write>(&mut self, w: &mut W, open: &[u8]) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(open)
    }

    fn end<W: ?Sized + std::io::Write>(&mut self, w: &mut W, close: &[u8]) -> std::io::Result<()> {
        self.level -= 1;
        if self.level < self.lines_to && self.has_value {
            w.write_all(b"\n")?;
            self.indent(w, self.level)?;
        }
        w.write_all(close)
    }

    fn member<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.level <= self.lines_to {
            w.write_all(b"\n")?;
            self.indent(w, self.level)?;
        }
        Ok(())
    }

    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W, level: usize) -> std::io::Result<()> {
        const SPACES: &[u8] = &[b' '; 64];
        let mut n = level * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for JsonLayout {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.begin(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.member(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.begin(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.end(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.member(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.level <= self.lines_to {
            b": "
        } else {
            b":"
        })
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Write `bytes` to `path` in a staging tree, creating folders: neither atomic nor durable,
/// since nobody reads the staging tree before [`Staging::publish`], which fsyncs every file it
/// keeps. Errors: I/O errors, naming the path.
pub fn write_staged(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_staged_pieces(path, &[bytes])
}

/// [`write_staged`] of the concatenation of `pieces`, without concatenating them. The folders
/// are created when the file cannot be for want of them (most files go into a folder that
/// exists by then).
pub fn write_staged_pieces(path: &Path, pieces: &[&[u8]]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = match File::create(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("{}: cannot create folder", parent.display()))?;
            }
            File::create(path)
        }
        other => other,
    }
    .with_context(|| format!("{}: cannot write", path.display()))?;
    for piece in pieces {
        file.write_all(piece)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

/// Write `bytes` to `path` atomically and durably: temp file in the same folder, fsync, rename,
/// fsync of the folder. Errors: I/O errors, naming the path.
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
    fs::rename(&tmp, path)
        .with_context(|| format!("{}: cannot rename into place", path.display()))?;
    sync_dir(&parent_dir(path))
}

/// Name of the lock file in the state folder.
pub const LOCK_FILE: &str = "build.lock";

/// What the lock file says about the build that holds it, as one JSON object. Information only,
/// for messages and for an operator's `cat state/build.lock`: the `flock` on the file alone
/// decides which build runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Process id of the build.
    pub pid: u32,
    /// RFC 3339 UTC time, in seconds, at which the build took the lock.
    pub started_at: String,
    /// Name of the instance (`instance.name` in `instance.yaml`).
    pub instance: String,
}

/// The exclusive lock of an instance's builds: an `flock` on `<state>/build.lock`, held while
/// the value lives and released by the kernel if the process dies, so a killed build never
/// blocks the next one. Dropping it empties the lock file first: a lock file that still holds a
/// [`LockInfo`] when the next build takes the lock was left by a build that did not end
/// (killed, crashed, machine lost power).
pub struct BuildLock {
    file: File,
    path: PathBuf,
}

impl BuildLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        // Still holding the flock: nobody can be reading a half-emptied file as a stale lock.
        let _ = self.file.set_len(0);
    }
}

/// The outcome of [`lock`].
pub enum Lock {
    /// This process now holds the lock, until the [`BuildLock`] is dropped.
    Acquired {
        /// The held lock.
        lock: BuildLock,
        /// What a previous build that never released the lock left in the lock file (it was
        /// killed or crashed; the kernel released its `flock`). `None` after a clean release.
        stale: Option<LockInfo>,
    },
    /// Another process holds the lock. Its [`LockInfo`], when the lock file held a readable one
    /// (`None`, e.g., for a build of an older broker that wrote only its PID).
    Held(Option<LockInfo>),
}

/// Take the build lock of an instance, `<state>/build.lock`, without waiting, and write this
/// process's [`LockInfo`] (PID, start time, `instance`) into it.
///
/// Errors: the state folder or the lock file cannot be created or opened, or `flock` fails for
/// another reason than the lock being held (e.g., a filesystem without locks).
pub fn lock(state: &Path, instance: &str) -> anyhow::Result<Lock> {
    fs::create_dir_all(state).with_context(|| format!("{}: cannot create", state.display()))?;
    let path = state.join(LOCK_FILE);
    // Never unlinked: a build that opened it before an unlink would lock an orphaned inode
    // while the next one locks a new file, and both would run.
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            let stale = fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<LockInfo>(&t).ok());
            let info = LockInfo {
                pid: std::process::id(),
                started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                instance: instance.to_string(),
            };
            write_lock_info(&file, &info)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            Ok(Lock::Acquired {
                lock: BuildLock { file, path },
                stale,
            })
        }
        Err(fs::TryLockError::WouldBlock) => Ok(Lock::Held(read_holder(&path))),
        Err(fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("{}: cannot lock", path.display())))
        }
    }
}

/// Write `info` over the lock file's content: the new text first, then cut what was longer, so a
/// reader sees either the old text, a mix it cannot parse, or the new text.
fn write_lock_info(file: &File, info: &LockInfo) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut text = serde_json::to_string(info).map_err(std::io::Error::other)?;
    text.push('\n');
    file.write_all_at(text.as_bytes(), 0)?;
    file.set_len(text.len() as u64)
}

/// The holder's [`LockInfo`]; it may have taken the lock an instant ago and not written it yet,
/// so an unreadable file is read again for up to 200 ms.
fn read_holder(path: &Path) -> Option<LockInfo> {
    for _ in 0..40 {
        if let Some(info) = fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<LockInfo>(&t).ok())
        {
            return Some(info);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    None
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

/// The folder holding `path`, `.` for a bare file name.
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Remove what builds that did not finish left beside `output`: staging folders
/// `.<output>.builds/*.partial` and swap symlinks `.<output>.swap-*`. Returns the removed paths.
///
/// Taking `&BuildLock` makes the caller hold the instance's build lock, so no build is running
/// and none of these belongs to a live build. Entries are removed without following symlinks.
///
/// Errors: a leftover cannot be removed (the message names it), the folders cannot be read.
pub fn remove_leftovers(output: &Path, _lock: &BuildLock) -> anyhow::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let builds = builds_dir(output);
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("public");
    let swap_prefix = format!(".{name}.swap-");
    let places = [
        (builds.clone(), None),
        (parent_dir(output), Some(swap_prefix.as_str())),
    ];
    for (dir, prefix) in places {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("{}: cannot read", dir.display())))
            }
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("{}: cannot read", dir.display()))?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            let leftover = match prefix {
                None => file_name.ends_with(".partial"),
                Some(prefix) => file_name.starts_with(prefix),
            };
            if !leftover {
                continue;
            }
            let p = entry.path();
            let is_dir = fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
            let result = if is_dir {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            result.with_context(|| {
                format!("{}: cannot remove what a dead build left", p.display())
            })?;
            removed.push(p);
        }
    }
    Ok(removed)
}

impl Staging {
    /// Create the staging folder `.<output>.builds/<id>.partial/` beside `output`. Staging
    /// folders of builds that died are removed by [`remove_leftovers`], under the build lock.
    ///
    /// Errors: `output` exists and is not a symlink (a folder or file broker did not create is
    /// never replaced: nothing of the user's is moved or deleted); I/O errors.
    pub fn create(output: &Path, id: &str) -> anyhow::Result<Staging> {
        check_output(output)?;
        let builds = builds_dir(output);
        fs::create_dir_all(&builds)
            .with_context(|| format!("{}: cannot create", builds.display()))?;
        let root = builds.join(format!("{id}.partial"));
        fs::create_dir_all(&root).with_context(|| format!("{}: cannot create", root.display()))?;
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
    /// ones; or, when the staged tree holds the published tree's files with the same bytes but
    /// for the [`PER_BUILD_FILES`] (which only say when the build ran), publish nothing: the
    /// staging folder is removed and no file of the published tree is rewritten, so an analyst's
    /// `rsync` finds nothing to copy.
    ///
    /// In order: files equal to the previous build's are replaced by hard links to them (same
    /// inode and mtime), the others fsynced; folders whose entries are all unchanged get the
    /// previous folder's mtime back; every folder of the tree is fsynced; the staging folder is
    /// renamed to `<id>` and `.<output>.builds` fsynced; a new symlink is renamed over `output`
    /// and its folder fsynced. Only then are old builds pruned.
    ///
    /// Errors: I/O errors; `output` appeared during the build and is not a symlink (not replaced).
    pub fn publish(self, keep: usize) -> anyhow::Result<Published> {
        let previous = current_tree(&self.output);
        let (linked, rewritten) = link_unchanged(&self.root, previous.as_deref())?;
        if let Some(prev) = &previous {
            let unchanged = rewritten
                .iter()
                .all(|r| PER_BUILD_FILES.contains(&r.as_str()) && prev.join(r).is_file())
                && count_files(prev) == linked + rewritten.len();
            if unchanged {
                fs::remove_dir_all(&self.root)
                    .with_context(|| format!("{}: cannot remove", self.root.display()))?;
                return Ok(Published {
                    linked,
                    build_id: prev
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    changed: false,
                });
            }
            keep_folder_mtimes(&self.root, prev);
        }
        sync_folders(&self.root)?;
        let final_root = self.builds.join(&self.id);
        fs::rename(&self.root, &final_root).with_context(|| {
            format!(
                "{}: cannot rename to {}",
                self.root.display(),
                final_root.display()
            )
        })?;
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
        std::os::unix::fs::symlink(&target, &tmp_link)
            .with_context(|| format!("{}: cannot create", tmp_link.display()))?;
        fs::rename(&tmp_link, &self.output)
            .with_context(|| format!("{}: cannot replace", self.output.display()))?;
        sync_dir(&parent_dir(&self.output))?;
        prune(&self.builds, &self.id, keep)?;
        Ok(Published {
            linked,
            build_id: self.id,
            changed: true,
        })
    }
}

/// Files of a tree that only say when its build ran (`meta/freshness.js`: the build's and each
/// table's sync times; `meta/manifest.json`: the build id and time). A build whose tree differs
/// from the published one in these alone is not published ([`Staging::publish`]).
/// The private overlay's copies count the same.
pub const PER_BUILD_FILES: [&str; 4] = [
    "meta/freshness.js",
    "meta/manifest.json",
    "_private/meta/freshness.js",
    "_private/meta/manifest.json",
];

/// The folder at the root of a published tree that holds what only the gate's private group
/// sees: the data files of the tables marked `private: true`, and the catalog files (pages,
/// twins, search index, analyst kit, `meta/`) of the full view wherever they differ from the
/// public ones at the root. It is laid over the root: the gate answers a member's `/x` with
/// `_private/x` when that exists, and `/_private/…` is 404 for everyone.
pub const PRIVATE_OVERLAY: &str = "_private";

/// A data file's path as a member of the private group sees the tree (the overlay laid over
/// the root): `_private/data/crm/x.parquet` → `data/crm/x.parquet`; other paths unchanged.
pub fn logical_path(path: &str) -> &str {
    path.strip_prefix(PRIVATE_OVERLAY)
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or(path)
}

/// `path` (relative to the output root) where a table's file goes when the table is private
/// (`private`: under the overlay) or public (at the root): a table whose privacy changed since
/// the build that wrote the file keeps its data in the right place.
pub fn placed(path: &str, private: bool) -> String {
    let logical = logical_path(path);
    if private {
        format!("{PRIVATE_OVERLAY}/{logical}")
    } else {
        logical.to_string()
    }
}

/// The file `rel` of the full view of the published tree `root`: the private overlay's copy
/// when there is one, else the root's. The build reads the previous build's manifest and
/// profiles through it, so private tables are found again.
pub fn full_view_file(root: &Path, rel: &str) -> PathBuf {
    let overlay = root.join(PRIVATE_OVERLAY).join(rel);
    if overlay.is_file() {
        overlay
    } else {
        root.join(rel)
    }
}

/// What [`Staging::publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Files hard-linked unchanged from the previous build (all of them but the
    /// [`PER_BUILD_FILES`] when nothing changed).
    pub linked: usize,
    /// The build now published: the new one, or the previous one when nothing changed.
    pub build_id: String,
    /// Whether a new tree was published; `false` when it would have differed from the
    /// published one only in its [`PER_BUILD_FILES`].
    pub changed: bool,
}

/// Regular files under `root` (0 when it cannot be read).
fn count_files(root: &Path) -> usize {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("{}: cannot fsync", dir.display()))
}

/// fsync every folder under `root` and `root` itself, deepest first.
fn sync_folders(root: &Path) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(root).contents_first(true) {
        let entry = entry?;
        if entry.file_type().is_dir() {
            sync_dir(entry.path())?;
        }
    }
    Ok(())
}

/// Whether `a` and `b` are the same file (one inode); false when either cannot be read.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(ma), Ok(mb)) => ma.dev() == mb.dev() && ma.ino() == mb.ino(),
        _ => false,
    }
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
/// to the previous file (keeping its mtime); fsync the others. Returns the number linked and the
/// paths (relative, `/`-separated) of the others.
fn link_unchanged(
    new_root: &Path,
    prev_root: Option<&Path>,
) -> anyhow::Result<(usize, Vec<String>)> {
    let mut linked = 0;
    let mut rewritten = Vec::new();
    for entry in walkdir::WalkDir::new(new_root) {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        if let Some(prev_root) = prev_root {
            let rel = entry.path().strip_prefix(new_root)?;
            let old = prev_root.join(rel);
            if same_file(entry.path(), &old) {
                // Already a hard link to it (a partition the sync kept): nothing to do. A rename
                // between two links of one file does nothing, and would leave the temporary
                // link behind in the published tree.
                linked += 1;
                continue;
            }
            if old.is_file() && same_bytes(entry.path(), &old)? {
                let tmp = entry
                    .path()
                    .with_file_name(format!(".{}.link", entry.file_name().to_string_lossy()));
                let _ = fs::remove_file(&tmp);
                if fs::hard_link(&old, &tmp).is_ok() {
                    fs::rename(&tmp, entry.path())?;
                    linked += 1;
                    continue;
                }
            }
        }
        File::open(entry.path())
            .and_then(|f| f.sync_all())
            .with_context(|| format!("{}: cannot fsync", entry.path().display()))?;
        let rel = entry.path().strip_prefix(new_root)?;
        rewritten.push(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
    Ok((linked, rewritten))
}

/// Give every folder of `new` whose entries are exactly those of the same folder in `old` (same
/// names; files the same inode, i.e. hard-linked by [`link_unchanged`]; sub-folders unchanged
/// too) the mtime of the old folder, so `rsync -a` sees nothing to update there. Returns whether
/// `new` itself is unchanged. Best effort: a folder whose time cannot be set counts as changed.
fn keep_folder_mtimes(new: &Path, old: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let names = |dir: &Path| -> Option<Vec<std::ffi::OsString>> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .ok()?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .ok()?;
        v.sort();
        Some(v)
    };
    let (Some(new_names), Some(old_names)) = (names(new), names(old)) else {
        return false;
    };
    let mut same = new_names == old_names;
    for name in &new_names {
        let (n, o) = (new.join(name), old.join(name));
        let (Ok(nm), Ok(om)) = (fs::symlink_metadata(&n), fs::symlink_metadata(&o)) else {
            same = false;
            continue;
        };
        if nm.is_dir() {
            // Recurse even when this folder changed: its sub-folders may not have.
            same &= om.is_dir() && keep_folder_mtimes(&n, &o);
        } else {
            same &= nm.is_file() && nm.dev() == om.dev() && nm.ino() == om.ino();
        }
    }
    if !same {
        return false;
    }
    let Ok(modified) = fs::metadata(old).and_then(|m| m.modified()) else {
        return false;
    };
    File::open(new)
        .and_then(|f| f.set_times(fs::FileTimes::new().set_modified(modified)))
        .is_ok()
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
        let p = builds.join(name);
        fs::remove_dir_all(&p).with_context(|| format!("{}: cannot remove", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_down_to_a_level_then_one_line() {
        let v = serde_json::json!({
            "a": 1,
            "columns": [{"name": "id", "top": [1, 2]}, {"name": "x y", "top": []}],
            "empty": {},
            "list": [],
        });
        let text = String::from_utf8(json_bytes(&v, 2).unwrap()).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": 1,\n  \"columns\": [\n    {\"name\":\"id\",\"top\":[1,2]},\n    \
             {\"name\":\"x y\",\"top\":[]}\n  ],\n  \"empty\": {},\n  \"list\": []\n}\n"
        );
        // Level 0 is one line; a deep level is serde_json's pretty layout.
        assert_eq!(
            String::from_utf8(json_bytes(&v, 0).unwrap()).unwrap(),
            format!("{}\n", serde_json::to_string(&v).unwrap())
        );
        assert_eq!(
            String::from_utf8(json_bytes(&v, 9).unwrap()).unwrap(),
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap())
        );
    }

    /// A piece serialised once comes out, at any depth, as the whole file serialised at once.
    #[test]
    fn a_json_piece_is_laid_out_as_the_value_it_stands_for() {
        use serde::ser::SerializeMap as _;
        /// `value`, or the piece standing for it, inside `depth` objects `{"levelN": …, "n": N}`.
        struct Nested<'a, T: Serialize> {
            value: &'a T,
            depth: usize,
        }
        impl<T: Serialize> Serialize for Nested<'_, T> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if self.depth == 0 {
                    return self.value.serialize(s);
                }
                let level = self.depth - 1;
                let inner = Nested {
                    value: self.value,
                    depth: level,
                };
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry(&format!("level{level}"), &inner)?;
                map.serialize_entry("n", &level)?;
                map.end()
            }
        }
        let profile = serde_json::json!({
            "table": "orders",
            "columns": [{"name": "id", "top": [1, 2]}, {"name": "a\nb", "top": []}],
            "empty": [],
        });
        let piece = json_piece(&profile, 3).unwrap();
        for depth in 1..=4 {
            let lines_to = 2 + depth;
            let whole = Nested {
                value: &profile,
                depth,
            };
            let places = Places::default();
            let pieced = Nested {
                value: &places.piece(&piece, depth),
                depth,
            };
            let want = String::from_utf8(json_bytes(&whole, lines_to).unwrap()).unwrap();
            let got = String::from_utf8(json_spliced(&pieced, lines_to, &places).unwrap()).unwrap();
            assert_eq!(got, want, "at depth {depth}");
            // One line per column, indented by its level.
            let column = format!(
                "\n{}{{\"name\":\"id\",\"top\":[1,2]}},",
                "  ".repeat(depth + 2)
            );
            assert!(want.contains(&column), "{want}");
        }
    }

    #[test]
    fn publish_swaps_links_unchanged_files_and_prunes() {
        let dir = crate::testkit::tempdir().unwrap();
        let out = dir.path().join("public");
        for (i, id) in ["b1", "b2", "b3", "b4"].iter().enumerate() {
            let s = Staging::create(&out, id).unwrap();
            fs::write(s.root().join("same.txt"), "same").unwrap();
            fs::write(s.root().join("changing.txt"), format!("v{i}")).unwrap();
            let published = s.publish(2).unwrap();
            assert_eq!(published.linked, usize::from(i > 0));
            assert!(published.changed);
            assert_eq!(published.build_id, *id);
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
    fn a_build_that_changes_only_its_times_is_not_published() {
        let dir = crate::testkit::tempdir().unwrap();
        let out = dir.path().join("public");
        let stage = |id: &str, page: &str| {
            let s = Staging::create(&out, id).unwrap();
            fs::create_dir_all(s.root().join("meta")).unwrap();
            fs::write(s.root().join("index.html"), page).unwrap();
            fs::write(s.root().join("meta/freshness.js"), id).unwrap();
            fs::write(s.root().join("meta/manifest.json"), id).unwrap();
            s
        };
        assert!(stage("b1", "one").publish(2).unwrap().changed);
        let again = stage("b2", "one").publish(2).unwrap();
        assert_eq!(
            again,
            Published {
                linked: 1,
                build_id: "b1".into(),
                changed: false
            }
        );
        assert_eq!(resolve_link(&out), "b1");
        assert_eq!(
            fs::read_to_string(out.join("meta/freshness.js")).unwrap(),
            "b1"
        );
        assert!(!builds_dir(&out).join("b2").exists());
        assert!(!builds_dir(&out).join("b2.partial").exists());
        // A page that changed, or a file gone, is published.
        assert!(stage("b3", "two").publish(2).unwrap().changed);
        assert_eq!(resolve_link(&out), "b3");
        let s = Staging::create(&out, "b4").unwrap();
        fs::create_dir_all(s.root().join("meta")).unwrap();
        fs::write(s.root().join("meta/freshness.js"), "b4").unwrap();
        fs::write(s.root().join("meta/manifest.json"), "b4").unwrap();
        assert!(s.publish(2).unwrap().changed);
        assert!(!out.join("index.html").exists());
    }

    fn resolve_link(out: &Path) -> String {
        fs::read_link(out)
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
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
        let swap = dir.path().join(".public.swap-b2");
        std::os::unix::fs::symlink(".public.builds/b2", &swap).unwrap();
        assert_eq!(fs::read_to_string(out.join("a.txt")).unwrap(), "one");
        let Lock::Acquired { lock: held, .. } = lock(&dir.path().join("state"), "t").unwrap()
        else {
            panic!("lock not acquired")
        };
        let removed = remove_leftovers(&out, &held).unwrap();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!builds_dir(&out).join("b2.partial").exists());
        assert!(fs::symlink_metadata(&swap).is_err());
        assert!(builds_dir(&out).join("b1").is_dir());
        assert_eq!(fs::read_to_string(out.join("a.txt")).unwrap(), "one");
    }

    #[test]
    fn unchanged_folders_keep_their_mtime_and_changed_ones_do_not() {
        let dir = crate::testkit::tempdir().unwrap();
        let out = dir.path().join("public");
        for (id, v) in [("b1", "1"), ("b2", "2")] {
            let s = Staging::create(&out, id).unwrap();
            fs::create_dir_all(s.root().join("same/deeper")).unwrap();
            fs::create_dir_all(s.root().join("changing")).unwrap();
            fs::write(s.root().join("same/deeper/a.txt"), "a").unwrap();
            fs::write(s.root().join("changing/b.txt"), v).unwrap();
            if id == "b1" {
                // An old time, so a folder written by b2 cannot have it by chance.
                for d in ["same/deeper", "same", "changing"] {
                    let f = File::open(s.root().join(d)).unwrap();
                    f.set_times(fs::FileTimes::new().set_modified(std::time::UNIX_EPOCH))
                        .unwrap();
                }
            }
            s.publish(2).unwrap();
        }
        let mtime = |p: &str| fs::metadata(out.join(p)).unwrap().modified().unwrap();
        assert_eq!(mtime("same"), std::time::UNIX_EPOCH);
        assert_eq!(mtime("same/deeper"), std::time::UNIX_EPOCH);
        assert_ne!(mtime("changing"), std::time::UNIX_EPOCH);
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
        let Lock::Acquired { lock: first, stale } = lock(dir.path(), "shop").unwrap() else {
            panic!("first lock refused")
        };
        assert_eq!(stale, None);
        let Lock::Held(Some(holder)) = lock(dir.path(), "other").unwrap() else {
            panic!("second lock not refused, or holder unknown")
        };
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.instance, "shop");
        assert!(chrono::DateTime::parse_from_rfc3339(&holder.started_at).is_ok());
        drop(first);
        // Released cleanly: the file is empty, the next build finds no stale lock.
        assert_eq!(fs::read(dir.path().join(LOCK_FILE)).unwrap().len(), 0);
        let Lock::Acquired { stale, .. } = lock(dir.path(), "shop").unwrap() else {
            panic!("lock refused after release")
        };
        assert_eq!(stale, None);
    }

    #[test]
    fn a_lock_file_left_with_information_is_reported_as_stale() {
        let dir = crate::testkit::tempdir().unwrap();
        let left = LockInfo {
            pid: 4_000_000,
            started_at: "2026-01-01T00:00:00Z".into(),
            instance: "shop".into(),
        };
        fs::write(
            dir.path().join(LOCK_FILE),
            serde_json::to_string(&left).unwrap(),
        )
        .unwrap();
        let Lock::Acquired { lock: held, stale } = lock(dir.path(), "shop").unwrap() else {
            panic!("lock refused")
        };
        assert_eq!(stale, Some(left));
        let now: LockInfo =
            serde_json::from_str(&fs::read_to_string(held.path()).unwrap()).unwrap();
        assert_eq!(now.pid, std::process::id());
        // An older broker's bare PID is no information about how that build ended.
        drop(held);
        fs::write(dir.path().join(LOCK_FILE), "12345").unwrap();
        let Lock::Acquired { stale, .. } = lock(dir.path(), "shop").unwrap() else {
            panic!("lock refused")
        };
        assert_eq!(stale, None);
    }
}
