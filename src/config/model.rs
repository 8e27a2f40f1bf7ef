//! The validated configuration as the rest of raijin sees it: plain typed structs with
//! defaults applied and paths resolved. Nothing here parses or checks anything.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::diagnostics::{Diagnostic, Report, plural};

pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_KEEPALIVE_INTERVAL_SECS: u64 = 3;
pub const DEFAULT_KEEPALIVE_MAX: usize = 3;
pub const DEFAULT_VERSIONS_TO_KEEP: usize = 5;
/// Smallest `versions_to_keep`: the current release and the one to roll back to.
pub const MIN_VERSIONS_TO_KEEP: usize = 2;
/// Above this `versions_to_keep` draws a warning (disk use on the hosts).
pub const MANY_VERSIONS_TO_KEEP: usize = 50;
pub const DEFAULT_REPLICAS: u32 = 1;
pub const DEFAULT_HEALTH_PATH: &str = "/";
/// How long a new release may take to become healthy by default.
pub const DEFAULT_HEALTH_TIMEOUT_SECS: u64 = 60;
/// How long an old release drains after the switch by default.
pub const DEFAULT_DRAIN_SECS: u64 = 30;
pub const DEFAULT_SECRETS_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_THEME: &str = "dark";

/// A loaded and validated `raijin.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it came from, as given.
    pub path: PathBuf,
    /// The environment laid over it (`--env NAME`: `raijin.NAME.toml`).
    pub environment: Option<String>,
    pub ssh: SshSettings,
    /// Keyed by host name.
    pub hosts: BTreeMap<String, HostConfig>,
    /// Keyed by app name.
    pub apps: BTreeMap<String, AppConfig>,
    pub secrets: SecretsConfig,
    pub ui: UiConfig,
    /// Problems that did not stop loading, in file order.
    pub warnings: Vec<Diagnostic>,
}

impl Config {
    /// The warnings rendered like `ConfigErrors`, or `None` when there are none.
    pub fn warnings_report(&self) -> Option<Report<'_>> {
        (!self.warnings.is_empty()).then(|| Report::new(&self.path, &self.warnings))
    }

    /// `ok: raijin.toml (2 hosts, 3 apps)`.
    pub fn ok_line(&self) -> String {
        let env = match &self.environment {
            Some(e) => format!(" with environment {e}"),
            None => String::new(),
        };
        format!(
            "ok: {}{env} ({}, {})",
            self.path.display(),
            plural(self.hosts.len(), "host"),
            plural(self.apps.len(), "app")
        )
    }
}

/// `[ssh]`: settings for every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// ssh_config file to honor; `None` means `~/.ssh/config`.
    pub config_file: Option<PathBuf>,
    pub connect_timeout_secs: u64,
    pub keepalive_interval_secs: u64,
    pub keepalive_max: usize,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            config_file: None,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            keepalive_interval_secs: DEFAULT_KEEPALIVE_INTERVAL_SECS,
            keepalive_max: DEFAULT_KEEPALIVE_MAX,
        }
    }
}

/// `[hosts.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostConfig {
    pub name: String,
    /// IP address, DNS name or `~/.ssh/config` Host alias; `None` means `name` is the alias.
    pub address: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    /// Pinned known_hosts file for this host.
    pub known_hosts: Option<PathBuf>,
    /// `[user@]host[:port]`, or the name of another `[hosts.X]`.
    pub proxy_jump: Option<String>,
}

impl HostConfig {
    /// What to connect to: the address, or the name used as an ssh_config alias.
    pub fn target(&self) -> &str {
        self.address.as_deref().unwrap_or(&self.name)
    }
}

/// `APP-PROCESS`: the stem of every systemd unit of a process on a host, which is why
/// it must be unique across apps (`raijin config check` reports a clash).
pub fn unit_stem(app: &str, process: &str) -> String {
    format!("{app}-{process}")
}

/// `[apps.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    pub name: String,
    /// Names of `[hosts.*]`; never empty.
    pub hosts: Vec<String>,
    /// Local build command, run by `sh -c`.
    pub build: Option<String>,
    /// File (binary), wheel or directory (python) or directory (static).
    pub artifact: PathBuf,
    pub kind: AppKind,
    pub version_source: VersionSource,
    /// At least `MIN_VERSIONS_TO_KEEP`.
    pub versions_to_keep: usize,
    /// Default rolling-deploy batch (`batch = "2"` or `"25%"`); `--batch` overrides.
    pub batch: Option<Batch>,
    /// Unix user the app runs as on the hosts; defaults to the app name.
    pub user: String,
    pub env_file: Option<PathBuf>,
    /// Values are kept verbatim; see `SecretRef::parse` for references.
    pub env: BTreeMap<String, String>,
    pub processes: BTreeMap<String, ProcessConfig>,
    pub proxy: Option<ProxyConfig>,
    pub hooks: HooksConfig,
}

/// What an app's artifact is and how it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppKind {
    Binary,
    Python,
    Static,
}

impl AppKind {
    /// Every kind with its name in the file.
    pub const ALL: [(AppKind, &'static str); 3] = [
        (AppKind::Binary, "binary"),
        (AppKind::Python, "python"),
        (AppKind::Static, "static"),
    ];
    pub const NAMES: [&'static str; 3] = ["binary", "python", "static"];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::Binary => "binary",
            AppKind::Python => "python",
            AppKind::Static => "static",
        }
    }
}

impl fmt::Display for AppKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[apps.NAME.proxy] tls`: how Caddy serves the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// Caddy's automatic certificates (ACME) and its HTTP→HTTPS redirect.
    Auto,
    /// Caddy's local certificate authority (private networks, tests); HTTPS too.
    Internal,
    /// Plain HTTP.
    Off,
}

impl TlsMode {
    pub const NAMES: [&'static str; 3] = ["auto", "internal", "off"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(TlsMode::Auto),
            "internal" => Some(TlsMode::Internal),
            "off" => Some(TlsMode::Off),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Auto => "auto",
            TlsMode::Internal => "internal",
            TlsMode::Off => "off",
        }
    }

    /// Whether the site is served over HTTPS.
    pub fn https(self) -> bool {
        self != TlsMode::Off
    }
}

/// Where a release's version id comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum VersionSource {
    /// From git in the project directory (describe, else commit).
    #[default]
    Git,
    /// The trimmed standard output of this command (run by `sh -c`).
    Command(String),
    /// This exact id.
    Fixed(String),
}

/// `[apps.NAME.processes.PROC]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    pub name: String,
    /// Kept verbatim, placeholders such as `{release}` included.
    pub command: String,
    /// systemd `ListenStream=` value: `"8000"`, `"127.0.0.1:8000"` or `"/run/x.sock"`.
    pub socket: Option<String>,
    /// systemd `OnCalendar=` value.
    pub timer: Option<String>,
    /// At least 1.
    pub replicas: u32,
}

/// `[apps.NAME.proxy]`: the Caddy route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub domain: String,
    /// Upstream process; always set unless the app is static.
    pub process: Option<String>,
    /// Upstream port; always set unless the app is static.
    pub port: Option<u16>,
    /// Starts with `/`.
    pub health_path: String,
    /// How long a new release may take to become healthy (1 to 3600 s).
    pub health_timeout_secs: u64,
    /// How Caddy serves the site: `auto` by default for a public domain, else `off`.
    pub tls: TlsMode,
    /// How long the old release's web process keeps serving requests in flight after
    /// the switch, before it stops.
    pub drain_secs: u64,
}

/// `[apps.NAME.hooks]`: commands run on the hosts at points of a deploy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HooksConfig {
    pub pre_install: Option<String>,
    pub post_install: Option<String>,
    pub post_activate: Option<String>,
    pub on_failure: Option<String>,
}

/// `[secrets]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsConfig {
    /// `[secrets.options]`: adapter settings (known keys: `secrets::OPTION_KEYS`).
    pub options: BTreeMap<String, String>,
    pub timeout_secs: u64,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            options: BTreeMap::new(),
            timeout_secs: DEFAULT_SECRETS_TIMEOUT_SECS,
        }
    }
}

/// `[ui]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfig {
    pub theme: String,
    /// `[ui.keymap]`: action name to its keys, overriding the defaults for that action.
    pub keymap: BTreeMap<String, Vec<String>>,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            theme: DEFAULT_THEME.to_string(),
            keymap: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_round_trip() {
        for (kind, name) in AppKind::ALL {
            assert_eq!(AppKind::from_name(name), Some(kind));
            assert_eq!(kind.as_str(), name);
        }
        assert_eq!(AppKind::NAMES, AppKind::ALL.map(|(_, n)| n));
        assert_eq!(AppKind::from_name("Binary"), None);
    }

    #[test]
    fn host_target_falls_back_to_the_name() {
        let mut host = HostConfig {
            name: "web1".into(),
            ..HostConfig::default()
        };
        assert_eq!(host.target(), "web1");
        host.address = Some("10.0.0.5".into());
        assert_eq!(host.target(), "10.0.0.5");
    }
}

/// The size of a rolling deploy's batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    Hosts(usize),
    Percent(u8),
}

impl Batch {
    /// `N` hosts or `N%` of them.
    pub fn parse(s: &str) -> Result<Batch, String> {
        let bad = || {
            format!(
                "`{s}` is not a batch size: give a number of hosts (2) or a share of them (25%)"
            )
        };
        match s.strip_suffix('%') {
            Some(p) => match p.parse::<u8>() {
                Ok(p @ 1..=100) => Ok(Batch::Percent(p)),
                _ => Err(bad()),
            },
            None => match s.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Batch::Hosts(n)),
                _ => Err(bad()),
            },
        }
    }

    /// Hosts per batch out of `total` (at least one).
    pub fn size(self, total: usize) -> usize {
        match self {
            Batch::Hosts(n) => n.max(1),
            Batch::Percent(p) => (total * usize::from(p)).div_ceil(100).max(1),
        }
    }
}
