//! `raijin app start | stop | restart | status | show`: an app's units on its hosts
//! and what its release installed. The
//! actions print one line per host and unit and exit 1 if any host failed; status
//! prints each unit's state, since when, main PID, restarts and memory (`--json`).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::engine::Engine;
use crate::inspect::{self, HostUnits, ShowError, ShowPart};
use crate::operate::{self, ControlRequest, UnitAction};

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Start the app's units (in place, and the serving slot of the web process)
    Start(ActionArgs),
    /// Stop the app's units, both slots of the web process included (they start
    /// again at boot, or with `app start`)
    Stop(ActionArgs),
    /// Restart the app's units in place: reload-or-restart each service (restart
    /// with --force); a socket's service only if it runs; a timer's job is not run
    Restart(RestartArgs),
    /// Each unit's ActiveState, SubState, since, main PID, restarts and memory
    Status(StatusArgs),
    /// What the current release on a host installed (units, Caddy site, env with
    /// secrets masked; hooks as configured); without --host, what a deploy of the
    /// local configuration would install
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// App name from the configuration
    pub app: String,
    /// Which part
    #[arg(value_enum)]
    pub part: Part,
    /// Read it from this host [default: the local preview]
    #[arg(long)]
    pub host: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Part {
    Units,
    Caddy,
    Env,
    Hooks,
}

#[derive(Args, Debug)]
pub struct ActionArgs {
    /// App name from the configuration
    pub app: String,
    /// Only these processes [default: all]
    #[arg(value_name = "PROC")]
    pub processes: Vec<String>,
    /// Only this host (repeatable) [default: all of the app's hosts]
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Print the hosts' answers as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RestartArgs {
    #[command(flatten)]
    pub what: ActionArgs,
    /// Restart even services that could reload
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// App name from the configuration
    pub app: String,
    /// Only this process [default: all]
    #[arg(value_name = "PROC")]
    pub process: Option<String>,
    /// Only this host (repeatable) [default: all of the app's hosts]
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(engine: &Engine, cmd: AppCommand) -> ExitCode {
    let (args, action) = match cmd {
        AppCommand::Status(args) => return status(engine, args).await,
        AppCommand::Show(args) => return show(engine, args).await,
        AppCommand::Start(a) => (a, UnitAction::Start),
        AppCommand::Stop(a) => (a, UnitAction::Stop),
        AppCommand::Restart(r) => (r.what, UnitAction::Restart { force: r.force }),
    };
    let req = ControlRequest {
        app: args.app,
        processes: args.processes,
        hosts: args.hosts,
        action,
    };
    let hosts = match operate::control(engine, &req).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    if args.json {
        print_json(&hosts);
    } else {
        for h in &hosts {
            let result = match &h.error {
                None => format!("{} done", action.verb()),
                Some(e) => format!("{} FAILED: {e}", action.verb()),
            };
            println!("{}: {result}", h.host);
            print_units(h, false);
        }
    }
    exit_code(&hosts)
}

async fn status(engine: &Engine, args: StatusArgs) -> ExitCode {
    let processes: Vec<String> = args.process.into_iter().collect();
    let hosts = match inspect::units(engine, &args.app, &processes, &args.hosts).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    if args.json {
        print_json(&hosts);
    } else {
        for h in &hosts {
            match (&h.error, &h.current) {
                (Some(e), _) => println!("{}: error: {e}", h.host),
                (None, Some(cur)) => println!("{}: {cur}", h.host),
                (None, None) => println!("{}:", h.host),
            }
            print_units(h, true);
        }
    }
    exit_code(&hosts)
}

async fn show(engine: &Engine, args: ShowArgs) -> ExitCode {
    let part = match args.part {
        Part::Units => ShowPart::Units,
        Part::Caddy => ShowPart::Caddy,
        Part::Env => ShowPart::Env,
        Part::Hooks => ShowPart::Hooks,
    };
    let shown = match inspect::show(engine, &args.app, part, args.host.as_deref()).await {
        Ok(s) => s,
        Err(e @ ShowError::Lookup(_)) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        if let Ok(s) = serde_json::to_string_pretty(&shown) {
            println!("{s}");
        }
        return ExitCode::SUCCESS;
    }
    match (&shown.host, &shown.release) {
        (Some(h), Some(r)) => eprintln!("# {h}: release {r}"),
        (Some(h), None) => eprintln!("# {h}"),
        _ => eprintln!("# preview: what a deploy of {} would install", args.app),
    }
    if let Some(n) = &shown.note {
        eprintln!("# {n}");
    }
    let several = shown.files.len() > 1;
    for (i, f) in shown.files.iter().enumerate() {
        if several && i > 0 {
            println!();
        }
        println!("# {}", f.path);
        print!("{}", f.contents);
        if !f.contents.ends_with('\n') {
            println!();
        }
    }
    ExitCode::SUCCESS
}

fn print_json(hosts: &[HostUnits]) {
    if let Ok(s) = serde_json::to_string_pretty(hosts) {
        println!("{s}");
    }
}

fn exit_code(hosts: &[HostUnits]) -> ExitCode {
    if hosts.iter().all(HostUnits::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A line per unit; with `details`, since, PID, restarts and memory too.
fn print_units(h: &HostUnits, details: bool) {
    for u in &h.units {
        let state = format!("{}/{}", u.active, u.sub);
        let slot = match (&u.slot, u.serving) {
            (Some(s), Some(true)) => format!(" [slot {s}, serving]"),
            (Some(s), _) => format!(" [slot {s}, standby]"),
            _ => String::new(),
        };
        let pid = u.main_pid.map(|p| format!(" pid {p}")).unwrap_or_default();
        if details {
            println!(
                "  {:<30} {:<18} since {}{pid} restarts {} mem {}{slot}",
                u.unit,
                state,
                if u.since.is_empty() { "-" } else { &u.since },
                u.restarts.map_or("-".to_string(), |n| n.to_string()),
                u.memory_bytes
                    .map_or("-".to_string(), crate::util::human_bytes),
            );
        } else {
            println!("  {:<30} {state}{pid}{slot}", u.unit);
        }
        for l in &u.journal {
            println!("    | {l}");
        }
    }
}
