//! The console: raijin's full-screen face. One task owns the [`state::App`];
//! terminal input, engine events, host link changes, log records and a tick
//! arrive as messages; the state updates without I/O, the runtime starts the
//! effects it asks for, and a frame is drawn only when something changed, at
//! most 60 times a second.

mod effects;
pub mod focus;
pub mod keymap;
pub mod layout;
pub mod logs;
pub mod palette;
mod prompter;
pub mod run;
pub mod shell;
pub mod state;
mod terminal;
pub mod theme;
pub mod ui;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::engine::Engine;
use crate::ssh::{LinkState, Prompter};
use keymap::Keymap;
use state::{App, AppInfo, HostInfo, Msg};
use theme::Theme;

/// Shortest time between two frames (60 fps).
const FRAME: Duration = Duration::from_millis(16);
/// Timer for elapsed counters and toasts; nothing is drawn when idle.
const TICK: Duration = Duration::from_millis(250);
/// How often a connected host's RTT is measured.
const RTT_EVERY: Duration = Duration::from_secs(2);

/// Everything the console needs that can fail, checked before the screen
/// opens so errors print to a normal terminal.
pub struct Console {
    keymap: Keymap,
    theme: Theme,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
}

impl Console {
    /// Validate `[ui]`: the keymap overrides and the theme.
    pub fn prepare(config: &Config) -> Result<Console, String> {
        let keymap = Keymap::with_overrides(&config.ui.keymap)
            .map_err(|e| format!("{}: {e}", config.path.display()))?;
        let dir = config.project_dir();
        let theme = Theme::load(&config.ui.theme, &dir)
            .map_err(|e| format!("{}: error: [ui] theme: {e}", config.path.display()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(Console {
            keymap,
            theme,
            tx,
            rx,
        })
    }

    /// The prompter to give the engine: SSH questions become dialogs.
    pub fn prompter(&self) -> Arc<dyn Prompter> {
        Arc::new(prompter::TuiPrompter::new(self.tx.clone()))
    }

    /// Run until the user quits; the terminal is restored on every exit path.
    pub async fn run(self, engine: Engine) -> ExitCode {
        let engine = Arc::new(engine);
        let guard = match terminal::TerminalGuard::enter() {
            Ok(g) => g,
            Err(e) => {
                eprintln!("error: cannot open the console on this terminal: {e}");
                return ExitCode::FAILURE;
            }
        };
        let result = self.run_loop(engine).await;
        drop(guard);
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }

    async fn run_loop(self, engine: Arc<Engine>) -> anyhow::Result<()> {
        let Console {
            keymap,
            theme,
            tx,
            mut rx,
        } = self;
        let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        let now = Instant::now();
        // Keep every link up and report its state.
        let links = engine.watch_links(RTT_EVERY);
        let hosts = links
            .iter()
            .map(|l| HostInfo {
                name: l.host.clone(),
                addr: l.address.clone(),
                link: LinkState::Idle,
                rtt: None,
            })
            .collect();
        let mut app = App::new(app_infos(&engine.config), hosts, keymap, now);
        app.environment = engine.config.environment.clone();
        let size = term.size()?;
        app.size = ratatui::layout::Rect::new(0, 0, size.width, size.height);

        let mut tasks = Vec::new();
        for link in links {
            tasks.push(link.task);
            let mut status = link.status;
            let tx = tx.clone();
            let host = link.host;
            tasks.push(tokio::spawn(async move {
                loop {
                    let s = status.borrow_and_update().clone();
                    if tx
                        .send(Msg::Link {
                            host: host.clone(),
                            status: s,
                        })
                        .is_err()
                    {
                        break;
                    }
                    if status.changed().await.is_err() {
                        break;
                    }
                }
            }));
        }
        // Follow every app's journal on all its hosts into the Logs pane.
        for app_name in engine.config.apps.keys() {
            tasks.push(follow_logs(&engine, app_name, tx.clone()));
        }
        let mut effects = effects::Effects::new(engine.clone(), tx.clone());
        for fx in app.start() {
            effects.start(fx);
        }

        let mut input = EventStream::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut batch = Vec::with_capacity(256);
        let mut last_frame = Instant::now() - FRAME;
        loop {
            let frame_due = last_frame + FRAME;
            tokio::select! {
                ev = input.next() => match ev {
                    Some(Ok(ev)) => {
                        if let Some(msg) = term_msg(ev) {
                            for fx in app.update(msg, Instant::now()) {
                                effects.start(fx);
                            }
                        }
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => break,
                },
                n = rx.recv_many(&mut batch, 256) => {
                    if n == 0 {
                        break;
                    }
                    let now = Instant::now();
                    for msg in batch.drain(..) {
                        for fx in app.update(msg, now) {
                            effects.start(fx);
                        }
                    }
                }
                _ = tick.tick() => {
                    app.update(Msg::Tick, Instant::now());
                }
                _ = tokio::time::sleep_until(frame_due.into()), if app.dirty => {}
            }
            if app.quit {
                break;
            }
            if let Some((app_name, host)) = app.shell_request.take() {
                // Stop reading terminal events while the shell has the terminal.
                drop(input);
                let said = shell::lend_terminal(&engine, &app_name, &host).await;
                input = EventStream::new();
                // A fresh terminal over a cleared screen redraws every cell
                // (`Terminal::clear` would ask the terminal for the cursor).
                crossterm::execute!(
                    std::io::stdout(),
                    crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
                )?;
                term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
                let now = Instant::now();
                for fx in app.update(Msg::ShellDone(said), now) {
                    effects.start(fx);
                }
                app.dirty = true;
                last_frame = now - FRAME;
            }
            if app.dirty && Instant::now() >= frame_due {
                term.draw(|f| ui::draw(f, &app, &theme))?;
                app.dirty = false;
                last_frame = Instant::now();
            }
        }
        // A quit while a run was going started its cancel, which releases
        // the locks: give it a few seconds to finish.
        if effects.cancelling() {
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(msg) = rx.recv().await {
                    if matches!(msg, Msg::RunDone { .. }) {
                        break;
                    }
                }
            })
            .await;
        }
        effects.abort_all();
        for t in tasks {
            t.abort();
        }
        Ok(())
    }
}

/// Forward one app's merged journal follow to the console as log records;
/// markers (a host's stream stopped or resumed) and drop counts become lines
/// of their own so they are seen, never silent.
fn follow_logs(
    engine: &Arc<Engine>,
    app: &str,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
) -> tokio::task::JoinHandle<()> {
    use crate::logs::{LogItem, LogRecord, LogRequest, follow};
    let stream = follow(engine, LogRequest::new(app));
    let app = app.to_string();
    tokio::spawn(async move {
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%app, error = %format!("{e:#}"), "cannot follow logs");
                return;
            }
        };
        let note = |priority: u8, message: String| LogRecord {
            time_us: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64),
            host: String::new(),
            unit: "raijin".into(),
            priority,
            message,
            cursor: String::new(),
        };
        while let Some(batch) = stream.next_batch(512).await {
            for item in batch {
                let record = match item {
                    // The follower resumes from cursors itself; the pane keeps none.
                    LogItem::Line(r) => LogRecord {
                        cursor: String::new(),
                        ..r
                    },
                    LogItem::Marker(m) => note(4, m.to_string()),
                    LogItem::Dropped(n) => note(4, format!("-- {n} lines dropped --")),
                };
                if tx.send(Msg::Log(record)).is_err() {
                    return;
                }
            }
        }
    })
}

fn term_msg(ev: TermEvent) -> Option<Msg> {
    match ev {
        TermEvent::Key(k) => Some(Msg::Key(k)),
        TermEvent::Mouse(m) => Some(Msg::Mouse(m)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

pub fn app_infos(config: &Config) -> Vec<AppInfo> {
    config
        .apps
        .values()
        .map(|a| AppInfo {
            name: a.name.clone(),
            hosts: a.hosts.clone(),
        })
        .collect()
}
