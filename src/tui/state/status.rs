//! The Status tab's state: the last status load of every app (current version,
//! slots and drift per host), the details of its units per host (state, since, main
//! PID, restarts, memory: what `raijin app status` shows), and how far the tab is
//! scrolled.

use std::collections::BTreeMap;

use crate::inspect::{HostStatus, HostUnits};
use crate::tui::focus::step;

#[derive(Clone, Debug, Default)]
pub struct StatusTab {
    /// App name → its hosts' status, as last loaded.
    pub apps: BTreeMap<String, Vec<HostStatus>>,
    /// App name → its units' details per host, as last read or left by an action.
    pub units: BTreeMap<String, Vec<HostUnits>>,
    pub scroll: usize,
}

impl StatusTab {
    pub fn loaded(&mut self, app: String, hosts: Vec<HostStatus>) {
        self.apps.insert(app, hosts);
    }

    /// Unit details of some of `app`'s hosts arrived: they replace those hosts'.
    pub fn units_loaded(&mut self, app: String, hosts: Vec<HostUnits>) {
        let known = self.units.entry(app).or_default();
        for h in hosts {
            match known.iter_mut().find(|k| k.host == h.host) {
                Some(k) => *k = h,
                None => known.push(h),
            }
        }
    }

    /// The details of `unit` of `app` on `host`, when read.
    pub fn unit(&self, app: &str, host: &str, unit: &str) -> Option<&crate::inspect::UnitDetail> {
        self.units
            .get(app)?
            .iter()
            .find(|h| h.host == host)?
            .units
            .iter()
            .find(|u| u.unit == unit)
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
