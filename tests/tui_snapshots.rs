//! Snapshots of the console's panes on ratatui's TestBackend, at 80×24 and
//! 160×48, in the states that matter: a deploy in progress, a deploy that
//! failed with the unit's journal lines, history with current and bad
//! releases, logs filtered, the palette and help. Every state is built by
//! feeding messages into the state, as the runtime would; no network.
//!
//! The `*_styles` snapshots record cell styles as well (see `render_styled`):
//! the selected History row, the Logs filter highlight, a theme other than
//! the default, and NO_COLOR, which must leave no color on screen at all.

#[path = "tui_snapshots/support.rs"]
mod support;

use support::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snap(name: &str, app: &mut App) {
    for (w, h) in SIZES {
        app.update(Msg::Resize(w, h), app.now);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(app, w, h));
    }
}

#[test]
fn deploy_in_progress() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let id = start_deploy(&mut app, t0);
    local_steps(&mut app, id, t0);
    let t1 = t0 + Duration::from_secs(5);
    host_through(
        &mut app,
        id,
        "h1",
        &[Step::Lock, Step::Push, Step::Install],
        t1,
    );
    ev(
        &mut app,
        id,
        Event::StepStarted {
            host: Some("h1".into()),
            step: Step::Activate,
            detail: Some("v1.4".into()),
        },
        t1,
    );
    ev(
        &mut app,
        id,
        Event::Output {
            host: Some("h1".into()),
            step: Step::Install,
            stream: OutputKind::Stdout,
            line: "created app user hello".into(),
        },
        t1,
    );
    for (h, done) in [("h2", 1_300_000u64), ("h3", 600_000)] {
        host_through(&mut app, id, h, &[Step::Lock], t1);
        ev(
            &mut app,
            id,
            Event::StepStarted {
                host: Some(h.into()),
                step: Step::Push,
                detail: None,
            },
            t1,
        );
        ev(
            &mut app,
            id,
            Event::Progress {
                host: Some(h.into()),
                step: Step::Push,
                done,
                total: 2_400_000,
            },
            t1,
        );
    }
    app.update(Msg::Tick, t0 + Duration::from_millis(6_300));
    assert!(app.deploy.run.as_ref().is_some_and(|r| r.running()));
    snap("deploy_in_progress", &mut app);
}

#[test]
fn deploy_failed_with_journal() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let id = start_deploy(&mut app, t0);
    local_steps(&mut app, id, t0);
    let t1 = t0 + Duration::from_secs(6);
    for h in ["h1", "h3"] {
        host_through(
            &mut app,
            id,
            h,
            &[
                Step::Lock,
                Step::Push,
                Step::Install,
                Step::Activate,
                Step::Health,
            ],
            t1,
        );
        ev(
            &mut app,
            id,
            Event::HostDone {
                host: h.into(),
                ok: true,
                version: Some("v1.4".into()),
                summary: "v1.4 live (sent 1.2 MiB in 3 chunks)".into(),
            },
            t1,
        );
    }
    host_through(
        &mut app,
        id,
        "h2",
        &[Step::Lock, Step::Push, Step::Install, Step::Activate],
        t1,
    );
    ev(
        &mut app,
        id,
        Event::StepStarted {
            host: Some("h2".into()),
            step: Step::Health,
            detail: None,
        },
        t1,
    );
    ev(
        &mut app,
        id,
        Event::StepFailed {
            host: Some("h2".into()),
            step: Step::Health,
            error: "hello-web.service did not become active; reverted to v1.3".into(),
            journal: vec![
                "Nov 23 03:09:51 h2 hello[812]: listening on 0.0.0.0:8000".into(),
                "Nov 23 03:09:52 h2 hello[812]: error: DATABASE_URL is not set".into(),
                "Nov 23 03:09:52 h2 systemd[1]: hello-web.service: Main process exited, code=exited, status=1/FAILURE".into(),
            ],
        },
        t1 + Duration::from_secs(2),
    );
    ev(
        &mut app,
        id,
        Event::HostDone {
            host: "h2".into(),
            ok: false,
            version: Some("v1.4".into()),
            summary: "failed at health; v1.3 restored".into(),
        },
        t1 + Duration::from_secs(2),
    );
    let outcome = |h: &str, ok: bool| HostOutcome {
        host: h.into(),
        ok,
        version: "v1.4".into(),
        release: Some("v1.4".into()),
        from_version: Some("v1.3".into()),
        error: (!ok).then(|| "health: hello-web.service did not become active".into()),
        bytes_sent: 1_258_291,
        chunks_sent: 3,
        elapsed_ms: 2_900,
    };
    app.update(
        Msg::RunDone {
            id,
            outcome: Outcome::Report(Report {
                app: "hello".into(),
                version: "v1.4".into(),
                artifact_bytes: 2_400_000,
                hosts: vec![
                    outcome("h1", true),
                    outcome("h2", false),
                    outcome("h3", true),
                ],
            }),
        },
        t0 + Duration::from_secs(9),
    );
    assert_eq!(
        app.deploy.run.as_ref().map(|r| r.failed_hosts()),
        Some(vec!["h2"])
    );
    snap("deploy_failed", &mut app);
}

#[test]
fn history_with_current_and_bad_releases() {
    let t0 = Instant::now();
    let mut app = history_selected(t0);
    // One list for the app: each version once, with the hosts that keep it.
    let rows: Vec<(&str, &[String])> = app
        .history
        .versions
        .iter()
        .map(|v| (v.version.as_str(), &v.kept_on[..]))
        .collect();
    assert_eq!(
        rows,
        [
            ("v1.4", &["h1".to_string()][..]),
            ("v1.3", &["h1".into(), "h2".into(), "h3".into()][..]),
            ("v1.2", &["h1".into(), "h2".into()][..]),
        ]
    );
    assert_eq!(
        app.history.selected_version().map(|v| v.version.as_str()),
        Some("v1.2")
    );
    snap("history", &mut app);
    // Enter asks once for the whole app, naming the host that lacks the version.
    key(&mut app, KeyCode::Enter, t0);
    snap("history_confirm_rollback", &mut app);
    let fx = key(&mut app, KeyCode::Char('y'), t0);
    assert!(matches!(&fx[..], [Effect::Rollback { req, .. }]
        if req.to.as_deref() == Some("v1.2") && req.hosts == ["h1", "h2"]));
    assert_eq!(app.tab, Tab::Deploy);
}

#[test]
fn palette_open() {
    let t0 = Instant::now();
    let mut app = history_app(t0);
    key(&mut app, KeyCode::Char(':'), t0);
    for c in "rol".chars() {
        key(&mut app, KeyCode::Char(c), t0);
    }
    snap("palette", &mut app);
}

#[test]
fn help_open() {
    let t0 = Instant::now();
    let mut app = app(t0);
    key(&mut app, KeyCode::Char('?'), t0);
    snap("help", &mut app);
}

#[test]
fn logs_filtered() {
    let t0 = Instant::now();
    let mut app = logs_filtered_app(t0);
    assert_eq!(app.logs.visible(100).len(), 4);
    snap("logs_filtered", &mut app);
}

#[test]
fn history_selected_row_styles() {
    let t0 = Instant::now();
    let app = history_selected(t0);
    let buf = buffer(&app, &Theme::default(), 80, 24);
    // The selected row is drawn in the selection colors, the others are not.
    let theme = Theme::default();
    let (x, y) = find(&buf, "v1.2");
    assert_eq!(
        (buf[(x, y)].fg, buf[(x, y)].bg),
        (theme.selection_fg, theme.selection_bg)
    );
    let (x, y) = find(&buf, "v1.4");
    assert_ne!(buf[(x, y)].bg, theme.selection_bg);
    insta::assert_snapshot!("history_selected_styles_80x24", render_styled(&buf));
}

#[test]
fn logs_filter_highlight_styles() {
    let t0 = Instant::now();
    let app = logs_filtered_app(t0);
    let theme = Theme::default();
    let buf = buffer(&app, &theme, 80, 24);
    // Each match of the filter is highlighted, the text around it is not.
    let (x, y) = find(&buf, "/health 200 0.4ms");
    assert_eq!(buf[(x + 1, y)].fg, theme.matched);
    assert!(
        buf[(x + 1, y)]
            .modifier
            .contains(Modifier::BOLD | Modifier::UNDERLINED)
    );
    assert_ne!(buf[(x + 8, y)].fg, theme.matched);
    insta::assert_snapshot!("logs_filter_styles_80x24", render_styled(&buf));
}

#[test]
fn light_theme_styles() {
    let t0 = Instant::now();
    let app = history_selected(t0);
    let light = raijin::config::theme::resolve("light", &[]).expect("built-in light theme");
    let theme = Theme::from_palette(&light);
    assert_ne!(theme, Theme::default());
    let buf = buffer(&app, &theme, 80, 24);
    let (x, y) = find(&buf, "v1.2");
    assert_eq!(buf[(x, y)].bg, theme.selection_bg);
    insta::assert_snapshot!("history_light_theme_styles_80x24", render_styled(&buf));
}

#[test]
fn no_color_has_no_colors_at_all() {
    let t0 = Instant::now();
    let theme = Theme::mono();
    // A line whose ANSI color is not overridden by its priority.
    let mut logs = logs_filtered_app(t0);
    logs.update(
        Msg::Log(LogRecord {
            time_us: 1_795_000_010 * 1_000_000,
            host: "h1".into(),
            unit: "hello-web.service".into(),
            priority: 6,
            message: "\x1b[32mready\x1b[0m: health checks pass".into(),
            cursor: String::new(),
        }),
        t0,
    );
    for (name, app) in [("history", history_selected(t0)), ("logs", logs)] {
        let buf = buffer(&app, &theme, 80, 24);
        for y in 0..24 {
            for x in 0..80 {
                let cell = &buf[(x, y)];
                assert_eq!(
                    (cell.fg, cell.bg),
                    (Color::Reset, Color::Reset),
                    "{name}: a color at {x},{y} ({:?})",
                    cell.symbol()
                );
            }
        }
        insta::assert_snapshot!(format!("{name}_no_color_styles_80x24"), render_styled(&buf));
    }
    // The selection still shows, as reverse video.
    let buf = buffer(&history_selected(t0), &theme, 80, 24);
    let (x, y) = find(&buf, "v1.2");
    assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn the_header_names_the_environment() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let plain = render(&app, 80, 24);
    assert!(
        plain.lines().next().unwrap().contains(" raijin │"),
        "{plain}"
    );
    app.environment = Some("staging".into());
    let screen = render(&app, 80, 24);
    let top = screen.lines().next().unwrap();
    assert!(top.contains(" raijin staging  │"), "{top}");
}

#[test]
fn an_error_stays_until_dismissed() {
    let t0 = Instant::now();
    let mut app = app(t0);
    key(&mut app, KeyCode::Char('d'), t0);
    app.update(
        Msg::DeployPlanned {
            app: "hello".into(),
            plan: Err(
                "the version command `./version.sh` failed (exit status: 1): \
                       version.sh: line 3: jq: command not found"
                    .into(),
            ),
        },
        t0,
    );
    // Long after a toast would have gone, the error is still on screen.
    app.update(Msg::Tick, t0 + Duration::from_secs(60));
    snap("error_panel", &mut app);
    key(&mut app, KeyCode::Esc, t0);
    assert!(!render(&app, 80, 24).contains("jq: command not found"));
}

#[test]
fn status_shows_each_units_details() {
    let t0 = Instant::now();
    let mut app = status_app(t0);
    snap("status_units", &mut app);
    let screen = render(&app, 160, 48);
    for text in ["active/running", "412", "failed/dead", "16M"] {
        assert!(screen.contains(text), "{text} missing:\n{screen}");
    }
}

#[test]
fn restart_asks_then_the_answer_shows_the_new_pids() {
    let t0 = Instant::now();
    let mut app = status_app(t0);
    assert!(key(&mut app, KeyCode::Char('e'), t0).is_empty());
    snap("restart_confirm", &mut app);
    let fx = key(&mut app, KeyCode::Char('y'), t0);
    let [Effect::Control { req }] = &fx[..] else {
        panic!("expected a control effect, got {fx:?}")
    };
    assert_eq!(req.hosts, ["h1", "h2", "h3"]);
    let mut after = vec![];
    for (h, pid) in [("h1", 5001), ("h2", 5002), ("h3", 5003)] {
        after.push(HostUnits {
            host: h.into(),
            current: Some("v1.3".into()),
            units: vec![UnitDetail {
                unit: "hello-web.service".into(),
                active: "active".into(),
                sub: "running".into(),
                main_pid: Some(pid),
                ..UnitDetail::default()
            }],
            error: None,
        });
    }
    app.update(
        Msg::Controlled {
            app: "hello".into(),
            action: req.action,
            result: Ok(after),
        },
        t0,
    );
    let screen = render(&app, 160, 48);
    assert!(
        screen.contains("5003") && !screen.contains(" 1203 "),
        "{screen}"
    );
    assert!(
        screen.contains("restart hello: done on h1, h2, h3"),
        "{screen}"
    );
}

#[test]
fn audit_lists_the_hosts_entries_newest_first() {
    let t0 = Instant::now();
    let mut app = app(t0);
    let fx = key(&mut app, KeyCode::Char('5'), t0);
    let [
        Effect::LoadAudit {
            app: name,
            generation,
        },
    ] = &fx[..]
    else {
        panic!("expected an audit load, got {fx:?}")
    };
    assert_eq!(name, "hello");
    let entry =
        |at: &str, host: &str, action: &str, version: &str, error: Option<&str>| AuditEntry {
            at: at.into(),
            action: action.into(),
            app: "hello".into(),
            host: host.into(),
            by: "ana@laptop".into(),
            version: version.into(),
            outcome: if error.is_some() { "failed" } else { "ok" }.into(),
            error: error.map(String::from),
            ..AuditEntry::default()
        };
    let log = AuditLog {
        entries: vec![
            entry("2026-11-23T03:12:00Z", "h1", "restart", "v1.3", None),
            entry("2026-11-23T03:10:40Z", "h2", "rollback", "v1.3", None),
            entry(
                "2026-11-23T03:09:53Z",
                "h2",
                "deploy",
                "v1.4",
                Some("health check failed: GET /health 502"),
            ),
            entry("2026-11-22T17:40:02Z", "h1", "deploy", "v1.3", None),
        ],
        errors: vec![("h3".into(), "hello".into(), "connection refused".into())],
    };
    let generation = *generation;
    app.update(
        Msg::Audit {
            app: "hello".into(),
            generation,
            log: Ok(log),
        },
        t0,
    );
    snap("audit", &mut app);
}

#[test]
fn deploy_asks_for_a_version_when_the_app_has_none() {
    let t0 = Instant::now();
    let mut app = app(t0);
    key(&mut app, KeyCode::Char('d'), t0);
    app.update(
        Msg::DeployPlanned {
            app: "hello".into(),
            plan: Ok(DeployPlan {
                unresolved: Some(
                    "cannot derive a version from git in /work/hello (set `version` for \
                     app hello or pass --version): git describe --always --dirty --tags: \
                     fatal: not a git repository"
                        .into(),
                ),
                ..DeployPlan::default()
            }),
        },
        t0,
    );
    for c in "v1.4".chars() {
        key(&mut app, KeyCode::Char(c), t0);
    }
    snap("deploy_version_input", &mut app);
    let fx = key(&mut app, KeyCode::Enter, t0);
    assert!(
        matches!(&fx[..], [Effect::Deploy { req, .. }] if req.version.as_deref() == Some("v1.4")),
        "{fx:?}"
    );
}

#[test]
fn palette_recalls_earlier_commands() {
    let t0 = Instant::now();
    let mut app = history_app(t0);
    for command in ["tab_status", "rollback v1.2"] {
        key(&mut app, KeyCode::Char(':'), t0);
        for c in command.chars() {
            key(&mut app, KeyCode::Char(c), t0);
        }
        key(&mut app, KeyCode::Enter, t0);
        key(&mut app, KeyCode::Esc, t0);
    }
    assert_eq!(app.palette_history, ["tab_status", "rollback v1.2"]);
    key(&mut app, KeyCode::Char(':'), t0);
    key(&mut app, KeyCode::Up, t0);
    key(&mut app, KeyCode::Up, t0);
    key(&mut app, KeyCode::Down, t0);
    snap("palette_history", &mut app);
}

#[test]
fn status_selection_restarts_one_process_on_its_host() {
    let t0 = Instant::now();
    let mut app = status_app(t0);
    key(&mut app, KeyCode::Tab, t0);
    key(&mut app, KeyCode::Tab, t0);
    for _ in 0..5 {
        key(&mut app, KeyCode::Char('j'), t0);
    }
    // The selected unit (h3's failed worker) is drawn in the selection colors.
    let theme = Theme::default();
    let buf = buffer(&app, &theme, 160, 48);
    let (x, y) = find(&buf, "failed/dead");
    assert_eq!(buf[(x, y)].bg, theme.selection_bg);
    let (x, y) = find(&buf, "hello-web.service");
    assert_ne!(buf[(x, y)].bg, theme.selection_bg);
    key(&mut app, KeyCode::Char('e'), t0);
    snap("restart_process_confirm", &mut app);
    let fx = key(&mut app, KeyCode::Char('y'), t0);
    assert!(
        matches!(&fx[..], [Effect::Control { req }]
            if req.processes == ["worker"] && req.hosts == ["h3"]),
        "{fx:?}"
    );
}
