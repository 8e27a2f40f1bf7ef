//! How the console answers the SSH layer's questions: an unknown host key or
//! an encrypted key's passphrase becomes a dialog; the answer goes back to
//! the waiting connection through a oneshot channel.

use std::path::Path;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::state::{Msg, Prompt};
use crate::ssh::Prompter;

pub struct TuiPrompter {
    tx: mpsc::UnboundedSender<Msg>,
}

impl TuiPrompter {
    pub fn new(tx: mpsc::UnboundedSender<Msg>) -> TuiPrompter {
        TuiPrompter { tx }
    }
}

impl Prompter for TuiPrompter {
    fn passphrase(&self, host: &str, key_file: &Path) -> BoxFuture<'static, Option<String>> {
        if let Ok(p) = std::env::var("RAIJIN_SSH_PASSPHRASE") {
            return Box::pin(async move { Some(p) });
        }
        let (reply, rx) = oneshot::channel();
        let sent = self.tx.send(Msg::Prompt(Prompt::Passphrase {
            host: host.to_string(),
            key_file: key_file.display().to_string(),
            input: String::new(),
            reply,
        }));
        Box::pin(async move {
            sent.ok()?;
            rx.await.ok().flatten()
        })
    }

    fn accept_host_key(
        &self,
        host: &str,
        addr: &str,
        fingerprint: &str,
    ) -> BoxFuture<'static, bool> {
        let (reply, rx) = oneshot::channel();
        let sent = self.tx.send(Msg::Prompt(Prompt::HostKey {
            host: host.to_string(),
            addr: addr.to_string(),
            fingerprint: fingerprint.to_string(),
            reply,
        }));
        Box::pin(async move { sent.is_ok() && rx.await.unwrap_or(false) })
    }
}
