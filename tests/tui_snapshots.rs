//! Snapshots of the console's panes on ratatui's TestBackend, at 80×24 and
//! 160×48, in the states that matter: a deploy in progress, a deploy that
//! failed with the unit's journal lines, history with current and bad
//! releases, logs filtered, the palette and help. Every state is built by
//! feeding messages into the state, as the runtime would; no network.
//!
//! The `*_styles` snapshots record cell styles as well (see `render_styled`):
//! the selected History row, the Logs filter highlight, a theme other than
//! the default, and NO_COLOR, which must leave no color on screen at all.

use std::time::{Duration, Instant, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use raijin::deploy::{HostOutcome, Report};
use raijin::engine::events::{Event, Step};
use raijin::inspect::{HostHistory, HostStatus, Release, UnitState};
use raijin::logs::LogRecord;
use raijin::ssh::{HostStatus as Link, LinkState, OutputKind};
use raijin::tui::keymap::Keymap;
use raijin::tui::run::Outcome;
use raijin::tui::state::{App, AppInfo, Effect, HostInfo, Msg, Pending, Tab};
use raijin::tui::theme::Theme;
use raijin::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn app(t0: Instant) -> App {
    let hosts = ["h1", "h2", "h3"];
    let mut app = App::new(
        vec![
            AppInfo {
                name: "hello".into(),
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
            },
            AppInfo {
                name: "pyhello".into(),
                hosts: vec!["h1".into()],
            },
        ],
        hosts
            .iter()
            .enumerate()
            .map(|(i, h)| HostInfo {
                name: h.to_string(),
                addr: format!("10.77.{}.2", i + 1),
                link: LinkState::Idle,
                rtt: None,
            })
            .collect(),
        Keymap::default(),
        t0,
    );
    for (i, h) in hosts.iter().enumerate() {
        app.update(
            Msg::Link {
                host: h.to_string(),
                status: Link {
                    state: LinkState::Connected,
                    rtt: Some(Duration::from_micros(400 + 100 * i as u64)),
                    since: UNIX_EPOCH,
                },
            },
            t0,
        );
    }
    let status = |h: &str, v: &str| HostStatus {
        host: h.into(),
        current: Some(v.into()),
        slots: vec![],
        units: vec![UnitState {
            unit: "hello-web.service".into(),
            active: "active".into(),
            sub: "running".into(),
            since: "Mon 2026-11-23 03:09:53 UTC".into(),
        }],
        drift: vec![],
        error: None,
    };
    app.update(
        Msg::Status {
            app: "hello".into(),
            hosts: vec![
                status("h1", "v1.3"),
                status("h2", "v1.3"),
                status("h3", "v1.3"),
            ],
        },
        t0,
    );
    app.update(
        Msg::Status {
            app: "pyhello".into(),
            hosts: vec![HostStatus {
                host: "h1".into(),
                ..Default::default()
            }],
        },
        t0,
    );
    app
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, app, &Theme::default())).unwrap();
    term.backend().to_string()
}

fn buffer(app: &App, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, app, theme)).unwrap();
    term.backend().buffer().clone()
}

fn color(c: Color) -> String {
    match c {
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => format!("#{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The screen with its styles: each row as text, then a row of marks, one per cell,
/// naming the cell's style in the legend at the end (`.` is the terminal's own
/// colors without modifiers). A change of color, background or modifier anywhere
/// changes the marks.
fn render_styled(buf: &Buffer) -> String {
    const MARKS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut legend: Vec<String> = Vec::new();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut text = String::new();
        let mut marks = String::new();
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            text.push_str(cell.symbol());
            let mut style = Vec::new();
            if cell.fg != Color::Reset {
                style.push(format!("fg {}", color(cell.fg)));
            }
            if cell.bg != Color::Reset {
                style.push(format!("bg {}", color(cell.bg)));
            }
            if !cell.modifier.is_empty() {
                style.push(format!("{:?}", cell.modifier).to_lowercase());
            }
            if style.is_empty() {
                marks.push('.');
                continue;
            }
            let style = style.join(" ");
            let i = legend.iter().position(|s| *s == style).unwrap_or_else(|| {
                legend.push(style);
                legend.len() - 1
            });
            marks.push(MARKS.chars().nth(i).expect("at most 62 styles on a screen"));
        }
        out.push_str(&format!("{text:?}\n{marks:?}\n"));
    }
    out.push_str("legend:\n");
    for (i, style) in legend.iter().enumerate() {
        out.push_str(&format!(
            "{} {style}\n",
            MARKS.chars().nth(i).unwrap_or('?')
        ));
    }
    out
}

/// The cell of `buf` that shows `text` first, as (x, y).
fn find(buf: &Buffer, text: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = row.find(text) {
            return (row[..i].chars().count() as u16, y);
        }
    }
    panic!("{text:?} is not on screen")
}

fn snap(name: &str, app: &mut App) {
    for (w, h) in SIZES {
        app.update(Msg::Resize(w, h), app.now);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(app, w, h));
    }
}

fn key(app: &mut App, code: KeyCode, now: Instant) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
}

fn start_deploy(app: &mut App, t0: Instant) -> u64 {
    let fx = app.confirmed(Pending::Deploy {
        app: "hello".into(),
        hosts: vec!["h1".into(), "h2".into(), "h3".into()],
        version: "v1.4".into(),
    });
    match &fx[..] {
        [Effect::Deploy { id, req }] => {
            assert_eq!(req.version.as_deref(), Some("v1.4"));
            assert_eq!(app.deploy.run.as_ref().map(|r| r.started), Some(t0));
            *id
        }
        other => panic!("expected a deploy effect, got {other:?}"),
    }
}

fn ev(app: &mut App, id: u64, event: Event, at: Instant) {
    app.update(Msg::RunEvent { id, event }, at);
}

fn local_steps(app: &mut App, id: u64, t0: Instant) {
    for (step, ms) in [(Step::Plan, 40), (Step::Build, 4200), (Step::Bundle, 300)] {
        ev(
            app,
            id,
            Event::StepStarted {
                host: None,
                step,
                detail: None,
            },
            t0,
        );
        ev(
            app,
            id,
            Event::StepFinished {
                host: None,
                step,
                elapsed_ms: ms,
                detail: None,
            },
            t0,
        );
    }
    ev(
        app,
        id,
        Event::Output {
            host: None,
            step: Step::Build,
            stream: OutputKind::Stderr,
            line: "   Compiling hello v0.1.0 (/work/assets/hello)".into(),
        },
        t0,
    );
}

fn host_through(app: &mut App, id: u64, host: &str, steps: &[Step], t: Instant) {
    for step in steps {
        ev(
            app,
            id,
            Event::StepStarted {
                host: Some(host.into()),
                step: *step,
                detail: None,
            },
            t,
        );
        ev(
            app,
            id,
            Event::StepFinished {
                host: Some(host.into()),
                step: *step,
                elapsed_ms: 120,
                detail: None,
            },
            t,
        );
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

fn release(v: &str, at: &str, current: bool, bad: bool) -> Release {
    Release {
        version: v.into(),
        commit: Some(format!("{:0<12}", v.replace('.', ""))),
        deployed_at: at.into(),
        by: "ana@laptop".into(),
        current,
        bad,
    }
}

/// History with the cursor on h1's v1.2, the main panel focused.
fn history_selected(t0: Instant) -> App {
    let mut app = history_app(t0);
    for _ in 0..2 {
        app.update(
            Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
            t0,
        );
    }
    key(&mut app, KeyCode::Char('j'), t0);
    key(&mut app, KeyCode::Char('j'), t0);
    app
}

fn history_app(t0: Instant) -> App {
    let mut app = app(t0);
    let fx = key(&mut app, KeyCode::Char('3'), t0);
    let generation = match &fx[..] {
        [Effect::LoadHistory { generation, .. }] => *generation,
        other => panic!("expected a history load, got {other:?}"),
    };
    let h1 = HostHistory {
        host: "h1".into(),
        releases: vec![
            release("v1.4", "2026-11-23T03:09:53Z", false, true),
            release("v1.3", "2026-11-22T17:40:02Z", true, false),
            release("v1.2", "2026-11-20T09:12:45Z", false, false),
        ],
        current: Some("v1.3".into()),
        previous: Some("v1.2".into()),
        legacy: false,
    };
    let h2 = HostHistory {
        host: "h2".into(),
        releases: vec![
            release("v1.3", "2026-11-22T17:40:02Z", true, false),
            release("v1.2", "2026-11-20T09:12:45Z", false, false),
        ],
        current: Some("v1.3".into()),
        previous: Some("v1.2".into()),
        legacy: false,
    };
    app.update(
        Msg::History {
            app: "hello".into(),
            generation,
            hosts: vec![
                ("h1".into(), Ok(h1)),
                ("h2".into(), Ok(h2)),
                ("h3".into(), Err("h3: connection refused".into())),
            ],
        },
        t0,
    );
    app
}

#[test]
fn history_with_current_and_bad_releases() {
    let t0 = Instant::now();
    let mut app = history_selected(t0);
    assert_eq!(
        app.history
            .selected_release()
            .map(|(h, r)| (h.to_string(), r.version.clone())),
        Some(("h1".to_string(), "v1.2".to_string()))
    );
    snap("history", &mut app);
    // Enter asks before rolling back.
    key(&mut app, KeyCode::Enter, t0);
    snap("history_confirm_rollback", &mut app);
    let fx = key(&mut app, KeyCode::Char('y'), t0);
    assert!(matches!(&fx[..], [Effect::Rollback { req, .. }]
        if req.to.as_deref() == Some("v1.2") && req.hosts == ["h1"]));
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

/// The Logs tab with six lines from three hosts (one in ANSI red), filtered by
/// `/health`.
fn logs_filtered_app(t0: Instant) -> App {
    let mut app = app(t0);
    key(&mut app, KeyCode::Char('2'), t0);
    let lines = [
        ("h1", 6, "GET /health 200 0.4ms"),
        ("h2", 6, "GET / 200 1.1ms"),
        ("h3", 4, "slow request: GET /health took 812ms"),
        (
            "h1",
            3,
            "\x1b[31mpanic\x1b[0m: health check handler crashed",
        ),
        ("h2", 6, "GET /health 200 0.3ms"),
        ("h3", 6, "GET /static/app.css 304"),
    ];

    for (i, (host, priority, message)) in lines.iter().enumerate() {
        app.update(
            Msg::Log(LogRecord {
                time_us: (1_795_000_000 + i as u64) * 1_000_000,
                host: host.to_string(),
                unit: "hello-web.service".into(),
                priority: *priority,
                message: message.to_string(),
                cursor: String::new(),
            }),
            t0,
        );
    }
    key(&mut app, KeyCode::Char('/'), t0);
    for c in "health".chars() {
        key(&mut app, KeyCode::Char(c), t0);
    }
    key(&mut app, KeyCode::Enter, t0);
    app
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
