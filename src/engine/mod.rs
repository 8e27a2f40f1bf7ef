//! The engine's core: the configuration, one SSH [`Session`] per host, and the way
//! to everything configured: an app by name ([`Engine::app`]), the hosts an
//! operation acts on ([`Engine::hosts_for`]) and a [`Host`] to act on each, as root,
//! as the app's user or as the login user. The operations (`deploy`, `logs`,
//! `operate`, `inspect`) stand on it; the faces call them and render what they
//! return and the [`events`] they report. Nothing here draws.

pub mod events;
pub mod host;
pub mod lookup;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::Config;
use crate::ssh::{HostStatus, Prompter, Resolver, Session, SessionOptions, SshClientConfig};

pub use host::{Host, HostError};
pub use lookup::LookupError;

/// How the engine should set up its SSH sessions.
pub struct EngineOptions {
    /// ssh_config to honor; `None` = `[ssh] config_file` or `~/.ssh/config`.
    pub ssh_config: Option<PathBuf>,
    /// Record unknown host keys instead of refusing them.
    pub accept_new_host_key: bool,
    pub prompter: Arc<dyn Prompter>,
}

pub struct Engine {
    pub config: Arc<Config>,
    sessions: BTreeMap<String, Arc<Session>>,
    /// Things worth telling the user about the ssh config (e.g. `Match`).
    pub warnings: Vec<String>,
}

impl Engine {
    pub fn new(config: Config, opts: EngineOptions) -> anyhow::Result<Self> {
        let ssh_config_path = opts
            .ssh_config
            .clone()
            .or_else(|| config.ssh.config_file.clone())
            .or_else(SshClientConfig::default_path);
        let ssh_config = match &ssh_config_path {
            Some(p) => SshClientConfig::load(p)?,
            None => SshClientConfig::default(),
        };
        let session_opts = SessionOptions {
            connect_timeout: Duration::from_secs(config.ssh.connect_timeout_secs),
            keepalive_interval: Duration::from_secs(config.ssh.keepalive_interval_secs),
            keepalive_max: config.ssh.keepalive_max,
            accept_new_host_key: opts.accept_new_host_key,
            prompter: opts.prompter,
        };
        let resolver = Resolver::new(&ssh_config, &config.hosts);
        let mut sessions = BTreeMap::new();
        for (name, host) in &config.hosts {
            let target = resolver
                .resolve(host)
                .with_context(|| format!("resolving host {name}"))?;
            sessions.insert(name.clone(), Session::new(target, session_opts.clone()));
        }
        Ok(Self {
            warnings: ssh_config.warnings.clone(),
            config: Arc::new(config),
            sessions,
        })
    }

    /// The session of a configured host, or an error listing the known ones.
    pub fn session(&self, host: &str) -> Result<Arc<Session>, LookupError> {
        match self.sessions.get(host) {
            Some(s) => Ok(s.clone()),
            None => Err(LookupError::unknown_host(
                host,
                &self.config.path,
                self.sessions.keys(),
            )),
        }
    }

    /// A configured host, to act on.
    pub fn host(&self, name: &str) -> Result<Host, LookupError> {
        Ok(Host::new(name, self.session(name)?))
    }

    /// Configured hosts, in the order given.
    pub fn hosts(&self, names: &[String]) -> Result<Vec<Host>, LookupError> {
        names.iter().map(|h| self.host(h)).collect()
    }

    /// Keep every host's link up (connect, keepalives, reconnect with backoff, the
    /// RTT measured every `rtt_every`) for as long as the returned tasks run, and
    /// watch each link's state: what the console shows in its header.
    pub fn watch_links(&self, rtt_every: Duration) -> Vec<LinkWatch> {
        self.sorted_sessions()
            .map(|(name, s)| LinkWatch {
                host: name.clone(),
                address: s.target().host.clone(),
                status: s.status(),
                task: s.supervise(rtt_every),
            })
            .collect()
    }

    /// Every configured host, in natural order of name (h2 before h10).
    pub fn all_hosts(&self) -> Vec<Host> {
        self.sorted_sessions()
            .map(|(name, s)| Host::new(name, s.clone()))
            .collect()
    }

    fn sorted_sessions(&self) -> impl Iterator<Item = (&String, &Arc<Session>)> {
        let mut all: Vec<_> = self.sessions.iter().collect();
        all.sort_by(|a, b| crate::util::natural_cmp(a.0, b.0));
        all.into_iter()
    }
}

/// A host's link, kept up by `task`, and its state as it changes.
pub struct LinkWatch {
    pub host: String,
    /// The address (or ssh_config alias target) it is reached at.
    pub address: String,
    pub status: tokio::sync::watch::Receiver<HostStatus>,
    pub task: tokio::task::JoinHandle<()>,
}
