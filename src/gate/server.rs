//! The gate's request handling: who is asking (bearer token, trusted proxy header, session
//! cookie), the `/auth/…` routes, and the published tree for everyone signed in.
//!
//! Routes (all others are files of the tree, `GET`/`HEAD` only):
//! - `GET /auth/signin?next=` sign-in page; `POST /auth/password` password sign-in;
//!   `POST /auth/email` asks for an email link; `GET|POST /auth/email/confirm` opens/uses it.
//! - `GET|POST /auth/password/set` (set-up/reset link), `GET|POST /auth/password/reset`.
//! - `GET /auth/account`, `POST /auth/tokens`, `POST /auth/tokens/revoke`, `POST /auth/signout`.
//! - `GET /auth/check` forward-auth ([`crate::gate::forward_auth`]).
//! - `GET /auth/oidc/start`, `/auth/oidc/callback`: Google / OpenID Connect sign-in
//!   ([`crate::gate::oidc`]); 404 unless `auth.oidc` is configured.
//!
//! Unauthenticated requests for the tree: a browser navigation is redirected (303) to the
//! sign-in page; anything else (fetch, DuckDB, curl) gets 401 with a JSON body.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::sync::Arc;

use tiny_http::{Method, Request};

use crate::gate::access;
use crate::gate::audit::AuditLog;
use crate::gate::config::GateConfig;
use crate::gate::crypto::{ct_eq, random_hex, sha256_hex};
use crate::gate::links::{self, LinksFile, Purpose};
use crate::gate::mail::Mailer;
use crate::gate::oidc::{OidcClient, OidcConfig, OidcError, PendingLogin, PENDING_MAX_AGE_SECS};
use crate::gate::pages;
use crate::gate::password;
use crate::gate::ratelimit::{Failures, Window};
use crate::gate::session::{self, Keys, Session, CSRF_COOKIE, SESSION_COOKIE};
use crate::gate::store::{now_s, rfc3339, JsonFile};
use crate::gate::tokens::{self, TokensFile};
use crate::gate::users::{normalize_email, UsersFile};
use crate::static_files::{
    ascii_url, bytes_response, header, json_response, request_header, text_response, with, Body,
    LargeFile, Reply,
};

/// Lifetime of an email sign-in link (seconds).
pub const SIGN_IN_LINK_S: i64 = 15 * 60;
/// Lifetime of a password reset link asked for on the page (seconds).
pub const RESET_LINK_S: i64 = 30 * 60;
/// Lifetime of a password set-up link printed by `gate users add|link` (seconds).
pub const SETUP_LINK_S: i64 = 24 * 3600;
/// Largest form body read (bytes).
const MAX_FORM: u64 = 16 * 1024;
/// Minimum seconds between two mails to one address.
const MAIL_COOLDOWN_S: i64 = 60;
/// Mails per address per hour.
const MAIL_PER_HOUR: usize = 5;
/// Mails asked for per client IP per hour.
const MAIL_PER_IP_HOUR: usize = 20;

/// Everything a request thread needs.
pub struct Gate {
    /// Validated configuration.
    pub config: GateConfig,
    /// Cookie and CSRF signing.
    pub keys: Keys,
    /// The users file.
    pub users: JsonFile<UsersFile>,
    /// API tokens.
    pub tokens: JsonFile<TokensFile>,
    /// One-time links.
    pub links: JsonFile<LinksFile>,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// SMTP sender; `None` when mail is not configured.
    pub mailer: Option<Arc<Mailer>>,
    /// `--dev`: links are shown in the page (the server is bound to loopback).
    pub dev: bool,
    /// Google / OpenID Connect sign-in (`auth.oidc`); `None` when not configured.
    oidc: Option<OidcSignIn>,
    /// The published tree's real path, re-resolved when the `output` symlink changes.
    pub tree_root: crate::gate::tree::TreeRoot,
    failures: Failures,
    mail_addr: Window,
    mail_ip: Window,
}

/// Who is asking.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Lower-case address.
    pub email: String,
    /// Groups.
    pub groups: Vec<String>,
    /// `session`, `token` or `proxy`.
    pub via: &'static str,
    /// A renewed session cookie to send back.
    pub renew: Option<String>,
}

/// The OpenID Connect provider of `auth.oidc`: its settings, and its client once its discovery
/// document was read (on the first sign-in, and again after a failure, so a provider that was
/// down when the gate started does not need a restart).
struct OidcSignIn {
    config: OidcConfig,
    client: std::sync::Mutex<Option<Arc<OidcClient>>>,
}

/// The cookie holding a signed [`PendingLogin`] between `/auth/oidc/start` and the callback.
const OIDC_COOKIE: &str = "gate_oidc";

/// The cookie binding email sign-in links to the browser that asked for them: a signed random
/// secret whose SHA-256 each link keeps ([`links::Link::browser`]).
const LINK_COOKIE: &str = "gate_link";

/// Per-request facts.
struct Ctx {
    ip: IpAddr,
    cookies: Option<String>,
    /// The CSRF cookie value (the request's, or a new one to set).
    csrf_cookie: String,
    csrf_new: bool,
}

impl Gate {
    /// A gate for `config`, signing with `keys`; `dev` shows links in pages.
    ///
    /// Errors: the audit log cannot be opened, or the SMTP settings cannot make a sender.
    pub fn new(config: GateConfig, keys: Keys, dev: bool) -> anyhow::Result<Gate> {
        let audit = Arc::new(AuditLog::open(&config.audit_log)?);
        let mailer = match &config.smtp {
            Some(s) => Some(Arc::new(Mailer::new(s)?)),
            None => None,
        };
        let oidc = match &config.oidc {
            Some(v) => Some(OidcSignIn {
                config: serde_yaml::from_value(v.clone())
                    .map_err(|e| anyhow::anyhow!("auth.oidc: {e}"))?,
                client: std::sync::Mutex::new(None),
            }),
            None => None,
        };
        Ok(Gate {
            users: JsonFile::new(config.users_file.clone()),
            tokens: JsonFile::new(config.state_dir.join("tokens.json")),
            links: JsonFile::new(config.state_dir.join("links.json")),
            failures: Failures::load(
                config.state_dir.join("failures.json"),
                config.limits.window_s,
                config.limits.per_address,
                config.limits.per_ip,
                now_s(),
            ),
            mail_addr: Window::new(3600),
            mail_ip: Window::new(3600),
            audit,
            mailer,
            dev,
            oidc,
            tree_root: Default::default(),
            keys,
            config,
        })
    }

    /// The users file, or an empty one when it cannot be read (the error goes to stderr: the
    /// gate then only knows the allow-lists, and everyone is in `analyst` alone).
    fn users_now(&self) -> Arc<UsersFile> {
        match self.users.get() {
            Ok(u) => u,
            Err(e) => {
                eprintln!("gate: error: {e:#}");
                Arc::new(UsersFile::default())
            }
        }
    }

    /// Start a session for `email` signed in by `provider` (also the entry point of the OpenID
    /// Connect callback). Checks the allow-lists; returns the `Set-Cookie` header value.
    ///
    /// Errors: the address may not enter (a sentence for the page); the refusal is audited.
    pub fn start_session(&self, email: &str, provider: &str, ip: IpAddr) -> Result<String, String> {
        let Ok(email) = normalize_email(email) else {
            self.audit.log(
                "sign_in_refused",
                serde_json::json!({"email": email, "ip": ip.to_string(), "provider": provider, "reason": "not an address"}),
            );
            return Err("That is not an email address.".into());
        };
        let users = self.users_now();
        if !access::allowed(&self.config, &users, &email) {
            self.audit.log(
                "sign_in_refused",
                serde_json::json!({"email": email, "ip": ip.to_string(), "provider": provider, "reason": "not allowed"}),
            );
            return Err("This address may not sign in here.".into());
        }
        let now = now_s();
        let epoch = users.users.get(&email).map_or(0, |u| u.epoch);
        let value = self.keys.encode(&Session {
            email: email.clone(),
            issued: now,
            seen: now,
            epoch,
        });
        self.failures.clear(&email, now);
        self.audit.log(
            "sign_in",
            serde_json::json!({"email": email, "ip": ip.to_string(), "provider": provider}),
        );
        Ok(self
            .keys
            .set_cookie(SESSION_COOKIE, &value, self.config.session_absolute_s))
    }

    /// Answer one request.
    pub fn handle(&self, mut req: Request) {
        let peer = req
            .remote_addr()
            .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
        let ip = self.client_ip(&req, peer);
        let cookies = request_header(&req, "Cookie").map(str::to_string);
        let url = req.url().to_string();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        // Only the gate's own pages have forms: no random cookie for file requests.
        let (csrf_cookie, csrf_new) = match session::cookie(cookies.as_deref(), CSRF_COOKIE) {
            Some(c) if c.len() >= 32 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (c.to_string(), false)
            }
            _ if path.starts_with("/auth/") => (session::new_csrf_cookie(), true),
            _ => (String::new(), true),
        };
        let ctx = Ctx {
            ip,
            cookies,
            csrf_cookie,
            csrf_new,
        };
        let mut large = None;
        let mut r = self.route(&mut req, &ctx, path, query, peer, &mut large);
        if let Some(mut l) = large {
            l.headers
                .extend(header("X-Content-Type-Options", "nosniff"));
            let _ = l.send(req);
            return;
        }
        if ctx.csrf_new && path.starts_with("/auth/") {
            r = with(
                r,
                "Set-Cookie",
                &self
                    .keys
                    .set_cookie(CSRF_COOKIE, &ctx.csrf_cookie, 86_400 * 30),
            );
        }
        let r = with(r, "X-Content-Type-Options", "nosniff");
        let _ = req.respond(r);
    }

    /// The client's address: the peer, or, from a trusted proxy, the last `X-Forwarded-For`
    /// entry (the one the proxy added).
    fn client_ip(&self, req: &Request, peer: IpAddr) -> IpAddr {
        let trusted = self
            .config
            .trust_proxy
            .as_ref()
            .is_some_and(|t| t.from.contains(&peer));
        if trusted {
            if let Some(ip) = request_header(req, "X-Forwarded-For")
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
            {
                return ip;
            }
        }
        peer
    }

    /// Who is asking: a bearer token (a bad one is an error), a trusted proxy's header, or a
    /// valid session cookie.
    pub(crate) fn identify(
        &self,
        req: &Request,
        ctx_cookies: Option<&str>,
        peer: IpAddr,
        ip: IpAddr,
    ) -> Result<Option<Identity>, &'static str> {
        let users = self.users_now();
        if let Some(auth) = request_header(req, "Authorization") {
            let Some(bearer) = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("bearer "))
            else {
                return Err("only Bearer tokens are accepted");
            };
            return match tokens::authenticate(&self.tokens, bearer.trim()) {
                Ok((id, email, first)) => {
                    if !access::allowed(&self.config, &users, &email) {
                        self.audit.log(
                            "token_refused",
                            serde_json::json!({"token": id, "email": email, "ip": ip.to_string(), "reason": "address no longer allowed"}),
                        );
                        return Err("token refused");
                    }
                    if first {
                        self.audit.log(
                            "token_used",
                            serde_json::json!({"token": id, "email": email, "ip": ip.to_string()}),
                        );
                    }
                    Ok(Some(Identity {
                        groups: access::groups_of(&users, &email),
                        email,
                        via: "token",
                        renew: None,
                    }))
                }
                Err(why) => {
                    self.audit.log(
                        "token_refused",
                        serde_json::json!({"ip": ip.to_string(), "reason": format!("{why:?}").to_lowercase()}),
                    );
                    Err("token refused")
                }
            };
        }
        if let Some(tp) = &self.config.trust_proxy {
            if tp.from.contains(&peer) {
                if let Some(v) = tp.header.as_deref().and_then(|h| request_header(req, h)) {
                    let Ok(email) = normalize_email(v) else {
                        return Err("proxy identity is not an address");
                    };
                    if !access::allowed(&self.config, &users, &email) {
                        return Err("proxy identity not allowed");
                    }
                    return Ok(Some(Identity {
                        groups: access::groups_of(&users, &email),
                        email,
                        via: "proxy",
                        renew: None,
                    }));
                }
            }
        }
        let Some(value) = session::cookie(ctx_cookies, SESSION_COOKIE) else {
            return Ok(None);
        };
        let now = now_s();
        let s = match self.keys.decode(
            value,
            now,
            self.config.session_idle_s,
            self.config.session_absolute_s,
        ) {
            Ok(s) => s,
            Err(_) => return Ok(None),
        };
        let epoch = users.users.get(&s.email).map_or(0, |u| u.epoch);
        if s.epoch != epoch || !access::allowed(&self.config, &users, &s.email) {
            return Ok(None);
        }
        let renew = (now - s.seen >= 60).then(|| {
            let remaining = (s.issued + self.config.session_absolute_s as i64 - now).max(0) as u64;
            self.keys.set_cookie(
                SESSION_COOKIE,
                &self.keys.encode(&Session {
                    seen: now,
                    ..s.clone()
                }),
                remaining,
            )
        });
        Ok(Some(Identity {
            groups: access::groups_of(&users, &s.email),
            email: s.email,
            via: "session",
            renew,
        }))
    }

    /// Answer a request; a large file body is left in `large` (the returned response is then
    /// not sent).
    fn route(
        &self,
        req: &mut Request,
        ctx: &Ctx,
        path: &str,
        query: &str,
        peer: IpAddr,
        large: &mut Option<LargeFile>,
    ) -> Body {
        let method = req.method().clone();
        let is_get = matches!(method, Method::Get | Method::Head);
        let is_post = method == Method::Post;
        let q = parse_form(query.as_bytes());
        match (path, is_get, is_post) {
            ("/auth/check", true, _) => {
                return crate::gate::forward_auth::check(
                    self,
                    req,
                    ctx.cookies.as_deref(),
                    peer,
                    ctx.ip,
                )
            }
            ("/auth/signin", true, _) => {
                let next = local_next(q.get("next").map(String::as_str));
                return self.sign_in_page(ctx, &next, None, 200);
            }
            ("/auth/password", _, true) => return self.password_sign_in(req, ctx),
            ("/auth/email", _, true) => return self.email_link_request(req, ctx),
            ("/auth/email/confirm", true, _) => {
                let token = q.get("token").cloned().unwrap_or_default();
                return self.link_page(ctx, &token, Purpose::SignIn);
            }
            ("/auth/email/confirm", _, true) => return self.link_use(req, ctx, Purpose::SignIn),
            ("/auth/password/set", true, _) => {
                let token = q.get("token").cloned().unwrap_or_default();
                return self.link_page(ctx, &token, Purpose::Password);
            }
            ("/auth/password/set", _, true) => return self.link_use(req, ctx, Purpose::Password),
            ("/auth/password/reset", true, _) => {
                return self.page(
                    200,
                    "Reset your password",
                    &pages::reset_request(&self.csrf(ctx)),
                )
            }
            ("/auth/password/reset", _, true) => return self.reset_request(req, ctx),
            ("/auth/oidc/start" | "/auth/oidc/callback", _, _) if self.oidc.is_none() => {
                return text_response(
                    404,
                    "404 not found: Google / OpenID Connect sign-in is not configured (auth.oidc)\n",
                );
            }
            ("/auth/oidc/start", true, _) => return self.oidc_start(ctx, &q),
            ("/auth/oidc/callback", true, _) => return self.oidc_callback(ctx, &q),
            _ => {}
        }
        // Everything else needs an identity.
        let who = match self.identify(req, ctx.cookies.as_deref(), peer, ctx.ip) {
            Ok(w) => w,
            Err(why) => return unauthorized(why),
        };
        let Some(who) = who else {
            if path.starts_with("/auth/") && !is_get {
                return text_response(403, "403 forbidden: sign in first\n");
            }
            return self.challenge(req, path, query);
        };
        let r = match (path, is_get, is_post) {
            ("/auth/account", true, _) => self.account_page(ctx, &who, None),
            ("/auth/tokens", _, true) => self.token_issue(req, ctx, &who),
            ("/auth/tokens/revoke", _, true) => self.token_revoke(req, ctx, &who),
            ("/auth/signout", _, true) => self.sign_out(req, ctx, &who),
            (p, true, _) if !p.starts_with("/auth/") => {
                match crate::gate::tree::serve(self, req, &who, path, query, method == Method::Head)
                {
                    Reply::Small(b) => b,
                    Reply::Large(mut l) => {
                        if let Some(c) = &who.renew {
                            l.headers.extend(header("Set-Cookie", c));
                        }
                        *large = Some(l);
                        return text_response(500, "500 (sent as a stream)\n");
                    }
                }
            }
            (p, _, _) if p.starts_with("/auth/") => text_response(404, "404 not found\n"),
            _ => with(
                text_response(
                    405,
                    "405 method not allowed: the catalog answers GET and HEAD\n",
                ),
                "Allow",
                "GET, HEAD",
            ),
        };
        match &who.renew {
            Some(c) => with(r, "Set-Cookie", c),
            None => r,
        }
    }

    /// The CSRF form token of this request's CSRF cookie.
    fn csrf(&self, ctx: &Ctx) -> String {
        self.keys.csrf_token(&ctx.csrf_cookie)
    }

    /// An HTML page of the gate with security headers.
    fn page(&self, status: u16, title: &str, body: &str) -> Body {
        let html = pages::layout(&self.config.name, title, body);
        let r = bytes_response(status, "text/html; charset=utf-8", html.into_bytes());
        let r = with(r, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        let r = with(r, "X-Frame-Options", "DENY");
        let r = with(r, "Referrer-Policy", "no-referrer");
        with(r, "Cache-Control", "no-store")
    }

    fn methods(&self) -> pages::Methods {
        pages::Methods {
            email: self.mailer.is_some() || self.dev,
            oidc: self.config.oidc.is_some(),
        }
    }

    fn sign_in_page(&self, ctx: &Ctx, next: &str, error: Option<&str>, status: u16) -> Body {
        let body = pages::sign_in(&self.csrf(ctx), next, &self.methods(), error);
        self.page(status, "Sign in", &body)
    }

    /// Where an anonymous request goes: browsers to the sign-in page, the rest get 401.
    fn challenge(&self, req: &Request, path: &str, query: &str) -> Body {
        let navigate = request_header(req, "Sec-Fetch-Mode").is_some_and(|m| m == "navigate")
            || (request_header(req, "Sec-Fetch-Mode").is_none()
                && request_header(req, "Accept").is_some_and(|a| a.contains("text/html")));
        if navigate {
            let next = if query.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{query}")
            };
            let loc = format!("/auth/signin?next={}", pages::urlencode(&next));
            return with(
                text_response(303, "sign in first\n"),
                "Location",
                &ascii_url(&loc),
            );
        }
        unauthorized("sign in or send Authorization: Bearer <token>")
    }

    /// Read a form body and check its CSRF field. `Err` is the response to send.
    fn form(&self, req: &mut Request, ctx: &Ctx) -> Result<HashMap<String, String>, Body> {
        let mut body = Vec::new();
        let read = req.as_reader().take(MAX_FORM + 1).read_to_end(&mut body);
        if read.is_err() {
            return Err(text_response(
                408,
                "408 the form's body did not arrive in time\n",
            ));
        }
        if body.len() as u64 > MAX_FORM {
            return Err(text_response(413, "413 form too large\n"));
        }
        let form = parse_form(&body);
        let cookie = (!ctx.csrf_new).then_some(ctx.csrf_cookie.as_str());
        if !self
            .keys
            .csrf_ok(cookie, form.get("csrf").map(String::as_str))
        {
            self.audit.log(
                "access_refused",
                serde_json::json!({"ip": ctx.ip.to_string(), "path": req.url(), "reason": "missing or wrong CSRF token"}),
            );
            return Err(self.page(
                403,
                "Form expired",
                &pages::message("This form was not accepted (missing or stale security token). Go back, reload the page and try again."),
            ));
        }
        Ok(form)
    }

    /// `Set-Cookie` then 303 to `next`.
    fn signed_in(&self, set_cookie: &str, next: &str) -> Body {
        let r = with(
            text_response(303, "signed in\n"),
            "Location",
            &ascii_url(next),
        );
        with(r, "Set-Cookie", set_cookie)
    }

    /// The provider's client, reading its discovery document the first time.
    fn oidc_client(&self) -> Result<Arc<OidcClient>, OidcError> {
        let Some(o) = &self.oidc else {
            return Err(OidcError::Discovery {
                url: String::new(),
                reason: "auth.oidc is not configured".into(),
            });
        };
        let mut slot = o.client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let client = Arc::new(OidcClient::discover(&o.config)?);
        *slot = Some(client.clone());
        Ok(client)
    }

    /// `GET /auth/oidc/start?next=`: a signed pending sign-in in a 10-minute cookie bound to this
    /// browser, then 303 to the provider's authorization endpoint.
    fn oidc_start(&self, ctx: &Ctx, q: &HashMap<String, String>) -> Body {
        let next = local_next(q.get("next").map(String::as_str));
        match self.oidc_client() {
            Ok(client) => {
                let (url, pending) = client.authorization_url(&next);
                let value = self.keys.sign(OIDC_COOKIE, &pending.to_cookie_value());
                let cookie = self
                    .keys
                    .set_cookie(OIDC_COOKIE, &value, PENDING_MAX_AGE_SECS);
                let r = with(
                    text_response(303, "to the identity provider\n"),
                    "Location",
                    &ascii_url(&url),
                );
                with(r, "Set-Cookie", &cookie)
            }
            Err(e) => {
                self.audit.log(
                    "sign_in_refused",
                    serde_json::json!({"ip": ctx.ip.to_string(), "provider": "oidc", "reason": e.to_string()}),
                );
                self.sign_in_page(
                    ctx,
                    &next,
                    Some("Sign-in with the identity provider is not available right now."),
                    502,
                )
            }
        }
    }

    /// `GET /auth/oidc/callback?state=&code=`: the pending sign-in of this browser's cookie,
    /// the code exchanged and the ID token checked ([`OidcClient::complete`]), then the same
    /// allow-list and session as every other way in ([`Gate::start_session`]).
    fn oidc_callback(&self, ctx: &Ctx, q: &HashMap<String, String>) -> Body {
        let clear = self.keys.set_cookie(OIDC_COOKIE, "", 0);
        let refuse = |why: String| {
            self.audit.log(
                "sign_in_refused",
                serde_json::json!({"ip": ctx.ip.to_string(), "provider": "oidc", "reason": why}),
            );
            with(
                self.sign_in_page(
                    ctx,
                    "/",
                    Some("Sign-in with the identity provider failed. Try again."),
                    403,
                ),
                "Set-Cookie",
                &clear,
            )
        };
        if let Some(err) = q.get("error") {
            return refuse(format!("the provider answered error={err}"));
        }
        let Some(raw) = session::cookie(ctx.cookies.as_deref(), OIDC_COOKIE)
            .and_then(|c| self.keys.unsign(OIDC_COOKIE, c))
        else {
            return refuse("no signed pending sign-in in this browser".into());
        };
        let now = std::time::SystemTime::now();
        let pending = match PendingLogin::from_cookie_value(raw, now) {
            Ok(p) => p,
            Err(e) => return refuse(e.to_string()),
        };
        let client = match self.oidc_client() {
            Ok(c) => c,
            Err(e) => return refuse(e.to_string()),
        };
        // The provider checks the address's domain against every domain that can be allowed:
        // the allow-list's, and those of allowed and known addresses; start_session then
        // decides on the exact address.
        let users = self.users_now();
        let domains: Vec<String> = self
            .config
            .allowed_domains
            .iter()
            .cloned()
            .chain(
                self.config
                    .allowed_emails
                    .iter()
                    .chain(users.users.keys())
                    .filter_map(|e| e.rsplit_once('@').map(|(_, d)| d.to_string())),
            )
            .collect::<std::collections::BTreeSet<String>>()
            .into_iter()
            .collect();
        let state = q.get("state").map(String::as_str).unwrap_or("");
        let code = q.get("code").map(String::as_str).unwrap_or("");
        match client.complete(&pending, state, code, &domains, now) {
            Ok(id) => match self.start_session(&id.email, "oidc", ctx.ip) {
                Ok(set_cookie) => with(
                    self.signed_in(&set_cookie, &pending.next),
                    "Set-Cookie",
                    &clear,
                ),
                Err(message) => refuse(message),
            },
            Err(e) => refuse(e.to_string()),
        }
    }

    fn limited(&self, email: &str, ip: IpAddr) -> bool {
        let now = now_s();
        self.failures.limited(email, &ip.to_string(), now)
    }

    fn password_sign_in(&self, req: &mut Request, ctx: &Ctx) -> Body {
        let form = match self.form(req, ctx) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let next = local_next(form.get("next").map(String::as_str));
        let email = form
            .get("email")
            .map(|e| e.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let pw = form.get("password").cloned().unwrap_or_default();
        if self.limited(&email, ctx.ip) {
            self.audit.log(
                "sign_in_refused",
                serde_json::json!({"email": email, "ip": ctx.ip.to_string(), "provider": "password", "reason": "too many failed attempts"}),
            );
            return self.sign_in_page(
                ctx,
                &next,
                Some("Too many failed attempts. Wait a few minutes and try again."),
                429,
            );
        }
        let users = self.users_now();
        let hash = users
            .users
            .get(&email)
            .and_then(|u| u.password_hash.as_deref());
        if password::verify(&pw, hash) {
            match self.start_session(&email, "password", ctx.ip) {
                Ok(c) => return self.signed_in(&c, &next),
                Err(msg) => return self.sign_in_page(ctx, &next, Some(&msg), 403),
            }
        }
        let now = now_s();
        self.failures.record(&email, &ctx.ip.to_string(), now);
        self.audit.log(
            "sign_in_refused",
            serde_json::json!({"email": email, "ip": ctx.ip.to_string(), "provider": "password", "reason": "wrong address or password"}),
        );
        self.sign_in_page(ctx, &next, Some("Wrong address or password."), 401)
    }

    /// Whether a mail to `email` may go out now (cooldown, hourly caps); records it when so.
    fn mail_allowed(&self, email: &str, ip: IpAddr) -> bool {
        let now = now_s();
        let ipk = ip.to_string();
        let ok = self
            .mail_addr
            .since_last(email, now)
            .is_none_or(|s| s >= MAIL_COOLDOWN_S)
            && self.mail_addr.count(email, now) < MAIL_PER_HOUR
            && self.mail_ip.count(&ipk, now) < MAIL_PER_IP_HOUR;
        if ok {
            self.mail_addr.record(email, now);
            self.mail_ip.record(&ipk, now);
        }
        ok
    }

    /// Send (or, with `--dev`, show) a one-time link, bound to the browser whose secret's
    /// SHA-256 is `browser` when given. Returns the link when shown in the page.
    fn deliver(
        &self,
        email: &str,
        purpose: Purpose,
        ttl: i64,
        ip: IpAddr,
        browser: Option<String>,
    ) -> Option<String> {
        let users = self.users_now();
        let epoch = users.users.get(email).map_or(0, |u| u.epoch);
        let token = match links::issue(&self.links, email, purpose, ttl, epoch, browser) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("gate: error: {e:#}");
                return None;
            }
        };
        let (route, subject, what) = match purpose {
            Purpose::SignIn => ("/auth/email/confirm", "Your sign-in link", "sign in"),
            Purpose::Password => (
                "/auth/password/set",
                "Set your password",
                "set your password",
            ),
        };
        let link = format!("{}{route}?token={token}", self.config.public_url);
        match &self.mailer {
            Some(m) => {
                let text = format!(
                    "Open this link to {what} at {}:\n\n{link}\n\nIt works once, for {} minutes. If you did not ask for it, ignore this message.\n",
                    self.config.name,
                    ttl / 60
                );
                m.send_later(email, subject, text, self.audit.clone());
                None
            }
            None if self.dev => {
                self.audit.log(
                    "link_shown_dev",
                    serde_json::json!({"email": email, "ip": ip.to_string()}),
                );
                Some(link)
            }
            None => None,
        }
    }

    fn email_link_request(&self, req: &mut Request, ctx: &Ctx) -> Body {
        let form = match self.form(req, ctx) {
            Ok(f) => f,
            Err(r) => return r,
        };
        if self.mailer.is_none() && !self.dev {
            return self.page(
                404,
                "Not available",
                &pages::message("Sign-in by email link is not configured here."),
            );
        }
        let raw = form.get("email").cloned().unwrap_or_default();
        // This browser's link secret (kept when it has one, so every link it asked for works),
        // set whatever the address: the answer is the same for every address.
        let secret = self
            .link_secret(ctx)
            .map_or_else(|| random_hex(16), str::to_string);
        let link_cookie = self.keys.set_cookie(
            LINK_COOKIE,
            &self.keys.sign(LINK_COOKIE, &secret),
            SIGN_IN_LINK_S as u64,
        );
        let mut shown = None;
        if let Ok(email) = normalize_email(&raw) {
            let users = self.users_now();
            if !access::allowed(&self.config, &users, &email) {
                self.audit.log(
                    "link_suppressed",
                    serde_json::json!({"email": email, "ip": ctx.ip.to_string(), "reason": "not allowed"}),
                );
            } else if !self.mail_allowed(&email, ctx.ip) {
                self.audit.log(
                    "link_suppressed",
                    serde_json::json!({"email": email, "ip": ctx.ip.to_string(), "reason": "mail limit"}),
                );
            } else {
                let browser = Some(sha256_hex(secret.as_bytes()));
                shown = self.deliver(&email, Purpose::SignIn, SIGN_IN_LINK_S, ctx.ip, browser);
            }
        }
        let mut body = pages::message(&format!(
            "If this address may sign in here, a link is on its way. It works once, for 15 minutes. If you asked several times, only one mail per minute is sent: wait {MAIL_COOLDOWN_S} seconds and check your spam folder."
        ));
        if let Some(link) = shown {
            body.push_str(&format!(
                "<p class=\"note\">--dev (no mail configured): <a id=\"dev-link\" href=\"{0}\">{0}</a></p>",
                crate::static_files::html_escape(&link)
            ));
        }
        with(
            self.page(200, "Check your email", &body),
            "Set-Cookie",
            &link_cookie,
        )
    }

    /// The link secret of this browser's valid `gate_link` cookie.
    fn link_secret<'a>(&self, ctx: &'a Ctx) -> Option<&'a str> {
        session::cookie(ctx.cookies.as_deref(), LINK_COOKIE)
            .and_then(|c| self.keys.unsign(LINK_COOKIE, c))
            .filter(|s| s.len() == 32)
    }

    /// Whether `link` may be used by this browser: it is not bound to one, or this browser
    /// holds the secret it is bound to.
    fn link_browser_ok(&self, ctx: &Ctx, link: &links::Link) -> bool {
        match &link.browser {
            None => true,
            Some(digest) => self.link_secret(ctx).is_some_and(|secret| {
                ct_eq(sha256_hex(secret.as_bytes()).as_bytes(), digest.as_bytes())
            }),
        }
    }

    /// The page for a sign-in link opened in a browser other than the one that asked for it.
    fn link_elsewhere(&self, ctx: &Ctx, status: u16) -> Body {
        self.page(
            status,
            "Open the link where you asked for it",
            &pages::link_elsewhere(&self.csrf(ctx)),
        )
    }

    fn reset_request(&self, req: &mut Request, ctx: &Ctx) -> Body {
        let form = match self.form(req, ctx) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let raw = form.get("email").cloned().unwrap_or_default();
        let mut shown = None;
        if let Ok(email) = normalize_email(&raw) {
            let users = self.users_now();
            if users.users.contains_key(&email) && self.mail_allowed(&email, ctx.ip) {
                shown = self.deliver(&email, Purpose::Password, RESET_LINK_S, ctx.ip, None);
            } else {
                self.audit.log(
                    "link_suppressed",
                    serde_json::json!({"email": email, "ip": ctx.ip.to_string(), "reason": "unknown address or mail limit"}),
                );
            }
        }
        let mut body = pages::message(
            "If this address has an account here, a reset link is on its way (when this server sends mail; otherwise ask an administrator for a link). It works once, for 30 minutes.",
        );
        if let Some(link) = shown {
            body.push_str(&format!(
                "<p class=\"note\">--dev: <a id=\"dev-link\" href=\"{0}\">{0}</a></p>",
                crate::static_files::html_escape(&link)
            ));
        }
        self.page(200, "Check your email", &body)
    }

    /// Opening a link: a page with a button (GET never uses the link up).
    fn link_page(&self, ctx: &Ctx, token: &str, purpose: Purpose) -> Body {
        let Some(link) = links::peek(&self.links, token, purpose) else {
            return self.page(
                410,
                "Link expired",
                &pages::message("This link has expired or was already used. Ask for a new one."),
            );
        };
        match purpose {
            Purpose::SignIn if !self.link_browser_ok(ctx, &link) => self.link_elsewhere(ctx, 200),
            Purpose::SignIn => self.page(
                200,
                "Sign in",
                &pages::confirm(
                    &self.csrf(ctx),
                    "/auth/email/confirm",
                    token,
                    &format!("Sign in as {}?", link.email),
                    "Sign in",
                ),
            ),
            Purpose::Password => self.page(
                200,
                "Set your password",
                &pages::set_password(&self.csrf(ctx), token, &link.email, None),
            ),
        }
    }

    /// Using a link (POST from the button or the password form).
    fn link_use(&self, req: &mut Request, ctx: &Ctx, purpose: Purpose) -> Body {
        let form = match self.form(req, ctx) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let token = form.get("token").cloned().unwrap_or_default();
        let expired = || {
            self.audit.log(
                "sign_in_refused",
                serde_json::json!({"ip": ctx.ip.to_string(), "provider": purpose_name(purpose), "reason": "link expired or used"}),
            );
            self.page(
                410,
                "Link expired",
                &pages::message("This link has expired or was already used. Ask for a new one."),
            )
        };
        if purpose == Purpose::Password {
            // Check the password before using the link up, so a typo does not burn it.
            let Some(link) = links::peek(&self.links, &token, purpose) else {
                return expired();
            };
            let pw = form.get("password").cloned().unwrap_or_default();
            let problem = if form.get("password2") != Some(&pw) {
                Some("The two passwords differ.".to_string())
            } else {
                password::check_policy(&pw, &link.email).err()
            };
            if let Some(p) = problem {
                return self.page(
                    400,
                    "Set your password",
                    &pages::set_password(&self.csrf(ctx), &token, &link.email, Some(&p)),
                );
            }
            let Ok(Some(link)) = links::consume(&self.links, &token, purpose) else {
                return expired();
            };
            let Ok(hash) = password::hash(&pw) else {
                return text_response(500, "500 cannot hash the password\n");
            };
            let changed = self.users.update(|f| {
                let Some(u) = f.users.get_mut(&link.email) else {
                    anyhow::bail!("no such user");
                };
                if u.epoch != link.epoch {
                    anyhow::bail!("link from before a password change");
                }
                u.password_hash = Some(hash);
                u.epoch += 1;
                Ok(())
            });
            if changed.is_err() {
                return expired();
            }
            let _ = links::revoke_all(&self.links, &link.email);
            self.audit.log(
                "password_set",
                serde_json::json!({"email": link.email, "ip": ctx.ip.to_string()}),
            );
            return match self.start_session(&link.email, "password", ctx.ip) {
                Ok(c) => self.signed_in(&c, "/"),
                Err(m) => self.page(403, "Not allowed", &pages::message(&m)),
            };
        }
        // A link bound to another browser is refused and stays usable there.
        let Some(link) = links::peek(&self.links, &token, purpose) else {
            return expired();
        };
        if !self.link_browser_ok(ctx, &link) {
            self.audit.log(
                "sign_in_refused",
                serde_json::json!({"email": link.email, "ip": ctx.ip.to_string(), "provider": "email", "reason": "link used in another browser"}),
            );
            return self.link_elsewhere(ctx, 403);
        }
        let Ok(Some(link)) = links::consume(&self.links, &token, purpose) else {
            return expired();
        };
        let epoch = self
            .users_now()
            .users
            .get(&link.email)
            .map_or(0, |u| u.epoch);
        if epoch != link.epoch {
            return expired();
        }
        match self.start_session(&link.email, "email", ctx.ip) {
            Ok(c) => self.signed_in(&c, "/"),
            Err(m) => self.page(403, "Not allowed", &pages::message(&m)),
        }
    }

    fn account_page(&self, ctx: &Ctx, who: &Identity, new_token: Option<&str>) -> Body {
        let tokens = self.tokens.get().map(|f| {
            f.tokens
                .iter()
                .filter(|(_, t)| t.email == who.email)
                .map(|(id, t)| pages::TokenRow {
                    id: id.clone(),
                    name: t.name.clone(),
                    created: rfc3339(t.created),
                    expires: rfc3339(t.expires),
                    last_used: t.last_used.map_or_else(|| "never".into(), rfc3339),
                })
                .collect::<Vec<_>>()
        });
        let tokens = tokens.unwrap_or_default();
        self.page(
            200,
            "Your account",
            &pages::account(
                &self.csrf(ctx),
                &who.email,
                &who.groups,
                new_token,
                &tokens,
                self.config.token_days,
            ),
        )
    }

    fn token_issue(&self, req: &mut Request, ctx: &Ctx, who: &Identity) -> Body {
        let form = match self.form(req, ctx) {
            Ok(f) => f,
            Err(r) => return r,
        };
        if who.via != "session" {
            return text_response(
                403,
                "403 forbidden: tokens are issued from a signed-in browser\n",
            );
        }
        let days = form
            .get("days")
            .and_then(|d| d.trim().parse::<u64>().ok())
            .unwrap_or(self.config.token_days)
            .clamp(1, 3650);
        let name = form.get("name").cloned().unwrap_or_default();
        match tokens::issue(&self.tokens, &who.email, &name, days) {
            Ok((id, token)) => {
                self.audit.log(
                    "token_issued",
                    serde_json::json!({"token": id, "email": who.email, "ip": ctx.ip.to_string(), "days": days}),
                );
                self.account_page(ctx, who, Some(&token))
            }
            Err(e) => self.page(400, "Token not issued", &pages::message(&e.to_string())),
        }
    }

    fn token_revoke(&self, req: &mut Request, ctx: &Ctx, who: &Identity) -> Body {
        let form = match self.form(req, ctx) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let id = form.get("id").cloned().unwrap_or_default();
        if let Ok(true) = tokens::revoke(&self.tokens, &id, Some(&who.email)) {
            self.audit.log(
                "token_revoked",
                serde_json::json!({"token": id, "email": who.email, "ip": ctx.ip.to_string()}),
            );
        }
        with(text_response(303, "revoked\n"), "Location", "/auth/account")
    }

    fn sign_out(&self, req: &mut Request, ctx: &Ctx, who: &Identity) -> Body {
        if let Err(r) = self.form(req, ctx) {
            return r;
        }
        self.audit.log(
            "sign_out",
            serde_json::json!({"email": who.email, "ip": ctx.ip.to_string()}),
        );
        let r = self.page(200, "Signed out", &pages::message("You are signed out."));
        with(
            r,
            "Set-Cookie",
            &self.keys.set_cookie(SESSION_COOKIE, "", 0),
        )
    }
}

fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::SignIn => "email",
        Purpose::Password => "password-link",
    }
}

/// 401 with a JSON body and `WWW-Authenticate: Bearer`.
pub fn unauthorized(why: &str) -> Body {
    let body = serde_json::json!({"error": "unauthorized", "message": why}).to_string();
    with(
        json_response(&body, 401),
        "WWW-Authenticate",
        "Bearer realm=\"gate\"",
    )
}

/// `application/x-www-form-urlencoded` pairs (later duplicates win).
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `next` when it is a local path (`/…`, not `//…` or `/\…`, no control characters, no
/// scheme); else `/`.
pub fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && n.len() <= 2000 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_local() {
        assert_eq!(local_next(Some("/tables/a.html?x=1")), "/tables/a.html?x=1");
        for bad in [
            "//evil.org",
            "https://evil.org",
            "/\\evil.org",
            "evil",
            "/a\r\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(local_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_next(None), "/");
    }
}
