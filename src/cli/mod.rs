//! The CLI face: headless subcommands for scripts and CI. Human output on a
//! terminal, JSON with `--json`, meaningful exit codes.

mod app;
mod events;
mod exec;
mod hosts;
mod logs;
mod ops;
mod pipeline;
mod prompt;
mod run;
pub mod secrets;
mod shell;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config};
use crate::engine::{Engine, EngineOptions};

/// Exit code for a failure to reach a host (as `ssh` uses).
pub const EXIT_UNREACHABLE: u8 = 255;
/// Exit code for an invalid configuration.
pub const EXIT_CONFIG: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "raijin",
    version,
    about = "Deploy and run apps on your own Linux servers over SSH",
    long_about = "raijin deploys and runs apps on your own Linux servers over SSH.\n\n\
        It keeps one SSH connection per host and checks host keys strictly against \
        known_hosts. Every action is a subcommand for scripts and CI.",
    after_help = "Configuration: ./raijin.toml or --config PATH (see config.example.toml).\n\
        Logs: $XDG_STATE_HOME/raijin/raijin.log (~/.local/state/raijin/raijin.log); level via RAIJIN_LOG.\n\
        Encrypted identity files: passphrase from RAIJIN_SSH_PASSPHRASE, else asked on the terminal."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Configuration file [default: ./raijin.toml]
    #[arg(
        long,
        short = 'c',
        global = true,
        value_name = "PATH",
        env = "RAIJIN_CONFIG"
    )]
    pub config: Option<PathBuf>,
    /// Environment: lay raijin.NAME.toml (beside the config file) over it, for the
    /// hosts, env values and domains that differ
    #[arg(
        long = "env",
        short = 'e',
        global = true,
        value_name = "NAME",
        env = "RAIJIN_ENV"
    )]
    pub environment: Option<String>,
    /// OpenSSH client config to honor (Host aliases, HostName, User, Port,
    /// IdentityFile, ProxyJump) [default: [ssh] config_file, else ~/.ssh/config]
    #[arg(long, global = true, value_name = "PATH")]
    pub ssh_config: Option<PathBuf>,
    /// Trust and record host keys seen for the first time (a changed key is
    /// always refused)
    #[arg(long, global = true)]
    pub accept_new_host_key: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a commented raijin.toml for the project in the current directory (a
    /// Cargo binary crate, a python project, a static site); never overwrites
    Init(InitArgs),
    /// Validate the configuration and report every problem
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Connect to every host and show its state, RTT and facts
    Hosts(hosts::HostsArgs),
    /// Run a command on a host over its SSH connection; exits with its code
    Run(run::RunArgs),
    /// Prepare hosts for raijin
    #[command(subcommand)]
    Host(pipeline::HostCommand),
    /// Build, push only what hosts lack, install and activate an app, with a
    /// health gate and automatic revert
    Deploy(pipeline::DeployArgs),
    /// Activate a kept release again: no build, no upload
    Rollback(pipeline::RollbackArgs),
    /// Kept releases per host: version, commit, when, by whom, current, bad
    History(pipeline::HistoryArgs),
    /// Current version and unit states per app and host; flags drift
    Status(pipeline::StatusArgs),
    /// OS keyring entries (set, get, rm) and a check of an app's secret references
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// The app's journal from all its hosts, merged in time order; -f follows
    Logs(logs::LogsArgs),
    /// Run a command as the app's user, in the app dir, with its environment,
    /// on one host or all; exits non-zero if any host failed
    Exec(exec::ExecArgs),
    /// Open a shell as the app's user, in the app dir, with its environment
    Shell(shell::ShellArgs),
    /// Take an app off its hosts: stop and remove its units and Caddy site (asks
    /// first); --purge also removes its releases and data
    Down(ops::DownArgs),
    /// Remove old releases and unreferenced chunks now, under the deploy lock
    Prune(ops::PruneArgs),
    /// The hosts' audit logs merged, newest first: who, when, what, version,
    /// outcome, error
    Audit(ops::AuditArgs),
    /// Start, stop or restart an app's units, or show their details
    #[command(subcommand)]
    App(app::AppCommand),
    /// Print a shell completion script: `raijin completions bash > /etc/bash_completion.d/raijin`
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --dir
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write raijin.1 and a page per subcommand (raijin-deploy.1, ...) into DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The kind of app [default: what the directory looks like]
    #[arg(long, value_enum)]
    pub kind: Option<InitKind>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum InitKind {
    Binary,
    Python,
    Static,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Check the configuration file: syntax, unknown keys, types, references, the
    /// keymap and the theme; exits 2 if it is invalid
    Check,
}

/// Parse arguments and run; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_path = cli
        .global
        .config
        .clone()
        .unwrap_or_else(config::default_path);

    match &cli.command {
        Some(Command::Config(ConfigCommand::Check)) => {
            return config_check(&config_path, cli.global.environment.as_deref());
        }
        Some(Command::Init(args)) => return init(&config_path, args),
        Some(Command::Completions(args)) => return completions(args.shell),
        Some(Command::Man(args)) => return man_page(args),
        // Keyring entries are managed without a configuration.
        Some(Command::Secrets(cmd)) => {
            if let Some(code) = secrets::run_without_config(cmd) {
                return code;
            }
        }
        None if !config_path.exists() && cli.global.config.is_none() => {
            // No subcommand and no ./raijin.toml: explain instead of failing.
            use clap::CommandFactory as _;
            let _ = Cli::command().print_help();
            return ExitCode::SUCCESS;
        }
        _ => {}
    }

    // Config errors go to the normal terminal before anything else happens; the
    // console also needs its theme.
    let config = match load_config(
        &config_path,
        cli.global.environment.as_deref(),
        cli.command.is_none(),
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // So do problems with the console's keymap or theme.
    let console = match &cli.command {
        None => match crate::tui::Console::prepare(&config) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        Some(_) => None,
    };
    let prompter: Arc<dyn crate::ssh::Prompter> = match &console {
        Some(c) => c.prompter(),
        None => Arc::new(prompt::CliPrompter::default()),
    };
    let _log_guard = crate::logging::init();
    // Local time for log lines must be read while the process has one thread.
    logs::capture_local_offset();

    // A pipeline command's work is waiting on its hosts: one thread does it without
    // handing every wake-up across threads. The console and the log follower keep a
    // pool (the follower writes from a blocking section).
    let one_thread = matches!(
        &cli.command,
        Some(Command::Deploy(_) | Command::Rollback(_))
    );
    let mut builder = if one_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let engine = match Engine::new(
            config,
            EngineOptions {
                ssh_config: cli.global.ssh_config.clone(),
                accept_new_host_key: cli.global.accept_new_host_key,
                prompter,
            },
        ) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(EXIT_CONFIG);
            }
        };
        for w in &engine.warnings {
            eprintln!("warning: {w}");
        }
        if let Some(console) = console {
            return console.run(engine).await;
        }
        match cli.command {
            Some(Command::Hosts(args)) => hosts::run(&engine, args).await,
            Some(Command::Run(args)) => run::run(&engine, args).await,
            Some(Command::Host(cmd)) => pipeline::host(&engine, cmd).await,
            Some(Command::Deploy(args)) => pipeline::deploy(&engine, args).await,
            Some(Command::Rollback(args)) => pipeline::rollback(&engine, args).await,
            Some(Command::History(args)) => pipeline::history(&engine, args).await,
            Some(Command::Status(args)) => pipeline::status(&engine, args).await,
            Some(Command::Secrets(cmd)) => secrets::run(&engine, cmd).await,
            Some(Command::Logs(args)) => logs::run(&engine, args).await,
            Some(Command::Exec(args)) => exec::run(&engine, args).await,
            Some(Command::Shell(args)) => shell::run(&engine, args).await,
            Some(Command::App(cmd)) => app::run(&engine, cmd).await,
            Some(Command::Prune(args)) => ops::prune(&engine, args).await,
            Some(Command::Down(args)) => ops::down(&engine, args).await,
            Some(Command::Audit(args)) => ops::audit(&engine, args).await,
            Some(
                Command::Config(_) | Command::Init(_) | Command::Completions(_) | Command::Man(_),
            )
            | None => ExitCode::SUCCESS,
        }
    })
}

fn load_config(
    path: &std::path::Path,
    environment: Option<&str>,
    with_theme: bool,
) -> Result<Config, ExitCode> {
    match config::load_environment(path, environment, with_theme) {
        Ok(c) => {
            if let Some(w) = c.warnings_report() {
                eprintln!("{w}");
            }
            Ok(c)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Err(ExitCode::from(EXIT_CONFIG))
        }
    }
}

/// A completion script for `shell` on stdout.
fn completions(shell: CompletionShell) -> ExitCode {
    use clap::CommandFactory as _;
    use clap_complete::Shell;
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "raijin", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// The man page on stdout, or with `--dir` one page per command in that directory
/// (raijin.1, raijin-deploy.1, raijin-app-start.1, ...).
fn man_page(args: &ManArgs) -> ExitCode {
    use clap::CommandFactory as _;
    let cmd = Cli::command();
    let done = match &args.dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map_err(|e| format!("writing the man pages to {}: {e}", dir.display())),
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .and_then(|()| std::io::Write::write_all(&mut std::io::stdout(), &out))
                .map_err(|e| format!("writing the man page: {e}"))
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init(path: &std::path::Path, args: &InitArgs) -> ExitCode {
    use crate::config::AppKind;
    let kind = args.kind.map(|k| match k {
        InitKind::Binary => AppKind::Binary,
        InitKind::Python => AppKind::Python,
        InitKind::Static => AppKind::Static,
    });
    match config::init::write(std::path::Path::new("."), path, kind) {
        Ok(p) => {
            println!(
                "wrote {}: app {} ({}, from {})",
                path.display(),
                p.name,
                p.kind.as_str(),
                p.found
            );
            println!(
                "next: add a host to it, then `raijin config check` and `raijin deploy {}`",
                p.name
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config_check(path: &std::path::Path, environment: Option<&str>) -> ExitCode {
    match config::load_environment(path, environment, true) {
        Ok(c) => {
            if let Some(w) = c.warnings_report() {
                eprintln!("{w}");
            }
            println!("{}", c.ok_line());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}
