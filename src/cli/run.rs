//! `raijin run HOST -- CMD...`: run a command on one host over its SSH
//! connection, streaming its output, and exit with its exit code.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;

use crate::engine::Engine;
use crate::operate::{self, OperateError};
use crate::ssh::OutputKind;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Host name from the configuration
    pub host: String,
    /// The command, run by the login shell of the host's user (like `ssh HOST CMD`)
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub async fn run(engine: &Engine, args: RunArgs) -> ExitCode {
    // Joined with spaces, as OpenSSH does: the remote shell parses it.
    let command = args.command.join(" ");
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let result = operate::run(engine, &args.host, &command, &mut |kind, data| {
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
        Err(e @ OperateError::Lookup(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_CONFIG)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_UNREACHABLE)
        }
    }
}
