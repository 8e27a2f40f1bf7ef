//! Acting on hosts outside the deploy pipeline, over the hosts' existing SSH
//! connections: `run` a command on a host as the login user, `bootstrap` a host
//! for raijin, `exec` a command as an app's user in the app dir with the app's
//! environment on one host or many, and open the app `shell` (same user, dir and
//! environment) on a PTY channel bridged to a terminal the face lends it, and
//! `control` an app's units (start, stop, restart), and `prune` on demand and
//! take an app `down` under the deploy lock. Nothing
//! here draws or touches the local terminal itself.

pub mod bootstrap;
pub mod control;
pub mod down;
pub mod exec;
mod maintain;
pub mod prune;
pub mod run;
pub mod shell;

pub use bootstrap::{Bootstrapped, bootstrap};
pub use control::{ControlRequest, UnitAction, control};
pub use down::{DownRequest, down};
pub use exec::{ExecOutcome, ExecOutput, ExecRequest, exec};
pub use prune::{PruneRequest, prune};
pub use run::run;
pub use shell::{AppShell, ShellError, TermInput, TerminalIo, shell};

use crate::engine::{HostError, LookupError};
use crate::ssh::SshError;

/// Why an operation on a host failed: a name the configuration does not have (the
/// request is wrong), the link, or a script that failed on the host.
#[derive(Debug, thiserror::Error)]
pub enum OperateError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Host(#[from] HostError),
}
