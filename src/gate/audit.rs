//! The audit log: one JSON object per line (`time` RFC 3339 UTC, `event`, then event fields such
//! as `email`, `ip`, `provider`, `reason`, `path`, `token`), appended with `O_APPEND` so lines of
//! concurrent writers do not interleave. Events: `sign_in`, `sign_in_refused`, `sign_out`,
//! `link_sent`, `link_suppressed`, `mail_failed`, `password_set`, `token_issued`,
//! `token_revoked`, `token_used` (at most once a minute per token), `token_refused`,
//! `access_refused`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;

use crate::gate::store::{create_private_dir, now_s, rfc3339};

/// An open audit log.
pub struct AuditLog {
    file: Mutex<std::fs::File>,
}

impl AuditLog {
    /// Open (create, mode 0600) the log at `path` for appending.
    ///
    /// Errors: the folder or file cannot be created or opened.
    pub fn open(path: &Path) -> anyhow::Result<AuditLog> {
        create_private_dir(path.parent().unwrap_or(Path::new(".")))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("{}: cannot open the audit log", path.display()))?;
        Ok(AuditLog {
            file: Mutex::new(file),
        })
    }

    /// Make the lines written so far durable (`fsync`); used when the gate stops. A failure is
    /// reported on stderr.
    pub fn sync(&self) {
        let f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = f.sync_all() {
            eprintln!("gate: error: cannot sync the audit log: {e}");
        }
    }

    /// Append an `event` with `fields` (an object; other values are stored under `detail`).
    /// A failed write is reported on stderr, never to the client.
    pub fn log(&self, event: &str, fields: serde_json::Value) {
        let mut line = serde_json::Map::new();
        line.insert("time".into(), rfc3339(now_s()).into());
        line.insert("event".into(), event.into());
        match fields {
            serde_json::Value::Object(m) => line.extend(m),
            serde_json::Value::Null => {}
            v => {
                line.insert("detail".into(), v);
            }
        }
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = f.write_all(text.as_bytes()) {
            eprintln!("gate: error: cannot write the audit log: {e}");
        }
    }
}
