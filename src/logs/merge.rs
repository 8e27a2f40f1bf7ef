//! Merging the journal streams of several hosts into one, in time order.
//!
//! Entries arrive per host in that host's order but interleave arbitrarily
//! across hosts, so an entry is held until either every live host has
//! delivered something at least as new (the watermark: then nothing older can
//! still come from a live host), or it has been held for the reorder window
//! (250 ms by default: a host that is slow or quiet delays the others by at
//! most that much). Entries are released smallest timestamp first. Entries
//! that arrive later than the window (journald notifies followers up to
//! ~450 ms after an entry is logged; a resumed stream catches up) are shown
//! when they arrive, out of order with the others by at most that delay
//! minus the window.
//!
//! While any host is still sending its history, nothing is released; then the
//! histories come out fully sorted.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use super::LogItem;

struct Held {
    time_us: u64,
    seq: u64,
    item: LogItem,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.time_us, self.seq) == (other.time_us, other.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time_us, self.seq).cmp(&(other.time_us, other.seq))
    }
}

#[derive(Clone, Copy, Default)]
struct HostClock {
    /// Newest timestamp the host delivered.
    latest_us: Option<u64>,
    /// A stopped host does not hold the others back.
    live: bool,
    in_history: bool,
}

pub struct Merger {
    window: Duration,
    heap: BinaryHeap<Reverse<Held>>,
    /// (arrival, timestamp) of held items, in arrival order.
    arrivals: VecDeque<(Instant, u64)>,
    /// Items up to this timestamp may go: some item this new was held long enough.
    expired_up_to: u64,
    hosts: Vec<HostClock>,
    seq: u64,
}

impl Merger {
    /// A merger for `hosts` hosts (numbered from 0), all live and sending history.
    pub fn new(window: Duration, hosts: usize) -> Merger {
        Merger {
            window,
            heap: BinaryHeap::new(),
            arrivals: VecDeque::new(),
            expired_up_to: 0,
            hosts: vec![
                HostClock {
                    latest_us: None,
                    live: true,
                    in_history: true,
                };
                hosts
            ],
            seq: 0,
        }
    }

    /// Host `host` has sent its history (or failed to).
    pub fn history_done(&mut self, host: usize) {
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        if !h.in_history {
            return;
        }
        h.in_history = false;
        if !self.in_history() {
            // All histories are in: release them all, sorted.
            let newest = self.heap.iter().map(|h| h.0.time_us).max().unwrap_or(0);
            self.expired_up_to = self.expired_up_to.max(newest);
        }
    }

    /// Whether some host is still sending its history.
    pub fn in_history(&self) -> bool {
        self.hosts.iter().any(|h| h.in_history)
    }

    pub fn set_live(&mut self, host: usize, live: bool) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.live = live;
        }
    }

    /// Host `host` has delivered an entry this new (kept or filtered out).
    pub fn advance(&mut self, host: usize, time_us: u64) {
        if let Some(h) = self.hosts.get_mut(host) {
            h.latest_us = Some(h.latest_us.map_or(time_us, |t| t.max(time_us)));
        }
    }

    /// Hold `item`, ordered by `time_us`.
    pub fn push(&mut self, time_us: u64, item: LogItem, now: Instant) {
        self.seq += 1;
        self.heap.push(Reverse(Held {
            time_us,
            seq: self.seq,
            item,
        }));
        self.arrivals.push_back((now, time_us));
    }

    /// Items held.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The oldest timestamp every live host has reached, if all have sent something.
    fn watermark(&self) -> Option<u64> {
        let mut min: Option<u64> = None;
        for h in self.hosts.iter().filter(|h| h.live) {
            let t = h.latest_us?;
            min = Some(min.map_or(t, |m| m.min(t)));
        }
        min
    }

    /// The next item that may be released at `now`, in time order.
    pub fn pop_ready(&mut self, now: Instant) -> Option<LogItem> {
        while let Some(&(arrived, t)) = self.arrivals.front() {
            if now.duration_since(arrived) < self.window {
                break;
            }
            self.expired_up_to = self.expired_up_to.max(t);
            self.arrivals.pop_front();
        }
        if self.in_history() {
            return None;
        }
        let cutoff = self.watermark().unwrap_or(0).max(self.expired_up_to);
        if self.heap.peek().is_some_and(|top| top.0.time_us <= cutoff) {
            return self.heap.pop().map(|h| h.0.item);
        }
        None
    }

    /// When the oldest held item's window ends (wake up then).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.heap.is_empty() {
            return None;
        }
        self.arrivals.front().map(|(t, _)| *t + self.window)
    }

    /// Everything still held, in time order (the streams have ended).
    pub fn drain(&mut self) -> Vec<LogItem> {
        let mut out = Vec::with_capacity(self.heap.len());
        while let Some(h) = self.heap.pop() {
            out.push(h.0.item);
        }
        self.arrivals.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogRecord;

    fn line(host: &str, t: u64) -> LogItem {
        LogItem::Line(LogRecord {
            time_us: t,
            host: host.into(),
            unit: "u".into(),
            priority: 6,
            message: format!("{host}@{t}"),
            cursor: format!("{host}{t}"),
        })
    }

    fn msgs(items: &[LogItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                LogItem::Line(r) => r.message.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn ready(m: &mut Merger, now: Instant) -> Vec<LogItem> {
        std::iter::from_fn(|| m.pop_ready(now)).collect()
    }

    fn push(m: &mut Merger, host: usize, name: &str, t: u64, now: Instant) {
        m.advance(host, t);
        m.push(t, line(name, t), now);
    }

    #[test]
    fn histories_come_out_sorted_once_all_are_in() {
        let now = Instant::now();
        let mut m = Merger::new(Duration::from_millis(150), 2);
        push(&mut m, 0, "a", 10, now);
        push(&mut m, 0, "a", 30, now);
        m.history_done(0);
        // Long past the window, still held: b's history is not in yet.
        assert!(ready(&mut m, now + Duration::from_secs(5)).is_empty());
        push(&mut m, 1, "b", 20, now);
        push(&mut m, 1, "b", 40, now);
        m.history_done(1);
        assert_eq!(msgs(&ready(&mut m, now)), ["a@10", "b@20", "a@30", "b@40"]);
    }

    #[test]
    fn the_watermark_releases_without_waiting() {
        let now = Instant::now();
        let mut m = Merger::new(Duration::from_millis(150), 2);
        m.history_done(0);
        m.history_done(1);
        push(&mut m, 0, "a", 100, now);
        push(&mut m, 0, "a", 300, now);
        // b has not said anything yet: wait.
        assert!(ready(&mut m, now).is_empty());
        push(&mut m, 1, "b", 200, now);
        // Both hosts reached 200: everything up to 200 can go.
        assert_eq!(msgs(&ready(&mut m, now)), ["a@100", "b@200"]);
        push(&mut m, 1, "b", 350, now);
        assert_eq!(msgs(&ready(&mut m, now)), ["a@300"]);
    }

    #[test]
    fn a_quiet_host_delays_the_others_by_the_window_at_most() {
        let t0 = Instant::now();
        let mut m = Merger::new(Duration::from_millis(150), 2);
        m.history_done(0);
        m.history_done(1);
        push(&mut m, 1, "b", 50, t0);
        assert_eq!(msgs(&ready(&mut m, t0)), Vec::<String>::new());
        push(&mut m, 0, "a", 100, t0);
        assert_eq!(msgs(&ready(&mut m, t0)), ["b@50"]);
        let t1 = t0 + Duration::from_millis(100);
        push(&mut m, 0, "a", 200, t1);
        assert!(ready(&mut m, t1).is_empty());
        assert_eq!(m.next_deadline(), Some(t0 + Duration::from_millis(150)));
        assert_eq!(
            msgs(&ready(&mut m, t0 + Duration::from_millis(150))),
            ["a@100"]
        );
        assert_eq!(
            msgs(&ready(&mut m, t1 + Duration::from_millis(150))),
            ["a@200"]
        );
    }

    #[test]
    fn a_late_line_within_the_window_is_put_in_order() {
        let t0 = Instant::now();
        let mut m = Merger::new(Duration::from_millis(150), 3);
        for h in 0..3 {
            m.history_done(h);
        }
        push(&mut m, 0, "a", 120, t0);
        push(&mut m, 1, "b", 130, t0);
        let t1 = t0 + Duration::from_millis(60);
        push(&mut m, 2, "c", 110, t1);
        push(&mut m, 2, "c", 140, t1);
        assert_eq!(msgs(&ready(&mut m, t1)), ["c@110", "a@120"]);
        assert_eq!(
            msgs(&ready(&mut m, t1 + Duration::from_millis(150))),
            ["b@130", "c@140"]
        );
    }

    #[test]
    fn a_stopped_host_does_not_hold_the_others() {
        let t0 = Instant::now();
        let mut m = Merger::new(Duration::from_millis(150), 2);
        m.history_done(0);
        m.history_done(1);
        m.set_live(1, false);
        push(&mut m, 0, "a", 10, t0);
        assert_eq!(msgs(&ready(&mut m, t0)), ["a@10"]);
    }

    #[test]
    fn drain_returns_the_rest_in_order() {
        let t0 = Instant::now();
        let mut m = Merger::new(Duration::from_millis(150), 2);
        push(&mut m, 1, "b", 7, t0);
        push(&mut m, 0, "a", 3, t0);
        assert_eq!(msgs(&m.drain()), ["a@3", "b@7"]);
        assert!(m.is_empty());
    }
}
