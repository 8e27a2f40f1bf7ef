//! Placeholder: replaced by the real configuration module.
use std::collections::BTreeMap;
use std::path::PathBuf;

pub struct Config {
    pub path: PathBuf,
    pub ssh: SshSettings,
    pub hosts: BTreeMap<String, HostConfig>,
    pub apps: BTreeMap<String, App>,
}
pub struct SshSettings {
    pub config_file: Option<PathBuf>,
    pub connect_timeout_secs: u64,
    pub keepalive_interval_secs: u64,
    pub keepalive_max: usize,
}
#[derive(Clone, Debug, Default)]
pub struct HostConfig {
    pub name: String,
    pub address: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub proxy_jump: Option<String>,
}
pub struct App;
impl Config {
    pub fn placeholder(&self) {}
}
pub struct ConfigErrors;
impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "")
    }
}
pub fn default_path() -> PathBuf {
    PathBuf::from("raijin.toml")
}
pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
    // Minimal stand-in parser until the config module lands: hosts only.
    let text = std::fs::read_to_string(path).map_err(|_| ConfigErrors)?;
    let v: toml::Table = text.parse().map_err(|_| ConfigErrors)?;
    let mut hosts = BTreeMap::new();
    if let Some(toml::Value::Table(h)) = v.get("hosts") {
        for (name, t) in h {
            let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(String::from);
            hosts.insert(name.clone(), HostConfig {
                name: name.clone(),
                address: s("address"),
                user: s("user"),
                port: t.get("port").and_then(|v| v.as_integer()).map(|p| p as u16),
                identity_file: s("identity_file").map(PathBuf::from),
                known_hosts: s("known_hosts").map(PathBuf::from),
                proxy_jump: s("proxy_jump"),
            });
        }
    }
    Ok(Config { path: path.to_path_buf(), ssh: SshSettings { config_file: None, connect_timeout_secs: 10, keepalive_interval_secs: 3, keepalive_max: 3 }, hosts, apps: BTreeMap::new() })
}
