//! Test fixture for the testbed: real Debian hosts booted with systemd-nspawn
//! (scripts/testbed), and the sandbox every raijin run of a test gets.
//!
//! - **Strict mode.** Under `CI=true` or `RAIJIN_STRICT=1` (scripts/test sets it) a
//!   testbed that cannot start, or any other missing prerequisite, fails the test;
//!   elsewhere the test is skipped with the reason printed ([`skip`]).
//! - **Sandbox.** Each test (keyed by its thread's name, which the test harness sets to
//!   the test's name) has its own HOME, XDG config and state directories, no ssh-agent
//!   and no ssh config: raijin never reads the runner's `~/.ssh/config` or agent, and
//!   never writes the runner's `~/.local/state/raijin`. [`raijin_cmd`] applies it.
//! - **Host locks.** [`lock_host`] takes a host for a test that damages it (cuts its
//!   link, changes its key, stops its services); [`share_host`] for a test that only
//!   needs it intact. Both are `flock`s on files in the testbed state directory, so
//!   they hold across threads, test binaries and checkouts sharing the hosts.
//! - **Link cuts** heal when their guard drops ([`Testbed::cut`]).

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Hosts every test run boots: h1–h3 for shared read-only work, h4 and h5
/// for tests that cut links or change host keys (serialized per host).
pub const HOSTS: usize = 5;

/// Whether a missing prerequisite must fail the test instead of skipping it.
pub fn strict() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
        || std::env::var("RAIJIN_STRICT").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Skip the calling test because `reason`; under [`strict`] mode, fail it instead.
/// Returns `false` so that callers can write `if !have_x() { return skip(..) }`.
pub fn skip(reason: &str) -> bool {
    assert!(
        !strict(),
        "not skipping under CI=true / RAIJIN_STRICT=1: {reason}"
    );
    // Straight to the stderr file: the test harness captures eprintln! of a passing
    // test, and a skip must be seen.
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
    false
}

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

    /// Cut `host`'s direct link; it heals when the returned guard is dropped, whatever
    /// happens in between (a failed assertion included). Hold [`lock_host`] first.
    pub fn cut<'a>(&'a self, host: &'a str) -> Cut<'a> {
        self.script(&["cut", host]);
        Cut {
            tb: self,
            host,
            healed: false,
        }
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

    /// OpenSSH into a host as root: the whole output, whatever the exit status.
    pub fn ssh_output(&self, host: &str, cmd: &str) -> Output {
        Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args(["-o", "BatchMode=yes"])
            .arg(format!("tb-{host}"))
            .arg(cmd)
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .expect("run ssh")
    }

    /// OpenSSH into a host as root with `input` on the command's standard input (for
    /// values that must not appear on a command line); returns stdout.
    pub fn ssh_stdin(&self, host: &str, cmd: &str, input: &str) -> String {
        use std::io::Write as _;
        let mut child = Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args(["-o", "BatchMode=yes"])
            .arg(format!("tb-{host}"))
            .arg(cmd)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run ssh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write to ssh");
        let out = child.wait_with_output().expect("wait for ssh");
        assert!(
            out.status.success(),
            "ssh {host} {cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// OpenSSH into a host as root with `input` on stdin: the whole output, whatever
    /// the exit status.
    pub fn ssh_output_stdin(&self, host: &str, cmd: &str, input: &[u8]) -> Output {
        use std::io::Write as _;
        let mut child = Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .args(["-o", "BatchMode=yes"])
            .arg(format!("tb-{host}"))
            .arg(cmd)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run ssh");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write to ssh");
        drop(stdin);
        child.wait_with_output().expect("wait for ssh")
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
            .env_remove("SSH_AUTH_SOCK")
            .output()
            .expect("run ssh");
        assert!(
            out.status.success(),
            "ssh {host} {cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until `cmd` on `host` prints `want` (trimmed), polling; panics after
    /// `secs` with the last output.
    pub fn wait_for_output(&self, host: &str, cmd: &str, want: &str, secs: u64) {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(secs), || {
            last = self.ssh(host, cmd).trim().to_string();
            last == want
        });
        assert!(ok, "{host}: `{cmd}` never printed {want:?}; last: {last:?}");
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
        self.host_block_as(name, host, "root")
    }

    /// A `[hosts.NAME]` block for a testbed host, logging in as `user` with the
    /// default key.
    pub fn host_block_as(&self, name: &str, host: &str, user: &str) -> String {
        format!(
            "[hosts.{name}]\naddress = \"{}\"\nuser = \"{user}\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
            self.addr(host),
            self.key("id_ed25519").display(),
            self.known_hosts().display()
        )
    }
}

/// A cut link, healed on drop (or earlier with [`Cut::heal`]).
pub struct Cut<'a> {
    tb: &'a Testbed,
    host: &'a str,
    healed: bool,
}

impl Cut<'_> {
    pub fn heal(mut self) {
        self.tb.script(&["heal", self.host]);
        self.healed = true;
    }
}

impl Drop for Cut<'_> {
    fn drop(&mut self) {
        if !self.healed {
            self.tb.script(&["heal", self.host]);
        }
    }
}

/// The testbed with HOSTS hosts up, or None (skip, with the reason printed) outside
/// strict mode when it cannot run.
pub fn testbed() -> Option<&'static Testbed> {
    static TB: OnceLock<Result<Testbed, String>> = OnceLock::new();
    match TB.get_or_init(start) {
        Ok(tb) => Some(tb),
        Err(reason) => {
            skip(&format!("testbed unavailable: {reason}"));
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

// ---- the sandbox ----

/// The directories one test's raijin runs live in: HOME (with an empty `~/.ssh`),
/// XDG config and state. Kept under the test binary's target/tmp until the next run
/// of the same binary removes it.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn home(&self) -> PathBuf {
        self.dir.join("home")
    }
    pub fn config_home(&self) -> PathBuf {
        self.dir.join("config")
    }
    pub fn state_home(&self) -> PathBuf {
        self.dir.join("state")
    }
    /// raijin's state directory: its log file and the local audit log.
    pub fn raijin_state(&self) -> PathBuf {
        self.state_home().join("raijin")
    }
    pub fn local_audit_log(&self) -> PathBuf {
        self.raijin_state().join("audit.log")
    }

    /// The variables a process of this test gets.
    pub fn vars(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("HOME", self.home()),
            ("XDG_CONFIG_HOME", self.config_home()),
            ("XDG_STATE_HOME", self.state_home()),
        ]
    }

    /// Give `cmd` this sandbox: HOME and XDG directories, no agent, no inherited
    /// passphrase, config or testbed variables that would change what raijin does.
    pub fn apply<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        for (k, v) in self.vars() {
            cmd.env(k, v);
        }
        cmd.env_remove("SSH_AUTH_SOCK")
            .env_remove("RAIJIN_SSH_PASSPHRASE")
            .env_remove("RAIJIN_CONFIG")
            .env_remove("RAIJIN_LOG")
            .env_remove("NO_COLOR")
    }
}

/// The current test's sandbox (by the test thread's name; threads a test spawns
/// itself have no name and share one sandbox per process — pass [`sandbox`]'s result
/// to them when it matters).
pub fn sandbox() -> &'static Sandbox {
    let name = std::thread::current()
        .name()
        .unwrap_or("spawned")
        .replace("::", "-");
    sandbox_named(&name)
}

pub fn sandbox_named(name: &str) -> &'static Sandbox {
    static ALL: OnceLock<Mutex<HashMap<String, &'static Sandbox>>> = OnceLock::new();
    let mut all = ALL
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    all.entry(name.to_string()).or_insert_with(|| {
        let dir = sandbox_root().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["home/.ssh", "config", "state"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create the sandbox");
        }
        Box::leak(Box::new(Sandbox { dir }))
    })
}

/// `target/tmp/sandbox/PID` of this test binary; earlier runs' directories are removed
/// once their process is gone.
fn sandbox_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox");
        if let Ok(entries) = std::fs::read_dir(&base) {
            for e in entries.flatten() {
                let pid = e.file_name().to_string_lossy().into_owned();
                if !Path::new("/proc").join(&pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        base.join(std::process::id().to_string())
    })
}

/// The raijin binary as a command, in the current test's sandbox.
pub fn raijin_cmd() -> Command {
    raijin_cmd_in(sandbox())
}

pub fn raijin_cmd_in(sb: &Sandbox) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_raijin"));
    sb.apply(&mut cmd);
    cmd
}

/// Run the raijin binary with args; returns its output.
pub fn raijin(args: &[&str]) -> Output {
    raijin_env(args, &[])
}

pub fn raijin_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    raijin_env_in(sandbox(), args, env)
}

pub fn raijin_env_in(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = raijin_cmd_in(sb);
    cmd.args(args);
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

/// Poll `done` every 50 ms until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- host locks ----

/// A testbed host held by this test: exclusively ([`lock_host`]) or shared with other
/// tests that leave it intact ([`share_host`]). Released on drop.
pub struct HostLock {
    _file: File,
}

/// Take `host` for a test that damages it (cuts its link, changes its host key, stops
/// or hides its services): waits until no other test holds it, in any process.
pub fn lock_host(host: &str) -> HostLock {
    let file = lock_file(host);
    file.lock().expect("flock the host");
    HostLock { _file: file }
}

/// Take `host` for a test that needs it intact but does not damage it: any number of
/// these at once, never while a [`lock_host`] holds it.
pub fn share_host(host: &str) -> HostLock {
    let file = lock_file(host);
    file.lock_shared().expect("flock the host (shared)");
    HostLock { _file: file }
}

fn lock_file(host: &str) -> File {
    let dir = std::env::var_os("RAIJIN_TESTBED_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/testbed"))
        .join("test-locks");
    std::fs::create_dir_all(&dir).expect("create the host lock directory");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{host}.lock")))
        .expect("open the host lock file")
}

/// Kills process `pid` (SIGKILL) if it still runs after `after`; `fired()` says
/// whether it had to. Dropping it disarms it.
pub struct KillAfter {
    fired: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: Option<std::sync::mpsc::Sender<()>>,
}

impl KillAfter {
    pub fn fired(&self) -> bool {
        self.fired.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for KillAfter {
    fn drop(&mut self) {
        drop(self.stop.take());
    }
}

#[allow(dead_code)]
pub fn kill_after(pid: u32, after: Duration) -> KillAfter {
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let f = fired.clone();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(after) {
            f.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    KillAfter {
        fired,
        stop: Some(tx),
    }
}
