//! Secrets: the references in an app's environment (`keyring:`, `op://`, `bw:`,
//! `doppler:`, `env:`, `cmd:`; syntax in `config::secret_ref`) resolved at deploy time,
//! in memory only. Every reference of a run is resolved in parallel, each adapter call
//! bounded by `[secrets] timeout_secs`; plain values pass through. A failure names the
//! key, the adapter and the adapter's error — never a value — and all failures of a run
//! are reported together.
//!
//! Adapters sit behind [`Adapter`], one file each; adding one is a file here plus its
//! reference syntax in `config::secret_ref`.

mod bitwarden;
mod cmd;
mod doppler;
mod env;
pub mod keyring;
mod onepassword;
mod process;
mod secret;
mod sys;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::config::{SecretRef, SecretsConfig};

pub use keyring::store_name as keyring_store_name;
pub use secret::Secret;

/// The `[secrets.options]` keys the adapters read.
pub const OPTION_KEYS: [&str; 4] = [
    bitwarden::PASSWORD_ENV_OPTION,
    bitwarden::SYNC_OPTION,
    doppler::PROJECT_OPTION,
    doppler::CONFIG_OPTION,
];

/// One secret store.
pub(crate) trait Adapter: Sync {
    /// The name users see in reports: `keyring`, `op`, `bw`, `doppler`, `env`, `cmd`.
    fn name(&self) -> &'static str;

    /// Fetch the value of one reference of this adapter's kind. The error is a message
    /// for the user and never contains the value.
    fn resolve<'a>(
        &'a self,
        reference: &'a SecretRef,
        cx: &'a Context,
    ) -> BoxFuture<'a, Result<Secret, String>>;
}

/// The adapter for a reference.
fn adapter_for(reference: &SecretRef) -> &'static dyn Adapter {
    match reference {
        SecretRef::Keyring { .. } => &keyring::Keyring,
        SecretRef::OnePassword { .. } => &onepassword::OnePassword,
        SecretRef::Bitwarden { .. } => &bitwarden::Bitwarden,
        SecretRef::Doppler { .. } => &doppler::Doppler,
        SecretRef::Env { .. } => &env::Env,
        SecretRef::Cmd { .. } => &cmd::Cmd,
    }
}

/// The error an adapter gives for a reference of another kind (a dispatch bug).
fn mismatch(adapter: &dyn Adapter, reference: &SecretRef) -> String {
    format!(
        "internal error: the {} adapter was handed a {} reference",
        adapter.name(),
        adapter_for(reference).name()
    )
}

/// What one resolution run shares: the timeout, the options, the Bitwarden session.
pub(crate) struct Context {
    timeout: Duration,
    options: BTreeMap<String, String>,
    /// PATH for the vendor CLIs, when not raijin's own (tests use stand-ins).
    path: Option<OsString>,
    bw: tokio::sync::OnceCell<Result<bitwarden::Session, String>>,
}

impl Context {
    pub(crate) fn new(cfg: &SecretsConfig) -> Self {
        Context {
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            options: cfg.options.clone(),
            path: None,
            bw: tokio::sync::OnceCell::new(),
        }
    }

    /// A non-empty `[secrets.options]` value.
    fn option(&self, key: &str) -> Option<&str> {
        self.options
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Plain text, passed through.
    Plain,
    /// A reference, resolved by this adapter (`keyring`, `op`, `bw`, ...).
    Adapter(&'static str),
}

impl Source {
    /// `plain` or the adapter name.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Plain => "plain",
            Source::Adapter(a) => a,
        }
    }
}

/// The outcome for one key.
#[derive(Debug)]
pub struct Resolution {
    pub key: String,
    pub source: Source,
    /// The value, or the adapter's error (without any value).
    pub value: Result<Secret, String>,
}

/// One key that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretError {
    pub key: String,
    /// The adapter (`keyring`, `op`, `bw`, `doppler`, `env`, `cmd`) or, for a value
    /// that is not a valid reference, the kind it looks like.
    pub adapter: &'static str,
    pub message: String,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.key, self.adapter, self.message)
    }
}

/// Every key of a run that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretErrors(pub Vec<SecretError>);

impl fmt::Display for SecretErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "secret {one}"),
            all => {
                write!(f, "{} secrets could not be resolved:", all.len())?;
                for e in all {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SecretErrors {}

/// Resolve every value of `vars` (KEY, value-or-reference), in parallel. Plain values
/// pass through. On any failure, every failing key is reported.
pub async fn resolve_all(
    vars: &[(String, String)],
    cfg: &SecretsConfig,
) -> Result<Vec<(String, Secret)>, SecretErrors> {
    collect(resolve_each(vars, cfg).await)
}

/// Resolve every value of `vars` in parallel and report each outcome, in order
/// (what `raijin secrets check` prints).
pub async fn resolve_each(vars: &[(String, String)], cfg: &SecretsConfig) -> Vec<Resolution> {
    resolve_with(&Context::new(cfg), vars).await
}

pub(crate) async fn resolve_with(cx: &Context, vars: &[(String, String)]) -> Vec<Resolution> {
    let option_errors = unknown_options(&cx.options);
    let jobs = vars.iter().map(|(key, value)| {
        let option_errors = &option_errors;
        async move {
            let (source, value) = match SecretRef::parse(value) {
                Ok(None) => (Source::Plain, Ok(Secret::new(value.clone()))),
                Ok(Some(reference)) => {
                    let adapter = adapter_for(&reference);
                    let value = match option_errors {
                        Some(e) => Err(e.clone()),
                        None => adapter.resolve(&reference, cx).await,
                    };
                    (Source::Adapter(adapter.name()), value)
                }
                Err(e) => (
                    Source::Adapter(kind_of(value)),
                    Err(format!("not a valid reference: {e}")),
                ),
            };
            Resolution {
                key: key.clone(),
                source,
                value,
            }
        }
    });
    futures::future::join_all(jobs).await
}

fn collect(all: Vec<Resolution>) -> Result<Vec<(String, Secret)>, SecretErrors> {
    let mut ok = Vec::with_capacity(all.len());
    let mut errors = Vec::new();
    for r in all {
        match r.value {
            Ok(v) => ok.push((r.key, v)),
            Err(message) => errors.push(SecretError {
                key: r.key,
                adapter: r.source.name(),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(SecretErrors(errors))
    }
}

/// Options no adapter knows are refused rather than ignored: a misspelt
/// `bw_password_env` would otherwise fail later with a misleading message.
fn unknown_options(options: &BTreeMap<String, String>) -> Option<String> {
    let unknown: Vec<String> = options
        .keys()
        .filter(|k| !OPTION_KEYS.contains(&k.as_str()))
        .map(|k| match crate::util::did_you_mean(k, OPTION_KEYS) {
            Some(m) => format!("`{k}` (did you mean `{m}`?)"),
            None => format!("`{k}`"),
        })
        .collect();
    (!unknown.is_empty()).then(|| {
        format!(
            "unknown [secrets.options] {} (known: {})",
            unknown.join(", "),
            OPTION_KEYS.join(", ")
        )
    })
}

/// The adapter a malformed reference was meant for, from its prefix.
fn kind_of(value: &str) -> &'static str {
    [
        ("keyring:", "keyring"),
        ("op://", "op"),
        ("bw:", "bw"),
        ("doppler:", "doppler"),
        ("env:", "env"),
        ("cmd:", "cmd"),
    ]
    .iter()
    .find(|(prefix, _)| value.starts_with(prefix))
    .map_or("reference", |(_, name)| name)
}

#[cfg(test)]
mod tests;
