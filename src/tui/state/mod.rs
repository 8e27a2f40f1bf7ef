//! The console's state and its update function. One task owns an [`App`];
//! every input, engine event, host status change and timer arrives as a
//! [`Msg`]. `update` changes the state without doing I/O and returns the
//! [`Effect`]s (deploys, rollbacks, loads) for the runtime to start.
//!
//! Keys go first to a waiting SSH question, then to an overlay, then to the
//! Logs filter line while it is typed, Esc (`back`) to the error shown; every
//! other key runs the [`Action`]
//! the keymap names. Each tab keeps its own state and handles its own part of
//! an action: `deploy`, `history`, `status`, `audit` here, the Logs tab in
//! `tui::logs`; the overlays in `overlay`, the questions asked before acting in
//! `ask` and `control` (start, stop, restart), the mouse in `mouse`. A tab answers
//! with a [`Reply`] (effects, a toast, a dialog), which `App` carries out. Errors
//! stay in [`App::errors`] until dismissed; toasts are for the rest.

mod ask;
mod audit;
mod control;
mod deploy;
mod effect;
mod history;
mod mouse;
mod overlay;
mod status;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

pub use super::focus::{Focus, Tab};
pub use audit::{AUDIT_ENTRIES, AuditView};
pub use deploy::{DeployPlan, DeployTab};
pub use effect::{Effect, Level, Reply, TOAST_FOR, Toast};
pub use history::{HistoryView, VersionRow};
pub use overlay::{Confirm, Overlay, OverlayKey, Pending, Prompt, VersionInput};
pub use status::{StatusTab, UnitRow};

use super::focus::step;
use super::keymap::{Keymap, key_of};
use super::layout::Areas;
use super::logs::LogView;
use super::palette::{self, Palette, Target};
use super::run::Outcome;
use crate::engine::events::Event;
use crate::inspect::{AuditLog, HostHistory, HostStatus as AppHostStatus, HostUnits};
use crate::keys::Action;
use crate::logs::LogRecord;
use crate::operate::UnitAction;
use crate::ssh::{HostStatus, LinkState};

/// Errors kept for dismissal; older ones beyond this are dropped.
const MAX_ERRORS: usize = 20;

/// Palette commands remembered for recall.
const MAX_PALETTE_HISTORY: usize = 50;

/// A configured app, as the console lists it.
#[derive(Clone, Debug)]
pub struct AppInfo {
    pub name: String,
    pub hosts: Vec<String>,
}

/// A configured host and its link.
#[derive(Clone, Debug)]
pub struct HostInfo {
    pub name: String,
    pub addr: String,
    pub link: LinkState,
    pub rtt: Option<Duration>,
}

/// Everything that can change the state.
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick,
    Link {
        host: String,
        status: HostStatus,
    },
    RunEvent {
        id: u64,
        event: Event,
    },
    RunDone {
        id: u64,
        outcome: Outcome,
    },
    DeployPlanned {
        app: String,
        plan: Result<DeployPlan, String>,
    },
    History {
        app: String,
        generation: u64,
        hosts: Vec<(String, Result<HostHistory, String>)>,
    },
    Status {
        app: String,
        hosts: Vec<AppHostStatus>,
    },
    /// A start, stop or restart ended: each host's units after it, or why it
    /// could not run at all.
    Controlled {
        app: String,
        action: UnitAction,
        result: Result<Vec<HostUnits>, String>,
    },
    /// The details of an app's units on its hosts.
    Units {
        app: String,
        hosts: Result<Vec<HostUnits>, String>,
    },
    /// An app's audit log, for the load of that generation.
    Audit {
        app: String,
        generation: u64,
        log: Result<AuditLog, String>,
    },
    Log(LogRecord),
    Prompt(Prompt),
    /// The lent shell ended; what to tell the user.
    ShellDone(String),
}

pub struct App {
    pub keymap: Keymap,
    pub apps: Vec<AppInfo>,
    pub hosts: Vec<HostInfo>,
    pub focus: Focus,
    pub tab: Tab,
    pub app_sel: usize,
    pub host_sel: usize,
    pub deploy: DeployTab,
    pub logs: LogView,
    pub history: HistoryView,
    pub status: StatusTab,
    pub audit: AuditView,
    pub overlay: Option<Overlay>,
    /// SSH questions waiting for an answer; the first is shown.
    pub prompts: Vec<Prompt>,
    pub toasts: Vec<Toast>,
    /// Errors not yet dismissed, oldest first; the newest is shown until Esc.
    pub errors: Vec<String>,
    /// The labels of the palette entries chosen, oldest first, each once.
    pub palette_history: Vec<String>,
    pub size: Rect,
    pub now: Instant,
    pub quit: bool,
    /// (app, host) of a shell the loop should open, handing it the terminal.
    pub shell_request: Option<(String, String)>,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    /// The environment laid over the config (`--env NAME`), shown in the header.
    pub environment: Option<String>,
}

impl App {
    pub fn new(apps: Vec<AppInfo>, hosts: Vec<HostInfo>, keymap: Keymap, now: Instant) -> App {
        App {
            keymap,
            apps,
            hosts,
            focus: Focus::Apps,
            tab: Tab::Deploy,
            app_sel: 0,
            host_sel: 0,
            deploy: DeployTab::default(),
            logs: LogView::default(),
            history: HistoryView::default(),
            status: StatusTab::default(),
            audit: AuditView::default(),
            overlay: None,
            prompts: Vec::new(),
            toasts: Vec::new(),
            errors: Vec::new(),
            palette_history: Vec::new(),
            size: Rect::new(0, 0, 80, 24),
            now,
            quit: false,
            shell_request: None,
            dirty: true,
            environment: None,
        }
    }

    /// Effects to run when the console opens: status of every app.
    pub fn start(&mut self) -> Vec<Effect> {
        self.load_all_status()
    }

    fn load_all_status(&self) -> Vec<Effect> {
        self.apps
            .iter()
            .flat_map(|a| {
                let app = a.name.clone();
                [
                    Effect::LoadStatus { app: app.clone() },
                    Effect::LoadUnits { app },
                ]
            })
            .collect()
    }

    pub fn selected_app(&self) -> Option<&AppInfo> {
        self.apps.get(self.app_sel)
    }

    /// Tell the user something: a success or a note as a toast that clears itself,
    /// an error on the error panel until it is dismissed.
    pub fn toast(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if level == Level::Error {
            if self.errors.last() != Some(&text) {
                self.errors.push(text);
            }
            if self.errors.len() > MAX_ERRORS {
                self.errors.remove(0);
            }
            return;
        }
        self.toasts.push(Toast {
            text,
            level,
            until: self.now + TOAST_FOR,
        });
        if self.toasts.len() > 3 {
            self.toasts.remove(0);
        }
    }

    /// Carry out what a tab asked for; returns its effects.
    fn apply(&mut self, reply: Reply) -> Vec<Effect> {
        if let Some((level, text)) = reply.toast {
            self.toast(level, text);
        }
        if let Some(confirm) = reply.confirm {
            self.overlay = Some(Overlay::Confirm(confirm));
        }
        if let Some(v) = reply.version {
            self.overlay = Some(Overlay::Version(v));
        }
        reply.effects
    }

    /// Fold one message into the state; returns the effects to start.
    pub fn update(&mut self, msg: Msg, now: Instant) -> Vec<Effect> {
        self.now = now;
        let mut fx = Vec::new();
        match msg {
            Msg::Tick => {
                let before = self.toasts.len();
                self.toasts.retain(|t| t.until > now);
                // Elapsed counters move while something runs.
                if before != self.toasts.len() || self.deploy.running() {
                    self.dirty = true;
                }
                return fx;
            }
            Msg::Key(k) => fx = self.on_key(k),
            Msg::Mouse(m) => fx = self.on_mouse(m),
            Msg::Resize(w, h) => self.size = Rect::new(0, 0, w, h),
            Msg::Link { host, status } => {
                if let Some(h) = self.hosts.iter_mut().find(|h| h.name == host) {
                    h.link = status.state;
                    h.rtt = status.rtt;
                }
            }
            Msg::RunEvent { id, event } => self.deploy.event(id, event, now),
            Msg::RunDone { id, outcome } => {
                if let Some((app, reply)) = self.deploy.done(id, outcome, now) {
                    fx = self.apply(reply);
                    fx.extend(self.reload_shown(&app));
                    fx.push(Effect::LoadUnits { app });
                }
            }
            Msg::DeployPlanned { app, plan } => {
                let hosts = self
                    .apps
                    .iter()
                    .find(|a| a.name == app)
                    .map(|a| a.hosts.clone());
                let current = self.status.current_versions(&app);
                let reply = self.deploy.planned(app, plan, hosts, current);
                fx = self.apply(reply);
            }
            Msg::History {
                app,
                generation,
                hosts,
            } => self.history.loaded(app, generation, hosts),
            Msg::Status { app, hosts } => self.status.loaded(app, hosts),
            Msg::Audit {
                app,
                generation,
                log,
            } => self.audit.loaded(app, generation, log),
            Msg::Units { app, hosts } => match hosts {
                Ok(hosts) => self.status.units_loaded(app, hosts),
                Err(e) => self.toast(Level::Error, format!("units of {app}: {e}")),
            },
            Msg::Controlled {
                app,
                action,
                result,
            } => fx = self.controlled(app, action, result),
            Msg::Log(r) => {
                self.logs.push(r);
                if self.tab != Tab::Logs {
                    // Not visible: no frame needed.
                    return fx;
                }
            }
            Msg::Prompt(p) => self.prompts.push(p),
            Msg::ShellDone(said) => self.toast(Level::Info, &said),
        }
        self.dirty = true;
        fx
    }

    /// The action the keymap gives a key event.
    fn action_of(&self, k: &KeyEvent) -> Option<Action> {
        key_of(k).and_then(|key| self.keymap.action(key))
    }

    /// Modal layers take keys first, with their own few keys; everything else goes
    /// through the keymap to a named action.
    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if !self.prompts.is_empty() {
            overlay::prompt_key(&mut self.prompts, &k);
            return Vec::new();
        }
        if let Some(overlay) = self.overlay.take() {
            let action = self.action_of(&k);
            return match overlay.on_key(&k, action) {
                OverlayKey::Keep(o) => {
                    self.overlay = Some(o);
                    Vec::new()
                }
                OverlayKey::Close => Vec::new(),
                OverlayKey::Confirmed(pending) => self.confirmed(pending),
                OverlayKey::Chosen { target, label } => {
                    self.palette_history.retain(|l| l != &label);
                    self.palette_history.push(label);
                    if self.palette_history.len() > MAX_PALETTE_HISTORY {
                        self.palette_history.remove(0);
                    }
                    self.choose(target)
                }
            };
        }
        if self.logs.editing {
            self.logs.filter_key(&k);
            return Vec::new();
        }
        if !self.errors.is_empty() && self.action_of(&k) == Some(Action::Back) {
            // Esc dismisses the error shown, before it backs out of anything.
            self.errors.pop();
            return Vec::new();
        }
        match self.action_of(&k) {
            Some(a) => self.act(a),
            None => Vec::new(),
        }
    }

    /// History and Audit follow the selected app while their tab is shown.
    pub fn follow_selection(&mut self) -> Option<Effect> {
        let app = self.selected_app()?.name.clone();
        match self.tab {
            Tab::History => self.history.stale_for(&app).then(|| self.history.load(app)),
            Tab::Audit => self.audit.stale_for(&app).then(|| self.audit.load(app)),
            _ => None,
        }
    }

    /// After an operation on `app`: reload its history and audit log where loaded.
    pub fn reload_shown(&mut self, app: &str) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.history.app == app {
            fx.push(self.history.load(app.to_string()));
        }
        if self.audit.app == app {
            fx.push(self.audit.load(app.to_string()));
        }
        fx
    }

    pub fn set_tab(&mut self, tab: Tab) -> Vec<Effect> {
        self.tab = tab;
        self.follow_selection().into_iter().collect()
    }

    /// Start what a confirmed dialog asked for.
    pub fn confirmed(&mut self, pending: Pending) -> Vec<Effect> {
        match pending {
            Pending::Quit => {
                self.quit = true;
                self.deploy.cancel().into_iter().collect()
            }
            Pending::Cancel => self.deploy.cancel().into_iter().collect(),
            Pending::Deploy {
                app,
                hosts,
                version,
            } => {
                self.tab = Tab::Deploy;
                vec![self.deploy.start_deploy(app, hosts, version, self.now)]
            }
            Pending::Rollback { app, hosts, to } => {
                self.tab = Tab::Deploy;
                vec![self.deploy.start_rollback(app, hosts, to, self.now)]
            }
            Pending::Control {
                app,
                processes,
                hosts,
                action,
            } => self.start_control(app, processes, hosts, action),
        }
    }

    /// Run a named action (from a key, the palette or a click).
    pub fn act(&mut self, action: Action) -> Vec<Effect> {
        let page = usize::from(self.size.height.saturating_sub(6)).max(1) as isize;
        match action {
            Action::Quit => match self.deploy.quit_confirm() {
                Some(c) => self.overlay = Some(Overlay::Confirm(c)),
                None => self.quit = true,
            },
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Palette => {
                let apps: Vec<String> = self.apps.iter().map(|a| a.name.clone()).collect();
                let hosts: Vec<String> = self.hosts.iter().map(|h| h.name.clone()).collect();
                let versions = self.history.rollback_targets();
                let entries = palette::entries(&apps, &hosts, &versions);
                self.overlay = Some(Overlay::Palette(
                    Palette::new(entries).with_history(self.palette_history.clone()),
                ));
            }
            Action::NextPane => self.focus = self.focus.cycle(true),
            Action::PrevPane => self.focus = self.focus.cycle(false),
            Action::Up => return self.move_sel(-1),
            Action::Down => return self.move_sel(1),
            Action::PageUp => return self.move_sel(-page),
            Action::PageDown => return self.move_sel(page),
            Action::Top => return self.move_sel(isize::MIN / 2),
            Action::Bottom => {
                if self.focus == Focus::Main && self.tab == Tab::Logs {
                    self.logs.jump_newest();
                } else {
                    return self.move_sel(isize::MAX / 2);
                }
            }
            Action::Select => match (self.focus, self.tab) {
                (Focus::Main, Tab::History) => return self.ask_rollback_selected(),
                (Focus::Apps, _) => self.focus = Focus::Main,
                _ => {}
            },
            Action::Back => {
                if !self.logs.filter.is_empty() {
                    self.logs.filter.clear();
                } else if self.focus == Focus::Main {
                    self.focus = Focus::Apps;
                }
            }
            Action::NextTab => return self.set_tab(self.tab.cycle(true)),
            Action::PrevTab => return self.set_tab(self.tab.cycle(false)),
            Action::TabDeploy => return self.set_tab(Tab::Deploy),
            Action::TabLogs => return self.set_tab(Tab::Logs),
            Action::TabHistory => return self.set_tab(Tab::History),
            Action::TabStatus => return self.set_tab(Tab::Status),
            Action::TabAudit => return self.set_tab(Tab::Audit),
            Action::Deploy => return self.ask_deploy(),
            Action::Rollback => {
                return if self.tab == Tab::History && self.history.selected_version().is_some() {
                    self.ask_rollback_selected()
                } else {
                    self.ask_rollback_previous()
                };
            }
            Action::Restart => return self.ask_control(UnitAction::Restart { force: false }),
            Action::Stop => return self.ask_control(UnitAction::Stop),
            Action::Start => return self.ask_control(UnitAction::Start),
            Action::Cancel => {
                let reply = self.deploy.ask_cancel();
                return self.apply(reply);
            }
            Action::Shell => self.ask_shell(),
            Action::Refresh => {
                let mut fx = self.load_all_status();
                if let Some(app) = self.selected_app().map(|a| a.name.clone()) {
                    fx.push(self.history.load(app.clone()));
                    if self.tab == Tab::Audit || self.audit.app == app {
                        fx.push(self.audit.load(app));
                    }
                }
                self.toast(Level::Info, "refreshing status, history and audit");
                return fx;
            }
            Action::Filter => {
                self.tab = Tab::Logs;
                self.focus = Focus::Main;
                self.logs.editing = true;
            }
            Action::Follow | Action::Wrap | Action::Timestamps | Action::Priority => {
                self.logs.act(action);
            }
        }
        Vec::new()
    }

    /// Up, Down, the page keys, Top and Bottom: in the side panels the selection,
    /// in the main panel whatever the tab moves.
    fn move_sel(&mut self, delta: isize) -> Vec<Effect> {
        match self.focus {
            Focus::Apps => {
                let before = self.app_sel;
                self.app_sel = step(self.app_sel, delta, self.apps.len());
                if before != self.app_sel {
                    return self.follow_selection().into_iter().collect();
                }
            }
            Focus::Hosts => self.host_sel = step(self.host_sel, delta, self.hosts.len()),
            Focus::Main => match self.tab {
                Tab::History => self.history.move_by(delta),
                Tab::Logs => self.logs.scroll_by(delta),
                Tab::Deploy => self.deploy.scroll_by(delta),
                Tab::Status => self.status.move_by(delta),
                Tab::Audit => self.audit.scroll_by(delta),
            },
        }
        Vec::new()
    }
}
