//! `gate [--bind ADDR] [--workers N] [--dev]`: serve the published tree behind sign-in.
//! Prints `gate: listening on http://ADDR/` on stderr once bound (with port 0, the port chosen).
//!
//! The accepted sockets get the read and write timeouts, request-head deadline and connection
//! cap of the `gate:` section ([`ServerSettings`]; field-pitfalls §H4). SIGTERM or SIGINT stops
//! the gate gracefully: the listening socket is closed, requests already received get
//! `shutdown_seconds` to finish, the audit log is synced, `gate: stopped` is printed and the exit
//! code is 0.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::gate::config::{Env, GateConfig, ServerSettings, MAX_HEAD_BYTES, SECRET_VAR};
use crate::gate::server::Gate;
use crate::gate::session::Keys;

/// Flags of serving.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on. Loopback by default: put nginx or Caddy (TLS) in front.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Threads answering requests (default: `gate.workers` of the configuration, else one per
    /// available core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Development: without mail, show sign-in and reset links in the page. Only with a
    /// loopback `--bind`.
    #[arg(long)]
    pub dev: bool,
}

/// Serve until SIGTERM or SIGINT; returns the exit code (0: stopped by a signal; 2: bad
/// configuration, missing secret, cannot bind).
pub fn run(config_path: &Path, args: Args) -> i32 {
    // Before any thread starts, so that every thread inherits the mask and only the signal
    // thread below receives them.
    let signals = block_stop_signals();
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
    let settings = gate.config.server;
    let (server, listener) = match listen(&addrs, &settings) {
        Ok((s, l)) => (Arc::new(s), l),
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
    let workers = args
        .workers
        .or(settings.workers)
        .unwrap_or_else(default_workers)
        .max(1);
    eprintln!(
        "gate: {workers} workers, at most {} connections",
        settings.max_connections
    );
    eprintln!("gate: listening on http://{addr}/");
    let stopping = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel::<()>();
    for _ in 0..workers {
        let (server, gate, stopping, done) = (
            server.clone(),
            gate.clone(),
            stopping.clone(),
            done_tx.clone(),
        );
        std::thread::spawn(move || {
            work(&server, &gate, &stopping);
            let _ = done.send(());
        });
    }
    drop(done_tx);
    let (stop_tx, stop_rx) = mpsc::channel::<&'static str>();
    if let Some(set) = signals {
        std::thread::spawn(move || {
            match wait_for_signal(&set) {
                Some(name) => {
                    let _ = stop_tx.send(name);
                }
                // Keep the sender: the gate then runs until killed.
                None => loop {
                    std::thread::park();
                },
            }
        });
    }
    // Until a signal; without a signal thread (the mask could not be set), until killed.
    let name = stop_rx.recv().unwrap_or("signal");
    eprintln!(
        "gate: stopping ({name}): no new connections; requests in progress get {} s",
        settings.shutdown_s
    );
    stopping.store(true, Ordering::SeqCst);
    // Closes the listening socket: the accept thread ends, new connections are refused.
    let _ = socket2::SockRef::from(&listener).shutdown(std::net::Shutdown::Read);
    let deadline = Instant::now() + Duration::from_secs(settings.shutdown_s);
    let mut left = workers;
    while left > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(wait) {
            Ok(()) => left -= 1,
            Err(_) => break,
        }
    }
    gate.audit.sync();
    if left > 0 {
        eprintln!(
            "gate: stopped ({left} requests cut off after {} s)",
            settings.shutdown_s
        );
    } else {
        eprintln!("gate: stopped");
    }
    0
}

/// One worker: answer requests until the gate stops, then the requests already received.
fn work(server: &tiny_http::Server, gate: &Gate, stopping: &AtomicBool) {
    loop {
        match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(req)) => gate.handle(req),
            // An accept error ends tiny_http's accept thread; only the shutdown causes one
            // (the listening socket closed), transient errors are retried inside.
            Ok(None) | Err(_) => {
                if stopping.load(Ordering::SeqCst) {
                    while let Ok(Some(req)) = server.try_recv() {
                        gate.handle(req);
                    }
                    return;
                }
            }
        }
    }
}

/// Worker threads when neither `--workers` nor `gate.workers` says: one per available core.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A tiny_http server on the first address of `addrs` that can be bound, with `settings`'
/// timeouts and connection cap, and the listening socket (to close it on shutdown).
/// `TCP_NODELAY` is set on the listening socket (Linux copies it to every accepted
/// connection): tiny_http writes the head and the body of a response separately; with Nagle's
/// algorithm on, the body's last segment waits for the client's delayed ACK (40 ms) on every
/// keep-alive request.
fn listen(
    addrs: &[SocketAddr],
    settings: &ServerSettings,
) -> Result<(tiny_http::Server, std::net::TcpListener), Box<dyn std::error::Error + Send + Sync>> {
    let listener = std::net::TcpListener::bind(addrs)?;
    socket2::SockRef::from(&listener).set_tcp_nodelay(true)?;
    let handle = listener.try_clone()?;
    let limits = tiny_http::ConnectionLimits {
        read_timeout: Some(Duration::from_secs(settings.read_timeout_s)),
        write_timeout: Some(Duration::from_secs(settings.write_timeout_s)),
        head_timeout: Some(Duration::from_secs(settings.head_timeout_s)),
        max_head_bytes: MAX_HEAD_BYTES,
        max_connections: settings.max_connections,
    };
    let server = tiny_http::Server::from_listener_with_limits(listener, None, limits)?;
    Ok((server, handle))
}

/// Block SIGTERM and SIGINT in the calling thread (and so in every thread it starts); returns
/// the set for [`wait_for_signal`], `None` when the mask cannot be changed (the signals then
/// keep their default action: the process ends at once).
fn block_stop_signals() -> Option<libc::sigset_t> {
    // SAFETY: sigset_t is plain data initialised by sigemptyset; pthread_sigmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        (libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) == 0).then_some(set)
    }
}

/// Wait for one of the blocked signals of `set`; its name, `None` when waiting fails.
fn wait_for_signal(set: &libc::sigset_t) -> Option<&'static str> {
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is a valid signal set and `sig` a valid out-pointer.
    let rc = unsafe { libc::sigwait(set, &mut sig) };
    match (rc, sig) {
        (0, libc::SIGTERM) => Some("SIGTERM"),
        (0, libc::SIGINT) => Some("SIGINT"),
        (0, _) => Some("signal"),
        _ => None,
    }
}
