//! Where and how to connect to one host: the raijin host entry merged with the
//! user's `~/.ssh/config`, the way OpenSSH would resolve it.
//!
//! Precedence follows OpenSSH's "command line beats config file": keys set in
//! `[hosts.NAME]` override what the ssh config says for the alias.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ssh2_config::{ParseRule, SshConfig};

use crate::config::HostConfig;

/// Fully resolved connection parameters for one host (and its jump host, if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The raijin host name, used in every message about this host.
    pub name: String,
    /// The address actually dialled (HostName after alias resolution).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Identity files to try, in order, after the agent.
    pub identity_files: Vec<PathBuf>,
    /// Only use the identity files (and agent keys matching them).
    pub identities_only: bool,
    /// known_hosts files to check; new keys are recorded in the first one.
    pub known_hosts: Vec<PathBuf>,
    /// Jump host to tunnel through (ProxyJump).
    pub jump: Option<Box<Target>>,
}

impl Target {
    /// `user@host:port`, for messages.
    pub fn display_addr(&self) -> String {
        if self.port == 22 {
            format!("{}@{}", self.user, self.host)
        } else {
            format!("{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// A parsed ssh client config plus what we noticed while reading it.
#[derive(Default)]
pub struct SshClientConfig {
    config: SshConfig,
    /// Problems worth telling the user (e.g. `Match` blocks we cannot evaluate).
    pub warnings: Vec<String>,
}

impl SshClientConfig {
    /// Reads an ssh_config file. A missing file is an empty config; a broken one
    /// is an error naming the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot read ssh config {}: {e}",
                    path.display()
                ));
            }
        };
        let mut reader = BufReader::new(file);
        let config = SshConfig::default()
            .parse(
                &mut reader,
                ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
            )
            .map_err(|e| anyhow::anyhow!("ssh config {}: {e}", path.display()))?;
        let mut warnings = Vec::new();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().position(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("match"))
        }) {
            warnings.push(format!(
                "{}:{}: `Match` blocks are not evaluated by raijin; their settings may apply to the Host block above them",
                path.display(),
                line + 1
            ));
        }
        Ok(Self { config, warnings })
    }

    /// The default location, `~/.ssh/config`.
    pub fn default_path() -> Option<PathBuf> {
        std::env::home_dir().map(|h| h.join(".ssh").join("config"))
    }

    fn query(&self, alias: &str) -> ssh2_config::HostParams {
        self.config.query(alias)
    }
}

/// Everything needed to resolve hosts: the ssh config and the other raijin hosts
/// (a ProxyJump may name one of them).
pub struct Resolver<'a> {
    pub ssh_config: &'a SshClientConfig,
    pub hosts: &'a BTreeMap<String, HostConfig>,
    /// Local user name, the last-resort default for `user`.
    pub local_user: String,
    pub home: Option<PathBuf>,
}

const MAX_JUMP_DEPTH: usize = 4;

impl<'a> Resolver<'a> {
    pub fn new(ssh_config: &'a SshClientConfig, hosts: &'a BTreeMap<String, HostConfig>) -> Self {
        let local_user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "root".to_string());
        Self {
            ssh_config,
            hosts,
            local_user,
            home: std::env::home_dir(),
        }
    }

    /// Resolve a configured raijin host.
    pub fn resolve(&self, host: &HostConfig) -> anyhow::Result<Target> {
        self.resolve_depth(host, 0)
    }

    fn resolve_depth(&self, host: &HostConfig, depth: usize) -> anyhow::Result<Target> {
        if depth > MAX_JUMP_DEPTH {
            anyhow::bail!(
                "host {}: ProxyJump chain is longer than {MAX_JUMP_DEPTH} hops (a loop?)",
                host.name
            );
        }
        let alias = host.address.clone().unwrap_or_else(|| host.name.clone());
        let params = self.ssh_config.query(&alias);

        let hostname = params.host_name.clone().unwrap_or_else(|| alias.clone());
        let port = host.port.or(params.port).unwrap_or(22);
        let user = host
            .user
            .clone()
            .or_else(|| params.user.clone())
            .unwrap_or_else(|| self.local_user.clone());

        let mut identity_files: Vec<PathBuf> = Vec::new();
        if let Some(f) = &host.identity_file {
            identity_files.push(self.expand(f));
        }
        if let Some(files) = &params.identity_file {
            identity_files.extend(files.iter().map(|f| self.expand(f)));
        }
        let identities_only = host.identity_file.is_some()
            || unsupported_value(&params, "identitiesonly")
                .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
        if identity_files.is_empty()
            && let Some(home) = &self.home
        {
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                identity_files.push(home.join(".ssh").join(name));
            }
        }

        let mut known_hosts = Vec::new();
        if let Some(f) = &host.known_hosts {
            known_hosts.push(self.expand(f));
        } else if let Some(files) = unsupported_values(&params, "userknownhostsfile") {
            known_hosts.extend(
                files
                    .iter()
                    .filter(|f| f.as_str() != "none")
                    .map(|f| self.expand(Path::new(f))),
            );
        }
        if known_hosts.is_empty()
            && let Some(home) = &self.home
        {
            known_hosts.push(home.join(".ssh").join("known_hosts"));
        }

        let jump_spec = host
            .proxy_jump
            .clone()
            .or_else(|| params.proxy_jump.as_ref().and_then(|v| v.first().cloned()))
            .filter(|s| s != "none");
        let jump = match jump_spec {
            Some(spec) => Some(Box::new(self.resolve_jump(&spec, &host.name, depth)?)),
            None => None,
        };

        Ok(Target {
            name: host.name.clone(),
            host: hostname,
            port,
            user,
            identity_files,
            identities_only,
            known_hosts,
            jump,
        })
    }

    /// A ProxyJump value: the name of a raijin host, or `[user@]host[:port]`
    /// (where host may itself be an ssh_config alias).
    fn resolve_jump(&self, spec: &str, for_host: &str, depth: usize) -> anyhow::Result<Target> {
        if let Some(h) = self.hosts.get(spec) {
            return self.resolve_depth(h, depth + 1);
        }
        let (user, rest) = match spec.split_once('@') {
            Some((u, r)) => (Some(u.to_string()), r),
            None => (None, spec),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => {
                let port = p.parse::<u16>().map_err(|_| {
                    anyhow::anyhow!("host {for_host}: ProxyJump `{spec}` has a bad port `{p}`")
                })?;
                (h.to_string(), Some(port))
            }
            _ => (rest.to_string(), None),
        };
        let jump = HostConfig {
            name: format!("{host} (jump for {for_host})"),
            address: Some(host),
            user,
            port,
            ..HostConfig::default()
        };
        self.resolve_depth(&jump, depth + 1)
    }

    fn expand(&self, p: &Path) -> PathBuf {
        if let (Ok(rest), Some(home)) = (p.strip_prefix("~"), &self.home) {
            home.join(rest)
        } else {
            p.to_path_buf()
        }
    }
}

fn unsupported_values<'p>(
    params: &'p ssh2_config::HostParams,
    key: &str,
) -> Option<&'p Vec<String>> {
    params.unsupported_fields.get(key)
}

fn unsupported_value<'p>(params: &'p ssh2_config::HostParams, key: &str) -> Option<&'p String> {
    unsupported_values(params, key).and_then(|v| v.first())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ssh_config(text: &str) -> SshClientConfig {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        SshClientConfig::load(f.path()).unwrap()
    }

    fn resolver<'a>(
        c: &'a SshClientConfig,
        hosts: &'a BTreeMap<String, HostConfig>,
    ) -> Resolver<'a> {
        Resolver {
            ssh_config: c,
            hosts,
            local_user: "me".into(),
            home: Some(PathBuf::from("/home/me")),
        }
    }

    #[test]
    fn alias_resolves_through_ssh_config() {
        let c = ssh_config(
            "Host web\n  HostName 10.0.0.5\n  User deploy\n  Port 2222\n  IdentityFile /keys/web_key\n  UserKnownHostsFile ~/.ssh/pinned\n  ProxyJump bastion\n\nHost bastion\n  HostName 10.0.0.1\n  User jump\n",
        );
        let hosts = BTreeMap::new();
        let r = resolver(&c, &hosts);
        let t = r
            .resolve(&HostConfig {
                name: "w1".into(),
                address: Some("web".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(t.host, "10.0.0.5");
        assert_eq!(t.user, "deploy");
        assert_eq!(t.port, 2222);
        assert_eq!(t.identity_files, vec![PathBuf::from("/keys/web_key")]);
        assert_eq!(t.known_hosts, vec![PathBuf::from("/home/me/.ssh/pinned")]);
        let j = t.jump.unwrap();
        assert_eq!(
            (j.host.as_str(), j.user.as_str(), j.port),
            ("10.0.0.1", "jump", 22)
        );
    }

    #[test]
    fn raijin_keys_override_ssh_config() {
        let c = ssh_config("Host web\n  HostName 10.0.0.5\n  User deploy\n  Port 2222\n");
        let hosts = BTreeMap::new();
        let t = resolver(&c, &hosts)
            .resolve(&HostConfig {
                name: "w1".into(),
                address: Some("web".into()),
                user: Some("root".into()),
                port: Some(22),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            (t.host.as_str(), t.user.as_str(), t.port),
            ("10.0.0.5", "root", 22)
        );
        assert_eq!(
            t.known_hosts,
            vec![PathBuf::from("/home/me/.ssh/known_hosts")]
        );
        assert_eq!(t.identity_files.len(), 3, "default identity files");
    }

    #[test]
    fn jump_may_name_a_raijin_host_or_user_host_port() {
        let c = SshClientConfig::default();
        let mut hosts = BTreeMap::new();
        hosts.insert(
            "bastion".to_string(),
            HostConfig {
                name: "bastion".into(),
                address: Some("192.0.2.1".into()),
                user: Some("ops".into()),
                ..Default::default()
            },
        );
        let r = resolver(&c, &hosts);
        let t = r
            .resolve(&HostConfig {
                name: "a".into(),
                address: Some("10.1.1.1".into()),
                proxy_jump: Some("bastion".into()),
                ..Default::default()
            })
            .unwrap();
        let j = t.jump.unwrap();
        assert_eq!((j.host.as_str(), j.user.as_str()), ("192.0.2.1", "ops"));

        let t = r
            .resolve(&HostConfig {
                name: "b".into(),
                address: Some("10.1.1.2".into()),
                proxy_jump: Some("admin@198.51.100.7:2200".into()),
                ..Default::default()
            })
            .unwrap();
        let j = t.jump.unwrap();
        assert_eq!(
            (j.host.as_str(), j.user.as_str(), j.port),
            ("198.51.100.7", "admin", 2200)
        );
    }

    #[test]
    fn jump_loop_is_an_error() {
        let c = SshClientConfig::default();
        let mut hosts = BTreeMap::new();
        for (n, j) in [("a", "b"), ("b", "a")] {
            hosts.insert(
                n.to_string(),
                HostConfig {
                    name: n.into(),
                    proxy_jump: Some(j.into()),
                    ..Default::default()
                },
            );
        }
        let r = resolver(&c, &hosts);
        let err = r.resolve(&hosts["a"]).unwrap_err().to_string();
        assert!(err.contains("ProxyJump chain"), "{err}");
    }

    #[test]
    fn match_blocks_warn() {
        let c = ssh_config("Host a\n  HostName 1.2.3.4\nMatch host b\n  User x\n");
        assert_eq!(c.warnings.len(), 1);
    }
}
