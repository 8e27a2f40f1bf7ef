//! The console end to end: the real binary in a terminal of its own (tmux, see
//! tests/common/tmux.rs) against testbed hosts, driven by keys, mouse reports and
//! read from the screen: a deploy, a rollback from History, logs from every host, the
//! app shell on `s` and back, `q` restoring the terminal; the `:` palette, `?` help,
//! rebound keys, mouse clicks and the wheel, `x` cancelling a deploy; the unknown
//! host-key dialog; themes and NO_COLOR.

#[path = "common/apps.rs"]
mod apps;
mod common;
#[path = "common/tmux.rs"]
mod tmux;

use std::path::Path;
use std::time::Duration;

use apps::{binary_app, curl, fresh, history, ready, run};
use common::{fingerprint, stderr, wait_until};
use tmux::Tmux;

/// The console on `cfg` in a 140×40 terminal; its exit code goes to the returned file.
fn console(cfg: &Path, env: &[(&str, &str)]) -> (Tmux, tempfile::NamedTempFile) {
    let exit_file = tempfile::NamedTempFile::new().expect("tempfile");
    let cmd = format!(
        "{} -c {} ; echo $? > {}; sleep 60",
        env!("CARGO_BIN_EXE_raijin"),
        cfg.display(),
        exit_file.path().display()
    );
    (Tmux::start_env(140, 40, &cmd, env), exit_file)
}

/// `q`, then the console's exit code 0 and a terminal without the console on it.
fn quit(t: &Tmux, exit_file: &Path) {
    t.keys(&["q"]);
    let mut code = String::new();
    let quit = wait_until(Duration::from_secs(20), || {
        code = std::fs::read_to_string(exit_file).unwrap_or_default();
        !code.trim().is_empty()
    });
    assert!(quit, "the console did not quit:\n{}", t.screen());
    assert_eq!(code.trim(), "0", "{}", t.screen());
    let after = t.screen();
    assert!(
        !after.contains("┌ Apps"),
        "the console is still drawn:\n{after}"
    );
}

/// The zero-based (column, row) of the first occurrence of `text` on the screen.
fn find(t: &Tmux, text: &str) -> (u16, u16) {
    let rows = t.rows();
    rows.iter()
        .enumerate()
        .find_map(|(y, line)| {
            line.find(text)
                .map(|byte| (line[..byte].chars().count() as u16, y as u16))
        })
        .unwrap_or_else(|| panic!("no {text:?} on screen:\n{}", rows.join("\n")))
}

/// The screen row (as text) that contains `text`.
fn row_with(screen: &str, text: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no row with {text:?}:\n{screen}"))
        .to_string()
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
    let v1 = curl(tb, "h1", "tcons.test", "/version");

    let (t, exit_file) = console(&cfg, &[]);
    t.wait_text("● h3");

    // Deploy by keys: d, confirm with y, live progress, success.
    t.keys(&["d"]);
    let confirm = t.wait_text("Deploy tcons?");
    assert!(
        confirm.contains("hosts    h1, h2, h3") && confirm.contains("version  c"),
        "the confirmation names the version and the hosts:\n{confirm}"
    );
    t.keys(&["y"]);
    let done = t.wait_for("the deploy's summary", |s| s.contains("done"));
    println!("{done}");
    assert!(done.contains("live"), "{done}");
    let v2 = curl(tb, "h1", "tcons.test", "/version");
    assert_ne!(v1, v2);
    for h in ["h2", "h3"] {
        assert_eq!(curl(tb, h, "tcons.test", "/version"), v2, "{h}");
    }

    // Rollback from History: focus the table, the version below the current one
    // (v1, kept on all three hosts), Enter; one confirmation names it and every host.
    t.keys(&["3"]);
    // (The table loaded before the deploy may show first: wait for v2 as current.)
    t.wait_for("the History table with v2 current and v1", |s| {
        s.contains("history · tcons")
            && s.contains(&format!("▶ {}", v2.trim()))
            && s.contains(v1.trim())
    });
    t.keys(&["Enter", "j", "Enter"]);
    let confirm = t.wait_text("Roll tcons back?");
    assert!(
        confirm.contains(&format!("version  {}", v1.trim()))
            && confirm.contains("hosts    h1, h2, h3"),
        "{confirm}"
    );
    t.keys(&["y"]);
    for h in ["h1", "h2", "h3"] {
        let back = wait_until(Duration::from_secs(30), || {
            curl(tb, h, "tcons.test", "/version") == v1
        });
        assert!(back, "{h} not rolled back:\n{}", t.screen());
    }

    // Restart from the console (e, in the keymap): asks, then every host's serving
    // process has a new main PID.
    let serving_pid = |h: &str| {
        tb.ssh(
            h,
            "systemctl show -p MainPID --value tcons-web@$(cat /var/lib/raijin/tcons/slot)1.service",
        )
        .trim()
        .to_string()
    };
    let before: Vec<String> = ["h1", "h2", "h3"].iter().map(|h| serving_pid(h)).collect();
    t.keys(&["e"]);
    let confirm = t.wait_text("Restart tcons?");
    assert!(confirm.contains("hosts    h1, h2, h3"), "{confirm}");
    t.keys(&["y"]);
    t.wait_text("restart tcons: done on h1, h2, h3");
    for (i, h) in ["h1", "h2", "h3"].iter().enumerate() {
        let after = serving_pid(h);
        assert!(
            after != before[i] && after != "0",
            "{h}: main PID {} before the restart, {after} after",
            before[i]
        );
        assert_eq!(
            curl(tb, h, "tcons.test", "/version"),
            v1,
            "{h} after the restart"
        );
    }

    // Logs from every host: a request with a path of its own to each host, and its
    // line on the Logs tab, prefixed with that host.
    let probe = |h: &str| format!("/console-probe-{h}-{}", std::process::id());
    for h in ["h1", "h2", "h3"] {
        curl(tb, h, "tcons.test", &probe(h));
    }
    t.keys(&["2"]);
    for h in ["h1", "h2", "h3"] {
        let logs = t.wait_text(&probe(h));
        let line = row_with(&logs, &probe(h));
        assert!(line.contains(&format!(" {h} ")), "{h}'s line: {line}");
    }

    // The app shell on s: the app user; exit brings the console back.
    // (No Escape right before: ESC and a key that follows at once read as Alt+key.)
    t.keys(&["s"]);
    t.wait_text("shell for tcons");
    // Typed before the remote prompt, a line can be lost in the hand-over.
    t.wait_text("tcons@h1");
    t.line("id -un");
    t.wait_text("\ntcons\n");
    t.line("exit");
    t.wait_text("shell on h1 ended");
    t.keys(&["1"]);
    t.wait_text("rollback tcons");
    // The tails kept running through the shell: a new line arrives on the Logs tab.
    let after = format!("/after-the-shell-{}", std::process::id());
    curl(tb, "h3", "tcons.test", &after);
    t.keys(&["2"]);
    let logs = t.wait_text(&after);
    assert!(row_with(&logs, &after).contains(" h3 "), "{logs}");

    quit(&t, exit_file.path());
}

#[test]
fn console_palette_help_rebound_keys_mouse_and_cancel() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tconsk", &["h1"]);
    // Two releases through the CLI; the console's own deploys build for a minute.
    let base = binary_app(tb, "tconsk", &["h1"], 9131, "", "");
    let (_d, cli_cfg) = tb.temp_config(&base);
    for v in ["k1", "k2"] {
        let out = run(&cli_cfg, &["deploy", "tconsk", "--version", v, "--yes"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let body = format!(
        "{}\n[ui.keymap]\ndeploy = \"D\"\n",
        base.replace(
            "kind = \"binary\"\n",
            "kind = \"binary\"\nbuild = \"sleep 60\"\nversion = { fixed = \"k3\" }\n",
        )
    );
    let (_d2, cfg) = tb.temp_config(&body);
    let (t, exit_file) = console(&cfg, &[]);
    t.wait_text("● h1");

    // ? lists every action with its keys, from the live keymap: deploy is on D now.
    t.keys(&["?"]);
    // (Whole: a capture can catch a frame half drawn.)
    let help = t.wait_for("the whole help", |s| {
        s.contains("┌ Keys") && s.contains("Quit the console")
    });
    let deploy_row = row_with(&help, "Deploy the selected app");
    assert!(
        deploy_row.contains(" D  deploy "),
        "deploy is not shown on D: {deploy_row}"
    );
    for action in ["rollback", "cancel", "palette", "help", "quit"] {
        assert!(help.contains(&format!("  {action} ")), "{action}:\n{help}");
    }
    t.keys(&["Escape"]);
    t.wait_for("help closed", |s| !s.contains("┌ Keys"));
    // The footer's hints follow the keymap too.
    t.wait_for("the footer's hint for D", |s| {
        s.trim_end()
            .lines()
            .last()
            .is_some_and(|f| f.contains("D deploy"))
    });

    // d no longer deploys: the ? after it opens help (a confirmation would take it).
    t.keys(&["d", "?"]);
    let s = t.wait_text("┌ Keys");
    assert!(!s.contains("Deploy tconsk?"), "{s}");
    t.keys(&["Escape"]);
    t.wait_for("help closed", |s| !s.contains("┌ Keys"));

    // The : palette: fuzzy over actions; Enter runs the chosen one.
    t.keys(&[":"]);
    t.wait_text("┌ Command");
    t.literal("tab_hist");
    let palette = t.wait_text("▶ tab_history");
    println!("{palette}");
    t.keys(&["Enter"]);
    t.wait_for("the History tab with k1 and k2", |s| {
        !s.contains("┌ Command") && s.contains("history · tconsk") && s.contains(" k1 ")
    });

    // ] and [ step through the tabs.
    t.keys(&["]"]);
    t.wait_text("tconsk-web@");
    t.keys(&["["]);
    t.wait_text("history · tconsk");

    // Mouse: a click on a tab shows it; a click on a row selects it; the wheel moves
    // the selection. Enter then asks about the selected row.
    let (x, y) = find(&t, " Status");
    t.click(x + 1, y);
    t.wait_text("tconsk-web@");
    let (x, y) = find(&t, " History ");
    t.click(x + 1, y);
    t.wait_text("history · tconsk");
    t.wait_text(" k1 ");
    let (x, y) = find(&t, " k1 ");
    t.click(x + 1, y);
    t.keys(&["Enter"]);
    let confirm = t.wait_text("Roll tconsk back?");
    assert!(confirm.contains("version  k1"), "{confirm}");
    t.keys(&["n"]);
    t.wait_for("the dialog closed", |s| !s.contains("Roll tconsk back?"));
    t.wheel(x + 1, y, false);
    t.keys(&["Enter"]);
    t.wait_text("k2 is already current on h1");

    // D deploys (rebound); x cancels it while it builds and releases the lock.
    t.keys(&["D"]);
    t.wait_text("Deploy tconsk?");
    t.keys(&["y"]);
    tb.wait_for_output(
        "h1",
        "test -d /var/lib/raijin/tconsk/lock && echo held || echo free",
        "held",
        30,
    );
    t.keys(&["x"]);
    t.wait_text("Cancel?");
    t.keys(&["y"]);
    t.wait_text("cancelled");
    tb.wait_for_output(
        "h1",
        "test -d /var/lib/raijin/tconsk/lock && echo held || echo free",
        "free",
        20,
    );
    let h = &history(&cli_cfg, "tconsk")[0];
    assert_eq!(h.versions, ["k2", "k1"], "k3 never reached the host");
    assert_eq!(h.current.as_deref(), Some("k2"));

    quit(&t, exit_file.path());
}

#[test]
fn console_asks_about_an_unknown_host_key_and_records_it() {
    let Some(tb) = ready() else { return };
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    let host_pub = dir.path().join("host.pub");
    std::fs::write(
        &host_pub,
        tb.ssh("h2", "cat /etc/ssh/ssh_host_ed25519_key.pub"),
    )
    .unwrap();
    let fp = fingerprint(&host_pub);
    let cfg = dir.path().join("raijin.toml");
    std::fs::write(
        &cfg,
        tb.host_block("h2", "h2").replace(
            &tb.known_hosts().display().to_string(),
            &known_hosts.display().to_string(),
        ),
    )
    .unwrap();
    let (t, exit_file) = console(&cfg, &[]);
    let dialog = t.wait_text("Unknown host key");
    assert!(
        dialog.contains(&format!(
            "The host key of h2 ({}) is not known.",
            tb.addr("h2")
        )),
        "{dialog}"
    );
    assert!(dialog.contains(&fp), "no {fp}:\n{dialog}");
    t.keys(&["y"]);
    t.wait_for("h2 connected", |s| {
        !s.contains("Unknown host key") && s.contains("● h2")
    });
    let recorded = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(
        recorded.starts_with(&format!("{} ssh-ed25519 ", tb.addr("h2"))),
        "{recorded}"
    );
    quit(&t, exit_file.path());
}

/// Whether a `capture-pane -e` screen has any foreground or background color.
fn has_colors(styled: &str) -> bool {
    let mut rest = styled;
    while let Some(i) = rest.find("\x1b[") {
        rest = &rest[i + 2..];
        let end = rest.find('m').unwrap_or(rest.len());
        let colored = rest[..end].split(';').any(|p| {
            matches!(
                p.parse::<u16>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        });
        if colored {
            return true;
        }
    }
    false
}

/// `#rrggbb` as the SGR parameters of a foreground color.
fn sgr_fg(hex: &str) -> String {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
    format!("38;2;{};{};{}", c(1), c(3), c(5))
}

/// The console started in `dir` with no `-c`: it reads `./raijin.toml`.
fn console_in(dir: &Path, env: &[(&str, &str)]) -> (Tmux, tempfile::NamedTempFile) {
    let exit_file = tempfile::NamedTempFile::new().expect("tempfile");
    let cmd = format!(
        "cd {} && {} ; echo $? > {}; sleep 60",
        dir.display(),
        env!("CARGO_BIN_EXE_raijin"),
        exit_file.path().display()
    );
    (Tmux::start_env(140, 40, &cmd, env), exit_file)
}

#[test]
fn console_themes_theme_files_no_color_and_config_errors_before_the_screen() {
    let Some(tb) = ready() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("raijin.toml");
    let light_fg = sgr_fg("#343b58");
    let write = |ui: &str| {
        std::fs::write(&cfg, format!("{}[ui]\n{ui}", tb.host_block("h1", "h1"))).unwrap();
    };
    let show = |theme: &str, env: &[(&str, &str)]| -> String {
        write(&format!("theme = \"{theme}\"\n"));
        let (t, exit_file) = console_in(dir.path(), env);
        // The header: each host's link state and RTT.
        let rtt = |s: &str| {
            s.lines()
                .next()
                .and_then(|first| first.split("● h1 ").nth(1))
                .and_then(|r| r.split("ms").next())
                .and_then(|n| n.trim().parse::<f64>().ok())
                .is_some_and(|ms| ms > 0.0)
        };
        t.wait_for("h1 connected with its RTT in the header", rtt);
        let styled = t.styled();
        quit(&t, exit_file.path());
        styled
    };

    // The built-in themes.
    let light = show("light", &[]);
    assert!(
        light.contains(&light_fg),
        "no light fg {light_fg}:\n{light:?}"
    );
    let dark = show("dark", &[]);
    assert!(has_colors(&dark) && !dark.contains(&light_fg));
    let contrast = show("high-contrast", &[]);
    assert!(has_colors(&contrast) && contrast != dark);
    // A theme file with one key, in the project's themes/ or in
    // ~/.config/raijin/themes/: that key changes, the rest is the dark theme's.
    std::fs::create_dir_all(dir.path().join("themes")).unwrap();
    std::fs::write(
        dir.path().join("themes/mine.toml"),
        "border = \"#123456\"\n",
    )
    .unwrap();
    let custom = show("mine", &[]);
    assert!(custom.contains(&sgr_fg("#123456")), "{custom:?}");
    assert!(!dark.contains(&sgr_fg("#123456")));
    let user_themes = common::sandbox().config_home().join("raijin/themes");
    std::fs::create_dir_all(&user_themes).unwrap();
    std::fs::write(user_themes.join("ours.toml"), "border = \"#654321\"\n").unwrap();
    let ours = show("ours", &[]);
    assert!(ours.contains(&sgr_fg("#654321")), "{ours:?}");
    // NO_COLOR: no color at all, whatever the theme.
    let mono = show("light", &[("NO_COLOR", "1")]);
    assert!(!has_colors(&mono), "colors under NO_COLOR:\n{mono:?}");
    assert!(mono.contains("● h1"), "{mono}");

    // A mistake in the keymap or an unknown theme: reported with its position on the
    // normal terminal, exit 2, and the console never opens.
    for (ui, said) in [
        ("theme = \"nosuch\"\n", "error: unknown theme `nosuch`"),
        ("[ui.keymap]\ndeplyo = \"D\"\n", "deplyo"),
    ] {
        write(ui);
        let (t, exit_file) = console_in(dir.path(), &[]);
        let mut code = String::new();
        let exited = wait_until(Duration::from_secs(20), || {
            code = std::fs::read_to_string(exit_file.path()).unwrap_or_default();
            !code.trim().is_empty()
        });
        let screen = t.screen();
        assert!(exited, "the console opened:\n{screen}");
        assert_eq!(code.trim(), "2", "{screen}");
        assert!(screen.contains(said), "{screen}");
        assert!(screen.contains("raijin.toml:"), "no position:\n{screen}");
        assert!(!screen.contains("┌ Apps"), "{screen}");
    }
}
