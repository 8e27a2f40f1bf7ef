//! `raijin run HOST -- CMD...`: run a command on one host over its SSH
//! connection, streaming its output, and exit with its exit code.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;

use crate::engine::Engine;
use crate::ssh::{OutputKind, Stdin};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Host name from the configuration
    pub host: String,
    /// The command, run by the login shell of the host's user (like `ssh HOST CMD`)
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub async fn run(engine: &Engine, args: RunArgs) -> ExitCode {
    let session = match engine.session(&args.host) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    // Joined with spaces, as OpenSSH does: the remote shell parses it.
    let command = args.command.join(" ");
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let result = session
        .exec_with(&command, Stdin::Empty, &mut |kind, data| {
            let _ = match kind {
                OutputKind::Stdout => {
                    let mut out = stdout.lock();
                    out.write_all(data).and_then(|_| out.flush())
                }
                OutputKind::Stderr => {
                    let mut err = stderr.lock();
                    err.write_all(data).and_then(|_| err.flush())
                }
            };
        })
        .await;
    match result {
        Ok(status) => ExitCode::from(u8::try_from(status.code()).unwrap_or(255)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_UNREACHABLE)
        }
    }
}
