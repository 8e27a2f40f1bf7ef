//! The questions the console asks before it acts (deploy, rollback, a shell) and
//! what a palette entry leads to.

use super::*;

impl App {
    pub(super) fn ask_deploy(&mut self) -> Vec<Effect> {
        if let Some(busy) = self.deploy.busy() {
            return self.apply(busy);
        }
        let Some(app) = self.selected_app().map(|a| a.name.clone()) else {
            self.toast(Level::Error, "no app selected");
            return Vec::new();
        };
        let current = self
            .status
            .current_versions(&app)
            .into_iter()
            .filter_map(|(_, v)| v)
            .collect();
        let reply = self.deploy.plan(app, current);
        self.apply(reply)
    }

    pub(super) fn ask_rollback_selected(&mut self) -> Vec<Effect> {
        let reply = match self.deploy.busy() {
            Some(busy) => busy,
            None => self.history.ask_rollback(),
        };
        self.apply(reply)
    }

    pub(super) fn ask_rollback_previous(&mut self) -> Vec<Effect> {
        let reply = match (self.deploy.busy(), self.selected_app()) {
            (Some(busy), _) => busy,
            (None, Some(app)) => {
                Reply::confirm(DeployTab::rollback_previous(&app.name, &app.hosts))
            }
            (None, None) => Reply::default(),
        };
        self.apply(reply)
    }

    /// `s`: a shell on the selected host if the app runs there, else on its first.
    pub(super) fn ask_shell(&mut self) {
        let Some(app) = self.selected_app().cloned() else {
            self.toast(Level::Error, "no app selected");
            return;
        };
        let selected = self.hosts.get(self.host_sel).map(|h| h.name.clone());
        let host = selected
            .filter(|h| self.focus == Focus::Hosts && app.hosts.contains(h))
            .or_else(|| app.hosts.first().cloned());
        match host {
            Some(h) => self.shell_request = Some((app.name, h)),
            None => self.toast(Level::Error, "the app has no hosts"),
        }
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
                self.follow_selection().into_iter().collect()
            }
            Target::Host(name) => {
                if let Some(i) = self.hosts.iter().position(|h| h.name == name) {
                    self.host_sel = i;
                    self.focus = Focus::Hosts;
                }
                Vec::new()
            }
            Target::Version(version) => {
                if self.history.select_version(&version) {
                    self.tab = Tab::History;
                    self.focus = Focus::Main;
                    return self.ask_rollback_selected();
                }
                Vec::new()
            }
        }
    }
}
