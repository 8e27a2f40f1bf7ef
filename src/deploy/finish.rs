//! The last steps on a host: prune old releases and unreferenced chunks, and write
//! the audit line on the host and in the local state directory.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::{HostOutcome, now_rfc3339};
use crate::engine::Host;
use crate::engine::events::{Events, Step};
use crate::remote::Layout;
use crate::remote::scripts::{inspect, prune as scripts};
use crate::ssh::OutputKind;

/// What a prune removed on a host, or why it failed.
pub(crate) struct Pruned {
    pub releases: usize,
    pub chunks: usize,
    pub error: Option<String>,
}

pub(crate) async fn prune(r: &Host, keep: usize, layout: &Layout, events: &Events) -> Pruned {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Prune, None);
    match r
        .script("pruning old releases", &scripts::prune(layout, keep))
        .await
    {
        Ok(out) => {
            let text = out.stdout_str();
            for note in text.lines().filter_map(|l| l.strip_prefix("note ")) {
                events.output(host, Step::Prune, OutputKind::Stderr, note);
            }
            let count = |p: &str| text.lines().filter(|l| l.starts_with(p)).count();
            let (releases, chunks) = (count("release "), count("chunk "));
            events.finished(
                host,
                Step::Prune,
                started.elapsed(),
                Some(format!("removed {releases} releases, {chunks} chunks")),
            );
            Pruned {
                releases,
                chunks,
                error: None,
            }
        }
        Err(e) => {
            events.failed(host, Step::Prune, &e.to_string(), Vec::new());
            Pruned {
                releases: 0,
                chunks: 0,
                error: Some(e.to_string()),
            }
        }
    }
}

#[derive(Serialize)]
struct AuditLine<'a> {
    at: String,
    action: &'a str,
    app: &'a str,
    host: &'a str,
    by: &'a str,
    version: &'a str,
    release: Option<&'a str>,
    commit: Option<&'a str>,
    from_version: Option<&'a str>,
    outcome: &'a str,
    error: Option<&'a str>,
}

/// Append the outcome to the host's audit log and the local one.
pub(crate) async fn audit(
    r: &Host,
    layout: &Layout,
    action: &str,
    by: &str,
    commit: Option<&str>,
    o: &HostOutcome,
    events: &Events,
) {
    let line = AuditLine {
        at: now_rfc3339(),
        action,
        app: layout.app(),
        host: &o.host,
        by,
        version: &o.version,
        release: o.release.as_deref(),
        commit,
        from_version: o.from_version.as_deref(),
        outcome: if o.ok { "ok" } else { "failed" },
        error: o.error.as_deref(),
    };
    let Ok(json) = serde_json::to_string(&line) else {
        return;
    };
    let host = Some(r.host.as_str());
    if let Err(e) = r
        .script("writing the audit log", &inspect::audit(layout, &json))
        .await
    {
        events.failed(host, Step::Audit, &e.to_string(), Vec::new());
    }
    if let Err(e) = append_local_audit(&json) {
        events.failed(
            None,
            Step::Audit,
            &format!("local audit log: {e}"),
            Vec::new(),
        );
    }
}

/// Append the audit line of an action outside the pipeline (`app stop`, `down`,
/// `prune`, ...) to the host's audit log and the local one, in the pipeline's
/// format: `release` is the release that was current, `error` what failed.
pub(crate) async fn audit_action(
    r: &Host,
    layout: &Layout,
    action: &str,
    release: Option<&str>,
    error: Option<&str>,
) -> Result<(), String> {
    let by = super::plan::deployer();
    let line = AuditLine {
        at: now_rfc3339(),
        action,
        app: layout.app(),
        host: &r.host,
        by: &by,
        version: release
            .map(crate::remote::layout::release_version)
            .unwrap_or(""),
        release,
        commit: None,
        from_version: None,
        outcome: if error.is_none() { "ok" } else { "failed" },
        error,
    };
    let json = serde_json::to_string(&line).map_err(|e| e.to_string())?;
    r.script("writing the audit log", &inspect::audit(layout, &json))
        .await
        .map_err(|e| e.to_string())?;
    append_local_audit(&json).map_err(|e| format!("local audit log: {e}"))
}

/// The local audit log, next to the log file.
pub fn local_audit_path() -> Option<PathBuf> {
    crate::logging::log_dir().map(|d| d.join("audit.log"))
}

fn append_local_audit(line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let Some(path) = local_audit_path() else {
        return Ok(());
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{line}")
}
