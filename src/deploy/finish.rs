//! The last steps on a host, in one round trip: prune old releases and unreferenced
//! chunks, write the audit line, release the lock; and the local audit line.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::{HostOutcome, now_rfc3339};
use crate::engine::Host;
use crate::engine::events::{Events, Step};
use crate::remote::Layout;
use crate::remote::scripts::{inspect, lock, prune};
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
        .script("pruning old releases", &prune::prune(layout, keep))
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

/// The last round trip on a host: prune (after a deploy that went live), the audit
/// line, and releasing this process's lock, in one script; then the local audit line.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn wrap_up(
    r: &Host,
    layout: &Layout,
    keep: Option<usize>,
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
    let json = serde_json::to_string(&line).unwrap_or_default();
    let host = Some(r.host.as_str());
    let started = Instant::now();
    let mut script = String::new();
    if let Some(keep) = keep {
        events.started(host, Step::Prune, None);
        script.push_str(&format!(
            "(\n{}\n)\necho \"part prune $?\"\n",
            prune::prune(layout, keep)
        ));
    }
    script.push_str(&format!(
        "(\n{}\n)\necho \"part audit $?\"\n(\n{}\n)\necho \"part release $?\"\n",
        inspect::audit(layout, &json),
        lock::release(layout, super::lock::token())
    ));
    let out = r
        .script("pruning, writing the audit log, unlocking", &script)
        .await;
    let text = out.as_ref().map(|o| o.stdout_str()).unwrap_or_default();
    let part = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("part {name} ")))
            .map(|code| code.trim() == "0")
    };
    if keep.is_some() {
        for note in text.lines().filter_map(|l| l.strip_prefix("note ")) {
            events.output(host, Step::Prune, OutputKind::Stderr, note);
        }
        let count = |p: &str| text.lines().filter(|l| l.starts_with(p)).count();
        match (&out, part("prune")) {
            (Ok(_), Some(true)) => events.finished(
                host,
                Step::Prune,
                started.elapsed(),
                Some(format!(
                    "removed {} releases, {} chunks",
                    count("release "),
                    count("chunk ")
                )),
            ),
            (Err(e), _) => events.failed(host, Step::Prune, &e.to_string(), Vec::new()),
            _ => events.failed(host, Step::Prune, "pruning failed on the host", Vec::new()),
        }
    }
    match (&out, part("audit")) {
        (Ok(_), Some(true)) => {}
        (Err(e), _) => events.failed(host, Step::Audit, &e.to_string(), Vec::new()),
        _ => events.failed(
            host,
            Step::Audit,
            &format!("writing {} failed", layout.audit_log()),
            Vec::new(),
        ),
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
