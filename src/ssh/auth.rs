//! Public-key authentication in OpenSSH's order: keys held by ssh-agent
//! (those matching the configured identity files first), then the identity
//! files themselves, asking for a passphrase when a file is encrypted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{self, AuthResult};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::{HashAlg, PublicKey};
use russh::keys::{PrivateKeyWithHashAlg, load_public_key, load_secret_key};

use super::connect::Client;
use super::{Prompter, SshError, Target};

pub(crate) async fn authenticate(
    handle: &mut client::Handle<Client>,
    target: &Target,
    prompter: &Arc<dyn Prompter>,
) -> Result<(), SshError> {
    let mut tried: Vec<String> = Vec::new();
    // Which RSA signature the server accepts: SHA-2 unless it says otherwise
    // (None would mean SHA-1, which OpenSSH ≥ 8.8 refuses).
    let rsa_hash = match handle.best_supported_rsa_hash().await {
        Ok(Some(h)) => h,
        _ => Some(HashAlg::Sha256),
    };
    let wanted: Vec<PublicKey> = target
        .identity_files
        .iter()
        .filter_map(|f| public_key_of(f))
        .collect();

    // 1. ssh-agent.
    if std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match agent_auth(handle, target, &wanted, rsa_hash, &mut tried).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(reason) => tried.push(format!("ssh-agent ({reason})")),
        }
    }

    // 2. Identity files.
    for file in &target.identity_files {
        if !file.exists() {
            continue;
        }
        let key = match load_secret_key(file, None) {
            Ok(k) => k,
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let Some(pass) = prompter.passphrase(&target.name, file).await else {
                    tried.push(format!(
                        "{} (encrypted; no passphrase given)",
                        file.display()
                    ));
                    continue;
                };
                match load_secret_key(file, Some(&pass)) {
                    Ok(k) => k,
                    Err(e) => {
                        tried.push(format!("{} (cannot decrypt: {e})", file.display()));
                        continue;
                    }
                }
            }
            Err(e) => {
                tried.push(format!("{} (unreadable: {e})", file.display()));
                continue;
            }
        };
        let label = format!("{} ({})", file.display(), key.algorithm().as_str());
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), rsa_hash);
        match handle.authenticate_publickey(&target.user, key).await {
            Ok(AuthResult::Success) => return Ok(()),
            Ok(AuthResult::Failure { .. }) => tried.push(label),
            Err(e) => return Err(lost(target, &e)),
        }
    }

    if tried.is_empty() {
        tried.push(format!(
            "nothing: no ssh-agent (SSH_AUTH_SOCK unset) and none of these key files exist: {}",
            display_paths(&target.identity_files)
        ));
    }
    Err(SshError::Auth {
        host: target.name.clone(),
        user: target.user.clone(),
        tried: tried.join(", "),
    })
}

/// Try the agent's keys. `Ok(true)` on success; `Err` if the agent itself failed.
async fn agent_auth(
    handle: &mut client::Handle<Client>,
    target: &Target,
    wanted: &[PublicKey],
    rsa_hash: Option<HashAlg>,
    tried: &mut Vec<String>,
) -> Result<bool, russh::keys::Error> {
    let mut agent = AgentClient::connect_env().await?;
    if let Some(binding) = handle.agent_session_binding().cloned() {
        // Needed for destination-constrained keys (ssh-add -h); older agents
        // answer with a failure, which is harmless.
        let _ = agent.bind_session(&binding, false).await;
    }
    let identities = agent.request_identities().await?;
    let mut keys: Vec<PublicKey> = identities
        .iter()
        .filter_map(|id| match id {
            AgentIdentity::PublicKey { key, .. } => Some(key.clone()),
            AgentIdentity::Certificate { .. } => None,
        })
        .collect();
    let matches = |k: &PublicKey| wanted.iter().any(|w| w.key_data() == k.key_data());
    // Keys matching the identity files first; with IdentitiesOnly, only those.
    keys.sort_by_key(|k| !matches(k));
    if target.identities_only {
        keys.retain(|k| matches(k));
    }
    for key in keys {
        let label = format!("agent key {}", key.fingerprint(HashAlg::Sha256));
        let hash = if key.algorithm().is_rsa() {
            rsa_hash
        } else {
            None
        };
        match handle
            .authenticate_publickey_with(&target.user, key, hash, &mut agent)
            .await
        {
            Ok(AuthResult::Success) => return Ok(true),
            Ok(AuthResult::Failure { .. }) => tried.push(label),
            Err(e) => tried.push(format!("{label} (agent: {e})")),
        }
    }
    Ok(false)
}

/// The public half of an identity file: `FILE.pub` if present, else read
/// from an unencrypted private key.
fn public_key_of(file: &Path) -> Option<PublicKey> {
    let mut pub_path = file.as_os_str().to_owned();
    pub_path.push(".pub");
    load_public_key(PathBuf::from(pub_path)).ok().or_else(|| {
        load_secret_key(file, None)
            .ok()
            .map(|k| k.public_key().clone())
    })
}

fn lost(target: &Target, e: &russh::Error) -> SshError {
    SshError::Disconnected {
        host: target.name.clone(),
        reason: format!("during authentication: {}", super::connect::describe(e)),
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
