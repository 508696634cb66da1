//! Sliding-window counters in memory: failed sign-ins per address and per client IP, and mail
//! sends per address and per IP (field-pitfalls §F2). A restart forgets them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

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
}
