//! The Status tab's state: the last status load of every app (current version,
//! slots and drift per host), the details of its units per host (state, since, main
//! PID, restarts, memory: what `raijin app status` shows), and the selected unit,
//! whose process restart, stop and start act on while the tab has the focus.

use std::collections::BTreeMap;

use crate::inspect::units::process_of;
use crate::inspect::{HostStatus, HostUnits, UnitDetail};
use crate::tui::focus::step;

#[derive(Clone, Debug, Default)]
pub struct StatusTab {
    /// App name → its hosts' status, as last loaded.
    pub apps: BTreeMap<String, Vec<HostStatus>>,
    /// App name → its units' details per host, as last read or left by an action.
    pub units: BTreeMap<String, Vec<HostUnits>>,
    /// The selected unit row (see [`StatusTab::rows`]).
    pub selected: usize,
}

/// A unit as the tab lists it, in the order drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitRow {
    pub app: String,
    pub host: String,
    pub unit: String,
    pub process: String,
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

    /// The units shown for `app` on the host of `s`: their details when read, else
    /// the states the status load brought.
    pub fn shown_units(&self, app: &str, s: &HostStatus) -> Vec<UnitDetail> {
        let details = self
            .units
            .get(app)
            .and_then(|hs| hs.iter().find(|h| h.host == s.host))
            .filter(|d| !d.units.is_empty());
        match details {
            Some(d) => d.units.clone(),
            None => s
                .units
                .iter()
                .map(|u| UnitDetail {
                    unit: u.unit.clone(),
                    process: process_of(app, &u.unit),
                    active: u.active.clone(),
                    sub: u.sub.clone(),
                    since: u.since.clone(),
                    ..UnitDetail::default()
                })
                .collect(),
        }
    }

    /// Every unit row, in the order drawn: by app, then host, then unit.
    pub fn rows(&self) -> Vec<UnitRow> {
        let mut out = Vec::new();
        for (app, hosts) in &self.apps {
            for s in hosts {
                out.extend(self.shown_units(app, s).into_iter().map(|u| UnitRow {
                    app: app.clone(),
                    host: s.host.clone(),
                    unit: u.unit,
                    process: u.process,
                }));
            }
        }
        out
    }

    pub fn selected_row(&self) -> Option<UnitRow> {
        self.rows().into_iter().nth(self.selected)
    }

    /// Move the selection by `delta` rows (Up, Down, pages).
    pub fn move_by(&mut self, delta: isize) {
        self.selected = step(self.selected, delta, self.rows().len());
    }
}
