//! Faults during the activation, on the testbed: raijin killed (SIGKILL) or the host's
//! link cut at points spread through activate, health and revert, while a request
//! loop on the host asks Caddy every 20 ms. Whatever dies, the host ends on one whole
//! release (its `current`, its unit file and what it serves agree), no request fails,
//! and the next deploy needs no flag. A link cut during the health wait of a failing
//! release: the host goes back to the previous release by itself. A wall clock set
//! forward during the activation (a stand-in `date`): no verdict changes.

#[path = "common/apps.rs"]
mod apps;
mod common;
#[path = "common/load.rs"]
mod load;

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use apps::{binary_app, ready, run};
use common::{Testbed, lock_host, stderr};
use load::Load;

const HOST: &str = "h4";

/// Heals the host's link when dropped, so a failing assertion leaves it up.
struct Cut<'a> {
    tb: &'a Testbed,
    host: &'a str,
    cut: bool,
}

impl<'a> Cut<'a> {
    fn new(tb: &'a Testbed, host: &'a str) -> Cut<'a> {
        Cut {
            tb,
            host,
            cut: false,
        }
    }
    fn cut(&mut self) {
        self.tb.script(&["cut", self.host]);
        self.cut = true;
    }
    fn heal(&mut self) {
        if self.cut {
            self.tb.script(&["heal", self.host]);
            self.cut = false;
        }
    }
}

impl Drop for Cut<'_> {
    fn drop(&mut self) {
        self.heal();
    }
}

/// `raijin deploy --json` in the background; its event lines arrive on a channel.
fn spawn_deploy(
    cfg: &Path,
    app: &str,
    version: &str,
) -> (Child, mpsc::Receiver<serde_json::Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raijin"))
        .arg("-c")
        .arg(cfg)
        .args(["deploy", app, "--version", version, "--yes", "--json"])
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn raijin");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    (child, rx)
}

/// Where in the activation the fault hits: after this event, plus a delay.
#[derive(Clone, Copy, Debug)]
enum At {
    ActivateStarted,
    Applied,
    HealthStarted,
    Reverting,
}

impl At {
    fn matches(self, e: &serde_json::Value) -> bool {
        match self {
            At::ActivateStarted => e["event"] == "step_started" && e["step"] == "activate",
            At::Applied => e["event"] == "step_finished" && e["step"] == "activate",
            At::HealthStarted => e["event"] == "step_started" && e["step"] == "health",
            At::Reverting => {
                e["event"] == "output"
                    && e["step"] == "health"
                    && e["line"]
                        .as_str()
                        .is_some_and(|l| l.starts_with("not healthy: putting"))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Kill,
    CutLink,
}

/// Wait until the host's activation unit of `app` has finished (bounded).
fn wait_activation_done(tb: &Testbed, host: &str, app: &str) {
    let done = common::wait_until(Duration::from_secs(60), || {
        let state = tb.ssh(
            host,
            &format!("systemctl is-active raijin.activate-{app}.service || true"),
        );
        state.trim() != "active"
    });
    assert!(done, "the activation never finished");
}

/// The host runs one whole release: `current`, the serving slot's link and unit file
/// and the served version agree, and the unit is active. Returns the release id.
fn one_whole_release(tb: &Testbed, host: &str, app: &str, domain: &str, when: &str) -> String {
    let out = tb.ssh(
        host,
        &format!(
            "S=/var/lib/raijin/{app}; r=$(readlink $S/current); echo ${{r##*/}}; x=$(cat $S/slot); \
             [ \"$(readlink $S/slot-$x)\" = \"$r\" ] && echo slot-agrees; \
             cmp -s $S/current/.raijin/slots/$x/units/{app}-web@${{x}}1.service /etc/systemd/system/{app}-web@${{x}}1.service && echo units-agree; \
             systemctl is-active {app}-web@${{x}}1.service; \
             curl -s -m 10 -H 'Host: {domain}' http://127.0.0.1/version"
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 5, "{when}: {out}");
    let release = lines[0].to_string();
    assert_eq!(lines[1], "slot-agrees", "{when}: {out}");
    assert_eq!(lines[2], "units-agree", "{when}: {out}");
    assert_eq!(lines[3], "active", "{when}: {out}");
    let version = release.split('~').next().unwrap_or_default();
    assert_eq!(
        lines[4], version,
        "{when}: serves another release than current: {out}"
    );
    release
}

fn config(tb: &Testbed, app: &str, port: u16, failing: bool) -> String {
    let env = if failing {
        "HELLO_FAIL_HEALTH = \"1\"\n"
    } else {
        ""
    };
    binary_app(tb, app, &[HOST], port, env, "").replace(
        "health_path = \"/health\"\n",
        "health_path = \"/health\"\nhealth_timeout_secs = 5\n",
    )
}

/// A fresh `app` on [`HOST`] with a healthy and a failing config (in the returned
/// directory), and `version` deployed with the healthy one.
fn deployed(
    tb: &Testbed,
    app: &str,
    port: u16,
    version: &str,
) -> (tempfile::TempDir, PathBuf, PathBuf) {
    apps::fresh(tb, app, &[HOST]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("raijin.toml");
    let bad_cfg = dir.path().join("failing.toml");
    std::fs::write(&cfg, config(tb, app, port, false)).unwrap();
    std::fs::write(&bad_cfg, config(tb, app, port, true)).unwrap();
    let first = run(&cfg, &["deploy", app, "--version", version, "--yes"]);
    assert!(first.status.success(), "{}", stderr(&first));
    (dir, cfg, bad_cfg)
}

#[test]
fn a_killed_raijin_or_a_cut_link_anywhere_in_the_activation_leaves_one_whole_release() {
    let Some(tb) = ready() else { return };
    let _lock = lock_host(HOST);
    let app = "tfault";
    let domain = "tfault.test";
    let (_dir, cfg, bad_cfg) = deployed(tb, app, 9160, "f0");
    let load = Load::start(tb, HOST, domain);

    let points: &[(Fault, At, u64, bool)] = &[
        (Fault::Kill, At::ActivateStarted, 0, false),
        (Fault::Kill, At::ActivateStarted, 40, false),
        (Fault::Kill, At::ActivateStarted, 120, false),
        (Fault::Kill, At::Applied, 0, false),
        (Fault::Kill, At::HealthStarted, 30, false),
        (Fault::Kill, At::HealthStarted, 150, true),
        (Fault::Kill, At::Reverting, 0, true),
        (Fault::CutLink, At::ActivateStarted, 0, false),
        (Fault::CutLink, At::ActivateStarted, 80, false),
        (Fault::CutLink, At::Applied, 0, false),
        (Fault::CutLink, At::HealthStarted, 100, true),
        (Fault::CutLink, At::Reverting, 0, true),
    ];
    for (i, &(fault, at, delay_ms, failing)) in points.iter().enumerate() {
        let when = format!(
            "point {i}: {fault:?} at {at:?} + {delay_ms} ms{}",
            if failing { " (failing release)" } else { "" }
        );
        let version = format!("f{}", i + 1);
        println!("{when}: {}", tb.ssh(HOST, "date +%T.%N").trim());
        let (mut child, events) =
            spawn_deploy(if failing { &bad_cfg } else { &cfg }, app, &version);
        let mut link = Cut::new(tb, HOST);
        let mut hit = false;
        while let Ok(e) = events.recv_timeout(Duration::from_secs(60)) {
            if at.matches(&e) {
                std::thread::sleep(Duration::from_millis(delay_ms));
                match fault {
                    Fault::Kill => {
                        let _ = child.kill();
                    }
                    Fault::CutLink => link.cut(),
                }
                hit = true;
                break;
            }
        }
        assert!(hit, "{when}: the trigger never came");
        if fault == Fault::CutLink {
            // The host goes on by itself: longer than its own bounds (5 s health,
            // 5 s more for raijin's word).
            std::thread::sleep(Duration::from_secs(12));
            link.heal();
        }
        let status = child.wait().expect("raijin exits");
        wait_activation_done(tb, HOST, app);
        let release = one_whole_release(tb, HOST, app, domain, &when);
        if status.success() {
            assert_eq!(
                release, version,
                "{when}: raijin said ok, the host runs {release}"
            );
        }
        if failing {
            assert_ne!(
                release.split('~').next(),
                Some(version.as_str()),
                "{when}: the failing release serves"
            );
        }
        // The next deploy needs no flag (a lock left by the killed or cut raijin is stale).
        let next = format!("n{}", i + 1);
        let out = run(&cfg, &["deploy", app, "--version", &next, "--yes"]);
        assert!(
            out.status.success(),
            "{when}: the next deploy: {}",
            stderr(&out)
        );
        assert_eq!(
            one_whole_release(tb, HOST, app, domain, &format!("{when}, next deploy")),
            next
        );
    }
    let (requests, failed) = load.counts();
    println!(
        "{requests} requests during {} faults, {} failed",
        points.len(),
        failed.len()
    );
    assert!(requests > 200, "the request loop ran: {requests}");
    assert!(
        failed.is_empty(),
        "{} of {requests} requests failed: {failed:?}",
        failed.len()
    );
}

#[test]
fn a_cut_during_the_health_wait_of_a_failing_release_reverts_on_the_host() {
    let Some(tb) = ready() else { return };
    let host = "h5";
    let _lock = lock_host(host);
    let app = "tcuthealth";
    apps::fresh(tb, app, &[host]);
    let body = |extra_env: &str| {
        format!(
            "[ssh]\nconnect_timeout_secs = 3\n\n{}",
            binary_app(tb, app, &[host], 9161, extra_env, "").replace(
                "health_path = \"/health\"\n",
                "health_path = \"/health\"\nhealth_timeout_secs = 12\n",
            )
        )
    };
    let (_d, cfg) = tb.temp_config(&body(""));
    let ok = run(&cfg, &["deploy", app, "--version", "h1", "--yes"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    std::fs::write(
        &cfg,
        body("HELLO_FAIL_HEALTH = \"1\"\nHELLO_START_DELAY_MS = \"8000\"\n"),
    )
    .unwrap();
    let (mut child, events) = spawn_deploy(&cfg, app, "h2");
    let mut link = Cut::new(tb, host);
    let mut saw_health = false;
    while let Ok(e) = events.recv_timeout(Duration::from_secs(60)) {
        if At::HealthStarted.matches(&e) {
            saw_health = true;
            std::thread::sleep(Duration::from_secs(2));
            link.cut();
            break;
        }
    }
    assert!(saw_health, "the health wait never started");
    let cut_at = Instant::now();
    let mut report = None;
    while let Ok(e) = events.recv_timeout(Duration::from_secs(120)) {
        if e["event"] == "report" {
            report = Some(e);
        }
    }
    let status = child.wait().unwrap();
    let gave_up_after = cut_at.elapsed();
    assert!(!status.success());
    let err = report.expect("a report")["hosts"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!("raijin ended {gave_up_after:?} after the cut: {err}");
    assert!(
        err.contains("the host finishes on its own") && err.contains("puts h1 back"),
        "{err}"
    );
    // raijin gives up within its stated bound: the host's own budget (12 s to become
    // healthy, 5 s more for raijin's word) plus 15 s, counted from the activation's
    // start (plus the keepalive detection of the lost link, here well inside it).
    assert!(gave_up_after < Duration::from_secs(60), "{gave_up_after:?}");
    link.heal();
    wait_activation_done(tb, host, app);
    let out = tb.ssh(
        host,
        &format!(
            "readlink /var/lib/raijin/{app}/current; cat /var/lib/raijin/{app}/releases/h2/.raijin/bad; \
             curl -s -o /dev/null -w '%{{http_code}}\\n' -H 'Host: {app}.test' http://127.0.0.1/health"
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"releases/h1"), "{out}");
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.contains("not confirmed healthy")),
        "{out}"
    );
    assert_eq!(lines.last(), Some(&"200"), "{out}");
}

/// Puts a `date` on the host whose wall clock is set an hour forward at every reading
/// of `date +%s` (a test stand-in for a clock stepped by NTP or an operator while an
/// activation waits); removed when dropped.
struct JumpingClock<'a> {
    tb: &'a Testbed,
    host: &'a str,
}

impl<'a> JumpingClock<'a> {
    fn install(tb: &'a Testbed, host: &'a str) -> JumpingClock<'a> {
        tb.ssh(
            host,
            "cat > /usr/local/sbin/date <<'SH'\n#!/bin/sh\n\
             # test stand-in: each reading of the epoch is an hour after the one before\n\
             if [ \"$*\" = +%s ]; then\n\
             n=$(cat /run/jumping-clock 2>/dev/null || echo 0); echo $((n + 1)) > /run/jumping-clock\n\
             echo $(($(/usr/bin/date +%s) + 3600 * n)); exit 0\nfi\n\
             exec /usr/bin/date \"$@\"\nSH\n\
             chmod 755 /usr/local/sbin/date; rm -f /run/jumping-clock",
        );
        JumpingClock { tb, host }
    }
    fn readings(&self) -> u32 {
        let n = self
            .tb
            .ssh(self.host, "cat /run/jumping-clock 2>/dev/null || echo 0");
        n.trim().parse().unwrap_or(0)
    }
}

impl Drop for JumpingClock<'_> {
    fn drop(&mut self) {
        self.tb.ssh(
            self.host,
            "rm -f /usr/local/sbin/date /run/jumping-clock || true",
        );
    }
}

/// The host's budgets run on a clock that never steps: a wall clock set forward
/// during the health wait neither fails a healthy release nor hides why a failing one
/// was reverted.
#[test]
fn a_wall_clock_set_forward_during_the_activation_changes_no_verdict() {
    let Some(tb) = ready() else { return };
    let _lock = lock_host(HOST);
    let app = "tclock";
    let (_dir, cfg, bad_cfg) = deployed(tb, app, 9162, "c1");

    let clock = JumpingClock::install(tb, HOST);
    let ok = run(&cfg, &["deploy", app, "--version", "c2", "--yes"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let served = tb.ssh(
        HOST,
        &format!("curl -s -m 10 -H 'Host: {app}.test' http://127.0.0.1/version"),
    );
    assert_eq!(served, "c2\n");
    let bad = run(&bad_cfg, &["deploy", app, "--version", "c3", "--yes"]);
    assert!(!bad.status.success());
    let err = stderr(&bad);
    assert!(
        err.contains("health check failed") && err.contains("c2 is serving again"),
        "{err}"
    );
    // The stand-in was read (the activation looked at the wall clock, and it jumped).
    assert!(clock.readings() > 0, "the jumping clock was never read");
    drop(clock);
    let served = tb.ssh(
        HOST,
        &format!("curl -s -m 10 -H 'Host: {app}.test' http://127.0.0.1/version"),
    );
    assert_eq!(served, "c2\n");
}
