//! The bounded buffer between the merged stream and its reader (the CLI's
//! printer, the console's log pane). When the reader falls behind, the oldest
//! lines are dropped and counted exactly; the reader gets a `Dropped(n)` item
//! where they were. Markers (a host stopped or resumed) are never dropped.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::{LogItem, Marker};

#[derive(Default)]
struct Ring {
    items: VecDeque<LogItem>,
    /// Lines among `items`.
    lines: usize,
    /// Lines dropped just before the front item, not yet reported.
    gap: u64,
    /// Markers that reached the front of a full buffer: kept, reported first.
    rescued: Vec<Marker>,
    dropped_total: u64,
    closed: bool,
}

/// A bounded, shared buffer: one writer, one reader.
pub struct LogRing {
    capacity: usize,
    ring: Mutex<Ring>,
    readable: Notify,
    writable: Notify,
}

/// Outcome of a push.
#[derive(Debug, PartialEq, Eq)]
pub struct Pushed {
    pub dropped: u64,
}

impl LogRing {
    /// A buffer holding at most `capacity` lines (at least 1).
    pub fn new(capacity: usize) -> LogRing {
        LogRing {
            capacity: capacity.max(1),
            ring: Mutex::new(Ring::default()),
            readable: Notify::new(),
            writable: Notify::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // The buffer's state stays consistent even if a holder panicked.
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add items; when full, drop the oldest lines (counted) to make room.
    pub fn push(&self, items: impl IntoIterator<Item = LogItem>) -> Pushed {
        let mut dropped = 0;
        {
            let mut r = self.lock();
            for item in items {
                if matches!(item, LogItem::Line(_)) {
                    while r.lines >= self.capacity {
                        match r.items.pop_front() {
                            Some(LogItem::Line(_)) => {
                                r.lines -= 1;
                                r.gap += 1;
                                r.dropped_total += 1;
                                dropped += 1;
                            }
                            Some(LogItem::Marker(m)) => r.rescued.push(m),
                            Some(LogItem::Dropped(n)) => r.gap += n,
                            None => break,
                        }
                    }
                    r.lines += 1;
                }
                r.items.push_back(item);
            }
        }
        self.readable.notify_one();
        Pushed { dropped }
    }

    /// Add items, waiting for the reader to make room instead of dropping
    /// (for history, which is already in memory).
    pub async fn push_waiting(&self, items: Vec<LogItem>) {
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let room = {
                let r = self.lock();
                if r.closed {
                    return;
                }
                self.capacity.saturating_sub(r.lines)
            };
            if room == 0 {
                let wait = self.writable.notified();
                tokio::pin!(wait);
                wait.as_mut().enable();
                if self.capacity.saturating_sub(self.lock().lines) == 0 {
                    wait.await;
                }
                continue;
            }
            let mut batch = Vec::new();
            let mut lines = 0;
            while lines < room {
                match items.next() {
                    Some(item) => {
                        lines += usize::from(matches!(item, LogItem::Line(_)));
                        batch.push(item);
                    }
                    None => break,
                }
            }
            self.push(batch);
        }
    }

    /// Take up to `max` items (at least the pending markers and drop count),
    /// waiting until there is something; `None` once closed and empty.
    pub async fn take(&self, max: usize) -> Option<Vec<LogItem>> {
        loop {
            let wait = self.readable.notified();
            tokio::pin!(wait);
            wait.as_mut().enable();
            if let Some(batch) = self.try_take(max) {
                return Some(batch);
            }
            if self.lock().closed {
                return None;
            }
            wait.await;
        }
    }

    /// What `take` returns, without waiting: `None` when nothing is pending.
    pub fn try_take(&self, max: usize) -> Option<Vec<LogItem>> {
        let batch = {
            let mut r = self.lock();
            let mut out: Vec<LogItem> = r.rescued.drain(..).map(LogItem::Marker).collect();
            if r.gap > 0 {
                out.push(LogItem::Dropped(r.gap));
                r.gap = 0;
            }
            let n = max.max(1).min(r.items.len());
            let start = out.len();
            out.extend(r.items.drain(..n));
            let taken = out[start..]
                .iter()
                .filter(|i| matches!(i, LogItem::Line(_)))
                .count();
            r.lines -= taken;
            out
        };
        if batch.is_empty() {
            return None;
        }
        self.writable.notify_one();
        Some(batch)
    }

    /// No more items will come; the reader gets what is left, then `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.readable.notify_one();
        self.writable.notify_one();
    }

    /// Lines dropped so far because the reader fell behind.
    pub fn dropped_total(&self) -> u64 {
        self.lock().dropped_total
    }

    /// Lines waiting for the reader.
    pub fn pending_lines(&self) -> usize {
        self.lock().lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogRecord;

    fn line(n: u64) -> LogItem {
        LogItem::Line(LogRecord {
            time_us: n,
            host: "h1".into(),
            unit: "u".into(),
            priority: 6,
            message: format!("{n}"),
            cursor: String::new(),
        })
    }

    fn stopped() -> LogItem {
        LogItem::Marker(Marker::Stopped {
            host: "h2".into(),
            reason: "gone".into(),
            retrying: true,
        })
    }

    fn show(items: &[LogItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                LogItem::Line(r) => r.message.clone(),
                LogItem::Marker(_) => "marker".into(),
                LogItem::Dropped(n) => format!("dropped {n}"),
            })
            .collect()
    }

    #[test]
    fn a_full_ring_drops_the_oldest_lines_and_says_how_many() {
        let ring = LogRing::new(3);
        let p = ring.push((1..=5).map(line));
        assert_eq!(p.dropped, 2);
        assert_eq!(
            show(&ring.try_take(10).unwrap()),
            ["dropped 2", "3", "4", "5"]
        );
        assert_eq!(ring.dropped_total(), 2);
        assert!(ring.try_take(10).is_none());
    }

    #[test]
    fn markers_are_never_dropped() {
        let ring = LogRing::new(2);
        ring.push([line(1), stopped(), line(2), line(3), line(4)]);
        // Lines 1 and 2 went; the marker between them is kept.
        assert_eq!(
            show(&ring.try_take(10).unwrap()),
            ["marker", "dropped 2", "3", "4"]
        );
    }

    #[test]
    fn drop_counts_accumulate_until_read() {
        let ring = LogRing::new(1);
        ring.push((1..=3).map(line));
        ring.push((4..=6).map(line));
        assert_eq!(show(&ring.try_take(10).unwrap()), ["dropped 5", "6"]);
        assert_eq!(ring.dropped_total(), 5);
    }

    #[test]
    fn take_in_batches() {
        let ring = LogRing::new(10);
        ring.push((1..=5).map(line));
        assert_eq!(show(&ring.try_take(2).unwrap()), ["1", "2"]);
        assert_eq!(ring.pending_lines(), 3);
        assert_eq!(show(&ring.try_take(10).unwrap()), ["3", "4", "5"]);
    }

    #[tokio::test]
    async fn history_waits_for_room_instead_of_dropping() {
        let ring = std::sync::Arc::new(LogRing::new(4));
        let writer = {
            let ring = ring.clone();
            tokio::spawn(async move {
                ring.push_waiting((1..=20).map(line).collect()).await;
                ring.close();
            })
        };
        let mut seen = Vec::new();
        while let Some(batch) = ring.take(3).await {
            seen.extend(show(&batch));
        }
        writer.await.unwrap();
        let want: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
        assert_eq!(seen, want);
        assert_eq!(ring.dropped_total(), 0);
    }
}
