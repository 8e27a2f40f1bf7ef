//! Following an app's journal on many hosts at once, over the hosts' existing
//! SSH connections: one merged stream of records in time order, with markers
//! when a host's stream stops or resumes and an exact count of lines dropped
//! when the reader falls behind. The engine part only: the CLI prints the
//! stream, the console shows it in its log pane.
//!
//! - `record`: a journal entry parsed once from `journalctl -o export`; filters.
//! - the `journalctl` command lines (units, cursors) are rendered with the other
//!   host scripts, in [`crate::remote::scripts::journal`].
//! - `merge`: ordering across hosts with a small reorder window.
//! - `ring`: the bounded buffer with its drop counter.
//! - `follow`: the per-host readers, reconnects, and [`LogStream`].

pub mod follow;
pub mod merge;
pub mod record;
pub mod ring;

use serde::Serialize;

pub use follow::{
    DEFAULT_CAPACITY, LogRequest, LogStats, LogStream, REORDER_WINDOW, follow, validate,
};
pub use record::{LogFilter, LogRecord, parse_priority, priority_name};

/// Something that happened to a host's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Marker {
    /// The host's stream stopped (the link dropped, the command failed).
    /// With `retrying`, raijin reconnects and resumes after the last entry
    /// received, so no line is lost or shown twice.
    Stopped {
        host: String,
        reason: String,
        retrying: bool,
    },
    /// The host's stream is back; entries missed meanwhile follow.
    Resumed { host: String },
}

impl Marker {
    pub fn host(&self) -> &str {
        match self {
            Marker::Stopped { host, .. } | Marker::Resumed { host } => host,
        }
    }
}

impl std::fmt::Display for Marker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Marker::Stopped {
                host,
                reason,
                retrying,
            } => write!(
                f,
                "stream from {host} stopped: {reason}{}",
                if *retrying { " (reconnecting)" } else { "" }
            ),
            Marker::Resumed { host } => {
                write!(f, "stream from {host} resumed after its last line")
            }
        }
    }
}

/// One item of the merged stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogItem {
    Line(LogRecord),
    Marker(Marker),
    /// This many lines were dropped here because the reader fell behind.
    Dropped(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_read_as_sentences_and_serialize_tagged() {
        let m = Marker::Stopped {
            host: "h2".into(),
            reason: "connection lost: keepalive timeout".into(),
            retrying: true,
        };
        assert_eq!(
            m.to_string(),
            "stream from h2 stopped: connection lost: keepalive timeout (reconnecting)"
        );
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["event"], "stopped");
        assert_eq!(v["host"], "h2");
        assert_eq!(
            Marker::Resumed { host: "h2".into() }.to_string(),
            "stream from h2 resumed after its last line"
        );
    }
}
