//! The console's state and its update function. One task owns an [`App`];
//! every input, engine event, host status change and timer arrives as a
//! [`Msg`]. `update` changes the state without doing I/O and returns the
//! [`Effect`]s (deploys, rollbacks, loads) for the runtime to start.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use tokio::sync::oneshot;

use super::keymap::Keymap;
use super::logs::{LogRecord, LogView};
use super::palette::{self, Palette, Target};
use super::run::{Outcome, Run, RunKind};
use crate::deploy::inspect::{HostHistory, HostStatus as AppHostStatus};
use crate::deploy::{DeployRequest, RollbackRequest};
use crate::engine::events::Event;
use crate::keys::Action;
use crate::ssh::{HostStatus, LinkState};

/// How long a toast stays.
pub const TOAST_FOR: Duration = Duration::from_secs(4);

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Apps,
    Hosts,
    Main,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Deploy,
    Logs,
    History,
    Status,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Deploy, Tab::Logs, Tab::History, Tab::Status];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Deploy => "Deploy",
            Tab::Logs => "Logs",
            Tab::History => "History",
            Tab::Status => "Status",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// What the confirmation dialog will start on yes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    Deploy {
        app: String,
        hosts: Vec<String>,
        version: String,
    },
    Rollback {
        app: String,
        hosts: Vec<String>,
        to: Option<String>,
    },
    Cancel,
    Quit,
}

#[derive(Clone, Debug)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    pub pending: Pending,
}

/// A question from the SSH layer, answered through a dialog.
pub enum Prompt {
    HostKey {
        host: String,
        addr: String,
        fingerprint: String,
        reply: oneshot::Sender<bool>,
    },
    Passphrase {
        host: String,
        key_file: String,
        input: String,
        reply: oneshot::Sender<Option<String>>,
    },
}

/// A modal layer over the screen; it gets the keys first.
pub enum Overlay {
    Confirm(Confirm),
    Palette(Palette),
    Help { scroll: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Error,
}

#[derive(Clone, Debug)]
pub struct Toast {
    pub text: String,
    pub level: Level,
    pub until: Instant,
}

/// What the plan step found for the confirmation dialog.
#[derive(Clone, Debug, Default)]
pub struct DeployPlan {
    pub version: String,
    /// `git log --oneline CURRENT..HEAD`, when cheap to know.
    pub commits: Vec<String>,
}

/// The History tab's data for one app.
#[derive(Clone, Debug, Default)]
pub struct HistoryView {
    pub app: String,
    pub loading: bool,
    /// Load generation: older answers are dropped (latest wins).
    pub generation: u64,
    pub hosts: Vec<(String, Result<HostHistory, String>)>,
    pub selected: usize,
}

impl HistoryView {
    /// Selectable rows: (host, index into its releases).
    pub fn rows(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (hi, (_, h)) in self.hosts.iter().enumerate() {
            if let Ok(h) = h {
                out.extend((0..h.releases.len()).map(|ri| (hi, ri)));
            }
        }
        out
    }

    /// Screen lines of the History table: a header, then per host a title
    /// line and one line per release (or one for an error or no releases).
    /// Returns the selectable row shown on `line`, if any.
    pub fn row_at_line(&self, line: usize) -> Option<usize> {
        let mut y = 1;
        let mut row = 0;
        for (_, h) in &self.hosts {
            y += 1;
            let real = h.as_ref().map(|h| h.releases.len()).unwrap_or(0);
            let n = real.max(1);
            if line < y + n {
                let k = line.checked_sub(y)?;
                return (k < real).then_some(row + k);
            }
            y += n;
            row += real;
        }
        None
    }

    /// The first line shown so that the selection stays on screen.
    pub fn offset_for(&self, height: usize) -> usize {
        let mut y = 1;
        let mut row = 0;
        for (_, h) in &self.hosts {
            y += 1;
            let real = h.as_ref().map(|h| h.releases.len()).unwrap_or(0);
            if self.selected < row + real {
                let line = y + self.selected - row;
                return line.saturating_sub(height.saturating_sub(2));
            }
            y += real.max(1);
            row += real;
        }
        0
    }

    pub fn selected_release(&self) -> Option<(&str, &crate::deploy::inspect::Release)> {
        let (hi, ri) = *self.rows().get(self.selected)?;
        let (host, h) = self.hosts.get(hi)?;
        let r = h.as_ref().ok()?.releases.get(ri)?;
        Some((host.as_str(), r))
    }
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
    Log(LogRecord),
    Prompt(Prompt),
    /// The lent shell ended; what to tell the user.
    ShellDone(String),
}

/// Work for the runtime: each is spawned as its own task and answers with a Msg.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Resolve the version and the commits since the hosts' current version.
    PlanDeploy {
        app: String,
        current: Vec<String>,
    },
    Deploy {
        id: u64,
        req: DeployRequest,
    },
    Rollback {
        id: u64,
        req: RollbackRequest,
    },
    /// Stop the run and release its locks.
    Cancel {
        id: u64,
        app: String,
        hosts: Vec<String>,
    },
    LoadHistory {
        app: String,
        generation: u64,
    },
    LoadStatus {
        app: String,
    },
}

pub struct App {
    pub keymap: Keymap,
    pub apps: Vec<AppInfo>,
    pub hosts: Vec<HostInfo>,
    pub focus: Focus,
    pub tab: Tab,
    pub app_sel: usize,
    pub host_sel: usize,
    pub run: Option<Run>,
    next_run: u64,
    pub deploy_scroll: usize,
    pub history: HistoryView,
    pub status: BTreeMap<String, Vec<AppHostStatus>>,
    pub status_scroll: usize,
    pub logs: LogView,
    /// The logs filter is being typed.
    pub filter_edit: bool,
    pub overlay: Option<Overlay>,
    /// SSH questions waiting for an answer; the first is shown.
    pub prompts: Vec<Prompt>,
    pub toasts: Vec<Toast>,
    pub size: Rect,
    pub now: Instant,
    pub quit: bool,
    /// (app, host) of a shell the loop should open, handing it the terminal.
    pub shell_request: Option<(String, String)>,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    /// A plan is being resolved for this app.
    pub planning: Option<String>,
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
            shell_request: None,
            run: None,
            next_run: 1,
            deploy_scroll: 0,
            history: HistoryView::default(),
            status: BTreeMap::new(),
            status_scroll: 0,
            logs: LogView::default(),
            filter_edit: false,
            overlay: None,
            prompts: Vec::new(),
            toasts: Vec::new(),
            size: Rect::new(0, 0, 80, 24),
            now,
            quit: false,
            dirty: true,
            planning: None,
        }
    }

    /// Effects to run when the console opens: status of every app.
    pub fn start(&mut self) -> Vec<Effect> {
        self.apps
            .iter()
            .map(|a| Effect::LoadStatus {
                app: a.name.clone(),
            })
            .collect()
    }

    pub fn selected_app(&self) -> Option<&AppInfo> {
        self.apps.get(self.app_sel)
    }

    pub fn toast(&mut self, level: Level, text: impl Into<String>) {
        self.toasts.push(Toast {
            text: text.into(),
            level,
            until: self.now + TOAST_FOR,
        });
        if self.toasts.len() > 3 {
            self.toasts.remove(0);
        }
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
                if before != self.toasts.len() || self.run.as_ref().is_some_and(Run::running) {
                    self.dirty = true;
                }
                return fx;
            }
            Msg::Key(k) => fx = super::input::on_key(self, k),
            Msg::Mouse(m) => fx = super::input::on_mouse(self, m),
            Msg::Resize(w, h) => self.size = Rect::new(0, 0, w, h),
            Msg::Link { host, status } => {
                if let Some(h) = self.hosts.iter_mut().find(|h| h.name == host) {
                    h.link = status.state;
                    h.rtt = status.rtt;
                }
            }
            Msg::RunEvent { id, event } => {
                if let Some(run) = self.run.as_mut().filter(|r| r.id == id) {
                    run.apply(event, now);
                }
            }
            Msg::RunDone { id, outcome } => fx = self.run_done(id, outcome),
            Msg::DeployPlanned { app, plan } => self.deploy_planned(app, plan),
            Msg::History {
                app,
                generation,
                hosts,
            } => {
                if app == self.history.app && generation == self.history.generation {
                    self.history.hosts = hosts;
                    self.history.loading = false;
                    let n = self.history.rows().len();
                    self.history.selected = self.history.selected.min(n.saturating_sub(1));
                }
            }
            Msg::Status { app, hosts } => {
                self.status.insert(app, hosts);
            }
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

    fn run_done(&mut self, id: u64, outcome: Outcome) -> Vec<Effect> {
        let Some(run) = self.run.as_mut().filter(|r| r.id == id) else {
            return Vec::new();
        };
        let (level, text) = match &outcome {
            Outcome::Report(r) if r.ok() => (
                Level::Ok,
                format!(
                    "{} {} {}: ok on {}",
                    run.kind.verb(),
                    r.app,
                    r.version,
                    r.hosts.len()
                ),
            ),
            Outcome::Report(r) => (
                Level::Error,
                format!(
                    "{} {} failed on {}",
                    run.kind.verb(),
                    r.app,
                    r.hosts
                        .iter()
                        .filter(|h| !h.ok)
                        .map(|h| h.host.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Outcome::Error(e) => (Level::Error, format!("{} failed: {e}", run.kind.verb())),
            Outcome::Cancelled => (Level::Info, format!("{} cancelled", run.kind.verb())),
        };
        run.finish(outcome, self.now);
        let app = run.app.clone();
        self.toast(level, text);
        let mut fx = vec![Effect::LoadStatus { app: app.clone() }];
        if self.history.app == app {
            fx.push(self.load_history(app));
        }
        fx
    }

    fn deploy_planned(&mut self, app: String, plan: Result<DeployPlan, String>) {
        if self.planning.as_deref() != Some(app.as_str()) {
            return;
        }
        self.planning = None;
        let plan = match plan {
            Ok(p) => p,
            Err(e) => {
                self.toast(Level::Error, format!("cannot plan {app}: {e}"));
                return;
            }
        };
        let Some(info) = self.apps.iter().find(|a| a.name == app) else {
            return;
        };
        let hosts = info.hosts.clone();
        let mut lines = vec![
            format!("version  {}", plan.version),
            format!("hosts    {}", hosts.join(", ")),
        ];
        let current: Vec<String> = self
            .current_versions(&app)
            .into_iter()
            .map(|(h, v)| format!("{h}: {}", v.unwrap_or_else(|| "—".into())))
            .collect();
        if !current.is_empty() {
            lines.push(format!("current  {}", current.join(", ")));
        }
        if !plan.commits.is_empty() {
            lines.push(format!(
                "commits since the current version ({}):",
                plan.commits.len()
            ));
            lines.extend(plan.commits.iter().take(8).map(|c| format!("  {c}")));
            if plan.commits.len() > 8 {
                lines.push(format!("  … {} more", plan.commits.len() - 8));
            }
        }
        self.overlay = Some(Overlay::Confirm(Confirm {
            title: format!("Deploy {app}?"),
            lines,
            pending: Pending::Deploy {
                app,
                hosts,
                version: plan.version,
            },
        }));
    }

    /// The current version of an app per host, from the last status load.
    pub fn current_versions(&self, app: &str) -> Vec<(String, Option<String>)> {
        self.status
            .get(app)
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.host.clone(), h.current.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn load_history(&mut self, app: String) -> Effect {
        self.history.generation += 1;
        if self.history.app != app {
            self.history.hosts.clear();
            self.history.selected = 0;
        }
        self.history.app = app.clone();
        self.history.loading = true;
        Effect::LoadHistory {
            app,
            generation: self.history.generation,
        }
    }

    /// History follows the selected app while its tab is shown.
    pub fn history_for_selection(&mut self) -> Option<Effect> {
        let app = self.selected_app()?.name.clone();
        let stale =
            self.history.app != app || (self.history.hosts.is_empty() && !self.history.loading);
        (self.tab == Tab::History && stale).then(|| self.load_history(app))
    }

    pub fn set_tab(&mut self, tab: Tab) -> Vec<Effect> {
        self.tab = tab;
        self.history_for_selection().into_iter().collect()
    }

    /// Start what a confirmed dialog asked for.
    pub fn confirmed(&mut self, pending: Pending) -> Vec<Effect> {
        match pending {
            Pending::Quit => {
                let mut fx = Vec::new();
                if let Some(run) = self.run.as_ref().filter(|r| r.running()) {
                    fx.push(Effect::Cancel {
                        id: run.id,
                        app: run.app.clone(),
                        hosts: run.hosts.clone(),
                    });
                }
                self.quit = true;
                fx
            }
            Pending::Cancel => match self.run.as_ref().filter(|r| r.running()) {
                Some(run) => vec![Effect::Cancel {
                    id: run.id,
                    app: run.app.clone(),
                    hosts: run.hosts.clone(),
                }],
                None => Vec::new(),
            },
            Pending::Deploy {
                app,
                hosts,
                version,
            } => {
                let id =
                    self.begin_run(RunKind::Deploy, &app, Some(version.clone()), hosts.clone());
                vec![Effect::Deploy {
                    id,
                    req: DeployRequest {
                        app,
                        hosts,
                        version: Some(version),
                        lock_wait: None,
                        force_unlock: false,
                    },
                }]
            }
            Pending::Rollback { app, hosts, to } => {
                let id = self.begin_run(RunKind::Rollback, &app, to.clone(), hosts.clone());
                vec![Effect::Rollback {
                    id,
                    req: RollbackRequest {
                        app,
                        hosts,
                        to,
                        lock_wait: None,
                        force_unlock: false,
                    },
                }]
            }
        }
    }

    fn begin_run(
        &mut self,
        kind: RunKind,
        app: &str,
        version: Option<String>,
        hosts: Vec<String>,
    ) -> u64 {
        let id = self.next_run;
        self.next_run += 1;
        self.run = Some(Run::new(id, kind, app, version, hosts, self.now));
        self.deploy_scroll = 0;
        self.tab = Tab::Deploy;
        id
    }

    /// Run a named action (from a key, the palette or a click).
    pub fn act(&mut self, action: Action) -> Vec<Effect> {
        let page = usize::from(self.size.height.saturating_sub(6)).max(1);
        match action {
            Action::Quit => {
                if self.run.as_ref().is_some_and(Run::running) {
                    self.overlay = Some(Overlay::Confirm(Confirm {
                        title: "Quit?".into(),
                        lines: vec![
                            "A deploy or rollback is running.".into(),
                            "Quitting stops it and releases its locks.".into(),
                        ],
                        pending: Pending::Quit,
                    }));
                } else {
                    self.quit = true;
                }
            }
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Palette => {
                let apps: Vec<String> = self.apps.iter().map(|a| a.name.clone()).collect();
                let hosts: Vec<String> = self.hosts.iter().map(|h| h.name.clone()).collect();
                let mut versions = Vec::new();
                for (host, h) in &self.history.hosts {
                    if let Ok(h) = h {
                        versions.extend(
                            h.releases
                                .iter()
                                .filter(|r| !r.current)
                                .map(|r| (host.clone(), r.version.clone())),
                        );
                    }
                }
                self.overlay = Some(Overlay::Palette(Palette::new(palette::entries(
                    &apps, &hosts, &versions,
                ))));
            }
            Action::NextPane | Action::PrevPane => {
                let order = [Focus::Apps, Focus::Hosts, Focus::Main];
                let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
                let n = if action == Action::NextPane {
                    i + 1
                } else {
                    i + 2
                };
                self.focus = order[n % 3];
            }
            Action::Up => return self.move_sel(-1),
            Action::Down => return self.move_sel(1),
            Action::PageUp => return self.move_sel(-(page as isize)),
            Action::PageDown => return self.move_sel(page as isize),
            Action::Top => return self.move_sel(isize::MIN / 2),
            Action::Bottom => {
                if self.focus == Focus::Main && self.tab == Tab::Logs {
                    self.logs.jump_newest();
                } else {
                    return self.move_sel(isize::MAX / 2);
                }
            }
            Action::Select => match (self.focus, self.tab) {
                (Focus::Main, Tab::History) => self.ask_rollback_selected(),
                (Focus::Apps, _) => {
                    self.focus = Focus::Main;
                }
                _ => {}
            },
            Action::Back => {
                if !self.logs.filter.is_empty() {
                    self.logs.filter.clear();
                } else if self.focus == Focus::Main {
                    self.focus = Focus::Apps;
                }
            }
            Action::NextTab => {
                let i = (self.tab.index() + 1) % Tab::ALL.len();
                return self.set_tab(Tab::ALL[i]);
            }
            Action::PrevTab => {
                let i = (self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len();
                return self.set_tab(Tab::ALL[i]);
            }
            Action::TabDeploy => return self.set_tab(Tab::Deploy),
            Action::TabLogs => return self.set_tab(Tab::Logs),
            Action::TabHistory => return self.set_tab(Tab::History),
            Action::TabStatus => return self.set_tab(Tab::Status),
            Action::Deploy => return self.ask_deploy(),
            Action::Rollback => {
                if self.tab == Tab::History && self.history.selected_release().is_some() {
                    self.ask_rollback_selected();
                } else {
                    self.ask_rollback_previous();
                }
            }
            Action::Cancel => {
                if self.run.as_ref().is_some_and(Run::running) {
                    self.overlay = Some(Overlay::Confirm(Confirm {
                        title: "Cancel?".into(),
                        lines: vec![
                            "Stop the running operation and release its locks?".into(),
                            "Hosts already switched keep the new release.".into(),
                        ],
                        pending: Pending::Cancel,
                    }));
                } else {
                    self.toast(Level::Info, "nothing is running");
                }
            }
            Action::Shell => {
                let Some(app) = self.selected_app().cloned() else {
                    self.toast(Level::Error, "no app selected");
                    return Vec::new();
                };
                // The selected host if the app runs there, else its first host.
                let selected = self.hosts.get(self.host_sel).map(|h| h.name.clone());
                let host = selected
                    .filter(|h| self.focus == Focus::Hosts && app.hosts.contains(h))
                    .or_else(|| app.hosts.first().cloned());
                match host {
                    Some(h) => self.shell_request = Some((app.name, h)),
                    None => self.toast(Level::Error, "the app has no hosts"),
                }
            }
            Action::Refresh => {
                let mut fx: Vec<Effect> = self
                    .apps
                    .iter()
                    .map(|a| Effect::LoadStatus {
                        app: a.name.clone(),
                    })
                    .collect();
                if let Some(app) = self.selected_app().map(|a| a.name.clone()) {
                    fx.push(self.load_history(app));
                }
                self.toast(Level::Info, "refreshing status and history");
                return fx;
            }
            Action::Filter => {
                self.tab = Tab::Logs;
                self.focus = Focus::Main;
                self.filter_edit = true;
            }
            Action::Follow => self.logs.toggle_follow(),
            Action::Wrap => self.logs.wrap = !self.logs.wrap,
            Action::Timestamps => self.logs.timestamps = !self.logs.timestamps,
            Action::Priority => self.logs.cycle_priority(),
        }
        Vec::new()
    }

    fn move_sel(&mut self, delta: isize) -> Vec<Effect> {
        fn step(v: usize, delta: isize, len: usize) -> usize {
            if len == 0 {
                return 0;
            }
            (v as isize)
                .saturating_add(delta)
                .clamp(0, len as isize - 1) as usize
        }
        match self.focus {
            Focus::Apps => {
                let before = self.app_sel;
                self.app_sel = step(self.app_sel, delta, self.apps.len());
                if before != self.app_sel {
                    return self.history_for_selection().into_iter().collect();
                }
            }
            Focus::Hosts => self.host_sel = step(self.host_sel, delta, self.hosts.len()),
            Focus::Main => match self.tab {
                Tab::History => {
                    let n = self.history.rows().len();
                    self.history.selected = step(self.history.selected, delta, n);
                }
                Tab::Logs => {
                    if delta < 0 {
                        self.logs.scroll_up(delta.unsigned_abs());
                    } else {
                        self.logs.scroll_down(delta.unsigned_abs());
                    }
                }
                Tab::Deploy => {
                    // Scrolling back through the output: 0 = newest.
                    let n = self.run.as_ref().map(|r| r.output.len()).unwrap_or(0);
                    self.deploy_scroll = step(self.deploy_scroll, -delta, n.max(1));
                }
                Tab::Status => self.status_scroll = step(self.status_scroll, delta, 1000),
            },
        }
        Vec::new()
    }

    fn ask_deploy(&mut self) -> Vec<Effect> {
        if self.run.as_ref().is_some_and(Run::running) {
            self.toast(Level::Error, "a deploy or rollback is already running");
            return Vec::new();
        }
        let Some(app) = self.selected_app().map(|a| a.name.clone()) else {
            self.toast(Level::Error, "no app selected");
            return Vec::new();
        };
        self.planning = Some(app.clone());
        self.toast(Level::Info, format!("planning {app}…"));
        let current = self
            .current_versions(&app)
            .into_iter()
            .filter_map(|(_, v)| v)
            .collect();
        vec![Effect::PlanDeploy { app, current }]
    }

    fn ask_rollback_selected(&mut self) {
        if self.run.as_ref().is_some_and(Run::running) {
            self.toast(Level::Error, "a deploy or rollback is already running");
            return;
        }
        let Some((host, r)) = self.history.selected_release() else {
            return;
        };
        if r.current {
            self.toast(
                Level::Info,
                format!("{} is already current on {host}", r.version),
            );
            return;
        }
        let mut lines = vec![
            format!("version  {}", r.version),
            format!("host     {host}"),
            format!("deployed {} by {}", r.deployed_at, r.by),
        ];
        if r.bad {
            lines.push("this release is marked BAD (it failed its health check)".into());
        }
        self.overlay = Some(Overlay::Confirm(Confirm {
            title: format!("Roll {} back?", self.history.app),
            lines,
            pending: Pending::Rollback {
                app: self.history.app.clone(),
                hosts: vec![host.to_string()],
                to: Some(r.version.clone()),
            },
        }));
    }

    fn ask_rollback_previous(&mut self) {
        if self.run.as_ref().is_some_and(Run::running) {
            self.toast(Level::Error, "a deploy or rollback is already running");
            return;
        }
        let Some(app) = self.selected_app().cloned() else {
            return;
        };
        self.overlay = Some(Overlay::Confirm(Confirm {
            title: format!("Roll {} back?", app.name),
            lines: vec![
                "to the previous good release on each host".into(),
                format!("hosts    {}", app.hosts.join(", ")),
            ],
            pending: Pending::Rollback {
                app: app.name.clone(),
                hosts: app.hosts.clone(),
                to: None,
            },
        }));
    }

    /// Choose a palette entry.
    pub fn choose(&mut self, target: Target) -> Vec<Effect> {
        match target {
            Target::Action(a) => self.act(a),
            Target::App(name) => {
                if let Some(i) = self.apps.iter().position(|a| a.name == name) {
                    self.app_sel = i;
                    self.focus = Focus::Apps;
                }
                self.history_for_selection().into_iter().collect()
            }
            Target::Host(name) => {
                if let Some(i) = self.hosts.iter().position(|h| h.name == name) {
                    self.host_sel = i;
                    self.focus = Focus::Hosts;
                }
                Vec::new()
            }
            Target::Version { host, version } => {
                let rows = self.history.rows();
                if let Some(i) = rows.iter().position(|(hi, ri)| {
                    self.history.hosts.get(*hi).is_some_and(|(h, hist)| {
                        h == &host
                            && hist
                                .as_ref()
                                .ok()
                                .and_then(|x| x.releases.get(*ri))
                                .is_some_and(|r| r.version == version)
                    })
                }) {
                    self.history.selected = i;
                    self.tab = Tab::History;
                    self.focus = Focus::Main;
                    self.ask_rollback_selected();
                }
                Vec::new()
            }
        }
    }
}
