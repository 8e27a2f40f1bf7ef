//! `exec`: a command as the app's user, in the app dir, with the current
//! release's environment (systemd reads the env files, as for the units), on
//! one host or several at once. If the caller goes away mid-run the command
//! is stopped on the host too.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::config::AppConfig;
use crate::deploy::{self, remote::Remote};
use crate::engine::Engine;
use crate::remote::scripts::operate as scripts;
use crate::ssh::{ExitStatus, OutputKind, SshError, Stdin};

/// What to run where.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    pub app: String,
    /// Empty: all of the app's hosts.
    pub hosts: Vec<String>,
    /// Run by `/bin/sh -c` as the app user (so `$VARS` of the app expand).
    pub command: String,
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

/// Run `command` as the app on one host, streaming its output. Dropping the
/// future stops the command on the host.
pub async fn exec_on(
    remote: &Remote,
    app: &AppConfig,
    command: &str,
    on_output: &mut (dyn FnMut(OutputKind, &[u8]) + Send),
) -> Result<ExitStatus, SshError> {
    let cmd = remote.root_command(&scripts::exec(app, command));
    // Standard input stays open for as long as the channel: its end tells
    // the host that raijin went away (see `AsApp::pipe_stoppable`).
    let stdin = Stdin::Reader(Box::new(NeverEnds));
    remote.session.exec_with(&cmd, stdin, on_output).await
}

/// A reader that never yields data nor reaches its end.
struct NeverEnds;

impl tokio::io::AsyncRead for NeverEnds {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        _buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Pending
    }
}

/// Run the request on all its hosts at once. Output goes to `output` as it
/// arrives, tagged with the host; the outcomes come back in host order.
/// Fails before running anything if the app or a host is unknown.
pub async fn exec(
    engine: &Engine,
    req: &ExecRequest,
    output: mpsc::UnboundedSender<ExecOutput>,
) -> anyhow::Result<Vec<ExecOutcome>> {
    let app = deploy::app(engine, &req.app)?;
    let hosts = deploy::hosts_for(app, &req.hosts)?;
    let remotes = hosts
        .iter()
        .map(|h| Ok(Remote::new(h, engine.session(h)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let runs = remotes.iter().map(|r| {
        let output = output.clone();
        let host: Arc<str> = Arc::from(r.host.as_str());
        async move {
            let result = exec_on(r, app, &req.command, &mut |stream, data| {
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
