//! The engine: owns the configuration and one SSH [`Session`] per host, and
//! answers requests from the faces. It never draws; faces render what it
//! returns and the events it reports.

pub mod events;
pub mod facts;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::Config;
use crate::ssh::{Prompter, Resolver, Session, SessionOptions, SshClientConfig};

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
    pub fn session(&self, host: &str) -> anyhow::Result<Arc<Session>> {
        if let Some(s) = self.sessions.get(host) {
            return Ok(s.clone());
        }
        let known: Vec<&str> = self.sessions.keys().map(String::as_str).collect();
        let hint = crate::util::did_you_mean(host, known.iter().copied())
            .map(|m| format!(" — did you mean `{m}`?"))
            .unwrap_or_default();
        anyhow::bail!(
            "unknown host `{host}`{hint} (configured in {}: {})",
            self.config.path.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )
    }

    /// All sessions, in natural order of host name (h2 before h10).
    pub fn sessions(&self) -> impl Iterator<Item = (&String, &Arc<Session>)> {
        let mut all: Vec<_> = self.sessions.iter().collect();
        all.sort_by(|a, b| crate::util::natural_cmp(a.0, b.0));
        all.into_iter()
    }
}
