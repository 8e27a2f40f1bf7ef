//! Running raijin's shell scripts on a host: as root, directly or through
//! `sudo -n` for a non-root deploy user. Scripts go to `sh -s` on stdin, so
//! their size is not limited by the command line; data uploads pass a short
//! script on the command line and the data on stdin.

use std::sync::Arc;

use crate::engine::events::{Events, Step};
use crate::ssh::{ExitStatus, Output, OutputKind, Session, SshError, Stdin};
use crate::util::shell_quote;

/// A host as the pipeline sees it: its session and how to become root there.
#[derive(Clone)]
pub struct Remote {
    pub host: String,
    pub session: Arc<Session>,
    sudo: bool,
}

/// A script that failed on a host: its exit status and what it said.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(transparent)]
    Ssh(#[from] Box<SshError>),
    #[error("{host}: {what} failed ({status}){}", if stderr.is_empty() { String::new() } else { format!(": {}", stderr.trim()) })]
    Failed {
        host: String,
        what: String,
        status: ExitStatus,
        stderr: String,
    },
}

impl Remote {
    pub fn new(host: &str, session: Arc<Session>) -> Self {
        let sudo = session.target().user != "root";
        Remote {
            host: host.to_string(),
            session,
            sudo,
        }
    }

    fn shell(&self) -> &'static str {
        crate::remote::scripts::root_shell(self.sudo)
    }

    /// A command line that runs `script` as root, for callers that stream a
    /// channel themselves (log follow, exec, a PTY).
    pub fn root_command(&self, script: &str) -> String {
        format!("{} -c {}", self.shell(), shell_quote(script))
    }

    /// Run `script` as root; fail with its stderr when it exits non-zero.
    pub async fn script(&self, what: &str, script: &str) -> Result<Output, RemoteError> {
        let cmd = format!("{} -s", self.shell());
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .session
            .exec_with(
                &cmd,
                Stdin::Bytes(script.as_bytes().to_vec().into()),
                &mut |k, d| match k {
                    OutputKind::Stdout => stdout.extend_from_slice(d),
                    OutputKind::Stderr => stderr.extend_from_slice(d),
                },
            )
            .await
            .map_err(Box::new)?;
        let out = Output {
            stdout,
            stderr,
            status,
        };
        self.check(what, out)
    }

    /// Run `script` as root, streaming its output as events of `step`.
    pub async fn script_streamed(
        &self,
        what: &str,
        script: &str,
        events: &Events,
        step: Step,
    ) -> Result<Output, RemoteError> {
        let cmd = format!("{} -s", self.shell());
        let mut sink = events.line_sink(Some(&self.host), step);
        let mut stderr = Vec::new();
        let status = self
            .session
            .exec_with(
                &cmd,
                Stdin::Bytes(script.as_bytes().to_vec().into()),
                &mut |k, d| {
                    if k == OutputKind::Stderr {
                        stderr.extend_from_slice(d);
                    }
                    sink.push(k, d);
                },
            )
            .await
            .map_err(Box::new)?;
        sink.flush();
        self.check(
            what,
            Output {
                stdout: Vec::new(),
                stderr,
                status,
            },
        )
    }

    /// Run `script` as root, sending each line of its stdout to `lines` as it comes.
    pub async fn script_lines(
        &self,
        what: &str,
        script: &str,
        lines: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> Result<Output, RemoteError> {
        let cmd = format!("{} -s", self.shell());
        let mut partial = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .session
            .exec_with(
                &cmd,
                Stdin::Bytes(script.as_bytes().to_vec().into()),
                &mut |k, d| match k {
                    OutputKind::Stderr => stderr.extend_from_slice(d),
                    OutputKind::Stdout => {
                        partial.extend_from_slice(d);
                        while let Some(pos) = partial.iter().position(|b| *b == b'\n') {
                            let line: Vec<u8> = partial.drain(..=pos).collect();
                            let _ = lines.send(
                                String::from_utf8_lossy(&line[..line.len() - 1]).into_owned(),
                            );
                        }
                    }
                },
            )
            .await
            .map_err(Box::new)?;
        if !partial.is_empty() {
            let _ = lines.send(String::from_utf8_lossy(&partial).into_owned());
        }
        drop(lines);
        self.check(
            what,
            Output {
                stdout: Vec::new(),
                stderr,
                status,
            },
        )
    }

    /// Run a short `script` as root with `data` on its stdin.
    pub async fn with_stdin(
        &self,
        what: &str,
        script: &str,
        data: Stdin,
    ) -> Result<Output, RemoteError> {
        let cmd = self.root_command(script);
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .session
            .exec_with(&cmd, data, &mut |k, d| match k {
                OutputKind::Stdout => stdout.extend_from_slice(d),
                OutputKind::Stderr => stderr.extend_from_slice(d),
            })
            .await
            .map_err(Box::new)?;
        self.check(
            what,
            Output {
                stdout,
                stderr,
                status,
            },
        )
    }

    fn check(&self, what: &str, out: Output) -> Result<Output, RemoteError> {
        if out.status.success() {
            Ok(out)
        } else {
            Err(RemoteError::Failed {
                host: self.host.clone(),
                what: what.to_string(),
                status: out.status.clone(),
                stderr: out.stderr_str(),
            })
        }
    }
}
