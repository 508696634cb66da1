//! `gate [--bind ADDR] [--workers N] [--dev]`: serve the published tree behind sign-in.
//! Prints `gate: listening on http://ADDR/` on stderr once bound (with port 0, the port chosen).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;

use crate::gate::config::{Env, GateConfig, SECRET_VAR};
use crate::gate::server::Gate;
use crate::gate::session::Keys;

/// Flags of serving.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on. Loopback by default: put nginx or Caddy (TLS) in front.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Threads answering requests.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Development: without mail, show sign-in and reset links in the page. Only with a
    /// loopback `--bind`.
    #[arg(long)]
    pub dev: bool,
}

/// Serve until killed; returns the exit code (2: bad configuration, missing secret, cannot
/// bind).
pub fn run(config_path: &Path, args: Args) -> i32 {
    let fail = |msg: String| {
        eprintln!("gate: error: {msg}");
        2
    };
    let env = match Env::load(config_path) {
        Ok(e) => e,
        Err(e) => return fail(format!("{e:#}")),
    };
    let config = match GateConfig::load(config_path, &env) {
        Ok(c) => c,
        Err(e) => return fail(format!("{e:#}")),
    };
    let Some(secret) = env.get(SECRET_VAR) else {
        return fail(format!(
            "{SECRET_VAR} is not set: the gate signs session cookies with it and does not start without one (set it in the environment or the instance's .env; generate one with `openssl rand -hex 32`)"
        ));
    };
    let keys = match Keys::new(&secret, config.secure_cookies) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let addrs: Vec<SocketAddr> = match args.bind.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return fail(format!("--bind {}: not an address ({e})", args.bind)),
    };
    if args.dev && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return fail(format!(
            "--dev shows sign-in links in the page: it is allowed only with a loopback --bind, not {}",
            args.bind
        ));
    }
    let gate = match Gate::new(config, keys, args.dev) {
        Ok(g) => Arc::new(g),
        Err(e) => return fail(format!("{e:#}")),
    };
    let server = match listen(&addrs) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(format!("--bind {}: cannot listen: {e}", args.bind)),
    };
    let addr = server
        .server_addr()
        .to_ip()
        .map_or(args.bind.clone(), |a| a.to_string());
    if gate.mailer.is_none() {
        eprintln!(
            "gate: email sign-in is off (no auth.smtp){}",
            if args.dev {
                "; --dev shows links in the page"
            } else {
                ""
            }
        );
    }
    eprintln!("gate: listening on http://{addr}/");
    let workers: Vec<_> = (0..args.workers.max(1))
        .map(|_| {
            let (server, gate) = (server.clone(), gate.clone());
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    gate.handle(req);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    0
}

/// A tiny_http server on the first address of `addrs` that can be bound, with `TCP_NODELAY` on
/// the listening socket (Linux copies it to every accepted connection). tiny_http writes the
/// head and the body of a response separately; with Nagle's algorithm on, the body's last
/// segment waits for the client's delayed ACK (40 ms) on every keep-alive request.
fn listen(
    addrs: &[SocketAddr],
) -> Result<tiny_http::Server, Box<dyn std::error::Error + Send + Sync>> {
    let listener = std::net::TcpListener::bind(addrs)?;
    socket2::SockRef::from(&listener).set_tcp_nodelay(true)?;
    tiny_http::Server::from_listener(listener, None)
}
