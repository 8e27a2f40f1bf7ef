//! Printing what a deploy or rollback reports: its events as they arrive (JSON
//! lines, or human lines with progress bars on a terminal) and the final report.

use std::collections::HashMap;
use std::io::IsTerminal as _;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::deploy::Report;
use crate::engine::events::Event;
use crate::ssh::OutputKind;
use crate::util::human_bytes;

/// Prints events as they arrive: JSON lines, or human lines with progress bars.
pub async fn print_events(mut rx: UnboundedReceiver<Event>, json: bool) {
    let tty = std::io::stderr().is_terminal();
    let mut last_pct: HashMap<String, u64> = HashMap::new();
    while let Some(e) = rx.recv().await {
        if json {
            if let Ok(s) = serde_json::to_string(&e) {
                println!("{s}");
            }
            continue;
        }
        if let Some(l) = human_line(&e, tty, &mut last_pct) {
            eprintln!("{l}");
        }
    }
}

/// The line for one event; progress only every 10% on a terminal (`tty`), at its
/// start and end otherwise (`last_pct` remembers what was shown).
fn human_line(e: &Event, tty: bool, last_pct: &mut HashMap<String, u64>) -> Option<String> {
    let tag = e.host().map(|h| format!("[{h}] ")).unwrap_or_default();
    let step = e.step().map(|s| s.name()).unwrap_or_default();
    match e {
        Event::StepStarted { detail, .. } => Some(format!(
            "{tag}{step:<8} {}",
            detail.as_deref().unwrap_or("…")
        )),
        Event::Progress { done, total, .. } => {
            let pct = if *total == 0 { 100 } else { done * 100 / total };
            let prev = last_pct.insert(format!("{tag}{step}"), pct);
            let show = if tty {
                prev.is_none_or(|p| pct / 10 != p / 10)
            } else {
                pct == 100 || prev.is_none()
            };
            show.then(|| {
                let filled = (pct / 5) as usize;
                format!(
                    "{tag}{step:<8} [{}{}] {pct:>3}% {} / {}",
                    "#".repeat(filled),
                    ".".repeat(20 - filled),
                    human_bytes(*done),
                    human_bytes(*total)
                )
            })
        }
        Event::Output { stream, line, .. } => {
            let mark = if *stream == OutputKind::Stderr {
                "!"
            } else {
                "|"
            };
            Some(format!("{tag}{step:<8} {mark} {line}"))
        }
        Event::StepFinished {
            elapsed_ms, detail, ..
        } => Some(format!(
            "{tag}{step:<8} done in {:.2}s{}",
            *elapsed_ms as f64 / 1000.0,
            detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )),
        Event::StepFailed { error, journal, .. } => {
            let mut s = format!("{tag}{step:<8} FAILED: {error}");
            for j in journal {
                s.push_str(&format!("\n{tag}    journal | {j}"));
            }
            Some(s)
        }
        Event::HostDone { ok, summary, .. } => Some(format!(
            "{tag}{} {summary}",
            if *ok { "OK" } else { "FAILED" }
        )),
    }
}

/// The report of a deploy or rollback (`verb`): a JSON line, or a line per host.
pub fn print_report(report: &Report, json: bool, verb: &str) {
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            event: &'static str,
            #[serde(flatten)]
            report: &'a Report,
        }
        if let Ok(s) = serde_json::to_string(&Out {
            event: "report",
            report,
        }) {
            println!("{s}");
        }
        return;
    }
    println!("{verb} {} {}:", report.app, report.version);
    for h in &report.hosts {
        match &h.error {
            None => println!(
                "  {:<10} ok      {}{} in {:.2}s, sent {}",
                h.host,
                h.from_version
                    .as_ref()
                    .map(|f| format!("{f} → "))
                    .unwrap_or_default(),
                h.version,
                h.elapsed_ms as f64 / 1000.0,
                human_bytes(h.bytes_sent)
            ),
            Some(e) => println!("  {:<10} FAILED  {e}", h.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::Step;

    #[test]
    fn lines_name_host_and_step() {
        let mut seen = HashMap::new();
        let started = Event::StepStarted {
            host: Some("h1".into()),
            step: Step::Push,
            detail: None,
        };
        assert_eq!(
            human_line(&started, false, &mut seen).as_deref(),
            Some("[h1] push     …")
        );
        let failed = Event::StepFailed {
            host: Some("h2".into()),
            step: Step::Health,
            error: "unit failed".into(),
            journal: vec!["boom".into()],
        };
        assert_eq!(
            human_line(&failed, false, &mut seen).as_deref(),
            Some("[h2] health   FAILED: unit failed\n[h2]     journal | boom")
        );
        let done = Event::HostDone {
            host: "h1".into(),
            ok: true,
            version: None,
            summary: "v1 live".into(),
        };
        assert_eq!(
            human_line(&done, false, &mut seen).as_deref(),
            Some("[h1] OK v1 live")
        );
    }

    #[test]
    fn progress_shows_start_and_end_when_piped() {
        let mut seen = HashMap::new();
        let at = |done| Event::Progress {
            host: None,
            step: Step::Build,
            done,
            total: 100,
        };
        assert!(human_line(&at(0), false, &mut seen).is_some());
        assert!(human_line(&at(50), false, &mut seen).is_none());
        assert_eq!(
            human_line(&at(100), false, &mut seen).as_deref(),
            Some("build    [####################] 100% 100 B / 100 B")
        );
    }
}
