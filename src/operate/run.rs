//! `run`: a command on one host through the login user's shell, as `ssh HOST CMD`
//! runs it, its output streamed to the caller.

use super::OperateError;
use crate::engine::Engine;
use crate::engine::host::OnOutput;
use crate::ssh::ExitStatus;

/// Run `command` on `host`, output to `on_output` as it arrives; returns its exit
/// status.
pub async fn run(
    engine: &Engine,
    host: &str,
    command: &str,
    on_output: OnOutput<'_>,
) -> Result<ExitStatus, OperateError> {
    let host = engine.host(host)?;
    Ok(host.run(command, on_output).await?)
}
