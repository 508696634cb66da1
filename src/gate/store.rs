//! The gate's state files: JSON documents written atomically with mode 0600 (temporary file in
//! the same folder, fsync, rename, fsync of the folder), changed under an exclusive lock on
//! `<folder>/.lock` so the running gate and `gate users|tokens` never lose each other's writes,
//! and re-read by the server when the file's identity (inode, size, modification time) changes.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Write `bytes` to `path` atomically with mode 0600, creating the folder (mode 0700).
///
/// Errors: the folder cannot be created, or writing, syncing or renaming fails (message names
/// the path).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().with_context(|| format!("{}: cannot write", path.display()))
}

/// Create `dir` (and parents) with mode 0700 when missing.
///
/// Errors: the folder cannot be created.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    }
    Ok(())
}

/// Identity of a file's current bytes.
type Stamp = (u64, u64, i64, i64);

fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// A JSON document on disk with an in-memory copy.
pub struct JsonFile<T> {
    path: PathBuf,
    cache: Mutex<Option<(Option<Stamp>, Arc<T>)>>,
}

impl<T: DeserializeOwned + Serialize + Default> JsonFile<T> {
    /// The document at `path` (not read yet; a missing file reads as `T::default()`).
    pub fn new(path: PathBuf) -> JsonFile<T> {
        JsonFile {
            path,
            cache: Mutex::new(None),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> anyhow::Result<T> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                anyhow::anyhow!("{}:{}:{}: {e}", self.path.display(), e.line(), e.column())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(e).with_context(|| format!("{}: cannot read", self.path.display())),
        }
    }

    /// The current document, re-read when the file changed since the last call.
    ///
    /// Errors: the file cannot be read or is not valid JSON of the expected shape (message
    /// names file, line and column).
    pub fn get(&self) -> anyhow::Result<Arc<T>> {
        let now = stamp(&self.path);
        let mut g = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, v)) = g.as_ref() {
            if *s == now {
                return Ok(v.clone());
            }
        }
        let v = Arc::new(self.read()?);
        *g = Some((stamp(&self.path), v.clone()));
        Ok(v)
    }

    /// Change the document: under the folder's lock, read the file afresh, apply `f`, and write
    /// the result atomically when `f` succeeds.
    ///
    /// Errors: those of `f`, reading, locking or writing.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> anyhow::Result<R>) -> anyhow::Result<R> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let lock_path = dir.join(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .with_context(|| format!("{}: cannot open", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("{}: cannot lock", lock_path.display()))?;
        let mut doc = self.read()?;
        let out = f(&mut doc)?;
        let mut bytes = serde_json::to_vec_pretty(&doc)?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes)?;
        let mut g = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        *g = Some((stamp(&self.path), Arc::new(doc)));
        Ok(out)
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A Unix time as RFC 3339 UTC (`2026-01-02T03:04:05Z`).
pub fn rfc3339(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}
