//! Work on a host's connection: commands with streamed output and stdin,
//! interactive PTY channels, and TCP tunnels to ports on the host.
//!
//! Every session channel holds one of the connection's MaxSessions slots from
//! open until the server has closed it; a channel abandoned midway (its future
//! dropped, e.g. on Ctrl-C) gets SIGTERM and a close in the background, so no
//! remote process or slot is leaked.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelStream, ChannelWriteHalf, Pty, Sig};
use tokio::io::AsyncRead;

use super::session::{Lease, Session};
use super::{SshError, connect::describe};

/// Which stream a piece of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Stdout,
    Stderr,
}

/// How a remote command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Code(u32),
    Signal(String),
}

impl ExitStatus {
    pub fn success(&self) -> bool {
        *self == ExitStatus::Code(0)
    }
    /// Shell-style code: the exit code, or 128 + signal number for a signal.
    pub fn code(&self) -> i32 {
        match self {
            ExitStatus::Code(c) => i32::try_from(*c).unwrap_or(255),
            ExitStatus::Signal(name) => 128 + signal_number(name),
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by SIG{s}"),
        }
    }
}

fn signal_number(name: &str) -> i32 {
    match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => 0,
    }
}

/// Captured result of a command.
#[derive(Clone, Debug)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: ExitStatus,
}

impl Output {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// What to feed a command's standard input (then EOF).
pub enum Stdin {
    Empty,
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

/// An open session channel that closes itself if dropped while running.
struct OpenChannel {
    host: String,
    read: Option<ChannelReadHalf>,
    write: Arc<ChannelWriteHalf<Msg>>,
    lease: Option<Lease>,
    finished: bool,
}

impl OpenChannel {
    fn read(&mut self) -> &mut ChannelReadHalf {
        // Only `Drop` takes the read half.
        self.read.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for OpenChannel {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Abandoned midway: stop the remote process and free the slot once the
        // server confirms the close.
        let (Some(mut read), write, lease) =
            (self.read.take(), self.write.clone(), self.lease.take())
        else {
            return;
        };
        let host = self.host.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = write.signal(Sig::TERM).await;
                let _ = write.eof().await;
                let _ = write.close().await;
                let drained = tokio::time::timeout(Duration::from_secs(5), async {
                    while read.wait().await.is_some() {}
                })
                .await;
                if drained.is_err() {
                    tracing::warn!(%host, "abandoned channel did not close within 5 s");
                }
                drop(lease);
            });
        }
    }
}

impl Session {
    /// Open a session channel, waiting for a free MaxSessions slot. Opens the
    /// server still refuses (e.g. a slot not yet freed on its side) are retried.
    async fn open_session_channel(&self) -> Result<OpenChannel, SshError> {
        let mut attempts = 0;
        loop {
            let lease = self.lease().await?;
            let opened = lease.live.conn.handle.channel_open_session().await;
            match opened {
                Ok(ch) => {
                    let (read, write) = ch.split();
                    return Ok(OpenChannel {
                        host: self.name().to_string(),
                        read: Some(read),
                        write: Arc::new(write),
                        lease: Some(lease),
                        finished: false,
                    });
                }
                Err(russh::Error::ChannelOpenFailure(reason)) if attempts < 50 => {
                    attempts += 1;
                    tracing::debug!(host = %self.name(), ?reason, attempts, "channel open refused; retrying");
                    drop(lease);
                    tokio::time::sleep(Duration::from_millis(20 * attempts.min(10))).await;
                }
                Err(e) => {
                    if lease.live.conn.is_closed() {
                        return Err(SshError::Disconnected {
                            host: self.name().to_string(),
                            reason: lease.live.conn.wait_closed().await,
                        });
                    }
                    return Err(SshError::Channel {
                        host: self.name().to_string(),
                        what: "opening a channel".into(),
                        reason: describe(&e),
                    });
                }
            }
        }
    }

    fn lost(&self, reason: String) -> SshError {
        SshError::Disconnected {
            host: self.name().to_string(),
            reason,
        }
    }

    /// Run `command` (through the login user's shell, as `ssh host CMD` does),
    /// capturing its output.
    pub async fn exec(&self, command: &str) -> Result<Output, SshError> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .exec_with(command, Stdin::Empty, &mut |kind, data| match kind {
                OutputKind::Stdout => stdout.extend_from_slice(data),
                OutputKind::Stderr => stderr.extend_from_slice(data),
            })
            .await?;
        Ok(Output {
            stdout,
            stderr,
            status,
        })
    }

    /// Run `command`, feeding `stdin` and streaming output to `on_output` as it
    /// arrives. Returns the exit status; fails with the host named if the
    /// connection drops (within the keepalive bound).
    pub async fn exec_with(
        &self,
        command: &str,
        stdin: Stdin,
        on_output: &mut (dyn FnMut(OutputKind, &[u8]) + Send),
    ) -> Result<ExitStatus, SshError> {
        let mut ch = self.open_session_channel().await?;
        let closed = ch
            .lease
            .as_ref()
            .map(|l| l.live.clone())
            .ok_or_else(|| self.lost("no connection".into()))?;
        let chan_err = |what: &str, e: russh::Error| SshError::Channel {
            host: self.name().to_string(),
            what: what.to_string(),
            reason: describe(&e),
        };
        ch.write
            .exec(true, command)
            .await
            .map_err(|e| chan_err("starting the command", e))?;

        let write = ch.write.clone();
        let writer = async move {
            match stdin {
                Stdin::Empty => {}
                Stdin::Bytes(b) => write.data_bytes(b).await?,
                Stdin::Reader(r) => write.data(r).await?,
            }
            write.eof().await
        };
        tokio::pin!(writer);
        let mut writing = true;
        let mut status: Option<ExitStatus> = None;
        loop {
            tokio::select! {
                msg = ch.read().wait() => match msg {
                    Some(ChannelMsg::Data { data }) => on_output(OutputKind::Stdout, &data),
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => on_output(OutputKind::Stderr, &data),
                    Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(ExitStatus::Code(exit_status)),
                    Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                        status = Some(ExitStatus::Signal(sig_name(&signal_name)));
                    }
                    Some(ChannelMsg::Failure) => {
                        ch.finished = true;
                        return Err(SshError::Channel {
                            host: self.name().to_string(),
                            what: "starting the command".into(),
                            reason: "the server refused to run it".into(),
                        });
                    }
                    Some(_) => {}
                    // Exit status may arrive before the last data: read to the end.
                    None => break,
                },
                res = &mut writer, if writing => {
                    writing = false;
                    if let Err(e) = res {
                        tracing::debug!(host = %self.name(), error = %describe(&e), "stdin write ended early");
                    }
                }
                reason = closed.conn.wait_closed() => {
                    return Err(self.lost(reason));
                }
            }
        }
        ch.finished = true;
        match status {
            Some(s) => Ok(s),
            None if closed.conn.is_closed() => Err(self.lost(closed.conn.wait_closed().await)),
            None => Err(SshError::Channel {
                host: self.name().to_string(),
                what: format!("running `{}`", first_words(command)),
                reason: "the channel closed without an exit status".into(),
            }),
        }
    }

    /// Open an interactive PTY channel running `command` (or the login shell).
    pub async fn open_pty(
        &self,
        command: Option<&str>,
        term: &str,
        cols: u16,
        rows: u16,
    ) -> Result<PtyChannel, SshError> {
        let ch = self.open_session_channel().await?;
        let chan_err = |what: &str, e: russh::Error| SshError::Channel {
            host: self.name().to_string(),
            what: what.to_string(),
            reason: describe(&e),
        };
        ch.write
            .request_pty(
                true,
                term,
                u32::from(cols),
                u32::from(rows),
                0,
                0,
                &[(Pty::ECHO, 1), (Pty::ICANON, 1), (Pty::ISIG, 1)],
            )
            .await
            .map_err(|e| chan_err("requesting a terminal", e))?;
        match command {
            Some(cmd) => ch.write.exec(true, cmd).await,
            None => ch.write.request_shell(true).await,
        }
        .map_err(|e| chan_err("starting the shell", e))?;
        Ok(PtyChannel { ch })
    }

    /// A TCP connection to `host:port` as seen from the remote host (an SSH
    /// direct-tcpip channel), e.g. for health checks on 127.0.0.1.
    pub async fn open_tcp(&self, host: &str, port: u16) -> Result<ChannelStream<Msg>, SshError> {
        let live = self.live().await?;
        live.conn
            .handle
            .channel_open_direct_tcpip(host.to_string(), u32::from(port), "127.0.0.1", 0)
            .await
            .map(|ch| ch.into_stream())
            .map_err(|e| SshError::Channel {
                host: self.name().to_string(),
                what: format!("connecting to {host}:{port} on the host"),
                reason: describe(&e),
            })
    }
}

/// An interactive terminal on the host. Output arrives through [`PtyChannel::next`];
/// input, resizes and signals go the other way.
pub struct PtyChannel {
    ch: OpenChannel,
}

/// Something that happened on a PTY channel.
pub enum PtyEvent {
    Output(Bytes),
    Exit(ExitStatus),
}

impl PtyChannel {
    /// Next output, or the exit status; `None` when the channel has closed.
    pub async fn next(&mut self) -> Option<PtyEvent> {
        loop {
            match self.ch.read().wait().await {
                Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                    return Some(PtyEvent::Output(data));
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    return Some(PtyEvent::Exit(ExitStatus::Code(exit_status)));
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    return Some(PtyEvent::Exit(ExitStatus::Signal(sig_name(&signal_name))));
                }
                Some(_) => {}
                None => {
                    self.ch.finished = true;
                    return None;
                }
            }
        }
    }

    pub async fn write(&self, data: &[u8]) -> Result<(), SshError> {
        self.ch
            .write
            .data_bytes(Bytes::copy_from_slice(data))
            .await
            .map_err(|e| self.err("sending input", e))
    }

    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), SshError> {
        self.ch
            .write
            .window_change(u32::from(cols), u32::from(rows), 0, 0)
            .await
            .map_err(|e| self.err("resizing the terminal", e))
    }

    fn err(&self, what: &str, e: russh::Error) -> SshError {
        SshError::Channel {
            host: self.ch.host.clone(),
            what: what.into(),
            reason: describe(&e),
        }
    }
}

fn sig_name(sig: &Sig) -> String {
    match sig {
        Sig::Custom(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn first_words(cmd: &str) -> String {
    let s: String = cmd.chars().take(60).collect();
    if s.len() < cmd.len() {
        format!("{s}…")
    } else {
        s
    }
}
