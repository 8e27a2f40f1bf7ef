//! Deployed test apps on the testbed: hosts bootstrapped and the sample
//! `hello` built once per test binary, apps removed from hosts so a test
//! starts fresh, and `raijin.toml` bodies for `hello`-based apps. Each test
//! deploys its own app (own name and port), so tests run in parallel.
//! A test crate that has `mod common;` includes it with
//! `#[path = "common/apps.rs"] mod apps;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::common::{Testbed, raijin, stderr, stdout, testbed};

/// The testbed with h1–h5 bootstrapped and `hello` built, or None (skip).
pub fn ready() -> Option<&'static Testbed> {
    let tb = testbed()?;
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let all: String = ["h1", "h2", "h3", "h4", "h5"]
            .iter()
            .map(|h| tb.host_block(h, h))
            .collect();
        let (_d, cfg) = tb.temp_config(&all);
        for h in ["h1", "h2", "h3", "h4", "h5"] {
            let out = raijin(&["-c", cfg.to_str().unwrap(), "host", "bootstrap", h]);
            assert!(out.status.success(), "bootstrap {h}: {}", stderr(&out));
        }
        let out = Command::new("sh")
            .args(["-c", &hello_build(tb)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building hello: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    Some(tb)
}

/// Remove every trace of `app` from the hosts (both the state directory and a legacy
/// `.install`, its units — listed or not, as another raijin version may name them —,
/// its activation unit, its Caddy site and its user).
pub fn fresh(tb: &Testbed, app: &str, hosts: &[&str]) {
    let script = format!(
        "systemctl stop raijin.activate-{app}.service >/dev/null 2>&1; systemctl reset-failed raijin.activate-{app}.service >/dev/null 2>&1; \
         systemctl stop 'raijin.drain-{app}-*' >/dev/null 2>&1; \
         for f in /var/lib/raijin/{app}/units /var/lib/raijin/{app}/slot-units.a /var/lib/raijin/{app}/slot-units.b /opt/raijin/{app}/.install/units; do \
           if [ -f $f ]; then for u in $(cat $f); do systemctl disable --now \"$u\" >/dev/null 2>&1; systemctl stop \"${{u%@.service}}@*\" >/dev/null 2>&1; rm -f /etc/systemd/system/$u; done; fi; \
         done; \
         for u in $(systemctl list-units --all --plain --no-legend '{app}-*' | awk '{{ if ($1 == \"●\") print $2; else print $1 }}'); do systemctl stop \"$u\" >/dev/null 2>&1; done; \
         for f in /etc/systemd/system/{app}-*; do if [ -e \"$f\" ]; then systemctl disable \"${{f##*/}}\" >/dev/null 2>&1; rm -f \"$f\"; fi; done; \
         systemctl daemon-reload; systemctl reset-failed '{app}-*' >/dev/null 2>&1; \
         rm -rf /opt/raijin/{app} /var/lib/raijin/{app} /opt/raijin/.raijin-migrate-{app}; \
         if [ -f /etc/caddy/raijin/{app}.caddy ]; then rm -f /etc/caddy/raijin/{app}.caddy; systemctl reload caddy; fi; \
         userdel {app} >/dev/null 2>&1; true"
    );
    for h in hosts {
        tb.ssh(h, &script);
    }
}

pub fn hello_build(tb: &Testbed) -> String {
    format!(
        "cargo build --release --quiet --manifest-path {root}/assets/hello/Cargo.toml --target-dir {root}/target/hello",
        root = tb.root.display()
    )
}

pub fn hello_bin(tb: &Testbed) -> PathBuf {
    tb.root.join("target/hello/release/hello")
}

/// A config with the given hosts and one `hello`-based binary app `name`
/// (process `web`) listening on `port`; `env` lines go into its
/// `[apps.NAME.env]`, `extra` is appended inside the app.
pub fn binary_app(
    tb: &Testbed,
    name: &str,
    hosts: &[&str],
    port: u16,
    env: &str,
    extra: &str,
) -> String {
    let mut s: String = hosts.iter().map(|h| tb.host_block(h, h)).collect();
    let hosts_list = hosts
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    s.push_str(&format!(
        "[apps.{name}]\nhosts = [{hosts_list}]\nartifact = \"{art}\"\nkind = \"binary\"\nversions_to_keep = 5\n\
         [apps.{name}.env]\nPORT = \"{port}\"\n{env}\
         [apps.{name}.processes.web]\ncommand = \"./hello serve\"\n\
         [apps.{name}.proxy]\ndomain = \"{name}.test\"\nprocess = \"web\"\nport = {port}\nhealth_path = \"/health\"\n{extra}",
        art = hello_bin(tb).display()
    ));
    s
}

/// `raijin -c CFG ARGS...`.
pub fn run(cfg: &Path, args: &[&str]) -> Output {
    let mut all = vec!["-c", cfg.to_str().unwrap()];
    all.extend_from_slice(args);
    raijin(&all)
}

/// Deploy `version` of `app`, panicking with the output if it fails.
pub fn deploy_ok(cfg: &Path, app: &str, version: &str) {
    let out = run(cfg, &["deploy", app, "--version", version, "--yes"]);
    assert!(
        out.status.success(),
        "deploy {app} {version}:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

/// A static app serving the directory `site`.
pub fn static_app(tb: &Testbed, name: &str, hosts: &[&str], site: &Path, keep: usize) -> String {
    let mut s: String = hosts.iter().map(|h| tb.host_block(h, h)).collect();
    let hosts_list = hosts
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ");
    s.push_str(&format!(
        "[apps.{name}]\nhosts = [{hosts_list}]\nartifact = \"{}\"\nkind = \"static\"\nversions_to_keep = {keep}\n\
         [apps.{name}.proxy]\ndomain = \"{name}.test\"\nhealth_path = \"/\"\n",
        site.display()
    ));
    s
}

pub fn deploy(cfg: &Path, app: &str, version: &str) -> Output {
    run(
        cfg,
        &["deploy", app, "--version", version, "--yes", "--json"],
    )
}

/// The final `report` line of a `--json` run.
pub fn report(out: &Output) -> serde_json::Value {
    stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "report")
        .unwrap_or_else(|| panic!("no report in:\n{}\n{}", stdout(out), stderr(out)))
}

pub fn curl(tb: &Testbed, host: &str, domain: &str, path: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-m", "5", "-H", &format!("Host: {domain}")])
        .arg(format!("http://{}{path}", tb.addr(host)))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One host's kept releases, as `raijin history --json` reports them.
#[derive(Debug)]
pub struct Hist {
    pub host: String,
    /// Newest first.
    pub versions: Vec<String>,
    pub current: Option<String>,
    pub previous: Option<String>,
    pub bad: Vec<String>,
}

/// The `--json` history of `app`, per host.
pub fn history(cfg: &Path, app: &str) -> Vec<Hist> {
    let out = run(cfg, &["history", app, "--json"]);
    assert!(out.status.success(), "history {app}: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("history JSON");
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    v.as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            let rels = h["releases"].as_array().expect("releases");
            let pick = |key: &str| -> Vec<String> {
                rels.iter()
                    .filter(|r| key.is_empty() || r[key] == true)
                    .map(|r| text(&r["version"]).expect("version"))
                    .collect()
            };
            Hist {
                host: text(&h["host"]).unwrap_or_default(),
                versions: pick(""),
                current: pick("current").first().cloned(),
                previous: text(&h["previous"]),
                bad: pick("bad"),
            }
        })
        .collect()
}

/// Removes an app from its hosts when dropped (see [`fresh`]): for apps that would go
/// on filling the hosts' journals or restarting after the test.
pub struct RemoveOnDrop<'a> {
    pub tb: &'a Testbed,
    pub app: &'a str,
    pub hosts: &'a [&'a str],
}

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        fresh(self.tb, self.app, self.hosts);
    }
}

/// Runs `cmd` on `host` as root when dropped, a failed assertion included: for a test
/// that changes a host's shared state (its Caddy config) and puts it back.
pub struct SshOnDrop<'a> {
    pub tb: &'a Testbed,
    pub host: &'a str,
    pub cmd: &'a str,
}

impl Drop for SshOnDrop<'_> {
    fn drop(&mut self) {
        self.tb.ssh(self.host, self.cmd);
    }
}
