//! Secret references in an app's environment, resolved at deploy time in
//! memory. A value is plain text (passed through) or a reference
//! `ADAPTER:...`; an unresolvable reference stops the deploy before anything
//! is built, naming the key — never a value.

use anyhow::bail;

use crate::config::SecretRef;

/// Resolve the value of env key `key`: plain values pass through;
/// `env:NAME` reads raijin's own environment. Other adapters (keyring,
/// 1Password, Bitwarden, Doppler, cmd) are not available in this build and
/// are refused with the key named.
pub fn resolve_value(key: &str, value: &str) -> anyhow::Result<String> {
    let parsed = SecretRef::parse(value).map_err(|e| anyhow::anyhow!("env {key}: {e}"))?;
    let Some(reference) = parsed else {
        return Ok(value.to_string());
    };
    match reference {
        SecretRef::Env { name } => match std::env::var(&name) {
            Ok(v) => Ok(v),
            Err(_) => bail!("env {key}: secret reference env:{name}: variable {name} is not set"),
        },
        other => {
            let adapter = match other {
                SecretRef::Keyring { .. } => "the OS keyring",
                SecretRef::OnePassword { .. } => "1Password",
                SecretRef::Bitwarden { .. } => "Bitwarden",
                SecretRef::Doppler { .. } => "Doppler",
                SecretRef::Cmd { .. } => "a command",
                SecretRef::Env { .. } => "the environment",
            };
            bail!(
                "env {key}: secret references to {adapter} cannot be resolved by this build of raijin"
            )
        }
    }
}
