//! The app shell: an interactive shell as the app's user, in the app dir,
//! with the app's environment, on a PTY channel of the host's connection.
//!
//! The face lends a terminal through [`TerminalIo`]: the CLI its own stdin and
//! stdout in raw mode, the console the screen it suspended. [`run_shell`]
//! bridges bytes both ways and forwards resizes until the shell exits, then
//! returns its exit status; the face takes its terminal back. On the host,
//! `systemd-run --pty` runs the shell in a transient unit (systemd reads the
//! env files, as for the services) and relays window-size changes; Ctrl-C
//! arrives as a byte and becomes SIGINT there.

use std::future::Future;
use std::time::Duration;

use crate::config::AppConfig;
use crate::deploy::{self, remote::Remote};
use crate::engine::Engine;
use crate::remote::scripts::operate as scripts;
use crate::ssh::{ExitStatus, PtyEvent, SshError, dead_link_bound};

/// Input from the local terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermInput {
    /// Bytes typed (raw: Ctrl-C is 0x03).
    Data(Vec<u8>),
    /// The terminal now has this size.
    Resize { cols: u16, rows: u16 },
}

/// A terminal lent to the shell by a face.
pub trait TerminalIo: Send {
    /// Columns and rows now.
    fn size(&self) -> (u16, u16);
    /// `TERM` for the remote side.
    fn term(&self) -> String;
    /// The next input; `None` once input has ended. Must be cancel-safe:
    /// the shell drops a pending call when output arrives first.
    fn input(&mut self) -> impl Future<Output = Option<TermInput>> + Send;
    /// Show output of the shell.
    fn output(&mut self, data: &[u8]) -> std::io::Result<()>;
}

#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("{host}: the shell's channel closed without an exit status (connection lost?)")]
    NoStatus { host: String },
    #[error("writing to the local terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Open the app shell on `host` (one of the app's) with the face's terminal.
pub async fn shell(
    engine: &Engine,
    app: &str,
    host: &str,
    io: &mut impl TerminalIo,
) -> anyhow::Result<ExitStatus> {
    let app = deploy::app(engine, app)?;
    let host = deploy::hosts_for(app, &[host.to_string()])?
        .into_iter()
        .next()
        .unwrap_or_default();
    let remote = Remote::new(&host, engine.session(&host)?);
    Ok(run_shell(&remote, app, io).await?)
}

/// Bridge the app shell on `remote` to `io` until the shell exits; returns
/// its exit status. Input waits at most the dead-link bound for the link
/// (a write to a dead connection would otherwise never return).
pub async fn run_shell(
    remote: &Remote,
    app: &AppConfig,
    io: &mut impl TerminalIo,
) -> Result<ExitStatus, ShellError> {
    let (cols, rows) = io.size();
    let cmd = remote.root_command(&scripts::shell(app));
    let mut pty = remote
        .session
        .open_pty(Some(&cmd), &io.term(), cols, rows)
        .await?;
    let bound = dead_link_bound(remote.session.options());
    let timed_out = |what: &str| SshError::Timeout {
        host: remote.host.clone(),
        what: what.to_string(),
        secs: bound.as_secs(),
    };
    let mut status: Option<ExitStatus> = None;
    let mut input_open = true;
    loop {
        tokio::select! {
            ev = pty.next() => match ev {
                Some(PtyEvent::Output(data)) => io.output(&data)?,
                Some(PtyEvent::Exit(s)) => status = Some(s),
                // Output may follow the exit status: read to the end.
                None => break,
            },
            input = io.input(), if input_open => match input {
                Some(TermInput::Data(data)) => {
                    within(bound, pty.write(&data)).await.ok_or_else(|| timed_out("sending input"))??;
                }
                Some(TermInput::Resize { cols, rows }) => {
                    within(bound, pty.resize(cols, rows)).await.ok_or_else(|| timed_out("resizing the terminal"))??;
                }
                None => input_open = false,
            },
        }
    }
    status.ok_or_else(|| ShellError::NoStatus {
        host: remote.host.clone(),
    })
}

async fn within<T>(bound: Duration, f: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(bound, f).await.ok()
}
