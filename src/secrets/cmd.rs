//! The `cmd:COMMAND` adapter: the standard output of a command of the user's, run by
//! `sh -c` (a shell by definition), with standard input closed and the timeout.

use futures::future::BoxFuture;

use super::process::{self, Run};
use super::secret::Secret;
use super::{Adapter, Context};
use crate::config::SecretRef;

pub(crate) struct Cmd;

impl Adapter for Cmd {
    fn name(&self) -> &'static str {
        "cmd"
    }

    fn resolve<'a>(
        &'a self,
        reference: &'a SecretRef,
        cx: &'a Context,
    ) -> BoxFuture<'a, Result<Secret, String>> {
        Box::pin(async move {
            let SecretRef::Cmd { command } = reference else {
                return Err(super::mismatch(self, reference));
            };
            process::run(
                cx,
                Run {
                    label: "sh -c",
                    program: "sh",
                    args: &["-c", command],
                    env: &[],
                    stderr_lines: 3,
                },
            )
            .await
            .map_err(|e| e.to_string())
        })
    }
}
