//! `raijin deploy | rollback | history | status | host bootstrap`: the
//! pipeline's headless face. Events print as lines (with progress bars on a
//! terminal) or as JSON lines with `--json`; exit code 1 if any host failed.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::events::{print_events, print_report};
use crate::deploy::{self, DeployRequest, Report, RollbackRequest};
use crate::engine::Engine;
use crate::engine::events::Events;
use crate::inspect;
use crate::operate::{self, OperateError};

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// App name from the configuration
    pub app: String,
    /// Deploy to this host only (repeatable) [default: all of the app's hosts]
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Version id [default: the app's version source; git describe]
    #[arg(long)]
    pub version: Option<String>,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print events and the report as JSON lines
    #[arg(long)]
    pub json: bool,
    /// Wait up to SECS for another deploy's lock instead of failing
    #[arg(long, value_name = "SECS")]
    pub lock_wait: Option<u64>,
    /// Break a stale lock left by an interrupted deploy
    #[arg(long)]
    pub force_unlock: bool,
    /// Deploy to the reachable hosts when some cannot be reached (exit code 1)
    #[arg(long)]
    pub skip_unreachable: bool,
    /// Roll out in batches of N hosts (or N% of them), each healthy before the next
    /// starts; a failing batch stops the rollout
    #[arg(long, value_name = "N|N%", value_parser = deploy::Batch::parse)]
    pub batch: Option<deploy::Batch>,
    /// When a batch fails: `stop` (earlier batches keep the new version) or
    /// `revert-all` (they roll back too)
    #[arg(long, value_name = "WHAT", default_value = "stop", value_parser = ["stop", "revert-all"], requires = "batch")]
    pub on_failure: String,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    pub app: String,
    /// Release id, or version (its newest release), to go back to [default: the previous good release on each host]
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "SECS")]
    pub lock_wait: Option<u64>,
    #[arg(long)]
    pub force_unlock: bool,
    /// Roll back the reachable hosts when some cannot be reached (exit code 1)
    #[arg(long)]
    pub skip_unreachable: bool,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    pub app: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// App name [default: every app]
    pub app: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum HostCommand {
    /// Prepare a host: raijin group, /opt/raijin, sudo rule for the deploy user,
    /// Caddy importing raijin's sites; checks that Caddy runs
    Bootstrap { host: String },
}

pub(super) fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return true;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// Run an operation with events printed, releasing locks on Ctrl-C.
pub(super) async fn run_with_events<'a, F>(
    engine: &Engine,
    app: &str,
    hosts: &[String],
    json: bool,
    op: F,
) -> Option<anyhow::Result<Report>>
where
    F: FnOnce(
        Events,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = anyhow::Result<Report>> + Send + 'a>,
    >,
{
    let (events, rx) = Events::channel();
    let printer = tokio::spawn(print_events(rx, json));
    let result = tokio::select! {
        r = op(events) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    if result.is_none() {
        eprintln!("interrupted: releasing the deploy locks");
        deploy::unlock(engine, app, hosts).await;
    }
    let _ = printer.await;
    result
}

fn finish(result: Option<anyhow::Result<Report>>, json: bool, verb: &str) -> ExitCode {
    match result {
        None => ExitCode::from(130),
        Some(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        Some(Ok(report)) => {
            print_report(&report, json, verb);
            if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The hosts an operation on `app` acts on, or the exit code after saying why not.
pub(super) fn target_hosts(
    engine: &Engine,
    app: &str,
    requested: &[String],
) -> Result<Vec<String>, ExitCode> {
    engine
        .app(app)
        .and_then(|a| engine.hosts_for(a, requested))
        .map_err(|e| {
            eprintln!("error: {e:#}");
            ExitCode::from(super::EXIT_CONFIG)
        })
}

pub async fn deploy(engine: &Engine, args: DeployArgs) -> ExitCode {
    let hosts = match target_hosts(engine, &args.app, &args.hosts) {
        Ok(h) => h,
        Err(code) => return code,
    };
    if !args.yes
        && !confirm(&format!(
            "Deploy {} {}to {}?",
            args.app,
            args.version
                .as_ref()
                .map(|v| format!("{v} "))
                .unwrap_or_default(),
            hosts.join(", ")
        ))
    {
        eprintln!("cancelled");
        return ExitCode::FAILURE;
    }
    let req = DeployRequest {
        app: args.app.clone(),
        hosts: hosts.clone(),
        version: args.version.clone(),
        lock_wait: args.lock_wait.map(Duration::from_secs),
        force_unlock: args.force_unlock,
        skip_unreachable: args.skip_unreachable,
        batch: args.batch,
        revert_all: args.on_failure == "revert-all",
    };
    let result = run_with_events(engine, &args.app, &hosts, args.json, |events| {
        Box::pin(async move { deploy::deploy(engine, req, &events).await })
    })
    .await;
    finish(result, args.json, "deploy")
}

pub async fn rollback(engine: &Engine, args: RollbackArgs) -> ExitCode {
    let hosts = match target_hosts(engine, &args.app, &args.hosts) {
        Ok(h) => h,
        Err(code) => return code,
    };
    if !args.yes
        && !confirm(&format!(
            "Roll {} back to {} on {}?",
            args.app,
            args.to.as_deref().unwrap_or("the previous release"),
            hosts.join(", ")
        ))
    {
        eprintln!("cancelled");
        return ExitCode::FAILURE;
    }
    let req = RollbackRequest {
        app: args.app.clone(),
        hosts: hosts.clone(),
        to: args.to.clone(),
        lock_wait: args.lock_wait.map(Duration::from_secs),
        force_unlock: args.force_unlock,
        skip_unreachable: args.skip_unreachable,
    };
    let result = run_with_events(engine, &args.app, &hosts, args.json, |events| {
        Box::pin(async move { deploy::rollback(engine, req, &events).await })
    })
    .await;
    finish(result, args.json, "rollback")
}

pub async fn history(engine: &Engine, args: HistoryArgs) -> ExitCode {
    let results = match inspect::history(engine, &args.app).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let mut failed = false;
    let mut all = Vec::new();
    for (h, res) in results {
        match res {
            Ok(hist) => all.push(hist),
            Err(e) => {
                failed = true;
                eprintln!("error: {h}: {e:#}");
            }
        }
    }
    if args.json {
        if let Ok(s) = serde_json::to_string_pretty(&all) {
            println!("{s}");
        }
    } else {
        for hist in &all {
            println!("{}:", hist.host);
            if hist.releases.is_empty() {
                println!("  (no releases)");
            }
            for r in &hist.releases {
                println!(
                    "  {} {:<24} {:<14} {:<22} {}{}",
                    if r.current { "*" } else { " " },
                    r.version,
                    r.commit.as_deref().unwrap_or("-"),
                    r.deployed_at,
                    r.by,
                    if r.bad { "  BAD" } else { "" }
                );
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub async fn status(engine: &Engine, args: StatusArgs) -> ExitCode {
    let apps: Vec<String> = match &args.app {
        Some(a) => vec![a.clone()],
        None => engine.apps().map(|a| a.name.clone()).collect(),
    };
    let mut out = Vec::new();
    for app in &apps {
        match inspect::status(engine, app).await {
            Ok(s) => out.push(s),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(super::EXIT_CONFIG);
            }
        }
    }
    let failed = out.iter().flat_map(|a| &a.hosts).any(|h| h.error.is_some());
    if args.json {
        if let Ok(s) = serde_json::to_string_pretty(&out) {
            println!("{s}");
        }
    } else {
        for a in &out {
            println!("{}:", a.app);
            for h in &a.hosts {
                if let Some(e) = &h.error {
                    println!("  {:<10} error: {e}", h.host);
                    continue;
                }
                println!(
                    "  {:<10} {}",
                    h.host,
                    h.current.as_deref().unwrap_or("(not deployed)")
                );
                for sl in &h.slots {
                    println!(
                        "      slot {}: {}{}",
                        sl.slot,
                        sl.release,
                        if sl.serving {
                            " (serving)"
                        } else {
                            " (standby)"
                        }
                    );
                }
                for u in &h.units {
                    println!(
                        "      {:<32} {}/{} since {}",
                        u.unit, u.active, u.sub, u.since
                    );
                }
                for d in &h.drift {
                    println!("      DRIFT: {d}");
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub async fn host(engine: &Engine, cmd: HostCommand) -> ExitCode {
    let HostCommand::Bootstrap { host } = cmd;
    match operate::bootstrap(engine, &host).await {
        Ok(done) => {
            println!(
                "{}: ready for raijin (deploy user {})",
                done.host, done.user
            );
            print!("{}", done.report);
            ExitCode::SUCCESS
        }
        Err(e @ OperateError::Lookup(_)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(super::EXIT_CONFIG)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
