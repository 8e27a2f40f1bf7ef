//! The SSH layer against real OpenSSH servers on the testbed: host facts,
//! command streaming, MaxSessions, strict host keys, every auth method,
//! ssh_config aliases, ProxyJump, and a link cut mid-command.

mod common;
#[path = "common/tmux.rs"]
mod tmux;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{fingerprint, lock_host, raijin, raijin_env, stderr, stdout, testbed};
use raijin::engine::{Engine, EngineOptions};
use raijin::ssh::{LinkState, NoPrompt, SshError};
use tmux::Tmux;

fn engine(config: &Path) -> Engine {
    let config = raijin::config::load(config).unwrap_or_else(|e| panic!("{e}"));
    Engine::new(
        config,
        EngineOptions {
            ssh_config: Some("/dev/null".into()),
            accept_new_host_key: false,
            prompter: Arc::new(NoPrompt),
        },
    )
    .expect("engine")
}

#[test]
fn hosts_shows_three_connected_hosts_with_rtt_and_facts() {
    let Some(tb) = testbed() else { return };
    let body: String = ["h1", "h2", "h3"]
        .iter()
        .map(|h| tb.host_block(h, h))
        .collect();
    let (_dir, cfg) = tb.temp_config(&body);
    let out = raijin(&["-c", cfg.to_str().unwrap(), "hosts", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hosts = v.as_array().expect("array");
    assert_eq!(hosts.len(), 3);
    for h in hosts {
        println!("{h}");
        assert_eq!(h["connected"], true, "{h}");
        let rtt = h["rtt_ms"].as_f64().expect("rtt");
        assert!(rtt > 0.0 && rtt < 1000.0, "rtt {rtt}");
        assert!(h["os"].as_str().unwrap().contains("Debian"), "{h}");
        assert_eq!(h["arch"], std::env::consts::ARCH);
        assert!(h["systemd"].as_u64().unwrap() >= 250, "{h}");
        assert!(h["opt_free_bytes"].as_u64().unwrap() > 0, "{h}");
    }

    let out = raijin(&["-c", cfg.to_str().unwrap(), "hosts"]);
    assert!(out.status.success());
    let table = stdout(&out);
    println!("{table}");
    assert_eq!(table.matches(" connected ").count(), 3, "{table}");
}

#[test]
fn hosts_reports_an_unreachable_host_and_fails() {
    let Some(tb) = testbed() else { return };
    let body = format!(
        "[ssh]\nconnect_timeout_secs = 2\n\n{}[hosts.ghost]\naddress = \"10.77.99.2\"\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
        tb.host_block("h1", "h1"),
        tb.key("id_ed25519").display(),
        tb.known_hosts().display()
    );
    let (_dir, cfg) = tb.temp_config(&body);
    let out = raijin(&["-c", cfg.to_str().unwrap(), "hosts"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("unreachable"), "{}", stdout(&out));
    assert!(stderr(&out).contains("ghost"), "{}", stderr(&out));
}

#[test]
fn run_streams_output_and_returns_the_remote_exit_code() {
    let Some(tb) = testbed() else { return };
    let cfg = tb.config();
    let out = raijin(&[
        "-c",
        cfg.to_str().unwrap(),
        "run",
        "h1",
        "--",
        "echo out; echo err >&2; hostname; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "out\nh1\n");
    assert_eq!(stderr(&out), "err\n");

    let out = raijin(&["-c", cfg.to_str().unwrap(), "run", "nosuch", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown host `nosuch`"),
        "{}",
        stderr(&out)
    );
    // An unknown app is a configuration error too.
    let out = raijin(&["-c", cfg.to_str().unwrap(), "deploy", "nosuch", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));
}

// The host lock spans the whole test on purpose, awaits included.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_commands_on_one_connection() {
    let Some(tb) = testbed() else { return };
    let _lock = lock_host("h5");
    let (_dir, cfg) = tb.temp_config(&tb.host_block("h5", "h5"));
    let engine = engine(&cfg);
    let session = engine.session("h5").unwrap();
    // Each command reports how many SSH connections the host has at that moment.
    let jobs = (0..50).map(|i| {
        let s = session.clone();
        async move {
            let cmd = format!(
                "echo job-{i}; ss -Htn state established '( sport = :22 )' | wc -l; sleep 0.3; exit {}",
                i % 5
            );
            (i, s.exec(&cmd).await)
        }
    });
    let started = Instant::now();
    let results = futures::future::join_all(jobs).await;
    println!("50 commands in {:?}", started.elapsed());
    for (i, r) in results {
        let out = r.unwrap_or_else(|e| panic!("job {i}: {e}"));
        let text = out.stdout_str();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(format!("job-{i}").as_str()));
        assert_eq!(lines.next(), Some("1"), "job {i}: connections on the host");
        assert_eq!(out.status.code(), i % 5, "job {i}");
    }
    assert_eq!(session.connections_opened(), 1);
}

/// Restores h5's original ed25519 host key when dropped.
struct HostKeyRestore<'a>(&'a common::Testbed);
impl Drop for HostKeyRestore<'_> {
    fn drop(&mut self) {
        self.0.ssh_repair(
            "h5",
            "if [ -f /root/hostkey.bak ]; then mv -f /root/hostkey.bak /etc/ssh/ssh_host_ed25519_key && mv -f /root/hostkey.pub.bak /etc/ssh/ssh_host_ed25519_key.pub && systemctl restart ssh; fi",
        );
    }
}

#[test]
fn host_keys_unknown_accepted_and_changed() {
    let Some(tb) = testbed() else { return };
    let _lock = lock_host("h5");
    let dir = tempfile::tempdir().unwrap();
    let host_pub = dir.path().join("host.pub");
    std::fs::write(
        &host_pub,
        tb.ssh("h5", "cat /etc/ssh/ssh_host_ed25519_key.pub"),
    )
    .unwrap();
    let original_fp = fingerprint(&host_pub);
    assert!(original_fp.starts_with("SHA256:"));

    // Unknown: refused, with the fingerprint and how to trust it.
    let kh = dir.path().join("known_hosts");
    let cfg = dir.path().join("raijin.toml");
    std::fs::write(
        &cfg,
        format!(
            "[hosts.h5]\naddress = \"{}\"\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
            tb.addr("h5"),
            tb.key("id_ed25519").display(),
            kh.display()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let out = raijin(&["-c", c, "run", "h5", "--", "true"]);
    assert_eq!(out.status.code(), Some(255));
    let err = stderr(&out);
    println!("{err}");
    assert!(err.contains("not known"), "{err}");
    assert!(err.contains(&original_fp), "{err}");
    assert!(err.contains("--accept-new-host-key"), "{err}");
    assert!(!kh.exists() || std::fs::read_to_string(&kh).unwrap().is_empty());

    // Accepted: recorded, then trusted without the flag.
    let out = raijin(&["-c", c, "--accept-new-host-key", "run", "h5", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recorded = std::fs::read_to_string(&kh).unwrap();
    assert!(
        recorded.starts_with(&format!("{} ssh-ed25519 ", tb.addr("h5"))),
        "{recorded}"
    );
    let out = raijin(&["-c", c, "run", "h5", "--", "true"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Changed: a new key on the host is refused with both fingerprints, flag or not.
    let _restore = HostKeyRestore(tb);
    tb.ssh(
        "h5",
        "cp /etc/ssh/ssh_host_ed25519_key /root/hostkey.bak && cp /etc/ssh/ssh_host_ed25519_key.pub /root/hostkey.pub.bak && rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl restart ssh",
    );
    let new_pub = dir.path().join("new.pub");
    let fetched = Command::new("ssh-keyscan")
        .args(["-t", "ed25519", &tb.addr("h5")])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&fetched.stdout);
    let key = line.lines().find(|l| !l.starts_with('#')).unwrap();
    std::fs::write(&new_pub, key.split_once(' ').unwrap().1).unwrap();
    let new_fp = fingerprint(&new_pub);
    assert_ne!(new_fp, original_fp);
    for extra in [&[][..], &["--accept-new-host-key"][..]] {
        let mut args = vec!["-c", c];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["run", "h5", "--", "true"]);
        let out = raijin(&args);
        assert_eq!(out.status.code(), Some(255));
        let err = stderr(&out);
        println!("{err}");
        assert!(err.contains("HAS CHANGED"), "{err}");
        assert!(err.contains(&original_fp) && err.contains(&new_fp), "{err}");
        assert!(err.contains(&format!("{}:1", kh.display())), "{err}");
    }
}

fn key_config(tb: &common::Testbed, key: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    tb.temp_config(&format!(
        "[hosts.h1]\naddress = \"{}\"\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
        tb.addr("h1"),
        tb.key(key).display(),
        tb.known_hosts().display()
    ))
}

#[test]
fn key_files_ed25519_ecdsa_rsa_and_passphrase() {
    let Some(tb) = testbed() else { return };
    for key in ["id_ed25519", "id_ecdsa", "id_rsa"] {
        let (_d, cfg) = key_config(tb, key);
        let out = raijin(&["-c", cfg.to_str().unwrap(), "run", "h1", "--", "id -un"]);
        assert!(out.status.success(), "{key}: {}", stderr(&out));
        assert_eq!(stdout(&out), "root\n", "{key}");
    }

    let (_d, cfg) = key_config(tb, "id_ed25519_pass");
    let c = cfg.to_str().unwrap();
    let out = raijin_env(
        &["-c", c, "run", "h1", "--", "id -un"],
        &[("RAIJIN_SSH_PASSPHRASE", "raijin-testbed")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "root\n");

    let out = raijin_env(
        &["-c", c, "run", "h1", "--", "true"],
        &[("RAIJIN_SSH_PASSPHRASE", "wrong")],
    );
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr(&out).contains("cannot decrypt"), "{}", stderr(&out));

    let out = raijin(&["-c", c, "run", "h1", "--", "true"]);
    assert_eq!(out.status.code(), Some(255));
    let err = stderr(&out);
    assert!(err.contains("authentication as root failed"), "{err}");
    assert!(err.contains("encrypted; no passphrase given"), "{err}");
}

/// An ssh-agent for one test, killed on drop.
struct Agent {
    child: Child,
    sock: std::path::PathBuf,
    _dir: tempfile::TempDir,
}
impl Agent {
    fn start() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(&sock)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sock.exists() {
            assert!(Instant::now() < deadline, "ssh-agent did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent {
            child,
            sock,
            _dir: dir,
        }
    }
    fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.sock)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn agent_auth_without_any_key_file() {
    let Some(tb) = testbed() else { return };
    let agent = Agent::start();
    agent.add(&tb.key("id_ecdsa"));
    // No identity_file, and a HOME without ~/.ssh: only the agent can help.
    let home = tempfile::tempdir().unwrap();
    let (_d, cfg) = tb.temp_config(&format!(
        "[hosts.h2]\naddress = \"{}\"\nuser = \"root\"\nknown_hosts = \"{}\"\n",
        tb.addr("h2"),
        tb.known_hosts().display()
    ));
    let c = cfg.to_str().unwrap();
    let home_s = home.path().to_str().unwrap();
    let sock = agent.sock.to_str().unwrap();
    let out = raijin_env(
        &["-c", c, "run", "h2", "--", "hostname"],
        &[("HOME", home_s), ("SSH_AUTH_SOCK", sock)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "h2\n");

    // Without the agent the same config has nothing to offer, and says so.
    let out = raijin_env(
        &["-c", c, "run", "h2", "--", "hostname"],
        &[("HOME", home_s)],
    );
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr(&out).contains("no ssh-agent"), "{}", stderr(&out));
}

#[test]
fn ssh_config_alias_resolves_from_the_flag_the_config_key_or_the_home_default() {
    let Some(tb) = testbed() else { return };
    // Everything (HostName, User, IdentityFile, UserKnownHostsFile) comes from the ssh config.
    let (_d, cfg) = tb.temp_config("[hosts.web]\naddress = \"tb-h2\"\n");
    let c = cfg.to_str().unwrap();
    let ssh_config = tb.ssh_config();
    let out = raijin(&[
        "-c",
        c,
        "--ssh-config",
        ssh_config.to_str().unwrap(),
        "run",
        "web",
        "--",
        "hostname; id -un",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "h2\nroot\n");
    // Without the flag or a key, the alias is unknown to the default ~/.ssh/config (the
    // test's own HOME has none) and raijin says it cannot reach `tb-h2`.
    let out = raijin(&["-c", c, "run", "web", "--", "hostname"]);
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    // [ssh] config_file.
    let (_d2, cfg2) = tb.temp_config(&format!(
        "[ssh]\nconfig_file = \"{}\"\n[hosts.web]\naddress = \"tb-h2\"\n",
        ssh_config.display()
    ));
    let out = raijin(&["-c", cfg2.to_str().unwrap(), "run", "web", "--", "hostname"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "h2\n");
    // ~/.ssh/config of the user running raijin, with ~/.ssh/known_hosts as the
    // default known hosts file.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/config"),
        format!(
            "Host web-alias\n  HostName {}\n  User root\n  IdentityFile {}\n",
            tb.addr("h3"),
            tb.key("id_ed25519").display()
        ),
    )
    .unwrap();
    std::fs::copy(tb.known_hosts(), home.path().join(".ssh/known_hosts")).unwrap();
    let (_d3, cfg3) = tb.temp_config("[hosts.web]\naddress = \"web-alias\"\n");
    let out = raijin_env(
        &["-c", cfg3.to_str().unwrap(), "run", "web", "--", "hostname"],
        &[("HOME", home.path().to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "h3\n");
}

#[test]
fn the_config_comes_from_the_flag_raijin_config_or_the_working_directory() {
    let Some(tb) = testbed() else { return };
    let (dir, cfg) = tb.temp_config(&tb.host_block("only-here", "h1"));
    let hostname = |out: &std::process::Output| {
        assert!(out.status.success(), "{}", stderr(out));
        stdout(out)
    };
    let out = raijin(&[
        "-c",
        cfg.to_str().unwrap(),
        "run",
        "only-here",
        "--",
        "hostname",
    ]);
    assert_eq!(hostname(&out), "h1\n");
    let out = raijin_env(
        &["run", "only-here", "--", "hostname"],
        &[("RAIJIN_CONFIG", cfg.to_str().unwrap())],
    );
    assert_eq!(hostname(&out), "h1\n");
    let out = common::raijin_cmd()
        .args(["run", "only-here", "--", "hostname"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(hostname(&out), "h1\n");
    // Elsewhere there is no such host.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = common::raijin_cmd()
        .args(["run", "only-here", "--", "hostname"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn the_log_file_is_in_the_state_dir_at_the_raijin_log_level_and_never_on_screen() {
    let Some(tb) = testbed() else { return };
    let (_d, cfg) = tb.temp_config(&tb.host_block("h1", "h1"));
    let c = cfg.to_str().unwrap();
    let state = tempfile::tempdir().unwrap();
    let out = raijin_env(
        &["-c", c, "run", "h1", "--", "echo only-this"],
        &[
            ("XDG_STATE_HOME", state.path().to_str().unwrap()),
            ("RAIJIN_LOG", "debug"),
        ],
    );
    assert!(out.status.success());
    assert_eq!(stdout(&out), "only-this\n");
    assert_eq!(
        stderr(&out),
        "",
        "nothing but the command's output on screen"
    );
    let log = std::fs::read_to_string(state.path().join("raijin/raijin.log")).unwrap();
    assert!(log.contains("DEBUG"), "{log}");
    // At the default level (info) no debug lines; without XDG_STATE_HOME the log is
    // in ~/.local/state/raijin/.
    let home = tempfile::tempdir().unwrap();
    let out = common::raijin_cmd()
        .args(["-c", c, "run", "h1", "--", "true"])
        .env("HOME", home.path())
        .env_remove("XDG_STATE_HOME")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let log = std::fs::read_to_string(home.path().join(".local/state/raijin/raijin.log")).unwrap();
    assert!(!log.contains("DEBUG"), "{log}");
}

#[test]
fn an_encrypted_key_asks_for_its_passphrase_once_on_the_terminal() {
    let Some(tb) = testbed() else { return };
    let key = tb.key("id_ed25519_pass");
    let body: String = ["h1", "h2"]
        .iter()
        .map(|h| {
            format!(
                "[hosts.{h}]\naddress = \"{}\"\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
                tb.addr(h),
                key.display(),
                tb.known_hosts().display()
            )
        })
        .collect();
    let (_d, cfg) = tb.temp_config(&body);
    let t = Tmux::shell(120, 30);
    t.line(&format!(
        "{} -c {} hosts; echo EXIT=$?",
        env!("CARGO_BIN_EXE_raijin"),
        cfg.display()
    ));
    let prompt = format!("Passphrase for {}", key.display());
    t.wait_text(&prompt);
    t.line("raijin-testbed");
    let s = t.wait_for("raijin's exit", |s| s.contains("\nEXIT="));
    assert!(s.contains("\nEXIT=0\n"), "{s}");
    assert_eq!(s.matches(&prompt).count(), 1, "asked more than once:\n{s}");
    assert_eq!(s.matches(" connected ").count(), 2, "{s}");
    assert!(
        !s.contains("raijin-testbed"),
        "the passphrase was echoed:\n{s}"
    );
}

#[test]
fn proxy_jump_reaches_a_host_whose_direct_route_is_down() {
    let Some(tb) = testbed() else { return };
    let _lock = lock_host("h4");
    let _cut = tb.cut("h4");
    let body = format!(
        "[ssh]\nconnect_timeout_secs = 2\n\n{}{}[hosts.inner]\naddress = \"{}\"\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\nproxy_jump = \"h1\"\n",
        tb.host_block("h1", "h1"),
        tb.host_block("h4", "h4"),
        tb.private_addr("h4"),
        tb.key("id_ed25519").display(),
        tb.known_hosts().display()
    );
    let (_d, cfg) = tb.temp_config(&body);
    let c = cfg.to_str().unwrap();

    let out = raijin(&["-c", c, "run", "h4", "--", "true"]);
    assert_eq!(out.status.code(), Some(255), "direct route must be down");

    let out = raijin(&["-c", c, "run", "inner", "--", "hostname"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "h4\n");

    // The jump host as `user@host:port`, not a configured host: as with OpenSSH, its
    // host key comes from ~/.ssh/known_hosts and its key from ~/.ssh/id_*.
    let home = common::sandbox().home();
    std::fs::copy(tb.known_hosts(), home.join(".ssh/known_hosts")).unwrap();
    std::fs::copy(tb.key("id_ed25519"), home.join(".ssh/id_ed25519")).unwrap();
    let (_d3, cfg3) = tb.temp_config(&format!(
        "[ssh]\nconnect_timeout_secs = 2\n\n[hosts.inner]\naddress = \"{}\"\nuser = \"root\"\nidentity_file = \"{}\"\nproxy_jump = \"root@{}:22\"\n",
        tb.private_addr("h4"),
        tb.key("id_ed25519").display(),
        tb.addr("h1")
    ));
    let out = raijin(&[
        "-c",
        cfg3.to_str().unwrap(),
        "run",
        "inner",
        "--",
        "hostname",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "h4\n");

    // The same through an ssh_config alias with ProxyJump.
    let (_d2, cfg2) = tb.temp_config("[hosts.inner]\naddress = \"tb-h4-via-h1\"\n");
    let out = raijin(&[
        "-c",
        cfg2.to_str().unwrap(),
        "--ssh-config",
        tb.ssh_config().to_str().unwrap(),
        "run",
        "inner",
        "--",
        "hostname",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "h4\n");
}

/// README: after `keepalive_max` (3) unanswered keepalives, one every
/// `keepalive_interval_secs` (3 s), in-flight work fails within 3 × (3 + 1) = 12 s.
const DEAD_LINK_BOUND: Duration = Duration::from_secs(12);
/// The cut is timed after `scripts/testbed cut` returns, so it really happened a little
/// earlier; this covers the scheduling of the timers on a loaded machine.
const SCHEDULING_SLACK: Duration = Duration::from_millis(1000);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_cut_mid_command_fails_within_the_keepalive_bound_then_reconnects() {
    let Some(tb) = testbed() else { return };
    let _lock = lock_host("h4");
    let (_d, cfg) = tb.temp_config(&format!(
        "[ssh]\nconnect_timeout_secs = 3\n\n{}",
        tb.host_block("h4", "h4")
    ));
    let engine = engine(&cfg);
    let session = engine.session("h4").unwrap();
    let mut status = session.status();
    let supervisor = session.supervise(Duration::from_secs(1));
    session.connect().await.expect("connect");

    let s = session.clone();
    let running = tokio::spawn(async move { s.exec("sleep 120 && echo raijin-cut-probe").await });
    // The command runs on the host before the link goes.
    tb.wait_for_output(
        "h4",
        "pgrep -fc 'sleep 12[0] && echo raijin-cut-prob[e]' || true",
        "1",
        20,
    );
    let cut = tb.cut("h4");
    let cut_at = Instant::now();
    let result = running.await.unwrap();
    let took = cut_at.elapsed();
    println!("in-flight command failed {took:?} after the cut: {result:?}");
    let err = result.expect_err("the command cannot finish over a cut link");
    assert!(
        matches!(&err, SshError::Disconnected { host, reason } if host == "h4" && !reason.is_empty()),
        "expected Disconnected, got {err:?}"
    );
    // The error as users see it names the host and what happened.
    assert!(
        err.to_string().starts_with("h4: connection lost: "),
        "{err}"
    );
    assert!(took <= DEAD_LINK_BOUND + SCHEDULING_SLACK, "took {took:?}");

    // The status shows the drop, then the supervisor reconnects once healed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(
        status.borrow_and_update().state,
        LinkState::Reconnecting { .. }
    ) {
        assert!(Instant::now() < deadline, "no Reconnecting state");
        let _ = tokio::time::timeout(Duration::from_secs(1), status.changed()).await;
    }
    cut.heal();
    let healed_at = Instant::now();
    let deadline = healed_at + Duration::from_secs(45);
    while status.borrow_and_update().state != LinkState::Connected {
        assert!(
            Instant::now() < deadline,
            "did not reconnect: {:?}",
            status.borrow().state
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), status.changed()).await;
    }
    println!("reconnected {:?} after the heal", healed_at.elapsed());
    let out = session
        .exec("hostname")
        .await
        .expect("exec after reconnect");
    assert_eq!(out.stdout_str(), "h4\n");
    assert_eq!(session.connections_opened(), 2);
    supervisor.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_upload_arrives_intact() {
    use sha2::Digest as _;
    let Some(tb) = testbed() else { return };
    let engine = engine(&tb.config());
    let session = engine.session("h2").unwrap();
    // 16 MiB of varied bytes through stdin; the host hashes what it received.
    let data: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let expected = hex::encode(sha2::Sha256::digest(&data));
    let mut out = Vec::new();
    let started = Instant::now();
    let status = session
        .exec_with(
            "sha256sum | cut -d' ' -f1",
            raijin::ssh::Stdin::Bytes(data.into()),
            &mut |_, d| out.extend_from_slice(d),
        )
        .await
        .expect("upload");
    println!("16 MiB through stdin in {:?}", started.elapsed());
    assert!(status.success());
    assert_eq!(String::from_utf8_lossy(&out).trim(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pty_follows_resize_and_returns_the_exit_status() {
    use raijin::ssh::PtyEvent;
    let Some(tb) = testbed() else { return };
    let engine = engine(&tb.config());
    let session = engine.session("h2").unwrap();
    let mut pty = session.open_pty(None, "xterm", 80, 24).await.expect("pty");

    async fn read_until(pty: &mut raijin::ssh::PtyChannel, needle: &str) -> String {
        let mut seen = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !seen.contains(needle) {
            match tokio::time::timeout_at(deadline, pty.next()).await {
                Ok(Some(PtyEvent::Output(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
                other => panic!("waiting for {needle:?}: {:?} after {seen:?}", other.is_ok()),
            }
        }
        seen
    }

    pty.write(b"stty size; tty\n").await.unwrap();
    let out = read_until(&mut pty, "/dev/pts/").await;
    assert!(out.contains("24 80"), "{out}");
    pty.resize(120, 40).await.unwrap();
    pty.write(b"stty size\n").await.unwrap();
    read_until(&mut pty, "40 120").await;
    pty.write(b"exit 3\n").await.unwrap();
    let mut status = None;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(10), pty.next())
        .await
        .expect("exit in time")
    {
        if let PtyEvent::Exit(s) = ev {
            status = Some(s);
        }
    }
    assert_eq!(status.map(|s| s.code()), Some(3));
}
