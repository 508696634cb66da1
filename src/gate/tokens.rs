//! API tokens for scripts, the desktop app and DuckDB, sent as `Authorization: Bearer <token>`.
//!
//! A token reads `brk_<id>_<secret>`: `id` is 16 hex characters (its key in `tokens.json`),
//! `secret` 64 hex characters (256 random bits). The file keeps the SHA-256 of the secret,
//! never the secret; a check is one lookup by id and a constant-time comparison — no Argon2 per
//! request (field-pitfalls §H5). Tokens expire; `last_used` is written at most once a minute.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gate::crypto::{ct_eq, random_hex, sha256_hex};
use crate::gate::store::{now_s, JsonFile};

/// One issued token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    /// Lower-case address the token acts as.
    pub email: String,
    /// What the user called it ("laptop duckdb").
    pub name: String,
    /// SHA-256 (hex) of the secret part.
    pub hash: String,
    /// Unix seconds when issued.
    pub created: i64,
    /// Unix seconds after which it is refused.
    pub expires: i64,
    /// Unix seconds of the last accepted request (to the minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<i64>,
}

/// `tokens.json`: tokens by id.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TokensFile {
    /// Issued, unrevoked tokens.
    #[serde(default)]
    pub tokens: BTreeMap<String, Token>,
}

/// Issue a token for `email` named `name`, valid `days` days. Returns `(id, token)`; the token
/// is shown once and cannot be recovered.
///
/// Errors: an empty or over-long name (over 100 characters); the state file cannot be written.
pub fn issue(
    store: &JsonFile<TokensFile>,
    email: &str,
    name: &str,
    days: u64,
) -> anyhow::Result<(String, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        anyhow::bail!("a token needs a name of 1 to 100 characters");
    }
    let id = random_hex(8);
    let secret = random_hex(32);
    let now = now_s();
    store.update(|f| {
        f.tokens.insert(
            id.clone(),
            Token {
                email: email.to_string(),
                name: name.to_string(),
                hash: sha256_hex(secret.as_bytes()),
                created: now,
                expires: now + (days.min(3650) as i64) * 86_400,
                last_used: None,
            },
        );
        Ok(())
    })?;
    Ok((id.clone(), format!("brk_{id}_{secret}")))
}

/// Revoke token `id`; with `owner`, only a token of that address. Returns whether one was
/// removed.
///
/// Errors: the state file cannot be read or written.
pub fn revoke(store: &JsonFile<TokensFile>, id: &str, owner: Option<&str>) -> anyhow::Result<bool> {
    store.update(|f| {
        let mine = f
            .tokens
            .get(id)
            .is_some_and(|t| owner.is_none_or(|o| t.email == o));
        Ok(mine && f.tokens.remove(id).is_some())
    })
}

/// Why a bearer token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not of the `brk_<id>_<secret>` shape.
    Malformed,
    /// No such id (never issued, or revoked).
    Unknown,
    /// The secret does not match.
    Mismatch,
    /// Past its expiry.
    Expired,
}

/// Check a bearer token; on success returns `(id, email, first use this minute)`. Updates
/// `last_used` when it is a minute old or more (a write failure is ignored: the request still
/// succeeds).
pub fn authenticate(
    store: &JsonFile<TokensFile>,
    bearer: &str,
) -> Result<(String, String, bool), Refusal> {
    let rest = bearer.strip_prefix("brk_").ok_or(Refusal::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(Refusal::Malformed)?;
    if id.len() != 16 || secret.len() != 64 {
        return Err(Refusal::Malformed);
    }
    let file = store.get().map_err(|_| Refusal::Unknown)?;
    let t = file.tokens.get(id).ok_or(Refusal::Unknown)?;
    if !ct_eq(sha256_hex(secret.as_bytes()).as_bytes(), t.hash.as_bytes()) {
        return Err(Refusal::Mismatch);
    }
    let now = now_s();
    if t.expires <= now {
        return Err(Refusal::Expired);
    }
    let stale = t.last_used.is_none_or(|u| now - u >= 60);
    let email = t.email.clone();
    if stale {
        let _ = store.update(|f| {
            if let Some(t) = f.tokens.get_mut(id) {
                t.last_used = Some(now);
            }
            Ok(())
        });
    }
    Ok((id.to_string(), email, stale))
}
