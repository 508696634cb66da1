//! OpenID Connect sign-in ("Google", or any provider with a discovery document) for `gate`.
//!
//! The authorization code flow of [OpenID Connect Core 1.0] §3.1 with PKCE ([RFC 7636], method
//! `S256`), `state` and `nonce`, in the default query response mode (the callback is a top-level
//! GET, so a `SameSite=Lax` cookie reaches it; field pitfall G2):
//!
//! 1. [`OidcClient::discover`] reads the issuer's discovery document ([OpenID Connect Discovery
//!    1.0] §4) once at start-up.
//! 2. [`OidcClient::authorization_url`] makes the URL to send the browser to and a
//!    [`PendingLogin`] (state, nonce, PKCE verifier, where to go afterwards) that the gate keeps in
//!    a signed, short-lived cookie of the browser ([`PendingLogin::to_cookie_value`]); binding the
//!    state to the browser is what stops login CSRF (pitfall G3).
//! 3. On the callback, [`OidcClient::complete`] compares the returned `state` with the cookie's in
//!    constant time, exchanges the code (with the PKCE verifier) at the token endpoint, verifies the
//!    ID token's signature against the provider's JWKS (cached, refetched on an unknown `kid` at
//!    most once a minute; pitfall G4) and its claims (`iss`, `aud`/`azp`, `exp`/`iat`/`nbf` with
//!    60 s leeway (pitfall G5), `nonce`, `email_verified`, the email's domain and `hd`; pitfall G1),
//!    and returns the [`VerifiedIdentity`].
//!
//! Every failure is an [`OidcError`] naming the check that failed, for the audit log; nothing the
//! provider sends can make this module panic.
//!
//! [OpenID Connect Core 1.0]: https://openid.net/specs/openid-connect-core-1_0.html
//! [OpenID Connect Discovery 1.0]: https://openid.net/specs/openid-connect-discovery-1_0.html
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Google's discovery document: the default [`OidcConfig::discovery_url`].
pub const GOOGLE_DISCOVERY_URL: &str =
    "https://accounts.google.com/.well-known/openid-configuration";

/// The scopes asked for: the ID token then carries `email` and `email_verified` (and Google's `hd`).
pub const SCOPES: &str = "openid email profile";

/// Leeway for `exp`, `iat` and `nbf` against the gate's clock, in seconds (pitfall G5: 10 s proved
/// too tight in the field, 60 s is the common choice).
pub const CLOCK_SKEW_SECS: u64 = 60;

/// How long a [`PendingLogin`] stays valid, in seconds (the cookie's `Max-Age`).
pub const PENDING_MAX_AGE_SECS: u64 = 600;

/// The shortest time between two JWKS fetches caused by an unknown `kid`, so a stream of forged
/// tokens cannot make the gate hammer the provider (pitfall G4).
pub const JWKS_REFETCH_COOLDOWN: Duration = Duration::from_secs(60);

/// The longest a JWKS is cached, whatever the provider's `Cache-Control` says (pitfall G4: 24 h).
pub const JWKS_MAX_CACHE: Duration = Duration::from_secs(24 * 3600);

/// How long a JWKS is cached when the provider sends no `Cache-Control: max-age`.
pub const JWKS_DEFAULT_CACHE: Duration = Duration::from_secs(3600);

/// Timeout of each request to the provider (discovery, token, JWKS).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response body read from the provider, in bytes.
const MAX_BODY: u64 = 1 << 20;

/// The signature algorithms accepted for ID tokens. (`none` and the HMAC family are never
/// accepted: the client secret is not a signing key here.)
const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

fn default_discovery_url() -> String {
    GOOGLE_DISCOVERY_URL.to_string()
}

/// The `auth.oidc` section of `config/instance.yaml`.
///
/// ```yaml
/// auth:
///   oidc:
///     discovery_url: https://accounts.google.com/.well-known/openid-configuration  # the default
///     client_id: 1234-abc.apps.googleusercontent.com
///     client_secret: ${GOOGLE_CLIENT_SECRET}   # from the environment or .env, never the file
///     redirect_url: https://data.example.com/auth/oidc/callback
///     # require_hosted_domain: true   # default: true for Google, false for other issuers
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer's discovery document, `<issuer>/.well-known/openid-configuration`.
    #[serde(default = "default_discovery_url")]
    pub discovery_url: String,
    /// The OAuth client ID registered with the provider.
    pub client_id: String,
    /// The OAuth client secret (interpolated from `${VAR}`; redacted in `Debug`).
    pub client_secret: String,
    /// The absolute callback URL registered with the provider, built from the gate's public URL
    /// (never from the request's Host or scheme: pitfall G6).
    pub redirect_url: String,
    /// Refuse ID tokens without an `hd` (Google Workspace domain) claim. `None` means: yes when
    /// the issuer is Google (an address at the company's domain that is not a Workspace account
    /// passes an email-suffix check; pitfall G1), no for other issuers, which have no `hd`.
    #[serde(default)]
    pub require_hosted_domain: Option<bool>,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("discovery_url", &self.discovery_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_url", &self.redirect_url)
            .field("require_hosted_domain", &self.require_hosted_domain)
            .finish()
    }
}

/// Why a discovery or sign-in failed. `Display` names the failed check, for the audit log and the
/// gate's "sign-in failed" page; no variant carries a secret (client secret, code, verifier, token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcError {
    /// `auth.oidc` is unusable (empty client ID or secret, a URL that is not absolute http(s)).
    Config(String),
    /// The discovery document could not be fetched or read.
    Discovery { url: String, reason: String },
    /// The discovery document's `issuer` is not the discovery URL's prefix (Discovery §4.3).
    DiscoveryIssuerMismatch { url: String, issuer: String },
    /// The pending-login cookie is malformed (the value is not repeated: it is browser input).
    PendingMalformed(String),
    /// The pending login is older than [`PENDING_MAX_AGE_SECS`] (or dated in the future).
    PendingExpired { age_secs: i64 },
    /// The callback's `state` is not the one in the browser's pending-login cookie (login CSRF,
    /// a replayed or crossed callback).
    StateMismatch,
    /// The callback carried no authorization code.
    MissingCode,
    /// The token endpoint could not be reached or its answer could not be read.
    TokenRequest(String),
    /// The token endpoint refused the code (`invalid_grant` for a wrong PKCE verifier, a reused
    /// or expired code, a redirect URI mismatch, …).
    TokenRejected {
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// The token response has no `id_token`.
    MissingIdToken,
    /// The JWKS could not be fetched or read.
    Jwks(String),
    /// The ID token is not a well-formed JWS compact serialisation with JSON claims.
    MalformedIdToken(String),
    /// The ID token's `alg` is not RS256 or ES256 (or does not fit its key).
    UnsupportedAlgorithm(String),
    /// No key in the provider's JWKS has the token's `kid`, also after a refetch (or the refetch
    /// was skipped by the cooldown).
    UnknownKey { kid: Option<String> },
    /// The ID token's signature does not verify against the provider's key.
    BadSignature,
    /// `iss` is not the discovery document's issuer.
    WrongIssuer {
        expected: String,
        found: Option<String>,
    },
    /// `aud` does not contain the client ID.
    WrongAudience { found: Vec<String> },
    /// With several audiences, `azp` is missing or not the client ID (Core §3.1.3.7 items 4–5).
    WrongAuthorizedParty { found: Option<String> },
    /// `exp` (plus leeway) is in the past; times in Unix seconds.
    Expired { exp: u64, now: u64 },
    /// `iat` or `nbf` (minus leeway) is in the future; times in Unix seconds.
    NotYetValid {
        claim: &'static str,
        value: u64,
        now: u64,
    },
    /// `nonce` is missing or not the pending login's nonce (a replayed or injected ID token).
    NonceMismatch,
    /// The ID token carries no `email` (the `email` scope was not granted).
    MissingEmail,
    /// `email_verified` is absent or not `true`.
    EmailNotVerified { email: String },
    /// The email's domain (after the last `@`) is not one of the allowed domains.
    DomainNotAllowed { email: String },
    /// `hd` is present but not an allowed domain.
    HostedDomainNotAllowed { hd: String },
    /// `hd` is required (see [`OidcConfig::require_hosted_domain`]) but absent.
    HostedDomainMissing { email: String },
}

impl fmt::Display for OidcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use OidcError::*;
        match self {
            Config(m) => write!(f, "auth.oidc: {m}"),
            Discovery { url, reason } => write!(f, "OIDC discovery at {url} failed: {reason}"),
            DiscoveryIssuerMismatch { url, issuer } => write!(
                f,
                "OIDC discovery at {url}: issuer {issuer:?} is not the URL's prefix"
            ),
            PendingMalformed(m) => write!(f, "sign-in cookie is malformed: {m}"),
            PendingExpired { age_secs } => write!(
                f,
                "sign-in took too long: started {age_secs} s ago (limit {PENDING_MAX_AGE_SECS} s); start again"
            ),
            StateMismatch => write!(f, "state does not match this browser's sign-in; start again"),
            MissingCode => write!(f, "callback has no authorization code"),
            TokenRequest(m) => write!(f, "token endpoint: {m}"),
            TokenRejected {
                status,
                error,
                description,
            } => {
                write!(f, "token endpoint refused the code: HTTP {status} {error}")?;
                if let Some(d) = description {
                    write!(f, " ({d})")?;
                }
                Ok(())
            }
            MissingIdToken => write!(f, "token response has no id_token"),
            Jwks(m) => write!(f, "provider keys (JWKS): {m}"),
            MalformedIdToken(m) => write!(f, "ID token is malformed: {m}"),
            UnsupportedAlgorithm(a) => write!(f, "ID token algorithm {a} is not accepted"),
            UnknownKey { kid } => write!(f, "ID token key id {kid:?} is not in the provider's JWKS"),
            BadSignature => write!(f, "ID token signature does not verify"),
            WrongIssuer { expected, found } => {
                write!(f, "ID token issuer {found:?} is not {expected:?}")
            }
            WrongAudience { found } => {
                write!(f, "ID token audience {found:?} does not contain our client ID")
            }
            WrongAuthorizedParty { found } => {
                write!(f, "ID token authorized party (azp) {found:?} is not our client ID")
            }
            Expired { exp, now } => write!(
                f,
                "ID token expired at {exp} (now {now}, leeway {CLOCK_SKEW_SECS} s)"
            ),
            NotYetValid { claim, value, now } => write!(
                f,
                "ID token {claim} {value} is in the future (now {now}, leeway {CLOCK_SKEW_SECS} s)"
            ),
            NonceMismatch => write!(f, "ID token nonce does not match this sign-in"),
            MissingEmail => write!(f, "ID token has no email"),
            EmailNotVerified { email } => write!(f, "email {email} is not verified by the provider"),
            DomainNotAllowed { email } => write!(f, "email {email} is not in an allowed domain"),
            HostedDomainNotAllowed { hd } => {
                write!(f, "hosted domain (hd) {hd} is not an allowed domain")
            }
            HostedDomainMissing { email } => write!(
                f,
                "email {email} is not a Workspace account (ID token has no hd claim)"
            ),
        }
    }
}

impl std::error::Error for OidcError {}

/// Who signed in: the checked claims of the ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The verified email address, lower-cased.
    pub email: String,
    /// Google's `hd` claim (the Workspace domain), lower-cased, when present.
    pub hosted_domain: Option<String>,
    /// The provider's stable account ID (`sub`); with the issuer, the key of an account (never the
    /// email alone; pitfall G1).
    pub subject: String,
    /// The issuer (`iss`) that vouched for this identity.
    pub issuer: String,
    /// The token's `iat` minus the gate's clock, in seconds (positive: the provider's clock is
    /// ahead), for the audit log (pitfall G5); `None` without `iat`.
    pub clock_skew_secs: Option<i64>,
}

/// A sign-in in progress, kept in the browser's signed cookie between
/// [`OidcClient::authorization_url`] and [`OidcClient::complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The `state` sent to the provider: 32 random bytes, base64url (43 characters).
    pub state: String,
    /// The `nonce` the ID token must carry: 32 random bytes, base64url.
    pub nonce: String,
    /// The PKCE `code_verifier`: 32 random bytes, base64url (RFC 7636 §4.1).
    pub pkce_verifier: String,
    /// The local path to go to after sign-in (always starts with a single `/`).
    pub next: String,
    /// When the sign-in started, Unix seconds.
    pub created_at: u64,
}

/// Version tag of the cookie format.
const COOKIE_VERSION: &str = "o1";

impl PendingLogin {
    /// Serialise as `o1.<state>.<nonce>.<verifier>.<created_at>.<base64url(next)>`: only
    /// characters allowed in a cookie value, about 190 bytes. The gate signs it.
    pub fn to_cookie_value(&self) -> String {
        format!(
            "{COOKIE_VERSION}.{}.{}.{}.{}.{}",
            self.state,
            self.nonce,
            self.pkce_verifier,
            self.created_at,
            B64URL.encode(self.next.as_bytes())
        )
    }

    /// Parse a value made by [`to_cookie_value`](Self::to_cookie_value), strictly: six fields,
    /// each random field 43 base64url characters, a decimal time, a local path as `next`; and
    /// no older than [`PENDING_MAX_AGE_SECS`] at `now` (nor more than [`CLOCK_SKEW_SECS`] in the
    /// future).
    ///
    /// Errors: [`OidcError::PendingMalformed`] naming the bad field, [`OidcError::PendingExpired`].
    pub fn from_cookie_value(value: &str, now: SystemTime) -> Result<PendingLogin, OidcError> {
        let bad = |m: &str| OidcError::PendingMalformed(m.to_string());
        let parts: Vec<&str> = value.split('.').collect();
        if parts.len() != 6 {
            return Err(bad(&format!("{} fields, expected 6", parts.len())));
        }
        if parts[0] != COOKIE_VERSION {
            return Err(bad("unknown version"));
        }
        for (name, field) in [
            ("state", parts[1]),
            ("nonce", parts[2]),
            ("verifier", parts[3]),
        ] {
            if !is_random_token(field) {
                return Err(bad(&format!("{name} is not 43 base64url characters")));
            }
        }
        let t = parts[4];
        if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("time is not a decimal number"));
        }
        let created_at: u64 = t.parse().map_err(|_| bad("time is out of range"))?;
        let next = B64URL
            .decode(parts[5])
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad("next is not base64url UTF-8"))?;
        if !is_local_path(&next) {
            return Err(bad("next is not a local path"));
        }
        let pending = PendingLogin {
            state: parts[1].to_string(),
            nonce: parts[2].to_string(),
            pkce_verifier: parts[3].to_string(),
            next,
            created_at,
        };
        pending.check_age(now)?;
        Ok(pending)
    }

    /// Errors with [`OidcError::PendingExpired`] when the login is older than
    /// [`PENDING_MAX_AGE_SECS`] or more than [`CLOCK_SKEW_SECS`] in the future.
    fn check_age(&self, now: SystemTime) -> Result<(), OidcError> {
        let age = unix_secs(now) as i128 - self.created_at as i128;
        if age > PENDING_MAX_AGE_SECS as i128 || age < -(CLOCK_SKEW_SECS as i128) {
            let age_secs = age.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            return Err(OidcError::PendingExpired { age_secs });
        }
        Ok(())
    }
}

/// Whether `s` is 43 base64url characters (32 random bytes without padding).
fn is_random_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `next` is a path on this site: starts with one `/` (not `//` or `/\`, which browsers
/// read as another host), with no control characters or backslashes.
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 32 bytes from the operating system's CSPRNG, base64url without padding (43 characters).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS generator does not fail on supported systems; without it no sign-in is safe.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator works");
    B64URL.encode(bytes)
}

/// The PKCE `code_challenge` for a verifier: base64url(SHA-256(verifier)) (RFC 7636 §4.2, S256).
pub fn pkce_challenge(verifier: &str) -> String {
    B64URL.encode(Sha256::digest(verifier.as_bytes()))
}

/// The parts of a discovery document used here (Discovery §3).
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// How the client authenticates at the token endpoint (Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// HTTP Basic with the URL-encoded client ID and secret (the default when the provider lists
    /// nothing, Discovery §3).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// The cached JWKS.
#[derive(Default)]
struct JwksCache {
    /// The keys, with their `kid`.
    keys: Vec<(Option<String>, Jwk)>,
    /// When the keys were fetched; `None` before the first fetch.
    fetched: Option<Instant>,
    /// How long they stay fresh (from `Cache-Control: max-age`, capped).
    max_age: Duration,
    /// When an unknown `kid` last caused a fetch.
    last_forced: Option<Instant>,
    /// How many times the JWKS was fetched (for the gate's status page).
    fetches: u64,
}

/// A client of one OpenID provider, made once at start-up by [`discover`](Self::discover) and
/// shared by the gate's threads (the JWKS cache is behind a mutex).
pub struct OidcClient {
    config: OidcConfig,
    discovery: Discovery,
    client_auth: ClientAuth,
    require_hd: bool,
    agent: ureq::Agent,
    jwks: Mutex<JwksCache>,
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("config", &self.config)
            .field("issuer", &self.discovery.issuer)
            .field("client_auth", &self.client_auth)
            .finish_non_exhaustive()
    }
}

fn check_http_url(what: &str, url: &str) -> Result<(), OidcError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        _ => Err(OidcError::Config(format!(
            "{what} {url:?} is not an absolute http(s) URL"
        ))),
    }
}

/// Read a response body as text, at most [`MAX_BODY`] bytes.
fn body_text(resp: &mut ureq::http::Response<ureq::Body>) -> Result<String, String> {
    resp.body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| format!("cannot read the body: {e}"))
}

/// The `max-age` of a `Cache-Control` header, if any.
fn cache_max_age(header: Option<&str>) -> Option<Duration> {
    let header = header?;
    header.split(',').find_map(|d| {
        let d = d.trim();
        let v = d
            .strip_prefix("max-age=")
            .or_else(|| d.strip_prefix("Max-Age="))?;
        v.trim_matches('"')
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    })
}

/// The claims of an ID token read here (Core §2, §5.1; Google's `hd`).
#[derive(Debug, Deserialize)]
struct IdClaims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Audience,
    azp: Option<String>,
    exp: Option<serde_json::Value>,
    iat: Option<serde_json::Value>,
    nbf: Option<serde_json::Value>,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<serde_json::Value>,
    hd: Option<String>,
}

/// `aud`: one string or an array of strings (Core §2).
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Audience {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn list(&self) -> Vec<String> {
        match self {
            Audience::None => Vec::new(),
            Audience::One(a) => vec![a.clone()],
            Audience::Many(v) => v.clone(),
        }
    }
}

/// A NumericDate claim (Unix seconds; JSON number, possibly fractional).
fn numeric_date(name: &str, v: &Option<serde_json::Value>) -> Result<Option<u64>, OidcError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| OidcError::MalformedIdToken(format!("{name} is not a NumericDate"))),
        Some(_) => Err(OidcError::MalformedIdToken(format!(
            "{name} is not a NumericDate"
        ))),
    }
}

/// The domain of `email` (after the last `@`), lower-cased, if the address has a non-empty local
/// part and domain.
fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    Some(domain.to_ascii_lowercase())
}

/// Whether `domain` is one of `allowed` (case-insensitive, exact; a leading `@` in the list is
/// ignored).
fn domain_allowed(domain: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| {
        let a = a.trim();
        let a = a.strip_prefix('@').unwrap_or(a);
        !a.is_empty() && a.eq_ignore_ascii_case(domain)
    })
}

/// Whether `hd` is required: as configured, else for Google's issuer only (pitfall G1).
fn hosted_domain_required(config: &OidcConfig, issuer: &str) -> bool {
    config
        .require_hosted_domain
        .unwrap_or(issuer.trim_end_matches('/') == "https://accounts.google.com")
}

impl OidcClient {
    /// Fetch the discovery document of `config.discovery_url` and check it: the endpoints used
    /// are present, and `issuer` is the discovery URL without `/.well-known/openid-configuration`
    /// (Discovery §4.3). The JWKS is fetched later, at the first sign-in.
    ///
    /// Errors: [`OidcError::Config`] for an unusable config, [`OidcError::Discovery`],
    /// [`OidcError::DiscoveryIssuerMismatch`].
    pub fn discover(config: &OidcConfig) -> Result<OidcClient, OidcError> {
        if config.client_id.trim().is_empty() {
            return Err(OidcError::Config("client_id is empty".into()));
        }
        if config.client_secret.is_empty() {
            return Err(OidcError::Config(
                "client_secret is empty (set it as ${VAR} from the environment or .env)".into(),
            ));
        }
        check_http_url("discovery_url", &config.discovery_url)?;
        check_http_url("redirect_url", &config.redirect_url)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(HTTP_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(3)
            .build()
            .into();
        let url = &config.discovery_url;
        let derr = |reason: String| OidcError::Discovery {
            url: url.clone(),
            reason,
        };
        let mut resp = agent.get(url).call().map_err(|e| derr(e.to_string()))?;
        if resp.status() != 200 {
            return Err(derr(format!("HTTP {}", resp.status())));
        }
        let text = body_text(&mut resp).map_err(derr)?;
        let discovery: Discovery = serde_json::from_str(&text)
            .map_err(|e| derr(format!("not a discovery document: {e}")))?;
        let expected = url
            .strip_suffix("/.well-known/openid-configuration")
            .unwrap_or(url);
        if discovery.issuer.trim_end_matches('/') != expected.trim_end_matches('/') {
            return Err(OidcError::DiscoveryIssuerMismatch {
                url: url.clone(),
                issuer: discovery.issuer,
            });
        }
        for (name, endpoint) in [
            ("authorization_endpoint", &discovery.authorization_endpoint),
            ("token_endpoint", &discovery.token_endpoint),
            ("jwks_uri", &discovery.jwks_uri),
        ] {
            check_http_url(name, endpoint).map_err(|_| {
                derr(format!(
                    "{name} {endpoint:?} is not an absolute http(s) URL"
                ))
            })?;
        }
        let client_auth = match &discovery.token_endpoint_auth_methods_supported {
            Some(m)
                if !m.iter().any(|m| m == "client_secret_basic")
                    && m.iter().any(|m| m == "client_secret_post") =>
            {
                ClientAuth::Post
            }
            _ => ClientAuth::Basic,
        };
        let require_hd = hosted_domain_required(config, &discovery.issuer);
        Ok(OidcClient {
            config: config.clone(),
            discovery,
            client_auth,
            require_hd,
            agent,
            jwks: Mutex::new(JwksCache::default()),
        })
    }

    /// The issuer named by the discovery document.
    pub fn issuer(&self) -> &str {
        &self.discovery.issuer
    }

    /// Whether ID tokens without `hd` are refused (see [`OidcConfig::require_hosted_domain`]).
    pub fn requires_hosted_domain(&self) -> bool {
        self.require_hd
    }

    /// How many times the JWKS has been fetched since start-up.
    pub fn jwks_fetches(&self) -> u64 {
        self.jwks.lock().map(|c| c.fetches).unwrap_or(0)
    }

    /// Start a sign-in: the provider's authorization URL to redirect the browser to (response
    /// type `code`, scope [`SCOPES`], fresh random `state` and `nonce`, PKCE `S256` challenge,
    /// `redirect_uri` = the configured redirect URL) and the [`PendingLogin`] to keep in the
    /// browser's cookie. A `next` that is not a local path (see [`is_local_path`]) becomes `/`.
    pub fn authorization_url(&self, next: &str) -> (String, PendingLogin) {
        let pending = PendingLogin {
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: random_token(),
            next: if is_local_path(next) { next } else { "/" }.to_string(),
            created_at: unix_secs(SystemTime::now()),
        };
        let challenge = pkce_challenge(&pending.pkce_verifier);
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", SCOPES)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let endpoint = &self.discovery.authorization_endpoint;
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        (format!("{endpoint}{sep}{query}"), pending)
    }

    /// Finish a sign-in on the callback: check `returned_state` against the pending login in
    /// constant time, exchange `code` at the token endpoint with the PKCE verifier, verify the ID
    /// token (signature by the provider's JWKS; `iss`; `aud` and `azp`; `exp`, `iat`, `nbf` at
    /// `now` with [`CLOCK_SKEW_SECS`] leeway; `nonce`) and the account (`email_verified` true; the
    /// email's domain after its last `@` in `allowed_domains`, case-insensitive and exact; `hd`
    /// in `allowed_domains` when present, and present when required).
    ///
    /// `allowed_domains` empty refuses every address (the gate's `allowed_emails` are checked by
    /// the caller, which then passes the address's own domain). Errors: the [`OidcError`] of the
    /// first failed check.
    pub fn complete(
        &self,
        pending: &PendingLogin,
        returned_state: &str,
        code: &str,
        allowed_domains: &[String],
        now: SystemTime,
    ) -> Result<VerifiedIdentity, OidcError> {
        pending.check_age(now)?;
        let same_state: bool = pending
            .state
            .as_bytes()
            .ct_eq(returned_state.as_bytes())
            .into();
        if !same_state || pending.state.is_empty() {
            return Err(OidcError::StateMismatch);
        }
        if code.is_empty() {
            return Err(OidcError::MissingCode);
        }
        let id_token = self.exchange_code(code, &pending.pkce_verifier)?;
        let claims = self.verify_id_token(&id_token)?;
        self.check_claims(&claims, pending, allowed_domains, now)
    }

    /// POST the code to the token endpoint (Core §3.1.3.1) and return the `id_token`.
    fn exchange_code(&self, code: &str, verifier: &str) -> Result<String, OidcError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.config.redirect_url),
            ("code_verifier", verifier),
        ];
        let mut request = self
            .agent
            .post(&self.discovery.token_endpoint)
            .header("Accept", "application/json");
        match self.client_auth {
            ClientAuth::Basic => {
                // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let credentials = format!(
                    "{}:{}",
                    enc(&self.config.client_id),
                    enc(&self.config.client_secret)
                );
                let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
                request = request.header("Authorization", format!("Basic {basic}"));
            }
            ClientAuth::Post => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", &self.config.client_secret));
            }
        }
        let mut resp = request
            .send_form(form)
            .map_err(|e| OidcError::TokenRequest(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = body_text(&mut resp).map_err(OidcError::TokenRequest)?;
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let field = |name: &str| -> Option<String> {
            json.as_ref()?
                .get(name)?
                .as_str()
                .map(|s| s.chars().take(200).collect())
        };
        if status != 200 {
            return Err(OidcError::TokenRejected {
                status,
                error: field("error").unwrap_or_else(|| "(no error code)".into()),
                description: field("error_description"),
            });
        }
        let json = json.ok_or_else(|| OidcError::TokenRequest("the answer is not JSON".into()))?;
        match json.get("id_token").and_then(|v| v.as_str()) {
            Some(t) if !t.is_empty() => Ok(t.to_string()),
            _ => Err(OidcError::MissingIdToken),
        }
    }

    /// Fetch the JWKS into `cache`. Keys that this library cannot read (other key types) are
    /// skipped, so one exotic key does not lock everybody out.
    fn fetch_jwks(&self, cache: &mut JwksCache) -> Result<(), OidcError> {
        let url = &self.discovery.jwks_uri;
        let mut resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| OidcError::Jwks(format!("{url}: {e}")))?;
        cache.fetches += 1;
        if resp.status() != 200 {
            return Err(OidcError::Jwks(format!("{url}: HTTP {}", resp.status())));
        }
        let max_age = cache_max_age(
            resp.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
        )
        .unwrap_or(JWKS_DEFAULT_CACHE)
        .min(JWKS_MAX_CACHE);
        let text = body_text(&mut resp).map_err(|e| OidcError::Jwks(format!("{url}: {e}")))?;
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<serde_json::Value>,
        }
        let set: Set = serde_json::from_str(&text)
            .map_err(|e| OidcError::Jwks(format!("{url}: not a JWK set: {e}")))?;
        cache.keys = set
            .keys
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Jwk>(v).ok())
            .map(|k| (k.common.key_id.clone(), k))
            .collect();
        cache.fetched = Some(Instant::now());
        cache.max_age = max_age;
        Ok(())
    }

    /// The decoding key for a token's `kid` (or, without `kid`, the only key), fetching the JWKS
    /// when it is not cached or stale, and once more on an unknown `kid` unless another unknown
    /// `kid` did so less than [`JWKS_REFETCH_COOLDOWN`] ago.
    fn key_for(&self, kid: Option<&str>) -> Result<DecodingKey, OidcError> {
        let mut cache = self
            .jwks
            .lock()
            .map_err(|_| OidcError::Jwks("key cache poisoned".into()))?;
        let stale = match cache.fetched {
            None => true,
            Some(t) => t.elapsed() > cache.max_age,
        };
        if stale {
            // Keep serving stale keys if the provider is briefly unreachable.
            if let Err(e) = self.fetch_jwks(&mut cache) {
                if cache.fetched.is_none() {
                    return Err(e);
                }
            }
        }
        let find = |cache: &JwksCache| -> Option<Jwk> {
            match kid {
                Some(kid) => cache
                    .keys
                    .iter()
                    .find(|(k, _)| k.as_deref() == Some(kid))
                    .map(|(_, j)| j.clone()),
                None if cache.keys.len() == 1 => Some(cache.keys[0].1.clone()),
                None => None,
            }
        };
        let jwk = match find(&cache) {
            Some(j) => j,
            None => {
                let may_refetch = !stale
                    && cache
                        .last_forced
                        .is_none_or(|t| t.elapsed() >= JWKS_REFETCH_COOLDOWN);
                if !may_refetch {
                    return Err(OidcError::UnknownKey {
                        kid: kid.map(str::to_string),
                    });
                }
                cache.last_forced = Some(Instant::now());
                self.fetch_jwks(&mut cache)?;
                find(&cache).ok_or_else(|| OidcError::UnknownKey {
                    kid: kid.map(str::to_string),
                })?
            }
        };
        DecodingKey::from_jwk(&jwk).map_err(|e| OidcError::Jwks(format!("key {kid:?}: {e}")))
    }

    /// Verify the ID token's signature and decode its claims (no claim checked yet).
    fn verify_id_token(&self, token: &str) -> Result<IdClaims, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| OidcError::MalformedIdToken(format!("header: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::UnsupportedAlgorithm(format!("{:?}", header.alg)));
        }
        let key = self.key_for(header.kid.as_deref())?;
        let mut validation = Validation::new(header.alg);
        // Claims are checked by check_claims at the caller's `now`, with exact errors.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => OidcError::BadSignature,
                // The header's algorithm does not fit the key the kid names (RS256 under an EC
                // key's kid, say).
                ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName
                | ErrorKind::UnsupportedAlgorithm
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidEcdsaKey => {
                    OidcError::UnsupportedAlgorithm(format!("{:?} for this key", header.alg))
                }
                _ => OidcError::MalformedIdToken(e.to_string()),
            })
    }

    /// Check the verified token's claims (Core §3.1.3.7) and the account's address.
    fn check_claims(
        &self,
        c: &IdClaims,
        pending: &PendingLogin,
        allowed_domains: &[String],
        now: SystemTime,
    ) -> Result<VerifiedIdentity, OidcError> {
        if c.iss.as_deref() != Some(self.discovery.issuer.as_str()) {
            return Err(OidcError::WrongIssuer {
                expected: self.discovery.issuer.clone(),
                found: c.iss.clone(),
            });
        }
        let aud = c.aud.list();
        if !aud.iter().any(|a| a == &self.config.client_id) {
            return Err(OidcError::WrongAudience { found: aud });
        }
        if (aud.len() > 1 || c.azp.is_some()) && c.azp.as_deref() != Some(&self.config.client_id) {
            return Err(OidcError::WrongAuthorizedParty {
                found: c.azp.clone(),
            });
        }
        let now_s = unix_secs(now);
        let exp = numeric_date("exp", &c.exp)?
            .ok_or_else(|| OidcError::MalformedIdToken("exp is missing".into()))?;
        if exp.saturating_add(CLOCK_SKEW_SECS) <= now_s {
            return Err(OidcError::Expired { exp, now: now_s });
        }
        let clock_skew_secs = numeric_date("iat", &c.iat)?.map(|iat| {
            (iat as i128 - now_s as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64
        });
        for (claim, v) in [("iat", &c.iat), ("nbf", &c.nbf)] {
            if let Some(value) = numeric_date(claim, v)? {
                if value > now_s.saturating_add(CLOCK_SKEW_SECS) {
                    return Err(OidcError::NotYetValid {
                        claim,
                        value,
                        now: now_s,
                    });
                }
            }
        }
        let nonce_ok: bool = match &c.nonce {
            Some(n) => n.as_bytes().ct_eq(pending.nonce.as_bytes()).into(),
            None => false,
        };
        if !nonce_ok {
            return Err(OidcError::NonceMismatch);
        }
        let subject = match &c.sub {
            Some(s) if !s.is_empty() => s.clone(),
            _ => return Err(OidcError::MalformedIdToken("sub is missing".into())),
        };
        let email = match &c.email {
            Some(e) if !e.trim().is_empty() => e.trim().to_ascii_lowercase(),
            _ => return Err(OidcError::MissingEmail),
        };
        if c.email_verified != Some(serde_json::Value::Bool(true)) {
            return Err(OidcError::EmailNotVerified { email });
        }
        match email_domain(&email) {
            Some(d) if domain_allowed(&d, allowed_domains) => {}
            _ => return Err(OidcError::DomainNotAllowed { email }),
        }
        let hosted_domain = c.hd.as_ref().map(|h| h.to_ascii_lowercase());
        match &hosted_domain {
            Some(hd) if !domain_allowed(hd, allowed_domains) => {
                return Err(OidcError::HostedDomainNotAllowed { hd: hd.clone() })
            }
            None if self.require_hd => return Err(OidcError::HostedDomainMissing { email }),
            _ => {}
        }
        Ok(VerifiedIdentity {
            email,
            hosted_domain,
            subject,
            issuer: self.discovery.issuer.clone(),
            clock_skew_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn pending(next: &str) -> PendingLogin {
        PendingLogin {
            state: "s".repeat(43),
            nonce: "n-_".repeat(14) + "N",
            pkce_verifier: B64URL.encode([7u8; 32]),
            next: next.to_string(),
            created_at: T0,
        }
    }

    fn malformed(value: &str) -> String {
        match PendingLogin::from_cookie_value(value, at(T0)) {
            Err(OidcError::PendingMalformed(m)) => m,
            other => panic!("{value:?} gave {other:?}"),
        }
    }

    #[test]
    fn cookie_round_trip() {
        for next in ["/", "/tables/orders.html?x=1&y=%2F#col-id", "/ünïcode/päge"] {
            let p = pending(next);
            let v = p.to_cookie_value();
            assert!(v.starts_with("o1.ssss"), "{v}");
            assert!(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "only cookie-safe characters: {v}"
            );
            assert_eq!(PendingLogin::from_cookie_value(&v, at(T0 + 5)).unwrap(), p);
        }
        assert_eq!(
            pending("/").to_cookie_value(),
            format!(
                "o1.{}.{}.{}.1800000000.Lw",
                "s".repeat(43),
                "n-_".repeat(14) + "N",
                B64URL.encode([7u8; 32])
            )
        );
    }

    #[test]
    fn cookie_fields_are_parsed_strictly() {
        let good = pending("/a").to_cookie_value();
        let fields: Vec<&str> = good.split('.').collect();
        let with = |i: usize, v: &str| {
            let mut f = fields.clone();
            f[i] = v;
            f.join(".")
        };
        assert_eq!(malformed(""), "1 fields, expected 6");
        assert_eq!(malformed(&format!("{good}.x")), "7 fields, expected 6");
        assert_eq!(malformed(&fields[..5].join(".")), "5 fields, expected 6");
        assert_eq!(malformed(&with(0, "o2")), "unknown version");
        assert_eq!(malformed(&with(0, "O1")), "unknown version");
        let short = "s".repeat(42);
        let long = "s".repeat(44);
        let plus = "s".repeat(42) + "+";
        let pad = "s".repeat(42) + "=";
        let space = "s".repeat(42) + " ";
        for bad in [
            short.as_str(),
            long.as_str(),
            plus.as_str(),
            pad.as_str(),
            space.as_str(),
            "",
        ] {
            assert_eq!(
                malformed(&with(1, bad)),
                "state is not 43 base64url characters"
            );
            assert_eq!(
                malformed(&with(2, bad)),
                "nonce is not 43 base64url characters"
            );
            assert_eq!(
                malformed(&with(3, bad)),
                "verifier is not 43 base64url characters"
            );
        }
        for bad in ["", "+1800000000", "-1", "1.5", "18e8", " 1800000000", "0x1"] {
            // ("1.5" adds a field.)
            let m = malformed(&with(4, bad));
            assert!(
                m == "time is not a decimal number" || m == "7 fields, expected 6",
                "{bad:?}: {m}"
            );
        }
        assert_eq!(
            malformed(&with(4, "99999999999999999999")),
            "time is out of range"
        );
        assert_eq!(
            malformed(&with(4, "123456789012345678901")),
            "time is not a decimal number"
        );
        assert_eq!(malformed(&with(5, "L w")), "next is not base64url UTF-8");
        assert_eq!(malformed(&with(5, "Lw==")), "next is not base64url UTF-8");
        let invalid_utf8 = B64URL.encode([b'/', 0xff, 0xfe]);
        assert_eq!(
            malformed(&with(5, &invalid_utf8)),
            "next is not base64url UTF-8"
        );
        for next in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "/a\nSet-Cookie: x",
            "/a\0",
        ] {
            let enc = B64URL.encode(next.as_bytes());
            assert_eq!(
                malformed(&with(5, &enc)),
                "next is not a local path",
                "{next:?}"
            );
        }
        // The message never repeats the value (it is browser input).
        assert_eq!(
            OidcError::PendingMalformed("unknown version".into()).to_string(),
            "sign-in cookie is malformed: unknown version"
        );
    }

    #[test]
    fn cookie_age_is_limited_to_ten_minutes() {
        let v = pending("/").to_cookie_value();
        assert!(PendingLogin::from_cookie_value(&v, at(T0 + 600)).is_ok());
        assert_eq!(
            PendingLogin::from_cookie_value(&v, at(T0 + 601)),
            Err(OidcError::PendingExpired { age_secs: 601 })
        );
        // A little clock skew between gate processes is fine, a cookie from the future is not.
        assert!(PendingLogin::from_cookie_value(&v, at(T0 - 60)).is_ok());
        assert_eq!(
            PendingLogin::from_cookie_value(&v, at(T0 - 61)),
            Err(OidcError::PendingExpired { age_secs: -61 })
        );
        let far = pending("/")
            .to_cookie_value()
            .replace(".1800000000.", &format!(".{}.", u64::MAX));
        assert!(matches!(
            PendingLogin::from_cookie_value(&far, at(T0)),
            Err(OidcError::PendingExpired { age_secs }) if age_secs < -1_000_000_000
        ));
    }

    #[test]
    fn local_paths() {
        for ok in ["/", "/a/b.html?x=1#y", "/%2F%2Fevil"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "//x",
            "/\\x",
            "\\/x",
            "https://x",
            "/a\r\n",
            "/\u{7f}",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let a = random_token();
        assert!(is_random_token(&a), "{a}");
        assert_ne!(a, random_token());
    }

    #[test]
    fn email_domains_are_compared_exactly() {
        let allowed = vec![
            "Example.com".to_string(),
            " @example.org ".to_string(),
            String::new(),
        ];
        let ok = |e: &str| email_domain(e).is_some_and(|d| domain_allowed(&d, &allowed));
        assert!(ok("a@example.com"));
        assert!(ok("a@EXAMPLE.COM"));
        assert!(ok("a@example.org"));
        assert!(ok("\"a@b\"@example.com"));
        for bad in [
            "a@example.com.evil.org",
            "a@sub.example.com",
            "a@xexample.com",
            "example.com@evil.org",
            "a@example.com@evil.org",
            "@example.com",
            "a@",
            "example.com",
            "",
        ] {
            assert!(!ok(bad), "{bad:?}");
        }
        assert!(
            !domain_allowed("", &allowed),
            "an empty entry allows nothing"
        );
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            cache_max_age(Some("public, max-age=19532, must-revalidate, no-transform")),
            Some(Duration::from_secs(19532))
        );
        assert_eq!(cache_max_age(Some("no-store")), None);
        assert_eq!(cache_max_age(Some("max-age=abc")), None);
        assert_eq!(cache_max_age(None), None);
    }

    #[test]
    fn numeric_dates() {
        let v = |j: &str| Some(serde_json::from_str::<serde_json::Value>(j).unwrap());
        assert_eq!(
            numeric_date("exp", &v("1800000000")),
            Ok(Some(1_800_000_000))
        );
        assert_eq!(
            numeric_date("exp", &v("1800000000.9")),
            Ok(Some(1_800_000_000))
        );
        assert_eq!(numeric_date("exp", &None), Ok(None));
        for bad in ["\"1800000000\"", "-5", "true", "[1]"] {
            assert_eq!(
                numeric_date("exp", &v(bad)),
                Err(OidcError::MalformedIdToken(
                    "exp is not a NumericDate".into()
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn hosted_domain_is_required_for_google_by_default() {
        let mut c: OidcConfig = serde_yaml::from_str(
            "client_id: a\nclient_secret: b\nredirect_url: https://d.example.com/auth/callback\n",
        )
        .unwrap();
        assert!(hosted_domain_required(&c, "https://accounts.google.com"));
        assert!(!hosted_domain_required(
            &c,
            "https://login.example.com/realms/x"
        ));
        c.require_hosted_domain = Some(false);
        assert!(!hosted_domain_required(&c, "https://accounts.google.com"));
        c.require_hosted_domain = Some(true);
        assert!(hosted_domain_required(
            &c,
            "https://login.example.com/realms/x"
        ));
    }

    #[test]
    fn config_reads_yaml_and_hides_the_secret() {
        let c: OidcConfig = serde_yaml::from_str(
            "client_id: abc.apps.googleusercontent.com\nclient_secret: hunter2\nredirect_url: https://d.example.com/auth/callback\n",
        )
        .unwrap();
        assert_eq!(c.discovery_url, GOOGLE_DISCOVERY_URL);
        assert_eq!(c.require_hosted_domain, None);
        assert!(!format!("{c:?}").contains("hunter2"));
        let e = serde_yaml::from_str::<OidcConfig>(
            "client_id: a\nclient_secert: b\nclient_secret: c\nredirect_url: https://x/\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("unknown field `client_secert`"),
            "{e}"
        );
    }
}
