//! The History tab's state: the kept releases of one app on each of its hosts, the
//! selected row, and loading with "latest wins" (an answer to an older request is
//! dropped). Enter on a row asks to roll back to that release.

use super::effect::{Effect, Level, Reply};
use super::overlay::{Confirm, Pending};
use crate::inspect::{HostHistory, Release};
use crate::tui::focus::step;

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
    /// Start loading the history of `app`; the effect carries the new generation.
    pub fn load(&mut self, app: String) -> Effect {
        self.generation += 1;
        if self.app != app {
            self.hosts.clear();
            self.selected = 0;
        }
        self.app = app.clone();
        self.loading = true;
        Effect::LoadHistory {
            app,
            generation: self.generation,
        }
    }

    /// Whether what is shown is not `app`'s history, and none is on the way.
    pub fn stale_for(&self, app: &str) -> bool {
        self.app != app || (self.hosts.is_empty() && !self.loading)
    }

    /// A load answered; kept only if it answers the latest request.
    pub fn loaded(
        &mut self,
        app: String,
        generation: u64,
        hosts: Vec<(String, Result<HostHistory, String>)>,
    ) {
        if app == self.app && generation == self.generation {
            self.hosts = hosts;
            self.loading = false;
            let n = self.rows().len();
            self.selected = self.selected.min(n.saturating_sub(1));
        }
    }

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

    /// Move the selection by `delta` rows.
    pub fn move_by(&mut self, delta: isize) {
        self.selected = step(self.selected, delta, self.rows().len());
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

    /// A click on line `line` of a table `height` lines high selects the row there.
    pub fn click(&mut self, line: usize, height: usize) {
        if let Some(i) = self.row_at_line(self.offset_for(height) + line) {
            self.selected = i;
        }
    }

    pub fn selected_release(&self) -> Option<(&str, &Release)> {
        let (hi, ri) = *self.rows().get(self.selected)?;
        let (host, h) = self.hosts.get(hi)?;
        let r = h.as_ref().ok()?.releases.get(ri)?;
        Some((host.as_str(), r))
    }

    /// Select the row of `version` on `host`; false if it is not listed.
    pub fn select_version(&mut self, host: &str, version: &str) -> bool {
        let found = self.rows().iter().position(|(hi, ri)| {
            self.hosts.get(*hi).is_some_and(|(h, hist)| {
                h == host
                    && hist
                        .as_ref()
                        .ok()
                        .and_then(|x| x.releases.get(*ri))
                        .is_some_and(|r| r.version == version)
            })
        });
        if let Some(i) = found {
            self.selected = i;
        }
        found.is_some()
    }

    /// (host, version) of every kept release that is not current, for the palette.
    pub fn rollback_targets(&self) -> Vec<(String, String)> {
        let mut versions = Vec::new();
        for (host, h) in &self.hosts {
            if let Ok(h) = h {
                versions.extend(
                    h.releases
                        .iter()
                        .filter(|r| !r.current)
                        .map(|r| (host.clone(), r.version.clone())),
                );
            }
        }
        versions
    }

    /// Ask to roll back to the selected release on its host.
    pub fn ask_rollback(&self) -> Reply {
        let Some((host, r)) = self.selected_release() else {
            return Reply::default();
        };
        if r.current {
            return Reply::toast(
                Level::Info,
                format!("{} is already current on {host}", r.version),
            );
        }
        let mut lines = vec![
            format!("version  {}", r.version),
            format!("host     {host}"),
            format!("deployed {} by {}", r.deployed_at, r.by),
        ];
        if r.bad {
            lines.push("this release is marked BAD (it failed its health check)".into());
        }
        Reply::confirm(Confirm {
            title: format!("Roll {} back?", self.app),
            lines,
            pending: Pending::Rollback {
                app: self.app.clone(),
                hosts: vec![host.to_string()],
                to: Some(r.version.clone()),
            },
        })
    }
}
