//! Test support (unit tests, integration tests, benches): temporary folders removed when
//! dropped, and [`keboola`], a fake Keboola Storage API on loopback.
//!
//! broker keeps no `tempfile` dependency on purpose: a dev-dependency changes cargo's feature
//! resolution for test builds, which made `cargo test` recompile the bundled DuckDB (about 30
//! minutes) separately from `cargo build`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A folder under the system temporary folder, deleted with its contents on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Create a new empty folder `broker-test-<pid>-<n>-<nanos>` in the system temporary folder.
///
/// Errors: the folder cannot be created.
pub fn tempdir() -> std::io::Result<TempDir> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!(
        "broker-test-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&path)?;
    Ok(TempDir { path })
}

pub mod keboola;
