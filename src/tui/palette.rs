//! The `:` command palette: fuzzy matching (skim's algorithm) over every named
//! action and every target — apps, hosts and kept versions of the selected
//! app — with the matched characters marked for highlighting, and the commands
//! chosen before, recalled with Up and Down while nothing is typed.

use fuzzy_matcher::FuzzyMatcher as _;
use fuzzy_matcher::skim::SkimMatcherV2;

use crate::keys::Action;

/// What a palette entry does when chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Action(Action),
    App(String),
    Host(String),
    /// Roll the selected app back to this version on every host that keeps it.
    Version(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub target: Target,
    /// What is matched and shown.
    pub label: String,
    pub detail: String,
}

#[derive(Clone, Debug, Default)]
pub struct Palette {
    pub input: String,
    entries: Vec<Entry>,
    /// Indices into `entries` with the matched char positions, best first.
    pub matches: Vec<(usize, Vec<usize>)>,
    pub selected: usize,
    /// Labels chosen before, oldest first.
    history: Vec<String>,
    /// The history entry the input holds, while it is not edited.
    recalled: Option<usize>,
}

impl Palette {
    pub fn new(entries: Vec<Entry>) -> Palette {
        let mut p = Palette {
            entries,
            ..Default::default()
        };
        p.refilter();
        p
    }

    /// The palette with the commands chosen before, for recall.
    pub fn with_history(mut self, history: Vec<String>) -> Palette {
        self.history = history;
        self
    }

    /// Whether Up and Down go through the history: there is one and the input is
    /// empty or holds a recalled command.
    pub fn recalling(&self) -> bool {
        !self.history.is_empty() && (self.input.is_empty() || self.recalled.is_some())
    }

    /// The command chosen before the one shown (the last one first).
    pub fn older(&mut self) {
        let i = match self.recalled {
            None => self.history.len().saturating_sub(1),
            Some(i) => i.saturating_sub(1),
        };
        self.recall(Some(i));
    }

    /// The command chosen after the one shown; past the last, an empty input.
    pub fn newer(&mut self) {
        let next = self
            .recalled
            .map(|i| i + 1)
            .filter(|i| *i < self.history.len());
        self.recall(next);
    }

    fn recall(&mut self, i: Option<usize>) {
        self.input = i
            .and_then(|i| self.history.get(i).cloned())
            .unwrap_or_default();
        self.refilter();
        self.recalled = i;
        // The entry itself, not just the best fuzzy match.
        if let Some(n) = self
            .matches
            .iter()
            .position(|(e, _)| self.entries.get(*e).is_some_and(|e| e.label == self.input))
        {
            self.selected = n;
        }
    }

    pub fn entry(&self, i: usize) -> Option<&Entry> {
        self.entries.get(i)
    }

    pub fn push_char(&mut self, c: char) {
        self.input.push(c);
        self.refilter();
    }

    pub fn backspace(&mut self) {
        self.input.pop();
        self.refilter();
    }

    pub fn up(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    pub fn down(&mut self) {
        if self.selected + 1 < self.matches.len() {
            self.selected += 1;
        }
    }

    /// The chosen entry.
    pub fn chosen(&self) -> Option<&Entry> {
        self.matches
            .get(self.selected)
            .and_then(|(i, _)| self.entries.get(*i))
    }

    fn refilter(&mut self) {
        self.recalled = None;
        let matcher = SkimMatcherV2::default().ignore_case();
        let mut scored: Vec<(i64, usize, Vec<usize>)> = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                if self.input.is_empty() {
                    return Some((0, i, Vec::new()));
                }
                matcher
                    .fuzzy_indices(&e.label, &self.input)
                    .map(|(score, idx)| (score, i, idx))
            })
            .collect();
        // Best score first; ties keep the list order.
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.matches = scored.into_iter().map(|(_, i, idx)| (i, idx)).collect();
        self.selected = 0;
    }
}

/// The palette's entries: every action, then apps, hosts and versions.
/// `versions` are the selected app's kept versions with the hosts a rollback to each
/// would change.
pub fn entries(
    apps: &[String],
    hosts: &[String],
    versions: &[(String, Vec<String>)],
) -> Vec<Entry> {
    let mut out: Vec<Entry> = Action::ALL
        .into_iter()
        .map(|a| Entry {
            target: Target::Action(a),
            label: a.name().to_string(),
            detail: a.description().to_string(),
        })
        .collect();
    out.extend(apps.iter().map(|a| Entry {
        target: Target::App(a.clone()),
        label: format!("app {a}"),
        detail: "select the app".into(),
    }));
    out.extend(hosts.iter().map(|h| Entry {
        target: Target::Host(h.clone()),
        label: format!("host {h}"),
        detail: "select the host".into(),
    }));
    out.extend(versions.iter().map(|(v, hosts)| Entry {
        target: Target::Version(v.clone()),
        label: format!("rollback {v}"),
        detail: format!("roll back to it on {} (asks first)", hosts.join(", ")),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_matches_rank_and_mark() {
        let mut p = Palette::new(entries(&["hello".into()], &["h1".into()], &[]));
        for c in "dep".chars() {
            p.push_char(c);
        }
        assert_eq!(
            p.chosen().map(|e| e.target.clone()),
            Some(Target::Action(Action::Deploy))
        );
        assert_eq!(p.matches[0].1, vec![0, 1, 2]);
        p.backspace();
        p.backspace();
        p.backspace();
        for c in "hello".chars() {
            p.push_char(c);
        }
        assert_eq!(
            p.chosen().map(|e| e.target.clone()),
            Some(Target::App("hello".into()))
        );
    }

    #[test]
    fn no_match_leaves_nothing_chosen() {
        let mut p = Palette::new(entries(&[], &[], &[]));
        for c in "zzzzqqq".chars() {
            p.push_char(c);
        }
        assert!(p.chosen().is_none());
    }

    #[test]
    fn up_and_down_recall_earlier_commands_until_something_is_typed() {
        let history = vec!["tab_status".to_string(), "app hello".to_string()];
        let mut p = Palette::new(entries(&["hello".into()], &[], &[])).with_history(history);
        assert!(p.recalling());
        p.older();
        assert_eq!(p.input, "app hello");
        assert_eq!(
            p.chosen().map(|e| e.target.clone()),
            Some(Target::App("hello".into()))
        );
        p.older();
        assert_eq!(p.input, "tab_status");
        p.older();
        assert_eq!(p.input, "tab_status", "the oldest stays");
        p.newer();
        assert_eq!(p.input, "app hello");
        p.newer();
        assert_eq!(p.input, "", "past the newest: empty again");
        // Once typed, Up and Down move the selection instead.
        p.push_char('t');
        assert!(!p.recalling());
        // No history: never recalling.
        assert!(!Palette::new(entries(&[], &[], &[])).recalling());
    }
}
