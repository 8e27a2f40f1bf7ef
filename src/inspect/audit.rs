//! The hosts' audit logs, merged (`raijin audit`, the console's Audit view): every
//! deploy, rollback, start, stop, restart, prune and down of an app, one JSON line
//! each on each of its hosts (written by `deploy::finish`), newest first.

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, LookupError};
use crate::remote::Layout;
use crate::remote::scripts::inspect as scripts;

/// One line of a host's audit log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(default)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub at: String,
    pub action: String,
    pub app: String,
    pub host: String,
    pub by: String,
    pub version: String,
    pub release: Option<String>,
    pub commit: Option<String>,
    pub from_version: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
}

/// The merged entries and the hosts that could not be read.
#[derive(Clone, Debug, Serialize, Default)]
pub struct AuditLog {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// `(host, app, why)` for each log that could not be read.
    pub errors: Vec<(String, String, String)>,
}

/// Parse a host's log lines (a line that is not an entry is skipped); the host and
/// app fill in what a line lacks.
pub fn parse_audit(host: &str, app: &str, text: &str) -> Vec<AuditEntry> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<AuditEntry>(l).ok())
        .map(|mut e| {
            if e.host.is_empty() {
                e.host = host.to_string();
            }
            if e.app.is_empty() {
                e.app = app.to_string();
            }
            e
        })
        .collect()
}

/// The newest `n` entries of the audit logs of `app` (None: every app) on all its
/// hosts, read in parallel and merged newest first.
pub async fn audit(engine: &Engine, app: Option<&str>, n: usize) -> Result<AuditLog, LookupError> {
    let apps: Vec<&crate::config::AppConfig> = match app {
        Some(a) => vec![engine.app(a)?],
        None => engine.apps().collect(),
    };
    let mut reads = Vec::new();
    for a in &apps {
        for h in engine.hosts(&a.hosts)? {
            let layout = Layout::new(&a.name);
            let name = a.name.clone();
            reads.push(async move {
                let out = h
                    .script("reading the audit log", &scripts::audit_tail(&layout, n))
                    .await;
                (h.host.clone(), name, out)
            });
        }
    }
    let mut log = AuditLog::default();
    for (host, app, out) in futures::future::join_all(reads).await {
        match out {
            Ok(o) => log
                .entries
                .extend(parse_audit(&host, &app, &o.stdout_str())),
            Err(e) => log.errors.push((host, app, e.to_string())),
        }
    }
    // RFC 3339 in UTC sorts as text; equal times keep host order.
    log.entries.sort_by(|a, b| b.at.cmp(&a.at));
    log.entries.truncate(n);
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_gaps_fill_in() {
        let text = "{\"at\":\"2026-12-01T10:00:00Z\",\"action\":\"deploy\",\"app\":\"shop\",\"host\":\"h1\",\"by\":\"me@x\",\"version\":\"v1\",\"release\":\"v1\",\"commit\":null,\"from_version\":null,\"outcome\":\"ok\",\"error\":null}\n\
            not json\n\
            {\"at\":\"2026-12-01T11:00:00Z\",\"action\":\"stop\",\"outcome\":\"failed\",\"error\":\"boom\"}\n";
        let e = parse_audit("h2", "shop", text);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].host.as_str(), e[0].version.as_str()), ("h1", "v1"));
        assert_eq!((e[1].host.as_str(), e[1].app.as_str()), ("h2", "shop"));
        assert_eq!(e[1].error.as_deref(), Some("boom"));
    }
}
