//! `broker serve`: a local preview of an instance. Builds once, serves the published tree over
//! HTTP (following the `public` symlink on every request, so each rebuild's atomic swap is picked
//! up), watches the instance's inputs and rebuilds only the stages whose inputs changed, and
//! reloads open pages when a build publishes. Exit code 0 after Ctrl-C, 2 when the instance
//! cannot be read or the address cannot be bound.
//!
//! HTTP: `GET` and `HEAD` only; single byte ranges (RFC 9110 `a-b`, `a-`, `-n`; 416 with
//! `Content-Range: bytes */size`) on every file but HTML, whose body gets the live-reload script
//! (and, after a failed build, an error overlay) before `</body>`. Server-only paths live under
//! `/__broker/`: `reload.js` and `events` (a long poll answering within 25 s).

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use tiny_http::{Method, Request, Server};

use crate::cmd::build::{self, Failure, Scope};
use crate::config::{Config, DataSource};
use crate::metrics::MetricResult;
use crate::publish;
use crate::report::{Reporter, Verbosity};
use crate::site::pages::percent_decode;
use crate::static_files::{
    ascii_url, bytes_response, file_response, html_escape, json_response, resolve, segments,
    text_response, with, Body, Resolved,
};

/// Flags of `broker serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The instance folder (holds config/instance.yaml and content/).
    #[arg(long, default_value = ".")]
    pub instance: PathBuf,
    /// Address to listen on. Loopback by default: broker serve has no sign-in.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// Do not build at start when a published tree exists; serve it as it is.
    #[arg(long)]
    pub no_build: bool,
    /// Errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail (also every stage line of each rebuild).
    #[arg(short, long)]
    pub verbose: bool,
}

/// Quiet time after the last file event before a rebuild starts.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// Longest a burst of events delays a rebuild.
const DEBOUNCE_MAX: Duration = Duration::from_secs(2);
/// How long `/__broker/events` holds a request when nothing changes.
const LONG_POLL: Duration = Duration::from_secs(25);
/// Long polls held at once; more get 503 and retry.
const MAX_PARKED: usize = 64;
/// Threads answering requests (long polls do not hold one).
const WORKERS: usize = 8;

/// Set by SIGINT/SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);

/// The script every served HTML page loads.
const RELOAD_JS: &str = r#"(function () {
  var s = document.currentScript;
  var gen = s ? s.getAttribute("data-generation") : "";
  function poll(delay) {
    setTimeout(function () {
      fetch("/__broker/events?since=" + encodeURIComponent(gen), { cache: "no-store" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (e) { if (e.generation !== gen) { location.reload(); } else { poll(0); } })
        .catch(function () { poll(1000); });
    }, delay);
  }
  poll(0);
})();
"#;

/// What the server tells pages: the current build generation and the last build's error.
#[derive(Debug, Clone)]
struct Status {
    /// Changes whenever a build ends (published or failed): `<server start ms>-<n>`.
    generation: String,
    /// Id of the last published build this server saw (empty before one).
    build_id: String,
    /// The error of the last build when it published nothing (the previous tree is served).
    error: Option<String>,
}

/// State shared by the request threads, the long-poll thread and the build loop.
struct Shared {
    inner: Mutex<Inner>,
    changed: Condvar,
}

struct Inner {
    status: Status,
    /// The published output path (usually the `public` symlink).
    output: PathBuf,
    /// Held long polls: request, generation it waits to change, deadline.
    parked: Vec<(Request, String, Instant)>,
    started_ms: u128,
    builds: u64,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record a finished build and wake the long polls.
    fn finished(&self, build_id: Option<&str>, error: Option<String>) {
        let mut g = self.lock();
        g.builds += 1;
        g.status.generation = format!("{}-{}", g.started_ms, g.builds);
        if let Some(id) = build_id {
            g.status.build_id = id.to_string();
        }
        g.status.error = error;
        drop(g);
        self.changed.notify_all();
    }
}

/// Run the server until Ctrl-C; returns the exit code (0 after Ctrl-C, 2 when the instance
/// configuration cannot be read at start or the address cannot be bound).
pub fn run(args: Args) -> i32 {
    let verbosity = Verbosity::from_flags(args.quiet, args.verbose);
    let log = Reporter::new(verbosity);
    // A rebuild's stage lines only with -v: one line per rebuild is the normal log.
    let rebuild_log = Reporter::new(verbosity.min(if args.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Quiet
    }));
    let instance = match std::path::absolute(&args.instance) {
        Ok(p) => p,
        Err(e) => {
            log.error(&format!("{}: {e}", args.instance.display()));
            return 2;
        }
    };
    let config = match Config::load(&instance) {
        Ok(c) => c,
        Err(e) => {
            log.error(&format!("{e:#}"));
            return 2;
        }
    };
    let addrs: Vec<SocketAddr> = match args.bind.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            log.error(&format!("--bind {}: not an address ({e})", args.bind));
            return 2;
        }
    };
    let server = match Server::http(&addrs[..]) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            log.error(&format!("--bind {}: cannot listen: {e}", args.bind));
            return 2;
        }
    };
    let addr = server
        .server_addr()
        .to_ip()
        .map_or(args.bind.clone(), |a| a.to_string());
    if addrs.iter().any(|a| !a.ip().is_loopback()) {
        log.warn(&format!(
            "listening on {addr}, reachable from other machines: broker serve has no sign-in, anyone who reaches it reads the catalog and the data; serve with `gate` for that"
        ));
    }
    install_signal_handlers();

    let started_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            status: Status {
                generation: format!("{started_ms}-0"),
                build_id: String::new(),
                error: None,
            },
            output: config.output.clone(),
            parked: Vec::new(),
            started_ms,
            builds: 0,
        }),
        changed: Condvar::new(),
    });
    for _ in 0..WORKERS {
        let (server, shared) = (server.clone(), shared.clone());
        std::thread::spawn(move || {
            while let Ok(req) = server.recv() {
                handle(req, &shared);
            }
        });
    }
    {
        let shared = shared.clone();
        std::thread::spawn(move || answer_long_polls(&shared));
    }
    log.info(&format!("serving http://{addr}/ (Ctrl-C stops)"));

    let mut metrics: Option<Vec<MetricResult>> = None;
    // What a failed build did not publish is still owed by the next one (a CSV change whose
    // build failed must not be forgotten by a later doc edit).
    let mut owed: Option<Scope> = None;
    let has_tree = publish::current_tree(&config.output).is_some();
    if args.no_build && has_tree {
        log.info("--no-build: serving the published tree as it is");
    } else {
        let t = Instant::now();
        // The first build says what it does, like `broker build`.
        match build_retrying(&instance, Scope::Full, None, &log, &log) {
            Some(Ok((summary, results))) => {
                metrics = Some(results);
                shared.finished(Some(&summary.build_id), None);
                log.info(&format!(
                    "build {} {} in {:.2} s",
                    summary.build_id,
                    summary.status,
                    t.elapsed().as_secs_f64()
                ));
            }
            Some(Err(e)) => {
                log.error(&format!("build failed: {e}"));
                shared.finished(None, Some(e.to_string()));
                owed = Some(Scope::Full);
            }
            None => return stop(&server, &log),
        }
    }

    let (tx, rx) = mpsc::channel();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(w) => w,
        Err(e) => {
            log.error(&format!("cannot watch files: {e}"));
            return 2;
        }
    };
    let mut inputs = Inputs::of(&config);
    let mut watched = inputs.watch(&mut watcher, &[], &log);
    log.info(&format!(
        "watching {} for changes",
        watched
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let mut pending: BTreeMap<PathBuf, Scope> = BTreeMap::new();

    let (mut first, mut last) = (Instant::now(), Instant::now());
    loop {
        if STOP.load(Ordering::SeqCst) {
            return stop(&server, &log);
        }
        let wait = if pending.is_empty() {
            Duration::from_millis(250)
        } else {
            (last + DEBOUNCE).saturating_duration_since(Instant::now())
        };
        match rx.recv_timeout(wait) {
            Ok(Ok(event)) => {
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    continue;
                }
                for path in &event.paths {
                    if let Some(scope) = inputs.scope_of(path) {
                        if pending.is_empty() {
                            first = Instant::now();
                        }
                        last = Instant::now();
                        let s = pending.entry(path.clone()).or_insert(scope);
                        *s = (*s).max(scope);
                    }
                }
                if first.elapsed() < DEBOUNCE_MAX {
                    continue;
                }
            }
            Ok(Err(e)) => {
                log.warn(&format!("watching files: {e}"));
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return stop(&server, &log),
        }
        if pending.is_empty() || (last.elapsed() < DEBOUNCE && first.elapsed() < DEBOUNCE_MAX) {
            continue;
        }
        let changes = std::mem::take(&mut pending);
        let scope = changes
            .values()
            .copied()
            .chain(owed)
            .max()
            .unwrap_or(Scope::Full);
        let what = describe(&changes, &instance);
        let t = Instant::now();
        let reuse = metrics.clone().filter(|_| scope == Scope::Site);
        let reused = reuse.is_some();
        match build_retrying(&instance, scope, reuse, &rebuild_log, &log) {
            None => return stop(&server, &log),
            Some(Ok((summary, results))) => {
                metrics = Some(results);
                owed = None;
                shared.finished(Some(&summary.build_id), None);
                let ran = match (scope, reused) {
                    (Scope::Full, _) => "ran sync, profile, metrics, site".to_string(),
                    (Scope::Metrics, _) => {
                        "ran metrics, site; kept sync, profile from the last build".to_string()
                    }
                    (Scope::Site, true) => {
                        "ran site; kept sync, profile, metrics from the last build".to_string()
                    }
                    (Scope::Site, false) => {
                        "ran metrics, site; kept sync, profile from the last build".to_string()
                    }
                };
                let failed = if summary.status == "ok" {
                    String::new()
                } else {
                    let tables = summary.tables.iter().filter(|t| t.error.is_some()).count();
                    format!(
                        " ({tables} tables and {} metrics failed: see their pages)",
                        summary.metrics_failed.len()
                    )
                };
                log.info(&format!(
                    "rebuild {} in {:.2} s after {what} changed: {ran}{failed}",
                    summary.build_id,
                    t.elapsed().as_secs_f64()
                ));
                // Without -v the rebuild's own log is quiet: its warnings (a broken link in the
                // doc just saved) still reach the one editing.
                if !args.verbose {
                    for w in &summary.warnings {
                        log.warn(w);
                    }
                }
            }
            Some(Err(e)) => {
                log.error(&format!(
                    "rebuild failed after {what} changed, still serving the last good build: {e}"
                ));
                owed = Some(scope);
                shared.finished(None, Some(e.to_string()));
            }
        }
        if scope == Scope::Full {
            // instance.yaml may have moved the output, the theme or the CSV folder.
            if let Ok(config) = Config::load(&instance) {
                shared.lock().output = config.output.clone();
                inputs = Inputs::of(&config);
                watched = inputs.watch(&mut watcher, &watched, &log);
            }
        }
    }
}

/// Run a build, waiting while another build (a cron `broker build`) holds the instance's lock.
/// `None` when Ctrl-C came while waiting.
fn build_retrying(
    instance: &Path,
    scope: Scope,
    metrics: Option<Vec<MetricResult>>,
    build_log: &Reporter,
    log: &Reporter,
) -> Option<Result<(build::Summary, Vec<MetricResult>), Failure>> {
    let mut said = false;
    loop {
        match build::build_instance(instance, scope, metrics.clone(), build_log) {
            Err(Failure::Locked { message, .. }) => {
                if !said {
                    log.warn(&format!("{message}; waiting for it to end"));
                    said = true;
                }
                for _ in 0..10 {
                    if STOP.load(Ordering::SeqCst) {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            other => return Some(other),
        }
    }
}

fn stop(server: &Server, log: &Reporter) -> i32 {
    server.unblock();
    log.info("stopped");
    0
}

/// "content/docs/a.md", or "content/docs/a.md and 2 more files".
fn describe(changes: &BTreeMap<PathBuf, Scope>, instance: &Path) -> String {
    let mut names = changes
        .keys()
        .map(|p| p.strip_prefix(instance).unwrap_or(p).display().to_string());
    let first = names.next().unwrap_or_default();
    match changes.len() {
        0 | 1 => first,
        2 => format!("{first} and 1 more file"),
        n => format!("{first} and {} more files", n - 1),
    }
}

/// The files a build reads, and which stages a change to each runs again.
struct Inputs {
    instance: PathBuf,
    content: PathBuf,
    theme: Option<PathBuf>,
    csv: Option<PathBuf>,
    ignored: Vec<PathBuf>,
}

impl Inputs {
    fn of(config: &Config) -> Inputs {
        let csv = match &config.data_source {
            // The demo shop's CSV files are written by the build itself.
            DataSource::Csv {
                sample: Some(_), ..
            } => None,
            DataSource::Csv { folder, .. } => Some(folder.clone()),
            DataSource::Keboola(_) => None,
        };
        let builds = config.output.with_file_name(format!(
            ".{}.builds",
            config
                .output
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("public")
        ));
        Inputs {
            instance: config.instance_dir.clone(),
            content: config.content_dir(),
            theme: config.theme.clone(),
            csv,
            ignored: vec![config.output.clone(), builds, config.state.clone()],
        }
    }

    /// Watch the inputs (replacing `old`); returns what is watched now.
    fn watch(
        &self,
        watcher: &mut notify::RecommendedWatcher,
        old: &[(PathBuf, RecursiveMode)],
        log: &Reporter,
    ) -> Vec<(PathBuf, RecursiveMode)> {
        let mut want = vec![
            (self.instance.clone(), RecursiveMode::NonRecursive),
            (self.instance.join("config"), RecursiveMode::Recursive),
            (self.content.clone(), RecursiveMode::Recursive),
        ];
        want.extend(
            [&self.theme, &self.csv]
                .into_iter()
                .flatten()
                .map(|p| (p.clone(), RecursiveMode::Recursive)),
        );
        for (p, _) in old {
            if !want.iter().any(|(w, _)| w == p) {
                let _ = watcher.unwatch(p);
            }
        }
        let mut now = Vec::new();
        for (p, mode) in want {
            if old.iter().any(|(o, m)| *o == p && *m == mode) {
                now.push((p, mode));
                continue;
            }
            match watcher.watch(&p, mode) {
                Ok(()) => now.push((p, mode)),
                Err(e) => log.warn(&format!(
                    "cannot watch {}: {e}; its changes need a restart",
                    p.display()
                )),
            }
        }
        now
    }

    /// The scope a change to `path` needs, `None` when the build does not read it.
    fn scope_of(&self, path: &Path) -> Option<Scope> {
        let name = path.file_name()?.to_str()?;
        if is_editor_temp(name) || self.ignored.iter().any(|i| path.starts_with(i)) {
            return None;
        }
        if let Some(theme) = &self.theme {
            if path.starts_with(theme) {
                return Some(Scope::Site);
            }
        }
        if self.csv.as_ref().is_some_and(|c| path.starts_with(c)) {
            return Some(Scope::Full);
        }
        if path.starts_with(self.content.join("docs")) {
            return Some(Scope::Site);
        }
        if path.starts_with(self.content.join("metrics")) {
            return Some(Scope::Metrics);
        }
        if path.starts_with(&self.content) || path.starts_with(self.instance.join("config")) {
            return Some(Scope::Full);
        }
        (path == self.instance.join(".env")).then_some(Scope::Full)
    }
}

/// Swap, backup and lock files of editors (vim, emacs, kate, JetBrains), which change on every
/// keystroke or save without being content.
fn is_editor_temp(name: &str) -> bool {
    name.ends_with('~')
        || name.starts_with(".#")
        || name == "4913"
        || [
            ".swp",
            ".swx",
            ".swo",
            ".tmp",
            ".kate-swp",
            "___jb_tmp___",
            "___jb_old___",
        ]
        .iter()
        .any(|s| name.ends_with(s))
}

/// SIGINT and SIGTERM set [`STOP`]; a second one ends the process at once.
fn install_signal_handlers() {
    extern "C" fn on_signal(sig: i32) {
        STOP.store(true, Ordering::SeqCst);
        // Back to the default action: a second Ctrl-C during a long build ends it at once.
        // SAFETY: signal(2) is async-signal-safe.
        unsafe {
            signal(sig, 0);
        }
    }
    extern "C" {
        fn signal(sig: i32, handler: usize) -> usize;
    }
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    // SAFETY: installs a handler that only stores to an atomic and calls signal(2).
    unsafe {
        signal(SIGINT, on_signal as extern "C" fn(i32) as usize);
        signal(SIGTERM, on_signal as extern "C" fn(i32) as usize);
    }
}

/// Answer held long polls when the generation changes or their 25 s are up.
fn answer_long_polls(shared: &Shared) {
    let mut g = shared.lock();
    loop {
        let (guard, _) = shared
            .changed
            .wait_timeout(g, Duration::from_millis(500))
            .unwrap_or_else(|e| e.into_inner());
        g = guard;
        let now = Instant::now();
        let generation = g.status.generation.clone();
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut g.parked)
            .into_iter()
            .partition(|(_, since, deadline)| *since != generation || *deadline <= now);
        g.parked = keep;
        if due.is_empty() {
            continue;
        }
        let body = status_json(&g.status);
        drop(g);
        for (req, ..) in due {
            let _ = req.respond(json_response(&body, 200));
        }
        g = shared.lock();
    }
}

fn status_json(s: &Status) -> String {
    serde_json::json!({"generation": s.generation, "build_id": s.build_id, "error": s.error})
        .to_string()
}

/// Answer one request.
fn handle(req: Request, shared: &Shared) {
    let head = match req.method() {
        Method::Get => false,
        Method::Head => true,
        _ => {
            let r = with(
                text_response(
                    405,
                    "405 method not allowed: broker serve answers GET and HEAD\n",
                ),
                "Allow",
                "GET, HEAD",
            );
            let _ = req.respond(r);
            return;
        }
    };
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    if path == "/__broker/reload.js" {
        let r = bytes_response(
            200,
            "text/javascript; charset=utf-8",
            RELOAD_JS.as_bytes().to_vec(),
        );
        let _ = req.respond(r);
        return;
    }
    if path == "/__broker/events" {
        let since = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("since="))
            .and_then(percent_decode)
            .and_then(|v| String::from_utf8(v).ok());
        let mut g = shared.lock();
        match since {
            Some(since) if !head && since == g.status.generation => {
                if g.parked.len() >= MAX_PARKED {
                    drop(g);
                    let r = with(
                        text_response(503, "too many open pages; retrying\n"),
                        "Retry-After",
                        "1",
                    );
                    let _ = req.respond(r);
                } else {
                    g.parked.push((req, since, Instant::now() + LONG_POLL));
                }
            }
            _ => {
                let body = status_json(&g.status);
                drop(g);
                let _ = req.respond(json_response(&body, 200));
            }
        }
        return;
    }
    let (output, status) = {
        let g = shared.lock();
        (g.output.clone(), g.status.clone())
    };
    let r = serve_path(&req, path, query, &output, &status, head);
    let _ = req.respond(r);
}

/// Serve a file of the published tree.
fn serve_path(
    req: &Request,
    path: &str,
    query: &str,
    output: &Path,
    status: &Status,
    head: bool,
) -> Body {
    let Some(segs) = segments(path) else {
        return text_response(400, "400 bad request: not a path inside the catalog\n");
    };
    // Follow the `public` symlink now: a rebuild swaps it between two requests.
    let Some(root) = publish::current_tree(output) else {
        let msg = "No build has been published yet.";
        return html_page(503, msg, status);
    };
    // The preview shows the full view, as the gate shows it to the private group: the private
    // overlay's file when there is one, else the root's.
    let dir_slash = path.ends_with('/');
    let found = match resolve(&root.join(publish::PRIVATE_OVERLAY), &segs, dir_slash) {
        file @ Resolved::File(..) => file,
        _ => resolve(&root, &segs, dir_slash),
    };
    let (file, meta) = match found {
        Resolved::File(f, m) => (f, m),
        Resolved::NotFound => return not_found(status),
        Resolved::AddSlash => {
            // Relative links of the folder's index.html need the slash.
            let location = if query.is_empty() {
                format!("{path}/")
            } else {
                format!("{path}/?{query}")
            };
            return with(
                text_response(301, "moved\n"),
                "Location",
                &ascii_url(&location),
            );
        }
    };
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "html" || ext == "htm" {
        let Ok(body) = std::fs::read(&file) else {
            return not_found(status);
        };
        return bytes_response(200, "text/html; charset=utf-8", inject(body, status));
    }
    file_response(req, &file, &meta, head, "no-cache")
}

/// The live-reload script tag and, after a failed build, the error overlay.
fn snippet(status: &Status) -> String {
    let mut s = format!(
        "<script src=\"/__broker/reload.js\" data-generation=\"{}\"></script>",
        html_escape(&status.generation)
    );
    if let Some(e) = &status.error {
        s.push_str(&format!(
            "<div id=\"broker-build-error\" role=\"alert\" style=\"position:fixed;inset:auto 1rem 1rem 1rem;max-height:60vh;overflow:auto;z-index:2147483647;background:#fff5f5;color:#7a0000;border:2px solid #c00;border-radius:6px;padding:1rem;font:14px/1.4 monospace;box-shadow:0 4px 24px rgba(0,0,0,.3)\"><strong>broker serve: the last build failed; this is the last good build.</strong><pre style=\"white-space:pre-wrap;margin:.5rem 0 0\">{}</pre></div>",
            html_escape(e)
        ));
    }
    s
}

/// `body` with the snippet before its last `</body>` (appended when there is none).
fn inject(mut body: Vec<u8>, status: &Status) -> Vec<u8> {
    let tag = snippet(status);
    let at = body
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(body.len());
    body.splice(at..at, tag.into_bytes());
    body
}

fn html_page(code: u16, message: &str, status: &Status) -> Body {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code}</title></head><body><h1>{code}</h1><p>{}</p><p><a href=\"/\">Home</a></p></body></html>\n",
        html_escape(message)
    );
    bytes_response(
        code,
        "text/html; charset=utf-8",
        inject(body.into_bytes(), status),
    )
}

fn not_found(status: &Status) -> Body {
    html_page(404, "Not found: no such page in the catalog.", status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_goes_before_the_last_body_end_tag() {
        let s = Status {
            generation: "1-2".into(),
            build_id: String::new(),
            error: Some("<bad>".into()),
        };
        let out = String::from_utf8(inject(b"<p></body></BODY>x".to_vec(), &s)).unwrap();
        assert!(out
            .starts_with("<p></body><script src=\"/__broker/reload.js\" data-generation=\"1-2\">"));
        assert!(out.ends_with("</BODY>x"));
        assert!(out.contains("&lt;bad&gt;") && !out.contains("<bad>"));
    }

    #[test]
    fn changes_map_to_the_stages_they_need() {
        let i = Inputs {
            instance: "/i".into(),
            content: "/i/content".into(),
            theme: Some("/i/theme".into()),
            csv: Some("/data".into()),
            ignored: vec![
                "/i/public".into(),
                "/i/.public.builds".into(),
                "/i/state".into(),
            ],
        };
        let s = |p: &str| i.scope_of(Path::new(p));
        assert_eq!(s("/i/content/docs/a.md"), Some(Scope::Site));
        assert_eq!(s("/i/theme/templates/x.html"), Some(Scope::Site));
        assert_eq!(s("/i/content/metrics/r/m.yaml"), Some(Scope::Metrics));
        assert_eq!(s("/i/content/data_description.md"), Some(Scope::Full));
        assert_eq!(s("/i/config/instance.yaml"), Some(Scope::Full));
        assert_eq!(s("/i/.env"), Some(Scope::Full));
        assert_eq!(s("/data/orders.csv"), Some(Scope::Full));
        assert_eq!(s("/i/content/docs/.a.md.swp"), None);
        assert_eq!(s("/i/content/docs/a.md~"), None);
        assert_eq!(s("/i/public"), None);
        assert_eq!(s("/i/state/build.lock"), None);
        assert_eq!(s("/i/README.md"), None);
    }
}
