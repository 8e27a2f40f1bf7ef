//! The Doppler adapter: `doppler secrets get NAME --plain`, with `--project` and
//! `--config` from `[secrets.options] doppler_project` / `doppler_config` when set
//! (else the CLI's own scoping: `doppler setup`, or `DOPPLER_TOKEN` in the
//! environment, which the CLI reads itself).

use futures::future::BoxFuture;

use super::process::{self, Run, RunError};
use super::secret::Secret;
use super::{Adapter, Context};
use crate::config::SecretRef;

/// `[secrets.options]` keys this adapter reads.
pub(crate) const PROJECT_OPTION: &str = "doppler_project";
pub(crate) const CONFIG_OPTION: &str = "doppler_config";

pub(crate) struct Doppler;

impl Adapter for Doppler {
    fn name(&self) -> &'static str {
        "doppler"
    }

    fn resolve<'a>(
        &'a self,
        reference: &'a SecretRef,
        cx: &'a Context,
    ) -> BoxFuture<'a, Result<Secret, String>> {
        Box::pin(async move {
            let SecretRef::Doppler { name } = reference else {
                return Err(super::mismatch(self, reference));
            };
            let mut args = vec![
                "secrets",
                "get",
                name.as_str(),
                "--plain",
                "--no-check-version",
            ];
            if let Some(project) = cx.option(PROJECT_OPTION) {
                args.extend(["--project", project]);
            }
            if let Some(config) = cx.option(CONFIG_OPTION) {
                args.extend(["--config", config]);
            }
            process::run(
                cx,
                Run {
                    label: "doppler",
                    program: "doppler",
                    args: &args,
                    env: &[],
                    stderr_lines: 1,
                },
            )
            .await
            .map_err(|e| match e {
                RunError::NotFound { .. } => {
                    format!("{e} (install the Doppler CLI: https://docs.doppler.com/docs/cli)")
                }
                other => other.to_string(),
            })
        })
    }
}
