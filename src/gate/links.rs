//! One-time links: password set-up/reset and email sign-in. The link carries a random 256-bit
//! token; the state file keeps only its SHA-256 (field-pitfalls §F4). A link works once, until its
//! expiry, and only while the user's `epoch` is unchanged (a password change voids the others).
//! Opening a link (GET/HEAD) never uses it up: the page shows a button whose POST does (§F1).
//! An email sign-in link asked for on the sign-in page is also bound to the browser that asked:
//! the link keeps the SHA-256 of a secret held in that browser's signed `gate_link` cookie, and
//! works only with it (a forwarded link, or one opened on another device, does not sign in).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gate::crypto::{random_hex, sha256_hex};
use crate::gate::store::{now_s, JsonFile};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Set (or reset) the password, then sign in.
    Password,
    /// Sign in by email.
    SignIn,
}

/// An outstanding link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Link {
    /// Lower-case address the link signs in.
    pub email: String,
    /// What it is for.
    pub purpose: Purpose,
    /// Unix seconds after which it is void.
    pub expires: i64,
    /// The user's epoch when issued.
    pub epoch: u64,
    /// SHA-256 (hex) of the secret in the `gate_link` cookie of the browser that asked for the
    /// link; `None`: any browser (links printed by `gate users add|link`, reset links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
}

/// `links.json`: outstanding links by the SHA-256 (hex) of their token.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LinksFile {
    /// Outstanding links.
    #[serde(default)]
    pub links: BTreeMap<String, Link>,
}

/// Make a link for `email`, valid `ttl_s` seconds, usable only by the browser whose secret's
/// SHA-256 is `browser` (when given); returns the token (64 hex characters) to put in the URL.
/// Expired links are dropped on the way.
///
/// Errors: the state file cannot be read or written.
pub fn issue(
    store: &JsonFile<LinksFile>,
    email: &str,
    purpose: Purpose,
    ttl_s: i64,
    epoch: u64,
    browser: Option<String>,
) -> anyhow::Result<String> {
    let token = random_hex(32);
    let now = now_s();
    store.update(|f| {
        f.links.retain(|_, l| l.expires > now);
        f.links.insert(
            sha256_hex(token.as_bytes()),
            Link {
                email: email.to_string(),
                purpose,
                expires: now + ttl_s,
                epoch,
                browser,
            },
        );
        Ok(())
    })?;
    Ok(token)
}

/// The unexpired link of `token` for `purpose`, without using it.
pub fn peek(store: &JsonFile<LinksFile>, token: &str, purpose: Purpose) -> Option<Link> {
    let f = store.get().ok()?;
    f.links
        .get(&sha256_hex(token.as_bytes()))
        .filter(|l| l.purpose == purpose && l.expires > now_s())
        .cloned()
}

/// Use up the link of `token` for `purpose`: removed from the file whatever its state, and
/// returned when it was unexpired.
///
/// Errors: the state file cannot be read or written.
pub fn consume(
    store: &JsonFile<LinksFile>,
    token: &str,
    purpose: Purpose,
) -> anyhow::Result<Option<Link>> {
    let key = sha256_hex(token.as_bytes());
    let now = now_s();
    if !store.get()?.links.contains_key(&key) {
        return Ok(None);
    }
    store.update(|f| {
        Ok(f.links
            .remove(&key)
            .filter(|l| l.purpose == purpose && l.expires > now))
    })
}

/// Drop every outstanding link of `email` (after a password change).
///
/// Errors: the state file cannot be read or written.
pub fn revoke_all(store: &JsonFile<LinksFile>, email: &str) -> anyhow::Result<()> {
    store.update(|f| {
        f.links.retain(|_, l| l.email != email);
        Ok(())
    })
}
