//! Reaching one host: its SSH session and the three ways raijin acts there.
//!
//! - **As root**, for raijin's own scripts (deploy steps, history, status, bootstrap,
//!   the journal readers): directly when the login user is root, else through
//!   `sudo -n sh` (see [`scripts::root_shell`]). Scripts go on stdin, so their size
//!   is not limited by the command line: to `sh -s` as they are, or, from 2 KiB on,
//!   gzip-compressed to a short command that unpacks the whole script before it runs
//!   it (a host without gzip says so before anything runs, and gets its scripts as
//!   they are from then on). Data uploads pass a short script on the command line and
//!   the data on stdin.
//! - **As the app's user**, for `exec` and the app shell: systemd runs the command
//!   in the app dir with the current release's environment (see
//!   [`scripts::operate`]).
//! - **As the login user**, for `raijin run` and the host's facts, as `ssh HOST CMD`
//!   would.
//!
//! Everything above the engine that acts on a host holds a [`Host`]; nothing there
//! touches a session. What runs is rendered in [`crate::remote::scripts`].

use std::sync::Arc;
use std::time::Duration;

use crate::config::AppConfig;
use crate::engine::events::{Events, Step};
use crate::remote::scripts::{self, operate};
use crate::ssh::{ExitStatus, Output, OutputKind, PtyChannel, Session, SshError, Stdin};
use crate::util::shell_quote;

/// One configured host: its session and how to become root there.
#[derive(Clone)]
pub struct Host {
    /// The configured host name.
    pub host: String,
    session: Arc<Session>,
    sudo: bool,
    /// The host was found to lack gzip: its scripts go as they are.
    unpacked: Arc<std::sync::atomic::AtomicBool>,
}

/// A script that failed on a host: its exit status and what it said.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
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

/// Scripts from this size on go gzip-compressed (the activation's program, the lock's
/// and the build's scripts: text that shrinks to a third); smaller ones as they are.
const PACK_FROM: usize = 2048;

/// What runs a compressed script on the host: the whole script is unpacked (and its
/// gzip checksum checked) before any of it runs, so a script cut short on the way
/// never runs in part.
const UNPACK: &str = "command -v gzip >/dev/null 2>&1 || { echo raijin-unpack: no gzip; exit 97; }\n\
s=$(gzip -dc) || { echo 'the script arrived damaged' >&2; exit 1; }\n\
eval \"$s\"";

/// What [`UNPACK`] says, and exits 97 with, on a host without gzip, before anything of
/// the script ran: the script is sent again as it is.
const NO_GZIP: &[u8] = b"raijin-unpack: no gzip\n";

/// `script` gzip-compressed, if it is big enough to gain from it.
fn packed(script: &str) -> Option<Vec<u8>> {
    use std::io::Write;
    if script.len() < PACK_FROM {
        return None;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(script.as_bytes()).ok()?;
    gz.finish().ok()
}

/// Output as it arrives: which stream, and the bytes.
pub type OnOutput<'a> = &'a mut (dyn FnMut(OutputKind, &[u8]) + Send);

impl Host {
    pub fn new(host: &str, session: Arc<Session>) -> Self {
        let sudo = session.target().user != "root";
        Host {
            host: host.to_string(),
            session,
            sudo,
            unpacked: Arc::default(),
        }
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.host
    }

    /// `user@address[:port]`, as the host is reached.
    pub fn address(&self) -> String {
        self.session.target().display_addr()
    }

    /// The user raijin logs in as.
    pub fn login_user(&self) -> &str {
        &self.session.target().user
    }

    /// How long in-flight work waits on a dead link before it fails.
    pub fn dead_link_bound(&self) -> Duration {
        crate::ssh::dead_link_bound(self.session.options())
    }

    /// Connect now (or check the link is up), within the connect timeout.
    pub async fn connect(&self) -> Result<(), SshError> {
        self.session.connect().await
    }

    /// One round trip on the connection.
    /// A TCP connection to `addr:port` as seen from the host (a direct-tcpip channel
    /// of its SSH connection): how raijin reaches a service on the host's loopback.
    pub async fn open_tcp(
        &self,
        addr: &str,
        port: u16,
    ) -> Result<impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + use<>, SshError> {
        self.session.open_tcp(addr, port).await
    }

    pub async fn ping(&self) -> Result<Duration, SshError> {
        self.session.ping().await
    }

    /// A command line that runs `script` (given on it) as root.
    fn root_command(&self, script: &str) -> String {
        format!(
            "{} -c {}",
            scripts::root_shell(self.sudo),
            shell_quote(script)
        )
    }

    fn root_stdin_command(&self) -> String {
        format!("{} -s", scripts::root_shell(self.sudo))
    }

    /// Run `script` as root; fail with its stderr when it exits non-zero.
    pub async fn script(&self, what: &str, script: &str) -> Result<Output, HostError> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .exec_root_script(what, script, &mut |k, d| match k {
                OutputKind::Stdout => stdout.extend_from_slice(d),
                OutputKind::Stderr => stderr.extend_from_slice(d),
            })
            .await?;
        self.check(
            what,
            Output {
                stdout,
                stderr,
                status,
            },
        )
    }

    /// Run `script` as root, streaming its output as events of `step`.
    pub async fn script_streamed(
        &self,
        what: &str,
        script: &str,
        events: &Events,
        step: Step,
    ) -> Result<Output, HostError> {
        let mut sink = events.line_sink(Some(&self.host), step);
        let mut stderr = Vec::new();
        let status = self
            .exec_root_script(what, script, &mut |k, d| {
                if k == OutputKind::Stderr {
                    stderr.extend_from_slice(d);
                }
                sink.push(k, d);
            })
            .await?;
        sink.flush();
        self.check_stderr(what, status, stderr)
    }

    /// Run `script` as root, sending each line of its stdout to `lines` as it comes.
    pub async fn script_lines(
        &self,
        what: &str,
        script: &str,
        lines: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> Result<Output, HostError> {
        let mut partial = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .exec_root_script(what, script, &mut |k, d| match k {
                OutputKind::Stderr => stderr.extend_from_slice(d),
                OutputKind::Stdout => {
                    partial.extend_from_slice(d);
                    while let Some(pos) = partial.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = partial.drain(..=pos).collect();
                        let _ = lines
                            .send(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
                    }
                }
            })
            .await?;
        if !partial.is_empty() {
            let _ = lines.send(String::from_utf8_lossy(&partial).into_owned());
        }
        drop(lines);
        self.check_stderr(what, status, stderr)
    }

    /// Run a short `script` as root with `data` on its stdin.
    pub async fn with_stdin(
        &self,
        what: &str,
        script: &str,
        data: Stdin,
    ) -> Result<Output, HostError> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let started = std::time::Instant::now();
        let status = self
            .stream_as_root(script, data, &mut |k, d| match k {
                OutputKind::Stdout => stdout.extend_from_slice(d),
                OutputKind::Stderr => stderr.extend_from_slice(d),
            })
            .await
            .map_err(Box::new)?;
        self.ran(what, started);
        self.check(
            what,
            Output {
                stdout,
                stderr,
                status,
            },
        )
    }

    /// Run `script` as root with `stdin`, output to `on_output` as it arrives; the
    /// caller judges the exit status (a log follower, which reads until it ends).
    pub async fn stream_as_root(
        &self,
        script: &str,
        stdin: Stdin,
        on_output: OnOutput<'_>,
    ) -> Result<ExitStatus, SshError> {
        self.session
            .exec_with(&self.root_command(script), stdin, on_output)
            .await
    }

    async fn exec_root_script(
        &self,
        what: &str,
        script: &str,
        on_output: OnOutput<'_>,
    ) -> Result<ExitStatus, Box<SshError>> {
        use std::sync::atomic::Ordering;
        let started = std::time::Instant::now();
        let gz = if self.unpacked.load(Ordering::Relaxed) {
            None
        } else {
            packed(script)
        };
        let mut sent = script.len();
        let result = match gz {
            Some(gz) => {
                sent = gz.len();
                let mut no_gzip = false;
                let mut first = true;
                let mut watch = |k: OutputKind, d: &[u8]| {
                    if first && k == OutputKind::Stdout && d.starts_with(NO_GZIP) {
                        no_gzip = true;
                        return;
                    }
                    first = false;
                    on_output(k, d);
                };
                let result = self
                    .session
                    .exec_with(
                        // The gzip-compressed script on stdin (see `packed`).
                        &self.root_command(UNPACK),
                        Stdin::Bytes(gz.into()),
                        &mut watch,
                    )
                    .await
                    .map_err(Box::new);
                if no_gzip && matches!(result, Ok(ExitStatus::Code(97))) {
                    self.unpacked.store(true, Ordering::Relaxed);
                    sent = script.len();
                    self.exec_plain(script, on_output).await
                } else {
                    result
                }
            }
            None => self.exec_plain(script, on_output).await,
        };
        self.ran(what, started);
        tracing::debug!(host = %self.host, what, bytes = script.len(), sent, "host script sent");
        result
    }

    /// Run `script` as root, given as it is to `sh -s`.
    async fn exec_plain(
        &self,
        script: &str,
        on_output: OnOutput<'_>,
    ) -> Result<ExitStatus, Box<SshError>> {
        self.session
            .exec_with(
                &self.root_stdin_command(),
                Stdin::Bytes(script.as_bytes().to_vec().into()),
                on_output,
            )
            .await
            .map_err(Box::new)
    }

    /// Log (at debug level) how long the host script `what` took.
    fn ran(&self, what: &str, started: std::time::Instant) {
        tracing::debug!(
            host = %self.host,
            what,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "host script ran"
        );
    }

    /// Run `command` (by `/bin/sh -c`) as the app's user, in the app dir, with the
    /// current release's environment, streaming its output. Dropping the future
    /// stops the command on the host.
    pub async fn exec_as_app(
        &self,
        app: &AppConfig,
        command: &str,
        on_output: OnOutput<'_>,
    ) -> Result<ExitStatus, SshError> {
        // Standard input stays open for as long as the channel: its end tells
        // the host that raijin went away (see `AsApp::pipe_stoppable`).
        let stdin = Stdin::Reader(Box::new(NeverEnds));
        self.stream_as_root(&operate::exec(app, command), stdin, on_output)
            .await
    }

    /// Open the app shell (the app's user, dir and environment) on a PTY of
    /// `cols` × `rows` with terminal type `term`.
    pub async fn open_app_shell(
        &self,
        app: &AppConfig,
        term: &str,
        cols: u16,
        rows: u16,
    ) -> Result<PtyChannel, SshError> {
        let cmd = self.root_command(&operate::shell(app));
        self.session.open_pty(Some(&cmd), term, cols, rows).await
    }

    /// Run `command` through the login user's shell (like `ssh HOST CMD`),
    /// streaming its output.
    pub async fn run(
        &self,
        command: &str,
        on_output: OnOutput<'_>,
    ) -> Result<ExitStatus, SshError> {
        self.session
            .exec_with(command, Stdin::Empty, on_output)
            .await
    }

    /// Run `command` through the login user's shell, capturing its output.
    pub async fn run_captured(&self, command: &str) -> Result<Output, SshError> {
        self.session.exec(command).await
    }

    fn check_stderr(
        &self,
        what: &str,
        status: ExitStatus,
        stderr: Vec<u8>,
    ) -> Result<Output, HostError> {
        self.check(
            what,
            Output {
                stdout: Vec::new(),
                stderr,
                status,
            },
        )
    }

    fn check(&self, what: &str, out: Output) -> Result<Output, HostError> {
        if out.status.success() {
            Ok(out)
        } else {
            Err(HostError::Failed {
                host: self.host.clone(),
                what: what.to_string(),
                status: out.status.clone(),
                stderr: out.stderr_str(),
            })
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// `sh -c UNPACK` with `input` on its stdin, as the host runs it.
    fn unpack(input: &[u8]) -> std::process::Output {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(UNPACK)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    #[test]
    fn a_packed_script_runs_as_the_shell_would_run_it() {
        // Long enough to be packed: functions, set -e, quoting, an exit status.
        let mut script = String::from(scripts::PRELUDE);
        script.push_str("f() { printf '%s|' \"$@\"; }\nf 'a b' \"c'd\" \"\\$x\"\necho\n");
        for i in 0..200 {
            script.push_str(&format!("v{i}=$(( {i} * 2 ))\n"));
        }
        script.push_str("echo \"$v199\"\nfalse\necho not reached\n");
        let gz = packed(&script).expect("a script of this size is packed");
        assert!(
            gz.len() * 2 < script.len(),
            "{} of {}",
            gz.len(),
            script.len()
        );
        let out = unpack(&gz);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "a b|c'd|$x|\n398\n",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "set -e stops at `false`");
        assert!(packed("echo small").is_none());
    }

    #[test]
    fn without_gzip_the_unpacker_says_so_and_runs_nothing() {
        let empty = tempfile::tempdir().unwrap();
        let gz = packed(&format!("echo ran\n{}", "# padding\n".repeat(400))).unwrap();
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(UNPACK)
            .env("PATH", empty.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // The shell may exit before it reads any of it (a broken pipe here).
        let _ = child.stdin.take().unwrap().write_all(&gz);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.stdout, NO_GZIP);
        assert_eq!(out.status.code(), Some(97));
    }

    #[test]
    fn a_packed_script_cut_short_runs_none_of_it() {
        let mut script = String::from("echo first\n");
        script.push_str(&"# padding\n".repeat(400));
        script.push_str("echo last\n");
        let gz = packed(&script).unwrap();
        let out = unpack(&gz[..gz.len() - 6]);
        assert!(out.stdout.is_empty(), "{:?}", out.stdout);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("arrived damaged"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
