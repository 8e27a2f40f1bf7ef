//! The deploy lock across an app's hosts.
//!
//! Every deployer takes the hosts' locks one by one in one global order (natural
//! order of host names), so two deploys of one app never deadlock and never both
//! fail: whoever takes the first host they share goes first, the other fails at once
//! or, with `--lock-wait`, waits there holding nothing the first needs. A lock carries
//! this process's owner token: releasing it (also after Ctrl-C) removes only a lock
//! this process holds. A lock left by a process of this machine that no longer runs
//! (same machine id, `kill(pid, 0)` says it is gone) is stale and broken atomically,
//! only if it still carries the token that was judged stale.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::{Deserialize, Serialize};

use crate::engine::Host;
use crate::engine::events::{Events, Step};
use crate::remote::Layout;
use crate::remote::scripts::lock::{self, Take};
use crate::ssh::OutputKind;

/// How often a waiting deploy asks again.
const POLL: Duration = Duration::from_millis(300);

/// Who holds a lock, as stored on the host and shown to a second deployer.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct LockInfo {
    pub by: String,
    pub since: String,
    pub version: String,
    pub action: String,
    /// The holder's machine id and process: a holder of this machine whose process
    /// is gone (killed, or its link dropped before it could unlock) left a stale lock,
    /// which the next deploy from here breaks by itself.
    #[serde(default)]
    pub machine: String,
    #[serde(default)]
    pub pid: u32,
}

impl LockInfo {
    pub fn new(by: &str, version: &str, action: &str) -> Self {
        LockInfo {
            by: by.to_string(),
            since: super::now_rfc3339(),
            version: version.to_string(),
            action: action.to_string(),
            machine: machine_id().unwrap_or_default(),
            pid: std::process::id(),
        }
    }

    /// Held by a process of this machine that no longer runs.
    pub fn is_stale_here(&self) -> bool {
        self.pid != 0
            && !self.machine.is_empty()
            && machine_id().as_deref() == Some(self.machine.as_str())
            && !process_alive(self.pid)
    }

    fn describe(&self) -> String {
        format!(
            "{} since {} ({} of version {})",
            self.by, self.since, self.action, self.version
        )
    }
}

/// This machine's id (`/etc/machine-id` on Linux, the platform UUID on macOS), hashed
/// so the raw id never leaves the machine.
pub fn machine_id() -> Option<String> {
    static ID: OnceLock<Option<String>> = OnceLock::new();
    ID.get_or_init(|| {
        let raw = machine_uid::get().ok()?;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("raijin-lock:{raw}"));
        Some(hex::encode(&digest[..12]))
    })
    .clone()
}

/// Whether a process with this pid runs on this machine.
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// This process's owner token for the locks it takes.
pub fn token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| crate::util::random_hex(16))
}

/// What the lock script said.
enum Answer {
    /// Taken; what the `then` script printed.
    Locked(String),
    Busy,
    Held {
        token: String,
        info: String,
    },
}

fn parse_answer(text: &str, host: &str, events: &Events) -> Answer {
    let mut last = "";
    let mut rest = text;
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = after;
        if let Some(note) = line.strip_prefix("note ") {
            events.output(Some(host), Step::Lock, OutputKind::Stdout, note);
        } else if line.trim() == "locked" {
            return Answer::Locked(rest.to_string());
        } else if !line.trim().is_empty() {
            last = line.trim();
        }
    }
    if last == "busy" {
        return Answer::Busy;
    }
    let held = last.strip_prefix("held").unwrap_or(last).trim();
    let (token, info) = held.split_once(' ').unwrap_or((held, ""));
    Answer::Held {
        token: token.to_string(),
        info: info.to_string(),
    }
}

/// Take the app's lock on one host, waiting up to `wait` for another holder; returns
/// what `then` printed, run on the host once the lock is held.
#[allow(clippy::too_many_arguments)]
async fn lock_host(
    r: &Host,
    layout: &Layout,
    info_json: &str,
    wait: Option<Duration>,
    force: bool,
    instances: &[String],
    then: &str,
    events: &Events,
) -> anyhow::Result<String> {
    let started = Instant::now();
    events.started(Some(&r.host), Step::Lock, None);
    let mut breaking: Option<String> = None;
    let mut force = force;
    loop {
        let how = match &breaking {
            Some(t) => Take::Break(t),
            None => Take::IfFree,
        };
        let out = r
            .script(
                "taking the deploy lock",
                &lock::take(layout, token(), info_json, &how, instances, then),
            )
            .await?;
        let tried_break = breaking.take();
        let holder = match parse_answer(&out.stdout_str(), &r.host, events) {
            Answer::Locked(then_out) => {
                events.finished(Some(&r.host), Step::Lock, started.elapsed(), None);
                return Ok(then_out);
            }
            Answer::Busy => format!(
                "the host is still finishing an activation of {} ({})",
                layout.app(),
                layout.activation_unit()
            ),
            Answer::Held { token: t, info } => {
                let parsed = serde_json::from_str::<LockInfo>(&info).ok();
                let stale = parsed.as_ref().is_some_and(LockInfo::is_stale_here);
                if (stale || force) && tried_break.as_deref() != Some(t.as_str()) && !t.is_empty() {
                    if let Some(h) = &parsed {
                        events.output(
                            Some(&r.host),
                            Step::Lock,
                            OutputKind::Stderr,
                            &if stale {
                                format!(
                                    "breaking a stale lock of {} since {} (process {} on this machine is gone)",
                                    h.by, h.since, h.pid
                                )
                            } else {
                                format!("breaking the lock of {} (--force-unlock)", h.describe())
                            },
                        );
                    }
                    force = false;
                    breaking = Some(t);
                    continue;
                }
                parsed
                    .map(|h| h.describe())
                    .unwrap_or_else(|| format!("an unknown holder ({info})"))
            }
        };
        match wait {
            Some(w) if started.elapsed() < w => tokio::time::sleep(POLL).await,
            _ => {
                let msg = format!(
                    "{}: app {} is locked by {holder}; wait with --lock-wait SECS, or break a stale lock with --force-unlock",
                    r.host,
                    layout.app()
                );
                events.failed(Some(&r.host), Step::Lock, &msg, Vec::new());
                bail!(msg);
            }
        }
    }
}

/// Lock every host or none: one by one in natural order of host names, giving back
/// what was taken if one fails. `then` (shell, `""` for none) runs on each host once
/// its lock is held, in the same round trip; its output is returned by host name.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn lock_all(
    remotes: &[Host],
    layout: &Layout,
    info: &LockInfo,
    wait: Option<Duration>,
    force: bool,
    instances: &[String],
    then: &str,
    events: &Events,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let info_json = serde_json::to_string(info)?;
    let mut order: Vec<&Host> = remotes.iter().collect();
    order.sort_by(|a, b| crate::util::natural_cmp(&a.host, &b.host));
    let mut taken: Vec<&Host> = Vec::new();
    let mut outputs = std::collections::HashMap::new();
    for r in order {
        match lock_host(r, layout, &info_json, wait, force, instances, then, events).await {
            Ok(out) => {
                outputs.insert(r.host.clone(), out);
                taken.push(r);
            }
            Err(e) => {
                futures::future::join_all(taken.iter().map(|t| release(t, layout))).await;
                return Err(e);
            }
        }
    }
    Ok(outputs)
}

/// Release this process's lock on one host (best effort: a host that is gone keeps a
/// lock its next deploy from this machine recognizes as stale).
pub(crate) async fn release(r: &Host, layout: &Layout) {
    let _ = r
        .script("releasing the deploy lock", &lock::release(layout, token()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(process_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid));
    }

    #[test]
    fn a_lock_of_a_gone_process_here_is_stale_and_one_elsewhere_is_not() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let mut info = LockInfo::new("a@b", "v1", "deploy");
        info.pid = pid;
        assert!(info.is_stale_here());
        info.machine = "another-machine".into();
        assert!(!info.is_stale_here());
        let alive = LockInfo::new("a@b", "v1", "deploy");
        assert!(!alive.is_stale_here());
    }

    #[test]
    fn answers() {
        let ev = Events::none();
        assert!(matches!(
            parse_answer("note migrated 2 releases\nlocked\n", "h1", &ev),
            Answer::Locked(rest) if rest.is_empty()
        ));
        match parse_answer("note n\nlocked\nv1\t0\t{}\nheld x\n", "h1", &ev) {
            Answer::Locked(rest) => assert_eq!(rest, "v1\t0\t{}\nheld x\n"),
            _ => panic!("not locked"),
        }
        assert!(matches!(parse_answer("busy\n", "h1", &ev), Answer::Busy));
        match parse_answer("held abc {\"by\":\"x\"}\n", "h1", &ev) {
            Answer::Held { token, info } => {
                assert_eq!((token.as_str(), info.as_str()), ("abc", "{\"by\":\"x\"}"))
            }
            _ => panic!("not held"),
        }
    }
}
