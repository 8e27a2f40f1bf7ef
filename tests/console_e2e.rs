//! The console end to end: the real binary in tmux against testbed hosts,
//! driven by keys (send-keys) and read from the screen (capture-pane): a
//! deploy, a rollback from History, logs from every host, the app shell on
//! `s` and back, and `q` restoring the terminal.

#[path = "common/apps.rs"]
mod apps;
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use apps::{binary_app, fresh, ready, run};
use common::{Testbed, stderr};

/// A tmux server of this test's own, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        let t = Tmux {
            socket: format!("raijin-e2e-{}", std::process::id()),
        };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "new-session",
                "-d",
                "-x",
                "140",
                "-y",
                "40",
                cmd,
            ])
            .status()
            .expect("tmux");
        assert!(ok.success(), "tmux did not start");
        t
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", k])
                .status()
                .expect("tmux send-keys");
            assert!(ok.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen shows `text`; panics with the screen if not.
    fn wait_for(&self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(Instant::now() < deadline, "no {text:?} on screen:\n{s}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn curl(tb: &Testbed, host: &str, path: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "-m", "5", "-H", "Host: tcons.test"])
        .arg(format!("http://{}{path}", tb.addr(host)))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn console_deploys_rolls_back_follows_logs_and_opens_a_shell() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tcons", &["h1", "h2", "h3"]);
    // Each deploy gets a new version id from the clock.
    let body = binary_app(tb, "tcons", &["h1", "h2", "h3"], 9130, "", "").replace(
        "kind = \"binary\"\n",
        "kind = \"binary\"\nversion = { command = \"echo c$(date +%s%N)\" }\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let first = run(&cfg, &["deploy", "tcons", "--yes"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let v1 = curl(tb, "h1", "/version");

    let exit_file = tempfile::NamedTempFile::new().expect("tempfile");
    let cmd = format!(
        "{} -c {} ; echo $? > {}; sleep 30",
        env!("CARGO_BIN_EXE_raijin"),
        cfg.display(),
        exit_file.path().display()
    );
    let tmux = Tmux::start(&cmd);
    tmux.wait_for("● h3", 20);

    // Deploy by keys: d, confirm with y, live progress, success.
    tmux.keys(&["d"]);
    tmux.wait_for("Deploy tcons?", 20);
    tmux.keys(&["y"]);
    let done = tmux.wait_for("done", 60);
    println!("{done}");
    assert!(done.contains("live"), "{done}");
    let v2 = curl(tb, "h1", "/version");
    assert_ne!(v1, v2);
    for h in ["h2", "h3"] {
        assert_eq!(curl(tb, h, "/version"), v2, "{h}");
    }

    // Rollback from History on h1: the previous release, Enter, confirm.
    tmux.keys(&["3"]);
    tmux.wait_for(v1.trim(), 20);
    tmux.keys(&["Enter", "j", "Enter"]);
    tmux.wait_for("Roll", 20);
    tmux.keys(&["y"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while curl(tb, "h1", "/version") != v1 {
        assert!(
            Instant::now() < deadline,
            "h1 not rolled back:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Logs from every host.
    for h in ["h1", "h2", "h3"] {
        curl(tb, h, "/");
    }
    tmux.keys(&["2"]);
    let logs = tmux.wait_for("GET / 200", 20);
    for h in ["h1", "h2", "h3"] {
        assert!(
            logs.contains(&format!(" {h} ")),
            "no line from {h}:\n{logs}"
        );
    }

    // The app shell on s: the app user; exit brings the console back.
    tmux.keys(&["Escape", "s"]);
    tmux.wait_for("shell for tcons", 20);
    tmux.keys(&["id -un", "Enter"]);
    tmux.wait_for("\ntcons\n", 20);
    tmux.keys(&["exit", "Enter"]);
    tmux.wait_for("shell on h1 ended", 20);
    tmux.keys(&["1"]);
    tmux.wait_for("rollback tcons", 20);

    // q quits and restores the terminal.
    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let code = std::fs::read_to_string(exit_file.path()).unwrap_or_default();
        if !code.trim().is_empty() {
            assert_eq!(code.trim(), "0", "{}", tmux.screen());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "console did not quit:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = tmux.screen();
    assert!(
        !after.contains("┌ Apps"),
        "the console is still drawn:\n{after}"
    );
}
