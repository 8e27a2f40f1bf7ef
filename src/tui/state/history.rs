//! The History tab's state: the kept releases of one app on its hosts, merged into
//! one list of versions (when, commit, who, on which hosts each is kept, where it is
//! current, where it went bad), the selected row, and loading with "latest wins" (an
//! answer to an older request is dropped). Enter on a row asks to roll the whole app
//! back to that version on every host that keeps it.

use super::effect::{Effect, Level, Reply};
use super::overlay::{Confirm, Pending};
use crate::inspect::HostHistory;
use crate::tui::focus::step;

/// One version of the app, over all its hosts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionRow {
    /// The release id, as the hosts keep it.
    pub version: String,
    pub commit: Option<String>,
    /// The latest deploy of it on any host.
    pub deployed_at: String,
    pub by: String,
    /// In the app's order of hosts.
    pub kept_on: Vec<String>,
    pub current_on: Vec<String>,
    pub bad_on: Vec<String>,
}

/// The History tab's data for one app.
#[derive(Clone, Debug, Default)]
pub struct HistoryView {
    pub app: String,
    pub loading: bool,
    /// Load generation: older answers are dropped (latest wins).
    pub generation: u64,
    /// Every host of the app, with its history or why it could not be read.
    pub hosts: Vec<(String, Result<HostHistory, String>)>,
    /// The versions of all hosts, newest first.
    pub versions: Vec<VersionRow>,
    pub selected: usize,
}

/// The versions kept on `hosts`, merged by release id, newest deploy first.
pub fn merge(hosts: &[(String, Result<HostHistory, String>)]) -> Vec<VersionRow> {
    let mut rows: Vec<VersionRow> = Vec::new();
    for (host, h) in hosts {
        let Ok(h) = h else { continue };
        for r in &h.releases {
            let i = match rows.iter().position(|x| x.version == r.version) {
                Some(i) => i,
                None => {
                    rows.push(VersionRow {
                        version: r.version.clone(),
                        ..VersionRow::default()
                    });
                    rows.len() - 1
                }
            };
            let row = &mut rows[i];
            if r.deployed_at > row.deployed_at {
                row.deployed_at = r.deployed_at.clone();
                row.by = r.by.clone();
            }
            if row.commit.is_none() {
                row.commit = r.commit.clone();
            }
            row.kept_on.push(host.clone());
            if r.current {
                row.current_on.push(host.clone());
            }
            if r.bad {
                row.bad_on.push(host.clone());
            }
        }
    }
    // RFC 3339 in UTC sorts as text; equal times keep the order found.
    rows.sort_by(|a, b| b.deployed_at.cmp(&a.deployed_at));
    rows
}

impl HistoryView {
    /// Start loading the history of `app`; the effect carries the new generation.
    pub fn load(&mut self, app: String) -> Effect {
        self.generation += 1;
        if self.app != app {
            self.hosts.clear();
            self.versions.clear();
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

    /// A load answered; kept only if it answers the latest request. The selection
    /// stays on its version when that is still listed.
    pub fn loaded(
        &mut self,
        app: String,
        generation: u64,
        hosts: Vec<(String, Result<HostHistory, String>)>,
    ) {
        if app == self.app && generation == self.generation {
            let was = self.selected_version().map(|v| v.version.clone());
            self.versions = merge(&hosts);
            self.hosts = hosts;
            self.loading = false;
            if !was.is_some_and(|v| self.select_version(&v)) {
                self.selected = self.selected.min(self.versions.len().saturating_sub(1));
            }
        }
    }

    /// Move the selection by `delta` rows.
    pub fn move_by(&mut self, delta: isize) {
        self.selected = step(self.selected, delta, self.versions.len());
    }

    /// Screen lines of the History table: a header, then one line per version.
    /// Returns the row shown on `line`, if any.
    pub fn row_at_line(&self, line: usize) -> Option<usize> {
        let row = line.checked_sub(1)?;
        (row < self.versions.len()).then_some(row)
    }

    /// The first line shown so that the selection stays on screen.
    pub fn offset_for(&self, height: usize) -> usize {
        (self.selected + 1).saturating_sub(height.saturating_sub(2))
    }

    /// A click on line `line` of a table `height` lines high selects the row there.
    pub fn click(&mut self, line: usize, height: usize) {
        if let Some(i) = self.row_at_line(self.offset_for(height) + line) {
            self.selected = i;
        }
    }

    pub fn selected_version(&self) -> Option<&VersionRow> {
        self.versions.get(self.selected)
    }

    /// Select the row of `version`; false if it is not listed.
    pub fn select_version(&mut self, version: &str) -> bool {
        let found = self.versions.iter().position(|v| v.version == version);
        if let Some(i) = found {
            self.selected = i;
        }
        found.is_some()
    }

    /// Every kept version that some host keeping it does not run, for the palette,
    /// with the hosts a rollback to it would change.
    pub fn rollback_targets(&self) -> Vec<(String, Vec<String>)> {
        self.versions
            .iter()
            .map(|v| (v.version.clone(), Self::to_roll(v)))
            .filter(|(_, hosts)| !hosts.is_empty())
            .collect()
    }

    /// The hosts that keep `v` and do not run it now.
    fn to_roll(v: &VersionRow) -> Vec<String> {
        v.kept_on
            .iter()
            .filter(|h| !v.current_on.contains(h))
            .cloned()
            .collect()
    }

    /// Ask to roll the app back to the selected version on every host that keeps it
    /// (and does not run it already); the hosts that lack it are named.
    pub fn ask_rollback(&self) -> Reply {
        let Some(v) = self.selected_version() else {
            return Reply::default();
        };
        let hosts = Self::to_roll(v);
        if hosts.is_empty() {
            return Reply::toast(
                Level::Info,
                format!(
                    "{} is already current on {}",
                    v.version,
                    v.current_on.join(", ")
                ),
            );
        }
        let mut lines = vec![
            format!("version  {}", v.version),
            format!("hosts    {}", hosts.join(", ")),
            format!("deployed {} by {}", v.deployed_at, v.by),
        ];
        if !v.current_on.is_empty() {
            lines.push(format!("already current on {}", v.current_on.join(", ")));
        }
        let lacking = |read: bool| -> Vec<&str> {
            self.hosts
                .iter()
                .filter(|(h, r)| r.is_ok() == read && !v.kept_on.contains(h))
                .map(|(h, _)| h.as_str())
                .collect()
        };
        let (missing, unread) = (lacking(true), lacking(false));
        if !missing.is_empty() {
            lines.push(format!(
                "not kept on {}: only {} go back",
                missing.join(", "),
                hosts.join(", ")
            ));
        }
        if !unread.is_empty() {
            lines.push(format!(
                "left out: the history of {} could not be read",
                unread.join(", ")
            ));
        }
        if !v.bad_on.is_empty() {
            lines.push(format!(
                "marked BAD on {} (it failed its health check there)",
                v.bad_on.join(", ")
            ));
        }
        Reply::confirm(Confirm {
            title: format!("Roll {} back?", self.app),
            lines,
            pending: Pending::Rollback {
                app: self.app.clone(),
                hosts,
                to: Some(v.version.clone()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::Release;

    fn host(name: &str, releases: &[(&str, &str, bool)]) -> (String, Result<HostHistory, String>) {
        let releases = releases
            .iter()
            .map(|(v, at, current)| Release {
                version: v.to_string(),
                commit: None,
                deployed_at: at.to_string(),
                by: "ana@laptop".into(),
                current: *current,
                bad: false,
            })
            .collect();
        let h = HostHistory {
            host: name.into(),
            releases,
            ..HostHistory::default()
        };
        (name.to_string(), Ok(h))
    }

    fn view(hosts: Vec<(String, Result<HostHistory, String>)>) -> HistoryView {
        let mut v = HistoryView::default();
        let _ = v.load("hello".into());
        v.loaded("hello".into(), v.generation, hosts);
        v
    }

    #[test]
    fn a_version_kept_on_every_host_rolls_the_whole_app_back_at_once() {
        let both = [
            ("v2", "2026-11-02T00:00:00Z", true),
            ("v1", "2026-11-01T00:00:00Z", false),
        ];
        let mut v = view(vec![
            host("h1", &both),
            host("h2", &both),
            host("h3", &both),
        ]);
        assert_eq!(v.versions.len(), 2);
        v.move_by(1);
        let reply = v.ask_rollback();
        let c = reply.confirm.expect("a confirmation");
        assert_eq!(
            c.pending,
            Pending::Rollback {
                app: "hello".into(),
                hosts: vec!["h1".into(), "h2".into(), "h3".into()],
                to: Some("v1".into()),
            }
        );
        assert!(
            c.lines.contains(&"hosts    h1, h2, h3".to_string()),
            "{c:?}"
        );
        // The current version asks nothing.
        v.move_by(-1);
        assert_eq!(
            v.ask_rollback().toast.map(|t| t.1).as_deref(),
            Some("v2 is already current on h1, h2, h3")
        );
    }

    #[test]
    fn hosts_lacking_the_version_or_unread_are_named_and_left_out() {
        let mut v = view(vec![
            host(
                "h1",
                &[
                    ("v2", "2026-11-02T00:00:00Z", true),
                    ("v1", "2026-11-01T00:00:00Z", false),
                ],
            ),
            host("h2", &[("v2", "2026-11-02T00:00:00Z", true)]),
            ("h3".into(), Err("connection refused".into())),
        ]);
        v.move_by(1);
        let c = v.ask_rollback().confirm.expect("a confirmation");
        assert!(matches!(&c.pending, Pending::Rollback { hosts, .. } if hosts == &["h1"]));
        assert!(
            c.lines
                .contains(&"not kept on h2: only h1 go back".to_string()),
            "{c:?}"
        );
        assert!(
            c.lines
                .contains(&"left out: the history of h3 could not be read".to_string()),
            "{c:?}"
        );
        // A reload keeps the selection on its version.
        let _ = v.load("hello".into());
        let hosts = v.hosts.clone();
        v.loaded("hello".into(), v.generation, hosts);
        assert_eq!(v.selected_version().map(|r| r.version.as_str()), Some("v1"));
    }
}
