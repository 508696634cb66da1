//! Who may enter and what they see: the allow-lists, the groups of a signed-in address, and the
//! private overlay rule (a member of the private group is served `/<overlay>/x` in place of
//! `/x` when it exists; nobody reaches `/<overlay>/…` directly).

use crate::gate::config::GateConfig;
use crate::gate::users::UsersFile;

/// The domain of `email` (after the last `@`), when the address has a non-empty local part and a
/// dotted domain without empty labels.
pub fn domain_of(email: &str) -> Option<&str> {
    let (local, domain) = email.rsplit_once('@')?;
    let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty());
    (!local.is_empty() && labels_ok).then_some(domain)
}

/// Whether the lower-case `email` may sign in: listed in `allowed_emails`, its exact domain in
/// `allowed_domains` (`a@x.example.com` is not in `example.com`, and
/// `a@example.com.evil.org` is not either), or present in the users file.
pub fn allowed(config: &GateConfig, users: &UsersFile, email: &str) -> bool {
    config.allowed_emails.contains(email)
        || domain_of(email).is_some_and(|d| config.allowed_domains.contains(d))
        || users.users.contains_key(email)
}

/// The groups of a signed-in address: from the users file, else `analyst`.
pub fn groups_of(users: &UsersFile, email: &str) -> Vec<String> {
    users
        .users
        .get(email)
        .map(|u| u.groups.clone())
        .unwrap_or_else(|| vec!["analyst".to_string()])
}

/// Whether the first path segment names the overlay folder (such requests are answered 404).
pub fn is_overlay_path(config: &GateConfig, segs: &[String]) -> bool {
    segs.first().is_some_and(|s| *s == config.private_overlay)
}

/// Whether `groups` include the private group.
pub fn sees_private(config: &GateConfig, groups: &[String]) -> bool {
    groups.contains(&config.private_group)
}
