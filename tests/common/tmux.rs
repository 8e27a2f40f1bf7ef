//! A real terminal for a test: a tmux server of the test's own (`tmux -L NAME`, no
//! config file), running in the test's sandbox (HOME, XDG directories, no agent),
//! driven with send-keys and read with capture-pane. The server is killed on drop.
//! A test crate that has `mod common;` includes it with
//! `#[path = "common/tmux.rs"] mod tmux;`.

#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::common::sandbox;

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A `cols`×`rows` terminal running `cmd` (through `sh -c`, without the agent).
    pub fn start(cols: u16, rows: u16, cmd: &str) -> Tmux {
        Tmux::start_env(cols, rows, cmd, &[])
    }

    /// Like [`Tmux::start`], with extra environment variables for `cmd`.
    pub fn start_env(cols: u16, rows: u16, cmd: &str, env: &[(&str, &str)]) -> Tmux {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let t = Tmux {
            socket: format!("raijin-test-{}-{n}", std::process::id()),
        };
        let mut c = Command::new("tmux");
        c.args(["-L", &t.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()]);
        sandbox().apply(&mut c);
        let q = raijin::util::shell_quote;
        let mut shell_cmd = String::from("env -u SSH_AUTH_SOCK");
        for (k, v) in env {
            shell_cmd.push_str(&format!(" {}", q(&format!("{k}={v}"))));
        }
        shell_cmd.push_str(&format!(" sh -c {}", q(cmd)));
        let ok = c
            .arg(shell_cmd)
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null())
            .status()
            .expect("run tmux");
        assert!(ok.success(), "tmux did not start");
        t
    }

    /// A terminal running a plain bash with the prompt `$ `.
    pub fn shell(cols: u16, rows: u16) -> Tmux {
        Tmux::start(cols, rows, "PS1='$ ' bash --norc --noprofile")
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Send keys (tmux key names: "Enter", "C-c", "Escape", or text).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys {keys:?}");
    }

    /// Send `text` as typed, without key-name interpretation.
    pub fn literal(&self, text: &str) {
        let out = self.tmux(&["send-keys", "-l", text]);
        assert!(out.status.success(), "send-keys -l {text:?}");
    }

    /// Type a line and Enter.
    pub fn line(&self, text: &str) {
        self.literal(text);
        self.keys(&["Enter"]);
    }

    /// A left click at the zero-based cell (`col`, `row`), as an xterm SGR mouse
    /// report (press and release).
    pub fn click(&self, col: u16, row: u16) {
        self.literal(&format!("\x1b[<0;{};{}M", col + 1, row + 1));
        self.literal(&format!("\x1b[<0;{};{}m", col + 1, row + 1));
    }

    /// A mouse wheel step down (or up) over the zero-based cell (`col`, `row`).
    pub fn wheel(&self, col: u16, row: u16, down: bool) {
        let b = if down { 65 } else { 64 };
        self.literal(&format!("\x1b[<{b};{};{}M", col + 1, row + 1));
    }

    /// The visible screen (and up to 200 lines of history for a shell), as text.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-S", "-200"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen only, one string per row, without styles.
    pub fn rows(&self) -> Vec<String> {
        let out = self.tmux(&["capture-pane", "-p"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The visible screen with its styles as escape sequences (capture-pane -e).
    pub fn styled(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-e"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until `pred` holds for the screen; panics with `what` and the screen.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_secs(what, 30, pred)
    }

    pub fn wait_secs(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the screen shows `text`.
    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?} on screen"), |s| s.contains(text))
    }

    /// Forget the lines scrolled off the screen (what `screen` reads beyond it).
    pub fn clear_history(&self) {
        let out = self.tmux(&["clear-history"]);
        assert!(out.status.success(), "clear-history");
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let out = self.tmux(&[
            "resize-window",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
        assert!(out.status.success(), "resize-window");
    }

    /// The pid of the program the pane's shell runs.
    pub fn child_pid(&self) -> Option<String> {
        let out = self.tmux(&["list-panes", "-F", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = Command::new("pgrep")
            .args(["-P", &shell])
            .output()
            .expect("pgrep");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(str::to_string)
    }

    /// Whether the pane's program is still running (the session exists).
    pub fn alive(&self) -> bool {
        self.tmux(&["has-session"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
    }
}
