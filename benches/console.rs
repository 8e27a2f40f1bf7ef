//! Console frame time: the Logs pane with 100,000 lines in its buffer drawn
//! at 200×60 on ratatui's TestBackend (the drawing work, no terminal I/O).
//! Prints figures; run with `cargo bench --bench console`.
//! Idle CPU with live hosts is measured by `scripts/bench-console`.

use std::time::{Duration, Instant};

use raijin::logs::LogRecord;
use raijin::tui::keymap::Keymap;
use raijin::tui::state::{App, AppInfo, HostInfo, Msg};
use raijin::tui::theme::Theme;
use raijin::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    let t0 = Instant::now();
    let hosts: Vec<String> = (1..=3).map(|i| format!("h{i}")).collect();
    let mut app = App::new(
        vec![AppInfo {
            name: "hello".into(),
            hosts: hosts.clone(),
        }],
        hosts
            .iter()
            .map(|h| HostInfo {
                name: h.clone(),
                addr: format!("10.77.{}.2", &h[1..]),
                link: raijin::ssh::LinkState::Connected,
                rtt: Some(Duration::from_micros(300)),
            })
            .collect(),
        Keymap::default(),
        t0,
    );
    app.update(Msg::Resize(200, 60), t0);
    app.update(
        Msg::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('2'),
            crossterm::event::KeyModifiers::NONE,
        )),
        t0,
    );
    let fill = Instant::now();
    for i in 0..100_000u64 {
        let color = if i % 7 == 0 { "\x1b[33m" } else { "" };
        app.update(
            Msg::Log(LogRecord {
                time_us: (1_795_000_000_000 + i) * 1_000,
                host: hosts[(i % 3) as usize].clone(),
                unit: "hello-web.service".into(),
                priority: 6,
                message: format!("{color}GET /items/{i} 200 {}.{}ms\x1b[0m", i % 9, i % 10),
                cursor: String::new(),
            }),
            t0,
        );
    }
    let fill = fill.elapsed();
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let theme = Theme::default();
    for _ in 0..20 {
        term.draw(|f| ui::draw(f, &app, &theme)).expect("draw");
    }
    let mut times: Vec<f64> = (0..500)
        .map(|_| {
            let t = Instant::now();
            term.draw(|f| ui::draw(f, &app, &theme)).expect("draw");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "console frame, Logs pane, 100,000 lines buffered, 200x60: median {:.3} ms, p90 {:.3} ms, max {:.3} ms (n = {}; target <= 4 ms)",
        at(0.5),
        at(0.9),
        times[times.len() - 1],
        times.len()
    );
    println!(
        "filling the buffer: 100,000 lines in {:.1} ms ({:.0} lines/s, ANSI parsed once on arrival)",
        fill.as_secs_f64() * 1000.0,
        100_000.0 / fill.as_secs_f64()
    );
}
