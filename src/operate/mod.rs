//! Working with a deployed app on its hosts, over the hosts' existing SSH
//! connections: `exec` runs a command as the app's user in the app dir with
//! the app's environment on one host or many; `shell` bridges an interactive
//! shell (same user, dir and environment) on a PTY channel to a terminal the
//! face lends it. Nothing here draws or touches the local terminal itself.

pub mod exec;
pub mod shell;

pub use exec::{ExecOutcome, ExecOutput, ExecRequest, exec, exec_on};
pub use shell::{ShellError, TermInput, TerminalIo, run_shell, shell};

use crate::config::AppConfig;
use crate::util::shell_quote as q;

/// Script lines that fail clearly when the app was never installed on the
/// host (no app user, so no app dir or environment either).
fn require_installed(app: &AppConfig) -> String {
    format!(
        "if ! id -u {u} >/dev/null 2>&1; then echo {msg} >&2; exit 1; fi\n",
        u = q(&app.user),
        msg = q(&format!(
            "app {} is not installed on this host (no user {}): deploy it first",
            app.name, app.user
        )),
    )
}
