//! The app shell: an interactive shell as the app's user, in the app dir,
//! with the app's environment, on a PTY channel of the host's connection.
//!
//! [`shell`] finds the app and host (the one entry point of both faces); the face
//! may [`AppShell::connect`] first to report a dead link on its normal terminal,
//! then lends a terminal through [`TerminalIo`]: the CLI its own stdin and stdout
//! in raw mode, the console the screen it suspended. [`AppShell::run`] bridges
//! bytes both ways and forwards resizes until the shell exits, then returns its
//! exit status; the face takes its terminal back. On the host,
//! `systemd-run --pty` runs the shell in a transient unit (systemd reads the
//! env files, as for the services) and relays window-size changes; Ctrl-C
//! arrives as a byte and becomes SIGINT there.

use std::future::Future;
use std::time::Duration;

use crate::config::AppConfig;
use crate::engine::{Engine, Host, LookupError};
use crate::ssh::{ExitStatus, PtyEvent, SshError};

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
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("{host}: the shell's channel closed without an exit status (connection lost?)")]
    NoStatus { host: String },
    #[error("writing to the local terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// The app shell of one app on one of its hosts, ready to open.
pub struct AppShell<'e> {
    app: &'e AppConfig,
    host: Host,
}

/// The app shell of `app` on `host` (one of the app's; default: its first host).
pub fn shell<'e>(
    engine: &'e Engine,
    app: &str,
    host: Option<&str>,
) -> Result<AppShell<'e>, LookupError> {
    let app = engine.app(app)?;
    let host = engine.host(&engine.host_of(app, host)?)?;
    Ok(AppShell { app, host })
}

impl AppShell<'_> {
    /// The host the shell opens on.
    pub fn host(&self) -> &str {
        &self.host.host
    }

    /// All the app's hosts (to say that another could be chosen).
    pub fn app_hosts(&self) -> &[String] {
        &self.app.hosts
    }

    /// Connect now, so a face can report a dead link before it lends its terminal.
    pub async fn connect(&self) -> Result<(), SshError> {
        self.host.connect().await
    }

    /// Bridge the app shell to `io` until the shell exits; returns its exit
    /// status. Input waits at most the dead-link bound for the link (a write to
    /// a dead connection would otherwise never return).
    pub async fn run(&self, io: &mut impl TerminalIo) -> Result<ExitStatus, ShellError> {
        let (cols, rows) = io.size();
        let host = &self.host;
        let mut pty = host
            .open_app_shell(self.app, &io.term(), cols, rows)
            .await?;
        let bound = host.dead_link_bound();
        let timed_out = |what: &str| SshError::Timeout {
            host: host.host.clone(),
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
            host: host.host.clone(),
        })
    }
}

async fn within<T>(bound: Duration, f: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(bound, f).await.ok()
}
