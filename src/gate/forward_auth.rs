//! Forward-auth for a proxy that serves the files itself: nginx `auth_request` and Caddy
//! `forward_auth` call `GET /auth/check` with the user's cookies or `Authorization` header.
//! The answer is 200 with `X-Auth-Email` and `X-Auth-Groups` (comma-separated), 401 (not signed
//! in; the proxy sends the browser to `/auth/signin`) or 403 (signed in, but the forwarded path
//! is in the private overlay and the user is not in the private group). The request body is
//! never read (nginx keeps the original `Content-Length` on its body-less subrequest,
//! field-pitfalls §I1). `X-Forwarded-Uri` / `X-Original-URI` are read only from the trusted
//! proxy addresses (`auth.trust_proxy.from`, §I3).

use std::net::IpAddr;

use tiny_http::Request;

use crate::gate::access;
use crate::gate::server::{unauthorized, Gate};
use crate::static_files::{request_header, segments, text_response, with, Body};

/// Answer `GET /auth/check`.
pub fn check(gate: &Gate, req: &Request, cookies: Option<&str>, peer: IpAddr, ip: IpAddr) -> Body {
    let who = match gate.identify(req, cookies, peer, ip) {
        Ok(Some(w)) => w,
        Ok(None) => return unauthorized("sign in"),
        Err(why) => return unauthorized(why),
    };
    let trusted = gate
        .config
        .trust_proxy
        .as_ref()
        .is_some_and(|t| t.from.contains(&peer));
    if trusted {
        let uri = request_header(req, "X-Forwarded-Uri")
            .or_else(|| request_header(req, "X-Original-URI"));
        if let Some(uri) = uri {
            let path = uri.split('?').next().unwrap_or("");
            let private = match segments(path) {
                Some(s) => access::is_overlay_path(&gate.config, &s),
                None => true,
            };
            if private && !access::sees_private(&gate.config, &who.groups) {
                gate.audit.log(
                    "access_refused",
                    serde_json::json!({"email": who.email, "ip": ip.to_string(), "path": path, "reason": "private overlay"}),
                );
                return text_response(403, "403 forbidden\n");
            }
        }
    }
    let r = text_response(200, "ok\n");
    let r = with(r, "X-Auth-Email", &who.email);
    let r = with(r, "X-Auth-Groups", &who.groups.join(","));
    match &who.renew {
        Some(c) => with(r, "Set-Cookie", c),
        None => r,
    }
}
