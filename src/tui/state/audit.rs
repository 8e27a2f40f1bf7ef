//! The Audit tab's state: the selected app's audit entries from all its hosts,
//! merged newest first (`inspect::audit`), the hosts whose log could not be read,
//! loading with "latest wins", and how far the list is scrolled.

use super::effect::Effect;
use crate::inspect::AuditLog;
use crate::tui::focus::step;

/// Entries read at most.
pub const AUDIT_ENTRIES: usize = 200;

#[derive(Clone, Debug, Default)]
pub struct AuditView {
    pub app: String,
    pub loading: bool,
    /// Load generation: older answers are dropped (latest wins).
    pub generation: u64,
    /// The last answer: the merged log, or why the app's hosts could not be asked.
    pub log: Option<Result<AuditLog, String>>,
    pub scroll: usize,
}

impl AuditView {
    /// Start loading the audit log of `app`.
    pub fn load(&mut self, app: String) -> Effect {
        self.generation += 1;
        if self.app != app {
            self.log = None;
            self.scroll = 0;
        }
        self.app = app.clone();
        self.loading = true;
        Effect::LoadAudit {
            app,
            generation: self.generation,
        }
    }

    /// Whether what is shown is not `app`'s log, and none is on the way.
    pub fn stale_for(&self, app: &str) -> bool {
        self.app != app || (self.log.is_none() && !self.loading)
    }

    /// A load answered; kept only if it answers the latest request.
    pub fn loaded(&mut self, app: String, generation: u64, log: Result<AuditLog, String>) {
        if app == self.app && generation == self.generation {
            self.log = Some(log);
            self.loading = false;
        }
    }

    /// The entries shown, newest first.
    pub fn len(&self) -> usize {
        match &self.log {
            Some(Ok(l)) => l.entries.len(),
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn scroll_by(&mut self, delta: isize) {
        self.scroll = step(self.scroll, delta, self.len().max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::AuditEntry;

    #[test]
    fn only_the_latest_answer_is_kept() {
        let mut v = AuditView::default();
        let _ = v.load("hello".into());
        let old = v.generation;
        let _ = v.load("hello".into());
        let log = |action: &str| {
            Ok(AuditLog {
                entries: vec![AuditEntry {
                    action: action.into(),
                    ..AuditEntry::default()
                }],
                errors: vec![],
            })
        };
        v.loaded("hello".into(), old, log("stale"));
        assert!(v.log.is_none() && v.loading);
        v.loaded("hello".into(), v.generation, log("deploy"));
        assert_eq!(v.len(), 1);
        assert!(!v.loading && !v.stale_for("hello") && v.stale_for("other"));
    }
}
