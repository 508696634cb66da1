//! Headless Chromium for browser tests: chromedriver (Debian packages `chromium` and
//! `chromium-driver`) driven over the W3C WebDriver HTTP protocol with `ureq`.
//!
//! [`Browser::open`] starts chromedriver on a free port and a headless session; dropping the
//! [`Browser`] ends the session and kills chromedriver, also when a test panics. A missing
//! chromedriver is a test failure that says what to install, never a silent pass.
//!
//! Environment: `BROKER_CHROMEDRIVER` (default: `chromedriver` on `PATH`) and `BROKER_CHROMIUM`
//! (default `/usr/bin/chromium`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C key of WebDriver element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver's process; killed on drop.
struct Driver {
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reference to an element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

/// One headless Chromium session.
pub struct Browser {
    agent: ureq::Agent,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session: String,
    // Dropped after `Drop::drop` ended the session.
    _driver: Driver,
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// chromedriver's path; panics with what to install when it is missing.
fn chromedriver() -> PathBuf {
    if let Some(p) = std::env::var_os("BROKER_CHROMEDRIVER") {
        return PathBuf::from(p);
    }
    find_on_path("chromedriver").unwrap_or_else(|| {
        panic!(
            "chromedriver not found on PATH: the browser tests need headless Chromium; install the \
             Debian packages: apt-get install -y chromium chromium-driver (.ci/run does this)"
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl Browser {
    /// Start chromedriver and a headless Chromium session with a 1280×900 window and the
    /// browser's console log recorded.
    pub fn open() -> Browser {
        let driver_path = chromedriver();
        let chromium =
            std::env::var("BROKER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            Path::new(&chromium).is_file(),
            "{chromium} not found: install the Debian packages chromium and chromium-driver"
        );
        let port = free_port();
        let child = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: cannot start chromedriver ({e}); install chromium-driver",
                    driver_path.display()
                )
            });
        let driver = Driver { child };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = agent
                .get(format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--window-size=1280,900",
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let v = request(&agent, "POST", &format!("{base}/session"), Some(&caps));
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_string();
        Browser {
            agent,
            session: format!("{base}/session/{id}"),
            _driver: driver,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        request(
            &self.agent,
            method,
            &format!("{}{path}", self.session),
            body,
        )
    }

    /// Load `url` (e.g. a `file://` URL from [`file_url`]) and wait for it.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Reload the current page.
    pub fn refresh(&self) {
        self.call("POST", "/refresh", Some(&json!({})));
    }

    /// The current page's URL.
    pub fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching the CSS `selector`; panics when there is none.
    pub fn find(&self, selector: &str) -> Element {
        let v = request_raw(
            &self.agent,
            "POST",
            &format!("{}/element", self.session),
            Some(&json!({"using": "css selector", "value": selector})),
        )
        .unwrap_or_else(|e| panic!("`{selector}` on {}: {e}", self.url()));
        match v[ELEMENT_KEY].as_str() {
            Some(id) => Element(id.to_string()),
            None => panic!("`{selector}` on {}: no element in {v}", self.url()),
        }
    }

    /// The first element matching `selector`, if any.
    pub fn try_find(&self, selector: &str) -> Option<Element> {
        let v = request_raw(
            &self.agent,
            "POST",
            &format!("{}/element", self.session),
            Some(&json!({"using": "css selector", "value": selector})),
        );
        v.ok()
            .and_then(|v| v[ELEMENT_KEY].as_str().map(|s| Element(s.to_string())))
    }

    /// Every element matching `selector`.
    pub fn find_all(&self, selector: &str) -> Vec<Element> {
        let v = self.call(
            "POST",
            "/elements",
            Some(&json!({"using": "css selector", "value": selector})),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Type `text` into `element` (WebDriver key codes such as `\u{E007}` for Enter work).
    pub fn send_keys(&self, element: &Element, text: &str) {
        self.call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(&json!({ "text": text })),
        );
    }

    /// Click `element` (it must be visible).
    pub fn click(&self, element: &Element) {
        self.call(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(&json!({})),
        );
    }

    /// Press and release `key` on whatever has the focus (a character, or a WebDriver key code
    /// such as `\u{E004}` for Tab and `\u{E007}` for Enter).
    pub fn press(&self, key: &str) {
        self.call(
            "POST",
            "/actions",
            Some(
                &json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]}),
            ),
        );
    }

    /// Press Tab.
    pub fn press_tab(&self) {
        self.press("\u{E004}");
    }

    /// An element's visible text.
    pub fn text(&self, element: &Element) -> String {
        self.call("GET", &format!("/element/{}/text", element.0), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Run `js` as a function body with `args` (`arguments[0]`, …) and return its result.
    pub fn script(&self, js: &str, args: &[Value]) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": js, "args": args })),
        )
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call("GET", "/screenshot", None);
        decode_base64(b64.as_str().expect("screenshot is base64 text"))
    }

    /// A PNG of the whole page, at most `max_height` CSS pixels tall (Chrome DevTools protocol).
    pub fn screenshot_page(&self, max_height: u32) -> Vec<u8> {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({}));
        let size = &metrics["cssContentSize"];
        let width = size["width"].as_f64().unwrap_or(1280.0);
        let height = size["height"]
            .as_f64()
            .unwrap_or(900.0)
            .min(f64::from(max_height));
        let shot = self.cdp(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
        );
        decode_base64(shot["data"].as_str().expect("screenshot data"))
    }

    /// Run a Chrome DevTools protocol command (e.g. `Emulation.setDeviceMetricsOverride`).
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({ "cmd": cmd, "params": params })),
        )
    }

    /// Emulate a screen `width` × `height` CSS pixels (a phone: `mobile`).
    pub fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// Emulate the system's colour scheme preference: `"light"`, `"dark"` or `""` (none).
    pub fn prefer_color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// Browser console entries since the last call, as `LEVEL message`.
    pub fn console(&self) -> Vec<String> {
        let v = self.call("POST", "/se/log", Some(&json!({"type": "browser"})));
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e["level"].as_str().unwrap_or("?"),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Console errors (SEVERE entries: script errors, failed loads) since the last call.
    pub fn console_errors(&self) -> Vec<String> {
        self.console()
            .into_iter()
            .filter(|l| l.starts_with("SEVERE "))
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.session).call();
    }
}

/// A WebDriver request; returns `value` of the answer, panics on a WebDriver error.
fn request(agent: &ureq::Agent, method: &str, url: &str, body: Option<&Value>) -> Value {
    request_raw(agent, method, url, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// A WebDriver request; `Err` holds the WebDriver error and message.
fn request_raw(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, String> {
    let resp = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some(b)) => agent.post(url).send_json(b),
        (_, None) => agent.post(url).send_empty(),
    };
    let mut resp = resp.map_err(|e| format!("HTTP: {e}"))?;
    let status = resp.status().as_u16();
    let v: Value = resp
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_json()
        .map_err(|e| format!("status {status}, unreadable answer: {e}"))?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if status >= 400 {
        return Err(format!(
            "{}: {}",
            value["error"].as_str().unwrap_or("error"),
            value["message"].as_str().unwrap_or("")
        ));
    }
    Ok(value)
}

/// Standard base64 (with padding) to bytes.
pub fn decode_base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The `file://` URL of a local file.
pub fn file_url(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut url = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_' | b'~') {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Build the demo instance (a copy of the repository's `config/` and `content/`) once per test
/// binary into `$CARGO_TARGET_TMPDIR/<name>-site/` and return the published tree (`public/`).
/// The binary is this crate's `broker`, or `$BROKER_BIN` when set.
/// The folder is kept after the run (to look at) and replaced by the next run.
pub fn demo_site(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.as_ref() {
        return p.clone();
    }
    let inst = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-site"));
    let _ = std::fs::remove_dir_all(&inst);
    super::copy_tree(&super::repo().join("config"), &inst.join("config"));
    super::copy_tree(&super::repo().join("content"), &inst.join("content"));
    let out = build(&inst);
    assert_eq!(out.status.code(), Some(0), "{}", super::text(&out));
    let public = inst.join("public");
    *built = Some(public.clone());
    public
}

/// `broker build --instance dir` with this crate's `broker`, or with `$BROKER_BIN` when set (a
/// copy, for when several worktrees share one target folder and a build elsewhere may replace
/// target/release/broker mid-run).
pub fn build(dir: &Path) -> std::process::Output {
    match std::env::var_os("BROKER_BIN") {
        Some(bin) => Command::new(bin)
            .args(["build", "--instance"])
            .arg(dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("BROKER_BIN runs"),
        None => super::build(dir),
    }
}

/// `$CARGO_TARGET_TMPDIR/browser-screenshots/` (created), where tests save screenshots.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
