//! The 1Password adapter: `op read op://VAULT/ITEM/[SECTION/]FIELD`. Sign-in is the
//! `op` CLI's business (desktop app integration, `OP_SERVICE_ACCOUNT_TOKEN`, or an
//! `op signin` session in the environment); standard input is closed, so it never
//! waits for a prompt.

use futures::future::BoxFuture;

use super::process::{self, Run, RunError};
use super::secret::Secret;
use super::{Adapter, Context};
use crate::config::SecretRef;

pub(crate) struct OnePassword;

impl Adapter for OnePassword {
    fn name(&self) -> &'static str {
        "op"
    }

    fn resolve<'a>(
        &'a self,
        reference: &'a SecretRef,
        cx: &'a Context,
    ) -> BoxFuture<'a, Result<Secret, String>> {
        Box::pin(async move {
            let SecretRef::OnePassword { reference: r } = reference else {
                return Err(super::mismatch(self, reference));
            };
            process::run(
                cx,
                Run {
                    label: "op",
                    program: "op",
                    args: &["read", r],
                    env: &[],
                    stderr_lines: 1,
                },
            )
            .await
            .map_err(|e| match e {
                RunError::NotFound { .. } => format!(
                    "{e} (install the 1Password CLI: https://developer.1password.com/docs/cli/)"
                ),
                RunError::Failed {
                    program,
                    status,
                    stderr,
                } => RunError::Failed {
                    program,
                    status,
                    stderr: strip_log_prefix(&stderr).to_string(),
                }
                .to_string(),
                other => other.to_string(),
            })
        })
    }
}

/// `op` prefixes errors with `[ERROR] YYYY/MM/DD HH:MM:SS `; keep the message.
fn strip_log_prefix(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("[ERROR] ") else {
        return line;
    };
    let mut parts = rest.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(date), Some(time), Some(msg))
            if date.len() == 10 && date.as_bytes()[4] == b'/' && time.contains(':') =>
        {
            msg
        }
        _ => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_prefix_is_dropped() {
        assert_eq!(
            strip_log_prefix("[ERROR] 2026/02/03 19:17:20 could not read secret 'op://a/b/c': x"),
            "could not read secret 'op://a/b/c': x"
        );
        assert_eq!(strip_log_prefix("[ERROR] plain"), "plain");
        assert_eq!(strip_log_prefix("other"), "other");
    }
}
