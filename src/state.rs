//! `state/sync_state.json`: what each table's last sync did, kept between builds.
//!
//! One versioned JSON object, written atomically (temporary file, fsync, rename) once per build
//! after the tree is published, so a build killed at any point leaves the previous state, whose
//! cursors are never ahead of the published data. An unreadable state is an error, never an empty
//! state: forgetting the cursors would silently re-read every table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::content::{ColumnType, SyncStrategy};
use crate::sync::SyncedColumn;

/// Version of `sync_state.json`.
pub const STATE_VERSION: u32 = 1;

/// Schema changes kept per table (the oldest are dropped first).
pub const HISTORY_LIMIT: usize = 50;

/// The whole state file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// Always [`STATE_VERSION`].
    pub version: u32,
    /// Per table name.
    pub tables: BTreeMap<String, TableState>,
}

/// Whether the last sync of a table succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// The table was synced and published.
    Ok,
    /// The sync failed; the previously published data (if any) was kept.
    Failed,
}

/// The stored cursor of an incremental table: the largest value of its cursor column seen in
/// synced rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The cursor column.
    pub column: String,
    /// Its type: `int64`, `date` (value in days since 1970-01-01) or a timestamp (value in
    /// microseconds since 1970-01-01 00:00).
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// The value in the unit of its type.
    pub value: i64,
    /// The value as text (`2025-03-01`, `2025-03-01T10:00:00Z`, `1234`), for people.
    pub text: String,
}

/// One column as the state remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateColumn {
    /// Column name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
}

/// A column whose type changed between two runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retyped {
    /// Column name.
    pub name: String,
    /// Type before.
    pub from: ColumnType,
    /// Type after.
    pub to: ColumnType,
}

/// The difference between a table's schema in two consecutive successful runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaChange {
    /// RFC 3339 UTC time of the build that saw it.
    pub at: String,
    /// That build's id.
    pub build_id: String,
    /// Columns that appeared.
    pub added: Vec<StateColumn>,
    /// Columns that disappeared.
    pub removed: Vec<StateColumn>,
    /// Columns whose type changed.
    pub retyped: Vec<Retyped>,
}

/// What the state keeps per table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableState {
    /// Strategy of the last run.
    pub strategy: SyncStrategy,
    /// How the files were laid out (`single`, or `<column>/<granularity>` when partitioned); a
    /// change forces a full refresh.
    pub layout: String,
    /// Cursor of an incremental table; `None` before the first run that saw a row.
    pub cursor: Option<Cursor>,
    /// RFC 3339 UTC time of the last run (successful or not).
    pub last_run: String,
    /// RFC 3339 UTC time of the last successful run.
    pub last_success: Option<String>,
    /// Rows read from the source in the last successful run.
    pub rows_read: u64,
    /// Rows in the table after the last successful run.
    pub rows_written: u64,
    /// SHA-256 (first 16 hex digits) of the column names and types.
    pub schema_fingerprint: String,
    /// The columns after the last successful run.
    pub columns: Vec<StateColumn>,
    /// Last run's status.
    pub status: SyncStatus,
    /// Last run's error.
    pub error: Option<String>,
    /// Schema changes, oldest first, at most [`HISTORY_LIMIT`].
    pub schema_history: Vec<SchemaChange>,
}

/// `<state>/sync_state.json`.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("sync_state.json")
}

impl SyncState {
    /// Read the state; an absent file is the empty state.
    ///
    /// Errors: the file exists but cannot be read, is not valid JSON of this shape, or has another
    /// version — the message names the file and says how to recover (`--full-refresh` rebuilds
    /// every cursor from scratch and overwrites the file).
    pub fn load(state_dir: &Path) -> anyhow::Result<SyncState> {
        let p = path(state_dir);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SyncState {
                    version: STATE_VERSION,
                    tables: BTreeMap::new(),
                })
            }
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read", p.display())),
        };
        let hint = "fix or remove it, or run `broker build --full-refresh` to rebuild every table and cursor";
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not valid JSON ({hint})", p.display()))?;
        let version = value.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(STATE_VERSION)) {
            bail!(
                "{}: state version {} is not the supported version {STATE_VERSION} ({hint})",
                p.display(),
                version.map_or("missing".to_string(), |v| v.to_string())
            );
        }
        serde_json::from_value(value)
            .with_context(|| format!("{}: unexpected content ({hint})", p.display()))
    }

    /// Write the state atomically. Errors: I/O.
    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        crate::publish::write_json_atomic(&path(state_dir), self)
    }
}

/// The columns as the state keeps them.
pub fn state_columns(columns: &[SyncedColumn]) -> Vec<StateColumn> {
    columns
        .iter()
        .map(|c| StateColumn {
            name: c.name.clone(),
            column_type: c.column_type,
        })
        .collect()
}

/// SHA-256 of `name:type` lines, first 16 hex digits.
pub fn fingerprint(columns: &[StateColumn]) -> String {
    let mut h = Sha256::new();
    for c in columns {
        h.update(c.name.as_bytes());
        h.update(b":");
        h.update(c.column_type.as_str().as_bytes());
        h.update(b"\n");
    }
    format!("{:x}", h.finalize())[..16].to_string()
}

/// The change from `old` to `new` columns (matched by name); `None` when there is none.
pub fn diff(
    old: &[StateColumn],
    new: &[StateColumn],
    at: &str,
    build_id: &str,
) -> Option<SchemaChange> {
    let added: Vec<StateColumn> = new
        .iter()
        .filter(|n| !old.iter().any(|o| o.name == n.name))
        .cloned()
        .collect();
    let removed: Vec<StateColumn> = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.name == o.name))
        .cloned()
        .collect();
    let retyped: Vec<Retyped> = new
        .iter()
        .filter_map(|n| {
            let o = old.iter().find(|o| o.name == n.name)?;
            (o.column_type != n.column_type).then(|| Retyped {
                name: n.name.clone(),
                from: o.column_type,
                to: n.column_type,
            })
        })
        .collect();
    if added.is_empty() && removed.is_empty() && retyped.is_empty() {
        return None;
    }
    Some(SchemaChange {
        at: at.to_string(),
        build_id: build_id.to_string(),
        added,
        removed,
        retyped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: ColumnType) -> StateColumn {
        StateColumn {
            name: name.into(),
            column_type: t,
        }
    }

    #[test]
    fn diff_lists_added_removed_and_retyped_columns() {
        let old = vec![
            col("id", ColumnType::Int64),
            col("amount", ColumnType::Int64),
            col("fax", ColumnType::String),
        ];
        let new = vec![
            col("id", ColumnType::Int64),
            col("amount", ColumnType::Float64),
            col("email", ColumnType::String),
        ];
        let d = diff(&old, &new, "2026-01-01T00:00:00Z", "b1").unwrap();
        assert_eq!(d.added, vec![col("email", ColumnType::String)]);
        assert_eq!(d.removed, vec![col("fax", ColumnType::String)]);
        assert_eq!(
            d.retyped,
            vec![Retyped {
                name: "amount".into(),
                from: ColumnType::Int64,
                to: ColumnType::Float64
            }]
        );
        assert!(diff(&old, &old, "t", "b").is_none());
        assert_ne!(fingerprint(&old), fingerprint(&new));
        assert_eq!(fingerprint(&old).len(), 16);
    }

    #[test]
    fn a_missing_state_is_empty_and_a_corrupt_one_is_an_error() {
        let dir = crate::testkit::tempdir().unwrap();
        let s = SyncState::load(dir.path()).unwrap();
        assert!(s.tables.is_empty());
        assert_eq!(s.version, STATE_VERSION);
        std::fs::write(path(dir.path()), "{\"orders\": {}}").unwrap();
        let e = SyncState::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("sync_state.json") && e.contains("version missing"),
            "{e}"
        );
        std::fs::write(path(dir.path()), "{trunc").unwrap();
        let e = format!("{:#}", SyncState::load(dir.path()).unwrap_err());
        assert!(
            e.contains("not valid JSON") && e.contains("--full-refresh"),
            "{e}"
        );
    }
}
