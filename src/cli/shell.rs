//! `raijin shell APP [--host H]`: an interactive shell as the app's user in
//! the app dir with its environment, on the host's connection. The local
//! terminal goes to raw mode for the session (so Ctrl-C and every other key
//! reach the remote shell) and is restored however the session ends: exit,
//! error, signal or panic. Exits with the shell's exit status.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Once;

use clap::Args;

use crate::engine::Engine;
use crate::operate;

#[derive(Args, Debug)]
pub struct ShellArgs {
    /// App name from the configuration
    pub app: String,
    /// Host to open the shell on [default: the app's first host]
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
}

pub async fn run(engine: &Engine, args: ShellArgs) -> ExitCode {
    let shell = match operate::shell(engine, &args.app, args.host.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "error: raijin shell needs a terminal (stdin and stdout); use raijin exec for commands"
        );
        return ExitCode::from(super::EXIT_CONFIG);
    }
    // Connection problems are reported on the normal terminal.
    if let Err(e) = shell.connect().await {
        eprintln!("error: {e}");
        return ExitCode::from(super::EXIT_UNREACHABLE);
    }
    if shell.app_hosts().len() > 1 && args.host.is_none() {
        eprintln!(
            "shell on {} (the app runs on {}; --host to choose)",
            shell.host(),
            shell.app_hosts().join(", ")
        );
    }
    let started = crate::term::LocalTerminal::start().and_then(|t| Ok((t, StopSignals::new()?)));
    let (mut term, mut stop) = match started {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot set up the terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = {
        let _raw = match RawMode::enter() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot put the terminal in raw mode: {e}");
                return ExitCode::FAILURE;
            }
        };
        tokio::select! {
            r = shell.run(&mut term) => Ok(r),
            sig = stop.recv() => Err(sig),
        }
    };
    // The terminal is back in its own mode here.
    match result {
        Ok(Ok(status)) => ExitCode::from(u8::try_from(status.code()).unwrap_or(255)),
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_UNREACHABLE)
        }
        Err(code) => {
            // The dropped channel stops the shell on the host.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            ExitCode::from(code)
        }
    }
}

/// Raw mode for as long as it lives, and after a panic too.
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let _ = crossterm::terminal::disable_raw_mode();
                previous(info);
            }));
        });
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// SIGTERM and SIGHUP: end the session and restore the terminal first.
struct StopSignals {
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                hangup: signal(SignalKind::hangup())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Resolves with the exit code for the signal received.
    async fn recv(&mut self) -> u8 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.hangup.recv() => 128 + 1,
                _ = self.terminate.recv() => 128 + 15,
            }
        }
        #[cfg(not(unix))]
        {
            std::future::pending::<u8>().await
        }
    }
}
