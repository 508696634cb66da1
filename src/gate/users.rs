//! The users file: who has which groups and, for password sign-in, an Argon2id hash (PHC string).
//!
//! ```json
//! {"users": {"ana@example.com": {"groups": ["analyst"], "password_hash": "$argon2id$v=19$...",
//!   "epoch": 0, "created": 1767225600}}}
//! ```
//! `epoch` grows on every password change and on "sign out everywhere": sessions and one-time
//! links issued under an older epoch stop working (field-pitfalls §F4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The groups `gate` knows: `analyst` (the catalog), `private` (private tables; the name is
/// configurable), `admin` (reserved for administration pages).
pub const GROUPS: [&str; 3] = ["analyst", "private", "admin"];

/// The users file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    /// By lower-case email address.
    #[serde(default)]
    pub users: BTreeMap<String, User>,
}

/// One user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Argon2id PHC string; `None` until the user sets a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// Session generation (see the module doc).
    #[serde(default)]
    pub epoch: u64,
    /// Unix seconds when added.
    #[serde(default)]
    pub created: i64,
}

/// Normalise an email address (trimmed, lower-case) and check its shape (`local@domain.tld`,
/// no spaces or control characters, at most 254 bytes).
///
/// Errors: a message naming the value.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let e = email.trim().to_ascii_lowercase();
    let ok = e.len() <= 254
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"'\\/".contains(c))
        && crate::gate::access::domain_of(&e).is_some();
    if ok {
        Ok(e)
    } else {
        Err(format!("`{}` is not an email address", email.trim()))
    }
}

/// Check group names: each one of [`GROUPS`] or the configured private group; returns them
/// sorted without duplicates.
///
/// Errors: a message naming the unknown group.
pub fn check_groups(groups: &[String], private_group: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for g in groups.iter().flat_map(|g| g.split(',')) {
        let g = g.trim();
        if g.is_empty() {
            continue;
        }
        if !GROUPS.contains(&g) && g != private_group {
            return Err(format!(
                "unknown group `{g}` (groups: analyst, {private_group}, admin)"
            ));
        }
        out.push(g.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}
