//! `exec`: a command as the app's user, in the app dir, with the current
//! release's environment (systemd reads the env files, as for the units), on
//! one host or several at once. If the caller goes away mid-run the command
//! is stopped on the host too.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::engine::{Engine, LookupError};
use crate::remote::scripts::operate::command_line;
use crate::ssh::{ExitStatus, OutputKind, SshError};

/// What to run where.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    pub app: String,
    /// Empty: all of the app's hosts.
    pub hosts: Vec<String>,
    /// The command as its arguments: one is a shell command line run by
    /// `/bin/sh -c` as the app user (so `$VARS` of the app expand there);
    /// several are a program and its arguments, passed exactly.
    pub args: Vec<String>,
}

/// A piece of output from one host.
#[derive(Clone, Debug)]
pub struct ExecOutput {
    pub host: Arc<str>,
    pub stream: OutputKind,
    pub data: Bytes,
}

/// How the command ended on one host.
#[derive(Debug)]
pub struct ExecOutcome {
    pub host: String,
    pub result: Result<ExitStatus, SshError>,
}

impl ExecOutcome {
    pub fn success(&self) -> bool {
        matches!(&self.result, Ok(s) if s.success())
    }
}

/// Run the request on all its hosts at once. Output goes to `output` as it
/// arrives, tagged with the host; the outcomes come back in host order.
/// Fails before running anything if the app or a host is unknown.
pub async fn exec(
    engine: &Engine,
    req: &ExecRequest,
    output: mpsc::UnboundedSender<ExecOutput>,
) -> Result<Vec<ExecOutcome>, LookupError> {
    let app = engine.app(&req.app)?;
    let hosts = engine.hosts(&engine.hosts_for(app, &req.hosts)?)?;
    let command = &command_line(&req.args);
    let runs = hosts.iter().map(|r| {
        let output = output.clone();
        let host: Arc<str> = Arc::from(r.host.as_str());
        async move {
            let result = r
                .exec_as_app(app, command, &mut |stream, data| {
                    let _ = output.send(ExecOutput {
                        host: host.clone(),
                        stream,
                        data: Bytes::copy_from_slice(data),
                    });
                })
                .await;
            ExecOutcome {
                host: r.host.clone(),
                result,
            }
        }
    });
    Ok(futures::future::join_all(runs).await)
}
