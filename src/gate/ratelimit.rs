//! Sliding-window counters: failed sign-ins per address and per client IP ([`Failures`], kept
//! in the gate's state folder so a restart does not reset them), and mail sends per address and
//! per IP (in memory: a restart at worst lets one more mail per address out; field-pitfalls
//! §F2).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::gate::store::write_atomic;

/// Event times (Unix seconds) per key within a window.
pub struct Window {
    window_s: i64,
    events: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl Window {
    /// Counters over the last `window_s` seconds.
    pub fn new(window_s: u64) -> Window {
        Window {
            window_s: window_s as i64,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// Events of `key` in the window ending at `now`.
    pub fn count(&self, key: &str, now: i64) -> usize {
        let mut g = self.events.lock().unwrap_or_else(|e| e.into_inner());
        match g.get_mut(key) {
            Some(q) => {
                while q.front().is_some_and(|t| *t <= now - self.window_s) {
                    q.pop_front();
                }
                q.len()
            }
            None => 0,
        }
    }

    /// Seconds since the last event of `key` (`None`: none in the window).
    pub fn since_last(&self, key: &str, now: i64) -> Option<i64> {
        self.count(key, now);
        let g = self.events.lock().unwrap_or_else(|e| e.into_inner());
        g.get(key).and_then(|q| q.back()).map(|t| now - t)
    }

    /// Record an event of `key` at `now`. Keys with no recent events are dropped now and then
    /// so the map stays small.
    pub fn record(&self, key: &str, now: i64) {
        let mut g = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if g.len() > 100_000 {
            let cutoff = now - self.window_s;
            g.retain(|_, q| q.back().is_some_and(|t| *t > cutoff));
        }
        g.entry(key.to_string()).or_default().push_back(now);
    }

    /// Forget `key` (after a successful sign-in of that address).
    pub fn clear(&self, key: &str) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The events in the window ending at `now`: at most `per_key` (the latest) of each key, and
    /// the `max_keys` keys with the latest events. Keeping the latest `per_key` events keeps
    /// every count below `per_key` exact and every count at or above it at least `per_key`.
    fn export(&self, now: i64, max_keys: usize, per_key: usize) -> BTreeMap<String, Vec<i64>> {
        let g = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let cutoff = now - self.window_s;
        let mut keys: Vec<(&String, Vec<i64>)> = g
            .iter()
            .map(|(k, q)| {
                let recent: Vec<i64> = q.iter().copied().filter(|t| *t > cutoff).collect();
                let skip = recent.len().saturating_sub(per_key);
                (k, recent[skip..].to_vec())
            })
            .filter(|(_, q)| !q.is_empty())
            .collect();
        keys.sort_by_key(|(_, q)| std::cmp::Reverse(q.last().copied()));
        keys.truncate(max_keys);
        keys.into_iter().map(|(k, q)| (k.clone(), q)).collect()
    }

    /// Add `events` (as [`Window::export`] gives them).
    fn import(&self, events: BTreeMap<String, Vec<i64>>) {
        let mut g = self.events.lock().unwrap_or_else(|e| e.into_inner());
        for (k, mut q) in events {
            q.sort_unstable();
            g.insert(k, q.into());
        }
    }
}

/// Keys kept per counter in the failures file (the most recently failing addresses and IPs).
const FAILURES_MAX_KEYS: usize = 2_000;

/// `failures.json` in the gate's state folder: recent failed sign-ins (Unix seconds) per
/// address and per client IP.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FailuresFile {
    version: u32,
    #[serde(default)]
    address: BTreeMap<String, Vec<i64>>,
    #[serde(default)]
    ip: BTreeMap<String, Vec<i64>>,
}

/// Failed sign-ins per address and per client IP in a sliding window, written to a state file
/// (mode 0600, atomically) at every change and read back at start, so restarting the gate does
/// not reset the limits. The file stays small: per counter the [`FAILURES_MAX_KEYS`] keys that
/// failed last, each with no more events than its limit.
pub struct Failures {
    /// Failures per lower-case address.
    pub address: Window,
    /// Failures per client IP.
    pub ip: Window,
    per_address: usize,
    per_ip: usize,
    file: PathBuf,
    /// Serialises writes of the file (one temporary name per process).
    write: Mutex<()>,
}

impl Failures {
    /// Counters over `window_s` seconds with the limits `per_address` and `per_ip`, starting
    /// from `file` when it holds events still in the window. An unreadable or malformed file is
    /// reported on stderr and the counters start empty (the next failure rewrites it).
    pub fn load(
        file: PathBuf,
        window_s: u64,
        per_address: usize,
        per_ip: usize,
        now: i64,
    ) -> Failures {
        let f = Failures {
            address: Window::new(window_s),
            ip: Window::new(window_s),
            per_address,
            per_ip,
            file,
            write: Mutex::new(()),
        };
        match read_failures(&f.file) {
            Ok(Some(doc)) => {
                let cutoff = now - window_s as i64;
                let recent = |m: BTreeMap<String, Vec<i64>>| -> BTreeMap<String, Vec<i64>> {
                    m.into_iter()
                        .map(|(k, q)| (k, q.into_iter().filter(|t| *t > cutoff).collect()))
                        .filter(|(_, q): &(String, Vec<i64>)| !q.is_empty())
                        .collect()
                };
                f.address.import(recent(doc.address));
                f.ip.import(recent(doc.ip));
            }
            Ok(None) => {}
            Err(e) => eprintln!("gate: error: {e:#}; failed sign-in counters start empty"),
        }
        f
    }

    /// Whether sign-ins of `address` or from `ip` are refused at `now`.
    pub fn limited(&self, address: &str, ip: &str, now: i64) -> bool {
        self.address.count(address, now) >= self.per_address
            || self.ip.count(ip, now) >= self.per_ip
    }

    /// Record a failed sign-in of `address` from `ip` at `now`, and save.
    pub fn record(&self, address: &str, ip: &str, now: i64) {
        self.address.record(address, now);
        self.ip.record(ip, now);
        self.save(now);
    }

    /// Forget the failures of `address` (it signed in), and save when it had any.
    pub fn clear(&self, address: &str, now: i64) {
        if self.address.count(address, now) > 0 {
            self.address.clear(address);
            self.save(now);
        }
    }

    /// Write the counters; a failure is reported on stderr (the counters still hold in memory).
    fn save(&self, now: i64) {
        let _one = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let doc = FailuresFile {
            version: 1,
            address: self
                .address
                .export(now, FAILURES_MAX_KEYS, self.per_address),
            ip: self.ip.export(now, FAILURES_MAX_KEYS, self.per_ip),
        };
        let result = serde_json::to_vec(&doc)
            .map_err(anyhow::Error::from)
            .and_then(|mut bytes| {
                bytes.push(b'\n');
                write_atomic(&self.file, &bytes)
            });
        if let Err(e) = result {
            eprintln!("gate: error: failed sign-in counters not saved: {e:#}");
        }
    }
}

/// The failures file; `None` when it does not exist.
fn read_failures(path: &Path) -> anyhow::Result<Option<FailuresFile>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{}: cannot read: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides() {
        let w = Window::new(60);
        w.record("a", 100);
        w.record("a", 130);
        assert_eq!(w.count("a", 150), 2);
        assert_eq!(w.count("a", 161), 1);
        assert_eq!(w.since_last("a", 161), Some(31));
        assert_eq!(w.count("a", 191), 0);
        assert_eq!(w.count("b", 191), 0);
    }

    #[test]
    fn export_keeps_the_latest_keys_and_events() {
        let w = Window::new(100);
        for t in [10, 20, 30, 40] {
            w.record("a", t);
        }
        w.record("b", 50);
        w.record("old", 1);
        let e = w.export(105, 10, 2);
        assert_eq!(e["a"], vec![30, 40]);
        assert_eq!(e["b"], vec![50]);
        assert!(!e.contains_key("old"), "outside the window");
        let e = w.export(105, 1, 2);
        assert_eq!(e.keys().collect::<Vec<_>>(), vec!["b"]);
    }

    #[test]
    fn failures_survive_a_reload_and_ignore_a_bad_file() {
        let dir = crate::testkit::tempdir().unwrap();
        let file = dir.path().join("failures.json");
        let f = Failures::load(file.clone(), 900, 3, 2, 1000);
        for t in [1000, 1001, 1002, 1003] {
            f.record("a@x.org", "10.0.0.1", t);
        }
        assert!(f.limited("a@x.org", "10.0.0.2", 1004));
        let g = Failures::load(file.clone(), 900, 3, 2, 1005);
        assert!(g.limited("a@x.org", "10.0.0.2", 1005));
        assert_eq!(g.ip.count("10.0.0.1", 1005), 2, "at most the limit kept");
        let later = Failures::load(file.clone(), 900, 3, 2, 2000);
        assert_eq!(later.ip.count("10.0.0.1", 2000), 0, "the window passed");
        g.clear("a@x.org", 1006);
        let h = Failures::load(file.clone(), 900, 3, 2, 1007);
        assert!(!h.limited("a@x.org", "10.0.0.2", 1007));
        assert!(
            h.limited("a@x.org", "10.0.0.1", 1007),
            "the IP's failures stay"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&file, b"not json").unwrap();
        let bad = Failures::load(file, 900, 3, 2, 1007);
        assert!(!bad.limited("a@x.org", "10.0.0.1", 1007));
    }
}
