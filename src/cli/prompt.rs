//! How the CLI answers the SSH layer's questions: passphrases from
//! `RAIJIN_SSH_PASSPHRASE` or the terminal (asked once per key file, even when
//! many hosts connect at once); unknown host keys are refused unless
//! `--accept-new-host-key` was given (checked by the SSH layer).

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::Mutex;

use crate::ssh::Prompter;

#[derive(Default)]
pub struct CliPrompter {
    /// Passphrases given so far; the lock also keeps prompts from interleaving.
    given: Arc<Mutex<HashMap<PathBuf, String>>>,
}

impl Prompter for CliPrompter {
    fn passphrase(&self, host: &str, key_file: &Path) -> BoxFuture<'static, Option<String>> {
        if let Ok(p) = std::env::var("RAIJIN_SSH_PASSPHRASE") {
            return Box::pin(async move { Some(p) });
        }
        if !std::io::stdin().is_terminal() {
            return Box::pin(async { None });
        }
        let given = self.given.clone();
        let key_file = key_file.to_path_buf();
        let prompt = format!("Passphrase for {} ({host}): ", key_file.display());
        Box::pin(async move {
            let mut given = given.lock().await;
            if let Some(p) = given.get(&key_file) {
                return Some(p.clone());
            }
            let answer =
                tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt).ok())
                    .await
                    .ok()
                    .flatten()?;
            given.insert(key_file, answer.clone());
            Some(answer)
        })
    }

    fn accept_host_key(&self, _: &str, _: &str, _: &str) -> BoxFuture<'static, bool> {
        Box::pin(async { false })
    }
}
