//! Test fixture for the testbed: real Debian hosts booted with systemd-nspawn
//! (scripts/testbed). Under CI (CI=true) a testbed that cannot start fails
//! the test; elsewhere the test is skipped with the reason printed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Hosts every test run boots: h1–h3 for shared read-only work, h4 and h5
/// for tests that cut links or change host keys (serialized per host).
pub const HOSTS: usize = 5;

pub struct Testbed {
    pub root: PathBuf,
    pub state: PathBuf,
}

impl Testbed {
    pub fn config(&self) -> PathBuf {
        self.state.join("raijin.toml")
    }
    pub fn key(&self, name: &str) -> PathBuf {
        self.state.join("keys").join(name)
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.state.join("known_hosts")
    }
    pub fn ssh_config(&self) -> PathBuf {
        self.state.join("ssh_config")
    }
    pub fn addr(&self, host: &str) -> String {
        format!("10.77.{}.2", host.trim_start_matches('h'))
    }
    pub fn private_addr(&self, host: &str) -> String {
        format!("10.78.0.{}", host.trim_start_matches('h'))
    }

    /// Run `scripts/testbed ARGS...`, panicking on failure.
    pub fn script(&self, args: &[&str]) -> String {
        let out = Command::new(self.root.join("scripts/testbed"))
            .args(args)
            .output()
            .expect("run scripts/testbed");
        assert!(
            out.status.success(),
            "scripts/testbed {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// OpenSSH into a host as root (independent of raijin), returning stdout.
    pub fn ssh(&self, host: &str, cmd: &str) -> String {
        self.ssh_with(host, cmd, &[])
    }

    /// OpenSSH ignoring host keys: only for repairing a host whose key a test changed.
    pub fn ssh_repair(&self, host: &str, cmd: &str) -> String {
        let opts = [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ];
        self.ssh_with(host, cmd, &opts)
    }

    fn ssh_with(&self, host: &str, cmd: &str, opts: &[&str]) -> String {
        let config = self.ssh_config();
        let out = Command::new("ssh")
            .arg("-F")
            .arg(&config)
            .args(["-o", "BatchMode=yes"])
            .args(opts)
            .arg(format!("tb-{host}"))
            .arg(cmd)
            .output()
            .expect("run ssh");
        assert!(
            out.status.success(),
            "ssh {host} {cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A raijin.toml in a fresh temp dir with the given body.
    pub fn temp_config(&self, body: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("raijin.toml");
        std::fs::write(&path, body).expect("write config");
        (dir, path)
    }

    /// A `[hosts.NAME]` block for a testbed host with the default key.
    pub fn host_block(&self, name: &str, host: &str) -> String {
        format!(
            "[hosts.{name}]\naddress = \"{}\"\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
            self.addr(host),
            self.key("id_ed25519").display(),
            self.known_hosts().display()
        )
    }
}

/// The testbed with HOSTS hosts up, or None (skip) outside CI when it cannot run.
pub fn testbed() -> Option<&'static Testbed> {
    static TB: OnceLock<Result<Testbed, String>> = OnceLock::new();
    let tb = TB.get_or_init(start);
    match tb {
        Ok(tb) => Some(tb),
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("testbed unavailable under CI: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIPPED: testbed unavailable: {reason}");
            None
        }
    }
}

fn start() -> Result<Testbed, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(target_os = "linux") {
        return Err("the testbed needs Linux".into());
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("the testbed needs root (network namespaces, systemd-nspawn)".into());
    }
    let out = Command::new(root.join("scripts/testbed"))
        .args(["up", &HOSTS.to_string()])
        .output()
        .map_err(|e| format!("cannot run scripts/testbed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/testbed up {HOSTS} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Another checkout on this machine may share the running hosts (scripts/testbed).
    let state = std::env::var_os("RAIJIN_TESTBED_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/testbed"));
    Ok(Testbed { root, state })
}

/// Run the raijin binary with args; returns its output.
pub fn raijin(args: &[&str]) -> Output {
    raijin_env(args, &[])
}

pub fn raijin_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_raijin"));
    cmd.args(args);
    // Keep tests independent of the runner's agent and ssh config.
    cmd.env_remove("SSH_AUTH_SOCK")
        .env_remove("RAIJIN_SSH_PASSPHRASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run raijin")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// SHA256 fingerprint of a public key file, as OpenSSH prints it.
pub fn fingerprint(pub_file: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(pub_file)
        .output()
        .expect("ssh-keygen -l");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// Per-host lock for tests that damage a host (cut its link, change its key).
pub fn lock_host(host: &str) -> std::sync::MutexGuard<'static, ()> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static LOCKS: OnceLock<Mutex<HashMap<String, &'static Mutex<()>>>> = OnceLock::new();
    let m = {
        let mut map = LOCKS.get_or_init(Default::default).lock().unwrap();
        *map.entry(host.to_string())
            .or_insert_with(|| Box::leak(Box::new(Mutex::new(()))))
    };
    m.lock().unwrap_or_else(|e| e.into_inner())
}
