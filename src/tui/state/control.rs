//! Start, stop and restart of the selected app's units from the console (or of the
//! process of the unit selected in the Status tab, on its host): the question
//! (which units, which hosts, what it does), the call (one `operate::control` per
//! confirmed action) and its answer (a toast when every host did it, an error
//! naming the hosts that did not; the Status tab shows the units after it).

use super::*;
use crate::operate::ControlRequest;

impl App {
    /// The app's hosts the action is for: the selected host when the Hosts panel
    /// has the focus and the app runs there, else all of them.
    fn control_hosts(&self, app: &AppInfo) -> Vec<String> {
        let selected = self.hosts.get(self.host_sel).map(|h| h.name.clone());
        match selected.filter(|h| self.focus == Focus::Hosts && app.hosts.contains(h)) {
            Some(h) => vec![h],
            None => app.hosts.clone(),
        }
    }

    /// Ask before `action` on the selected app's units.
    pub(super) fn ask_control(&mut self, action: UnitAction) -> Vec<Effect> {
        if let Some(busy) = self.deploy.busy() {
            return self.apply(busy);
        }
        let row = (self.tab == Tab::Status && self.focus == Focus::Main)
            .then(|| self.status.selected_row())
            .flatten();
        let (name, processes, hosts) = match row {
            Some(r) => (r.app, vec![r.process], vec![r.host]),
            None => {
                let Some(app) = self.selected_app().cloned() else {
                    self.toast(Level::Error, "no app selected");
                    return Vec::new();
                };
                let hosts = self.control_hosts(&app);
                (app.name, Vec::new(), hosts)
            }
        };
        let verb = action.verb();
        let units = match processes.first() {
            Some(p) => format!("{verb} the {p} units of {name} on"),
            None => format!("{verb} every unit of {name} on"),
        };
        let what = match action {
            UnitAction::Restart { .. } => {
                "reloads each unit that can reload, restarts the others".to_string()
            }
            UnitAction::Stop => "the app stops serving there until it is started".to_string(),
            UnitAction::Start => "starts the units of the current release".to_string(),
        };
        let mut title = verb.to_string();
        title[..1].make_ascii_uppercase();
        let confirm = Confirm {
            title: format!("{title} {name}?"),
            lines: vec![units, format!("hosts    {}", hosts.join(", ")), what],
            pending: Pending::Control {
                app: name,
                processes,
                hosts,
                action,
            },
        };
        self.apply(Reply::confirm(confirm))
    }

    /// A confirmed action: the Status tab shows its answer.
    pub(super) fn start_control(
        &mut self,
        app: String,
        processes: Vec<String>,
        hosts: Vec<String>,
        action: UnitAction,
    ) -> Vec<Effect> {
        self.tab = Tab::Status;
        self.toast(
            Level::Info,
            format!("{} {app} on {}…", action.verb(), hosts.join(", ")),
        );
        vec![Effect::Control {
            req: ControlRequest {
                app,
                processes,
                hosts,
                action,
            },
        }]
    }

    /// The answer of a start, stop or restart.
    pub(super) fn controlled(
        &mut self,
        app: String,
        action: UnitAction,
        result: Result<Vec<HostUnits>, String>,
    ) -> Vec<Effect> {
        let verb = action.verb();
        match result {
            Err(e) => self.toast(Level::Error, format!("{verb} {app}: {e}")),
            Ok(hosts) => {
                let failed: Vec<String> = hosts
                    .iter()
                    .filter_map(|h| h.error.as_ref().map(|e| format!("{}: {e}", h.host)))
                    .collect();
                let done: Vec<&str> = hosts
                    .iter()
                    .filter(|h| h.ok())
                    .map(|h| h.host.as_str())
                    .collect();
                if failed.is_empty() {
                    self.toast(
                        Level::Ok,
                        format!("{verb} {app}: done on {}", done.join(", ")),
                    );
                } else {
                    self.toast(
                        Level::Error,
                        format!("{verb} {app} failed on {}", failed.join("; ")),
                    );
                }
                self.status.units_loaded(app.clone(), hosts);
            }
        }
        let mut fx = self.reload_shown(&app);
        fx.push(Effect::LoadStatus { app });
        fx
    }
}
