//! Working with a deployed app on its hosts, over the hosts' existing SSH
//! connections: `exec` runs a command as the app's user in the app dir with
//! the app's environment on one host or many; `shell` bridges an interactive
//! shell (same user, dir and environment) on a PTY channel to a terminal the
//! face lends it. Nothing here draws or touches the local terminal itself.

pub mod exec;
pub mod shell;

pub use exec::{ExecOutcome, ExecOutput, ExecRequest, exec, exec_on};
pub use shell::{ShellError, TermInput, TerminalIo, run_shell, shell};
