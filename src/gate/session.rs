//! Session cookies and CSRF tokens.
//!
//! Session cookie `gate_session` = `v1.<issued>.<seen>.<epoch>.<email>.<mac>`, where `mac` is
//! HMAC-SHA-256 (hex) under the secret of everything before it. Sent `HttpOnly; SameSite=Lax;
//! Path=/` (+ `Secure` when the public URL is https). A session ends `idle` seconds after `seen`
//! (renewed at most once a minute) or `absolute` seconds after `issued`, or when the user's epoch
//! moves on (password change). Sign-out clears the cookie.
//!
//! CSRF: signed double-submit (OWASP CSRF cheat sheet): a random `gate_csrf` cookie, and in every
//! form a hidden `csrf` field = HMAC(secret, "csrf|" + cookie). A POST without both, or with a
//! field that does not match, is refused.

use crate::gate::crypto::{ct_eq, hmac_hex, random_hex};

/// Session cookie name.
pub const SESSION_COOKIE: &str = "gate_session";
/// CSRF cookie name.
pub const CSRF_COOKIE: &str = "gate_csrf";

/// The signing key (from `GATE_SESSION_SECRET`).
pub struct Keys {
    secret: Vec<u8>,
    secure: bool,
}

/// A valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Lower-case address.
    pub email: String,
    /// Unix seconds of sign-in.
    pub issued: i64,
    /// Unix seconds of the last renewal.
    pub seen: i64,
    /// The user's epoch at sign-in.
    pub epoch: u64,
}

/// Why a session cookie was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Not of the cookie's shape, or the MAC does not match.
    Tampered,
    /// Idle too long.
    Idle,
    /// Older than the absolute limit.
    Expired,
}

impl Keys {
    /// Keys from the secret's text; cookies get `Secure` when `secure`.
    ///
    /// Errors: a secret shorter than 32 characters.
    pub fn new(secret: &str, secure: bool) -> Result<Keys, String> {
        if secret.len() < 32 {
            return Err(format!(
                "{} must hold at least 32 characters (generate one with `openssl rand -hex 32`)",
                crate::gate::config::SECRET_VAR
            ));
        }
        Ok(Keys {
            secret: secret.as_bytes().to_vec(),
            secure,
        })
    }

    /// The signed cookie value of `s`.
    pub fn encode(&self, s: &Session) -> String {
        let body = format!("v1.{}.{}.{}.{}", s.issued, s.seen, s.epoch, s.email);
        let mac = hmac_hex(&self.secret, body.as_bytes());
        format!("{body}.{mac}")
    }

    /// The session in a cookie value, checked against the MAC and the limits at `now`.
    pub fn decode(
        &self,
        value: &str,
        now: i64,
        idle_s: u64,
        absolute_s: u64,
    ) -> Result<Session, Invalid> {
        let (body, mac) = value.rsplit_once('.').ok_or(Invalid::Tampered)?;
        if !ct_eq(
            hmac_hex(&self.secret, body.as_bytes()).as_bytes(),
            mac.as_bytes(),
        ) {
            return Err(Invalid::Tampered);
        }
        let mut p = body.splitn(5, '.');
        let (Some("v1"), Some(issued), Some(seen), Some(epoch), Some(email)) =
            (p.next(), p.next(), p.next(), p.next(), p.next())
        else {
            return Err(Invalid::Tampered);
        };
        let s = Session {
            email: email.to_string(),
            issued: issued.parse().map_err(|_| Invalid::Tampered)?,
            seen: seen.parse().map_err(|_| Invalid::Tampered)?,
            epoch: epoch.parse().map_err(|_| Invalid::Tampered)?,
        };
        if now - s.issued >= absolute_s as i64 {
            return Err(Invalid::Expired);
        }
        if now - s.seen >= idle_s as i64 {
            return Err(Invalid::Idle);
        }
        Ok(s)
    }

    /// A `Set-Cookie` value for `name=value` living `max_age` seconds (0 deletes it).
    pub fn set_cookie(&self, name: &str, value: &str, max_age: u64) -> String {
        format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The CSRF form token for the CSRF cookie value `cookie`.
    pub fn csrf_token(&self, cookie: &str) -> String {
        hmac_hex(&self.secret, format!("csrf|{cookie}").as_bytes())
    }

    /// Whether the form's `token` matches the CSRF cookie (both must be present).
    pub fn csrf_ok(&self, cookie: Option<&str>, token: Option<&str>) -> bool {
        match (cookie, token) {
            (Some(c), Some(t)) if c.len() >= 32 => {
                ct_eq(self.csrf_token(c).as_bytes(), t.as_bytes())
            }
            _ => false,
        }
    }

    /// Sign `value` (for short-lived cookies such as a pending OpenID login): `value.mac`.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        format!(
            "{value}.{}",
            hmac_hex(&self.secret, format!("{purpose}|{value}").as_bytes())
        )
    }

    /// The value of a [`Keys::sign`]ed string when its MAC matches.
    pub fn unsign<'a>(&self, purpose: &str, signed: &'a str) -> Option<&'a str> {
        let (value, mac) = signed.rsplit_once('.')?;
        ct_eq(
            hmac_hex(&self.secret, format!("{purpose}|{value}").as_bytes()).as_bytes(),
            mac.as_bytes(),
        )
        .then_some(value)
    }
}

/// A fresh CSRF cookie value (128 random bits, hex).
pub fn new_csrf_cookie() -> String {
    random_hex(16)
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_sign_expire_and_refuse_tampering() {
        let k = Keys::new("0123456789abcdef0123456789abcdef", true).unwrap();
        let s = Session {
            email: "a.b@x.org".into(),
            issued: 1000,
            seen: 1500,
            epoch: 2,
        };
        let v = k.encode(&s);
        assert_eq!(k.decode(&v, 1600, 600, 3600), Ok(s.clone()));
        assert_eq!(k.decode(&v, 2100, 600, 3600), Err(Invalid::Idle));
        assert_eq!(k.decode(&v, 4600, 600, 3600), Err(Invalid::Expired));
        let forged = v.replace("a.b@x.org", "boss@x.org");
        assert_eq!(k.decode(&forged, 1600, 600, 3600), Err(Invalid::Tampered));
        assert!(k.set_cookie("n", "v", 5).ends_with("; Secure"));
        let c = new_csrf_cookie();
        assert!(k.csrf_ok(Some(&c), Some(&k.csrf_token(&c))));
        assert!(!k.csrf_ok(Some(&c), None));
        assert!(!k.csrf_ok(None, Some(&k.csrf_token(&c))));
        assert_eq!(cookie(Some("a=1; gate_csrf=xyz"), "gate_csrf"), Some("xyz"));
        assert_eq!(k.unsign("p", &k.sign("p", "v.w")), Some("v.w"));
        assert_eq!(k.unsign("q", &k.sign("p", "v")), None);
    }
}
