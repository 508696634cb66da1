//! The `auth:` section of `config/instance.yaml`, as `gate` reads it, and the secrets it takes
//! from the environment or the instance's `.env`.
//!
//! ```yaml
//! auth:
//!   public_url: https://catalog.example.com   # Secure cookies when https
//!   allowed_domains: [example.com]            # anyone with a verified address there
//!   allowed_emails: [partner@other.org]       # and these addresses
//!   users_file: state/gate/users.json         # groups, password hashes (mode 0600)
//!   session: {idle_minutes: 480, absolute_hours: 168}
//!   private: {group: private}   # the overlay folder is always `_private` (publish::PRIVATE_OVERLAY)
//!   smtp: {host: smtp.example.com, port: 587, tls: starttls, username: gate@example.com,
//!          password_env: SMTP_PASSWORD, from: "Catalog <gate@example.com>"}
//!   trust_proxy: {header: X-Forwarded-Email, from: [127.0.0.1]}
//!   limits: {failures_per_address: 5, failures_per_ip: 20, window_minutes: 15}
//!   oidc: {...}                               # parsed by the OpenID Connect module
//! gate:                                       # the server itself (all optional)
//!   workers: 2                                # default: the machine's cores
//!   max_connections: 512
//!   read_timeout_seconds: 10                  # also the longest idle keep-alive
//!   head_timeout_seconds: 10                  # request line + headers, from the first byte
//!   write_timeout_seconds: 30                 # a client that stops reading loses the connection
//!   shutdown_seconds: 10                      # SIGTERM: how long in-flight requests may finish
//! ```
//! Secret: `GATE_SESSION_SECRET` (at least 32 characters) signs cookies and CSRF tokens.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// The environment variable holding the key that signs session cookies and CSRF tokens.
pub const SECRET_VAR: &str = "GATE_SESSION_SECRET";

/// Everything `gate` needs from the instance configuration, validated. Paths are absolute.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The instance's `config/instance.yaml`.
    pub file: PathBuf,
    /// The published tree (usually the `public` symlink), followed on every request.
    pub output: PathBuf,
    /// Instance name, for page titles.
    pub name: String,
    /// Base URL as users reach the gate (`auth.public_url`), without a trailing slash; links in
    /// mail start with it. Default `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Cookies carry `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Lower-case domains whose addresses may enter.
    pub allowed_domains: BTreeSet<String>,
    /// Lower-case addresses that may enter.
    pub allowed_emails: BTreeSet<String>,
    /// The users file (groups, password hashes).
    pub users_file: PathBuf,
    /// Folder of the gate's other state: tokens, one-time links, the audit log.
    pub state_dir: PathBuf,
    /// The audit log (JSON lines).
    pub audit_log: PathBuf,
    /// A session ends this long after its last request (seconds).
    pub session_idle_s: u64,
    /// A session ends this long after sign-in, whatever its use (seconds).
    pub session_absolute_s: u64,
    /// Group whose members see the private overlay.
    pub private_group: String,
    /// The overlay folder at the tree's root (never served directly).
    pub private_overlay: String,
    /// SMTP settings; `None` turns the email providers off.
    pub smtp: Option<SmtpConfig>,
    /// Take the identity from a header set by a proxy.
    pub trust_proxy: Option<TrustProxy>,
    /// Failed sign-in limits.
    pub limits: Limits,
    /// The raw `auth.oidc` block, for the OpenID Connect module; `None`: Google sign-in is off.
    pub oidc: Option<serde_yaml::Value>,
    /// API tokens expire after this many days unless issued with another expiry.
    pub token_days: u64,
    /// The server's threads, timeouts and connection cap (top-level `gate:` section).
    pub server: ServerSettings,
}

/// The top-level `gate:` section: how the server guards its threads. Durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    /// Threads answering requests; `None`: one per available core (`--workers` overrides).
    pub workers: Option<usize>,
    /// Connections open at once; more wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// A socket read waiting longer than this closes the connection (also the longest a
    /// kept-alive connection stays idle).
    pub read_timeout_s: u64,
    /// A request's line and headers must arrive within this time of their first byte (else
    /// 408 and the connection is closed).
    pub head_timeout_s: u64,
    /// A client that reads nothing of a response for this long loses the connection.
    pub write_timeout_s: u64,
    /// On SIGTERM or SIGINT, requests in progress get this long to finish.
    pub shutdown_s: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            workers: None,
            max_connections: 512,
            read_timeout_s: 10,
            head_timeout_s: 10,
            write_timeout_s: 30,
            shutdown_s: 10,
        }
    }
}

/// Largest request head (request line and headers) the server reads, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How mail leaves: SMTP with implicit TLS (port 465), STARTTLS (587) or, for tests on
/// loopback only, plain text.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// Login name; `None` sends without authentication.
    pub username: Option<String>,
    /// Password (from the environment or `.env`, variable named by `password_env`).
    pub password: Option<String>,
    /// `From:` address (`Name <addr>` or `addr`).
    pub from: String,
    /// Seconds before a send is given up.
    pub timeout_s: u64,
}

/// Transport security of SMTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, required (port 587).
    Starttls,
    /// No encryption: allowed only to a loopback host.
    None,
}

/// Proxies `gate` believes: from the `from` addresses only, `X-Forwarded-For` gives the client
/// address, `X-Forwarded-Uri` the path under forward-auth, and, when `header` is set, that
/// header is the signed-in address (still subject to the allow-lists).
#[derive(Debug, Clone)]
pub struct TrustProxy {
    /// Header with the user's email address (`None`: identities come from cookies and tokens
    /// only).
    pub header: Option<String>,
    /// Proxy addresses the header is accepted from.
    pub from: Vec<IpAddr>,
}

/// Failed sign-in limits in a sliding window.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures per address in the window before sign-ins of that address are refused.
    pub per_address: usize,
    /// Failures per client IP in the window before its sign-ins are refused.
    pub per_ip: usize,
    /// Window length in seconds.
    pub window_s: u64,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    instance: Option<RawInstanceName>,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    gate: Option<RawServer>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default)]
    workers: Option<usize>,
    #[serde(default)]
    max_connections: Option<usize>,
    #[serde(default)]
    read_timeout_seconds: Option<u64>,
    #[serde(default)]
    head_timeout_seconds: Option<u64>,
    #[serde(default)]
    write_timeout_seconds: Option<u64>,
    #[serde(default)]
    shutdown_seconds: Option<u64>,
}

#[derive(Deserialize)]
struct RawInstanceName {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    allowed_domains: Vec<String>,
    #[serde(default)]
    allowed_emails: Vec<String>,
    #[serde(default)]
    users_file: Option<String>,
    #[serde(default)]
    state_dir: Option<String>,
    #[serde(default)]
    audit_log: Option<String>,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    private: RawPrivate,
    #[serde(default)]
    smtp: Option<RawSmtp>,
    #[serde(default)]
    trust_proxy: Option<RawTrustProxy>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    oidc: Option<serde_yaml::Value>,
    #[serde(default)]
    token_days: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSession {
    #[serde(default)]
    idle_minutes: Option<u64>,
    #[serde(default)]
    absolute_hours: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrivate {
    #[serde(default)]
    group: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: u16,
    tls: SmtpTls,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
    from: String,
    #[serde(default)]
    timeout_s: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrustProxy {
    #[serde(default)]
    header: Option<String>,
    from: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default)]
    failures_per_address: Option<usize>,
    #[serde(default)]
    failures_per_ip: Option<usize>,
    #[serde(default)]
    window_minutes: Option<u64>,
}

/// The environment lookup `gate` uses: the process environment, then the instance's `.env`.
pub struct Env {
    dotenv: std::collections::BTreeMap<String, String>,
}

impl Env {
    /// Read the `.env` beside `config/` of the instance holding `config_file`.
    ///
    /// Errors: the `.env` exists but cannot be read or parsed.
    pub fn load(config_file: &Path) -> anyhow::Result<Env> {
        let dotenv = crate::config::read_dotenv(&instance_dir(config_file).join(".env"))?;
        Ok(Env { dotenv })
    }

    /// The value of `name`: environment first, then `.env`.
    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
    }
}

/// The instance folder of `config/instance.yaml`: two levels up (`.` when there are none).
pub fn instance_dir(config_file: &Path) -> PathBuf {
    let abs = std::path::absolute(config_file).unwrap_or_else(|_| config_file.to_path_buf());
    abs.parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

impl GateConfig {
    /// Read and check `config_file` (an instance's `config/instance.yaml`).
    ///
    /// Errors name the file, the line and the key: not YAML, unknown keys under `auth`, an unset
    /// `${VAR}`, a bad `public_url`, a port/TLS pair that cannot work (465 with `starttls`, 587
    /// with `tls`), plain SMTP to a host that is not loopback, a bad proxy address.
    pub fn load(config_file: &Path, env: &Env) -> anyhow::Result<GateConfig> {
        let file = std::path::absolute(config_file)
            .with_context(|| format!("{}: not a usable path", config_file.display()))?;
        let dir = instance_dir(&file);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("{}: cannot read", file.display()))?;
        let text = crate::config::interpolate(&text, &|k| env.get(k), &file)?;
        let raw: RawFile = crate::config::parse_yaml(&text, &file)?;
        let line_of = |key: &str| crate::config::line_of(&text, key);
        let where_ = |key: &str| format!("{}:{}: key `{key}`", file.display(), line_of(key));
        // Only `output` and the name are needed from the rest of the file.
        let output: Option<String> = serde_yaml::from_str::<serde_yaml::Value>(&text)
            .ok()
            .and_then(|v| v.get("output").and_then(|o| o.as_str().map(str::to_string)));
        let state: Option<String> = serde_yaml::from_str::<serde_yaml::Value>(&text)
            .ok()
            .and_then(|v| v.get("state").and_then(|o| o.as_str().map(str::to_string)));
        let auth = raw.auth.unwrap_or_default();
        let public_url = auth
            .public_url
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_string())
            .trim_end_matches('/')
            .to_string();
        let secure_cookies = if public_url.starts_with("https://") {
            true
        } else if public_url.starts_with("http://") {
            false
        } else {
            bail!(
                "{}: `{public_url}` is not an http:// or https:// URL",
                where_("public_url")
            );
        };
        let lower = |v: Vec<String>| -> BTreeSet<String> {
            v.into_iter()
                .map(|s| s.trim().trim_start_matches('@').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let allowed_emails = lower(auth.allowed_emails);
        for e in &allowed_emails {
            if crate::gate::access::domain_of(e).is_none() {
                bail!(
                    "{}: `{e}` is not an email address",
                    where_("allowed_emails")
                );
            }
        }
        let allowed_domains = lower(auth.allowed_domains);
        for d in &allowed_domains {
            if d.contains('@') || !d.contains('.') {
                bail!(
                    "{}: `{d}` is not a domain (write example.com)",
                    where_("allowed_domains")
                );
            }
        }
        let state_root = dir.join(state.as_deref().unwrap_or("state"));
        let state_dir = auth
            .state_dir
            .map_or_else(|| state_root.join("gate"), |p| dir.join(p));
        let users_file = auth
            .users_file
            .map_or_else(|| state_dir.join("users.json"), |p| dir.join(p));
        let audit_log = auth
            .audit_log
            .map_or_else(|| state_dir.join("audit.jsonl"), |p| dir.join(p));
        let idle_min = auth.session.idle_minutes.unwrap_or(8 * 60);
        let abs_h = auth.session.absolute_hours.unwrap_or(7 * 24);
        if idle_min == 0 || abs_h == 0 || idle_min > abs_h * 60 {
            bail!(
                "{}: idle_minutes {idle_min} and absolute_hours {abs_h}: both must be positive and idle no longer than absolute",
                where_("session")
            );
        }
        let private_group = auth.private.group.unwrap_or_else(|| "private".into());
        let private_overlay = crate::publish::PRIVATE_OVERLAY.to_string();
        let smtp = match auth.smtp {
            None => None,
            Some(s) => {
                let w = where_("smtp");
                match (s.port, s.tls) {
                    (465, SmtpTls::Starttls) => bail!(
                        "{w}: port 465 is implicit TLS: write `tls: tls` (or use port 587 with starttls)"
                    ),
                    (587, SmtpTls::Tls) => bail!(
                        "{w}: port 587 is STARTTLS: write `tls: starttls` (or use port 465 with tls)"
                    ),
                    _ => {}
                }
                if s.tls == SmtpTls::None && !is_loopback_host(&s.host) {
                    bail!(
                        "{w}: `tls: none` sends passwords and sign-in links in clear; allowed only to a loopback host, not `{}`",
                        s.host
                    );
                }
                let password = match &s.password_env {
                    None => None,
                    Some(var) => Some(env.get(var).with_context(|| {
                        format!(
                            "{w}: password_env `{var}` is not set (set it in the environment or in the instance's .env)"
                        )
                    })?),
                };
                if s.username.is_some() != password.is_some() {
                    bail!("{w}: give both `username` and `password_env`, or neither");
                }
                if s.from.parse::<lettre::message::Mailbox>().is_err() {
                    bail!("{w}: from `{}` is not an email address", s.from);
                }
                Some(SmtpConfig {
                    host: s.host,
                    port: s.port,
                    tls: s.tls,
                    username: s.username,
                    password,
                    from: s.from,
                    timeout_s: s.timeout_s.unwrap_or(20).max(1),
                })
            }
        };
        let trust_proxy = match auth.trust_proxy {
            None => None,
            Some(t) => {
                let mut from = Vec::new();
                for a in &t.from {
                    from.push(a.trim().parse::<IpAddr>().map_err(|_| {
                        anyhow::anyhow!("{}: `{a}` is not an IP address", where_("trust_proxy"))
                    })?);
                }
                if from.is_empty() {
                    bail!(
                        "{}: needs at least one proxy address in `from`",
                        where_("trust_proxy")
                    );
                }
                Some(TrustProxy {
                    header: t
                        .header
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty()),
                    from,
                })
            }
        };
        let limits = Limits {
            per_address: auth.limits.failures_per_address.unwrap_or(5).max(1),
            per_ip: auth.limits.failures_per_ip.unwrap_or(20).max(1),
            window_s: auth.limits.window_minutes.unwrap_or(15).max(1) * 60,
        };
        let rs = raw.gate.unwrap_or_default();
        let d = ServerSettings::default();
        let positive = |v: Option<u64>, key: &str, default: u64| -> anyhow::Result<u64> {
            match v {
                Some(0) => bail!("{}: must be at least 1", where_(key)),
                Some(v) => Ok(v),
                None => Ok(default),
            }
        };
        let server = ServerSettings {
            workers: match rs.workers {
                Some(0) => bail!("{}: must be at least 1", where_("workers")),
                w => w,
            },
            max_connections: match rs.max_connections {
                Some(0) => bail!("{}: must be at least 1", where_("max_connections")),
                m => m.unwrap_or(d.max_connections),
            },
            read_timeout_s: positive(
                rs.read_timeout_seconds,
                "read_timeout_seconds",
                d.read_timeout_s,
            )?,
            head_timeout_s: positive(
                rs.head_timeout_seconds,
                "head_timeout_seconds",
                d.head_timeout_s,
            )?,
            write_timeout_s: positive(
                rs.write_timeout_seconds,
                "write_timeout_seconds",
                d.write_timeout_s,
            )?,
            shutdown_s: rs.shutdown_seconds.unwrap_or(d.shutdown_s),
        };
        Ok(GateConfig {
            server,
            file,
            output: dir.join(output.as_deref().unwrap_or("public")),
            name: raw
                .instance
                .and_then(|i| i.name)
                .unwrap_or_else(|| "Catalog".into()),
            public_url,
            secure_cookies,
            allowed_domains,
            allowed_emails,
            users_file,
            state_dir,
            audit_log,
            session_idle_s: idle_min * 60,
            session_absolute_s: abs_h * 3600,
            private_group,
            private_overlay,
            smtp,
            trust_proxy,
            limits,
            oidc: auth.oidc,
            token_days: auth.token_days.unwrap_or(90).max(1),
        })
    }
}

/// `localhost` or a loopback IP literal.
fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
