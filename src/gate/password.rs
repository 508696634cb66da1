//! Passwords: Argon2id hashes (RFC 9106; parameters m = 19 MiB, t = 2, p = 1 as OWASP's
//! password storage cheat sheet recommends), a policy, and a cap of two hash computations at a
//! time so a burst of sign-ins cannot exhaust memory (field-pitfalls §H5).

use std::sync::{Condvar, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted (characters).
pub const MIN_LEN: usize = 12;
/// Longest password accepted (characters).
pub const MAX_LEN: usize = 256;

/// Argon2 runs at once.
const CONCURRENT: usize = 2;

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Run `f` when fewer than [`CONCURRENT`] Argon2 computations are running.
fn limited<R>(f: impl FnOnce() -> R) -> R {
    let mut n = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    while *n >= CONCURRENT {
        n = FREED.wait(n).unwrap_or_else(|e| e.into_inner());
    }
    *n += 1;
    drop(n);
    let out = f();
    *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
    FREED.notify_one();
    out
}

/// Check `password` against the policy for `email`: [`MIN_LEN`]..=[`MAX_LEN`] characters, at
/// least 5 different characters, not containing the address or its local part (when that part
/// has 4+ characters).
///
/// Errors: a sentence for the form saying what to change.
pub fn check_policy(password: &str, email: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!("Use at least {MIN_LEN} characters."));
    }
    if n > MAX_LEN {
        return Err(format!("Use at most {MAX_LEN} characters."));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err("Use at least 5 different characters.".into());
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if lower.contains(email) || (local.len() >= 4 && lower.contains(local)) {
        return Err("Do not use your email address in the password.".into());
    }
    Ok(())
}

/// The Argon2id PHC string of `password` with a fresh 16-byte salt.
///
/// Errors: hashing failed (a message; does not happen with valid parameters).
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    limited(|| {
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
}

/// Whether `password` matches the PHC string `phc`. With `None` (an unknown address or one
/// without a password), a dummy hash is checked so that the answer takes the same time.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let (phc, real) = match phc {
        Some(p) => (p, true),
        None => (
            DUMMY
                .get_or_init(|| hash("not a password of anyone").unwrap_or_default())
                .as_str(),
            false,
        ),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = limited(|| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_and_round_trip() {
        assert!(check_policy("short", "a@b.co").is_err());
        assert!(check_policy("aaaaaaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check_policy("annabel-2026-secret", "annabel@b.co").is_err());
        assert!(check_policy("correct horse battery", "ana@b.co").is_ok());
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterY", Some(&h)));
        assert!(!verify("correct horse battery", None));
    }
}
