//! Activation from raijin's side: start the host-side activation program (see
//! [`crate::remote::scripts::activate`]), follow its progress, run the HTTP health
//! check through Caddy and confirm or reject the release, and read the outcome.
//!
//! The program finishes on the host whatever happens to the link or to raijin: a
//! release that is not confirmed healthy in time is reverted by the host itself.
//! When the link drops, raijin keeps asking for the outcome after reconnecting, up to
//! the host's own bounds plus [`OUTCOME_GRACE`], then gives up saying what the host
//! does on its own.

use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::sync::mpsc;

use super::http;
use crate::config::AppConfig;
use crate::engine::events::{Events, Step};
use crate::engine::{Host, HostError};
use crate::remote::Layout;
use crate::remote::scripts::activate::{self as script, Params, Program, Word};
use crate::remote::scripts::inspect::journal_tail;
use crate::remote::units;
use crate::ssh::{ExitStatus, OutputKind};

/// How long a release without an HTTP health check has to get its units active
/// (apps with a proxy set `health_timeout_secs`).
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// How much longer than raijin's health check the host waits for its word.
pub const CONFIRM_GRACE: Duration = Duration::from_secs(5);
/// After a lost link, how long beyond the host's bounds raijin tries to read the outcome.
pub const OUTCOME_GRACE: Duration = Duration::from_secs(15);
/// Journal lines shown for a unit that failed.
const JOURNAL_LINES: u32 = 20;

/// How an activation ended on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    status: String,
    previous: Option<String>,
    unit: Option<String>,
    reason: String,
}

fn parse_outcome(lines: &[String]) -> Option<Outcome> {
    let first = lines.first()?;
    let mut parts = first.split_whitespace();
    let status = parts.next()?.to_string();
    let dash = |s: Option<&str>| s.filter(|s| *s != "-").map(String::from);
    let previous = dash(parts.next());
    let unit = dash(parts.next());
    let reason = lines[1..].join("\n").trim().to_string();
    Some(Outcome {
        status,
        previous,
        unit,
        reason,
    })
}

/// What raijin saw of the program while following it.
#[derive(Default)]
struct Seen {
    previous: Option<String>,
    applied: bool,
    confirmed: bool,
    confirm_deadline: Option<u64>,
    /// The ports of the slot the new release started in (empty: in place).
    slot_ports: Vec<u16>,
    /// The slot already ran the release (a rollback right after a deploy).
    warm: bool,
    /// The slot the release started in.
    slot: Option<String>,
    result: Option<Vec<String>>,
}

/// Activate `release` on the host behind its health gate. Returns the release it
/// replaced; an error says why the release is not serving and what serves instead.
pub(crate) async fn activate(
    r: &Host,
    app: &AppConfig,
    layout: &Layout,
    release: &str,
    events: &Events,
) -> anyhow::Result<Option<String>> {
    let host = Some(r.host.as_str());
    let started = Instant::now();
    events.started(host, Step::Activate, Some(release.to_string()));
    let id = crate::util::random_hex(8);
    let timeout = health_timeout(app);
    let confirm_secs = app
        .proxy
        .as_ref()
        .map(|_| (timeout + CONFIRM_GRACE).as_secs());
    let health_host = app
        .proxy
        .as_ref()
        .map(|p| http::Target::via_caddy(p).host)
        .unwrap_or_default();
    let params = Params {
        id: &id,
        target: release,
        units_timeout_secs: timeout.as_secs(),
        confirm_secs,
        drain_secs: app.proxy.as_ref().map_or(0, |p| p.drain_secs),
        health_host: &health_host,
        health_path: app.proxy.as_ref().map_or("", |p| p.health_path.as_str()),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    // The host keeps the program from its last activation: sent only when it has not
    // (the first activation of the app by this raijin, or a copy that differs).
    let exec = async {
        let kept = script::start(layout, &params, Program::Kept);
        match r
            .script_lines("activating the release", &kept, tx.clone())
            .await
        {
            Err(HostError::Failed {
                status: ExitStatus::Code(96),
                stderr,
                ..
            }) if stderr.trim() == script::PROGRAM_MISSING => {
                let sent = script::start(layout, &params, Program::Sent);
                r.script_lines("activating the release", &sent, tx).await
            }
            other => {
                if let Err(e) = &other {
                    tracing::debug!(host = %r.host, "activation start: {e}");
                }
                other
            }
        }
    };
    let mut seen = Seen::default();
    let mut health: Option<tokio::task::JoinHandle<()>> = None;
    let drive = async {
        let mut in_result = false;
        while let Some(line) = rx.recv().await {
            tracing::debug!(host = %r.host, ms = started.elapsed().as_millis() as u64, %line, "activation");
            if in_result {
                if let Some(lines) = seen.result.as_mut() {
                    lines.push(line);
                }
                continue;
            }
            let mut words = line.split_whitespace();
            match words.next() {
                Some("start") => {
                    seen.previous = words.nth(1).filter(|p| *p != "-").map(String::from);
                }
                Some("applied") => {
                    seen.applied = true;
                    events.finished(host, Step::Activate, started.elapsed(), None);
                    events.started(host, Step::Health, None);
                }
                Some("slot-warm") => seen.warm = true,
                Some("slot-started") => {
                    let slot = words.next().unwrap_or_default().to_string();
                    seen.slot = Some(slot.clone());
                    seen.slot_ports = words.filter_map(|p| p.parse().ok()).collect();
                    let ports = seen
                        .slot_ports
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    events.output(
                        host,
                        Step::Health,
                        OutputKind::Stdout,
                        &if seen.warm {
                            format!("slot {slot} (ports {ports}) still runs {release}")
                        } else {
                            format!(
                                "starting {release} in slot {slot} (ports {ports}) beside the serving release"
                            )
                        },
                    );
                }
                // The host checked the warm slot itself: no word is awaited.
                Some("units-active") if words.next() == Some("checked") => {}
                Some("units-active") => {
                    if let Some(proxy) = &app.proxy {
                        // Slotted: the new process on its own ports first; in place:
                        // the site the way users reach it.
                        let (targets, word) = if seen.slot_ports.is_empty() {
                            (vec![http::Target::via_caddy(proxy)], Word::Healthy)
                        } else {
                            let t = seen
                                .slot_ports
                                .iter()
                                .map(|p| http::Target::direct(*p, proxy))
                                .collect();
                            (t, Word::Slot)
                        };
                        health = Some(tokio::spawn(check_and_confirm(
                            r.clone(),
                            app.clone(),
                            layout.clone(),
                            id.clone(),
                            targets,
                            word,
                            started,
                            events.clone(),
                        )));
                    }
                }
                Some("switched") => {
                    if let Some(proxy) = &app.proxy {
                        events.output(
                            host,
                            Step::Health,
                            OutputKind::Stdout,
                            &format!("traffic moved to slot {}", words.next().unwrap_or_default()),
                        );
                        health = Some(tokio::spawn(check_and_confirm(
                            r.clone(),
                            app.clone(),
                            layout.clone(),
                            id.clone(),
                            vec![http::Target::via_caddy(proxy)],
                            Word::Healthy,
                            started,
                            events.clone(),
                        )));
                    }
                }
                Some("draining") => {
                    let slot = words.next().unwrap_or_default();
                    let secs = words.next().unwrap_or("0");
                    if slot != "none" || secs != "0" {
                        events.output(
                            host,
                            Step::Health,
                            OutputKind::Stdout,
                            &format!("the previous release drains for {secs} s, then stops"),
                        );
                    }
                }
                Some("await-confirm") => {
                    seen.confirm_deadline = words.next().and_then(|e| e.parse().ok());
                }
                Some("confirmed") if words.next() != Some("slot") => seen.confirmed = true,
                Some("revert") => {
                    if let Some(p) = words.next() {
                        events.output(
                            host,
                            Step::Health,
                            OutputKind::Stderr,
                            &format!("not healthy: putting {p} back"),
                        );
                    }
                }
                Some("result") => {
                    in_result = true;
                    seen.result = Some(Vec::new());
                }
                _ => {}
            }
        }
    };
    let (exec_result, ()) = tokio::join!(exec, drive);
    let outcome = match seen.result.as_deref().and_then(parse_outcome) {
        Some(o) if o.status != "lost" || exec_result.is_ok() => o,
        _ => {
            if let Err(e) = &exec_result {
                events.output(
                    host,
                    Step::Health,
                    OutputKind::Stderr,
                    &format!("lost the activation's progress ({e}); the host goes on by itself"),
                );
            }
            // A health check still running may yet confirm the release once the
            // link is back: it goes on while raijin waits for the outcome.
            match recover(r, layout, &id, started, &params).await {
                Some(o) => o,
                None => {
                    if let Some(h) = health.take() {
                        h.abort();
                    }
                    let msg = gave_up(r, release, &seen, &params, confirm_secs.is_some());
                    events.failed(host, Step::Health, &msg, Vec::new());
                    bail!(msg);
                }
            }
        }
    };
    if let Some(h) = health.take() {
        // The outcome is known: the check's work (if any is left) no longer matters.
        h.abort();
    }
    if !seen.applied && outcome.status != "ok" {
        events.failed(host, Step::Activate, &outcome.reason, Vec::new());
    }
    match outcome.status.as_str() {
        "ok" => {
            if !seen.applied {
                events.finished(host, Step::Activate, started.elapsed(), None);
            }
            events.finished(host, Step::Health, started.elapsed(), None);
            Ok(outcome.previous.or(seen.previous))
        }
        status => {
            let unit = outcome
                .unit
                .clone()
                .or_else(|| {
                    let slot = seen.slot.as_deref()?;
                    crate::remote::slots::instances(app, slot)
                        .into_iter()
                        .next()
                })
                .or_else(|| proxied_unit(app));
            let journal = match &unit {
                Some(u) if seen.applied => journal(r, u).await,
                _ => Vec::new(),
            };
            let mut reason = outcome.reason.clone();
            if reason.starts_with("unit ") && !reason.contains(" on ") {
                reason = format!("{reason} on {}", r.host);
            }
            let msg = match (status, &outcome.previous) {
                ("reverted", Some(p)) => format!("{reason}; {p} is serving again"),
                ("stopped", _) => format!(
                    "{reason}; the host had no earlier release, so its units and site were removed"
                ),
                ("lost", _) => format!(
                    "{}: the activation ended without an outcome (journalctl -u {})",
                    r.host,
                    layout.activation_unit()
                ),
                _ => reason,
            };
            if seen.applied {
                events.failed(host, Step::Health, &msg, journal);
            }
            bail!(msg)
        }
    }
}

/// After a lost link: ask for the outcome (each try reconnects) until the host's own
/// budget for the release to become healthy plus a grace has passed.
async fn recover(
    r: &Host,
    layout: &Layout,
    id: &str,
    started: Instant,
    p: &Params<'_>,
) -> Option<Outcome> {
    let bound = Duration::from_secs(p.confirm_secs.unwrap_or(p.units_timeout_secs)) + OUTCOME_GRACE;
    let script = script::outcome(layout, id);
    while let Some(left) = bound.checked_sub(started.elapsed()) {
        let attempt = r.script("reading the activation's outcome", &script);
        if let Ok(Ok(out)) = tokio::time::timeout(left, attempt).await {
            let text = out.stdout_str();
            let mut lines = text.lines().map(String::from);
            match lines.next().as_deref() {
                Some("result") => return parse_outcome(&lines.collect::<Vec<_>>()),
                Some("lost") => {
                    return Some(Outcome {
                        status: "lost".into(),
                        previous: None,
                        unit: None,
                        reason: String::new(),
                    });
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    None
}

/// What the host does on its own when raijin stops waiting.
fn gave_up(r: &Host, release: &str, seen: &Seen, p: &Params<'_>, proxied: bool) -> String {
    let prev = seen
        .previous
        .clone()
        .unwrap_or_else(|| "nothing (no earlier release)".into());
    let when = seen
        .confirm_deadline
        .and_then(|d| time::OffsetDateTime::from_unix_timestamp(i64::try_from(d).ok()?).ok())
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    let what = if seen.confirmed {
        format!("{release} was confirmed healthy and stays")
    } else if proxied {
        format!("{release} was not confirmed healthy, so the host puts {prev} back{when}")
    } else {
        format!(
            "the host keeps {release} if its units become active within {} s, else puts {prev} back",
            p.units_timeout_secs
        )
    };
    format!(
        "{}: lost the link during the activation of {release} and could not read its outcome; the host finishes on its own: {what} (check with raijin status)",
        r.host
    )
}

/// An HTTP health check of every target until all answer 2xx or the health timeout
/// (counted from the activation's start) passes, then the host's confirmation (`word`)
/// or rejection. While it waits it says so every few seconds ("waiting for health
/// (12 s of 60)").
#[allow(clippy::too_many_arguments)]
async fn check_and_confirm(
    r: Host,
    app: AppConfig,
    layout: Layout,
    id: String,
    targets: Vec<http::Target>,
    word: Word,
    started: Instant,
    events: Events,
) {
    let timeout = health_timeout(&app);
    let mut told = Duration::ZERO;
    let mut attempts = 0u32;
    let last = 'check: loop {
        attempts += 1;
        let mut failing = None;
        for target in &targets {
            // No attempt may outlast the budget: the host must hear the verdict (and
            // its reason) before its own bound, CONFIRM_GRACE later.
            let left = timeout
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(200));
            match tokio::time::timeout(left, http::get(&r, target)).await {
                Ok(Ok(code)) if (200..300).contains(&code) => {}
                Ok(Ok(code)) => failing = Some(format!("HTTP {code} on {}", target.describe())),
                Ok(Err(e)) => failing = Some(format!("{} ({e:#})", target.describe())),
                Err(_) => {
                    failing = Some(format!(
                        "{} did not answer within the {} s health budget",
                        target.describe(),
                        timeout.as_secs()
                    ))
                }
            }
            if failing.is_some() {
                break;
            }
        }
        let Some(last) = failing else {
            break 'check None;
        };
        let waited = started.elapsed();
        if waited > timeout {
            break Some(last);
        }
        if waited >= told + Duration::from_secs(5) {
            told = waited;
            events.output(
                Some(&r.host),
                Step::Health,
                OutputKind::Stdout,
                &format!(
                    "waiting for health ({} s of {})",
                    waited.as_secs(),
                    timeout.as_secs()
                ),
            );
        }
        tokio::time::sleep(check_pause(attempts, waited)).await;
    };
    let script = match &last {
        None => script::confirm(&layout, &id, word),
        Some(reason) => script::reject(&layout, &id, &format!("health check failed: {reason}")),
    };
    if let Err(e) = r.script("answering the health gate", &script).await {
        events.output(
            Some(&r.host),
            Step::Health,
            OutputKind::Stderr,
            &format!(
                "could not tell the host the health check's result ({e}); it decides by itself"
            ),
        );
    }
}

/// Health checks made 5 ms apart before they go 30 ms apart (about a fifth of a
/// second of a process coming up).
const FAST_ATTEMPTS: u32 = 40;

/// The pause before the next health check. A process that just started usually
/// listens within milliseconds: look often at first (each look is one forwarded
/// connection), then every 30 ms, and every 100 ms once it has been failing for 2 s
/// (a slow boot, or a release that will not become healthy: each look costs raijin
/// and the host work).
fn check_pause(attempts: u32, waited: Duration) -> Duration {
    Duration::from_millis(if attempts <= FAST_ATTEMPTS {
        5
    } else if waited < Duration::from_secs(2) {
        30
    } else {
        100
    })
}

/// How long a new release of `app` may take to become healthy.
fn health_timeout(app: &AppConfig) -> Duration {
    app.proxy.as_ref().map_or(HEALTH_TIMEOUT, |p| {
        Duration::from_secs(p.health_timeout_secs)
    })
}

/// The unit of the process behind the proxy (its first instance).
fn proxied_unit(app: &AppConfig) -> Option<String> {
    let p = app.proxy.as_ref()?.process.as_ref()?;
    let stem = units::unit_stem(&app.name, p);
    units::unit_instances(app).into_iter().find(|i| {
        i == &format!("{stem}.service")
            || i.starts_with(&format!("{stem}@"))
            || i == &format!("{stem}.socket")
    })
}

async fn journal(r: &Host, unit: &str) -> Vec<String> {
    match r
        .script("reading the journal", &journal_tail(unit, JOURNAL_LINES))
        .await
    {
        Ok(o) => o.stdout_str().lines().map(String::from).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_checks_slow_down_after_the_first_seconds() {
        let ms = |a, w: u64| check_pause(a, Duration::from_millis(w)).as_millis();
        assert_eq!((ms(1, 0), ms(FAST_ATTEMPTS, 190)), (5, 5));
        assert_eq!((ms(FAST_ATTEMPTS + 1, 200), ms(80, 1999)), (30, 30));
        assert_eq!(ms(100, 2000), 100);
    }

    #[test]
    fn outcomes() {
        let o = parse_outcome(&[
            "reverted v1 shop-web.service".to_string(),
            "unit shop-web.service is failed".to_string(),
        ])
        .unwrap();
        assert_eq!(o.status, "reverted");
        assert_eq!(o.previous.as_deref(), Some("v1"));
        assert_eq!(o.unit.as_deref(), Some("shop-web.service"));
        assert_eq!(o.reason, "unit shop-web.service is failed");
        let o = parse_outcome(&["ok - -".to_string(), String::new()]).unwrap();
        assert_eq!((o.previous, o.unit, o.reason.as_str()), (None, None, ""));
        assert!(parse_outcome(&[]).is_none());
    }
}
