//! The console states the snapshots start from, built by feeding messages as the
//! runtime would, and the ways a screen is rendered for comparison.

#![allow(dead_code)]

pub use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
pub use raijin::deploy::{HostOutcome, Report};
pub use raijin::engine::events::{Event, Step};
pub use raijin::inspect::{
    AuditEntry, AuditLog, HostHistory, HostStatus, HostUnits, Release, UnitDetail, UnitState,
};
pub use raijin::logs::LogRecord;
pub use raijin::ssh::{HostStatus as Link, LinkState, OutputKind};
pub use raijin::tui::keymap::Keymap;
pub use raijin::tui::run::Outcome;
pub use raijin::tui::state::{App, AppInfo, DeployPlan, Effect, HostInfo, Msg, Pending, Tab};
pub use raijin::tui::theme::Theme;
pub use raijin::tui::ui;
pub use ratatui::Terminal;
pub use ratatui::backend::TestBackend;
pub use ratatui::buffer::Buffer;
pub use ratatui::style::{Color, Modifier};
pub use std::time::{Duration, Instant, UNIX_EPOCH};
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

pub fn app(t0: Instant) -> App {
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

pub fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, app, &Theme::default())).unwrap();
    term.backend().to_string()
}

pub fn buffer(app: &App, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| ui::draw(f, app, theme)).unwrap();
    term.backend().buffer().clone()
}

pub fn color(c: Color) -> String {
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
pub fn render_styled(buf: &Buffer) -> String {
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
pub fn find(buf: &Buffer, text: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = row.find(text) {
            return (row[..i].chars().count() as u16, y);
        }
    }
    panic!("{text:?} is not on screen")
}

pub fn key(app: &mut App, code: KeyCode, now: Instant) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
}

pub fn start_deploy(app: &mut App, t0: Instant) -> u64 {
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

pub fn ev(app: &mut App, id: u64, event: Event, at: Instant) {
    app.update(Msg::RunEvent { id, event }, at);
}

pub fn local_steps(app: &mut App, id: u64, t0: Instant) {
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

pub fn host_through(app: &mut App, id: u64, host: &str, steps: &[Step], t: Instant) {
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

pub fn release(v: &str, at: &str, current: bool, bad: bool) -> Release {
    Release {
        version: v.into(),
        commit: Some(format!("{:0<12}", v.replace('.', ""))),
        deployed_at: at.into(),
        by: "ana@laptop".into(),
        current,
        bad,
    }
}

/// History with the cursor on v1.2 (kept on h1 and h2, not h3), the main panel
/// focused.
pub fn history_selected(t0: Instant) -> App {
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

pub fn history_app(t0: Instant) -> App {
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
    let h3 = HostHistory {
        host: "h3".into(),
        releases: vec![release("v1.3", "2026-11-22T17:40:05Z", true, false)],
        current: Some("v1.3".into()),
        previous: None,
        legacy: false,
    };
    app.update(
        Msg::History {
            app: "hello".into(),
            generation,
            hosts: vec![
                ("h1".into(), Ok(h1)),
                ("h2".into(), Ok(h2)),
                ("h3".into(), Ok(h3)),
            ],
        },
        t0,
    );
    app
}

/// The Logs tab with six lines from three hosts (one in ANSI red), filtered by
/// `/health`.
pub fn logs_filtered_app(t0: Instant) -> App {
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

/// The Status tab with each unit's details on three hosts, as `raijin app status`
/// reads them; h3's worker failed and was restarted by systemd.
pub fn status_app(t0: Instant) -> App {
    let mut app = app(t0);
    key(&mut app, KeyCode::Char('4'), t0);
    let unit = |unit: &str, pid: Option<u32>, active: &str, restarts: u32| UnitDetail {
        unit: unit.into(),
        process: unit.split(['-', '@', '.']).nth(1).unwrap_or("").into(),
        active: active.into(),
        sub: if active == "active" {
            "running"
        } else {
            "dead"
        }
        .into(),
        since: "Mon 2026-11-23 03:09:53 UTC".into(),
        main_pid: pid,
        restarts: Some(restarts),
        memory_bytes: pid.map(|p| u64::from(p) * 40_000),
        ..UnitDetail::default()
    };
    let host = |h: &str, base: u32, worker: &str| HostUnits {
        host: h.into(),
        current: Some("v1.3".into()),
        units: vec![
            unit("hello-web.service", Some(base), "active", 0),
            unit(
                "hello-worker.service",
                (worker == "active").then_some(base + 1),
                worker,
                if worker == "active" { 0 } else { 5 },
            ),
        ],
        error: None,
    };
    app.update(
        Msg::Units {
            app: "hello".into(),
            hosts: Ok(vec![
                host("h1", 412, "active"),
                host("h2", 977, "active"),
                host("h3", 1203, "failed"),
            ]),
        },
        t0,
    );
    app
}
