//! The Status tab's state: the last status load of every app (current version and
//! unit states per host) and how far the tab is scrolled.

use std::collections::BTreeMap;

use crate::inspect::HostStatus;
use crate::tui::focus::step;

#[derive(Clone, Debug, Default)]
pub struct StatusTab {
    /// App name → its hosts' status, as last loaded.
    pub apps: BTreeMap<String, Vec<HostStatus>>,
    pub scroll: usize,
}

impl StatusTab {
    pub fn loaded(&mut self, app: String, hosts: Vec<HostStatus>) {
        self.apps.insert(app, hosts);
    }

    /// The current version of an app per host, from the last status load.
    pub fn current_versions(&self, app: &str) -> Vec<(String, Option<String>)> {
        self.apps
            .get(app)
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.host.clone(), h.current.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Move by `delta` lines (Up, Down, pages).
    pub fn scroll_by(&mut self, delta: isize) {
        self.scroll = step(self.scroll, delta, 1000);
    }
}
