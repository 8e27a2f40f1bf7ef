//! The OS keyring adapter, `keyring:SERVICE/NAME` → entry (service = SERVICE,
//! user = NAME), through the keyring v4 family (`keyring-core` plus one store crate per
//! platform):
//! - Linux with a session bus (`DBUS_SESSION_BUS_ADDRESS`): Secret Service, which
//!   persists (GNOME Keyring, KWallet).
//! - Linux without one (servers, CI): the kernel's keyutils. Each thread that touches
//!   the keyring first joins a fresh session keyring (an inherited one may refuse new
//!   keys, and the kernel keeps session keyrings per thread); entries are also linked to
//!   the user's persistent keyring, so they outlive the process, but they expire after
//!   `/proc/sys/kernel/keys/persistent_keyring_expiry` seconds without use (3 days by
//!   default) and never survive a reboot: treat them as a cache.
//! - macOS: the login Keychain. Windows: the Credential Manager.
//!
//! `RAIJIN_KEYRING_STORE=keyutils|secret-service` overrides the choice on Linux.
//! The keyring API is blocking; the adapter runs it on tokio's blocking pool.

use std::fmt;
use std::sync::OnceLock;

use futures::future::BoxFuture;

use super::secret::Secret;
use super::{Adapter, Context};
use crate::config::SecretRef;

/// The environment variable that picks the Linux store by hand.
pub const STORE_ENV: &str = "RAIJIN_KEYRING_STORE";

/// Which store entries live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Keyutils,
    SecretService,
    MacKeychain,
    WindowsCredentialManager,
}

impl Store {
    pub fn name(self) -> &'static str {
        match self {
            Store::Keyutils => "Linux kernel keyutils",
            Store::SecretService => "Secret Service",
            Store::MacKeychain => "macOS Keychain",
            Store::WindowsCredentialManager => "Windows Credential Manager",
        }
    }

    /// What users should know about how long entries last.
    pub fn persistence_note(self) -> Option<String> {
        match self {
            Store::Keyutils => Some(format!(
                "keyutils entries live in kernel memory: they expire after {} unused \
                 (/proc/sys/kernel/keys/persistent_keyring_expiry) and do not survive a reboot",
                keyutils_expiry()
            )),
            _ => None,
        }
    }
}

/// The persistent keyring's expiry, e.g. "3 days".
fn keyutils_expiry() -> String {
    let secs = std::fs::read_to_string("/proc/sys/kernel/keys/persistent_keyring_expiry")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    match secs {
        Some(s) if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        Some(s) if s >= 3_600 => format!("{} hours", s / 3_600),
        Some(s) => format!("{s} s"),
        None => "a few days".to_string(),
    }
}

/// Why a keyring operation failed. Never carries a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// No entry for this service and name.
    NotFound { service: String, name: String },
    /// The store could not be opened or refused access.
    Unavailable(String),
    /// Anything else the store reported.
    Other(String),
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::NotFound { service, name } => write!(
                f,
                "no entry {service}/{name} in the {} (add it with `raijin secrets set {service}/{name}`)",
                store_label()
            ),
            KeyringError::Unavailable(m) | KeyringError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for KeyringError {}

fn store_label() -> String {
    match store() {
        Ok(s) => s.name().to_string(),
        Err(_) => "OS keyring".to_string(),
    }
}

/// The store in use, chosen and opened once per process.
pub fn store() -> Result<Store, KeyringError> {
    static STORE: OnceLock<Result<Store, String>> = OnceLock::new();
    STORE
        .get_or_init(open_store)
        .clone()
        .map_err(KeyringError::Unavailable)
}

/// The name of the store in use, for the UI: "Linux kernel keyutils",
/// "Secret Service", "macOS Keychain" or "Windows Credential Manager" (or why none
/// could be opened).
pub fn store_name() -> String {
    match store() {
        Ok(s) => s.name().to_string(),
        Err(e) => format!("none ({e})"),
    }
}

#[cfg(target_os = "linux")]
fn open_store() -> Result<Store, String> {
    let wanted = std::env::var(STORE_ENV).unwrap_or_default();
    match wanted.as_str() {
        "keyutils" => open_keyutils(),
        "secret-service" => open_secret_service(),
        "" => {
            let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
            if !bus {
                return open_keyutils();
            }
            open_secret_service().or_else(|e| {
                tracing::warn!("{e}; using the Linux kernel keyutils store instead");
                open_keyutils()
            })
        }
        other => Err(format!(
            "{STORE_ENV}={other} is not a keyring store (expected `keyutils` or `secret-service`)"
        )),
    }
}

#[cfg(target_os = "linux")]
fn open_keyutils() -> Result<Store, String> {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    join_thread_session()?;
    KeyRing::get_persistent(KeyRingIdentifier::Session).map_err(|e| {
        format!(
            "the kernel's persistent keyring is not available ({e:?}): keyutils entries \
             would vanish when raijin exits"
        )
    })?;
    let store = linux_keyutils_keyring_store::Store::new()
        .map_err(|e| format!("cannot open the Linux kernel keyutils store: {e}"))?;
    keyring_core::set_default_store(store);
    Ok(Store::Keyutils)
}

/// Give the calling thread a fresh session keyring, once per thread: the kernel keeps
/// session keyrings in each thread's credentials, so a join on one thread does not
/// reach threads that already exist (tokio's blocking pool, test threads), which would
/// otherwise search an inherited keyring that may not be writable or searchable.
#[cfg(target_os = "linux")]
fn join_thread_session() -> Result<(), String> {
    use std::cell::Cell;
    thread_local! {
        static JOINED: Cell<bool> = const { Cell::new(false) };
    }
    if JOINED.get() {
        return Ok(());
    }
    super::sys::join_session_keyring()
        .map_err(|e| format!("cannot join a kernel session keyring (keyctl): {e}"))?;
    JOINED.set(true);
    Ok(())
}

#[cfg(target_os = "linux")]
fn open_secret_service() -> Result<Store, String> {
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| format!("cannot reach the Secret Service over D-Bus: {e}"))?;
    keyring_core::set_default_store(store);
    Ok(Store::SecretService)
}

#[cfg(target_os = "macos")]
fn open_store() -> Result<Store, String> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| format!("cannot open the macOS Keychain: {e}"))?;
    keyring_core::set_default_store(store);
    Ok(Store::MacKeychain)
}

#[cfg(target_os = "windows")]
fn open_store() -> Result<Store, String> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|e| format!("cannot open the Windows Credential Manager: {e}"))?;
    keyring_core::set_default_store(store);
    Ok(Store::WindowsCredentialManager)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn open_store() -> Result<Store, String> {
    Err("raijin has no OS keyring store for this platform".to_string())
}

fn entry(service: &str, name: &str) -> Result<keyring_core::Entry, KeyringError> {
    let store = store()?;
    #[cfg(target_os = "linux")]
    if store == Store::Keyutils {
        join_thread_session().map_err(KeyringError::Unavailable)?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = store;
    keyring_core::Entry::new(service, name).map_err(|e| map_error(e, service, name))
}

/// Read an entry.
pub fn get(service: &str, name: &str) -> Result<Secret, KeyringError> {
    let entry = entry(service, name)?;
    entry
        .get_password()
        .map(Secret::new)
        .map_err(|e| map_error(e, service, name))
}

/// Create or replace an entry.
pub fn set(service: &str, name: &str, value: &Secret) -> Result<(), KeyringError> {
    if value.is_empty() {
        return Err(KeyringError::Other(format!(
            "refusing to store an empty value for {service}/{name}"
        )));
    }
    let entry = entry(service, name)?;
    entry
        .set_password(value.expose())
        .map_err(|e| map_error(e, service, name))
}

/// Delete an entry.
pub fn delete(service: &str, name: &str) -> Result<(), KeyringError> {
    let entry = entry(service, name)?;
    entry
        .delete_credential()
        .map_err(|e| map_error(e, service, name))
}

/// Turn a store error into ours, naming the entry and the store; bytes a store hands
/// back with an error (undecodable values) are zeroed, never shown.
fn map_error(e: keyring_core::Error, service: &str, name: &str) -> KeyringError {
    use keyring_core::Error as E;
    let store = store_label();
    match e {
        E::NoEntry => KeyringError::NotFound {
            service: service.to_string(),
            name: name.to_string(),
        },
        E::NoStorageAccess(err) => KeyringError::Unavailable(format!(
            "the {store} refused access to {service}/{name}: {err}"
        )),
        E::BadEncoding(mut bytes) => {
            zeroize::Zeroize::zeroize(&mut bytes);
            KeyringError::Other(format!(
                "the entry {service}/{name} in the {store} is not UTF-8 text"
            ))
        }
        E::BadDataFormat(mut bytes, err) => {
            zeroize::Zeroize::zeroize(&mut bytes);
            KeyringError::Other(format!(
                "the entry {service}/{name} in the {store} is malformed: {err}"
            ))
        }
        other => KeyringError::Other(format!("{store}, entry {service}/{name}: {other}")),
    }
}

/// The adapter for `keyring:` references.
pub(crate) struct Keyring;

impl Adapter for Keyring {
    fn name(&self) -> &'static str {
        "keyring"
    }

    fn resolve<'a>(
        &'a self,
        reference: &'a SecretRef,
        cx: &'a Context,
    ) -> BoxFuture<'a, Result<Secret, String>> {
        Box::pin(async move {
            let SecretRef::Keyring { service, name } = reference else {
                return Err(super::mismatch(self, reference));
            };
            let (service, name) = (service.clone(), name.clone());
            let task = tokio::task::spawn_blocking(move || get(&service, &name));
            match tokio::time::timeout(cx.timeout, task).await {
                Ok(Ok(result)) => result.map_err(|e| e.to_string()),
                Ok(Err(e)) => Err(format!("the keyring lookup failed: {e}")),
                Err(_) => Err(format!(
                    "the {} did not answer within {} s ([secrets] timeout_secs)",
                    store_label(),
                    cx.timeout.as_secs()
                )),
            }
        })
    }
}
