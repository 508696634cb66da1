//! `gate` run as an operator runs it: a hand-made published tree, `gate users|tokens` on the
//! command line, the server on a free loopback port, and a raw HTTP/1.1 client (so paths reach
//! the server exactly as written, `..` and `%2e` included) standing in for browsers, curl and
//! DuckDB. Real parts where the issue asks: an SMTP server (Python's aiosmtpd) and nginx.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::oidc_provider::{Provider, CLIENT_ID, CLIENT_SECRET};

const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
const PASSWORD: &str = "correct horse battery";

fn gate_bin() -> PathBuf {
    std::env::var_os("GATE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gate")))
}

/// An instance folder with a published tree `public/` (a symlink to a build folder, like
/// `broker build` leaves it), a secret file beside the tree, and `config/instance.yaml` with
/// `auth` = `auth_yaml`.
struct Instance {
    dir: broker::testkit::TempDir,
}

impl Instance {
    fn new(auth_yaml: &str) -> Instance {
        let dir = broker::testkit::tempdir().unwrap();
        let d = dir.path();
        let build = d.join(".public.builds/b1");
        let w = |p: &str, bytes: &[u8]| {
            let path = build.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        };
        w(
            "index.html",
            b"<!doctype html><title>Home</title><p>public dashboard</p>",
        );
        w("tables/orders.html", b"<p>orders page</p>");
        w("tables/orders.json", b"{\"table\":\"orders\"}");
        w("docs/index.html", b"<p>docs index</p>");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        w("data/orders.parquet", &data);
        // The private overlay: a dashboard listing the private table, and its page.
        w("_private/index.html", b"<p>dashboard with salaries</p>");
        w("_private/tables/salaries.html", b"<p>salaries page</p>");
        w("_private/data/salaries.parquet", b"PAR1 salaries PAR1");
        std::fs::write(d.join("secret.txt"), b"TOP SECRET outside the tree").unwrap();
        std::os::unix::fs::symlink(d.join("secret.txt"), build.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(
            build.join("_private/tables/salaries.html"),
            build.join("tables/alias.html"),
        )
        .unwrap();
        std::os::unix::fs::symlink(&build, d.join("public")).unwrap();
        std::fs::create_dir_all(d.join("config")).unwrap();
        std::fs::write(
            d.join("config/instance.yaml"),
            format!(
                "instance:\n  name: Test Shop\ndata_source:\n  type: csv\n  csv:\n    folder: csv\noutput: public\nauth:\n{auth_yaml}"
            ),
        )
        .unwrap();
        Instance { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> String {
        self.path()
            .join("config/instance.yaml")
            .display()
            .to_string()
    }

    /// Run `gate <args> --config <config>`.
    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(gate_bin())
            .args(args)
            .args(["--config", &self.config()])
            .output()
            .expect("gate runs")
    }

    /// `gate users add` and return the printed set-up link's path and query.
    fn add_user(&self, email: &str, groups: &str) -> String {
        let out = self.cli(&["users", "add", email, "--groups", groups]);
        assert!(out.status.success(), "{}", text(&out));
        let link = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let at = link
            .find("/auth/password/set?token=")
            .expect("a set-up link");
        link[at..].to_string()
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path().join("state/gate/audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstderr:\n{}\nstdout:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// A running gate, killed when dropped.
struct Gate {
    child: Child,
    addr: String,
    /// Its stderr lines so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Gate {
    fn start(inst: &Instance, extra: &[&str]) -> Gate {
        Gate::start_env(inst, extra, &[("GATE_SESSION_SECRET", SECRET)])
    }

    fn start_env(inst: &Instance, extra: &[&str], env: &[(&str, &str)]) -> Gate {
        let mut cmd = Command::new(gate_bin());
        cmd.args(["--config", &inst.config(), "--bind", "127.0.0.1:0"])
            .args(extra)
            .env_remove("GATE_SESSION_SECRET")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("gate starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        let start = Instant::now();
        loop {
            let lines = log.lock().unwrap().clone();
            if let Some(l) = lines.iter().find(|l| l.contains("listening on http://")) {
                let at = l.find("http://").unwrap() + 7;
                let addr = l[at..].trim_end_matches('/').to_string();
                return Gate { child, addr, log };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("gate exited with {status}:\n{}", lines.join("\n"));
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "gate did not start:\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Gate {
    /// Send `signal` (`TERM`, `INT`) to the gate.
    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal}");
    }

    /// Wait up to `limit` for the gate to exit; its exit code.
    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Instance {
    /// Append `yaml` (top-level sections such as `gate:`) to the configuration.
    fn append_config(&self, yaml: &str) {
        let path = self.path().join("config/instance.yaml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(yaml);
        std::fs::write(path, text).unwrap();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The hidden input `name`'s value in an HTML form.
    fn field(&self, name: &str) -> String {
        let t = self.text();
        let needle = format!("name=\"{name}\" value=\"");
        let at = t
            .find(&needle)
            .unwrap_or_else(|| panic!("no field {name} in {t}"))
            + needle.len();
        t[at..].split('"').next().unwrap().to_string()
    }
}

/// One HTTP/1.1 request over a new connection, the path sent verbatim.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = raw[end + 4..].to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// A browser: a cookie jar and the gate's address.
struct Browser {
    addr: String,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new(gate: &Gate) -> Browser {
        Browser {
            addr: gate.addr.clone(),
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, r: &Resp) {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("Set-Cookie") {
                let pair = v.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                if v.contains("Max-Age=0") {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.to_string(), value.to_string());
                }
            }
        }
    }

    fn get(&mut self, path: &str) -> Resp {
        self.get_with(path, &[])
    }

    fn get_with(&mut self, path: &str, extra: &[(&str, &str)]) -> Resp {
        let c = self.cookie_header();
        let mut h = vec![("Cookie", c.as_str()), ("Accept", "text/html")];
        h.extend_from_slice(extra);
        let r = http(&self.addr, "GET", path, &h, b"");
        self.keep(&r);
        r
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let c = self.cookie_header();
        let r = http(
            &self.addr,
            "POST",
            path,
            &[
                ("Cookie", &c),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        );
        self.keep(&r);
        r
    }

    /// Open the set-up link, choose a password, and be signed in.
    fn set_password(&mut self, link: &str, password: &str) -> Resp {
        let page = self.get(link);
        assert_eq!(page.status, 200, "{}", page.text());
        let csrf = page.field("csrf");
        let token = page.field("token");
        self.post(
            "/auth/password/set",
            &[
                ("csrf", &csrf),
                ("token", &token),
                ("password", password),
                ("password2", password),
            ],
        )
    }

    fn sign_in(&mut self, email: &str, password: &str, next: &str) -> Resp {
        let page = self.get(&format!(
            "/auth/signin?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ));
        assert_eq!(page.status, 200);
        let csrf = page.field("csrf");
        self.post(
            "/auth/password",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("next", next),
            ],
        )
    }
}

/// A gate with one user `ana@example.com` (groups `groups`) signed in through the set-up link.
fn signed_in(auth: &str, groups: &str) -> (Instance, Gate, Browser) {
    let inst = Instance::new(auth);
    let link = inst.add_user("ana@example.com", groups);
    let gate = Gate::start(&inst, &[]);
    let mut b = Browser::new(&gate);
    let r = b.set_password(&link, PASSWORD);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(b.jar.contains_key("gate_session"));
    (inst, gate, b)
}

const AUTH: &str = "  allowed_domains: [example.com]\n";

#[test]
fn serves_the_tree_with_validators_ranges_and_folders() {
    let (_inst, gate, mut b) = signed_in(AUTH, "analyst");
    let home = b.get("/");
    assert_eq!(home.status, 200);
    assert_eq!(
        home.text(),
        "<!doctype html><title>Home</title><p>public dashboard</p>"
    );
    assert_eq!(
        home.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(home.header("Cache-Control"), Some("private, no-cache"));
    let docs = b.get("/docs");
    assert_eq!(
        (docs.status, docs.header("Location")),
        (301, Some("/docs/"))
    );
    assert_eq!(b.get("/docs/").text(), "<p>docs index</p>");
    assert_eq!(
        b.get("/tables/orders.json").header("Content-Type"),
        Some("application/json")
    );

    let full = b.get("/data/orders.parquet");
    assert_eq!(full.status, 200);
    assert_eq!(full.body.len(), 100_000);
    assert_eq!(full.header("Content-Length"), Some("100000"));
    assert_eq!(full.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(
        full.header("Content-Type"),
        Some("application/vnd.apache.parquet")
    );
    let etag = full.header("ETag").unwrap().to_string();
    let modified = full.header("Last-Modified").unwrap().to_string();
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(
        b.get_with("/data/orders.parquet", &[("If-None-Match", &etag)])
            .status,
        304
    );
    assert_eq!(
        b.get_with("/data/orders.parquet", &[("If-Modified-Since", &modified)])
            .status,
        304
    );
    assert_eq!(
        b.get_with("/data/orders.parquet", &[("If-None-Match", "\"other\"")])
            .status,
        200
    );

    let part = b.get_with("/data/orders.parquet", &[("Range", "bytes=10-19")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.header("Content-Range"), Some("bytes 10-19/100000"));
    assert_eq!(part.body, (10..20u8).collect::<Vec<_>>());
    let tail = b.get_with("/data/orders.parquet", &[("Range", "bytes=-4")]);
    assert_eq!(tail.status, 206);
    assert_eq!(
        tail.header("Content-Range"),
        Some("bytes 99996-99999/100000")
    );
    assert_eq!(
        tail.body,
        vec![
            (99_996 % 251) as u8,
            (99_997 % 251) as u8,
            (99_998 % 251) as u8,
            (99_999 % 251) as u8
        ]
    );
    let bad = b.get_with("/data/orders.parquet", &[("Range", "bytes=100000-")]);
    assert_eq!(bad.status, 416);
    assert_eq!(bad.header("Content-Range"), Some("bytes */100000"));
    // If-Range with another validator: the whole file.
    assert_eq!(
        b.get_with(
            "/data/orders.parquet",
            &[("Range", "bytes=0-1"), ("If-Range", "\"old\"")]
        )
        .status,
        200
    );
    // HEAD: the length without the body.
    let c = b.cookie_header();
    let head = http(
        &gate.addr,
        "HEAD",
        "/data/orders.parquet",
        &[("Cookie", &c)],
        b"",
    );
    assert_eq!(
        (head.status, head.header("Content-Length"), head.body.len()),
        (200, Some("100000"), 0)
    );
    // Other methods.
    assert_eq!(
        http(&gate.addr, "DELETE", "/index.html", &[("Cookie", &c)], b"").status,
        405
    );
}

#[test]
fn traversal_variants_never_leave_the_tree() {
    let (_inst, gate, b) = signed_in(AUTH, "analyst");
    let c = b.cookie_header();
    for path in [
        "/../secret.txt",
        "/../../secret.txt",
        "/tables/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/tables/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2f..%2fsecret.txt",
        "/tables%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/index.html%00.png",
        "/%00",
        "/%zz",
        "/leak.txt",
        "//../secret.txt",
        "/./../secret.txt",
    ] {
        let r = http(&gate.addr, "GET", path, &[("Cookie", &c)], b"");
        assert!(
            matches!(r.status, 400 | 404),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains("TOP SECRET"), "{path} leaked the file");
    }
}

#[test]
fn tampered_expired_and_stale_cookies_are_refused() {
    let (_inst, gate, b) = signed_in(AUTH, "analyst");
    let good = b.jar["gate_session"].clone();
    let ok = http(
        &gate.addr,
        "GET",
        "/",
        &[("Cookie", &format!("gate_session={good}"))],
        b"",
    );
    assert_eq!(ok.status, 200);
    let anon = |cookie: &str| {
        http(
            &gate.addr,
            "GET",
            "/",
            &[("Cookie", &format!("gate_session={cookie}"))],
            b"",
        )
        .status
    };
    // Another address in the same cookie, the MAC kept.
    assert_eq!(
        anon(&good.replace("ana@example.com", "boss@example.com")),
        401
    );
    // A flipped MAC character.
    let mut flipped = good.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    assert_eq!(anon(&flipped), 401);
    // Correctly signed, but issued 8 days ago (absolute limit 7 days) or idle 9 hours (limit 8).
    let keys = broker::gate::session::Keys::new(SECRET, false).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let s = |issued: i64, seen: i64| {
        keys.encode(&broker::gate::session::Session {
            email: "ana@example.com".into(),
            issued,
            seen,
            epoch: 1,
        })
    };
    assert_eq!(
        anon(&s(now - 100, now - 100)),
        200,
        "a fresh signed cookie works"
    );
    assert_eq!(anon(&s(now - 8 * 86_400, now - 10)), 401);
    assert_eq!(anon(&s(now - 10 * 3600, now - 9 * 3600)), 401);
    // Epoch 0: from before the password was set.
    let old = keys.encode(&broker::gate::session::Session {
        email: "ana@example.com".into(),
        issued: now,
        seen: now,
        epoch: 0,
    });
    assert_eq!(anon(&old), 401);
    // A browser without a session is sent to sign in, with where it was going.
    let r = http(
        &gate.addr,
        "GET",
        "/tables/orders.html",
        &[("Accept", "text/html")],
        b"",
    );
    assert_eq!(
        (r.status, r.header("Location")),
        (303, Some("/auth/signin?next=%2Ftables%2Forders.html"))
    );
}

#[test]
fn sign_out_ends_the_session_and_cookie_flags_are_set() {
    let (_inst, gate, mut b) = signed_in(
        "  public_url: https://catalog.example.com\n  allowed_domains: [example.com]\n",
        "analyst",
    );
    let acct = b.get("/auth/account");
    assert_eq!(acct.status, 200);
    assert!(acct
        .text()
        .contains("Signed in as <strong>ana@example.com</strong>"));
    // Sign in again to look at the cookie's attributes.
    let r = b.sign_in("ana@example.com", PASSWORD, "/");
    let set = r
        .headers
        .iter()
        .find(|(k, v)| k == "Set-Cookie" && v.starts_with("gate_session="))
        .unwrap()
        .1
        .clone();
    for flag in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(set.contains(flag), "{flag} missing in {set}");
    }
    let csrf = acct.field("csrf");
    let out = b.post("/auth/signout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 200);
    assert!(!b.jar.contains_key("gate_session"));
    assert_eq!(
        http(
            &gate.addr,
            "GET",
            "/",
            &[("Cookie", &b.cookie_header())],
            b""
        )
        .status,
        401
    );
}

#[test]
fn forms_without_a_valid_csrf_token_are_refused() {
    let (inst, gate, mut b) = signed_in(AUTH, "analyst");
    // No token at all, a made-up token, and a token from another browser's cookie.
    let no = b.post(
        "/auth/password",
        &[("email", "ana@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(no.status, 403);
    let made_up = b.post(
        "/auth/password",
        &[
            ("csrf", "00ff"),
            ("email", "ana@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(made_up.status, 403);
    let mut other = Browser::new(&gate);
    let their = other.get("/auth/signin").field("csrf");
    let cross = b.post("/auth/tokens", &[("csrf", &their), ("name", "x")]);
    assert_eq!(cross.status, 403);
    // The right token from the page works.
    let acct = b.get("/auth/account");
    let ok = b.post(
        "/auth/tokens",
        &[("csrf", &acct.field("csrf")), ("name", "laptop")],
    );
    assert_eq!(ok.status, 200);
    assert!(ok.text().contains("brk_"));
    // Without the CSRF cookie (a cross-site form has none of ours): refused.
    let session = b.jar["gate_session"].clone();
    let bare = http(
        &gate.addr,
        "POST",
        "/auth/signout",
        &[
            ("Cookie", &format!("gate_session={session}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("csrf={}", acct.field("csrf")).as_bytes(),
    );
    assert_eq!(bare.status, 403);
    assert!(inst
        .audit()
        .iter()
        .any(|e| e["event"] == "access_refused" && e["reason"] == "missing or wrong CSRF token"));
}

#[test]
fn next_only_redirects_to_local_paths() {
    let (_inst, _gate, mut b) = signed_in(AUTH, "analyst");
    for (next, want) in [
        ("/tables/orders.html", "/tables/orders.html"),
        ("//evil.example.org/x", "/"),
        ("https://evil.example.org/", "/"),
        ("/\\evil.example.org", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let r = b.sign_in("ana@example.com", PASSWORD, next);
        assert_eq!(
            (r.status, r.header("Location")),
            (303, Some(want)),
            "next={next}"
        );
    }
}

#[test]
fn brute_force_stops_at_the_limit_and_is_audited() {
    let inst = Instance::new("  allowed_domains: [example.com]\n  limits: {failures_per_address: 3, failures_per_ip: 50}\n");
    let link = inst.add_user("ana@example.com", "analyst");
    let gate = Gate::start(&inst, &[]);
    let mut b = Browser::new(&gate);
    assert_eq!(b.set_password(&link, PASSWORD).status, 303);
    let mut attacker = Browser::new(&gate);
    for i in 0..3 {
        let r = attacker.sign_in("ana@example.com", &format!("guess number {i}"), "/");
        assert_eq!(r.status, 401, "try {i}");
        assert!(r.text().contains("Wrong address or password."));
    }
    // The right password is refused now, with 429.
    let r = attacker.sign_in("ana@example.com", PASSWORD, "/");
    assert_eq!(r.status, 429);
    assert!(!attacker.jar.contains_key("gate_session"));
    // An unknown address gets the same answer as a wrong password.
    let r = attacker.sign_in("nobody@example.com", "whatever password", "/");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("Wrong address or password."));
    let audit = inst.audit();
    let refused = audit
        .iter()
        .filter(|e| e["event"] == "sign_in_refused" && e["email"] == "ana@example.com")
        .count();
    assert_eq!(refused, 4, "{audit:?}");
    assert!(audit
        .iter()
        .any(|e| e["reason"] == "too many failed attempts"));
    assert!(audit
        .iter()
        .any(|e| e["event"] == "sign_in" && e["provider"] == "password"));
}

#[test]
fn failure_limits_survive_a_restart() {
    let inst = Instance::new("  allowed_domains: [example.com]\n  limits: {failures_per_address: 3, failures_per_ip: 50}\n");
    let link = inst.add_user("ana@example.com", "analyst");
    let gate = Gate::start(&inst, &[]);
    let mut b = Browser::new(&gate);
    assert_eq!(b.set_password(&link, PASSWORD).status, 303);
    let mut attacker = Browser::new(&gate);
    for i in 0..3 {
        let r = attacker.sign_in("ana@example.com", &format!("guess number {i}"), "/");
        assert_eq!(r.status, 401, "try {i}");
    }
    assert_eq!(
        attacker.sign_in("ana@example.com", PASSWORD, "/").status,
        429
    );
    let file = inst.path().join("state/gate/failures.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Restarted (killed, not stopped gracefully): still limited.
    drop(gate);
    let gate = Gate::start(&inst, &[]);
    let mut attacker = Browser::new(&gate);
    let r = attacker.sign_in("ana@example.com", PASSWORD, "/");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(!attacker.jar.contains_key("gate_session"));
    // Another address from the same client is not limited (50 per IP).
    let link = inst.add_user("bo@example.com", "analyst");
    let mut bo = Browser::new(&gate);
    assert_eq!(bo.set_password(&link, PASSWORD).status, 303);
    assert_eq!(bo.sign_in("bo@example.com", PASSWORD, "/").status, 303);
}

#[test]
fn per_ip_limit_covers_many_addresses() {
    let inst = Instance::new("  allowed_domains: [example.com]\n  limits: {failures_per_address: 10, failures_per_ip: 4}\n");
    let link = inst.add_user("ana@example.com", "analyst");
    let gate = Gate::start(&inst, &[]);
    let mut b = Browser::new(&gate);
    assert_eq!(b.set_password(&link, PASSWORD).status, 303);
    for i in 0..4 {
        assert_eq!(
            b.sign_in(&format!("u{i}@example.com"), "some password 123", "/")
                .status,
            401
        );
    }
    assert_eq!(b.sign_in("ana@example.com", PASSWORD, "/").status, 429);
}

#[test]
fn users_cli_manages_a_private_file() {
    let inst = Instance::new(AUTH);
    let link = inst.add_user("Ana@Example.com", "analyst,private");
    let token = link.split("token=").nth(1).unwrap();
    assert_eq!(token.len(), 64);
    let out = inst.cli(&["users", "add", "ana@example.com"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("ana@example.com is already a user"));
    let out = inst.cli(&["users", "set-groups", "ana@example.com", "admin,analyst"]);
    assert!(out.status.success(), "{}", text(&out));
    let bad = inst.cli(&["users", "set-groups", "ana@example.com", "root"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("unknown group `root`"));
    let list = inst.cli(&["users", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "ana@example.com\tadmin,analyst\tno password\n"
    );
    let file = inst.path().join("state/gate/users.json");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        doc["users"]["ana@example.com"]["groups"],
        serde_json::json!(["admin", "analyst"])
    );
    // No temporary files are left beside it.
    let names: Vec<String> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    let links: serde_json::Value =
        serde_json::from_slice(&std::fs::read(inst.path().join("state/gate/links.json")).unwrap())
            .unwrap();
    let stored = serde_json::to_string(&links).unwrap();
    assert!(
        stored.contains("ana@example.com") && !stored.contains(token),
        "links are stored hashed: {stored}"
    );
    assert!(inst
        .cli(&["users", "remove", "ana@example.com"])
        .status
        .success());
    assert_eq!(
        String::from_utf8_lossy(&inst.cli(&["users", "list"]).stdout),
        ""
    );
    let bad = inst.cli(&["users", "add", "not-an-address"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("`not-an-address` is not an email address"));
}

#[test]
fn set_up_links_are_single_use_and_check_the_policy() {
    let inst = Instance::new(AUTH);
    let link = inst.add_user("ana@example.com", "analyst");
    let gate = Gate::start(&inst, &[]);
    let mut b = Browser::new(&gate);
    // Opening the link twice (a mail scanner, then the person) uses nothing up.
    assert_eq!(b.get(&link).status, 200);
    let page = b.get(&link);
    let (csrf, token) = (page.field("csrf"), page.field("token"));
    let weak = b.post(
        "/auth/password/set",
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("password", "short"),
            ("password2", "short"),
        ],
    );
    assert_eq!(weak.status, 400);
    assert!(weak.text().contains("Use at least 12 characters."));
    let ok = b.set_password(&link, PASSWORD);
    assert_eq!((ok.status, ok.header("Location")), (303, Some("/")));
    // Replayed: refused.
    let again = b.post(
        "/auth/password/set",
        &[
            ("csrf", &csrf),
            ("token", &token),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ],
    );
    assert_eq!(again.status, 410);
    assert_eq!(b.get(&link).status, 410);
    // A new link made before a password change stops working after it.
    let out = inst.cli(&["users", "link", "ana@example.com"]);
    let l2 = String::from_utf8(out.stdout).unwrap();
    let l2 = &l2[l2.find("/auth/password/set").unwrap()..]
        .trim()
        .to_string();
    let out = inst.cli(&["users", "link", "ana@example.com"]);
    let l3 = String::from_utf8(out.stdout).unwrap();
    let l3 = &l3[l3.find("/auth/password/set").unwrap()..]
        .trim()
        .to_string();
    assert_eq!(b.set_password(l2, "another good passphrase").status, 303);
    assert_eq!(b.get(l3).status, 410);
    // The old password no longer works; the new one does.
    assert_eq!(b.sign_in("ana@example.com", PASSWORD, "/").status, 401);
    assert_eq!(
        b.sign_in("ana@example.com", "another good passphrase", "/")
            .status,
        303
    );
}

#[test]
fn refuses_to_start_without_a_secret_or_with_dev_on_a_public_address() {
    let inst = Instance::new(AUTH);
    let out = Command::new(gate_bin())
        .args(["--config", &inst.config(), "--bind", "127.0.0.1:0"])
        .env_remove("GATE_SESSION_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("GATE_SESSION_SECRET is not set"),
        "{}",
        text(&out)
    );
    let out = Command::new(gate_bin())
        .args(["--config", &inst.config(), "--bind", "0.0.0.0:0", "--dev"])
        .env("GATE_SESSION_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains(
            "--dev shows sign-in links in the page: it is allowed only with a loopback --bind"
        ),
        "{}",
        text(&out)
    );
    let bad = Instance::new("  allowed_domains: [example.com]\n  smtp: {host: smtp.example.com, port: 465, tls: starttls, from: gate@example.com}\n");
    let out = bad.cli(&["users", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("instance.yaml:") && text(&out).contains("port 465 is implicit TLS"),
        "{}",
        text(&out)
    );
}

/// `gate tokens issue` for `email`; returns the token.
fn issue_token(inst: &Instance, email: &str, name: &str) -> String {
    let out = inst.cli(&["tokens", "issue", email, "--name", name]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(t.starts_with("brk_") && t.len() == 4 + 16 + 1 + 64, "{t}");
    t
}

#[test]
fn bearer_tokens_read_parquet_by_ranges_until_revoked() {
    let inst = Instance::new(AUTH);
    // A real Parquet file of 50,000 rows, written by DuckDB.
    let parquet = inst.path().join(".public.builds/b1/data/big.parquet");
    let con = duckdb::Connection::open_in_memory().unwrap();
    con.execute_batch(&format!(
        "COPY (SELECT range AS id, range * 2 AS twice FROM range(50000)) TO '{}' (FORMAT parquet)",
        parquet.display()
    ))
    .unwrap();
    let token = issue_token(&inst, "ana@example.com", "duckdb on my laptop");
    let gate = Gate::start(&inst, &[]);
    let auth = format!("Bearer {token}");
    let a = ("Authorization", auth.as_str());
    // What DuckDB's httpfs does: HEAD for the size, the footer by a range, then the metadata.
    let head = http(&gate.addr, "HEAD", "/data/big.parquet", &[a], b"");
    assert_eq!(head.status, 200);
    let size: u64 = head.header("Content-Length").unwrap().parse().unwrap();
    assert_eq!(size, std::fs::metadata(&parquet).unwrap().len());
    let tail = http(
        &gate.addr,
        "GET",
        "/data/big.parquet",
        &[a, ("Range", "bytes=-8")],
        b"",
    );
    assert_eq!(tail.status, 206);
    assert_eq!(&tail.body[4..], b"PAR1");
    let meta_len = u32::from_le_bytes(tail.body[..4].try_into().unwrap()) as u64;
    let range = format!("bytes={}-{}", size - 8 - meta_len, size - 9);
    let meta = http(
        &gate.addr,
        "GET",
        "/data/big.parquet",
        &[a, ("Range", &range)],
        b"",
    );
    assert_eq!(meta.status, 206);
    assert_eq!(meta.body.len() as u64, meta_len);
    let md = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(&meta.body).unwrap();
    assert_eq!(md.file_metadata().num_rows(), 50_000);
    // curl, as a script would, with a range.
    let out = Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "-r",
            "0-3",
        ])
        .arg(format!("http://{}/data/big.parquet", gate.addr))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"PAR1");
    // The token appears in the list with its last use; the file keeps only a digest.
    let list = String::from_utf8(inst.cli(&["tokens", "list"]).stdout).unwrap();
    let id = &token[4..20];
    assert!(
        list.starts_with(&format!("{id}\tana@example.com\tduckdb on my laptop\t")),
        "{list}"
    );
    assert!(
        !list.trim_end().ends_with("never"),
        "last use recorded: {list}"
    );
    let stored = std::fs::read_to_string(inst.path().join("state/gate/tokens.json")).unwrap();
    assert!(!stored.contains(&token[21..]), "the secret is not stored");
    // A wrong secret, an unknown id and a revoked token: 401 with JSON.
    let wrong = format!("Bearer brk_{id}_{}", "0".repeat(64));
    assert_eq!(
        http(
            &gate.addr,
            "GET",
            "/data/big.parquet",
            &[("Authorization", &wrong)],
            b""
        )
        .status,
        401
    );
    assert!(inst.cli(&["tokens", "revoke", id]).status.success());
    let r = http(
        &gate.addr,
        "GET",
        "/data/big.parquet",
        &[a, ("Range", "bytes=0-3")],
        b"",
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer realm=\"gate\""));
    assert!(r.text().contains("\"error\":\"unauthorized\""));
    let audit = inst.audit();
    assert!(audit
        .iter()
        .any(|e| e["event"] == "token_used" && e["token"] == id));
    assert!(audit
        .iter()
        .any(|e| e["event"] == "token_refused" && e["reason"] == "unknown"));
    assert!(audit
        .iter()
        .any(|e| e["event"] == "token_refused" && e["reason"] == "mismatch"));
}

#[test]
fn tokens_are_issued_and_revoked_on_the_account_page() {
    let (_inst, gate, mut b) = signed_in(AUTH, "analyst");
    let acct = b.get("/auth/account");
    let r = b.post(
        "/auth/tokens",
        &[
            ("csrf", &acct.field("csrf")),
            ("name", "notebook"),
            ("days", "30"),
        ],
    );
    assert_eq!(r.status, 200);
    let t = r.text();
    let at = t.find("<code id=\"new-token\">").unwrap() + "<code id=\"new-token\">".len();
    let token = t[at..].split('<').next().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    assert_eq!(
        http(
            &gate.addr,
            "GET",
            "/tables/orders.json",
            &[("Authorization", &bearer)],
            b""
        )
        .status,
        200
    );
    // Shown once: the page afterwards lists it without the secret.
    let acct = b.get("/auth/account");
    assert!(acct.text().contains("notebook") && !acct.text().contains(&token));
    let id = acct.field("id");
    let r = b.post(
        "/auth/tokens/revoke",
        &[("csrf", &acct.field("csrf")), ("id", &id)],
    );
    assert_eq!(
        (r.status, r.header("Location")),
        (303, Some("/auth/account"))
    );
    assert_eq!(
        http(
            &gate.addr,
            "GET",
            "/tables/orders.json",
            &[("Authorization", &bearer)],
            b""
        )
        .status,
        401
    );
}

#[test]
fn private_overlay_is_served_only_to_the_private_group() {
    let inst = Instance::new(AUTH);
    let analyst = issue_token(&inst, "ana@example.com", "a");
    inst.add_user("pia@example.com", "analyst,private");
    let private = issue_token(&inst, "pia@example.com", "p");
    let gate = Gate::start(&inst, &[]);
    let get = |token: &str, path: &str| {
        let r = http(
            &gate.addr,
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        );
        (r.status, r.text())
    };
    // The analyst sees the public tree only; the overlay does not exist for them.
    assert_eq!(
        get(&analyst, "/"),
        (
            200,
            "<!doctype html><title>Home</title><p>public dashboard</p>".into()
        )
    );
    assert_eq!(get(&analyst, "/tables/salaries.html").0, 404);
    assert_eq!(get(&analyst, "/data/salaries.parquet").0, 404);
    for direct in [
        "/_private/tables/salaries.html",
        "/_private/",
        "/_private",
        "/%5fprivate/index.html",
        "/tables/alias.html",
    ] {
        assert_eq!(get(&analyst, direct).0, 404, "{direct}");
    }
    // The member gets the overlay's version where there is one, the public file elsewhere.
    assert_eq!(
        get(&private, "/"),
        (200, "<p>dashboard with salaries</p>".into())
    );
    assert_eq!(
        get(&private, "/index.html"),
        (200, "<p>dashboard with salaries</p>".into())
    );
    assert_eq!(
        get(&private, "/tables/salaries.html"),
        (200, "<p>salaries page</p>".into())
    );
    assert_eq!(
        get(&private, "/data/salaries.parquet"),
        (200, "PAR1 salaries PAR1".into())
    );
    assert_eq!(
        get(&private, "/tables/orders.html"),
        (200, "<p>orders page</p>".into())
    );
    // Direct requests under the overlay are 404 for members too.
    assert_eq!(get(&private, "/_private/tables/salaries.html").0, 404);
    // Moving pia out of the group takes effect at her next request.
    assert!(inst
        .cli(&["users", "set-groups", "pia@example.com", "analyst"])
        .status
        .success());
    assert_eq!(get(&private, "/tables/salaries.html").0, 404);
}

#[test]
fn private_group_is_configurable() {
    let inst = Instance::new("  allowed_domains: [example.com]\n  private: {group: admin}\n");
    inst.add_user("root@example.com", "admin");
    let admin = issue_token(&inst, "root@example.com", "a");
    inst.add_user("pia@example.com", "analyst,private");
    let private = issue_token(&inst, "pia@example.com", "p");
    let gate = Gate::start(&inst, &[]);
    let status = |token: &str| {
        http(
            &gate.addr,
            "GET",
            "/tables/salaries.html",
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
        .status
    };
    assert_eq!((status(&admin), status(&private)), (200, 404));
}

/// A free loopback port (bound and released; the test server binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Python's aiosmtpd on loopback, printing every message it receives; killed when dropped.
struct Smtp {
    child: Child,
    port: u16,
    out: Arc<Mutex<String>>,
}

impl Smtp {
    fn start() -> Smtp {
        let port = free_port();
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "aiosmtpd",
                "-n",
                "-c",
                "aiosmtpd.handlers.Debugging",
                "-l",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd)");
        let out = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Smtp { child, port, out }
    }

    /// The link path (`/auth/...?token=<64 hex>`) of the `n`th mail received, waiting up to
    /// 20 s (quoted-printable soft line breaks and `=3D` decoded, as a mail client does).
    fn link(&self, n: usize) -> String {
        let start = Instant::now();
        loop {
            let o = self
                .out
                .lock()
                .unwrap()
                .replace("=\n", "")
                .replace("=3D", "=");
            let links: Vec<String> = o
                .match_indices("/auth/email/confirm?token=")
                .map(|(i, m)| o[i..i + m.len() + 64].to_string())
                .collect();
            if let Some(l) = links.get(n) {
                return l.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no mail {n}:\n{o}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self) -> String {
        self.out.lock().unwrap().clone()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn email_links_arrive_by_smtp_work_once_and_are_not_used_up_by_opening() {
    let smtp = Smtp::start();
    let inst = Instance::new(&format!(
        "  allowed_domains: [example.com]\n  smtp: {{host: 127.0.0.1, port: {}, tls: none, from: \"Catalog <gate@example.com>\"}}\n",
        smtp.port
    ));
    let gate = Gate::start(&inst, &[]);
    let mut b = Browser::new(&gate);
    let page = b.get("/auth/signin");
    assert!(
        page.text().contains("action=\"/auth/email\""),
        "the email form is offered"
    );
    let csrf = page.field("csrf");
    let known = b.post(
        "/auth/email",
        &[("csrf", &csrf), ("email", "Bo@Example.com")],
    );
    // An address that may not sign in gets the very same answer, and no mail.
    let unknown = b.post(
        "/auth/email",
        &[("csrf", &csrf), ("email", "bo@example.com.evil.org")],
    );
    assert_eq!((known.status, unknown.status), (200, 200));
    assert_eq!(known.body, unknown.body);
    let link = smtp.link(0);
    let mail = smtp.text();
    assert!(
        mail.contains("To: bo@example.com") && mail.contains("Subject: Your sign-in link"),
        "{mail}"
    );
    assert!(!mail.contains("evil.org"), "no mail to a refused address");
    // A second request within the cooldown sends nothing more.
    let again = b.post(
        "/auth/email",
        &[("csrf", &csrf), ("email", "bo@example.com")],
    );
    assert_eq!(again.body, known.body);
    // A mail scanner opens the link (HEAD and GET) from another client: nothing happens.
    assert_eq!(
        http(&gate.addr, "HEAD", &link, &[], b"").status,
        200,
        "{link} from {mail}"
    );
    let scanner = http(&gate.addr, "GET", &link, &[], b"");
    assert_eq!(scanner.status, 200);
    assert!(scanner
        .header("Set-Cookie")
        .is_none_or(|c| !c.contains("gate_session")));
    assert_eq!(scanner.header("Referrer-Policy"), Some("no-referrer"));
    // The person opens it and presses the button.
    let confirm = b.get(&link);
    assert!(confirm.text().contains("Sign in as bo@example.com?"));
    let token = confirm.field("token");
    let r = b.post(
        "/auth/email/confirm",
        &[("csrf", &confirm.field("csrf")), ("token", &token)],
    );
    assert_eq!((r.status, r.header("Location")), (303, Some("/")));
    assert_eq!(b.get("/").status, 200);
    // Replayed (the button again, or the link opened again): refused.
    let mut replay = Browser::new(&gate);
    let csrf2 = replay.get("/auth/signin").field("csrf");
    let r = replay.post(
        "/auth/email/confirm",
        &[("csrf", &csrf2), ("token", &token)],
    );
    assert_eq!(r.status, 410);
    assert!(!replay.jar.contains_key("gate_session"));
    assert_eq!(b.get(&link).status, 410);
    // The sending thread writes its audit line after the server took the message.
    let start = Instant::now();
    while !inst
        .audit()
        .iter()
        .any(|e| e["event"] == "link_sent" && e["email"] == "bo@example.com")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no link_sent in {:?}",
            inst.audit()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let audit = inst.audit();
    assert!(audit
        .iter()
        .any(|e| e["event"] == "link_suppressed" && e["email"] == "bo@example.com.evil.org"));
    assert!(audit
        .iter()
        .any(|e| e["event"] == "link_suppressed" && e["reason"] == "mail limit"));
    assert!(audit
        .iter()
        .any(|e| e["event"] == "sign_in" && e["provider"] == "email"));
    let stored = std::fs::read_to_string(inst.path().join("state/gate/links.json")).unwrap();
    assert!(!stored.contains(&token));
    assert_eq!(smtp.text().matches("Subject: Your sign-in link").count(), 1);
}

/// Ask for an email sign-in link for `email` from `b`.
fn ask_for_link(b: &mut Browser, email: &str) -> Resp {
    let csrf = b.get("/auth/signin").field("csrf");
    b.post("/auth/email", &[("csrf", &csrf), ("email", email)])
}

#[test]
fn email_links_work_only_in_the_browser_that_asked() {
    let smtp = Smtp::start();
    let inst = Instance::new(&format!(
        "  allowed_domains: [example.com]\n  smtp: {{host: 127.0.0.1, port: {}, tls: none, from: \"Catalog <gate@example.com>\"}}\n",
        smtp.port
    ));
    let gate = Gate::start(&inst, &[]);
    let mut laptop = Browser::new(&gate);
    let asked = ask_for_link(&mut laptop, "bo@example.com");
    assert_eq!(asked.status, 200);
    let cookie = asked
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("Set-Cookie") && v.starts_with("gate_link="))
        .map(|(_, v)| v.clone())
        .expect("a gate_link cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=900"),
        "{cookie}"
    );
    // Any address gets the cookie (the answer does not tell which addresses exist).
    let mut other = Browser::new(&gate);
    let r = ask_for_link(&mut other, "x@example.com.evil.org");
    assert!(other.jar.contains_key("gate_link"), "{:?}", r.headers);
    let link = smtp.link(0);
    // The link forwarded to someone else (another browser, another device): no button, a way
    // to ask for a link of one's own, and a POST of the token is refused.
    let mut phone = Browser::new(&gate);
    let page = phone.get(&link);
    assert_eq!(page.status, 200);
    assert!(
        page.text()
            .contains("open it in the browser where you asked for it"),
        "{}",
        page.text()
    );
    assert!(!page.text().contains("name=\"token\""), "no sign-in button");
    assert!(page.text().contains("action=\"/auth/email\""));
    let token = &link[link.find("token=").unwrap() + 6..];
    let csrf = page.field("csrf");
    let r = phone.post("/auth/email/confirm", &[("csrf", &csrf), ("token", token)]);
    assert_eq!(r.status, 403);
    assert!(!phone.jar.contains_key("gate_session"));
    // A forged cookie does not help either.
    phone.jar.insert(
        "gate_link".into(),
        format!("{}.{}", "a".repeat(32), "b".repeat(64)),
    );
    let r = phone.post("/auth/email/confirm", &[("csrf", &csrf), ("token", token)]);
    assert_eq!(r.status, 403);
    // The browser that asked still signs in with it: the refusals did not use it up.
    let confirm = laptop.get(&link);
    assert!(
        confirm.text().contains("Sign in as bo@example.com?"),
        "{}",
        confirm.text()
    );
    let r = laptop.post(
        "/auth/email/confirm",
        &[
            ("csrf", &confirm.field("csrf")),
            ("token", &confirm.field("token")),
        ],
    );
    assert_eq!((r.status, r.header("Location")), (303, Some("/")));
    assert_eq!(laptop.get("/").status, 200);
    // Then it is spent, for everyone.
    let r = laptop.post(
        "/auth/email/confirm",
        &[("csrf", &confirm.field("csrf")), ("token", token)],
    );
    assert_eq!(r.status, 410);
    assert!(inst.audit().iter().any(|e| e["event"] == "sign_in_refused"
        && e["reason"] == "link used in another browser"
        && e["email"] == "bo@example.com"));
}

#[test]
fn without_mail_the_email_provider_is_off_unless_dev_on_loopback() {
    let inst = Instance::new(AUTH);
    let gate = Gate::start(&inst, &[]);
    let mut b = Browser::new(&gate);
    let page = b.get("/auth/signin");
    assert!(!page.text().contains("action=\"/auth/email\""));
    let r = b.post(
        "/auth/email",
        &[("csrf", &page.field("csrf")), ("email", "bo@example.com")],
    );
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("token="));
    drop(gate);
    let gate = Gate::start(&inst, &["--dev"]);
    let mut b = Browser::new(&gate);
    let page = b.get("/auth/signin");
    let r = b.post(
        "/auth/email",
        &[("csrf", &page.field("csrf")), ("email", "bo@example.com")],
    );
    assert_eq!(r.status, 200);
    let t = r.text();
    let at = t
        .find("/auth/email/confirm?token=")
        .expect("--dev shows the link");
    let link = t[at..].split('"').next().unwrap().to_string();
    let confirm = b.get(&link);
    let r = b.post(
        "/auth/email/confirm",
        &[
            ("csrf", &confirm.field("csrf")),
            ("token", &confirm.field("token")),
        ],
    );
    assert_eq!(r.status, 303);
    // Refused addresses get the same page, without a link.
    let r = b.post(
        "/auth/email",
        &[("csrf", &page.field("csrf")), ("email", "eve@other.org")],
    );
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("token="));
}

#[test]
fn forward_auth_check_answers_200_401_403() {
    let inst = Instance::new("  allowed_domains: [example.com]\n  trust_proxy: {header: X-Forwarded-Email, from: [127.0.0.1]}\n");
    let analyst = issue_token(&inst, "ana@example.com", "a");
    inst.add_user("pia@example.com", "analyst,private");
    let gate = Gate::start(&inst, &[]);
    let check = |h: &[(&str, &str)]| http(&gate.addr, "GET", "/auth/check", h, b"");
    let anon = check(&[]);
    assert_eq!(anon.status, 401);
    let bearer = format!("Bearer {analyst}");
    let ok = check(&[
        ("Authorization", &bearer),
        ("X-Forwarded-Uri", "/tables/orders.html"),
    ]);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("X-Auth-Email"), Some("ana@example.com"));
    assert_eq!(ok.header("X-Auth-Groups"), Some("analyst"));
    let private = check(&[
        ("Authorization", &bearer),
        ("X-Forwarded-Uri", "/_private/tables/salaries.html?x=1"),
    ]);
    assert_eq!(private.status, 403);
    // Trust-proxy: the header from a trusted address is the identity (allow-lists still apply).
    let p = check(&[
        ("X-Forwarded-Email", "Pia@example.com"),
        ("X-Forwarded-Uri", "/_private/x"),
    ]);
    assert_eq!(
        (
            p.status,
            p.header("X-Auth-Email"),
            p.header("X-Auth-Groups")
        ),
        (200, Some("pia@example.com"), Some("analyst,private"))
    );
    assert_eq!(check(&[("X-Forwarded-Email", "eve@evil.org")]).status, 401);
    // The same header from an address that is not a configured proxy is ignored.
    drop(gate);
    std::fs::write(
        inst.path().join("config/instance.yaml"),
        std::fs::read_to_string(inst.path().join("config/instance.yaml"))
            .unwrap()
            .replace("from: [127.0.0.1]", "from: [10.9.9.9]"),
    )
    .unwrap();
    let gate = Gate::start(&inst, &[]);
    let r = http(
        &gate.addr,
        "GET",
        "/auth/check",
        &[("X-Forwarded-Email", "pia@example.com")],
        b"",
    );
    assert_eq!(r.status, 401);
    let r = http(
        &gate.addr,
        "GET",
        "/index.html",
        &[("X-Forwarded-Email", "pia@example.com")],
        b"",
    );
    assert_eq!(r.status, 401);
}

/// A proxy process (nginx or Caddy) for the forward-auth tests, killed when dropped.
struct Proxy {
    child: Child,
}

impl Proxy {
    /// Wait until `child` listens on loopback `port`; `log` is read into the panic message
    /// when it does not within 20 s.
    fn listening(child: Child, port: u16, log: &Path) -> Proxy {
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{} did not start: {}",
                log.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Proxy { child }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx (Debian package) started with `conf`, killed when dropped (the test configuration runs
/// it as one process, `master_process off`, so killing it leaves no workers behind).
fn start_nginx(dir: &Path, conf: &str, port: u16) -> Proxy {
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx installed (apt-get install nginx)");
    let child = Command::new(bin)
        .args([
            "-p",
            dir.to_str().unwrap(),
            "-c",
            dir.join("nginx.conf").to_str().unwrap(),
            "-g",
            "daemon off;",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proxy::listening(child, port, &dir.join("error.log"))
}

/// docs/gate.md's nginx server block for forward-auth, with the ports and paths of a test.
fn nginx_conf(dir: &Path, port: u16, gate: &str, tree: &Path) -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gate.md"))
        .unwrap();
    let start = doc
        .find("```nginx\n")
        .expect("an nginx snippet in docs/gate.md")
        + 9;
    let server = &doc[start..start + doc[start..].find("```").unwrap()];
    let server = server
        .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port};"))
        .replace("127.0.0.1:8080", gate)
        .replace("/srv/broker/public", tree.to_str().unwrap());
    let server: String = server
        .lines()
        .filter(|l| !l.trim_start().starts_with("ssl_"))
        .map(|l| format!("{l}\n"))
        .collect();
    let d = dir.display();
    format!(
        "master_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  types {{ text/html html; application/json json; application/vnd.apache.parquet parquet; }}\n{server}}}\n"
    )
}

/// What a proxy in forward-auth mode in front of gate (at `addr`, serving the tree of
/// [`Instance::new`]) must do: send anonymous browsers to sign in and serve them nothing;
/// after sign-in with the set-up `link`, serve pages and ranges; never serve the overlay
/// directly; serve its files to the private group's `member` token at the usual paths; drop a
/// client's identity header.
fn signed_in_users_only_through_a_proxy(addr: &str, link: &str, member: &str) {
    let addr = addr.to_string();
    // Anonymous: sent to sign in, the page is not served, nor a data file.
    let r = http(&addr, "GET", "/tables/orders.html", &[], b"");
    assert_eq!(r.status, 302, "{}", r.text());
    assert!(
        r.header("Location")
            .is_some_and(|l| l.ends_with("/auth/signin?next=/tables/orders.html")),
        "{:?}",
        r.header("Location")
    );
    assert!(!r.text().contains("orders page"));
    let r = http(&addr, "GET", "/data/orders.parquet", &[], b"");
    assert!(!r.body.starts_with(&[0, 1, 2, 3]));
    // Signing in through the proxy (the /auth/ pages are proxied to gate), then reading.
    let mut b = Browser {
        addr: addr.clone(),
        jar: BTreeMap::new(),
    };
    assert_eq!(b.set_password(link, PASSWORD).status, 303);
    let page = b.get("/tables/orders.html");
    assert_eq!(
        (page.status, page.text()),
        (200, "<p>orders page</p>".to_string())
    );
    let part = b.get_with("/data/orders.parquet", &[("Range", "bytes=1-3")]);
    assert_eq!((part.status, part.body), (206, vec![1, 2, 3]));
    // The private overlay is not reachable through the proxy, by the analyst or by a member; the
    // member is served its files at the usual paths, the analyst is not.
    assert_eq!(b.get("/_private/tables/salaries.html").status, 404);
    assert_eq!(b.get("/tables/salaries.html").status, 404);
    assert_eq!(
        b.get("/").text(),
        "<!doctype html><title>Home</title><p>public dashboard</p>"
    );
    let as_member = |path: &str| {
        let r = http(
            &addr,
            "GET",
            path,
            &[("Authorization", &format!("Bearer {member}"))],
            b"",
        );
        (r.status, r.text())
    };
    assert_eq!(as_member("/_private/tables/salaries.html").0, 404);
    assert_eq!(
        as_member("/tables/salaries.html"),
        (200, "<p>salaries page</p>".into())
    );
    assert_eq!(
        as_member("/"),
        (200, "<p>dashboard with salaries</p>".into())
    );
    assert_eq!(
        as_member("/tables/orders.html"),
        (200, "<p>orders page</p>".into())
    );
    // A spoofed identity header from the client is dropped before it reaches gate.
    let r = http(
        &addr,
        "GET",
        "/tables/orders.html",
        &[("X-Forwarded-Email", "ana@example.com")],
        b"",
    );
    assert_eq!(r.status, 302);
}

#[test]
fn nginx_forward_auth_serves_signed_in_users_only() {
    let inst = Instance::new("  allowed_domains: [example.com]\n  trust_proxy: {header: X-Forwarded-Email, from: [127.0.0.1]}\n");
    let link = inst.add_user("ana@example.com", "analyst");
    inst.add_user("pia@example.com", "analyst,private");
    let gate = Gate::start(&inst, &[]);
    let port = free_port();
    let ndir = inst.path().join("nginx");
    std::fs::create_dir_all(&ndir).unwrap();
    let tree = std::fs::canonicalize(inst.path().join("public")).unwrap();
    let _nginx = start_nginx(&ndir, &nginx_conf(&ndir, port, &gate.addr, &tree), port);
    let member = issue_token(&inst, "pia@example.com", "p");
    signed_in_users_only_through_a_proxy(&format!("127.0.0.1:{port}"), &link, &member);
}

/// A Caddy server (Debian package `caddy`) run with `caddyfile` in `dir`.
fn start_caddy(dir: &Path, caddyfile: &str, port: u16) -> Proxy {
    std::fs::write(dir.join("Caddyfile"), caddyfile).unwrap();
    let log = std::fs::File::create(dir.join("caddy.log")).unwrap();
    let child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("caddy runs (Debian package caddy, installed by .ci/run)");
    Proxy::listening(child, port, &dir.join("caddy.log"))
}

/// docs/gate.md's Caddy site block for forward-auth, with the ports and paths of a test, over
/// plain HTTP on loopback with the admin endpoint off.
fn caddy_conf(port: u16, gate: &str, tree: &Path) -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gate.md"))
        .unwrap();
    let start = doc
        .find("```caddy\n")
        .expect("a Caddy snippet in docs/gate.md")
        + 9;
    let site = &doc[start..start + doc[start..].find("```").unwrap()];
    assert!(site.starts_with("catalog.example.com {"), "{site}");
    let site = site
        .replace(
            "catalog.example.com {",
            &format!("http://127.0.0.1:{port} {{"),
        )
        .replace("127.0.0.1:8080", gate)
        .replace("/srv/broker/public", tree.to_str().unwrap());
    format!("{{\n    admin off\n    auto_https off\n}}\n{site}")
}

#[test]
fn caddy_forward_auth_serves_signed_in_users_only() {
    let inst = Instance::new("  allowed_domains: [example.com]\n  trust_proxy: {header: X-Forwarded-Email, from: [127.0.0.1]}\n");
    let link = inst.add_user("ana@example.com", "analyst");
    inst.add_user("pia@example.com", "analyst,private");
    let member = issue_token(&inst, "pia@example.com", "p");
    let gate = Gate::start(&inst, &[]);
    let port = free_port();
    let cdir = inst.path().join("caddy");
    std::fs::create_dir_all(&cdir).unwrap();
    let tree = std::fs::canonicalize(inst.path().join("public")).unwrap();
    let _caddy = start_caddy(&cdir, &caddy_conf(port, &gate.addr, &tree), port);
    signed_in_users_only_through_a_proxy(&format!("127.0.0.1:{port}"), &link, &member);
}

/// Read one response (head and a `Content-Length` body) from a kept-alive connection.
fn read_response(r: &mut BufReader<TcpStream>) -> Resp {
    let mut status_line = String::new();
    r.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .unwrap()
        .1
        .parse()
        .unwrap();
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    Resp {
        status,
        headers,
        body,
    }
}

#[test]
fn large_files_stream_whole_and_by_ranges_on_a_kept_alive_connection() {
    let inst = Instance::new(AUTH);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(inst.path().join(".public.builds/b1/data/large.bin"), &data).unwrap();
    let token = issue_token(&inst, "ana@example.com", "a");
    let gate = Gate::start(&inst, &[]);
    let s = TcpStream::connect(&gate.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let ask = |w: &mut TcpStream, path: &str, extra: &str| {
        write!(
            w,
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{extra}\r\n"
        )
        .unwrap();
    };
    ask(&mut w, "/data/large.bin", "");
    let full = read_response(&mut r);
    assert_eq!(full.status, 200);
    assert_eq!(
        full.header("Content-Type"),
        Some("application/octet-stream")
    );
    assert!(full.header("ETag").is_some() && full.header("Date").is_some());
    assert!(full.body == data, "the whole file, byte for byte");
    ask(&mut w, "/data/large.bin", "Range: bytes=1000-2000999\r\n");
    let part = read_response(&mut r);
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("Content-Range"),
        Some("bytes 1000-2000999/3000000")
    );
    assert!(part.body == data[1000..2_001_000]);
    // The same connection still answers ordinary requests.
    ask(&mut w, "/tables/orders.json", "");
    let small = read_response(&mut r);
    assert_eq!(
        (small.status, small.text()),
        (200, "{\"table\":\"orders\"}".to_string())
    );
}

/// Google / OpenID Connect through the gate, against the local provider of tests/oidc.rs: the
/// start sets a signed pending-login cookie and sends the browser to the provider; its callback
/// signs in an allowed, verified address; the same callback replayed, a callback without this
/// browser's cookie, and an address outside the allowed domains are refused, each audited.
#[test]
fn openid_connect_sign_in_through_the_gate() {
    let p = Provider::start();
    let auth = format!(
        "  allowed_domains: [allowed.com]\n  oidc:\n    discovery_url: {}/.well-known/openid-configuration\n    client_id: {CLIENT_ID}\n    client_secret: ${{GATE_TEST_OIDC_SECRET}}\n    redirect_url: https://data.example.com/auth/oidc/callback\n",
        p.base
    );
    let inst = Instance::new(&auth);
    let gate = Gate::start_env(
        &inst,
        &[],
        &[
            ("GATE_SESSION_SECRET", SECRET),
            ("GATE_TEST_OIDC_SECRET", CLIENT_SECRET),
        ],
    );
    let mut b = Browser::new(&gate);
    let page = b.get("/auth/signin?next=%2Ftables%2Forders.html");
    assert!(
        page.text().contains("/auth/oidc/start?next="),
        "{}",
        page.text()
    );

    // One whole sign-in: start → provider → callback.
    let sign_in = |b: &mut Browser| -> (Resp, String) {
        let start = b.get("/auth/oidc/start?next=%2Ftables%2Forders.html");
        assert_eq!(start.status, 303, "{}", start.text());
        assert!(b.jar.contains_key("gate_oidc"), "{:?}", start.headers);
        let (code, state) = p.authorize(start.header("Location").unwrap());
        let callback = format!(
            "/auth/oidc/callback?code={}&state={}",
            form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
        );
        (b.get(&callback), callback)
    };
    let (done, callback) = sign_in(&mut b);
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(done.header("Location"), Some("/tables/orders.html"));
    assert!(b.jar.contains_key("gate_session"));
    assert!(
        !b.jar.contains_key("gate_oidc"),
        "pending cookie not cleared"
    );
    let page = b.get("/tables/orders.html");
    assert_eq!(page.status, 200);
    assert_eq!(page.text(), "<p>orders page</p>");

    // Replayed callback: the pending cookie is gone (and the code spent).
    let replay = b.get(&callback);
    assert_eq!(replay.status, 403, "{}", replay.text());

    // Another browser presenting the callback without the pending cookie.
    let mut other = Browser::new(&gate);
    let (_, callback) = {
        let mut starter = Browser::new(&gate);
        sign_in_start_only(&mut starter, &p)
    };
    let stolen = other.get(&callback);
    assert_eq!(stolen.status, 403, "{}", stolen.text());
    assert!(!other.jar.contains_key("gate_session"));

    // A verified address outside the allowed domains.
    p.control(serde_json::json!({"email": "mallory@allowed.com.evil.org"}));
    let mut m = Browser::new(&gate);
    let (refused, _) = sign_in(&mut m);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(!m.jar.contains_key("gate_session"));

    let audit = inst.audit();
    let events: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e["provider"] == "oidc")
        .map(|e| {
            (
                e["event"].as_str().unwrap_or(""),
                e["email"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        events.contains(&("sign_in", "alice@allowed.com")),
        "{audit:?}"
    );
    let refusals = audit
        .iter()
        .filter(|e| e["provider"] == "oidc" && e["event"] == "sign_in_refused")
        .count();
    assert_eq!(refusals, 3, "{audit:?}");
}

/// Start a sign-in in `b` and follow the provider, without calling the gate's callback:
/// returns the provider's answer and the callback path.
fn sign_in_start_only(b: &mut Browser, p: &Provider) -> (String, String) {
    let start = b.get("/auth/oidc/start?next=%2F");
    assert_eq!(start.status, 303, "{}", start.text());
    let (code, state) = p.authorize(start.header("Location").unwrap());
    let callback = format!(
        "/auth/oidc/callback?code={}&state={}",
        form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    (code, callback)
}

/// Files of a published tree, relative paths with `/`, the private overlay left out.
fn public_files(root: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| e.depth() > 1 || e.file_name() != "_private")
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

#[test]
fn private_table_of_the_demo_is_invisible_to_analysts() {
    // The demo with `support_tickets` private, served by gate.
    let dir = common::demo_instance(None);
    let dd = dir.path().join("content/data_description.md");
    let declared = std::fs::read_to_string(&dd).unwrap();
    std::fs::write(
        &dd,
        declared.replacen(
            "    name: support_tickets\n",
            "    name: support_tickets\n    private: true\n",
            1,
        ),
    )
    .unwrap();
    let config = dir.path().join("config/instance.yaml");
    let mut yaml = std::fs::read_to_string(&config).unwrap();
    yaml.push_str("auth:\n  allowed_domains: [example.com]\n");
    std::fs::write(&config, yaml).unwrap();
    let built = common::broker(&["build", "--instance", dir.path().to_str().unwrap()]);
    assert!(built.status.success(), "{}", text(&built));
    // Nothing in the public tree names the table, so the leak check says nothing either; the
    // public doc's links to the docs left out are named.
    let log = String::from_utf8_lossy(&built.stderr);
    assert!(!log.contains("is named in"), "{log}");
    assert!(
        log.contains("in the public view (without private tables): ")
            && log.contains("getting-started.md:13: broken link data-model.html"),
        "{log}"
    );
    let root = std::fs::canonicalize(dir.path().join("public")).unwrap();

    // On disk: the root holds the public view; the overlay what the full view adds or changes.
    let secret_words = [
        "support_tickets",
        "first_response_at",
        "TKT-0",
        "avg_resolution_hours",
    ];
    let files = public_files(&root);
    assert!(files.len() > 60, "{files:?}");
    for rel in &files {
        assert!(!rel.contains("support_tickets"), "{rel}");
        if rel.ends_with(".parquet") {
            continue;
        }
        let body = std::fs::read_to_string(root.join(rel)).unwrap();
        for w in secret_words {
            assert!(!body.contains(w), "{rel} holds {w}");
        }
    }
    for rel in [
        "_private/data/crm/support_tickets.parquet",
        "_private/tables/support_tickets.html",
        "_private/tables/support_tickets.json",
        "_private/tables/index.html",
        "_private/metrics/support/avg_resolution_hours.html",
        "_private/docs/data-model.html",
        "_private/analyst/views.sql",
        "_private/meta/manifest.json",
        "_private/meta/profiles.json",
    ] {
        assert!(root.join(rel).is_file(), "{rel}");
    }
    // Files the two views share are not copied into the overlay.
    assert!(!root.join("_private/tables/products.html").exists());
    assert!(!root.join("_private/assets").exists());

    let inst = Instance { dir };
    let analyst = issue_token(&inst, "ana@example.com", "a");
    inst.add_user("pia@example.com", "analyst,private");
    let member = issue_token(&inst, "pia@example.com", "p");
    let gate = Gate::start(&inst, &[]);
    let get = |token: &str, path: &str| {
        http(
            &gate.addr,
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
    };
    // Every page and file, as the analyst gets it from the gate.
    for rel in &files {
        let r = get(&analyst, &format!("/{rel}"));
        assert_eq!(r.status, 200, "{rel}");
        assert_eq!(r.body, std::fs::read(root.join(rel)).unwrap(), "{rel}");
    }
    for path in [
        "/tables/support_tickets.html",
        "/tables/support_tickets.json",
        "/data/crm/support_tickets.parquet",
        "/metrics/support/avg_resolution_hours.html",
        "/docs/data-model.html",
        "/_private/data/crm/support_tickets.parquet",
        "/_private/tables/support_tickets.html",
    ] {
        assert_eq!(get(&analyst, path).status, 404, "{path}");
    }
    // The member sees the full catalog at the same paths.
    let page = get(&member, "/tables/support_tickets.html");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("first_response_at"));
    let badge = "title=\"Seen only by the private group\">private</span>";
    assert!(page.text().contains(badge));
    assert!(get(&member, "/tables/").text().contains(badge));
    assert!(!get(&member, "/tables/orders.html").text().contains(badge));
    assert!(page
        .text()
        .contains("&quot;$build&quot;/_private/data/crm/support_tickets.parquet data/crm/"));
    let twin: serde_json::Value =
        serde_json::from_str(&get(&member, "/tables/support_tickets.json").text()).unwrap();
    assert_eq!(
        twin["synced"]["files"][0]["path"],
        "data/crm/support_tickets.parquet"
    );
    let data = get(&member, "/data/crm/support_tickets.parquet");
    assert_eq!((data.status, &data.body[..4]), (200, &b"PAR1"[..]));
    assert!(get(&member, "/tables/customers.html")
        .text()
        .contains("support_tickets.html"));
    assert!(get(&member, "/tables/index.html")
        .text()
        .contains("support_tickets"));
    assert!(get(&member, "/search/index.js")
        .text()
        .contains("support_tickets"));
    assert!(get(&analyst, "/tables/customers.html").status == 200);
    assert_eq!(
        get(&member, "/_private/tables/support_tickets.html").status,
        404
    );

    // On a laptop: the public copy, and the member's copy with the overlay laid over it, both
    // open their views.sql in DuckDB.
    let duck = |tree: &Path| {
        let c = duckdb::Connection::open_in_memory().unwrap();
        c.execute_batch(&format!("SET file_search_path = '{}';", tree.display()))
            .unwrap();
        c.execute_batch(&std::fs::read_to_string(tree.join("analyst/views.sql")).unwrap())
            .unwrap();
        c
    };
    let tables = |c: &duckdb::Connection| -> Vec<String> {
        let mut s = c
            .prepare("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let public = duck(&root);
    assert_eq!(tables(&public).len(), 8);
    assert!(!tables(&public).contains(&"support_tickets".to_string()));
    let laptop = broker::testkit::tempdir().unwrap();
    for rel in &files {
        let to = laptop.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(rel), to).unwrap();
    }
    common::copy_tree(&root.join("_private"), laptop.path());
    let full = duck(laptop.path());
    assert_eq!(tables(&full).len(), 9);
    let rows: i64 = full
        .query_row("SELECT count(*) FROM support_tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 500);

    // The next builds find the private table's published data again: a rebuild that changes
    // nothing publishes nothing, and one that leaves the table out keeps its file.
    let again = common::broker(&[
        "build",
        "--instance",
        inst.path().to_str().unwrap(),
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["published"], false, "{}", text(&again));
    let select = common::broker(&[
        "build",
        "--instance",
        inst.path().to_str().unwrap(),
        "--json",
        "--select",
        "orders",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&select.stdout).unwrap();
    let tickets = common::summary_table(&summary, "support_tickets");
    assert_eq!(
        (tickets["status"].as_str(), tickets["rows"].as_u64()),
        (Some("skipped"), Some(500)),
        "{}",
        text(&select)
    );
    let root = std::fs::canonicalize(inst.path().join("public")).unwrap();
    assert!(root
        .join("_private/data/crm/support_tickets.parquet")
        .is_file());
}

/// A connection that sent `bytes` and nothing more.
fn partial(addr: &str, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(bytes).unwrap();
    s
}

/// Read until the server closes `s` (or `limit` passes); what it sent and how long it took.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    (got, start.elapsed())
}

#[test]
fn slow_clients_are_timed_out_and_do_not_hold_the_workers() {
    let inst = Instance::new(AUTH);
    inst.append_config(
        "gate:\n  read_timeout_seconds: 2\n  head_timeout_seconds: 3\n  max_connections: 64\n",
    );
    let token = issue_token(&inst, "ana@example.com", "load test");
    let gate = Gate::start(&inst, &["--workers", "2"]);
    let auth = format!("Bearer {token}");
    // More idle clients than workers, each with half a request line; one that announces a
    // small form body it never sends (tiny_http reads bodies up to 1 KiB before a worker sees
    // the request), and one with a larger body (that one holds a worker until the read
    // timeout).
    let mut idle: Vec<TcpStream> = (0..12)
        .map(|_| partial(&gate.addr, b"GET /index.html HT"))
        .collect();
    idle.push(partial(
        &gate.addr,
        b"POST /auth/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a",
    ));
    let mut body = partial(
        &gate.addr,
        b"POST /auth/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nemail=a",
    );
    // A slow loris: a header line every second, each within the read timeout.
    let drip_addr = gate.addr.clone();
    let drip = std::thread::spawn(move || {
        let mut s = partial(&drip_addr, b"GET /index.html HTTP/1.1\r\n");
        let start = Instant::now();
        // Wait a second for an answer before each line (writing after the server closed
        // would reset the connection and lose its answer).
        s.set_read_timeout(Some(Duration::from_millis(1000)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        for i in 0..20 {
            match s.read(&mut buf) {
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    break;
                }
                Err(_) => {
                    if s.write_all(format!("X-Drip-{i}: 1\r\n").as_bytes())
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let (rest, _) = read_until_closed(&mut s, Duration::from_secs(5));
        got.extend_from_slice(&rest);
        (String::from_utf8_lossy(&got).into_owned(), start.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    // A normal client is answered at once.
    let start = Instant::now();
    let r = http(
        &gate.addr,
        "GET",
        "/index.html",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // The half-sent requests are closed after the read timeout (2 s), not kept forever.
    for s in &mut idle {
        let (got, took) = read_until_closed(s, Duration::from_secs(10));
        assert!(took < Duration::from_secs(4), "closed after {took:?}");
        assert!(
            got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
    // The missing form body: 408 after the read timeout, and the worker is free again; the
    // connection closes after one more read timeout (tiny_http drains the unread body).
    let (got, took) = read_until_closed(&mut body, Duration::from_secs(10));
    assert!(
        got.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
    // The slow loris is cut at the head deadline (3 s) plus at most one read timeout.
    let (got, took) = drip.join().unwrap();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    let r = http(
        &gate.addr,
        "GET",
        "/index.html",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn server_settings_are_checked() {
    let inst = Instance::new(AUTH);
    inst.append_config("gate:\n  read_timeout_seconds: 0\n");
    let out = inst.cli(&["tokens", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("read_timeout_seconds") && text(&out).contains("at least 1"),
        "{}",
        text(&out)
    );
    let inst = Instance::new(AUTH);
    inst.append_config("gate:\n  timeout: 5\n");
    let out = inst.cli(&["tokens", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("timeout"), "{}", text(&out));
}

#[test]
fn sigterm_lets_a_download_finish_then_exits_zero() {
    let inst = Instance::new(AUTH);
    inst.append_config("gate:\n  shutdown_seconds: 20\n");
    let big: Vec<u8> = (0..30_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(inst.path().join(".public.builds/b1/data/big.bin"), &big).unwrap();
    let token = issue_token(&inst, "ana@example.com", "download");
    let mut gate = Gate::start(&inst, &[]);
    let mut s = TcpStream::connect(&gate.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET /data/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // Read the start of the response, then stop the gate while the rest is in flight.
    let mut got = vec![0u8; 64 * 1024];
    s.read_exact(&mut got).unwrap();
    gate.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    // No new connections once stopping.
    let refused = TcpStream::connect(&gate.addr)
        .and_then(|mut c| {
            c.set_read_timeout(Some(Duration::from_secs(3)))?;
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")?;
            let mut b = [0u8; 1];
            c.read(&mut b)
        })
        .map_or(true, |n| n == 0);
    assert!(refused, "a new connection was answered while stopping");
    // The download in flight completes, whole.
    s.read_to_end(&mut got).unwrap();
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(got.len() - end, big.len());
    assert!(got[end..] == big[..], "the body arrived intact");
    assert_eq!(
        gate.wait_exit(Duration::from_secs(5)),
        Some(0),
        "{}",
        gate.log_text()
    );
    let log = gate.log_text();
    assert!(log.contains("gate: stopping (SIGTERM)"), "{log}");
    assert!(log.contains("gate: stopped"), "{log}");
}

#[test]
fn a_new_build_is_served_once_the_output_symlink_moves() {
    let inst = Instance::new(AUTH);
    let token = issue_token(&inst, "ana@example.com", "swap");
    let gate = Gate::start(&inst, &[]);
    let auth = format!("Bearer {token}");
    let get = || {
        http(
            &gate.addr,
            "GET",
            "/index.html",
            &[("Authorization", &auth)],
            b"",
        )
    };
    assert!(get().text().contains("public dashboard"));
    // What `broker build` does: a new build folder, then the symlink replaced atomically.
    let b2 = inst.path().join(".public.builds/b2");
    std::fs::create_dir_all(&b2).unwrap();
    std::fs::write(b2.join("index.html"), b"<p>second build</p>").unwrap();
    let swap = inst.path().join(".public.swap");
    std::os::unix::fs::symlink(&b2, &swap).unwrap();
    std::fs::rename(&swap, inst.path().join("public")).unwrap();
    let r = get();
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "<p>second build</p>");
}
