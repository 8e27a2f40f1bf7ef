//! The keymap: the built-in keys of every [`Action`], overridden per action by
//! `[ui.keymap]`, and the rules an override must follow (known action, keys that
//! parse, no key bound to two actions). `config` reports broken rules with their
//! position; the console looks keys up here on every key press.

use std::collections::BTreeMap;
use std::fmt;

use super::action::Action;
use super::key::{KEY_SYNTAX, Key, KeyParseError};
use crate::util::did_you_mean;

/// One broken rule of `[ui.keymap]`. Keys are counted in the list as given for the
/// action, so the caller can point at the one concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeymapProblem {
    /// No action has this name.
    UnknownAction { name: String },
    /// Key number `index` of `action`'s list does not parse.
    BadKey {
        action: Action,
        index: usize,
        error: KeyParseError,
    },
    /// Key number `index` of `action`'s list already runs `other`: one of its defaults
    /// when `other` is not overridden, else one of the keys given for it.
    Conflict {
        key: Key,
        other: Action,
        other_is_default: bool,
        action: Action,
        index: usize,
    },
}

impl KeymapProblem {
    /// What is wrong, without where.
    pub fn message(&self) -> String {
        match self {
            KeymapProblem::UnknownAction { name } => format!("unknown action `{name}`"),
            KeymapProblem::BadKey { error, .. } => error.to_string(),
            KeymapProblem::Conflict {
                key, other, action, ..
            } => format!(
                "key `{key}` is bound to both `{}` and `{}`",
                other.name(),
                action.name()
            ),
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> String {
        match self {
            KeymapProblem::UnknownAction { name } => match suggestion(name) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "config.example.toml lists the actions, and so does `?` in the console"
                    .to_string(),
            },
            KeymapProblem::BadKey { .. } => KEY_SYNTAX.to_string(),
            KeymapProblem::Conflict {
                key,
                other,
                other_is_default: true,
                ..
            } => format!(
                "`{key}` is a built-in key of `{}`: pick another key, or give `{}` other keys too",
                other.name(),
                other.name()
            ),
            KeymapProblem::Conflict { .. } => "rebind one of them".to_string(),
        }
    }
}

fn suggestion(name: &str) -> Option<&'static str> {
    did_you_mean(name, Action::ALL.iter().map(|a| a.name()))
}

impl fmt::Display for KeymapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeymapProblem::UnknownAction { name } => {
                write!(f, "unknown action `{name}`")?;
                if let Some(close) = suggestion(name) {
                    write!(f, " — did you mean `{close}`?")?;
                }
                f.write_str(" (`?` in the console lists them)")
            }
            KeymapProblem::BadKey { action, error, .. } => {
                write!(f, "{}: {error} ({KEY_SYNTAX})", action.name())
            }
            KeymapProblem::Conflict { .. } => {
                write!(f, "{}; rebind one of them", self.message())
            }
        }
    }
}

/// Every broken rule of `[ui.keymap]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError(pub Vec<KeymapProblem>);

impl fmt::Display for KeymapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: [ui.keymap] {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KeymapError {}

/// Action → keys, and the reverse lookup the console uses on each key press.
#[derive(Clone, Debug)]
pub struct Keymap {
    keys: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            keys: Action::ALL
                .into_iter()
                .map(|a| (a, a.default_keys()))
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `[ui.keymap]` applied: each listed action gets exactly the
    /// keys given. Unknown actions, keys that do not parse and a key bound to two
    /// actions are reported together. A conflict is reported at the override that
    /// comes later: built-in keys of actions left alone count as first, then the
    /// overrides in the order given.
    pub fn with_overrides<I, N, K, S>(overrides: I) -> Result<Keymap, KeymapError>
    where
        I: IntoIterator<Item = (N, K)>,
        N: AsRef<str>,
        K: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut problems = Vec::new();
        let mut given: Vec<(Action, Vec<Option<Key>>)> = Vec::new();
        for (name, keys) in overrides {
            let name = name.as_ref();
            let Some(action) = Action::from_name(name) else {
                problems.push(KeymapProblem::UnknownAction {
                    name: name.to_string(),
                });
                continue;
            };
            let parsed = keys
                .into_iter()
                .enumerate()
                .map(|(index, text)| match Key::parse(text.as_ref()) {
                    Ok(key) => Some(key),
                    Err(error) => {
                        problems.push(KeymapProblem::BadKey {
                            action,
                            index,
                            error,
                        });
                        None
                    }
                })
                .collect();
            given.push((action, parsed));
        }

        let mut map = Keymap::default();
        let mut owner: BTreeMap<Key, (Action, bool)> = BTreeMap::new();
        for (action, keys) in &map.keys {
            if !given.iter().any(|(a, _)| a == action) {
                for key in keys {
                    owner.insert(*key, (*action, true));
                }
            }
        }
        for (action, keys) in &given {
            for (index, key) in keys.iter().enumerate() {
                let Some(key) = key else { continue };
                match owner.get(key) {
                    // The same key twice for one action does no harm.
                    Some((other, _)) if other == action => {}
                    Some(&(other, other_is_default)) => {
                        problems.push(KeymapProblem::Conflict {
                            key: *key,
                            other,
                            other_is_default,
                            action: *action,
                            index,
                        });
                    }
                    None => {
                        owner.insert(*key, (*action, false));
                    }
                }
            }
            map.keys
                .insert(*action, keys.iter().flatten().copied().collect());
        }
        if problems.is_empty() {
            Ok(map)
        } else {
            Err(KeymapError(problems))
        }
    }

    /// The action a key runs, if any.
    pub fn action(&self, key: Key) -> Option<Action> {
        self.keys
            .iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(a, _)| *a)
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.keys.get(&action).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The keys of an action as shown in help: `j/↓`.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "—".into();
        }
        keys.iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key of an action, for footer hints.
    pub fn hint(&self, action: Action) -> Option<String> {
        self.keys(action).first().map(Key::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(a, keys)| (a.to_string(), keys.iter().map(|k| k.to_string()).collect()))
            .collect()
    }

    #[test]
    fn defaults_have_no_conflicts() {
        assert!(Keymap::with_overrides(&BTreeMap::<String, Vec<String>>::new()).is_ok());
    }

    #[test]
    fn overrides_replace_an_actions_keys() {
        let k = Keymap::with_overrides(&overrides(&[("deploy", &["D"])])).unwrap();
        assert_eq!(k.action(Key::char('D')), Some(Action::Deploy));
        assert_eq!(k.action(Key::char('d')), None);
    }

    #[test]
    fn bad_overrides_are_reported_together() {
        let o = overrides(&[("deplyo", &["D"]), ("quit", &["hyper-q"]), ("wrap", &["d"])]);
        let e = Keymap::with_overrides(&o).unwrap_err().to_string();
        assert!(
            e.contains("unknown action `deplyo` — did you mean `deploy`?"),
            "{e}"
        );
        assert!(e.contains("quit: unknown key `hyper-q`"), "{e}");
        assert!(
            e.contains("key `d` is bound to both `deploy` and `wrap`"),
            "{e}"
        );
    }

    #[test]
    fn problems_say_which_key_of_the_list() {
        let e = Keymap::with_overrides([("wrap", ["W", "hyper-w", "d"])]).unwrap_err();
        assert_eq!(
            e.0,
            [
                KeymapProblem::BadKey {
                    action: Action::Wrap,
                    index: 1,
                    error: KeyParseError {
                        text: "hyper-w".into()
                    },
                },
                KeymapProblem::Conflict {
                    key: Key::char('d'),
                    other: Action::Deploy,
                    other_is_default: true,
                    action: Action::Wrap,
                    index: 2,
                },
            ]
        );
        // Both overridden: the later one is in conflict with the earlier.
        let e = Keymap::with_overrides([("wrap", ["z"]), ("deploy", ["z"])]).unwrap_err();
        assert_eq!(
            e.0[0].message(),
            "key `z` is bound to both `wrap` and `deploy`"
        );
        assert_eq!(e.0[0].hint(), "rebind one of them");
    }

    #[test]
    fn moving_a_default_key_frees_it() {
        let k = Keymap::with_overrides([("deploy", ["D"]), ("wrap", ["d"])]).unwrap();
        assert_eq!(k.action(Key::char('d')), Some(Action::Wrap));
    }
}
