//! The follower: one reader per host runs `journalctl -o export` on the host's
//! connection (history first, then `--follow`), parses and filters entries as
//! they arrive and remembers the cursor of the last one. When its stream
//! stops (link down, connection lost) it says so with a marker, reconnects
//! with backoff and resumes with `--after-cursor`: nothing lost, nothing
//! shown twice. A merge task orders the hosts' entries (see `merge`) into the
//! bounded buffer the reader takes batches from (see `ring`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::merge::Merger;
use super::record::{ExportParser, LogFilter, LogRecord};
use super::ring::LogRing;
use super::{LogItem, Marker};
use crate::engine::{Engine, Host, LookupError};
use crate::remote::scripts::journal::{self, Query};
use crate::ssh::{OutputKind, SshError, Stdin};

/// Lines the buffer holds for a reader that falls behind before it drops.
pub const DEFAULT_CAPACITY: usize = 20_000;
/// How long an entry may wait for a slower host's older ones. journald tells
/// followers about new entries in batches, 0 to about 450 ms after they were
/// logged (a 250 ms timer with 250 ms of slack); on the testbed 250 ms ordered
/// all but a few percent of lines (those by under 100 ms) and kept the
/// latency under 500 ms.
pub const REORDER_WINDOW: Duration = Duration::from_millis(250);
/// Longest wait between reconnect attempts of a stopped stream.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// Bytes of a failing `journalctl`'s stderr kept for the marker.
const STDERR_KEPT: usize = 2048;

/// What to follow and how.
#[derive(Clone, Debug)]
pub struct LogRequest {
    pub app: String,
    /// Empty: all of the app's hosts.
    pub hosts: Vec<String>,
    /// Process names; empty: all of the app's processes.
    pub processes: Vec<String>,
    /// History: the last N entries per host (`Some(0)`: none; `None`: no limit).
    pub lines: Option<u32>,
    /// History: entries since this time (journalctl's syntax).
    pub since: Option<String>,
    /// Keep following after the history.
    pub follow: bool,
    pub filter: LogFilter,
    /// Lines buffered for the reader (see [`DEFAULT_CAPACITY`]).
    pub capacity: usize,
    pub reorder_window: Duration,
}

impl LogRequest {
    /// The last 10 entries of every process on every host, then follow.
    pub fn new(app: &str) -> LogRequest {
        LogRequest {
            app: app.to_string(),
            hosts: Vec::new(),
            processes: Vec::new(),
            lines: Some(10),
            since: None,
            follow: true,
            filter: LogFilter::default(),
            capacity: DEFAULT_CAPACITY,
            reorder_window: REORDER_WINDOW,
        }
    }
}

/// Counts so far, for a status line or a benchmark.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct LogStats {
    /// Entries received per host (before filtering).
    pub received: BTreeMap<String, u64>,
    /// Entries that passed the filter.
    pub kept: u64,
    /// Kept entries dropped because the reader fell behind.
    pub dropped: u64,
    /// Output that was not a journal entry (logged, not shown).
    pub unparsed: u64,
}

/// The merged stream. Dropping it stops the readers (and their remote
/// `journalctl`s).
pub struct LogStream {
    ring: Arc<LogRing>,
    counters: Arc<Counters>,
    hosts: Vec<String>,
    tasks: Vec<JoinHandle<()>>,
}

impl LogStream {
    /// The next items (up to `max` lines, plus markers and a drop count),
    /// waiting for some; `None` when every stream has ended (never while
    /// following, unless every host failed for good).
    pub async fn next_batch(&mut self, max: usize) -> Option<Vec<LogItem>> {
        self.ring.take(max).await
    }

    /// The hosts followed, in configuration order.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    pub fn stats(&self) -> LogStats {
        LogStats {
            received: self
                .hosts
                .iter()
                .zip(&self.counters.received)
                .map(|(h, n)| (h.clone(), n.load(Ordering::Relaxed)))
                .collect(),
            kept: self.counters.kept.load(Ordering::Relaxed),
            dropped: self.ring.dropped_total(),
            unparsed: self.counters.unparsed.load(Ordering::Relaxed),
        }
    }

    /// Stop following, giving the abandoned channels' close (sent in the
    /// background; `journalctl -f` exits when its output closes) a moment to
    /// reach the hosts.
    pub async fn stop(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for LogStream {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Default)]
struct Counters {
    received: Vec<AtomicU64>,
    kept: AtomicU64,
    unparsed: AtomicU64,
}

/// Check a request against the configuration: the hosts (named in errors)
/// and the `journalctl -u` patterns of the chosen processes.
pub fn validate(
    engine: &Engine,
    req: &LogRequest,
) -> Result<(Vec<String>, Vec<String>), LookupError> {
    let app = engine.app(&req.app)?;
    let hosts = engine.hosts_for(app, &req.hosts)?;
    engine.check_processes(app, &req.processes)?;
    let units = journal::units(app, &req.processes);
    if units.is_empty() {
        return Err(LookupError::NoProcesses {
            app: app.name.clone(),
        });
    }
    Ok((hosts, units))
}

/// Start following. Must run inside the tokio runtime; returns at once.
pub fn follow(engine: &Engine, req: LogRequest) -> Result<LogStream, LookupError> {
    let (hosts, units) = validate(engine, &req)?;
    let remotes = engine.hosts(&hosts)?;
    let ring = Arc::new(LogRing::new(req.capacity));
    let counters = Arc::new(Counters {
        received: hosts.iter().map(|_| AtomicU64::new(0)).collect(),
        ..Counters::default()
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let units = Arc::new(units);
    let filter = Arc::new(req.filter.clone());
    let mut tasks = Vec::with_capacity(hosts.len() + 1);
    for (idx, remote) in remotes.into_iter().enumerate() {
        let reader = HostReader {
            idx,
            remote,
            units: units.clone(),
            lines: req.lines,
            since: req.since.clone(),
            follow: req.follow,
            filter: filter.clone(),
            tx: tx.clone(),
            counters: counters.clone(),
        };
        tasks.push(tokio::spawn(reader.run()));
    }
    drop(tx);
    tasks.push(tokio::spawn(merge(
        rx,
        ring.clone(),
        hosts.len(),
        req.reorder_window,
    )));
    Ok(LogStream {
        ring,
        counters,
        hosts,
        tasks,
    })
}

/// What a host's reader tells the merge task.
enum HostMsg {
    Batch {
        host: usize,
        records: Vec<LogRecord>,
        latest_us: u64,
    },
    HistoryDone {
        host: usize,
    },
    Stopped {
        host: usize,
        marker: Marker,
    },
    Resumed {
        host: usize,
        marker: Marker,
    },
}

/// Why a host's stream stopped.
enum Stop {
    /// Worth retrying: the link, the connection, the remote process dying.
    Transient(String),
    /// A retry would fail the same way: host key, auth, a bad `--since`.
    Fatal(String),
}

struct HostReader {
    idx: usize,
    remote: Host,
    units: Arc<Vec<String>>,
    lines: Option<u32>,
    since: Option<String>,
    follow: bool,
    filter: Arc<LogFilter>,
    tx: mpsc::UnboundedSender<HostMsg>,
    counters: Arc<Counters>,
}

impl HostReader {
    fn host(&self) -> &str {
        &self.remote.host
    }

    async fn run(self) {
        let mut cursor: Option<String> = None;
        let mut have_history = false;
        let mut history_reported = false;
        let mut stopped = false;
        let mut attempt: u32 = 0;
        loop {
            if stopped {
                match self.remote.connect().await {
                    Ok(()) => {
                        stopped = false;
                        attempt = 0;
                        let marker = Marker::Resumed {
                            host: self.host().to_string(),
                        };
                        let _ = self.tx.send(HostMsg::Resumed {
                            host: self.idx,
                            marker,
                        });
                    }
                    Err(e) if is_fatal(&e) => {
                        self.stopped(&reason(&e), false);
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(host = %self.host(), error = %e, "log stream: reconnect failed");
                        attempt += 1;
                        tokio::time::sleep(retry_delay(attempt)).await;
                        continue;
                    }
                }
            }
            let result = if have_history {
                let query = match &cursor {
                    Some(c) => Query {
                        after: Some(c.clone()),
                        follow: true,
                        ..Query::default()
                    },
                    // The history found no entry at all: anything matching is new.
                    None => Query {
                        since: self.since.clone(),
                        follow: true,
                        ..Query::default()
                    },
                };
                match self.read(&query, true, &mut cursor).await {
                    Ok(()) => Err(Stop::Transient("journalctl ended".into())),
                    Err(stop) => Err(stop),
                }
            } else {
                // Without history wanted, still read the newest entry: its
                // cursor is where following starts.
                let emit = self.lines != Some(0);
                let query = Query {
                    lines: if emit { self.lines } else { Some(1) },
                    since: self.since.clone(),
                    ..Query::default()
                };
                self.read(&query, emit, &mut cursor).await
            };
            let stop = match result {
                Ok(()) => {
                    have_history = true;
                    if !history_reported {
                        history_reported = true;
                        let _ = self.tx.send(HostMsg::HistoryDone { host: self.idx });
                    }
                    if !self.follow {
                        return;
                    }
                    continue;
                }
                Err(stop) => stop,
            };
            if !history_reported {
                history_reported = true;
                let _ = self.tx.send(HostMsg::HistoryDone { host: self.idx });
            }
            match stop {
                Stop::Fatal(r) => {
                    self.stopped(&r, false);
                    return;
                }
                Stop::Transient(r) => {
                    self.stopped(&r, self.follow);
                    if !self.follow {
                        return;
                    }
                }
            }
            stopped = true;
            attempt += 1;
            tokio::time::sleep(retry_delay(attempt)).await;
        }
    }

    fn stopped(&self, reason: &str, retrying: bool) {
        tracing::info!(host = %self.host(), %reason, retrying, "log stream stopped");
        let marker = Marker::Stopped {
            host: self.host().to_string(),
            reason: reason.to_string(),
            retrying,
        };
        let _ = self.tx.send(HostMsg::Stopped {
            host: self.idx,
            marker,
        });
    }

    /// Run one `journalctl` on the host, sending what it prints as it
    /// arrives (when `emit`) and keeping `cursor` at the last entry sent.
    async fn read(
        &self,
        query: &Query,
        emit: bool,
        cursor: &mut Option<String>,
    ) -> Result<(), Stop> {
        let script = journal::command(&self.units, query);
        let mut parser = ExportParser::default();
        let mut stderr: Vec<u8> = Vec::new();
        let mut on_output = |kind: OutputKind, data: &[u8]| match kind {
            OutputKind::Stderr => {
                let room = STDERR_KEPT.saturating_sub(stderr.len());
                stderr.extend_from_slice(&data[..data.len().min(room)]);
            }
            OutputKind::Stdout => {
                let mut batch = Vec::new();
                let mut latest_us = 0;
                let mut last_sent = false;
                parser.push(self.host(), data, &mut |parsed| match parsed {
                    Ok(rec) => {
                        self.counters.received[self.idx].fetch_add(1, Ordering::Relaxed);
                        latest_us = latest_us.max(rec.time_us);
                        if emit && self.filter.keeps(&rec) {
                            self.counters.kept.fetch_add(1, Ordering::Relaxed);
                            batch.push(rec);
                            last_sent = true;
                        } else {
                            *cursor = Some(rec.cursor);
                            last_sent = false;
                        }
                    }
                    Err(e) => {
                        self.counters.unparsed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(host = %self.host(), error = %e, "log stream: not a journal entry");
                    }
                });
                if last_sent && let Some(last) = batch.last() {
                    *cursor = Some(last.cursor.clone());
                }
                if latest_us > 0 {
                    let _ = self.tx.send(HostMsg::Batch {
                        host: self.idx,
                        records: batch,
                        latest_us,
                    });
                }
            }
        };
        let res = self
            .remote
            .stream_as_root(&script, Stdin::Empty, &mut on_output)
            .await;
        match res {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => {
                let err = String::from_utf8_lossy(&stderr).trim().to_string();
                let what = if err.is_empty() {
                    format!("journalctl failed ({status})")
                } else {
                    format!("journalctl failed ({status}): {err}")
                };
                match status {
                    crate::ssh::ExitStatus::Signal(_) => Err(Stop::Transient(what)),
                    crate::ssh::ExitStatus::Code(_) => Err(Stop::Fatal(what)),
                }
            }
            Err(e) if is_fatal(&e) => Err(Stop::Fatal(reason(&e))),
            Err(e) => Err(Stop::Transient(reason(&e))),
        }
    }
}

/// Errors a reconnect will not fix.
fn is_fatal(e: &SshError) -> bool {
    matches!(
        e,
        SshError::HostKeyUnknown { .. }
            | SshError::HostKeyChanged { .. }
            | SshError::HostKeyRevoked { .. }
            | SshError::Auth { .. }
    )
}

/// The error without its leading `HOST: ` (the marker names the host).
fn reason(e: &SshError) -> String {
    let text = e.to_string();
    let prefix = format!("{}: ", e.host());
    text.strip_prefix(&prefix).unwrap_or(&text).to_string()
}

/// 1, 2, 4, 5, 5, ... seconds.
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(3)).min(MAX_RETRY_DELAY)
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Orders the hosts' entries and hands them to the buffer.
async fn merge(
    mut rx: mpsc::UnboundedReceiver<HostMsg>,
    ring: Arc<LogRing>,
    hosts: usize,
    window: Duration,
) {
    let mut m = Merger::new(window, hosts);
    loop {
        let deadline = m.next_deadline();
        let msg = tokio::select! {
            msg = rx.recv() => match msg {
                Some(msg) => Some(msg),
                None => break,
            },
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            } => None,
        };
        let in_history = m.in_history();
        let now = Instant::now();
        if let Some(msg) = msg {
            apply(&mut m, &ring, msg, now);
        }
        // Take whatever else is queued before releasing.
        while let Ok(msg) = rx.try_recv() {
            apply(&mut m, &ring, msg, now);
        }
        let out: Vec<LogItem> = std::iter::from_fn(|| m.pop_ready(now)).collect();
        if out.is_empty() {
            continue;
        }
        if in_history {
            // The histories, sorted: already in memory, so wait for the reader
            // rather than drop any.
            ring.push_waiting(out).await;
        } else {
            ring.push(out);
        }
    }
    ring.push_waiting(m.drain()).await;
    ring.close();
}

fn apply(m: &mut Merger, ring: &LogRing, msg: HostMsg, now: Instant) {
    match msg {
        HostMsg::Batch {
            host,
            records,
            latest_us,
        } => {
            m.advance(host, latest_us);
            for r in records {
                m.push(r.time_us, LogItem::Line(r), now);
            }
        }
        HostMsg::HistoryDone { host } => m.history_done(host),
        HostMsg::Stopped { host, marker } => {
            m.set_live(host, false);
            // After the lines the host sent before it stopped.
            m.push(now_us(), LogItem::Marker(marker), now);
        }
        HostMsg::Resumed { host, marker } => {
            m.set_live(host, true);
            // Before the entries it missed, which follow now.
            ring.push([LogItem::Marker(marker)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_five_seconds() {
        let v: Vec<u64> = (1..=6).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(v, [1, 2, 4, 5, 5, 5]);
    }

    #[test]
    fn reasons_leave_the_host_to_the_marker() {
        let e = SshError::Disconnected {
            host: "h2".into(),
            reason: "keepalive timeout".into(),
        };
        assert_eq!(reason(&e), "connection lost: keepalive timeout");
        assert!(!is_fatal(&e));
        assert!(is_fatal(&SshError::Auth {
            host: "h2".into(),
            user: "root".into(),
            tried: "key".into()
        }));
    }
}
