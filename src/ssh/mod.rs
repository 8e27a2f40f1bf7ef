//! The SSH layer: one long-lived russh connection per host, shared by all work
//! on that host (exec, uploads over stdin, PTYs, TCP tunnels), with strict
//! host-key checking, agent and key-file auth, ssh_config resolution,
//! ProxyJump, keepalives, RTT and reconnects.
//!
//! Nothing here knows about terminals; faces observe a host through
//! [`Session::status`] and answer questions through a [`Prompter`].

mod auth;
mod channel;
mod connect;
pub mod hostkey;
mod liveness;
mod session;
pub mod target;

use std::path::Path;
use std::time::Duration;

use futures::future::BoxFuture;

pub use channel::{ExitStatus, Output, OutputKind, PtyChannel, PtyEvent, Stdin};
pub use session::{HostStatus, LinkState, Session, SessionOptions};
pub use target::{Resolver, SshClientConfig, Target};

/// Questions the SSH layer may need a person to answer. The CLI answers from
/// flags, the environment or a terminal prompt; the console with a dialog.
pub trait Prompter: Send + Sync {
    /// Passphrase for an encrypted identity file; `None` skips the key.
    fn passphrase(&self, host: &str, key_file: &Path) -> BoxFuture<'static, Option<String>>;
    /// Whether to trust (and record) a host key seen for the first time.
    fn accept_host_key(
        &self,
        host: &str,
        addr: &str,
        fingerprint: &str,
    ) -> BoxFuture<'static, bool>;
}

/// A prompter that answers nothing: encrypted keys are skipped and unknown
/// host keys refused (unless `accept_new_host_key` is set in the options).
pub struct NoPrompt;

impl Prompter for NoPrompt {
    fn passphrase(&self, _host: &str, _key_file: &Path) -> BoxFuture<'static, Option<String>> {
        Box::pin(async { None })
    }
    fn accept_host_key(&self, _: &str, _: &str, _: &str) -> BoxFuture<'static, bool> {
        Box::pin(async { false })
    }
}

/// Errors from the SSH layer. Every variant names the host, and the text is
/// meant for the person at the terminal: what happened and what to do.
#[derive(Debug, thiserror::Error, Clone)]
pub enum SshError {
    #[error("{host}: cannot connect to {addr}: {reason}")]
    Connect {
        host: String,
        addr: String,
        reason: String,
    },
    #[error("{host}: no answer from {addr} within {secs} s")]
    ConnectTimeout {
        host: String,
        addr: String,
        secs: u64,
    },
    #[error(
        "{host}: the host key of {addr} is not known.\n  {key_type} key fingerprint is {fingerprint}\n  Checked: {checked}\n  If you trust this fingerprint, run again with --accept-new-host-key to record it in {record_in}."
    )]
    HostKeyUnknown {
        host: String,
        addr: String,
        key_type: String,
        fingerprint: String,
        checked: String,
        record_in: String,
    },
    #[error(
        "{host}: HOST KEY OF {addr} HAS CHANGED — refusing to connect (someone may be intercepting the connection, or the host was reinstalled).\n  {key_type} key presented: {presented}\n  {key_type} key recorded:  {recorded} ({file}:{line})\n  If the change is expected, remove line {line} of {file} and connect again to record the new key."
    )]
    HostKeyChanged {
        host: String,
        addr: String,
        key_type: String,
        presented: String,
        recorded: String,
        file: String,
        line: usize,
    },
    #[error("{host}: the host key of {addr} ({fingerprint}) is marked @revoked in {file}:{line}")]
    HostKeyRevoked {
        host: String,
        addr: String,
        fingerprint: String,
        file: String,
        line: usize,
    },
    #[error("{host}: authentication as {user} failed; tried: {tried}")]
    Auth {
        host: String,
        user: String,
        tried: String,
    },
    #[error("{host}: connection lost: {reason}")]
    Disconnected { host: String, reason: String },
    #[error("{host}: {what} timed out after {secs} s")]
    Timeout {
        host: String,
        what: String,
        secs: u64,
    },
    #[error("{host}: {what}: {reason}")]
    Channel {
        host: String,
        what: String,
        reason: String,
    },
}

impl SshError {
    /// The host the error is about.
    pub fn host(&self) -> &str {
        match self {
            SshError::Connect { host, .. }
            | SshError::ConnectTimeout { host, .. }
            | SshError::HostKeyUnknown { host, .. }
            | SshError::HostKeyChanged { host, .. }
            | SshError::HostKeyRevoked { host, .. }
            | SshError::Auth { host, .. }
            | SshError::Disconnected { host, .. }
            | SshError::Timeout { host, .. }
            | SshError::Channel { host, .. } => host,
        }
    }

    /// Errors a later attempt may fix on its own (the network); host-key and
    /// auth failures need a person.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SshError::Connect { .. }
                | SshError::ConnectTimeout { .. }
                | SshError::Disconnected { .. }
                | SshError::Timeout { .. }
        )
    }
}

/// Default bound on how long in-flight work waits on a dead link before it
/// fails: keepalive interval × (max + 1), documented in the README.
pub fn dead_link_bound(opts: &SessionOptions) -> Duration {
    opts.keepalive_interval * (opts.keepalive_max as u32 + 1)
}
