//! `raijin prune`, `raijin down` and `raijin audit`: the deploy's prune on demand,
//! taking an app off its hosts, and the hosts' audit logs merged newest first.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::events::print_report;
use super::pipeline::{confirm, run_with_events, target_hosts};
use crate::deploy::Report;
use crate::engine::Engine;
use crate::inspect;
use crate::operate::{self, DownRequest, PruneRequest};

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// App name from the configuration
    pub app: String,
    /// Releases to keep (never fewer than the current and the previous one)
    /// [default: the app's versions_to_keep]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: Option<u64>,
    /// Only this host (repeatable) [default: all of the app's hosts]
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Print events and the report as JSON lines
    #[arg(long)]
    pub json: bool,
    /// Wait up to SECS for a deploy's lock instead of failing
    #[arg(long, value_name = "SECS")]
    pub lock_wait: Option<u64>,
    /// Break a stale lock left by an interrupted deploy
    #[arg(long)]
    pub force_unlock: bool,
}

#[derive(Args, Debug)]
pub struct DownArgs {
    /// App name from the configuration
    pub app: String,
    /// Only this host (repeatable) [default: all of the app's hosts]
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Also remove the app's releases, store and data directory (/opt/raijin/APP);
    /// the audit log stays
    #[arg(long)]
    pub purge: bool,
    /// Do not ask for confirmation (needed when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print events and the report as JSON lines
    #[arg(long)]
    pub json: bool,
    /// Wait up to SECS for a deploy's lock instead of failing
    #[arg(long, value_name = "SECS")]
    pub lock_wait: Option<u64>,
    /// Break a stale lock left by an interrupted deploy
    #[arg(long)]
    pub force_unlock: bool,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// App name [default: every app]
    pub app: Option<String>,
    /// How many entries, newest first
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
    pub lines: usize,
    /// Print JSON lines
    #[arg(long)]
    pub json: bool,
}

pub async fn prune(engine: &Engine, args: PruneArgs) -> ExitCode {
    let hosts = match target_hosts(engine, &args.app, &args.hosts) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let req = PruneRequest {
        app: args.app.clone(),
        hosts: hosts.clone(),
        keep: args.keep.map(|k| usize::try_from(k).unwrap_or(usize::MAX)),
        lock_wait: args.lock_wait.map(Duration::from_secs),
        force_unlock: args.force_unlock,
    };
    let result = run_with_events(engine, &args.app, &hosts, args.json, |events| {
        Box::pin(async move { operate::prune(engine, &req, &events).await })
    })
    .await;
    finish(result, args.json, "prune")
}

pub async fn down(engine: &Engine, args: DownArgs) -> ExitCode {
    use std::io::IsTerminal as _;
    let hosts = match target_hosts(engine, &args.app, &args.hosts) {
        Ok(h) => h,
        Err(code) => return code,
    };
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: down removes the app from its hosts: pass --yes to do it without a terminal"
            );
            return ExitCode::from(super::EXIT_CONFIG);
        }
        let what = if args.purge {
            "stop and remove it, with its releases and its data directory,"
        } else {
            "stop and remove its units and Caddy site"
        };
        if !confirm(&format!(
            "Take {} down ({what}) on {}?",
            args.app,
            hosts.join(", ")
        )) {
            eprintln!("cancelled");
            return ExitCode::FAILURE;
        }
    }
    let req = DownRequest {
        app: args.app.clone(),
        hosts: hosts.clone(),
        purge: args.purge,
        lock_wait: args.lock_wait.map(Duration::from_secs),
        force_unlock: args.force_unlock,
    };
    let result = run_with_events(engine, &args.app, &hosts, args.json, |events| {
        Box::pin(async move { operate::down(engine, &req, &events).await })
    })
    .await;
    finish(result, args.json, "down")
}

/// The exit code of a locked maintenance action; its hosts' lines were printed
/// as they finished, so only the failures are repeated.
pub(super) fn finish(result: Option<anyhow::Result<Report>>, json: bool, verb: &str) -> ExitCode {
    match result {
        None => ExitCode::from(130),
        Some(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        Some(Ok(report)) => {
            if json {
                print_report(&report, true, verb);
            } else {
                for h in report.hosts.iter().filter(|h| !h.ok) {
                    eprintln!(
                        "{verb} failed on {}: {}",
                        h.host,
                        h.error.as_deref().unwrap_or("?")
                    );
                }
            }
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

pub async fn audit(engine: &Engine, args: AuditArgs) -> ExitCode {
    let log = match inspect::audit(engine, args.app.as_deref(), args.lines).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    for (host, app, e) in &log.errors {
        eprintln!("error: {host}: the audit log of {app}: {e}");
    }
    for e in &log.entries {
        if args.json {
            if let Ok(s) = serde_json::to_string(e) {
                println!("{s}");
            }
            continue;
        }
        let version = match (&e.from_version, e.release.as_deref().unwrap_or(&e.version)) {
            (Some(f), v) => format!("{f} → {v}"),
            (None, "") => "-".to_string(),
            (None, v) => v.to_string(),
        };
        println!(
            "{}  {:<8} {:<10} {:<14} {:<24} {:<7} {}{}",
            e.at,
            e.host,
            e.app,
            e.action,
            version,
            e.outcome,
            e.by,
            e.error
                .as_deref()
                .map(|x| format!("  error: {x}"))
                .unwrap_or_default()
        );
    }
    if log.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
