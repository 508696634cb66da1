//! `broker serve` run as a user runs it: on a copy of the demo instance, on a free loopback port,
//! with ureq (and a raw socket where a client would tidy the path) as the browser.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `broker serve`, stopped with SIGINT when dropped; its stderr lines are collected.
struct Served {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(instance: &Path) -> Served {
        // BROKER_BIN: a copy of the binary, when another worktree shares the cargo target dir.
        let bin = std::env::var_os("BROKER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_broker")));
        let mut child = Command::new(bin)
            .args(["serve", "--instance", instance.to_str().unwrap()])
            .args(["--bind", "127.0.0.1:0"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("broker serve starts");
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
        let mut served = Served {
            child,
            addr: String::new(),
            log,
        };
        let line = served.wait_for("watching ", Duration::from_secs(120));
        let first = served
            .lines()
            .into_iter()
            .find(|l| l.contains("serving http://"));
        let first = first.unwrap_or_else(|| panic!("no address in the log: {line}"));
        let at = first.find("http://").unwrap() + 7;
        served.addr = first[at..].split('/').next().unwrap().to_string();
        served
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The first log line holding `needle` (waiting up to `timeout`).
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| l.contains(needle)) {
                return l;
            }
            assert!(
                start.elapsed() < timeout,
                "no log line with {needle:?} in {timeout:?}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Served {
    /// Ctrl-C (SIGINT); the exit code, `None` when it had to be killed after 10 s.
    fn interrupt(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.interrupt();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(40)))
        .build()
        .into()
}

/// Status, headers (lower-case names) and body of a request.
struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn get(url: &str, range: Option<&str>) -> Got {
    let mut req = agent().get(url);
    if let Some(r) = range {
        req = req.header("Range", r);
    }
    let mut res = req.call().unwrap();
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = res
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .unwrap();
    Got {
        status,
        headers,
        body,
    }
}

/// The raw response to a request line sent as it is (no client tidies `..` away).
fn raw(addr: &str, method: &str, target: &str) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn demo() -> broker::testkit::TempDir {
    common::demo_instance(Some(&common::sample_csv("s")))
}

#[test]
fn serves_the_tree_with_exact_lengths_head_ranges_and_no_way_out() {
    let dir = demo();
    let served = Served::start(dir.path());

    let home = get(&served.url("/"), None);
    assert_eq!(home.status, 200);
    assert_eq!(
        home.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(home.header("cache-control"), Some("no-cache"));
    assert_eq!(
        home.header("content-length"),
        Some(home.body.len().to_string().as_str())
    );
    let html = home.text();
    let script = html
        .find("<script src=\"/__broker/reload.js\"")
        .expect("reload script");
    assert!(
        script < html.rfind("</body>").unwrap(),
        "script before </body>"
    );
    // The published file itself has no script: the server adds it.
    let published = std::fs::read_to_string(dir.path().join("public/index.html")).unwrap();
    assert!(!published.contains("__broker"));
    let end = script + html[script..].find("</script>").unwrap() + "</script>".len();
    assert_eq!(
        format!("{}{}", &html[..script], &html[end..]),
        published,
        "the page is the published file plus the script tag"
    );

    let page = get(&served.url("/tables/orders.html"), None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("__broker/reload.js"));
    assert_eq!(
        page.header("content-length").unwrap(),
        page.body.len().to_string()
    );

    let twin = get(&served.url("/tables/orders.json"), None);
    let on_disk = std::fs::read(dir.path().join("public/tables/orders.json")).unwrap();
    assert_eq!(twin.status, 200);
    assert_eq!(twin.header("content-type"), Some("application/json"));
    assert_eq!(twin.body, on_disk, "JSON served byte for byte, no script");
    assert_eq!(
        twin.header("content-length").unwrap(),
        on_disk.len().to_string()
    );
    serde_json::from_slice::<serde_json::Value>(&twin.body).unwrap();

    // A folder without its slash is redirected (its relative links need it).
    let head = raw(&served.addr, "GET", "/tables");
    assert!(
        head.starts_with(b"HTTP/1.1 301"),
        "{}",
        String::from_utf8_lossy(&head)
    );

    let js = get(&served.url("/__broker/reload.js"), None);
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.text().contains("/__broker/events"));

    // Parquet: HEAD with the exact length and no body, then ranges.
    let parquet = "data/sales/orders.parquet";
    let bytes = std::fs::read(dir.path().join("public").join(parquet)).unwrap();
    let size = bytes.len();
    assert!(
        size > 32_768,
        "above tiny_http's chunking threshold: {size}"
    );
    let head = raw(&served.addr, "HEAD", &format!("/{parquet}"));
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("Content-Length: {size}\r\n")),
        "{head}"
    );
    assert!(!head.contains("chunked"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "HEAD has no body: {head}");
    assert!(
        head.contains("Content-Type: application/vnd.apache.parquet"),
        "{head}"
    );
    assert!(head.contains("Accept-Ranges: bytes"), "{head}");

    let first = get(&served.url(&format!("/{parquet}")), Some("bytes=0-9"));
    assert_eq!(first.status, 206);
    assert_eq!(first.body, &bytes[..10]);
    assert_eq!(first.header("content-length"), Some("10"));
    assert_eq!(
        first.header("content-range"),
        Some(format!("bytes 0-9/{size}").as_str())
    );
    assert_eq!(&first.body[..4], b"PAR1");

    let last = get(&served.url(&format!("/{parquet}")), Some("bytes=-8"));
    assert_eq!(last.status, 206);
    assert_eq!(last.body, &bytes[size - 8..]);
    assert_eq!(&last.body[4..], b"PAR1");
    assert_eq!(
        last.header("content-range"),
        Some(format!("bytes {}-{}/{size}", size - 8, size - 1).as_str())
    );

    let tail = get(&served.url(&format!("/{parquet}")), Some("bytes=5-"));
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, &bytes[5..]);
    assert_eq!(
        tail.header("content-length").unwrap(),
        (size - 5).to_string()
    );

    let beyond = get(
        &served.url(&format!("/{parquet}")),
        Some(&format!("bytes={size}-")),
    );
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{size}").as_str())
    );
    assert!(beyond.body.is_empty());

    let whole = get(&served.url(&format!("/{parquet}")), None);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, bytes);

    // No way out of the tree: raw `..`, encoded dots and slashes, a symlink leading out.
    let secret = std::fs::read_to_string(dir.path().join("config/instance.yaml")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("config"),
        std::fs::canonicalize(dir.path().join("public"))
            .unwrap()
            .join("out"),
    )
    .unwrap();
    for target in [
        "/../config/instance.yaml",
        "/%2e%2e/config/instance.yaml",
        "/tables/%2E%2E/%2e%2e/config/instance.yaml",
        "/..%2fconfig%2finstance.yaml",
        "/out/instance.yaml",
    ] {
        let r = raw(&served.addr, "GET", target);
        let text = String::from_utf8_lossy(&r);
        assert!(
            text.starts_with("HTTP/1.1 404") || text.starts_with("HTTP/1.1 400"),
            "{target}: {text}"
        );
        assert!(!text.contains("data_source:"), "{target} leaked the file");
        assert!(!text.contains(secret.lines().next().unwrap()), "{target}");
    }
    let missing = get(&served.url("/no/such/page.html"), None);
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("__broker/reload.js"));
}

/// The reload endpoint's generation now.
fn generation(served: &Served) -> String {
    let e = get(&served.url("/__broker/events"), None);
    let v: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
    v["generation"].as_str().unwrap().to_string()
}

fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).unwrap().ino()
}

#[test]
fn a_doc_edit_rerenders_without_sync_or_profile_and_reloads_the_page() {
    let dir = demo();
    let served = Served::start(dir.path());
    let parquet = dir.path().join("public/data/sales/orders.parquet");
    let before = inode(&parquet);
    let since = generation(&served);

    // A long poll waits for the next build, then says its generation.
    let poll = {
        let url = served.url(&format!("/__broker/events?since={since}"));
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = get(&url, None);
            (r, t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let edited = Instant::now();
    let doc = dir.path().join("content/docs/getting-started.md");
    let mut text = std::fs::read_to_string(&doc).unwrap();
    text.push_str(
        "\nA sentence only this test writes: lemon-kiwi-42, with a typo: [x](table:ordres).\n",
    );
    std::fs::write(&doc, text).unwrap();

    let (r, _) = poll.join().unwrap();
    let signalled = edited.elapsed();
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_ne!(v["generation"].as_str().unwrap(), since);
    assert!(v["error"].is_null(), "{v}");
    assert!(signalled < Duration::from_secs(10), "{signalled:?}");
    let page = get(&served.url("/docs/getting-started.html"), None);
    assert!(
        page.text().contains("lemon-kiwi-42"),
        "the page shows the edit"
    );
    eprintln!("doc edit to reload signal: {signalled:?}");

    let line = served.wait_for("rebuild ", Duration::from_secs(5));
    assert!(
        line.contains("after content/docs/getting-started.md changed: ran site; kept sync, profile, metrics from the last build"),
        "{line}"
    );
    // The saved doc's broken reference is shown without -v (the rebuild's own log is quiet).
    let warning = served.wait_for("broken reference table:ordres", Duration::from_secs(5));
    assert!(warning.contains("getting-started.md:"), "{warning}");
    // The data files were kept (hard-linked), not written again, and no table counts as stale:
    // the rebuild synced nothing, but nothing was left out of the latest sync.
    assert_eq!(inode(&parquet), before);
    let dashboard: serde_json::Value =
        serde_json::from_slice(&get(&served.url("/index.json"), None).body).unwrap();
    assert_eq!(
        dashboard["stale_tables"],
        serde_json::json!([]),
        "{dashboard}"
    );
    assert_eq!(
        served
            .lines()
            .iter()
            .filter(|l| l.contains("rebuild "))
            .count(),
        1,
        "one rebuild for one save:\n{}",
        served.lines().join("\n")
    );
    // Ctrl-C ends it cleanly: exit 0, and no lock left behind for the next build.
    let mut served = served;
    assert_eq!(served.interrupt(), Some(0));
    served.wait_for("stopped", Duration::from_secs(2));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("state/build.lock")).unwrap(),
        ""
    );
}

#[test]
fn a_broken_metric_keeps_the_last_good_tree_and_shows_the_error_until_fixed() {
    let dir = demo();
    let served = Served::start(dir.path());
    let metric = dir.path().join("content/metrics/revenue/total_revenue.yml");
    let good = std::fs::read_to_string(&metric).unwrap();
    let tree = std::fs::canonicalize(dir.path().join("public")).unwrap();
    let page = get(&served.url("/metrics/revenue/total_revenue.html"), None);
    assert_eq!(page.status, 200);
    let good_html = page.text();

    std::fs::write(&metric, "name: [unclosed\n").unwrap();
    let line = served.wait_for("rebuild failed", Duration::from_secs(20));
    assert!(line.contains("total_revenue.yml"), "{line}");
    assert_eq!(
        std::fs::canonicalize(dir.path().join("public")).unwrap(),
        tree
    );
    let page = get(&served.url("/metrics/revenue/total_revenue.html"), None);
    assert_eq!(page.status, 200, "the last good tree is still served");
    let html = page.text();
    assert!(html.contains("id=\"broker-build-error\""), "overlay");
    assert!(
        html.contains("total_revenue.yml:"),
        "the error names the file"
    );
    let e: serde_json::Value =
        serde_json::from_slice(&get(&served.url("/__broker/events"), None).body).unwrap();
    assert!(e["error"].as_str().unwrap().contains("total_revenue.yml"));
    // JSON is never touched.
    let twin = get(&served.url("/index.json"), None);
    assert!(!twin.text().contains("broker-build-error"));

    std::fs::write(&metric, good).unwrap();
    let line = served.wait_for("ran metrics, site", Duration::from_secs(20));
    assert!(line.contains("kept sync, profile"), "{line}");
    let page = get(&served.url("/metrics/revenue/total_revenue.html"), None);
    // The fixed metric is the one that was there before: the page is the last good one again,
    // overlay gone. (The rebuild may publish nothing new: it reproduces the last good tree.)
    // Compared without the live-reload tag, whose generation changes with every rebuild.
    let without_reload = |html: &str| -> String {
        let at = html
            .find("<script src=\"/__broker/reload.js\"")
            .expect("reload tag");
        let end = at + html[at..].find("</script>").unwrap();
        format!("{}{}", &html[..at], &html[end..])
    };
    let html = page.text();
    assert!(!html.contains("broker-build-error"), "overlay gone");
    assert!(
        without_reload(&html) == without_reload(&good_html),
        "the page is the last good one again"
    );
}

#[test]
fn a_rebuild_waits_for_a_cron_build_holding_the_lock() {
    let dir = demo();
    let served = Served::start(dir.path());
    let lock = dir.path().join("state/build.lock");
    // A stand-in for a cron build: flock(1) holds the same flock for 3 s.
    let mut holder = Command::new("flock")
        .arg(&lock)
        .args(["sleep", "3"])
        .spawn()
        .expect("flock runs");
    std::thread::sleep(Duration::from_millis(300));
    let edited = Instant::now();
    let doc = dir.path().join("content/docs/getting-started.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, format!("{text}\nWritten while a build runs.\n")).unwrap();
    let wait = served.wait_for("waiting for it to end", Duration::from_secs(10));
    assert!(wait.contains("another build of instance"), "{wait}");
    let line = served.wait_for("rebuild ", Duration::from_secs(20));
    assert!(line.contains("ran site;"), "{line}");
    assert!(
        edited.elapsed() >= Duration::from_secs(2),
        "built only after the lock was released"
    );
    holder.wait().unwrap();
    let page = get(&served.url("/docs/getting-started.html"), None);
    assert!(page.text().contains("Written while a build runs."));
}
