//! Keys and the keymap: the built-in bindings of every [`Action`], overridden
//! per action by `[ui.keymap]`, validated before the screen opens.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// One key with its modifiers, normalized so `Q`, `shift-q` and the event
/// crossterm reports for them compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn char(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: false,
            alt: false,
        }
    }

    pub const fn code(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// The key of a crossterm event.
    pub fn from_event(e: &KeyEvent) -> Key {
        let code = match e.code {
            KeyCode::Tab if e.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            KeyCode::Char(c) if e.modifiers.contains(KeyModifiers::SHIFT) => {
                KeyCode::Char(c.to_ascii_uppercase())
            }
            c => c,
        };
        Key {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `q`, `Q`, `?`, `ctrl-r`, `alt-x`, `shift-tab`, `enter`, `f5`, ...
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 {
                if let Some(r) = lower.strip_prefix("ctrl-") {
                    ctrl = true;
                    rest = &rest[rest.len() - r.len()..];
                    continue;
                }
                if let Some(r) = lower.strip_prefix("alt-") {
                    alt = true;
                    rest = &rest[rest.len() - r.len()..];
                    continue;
                }
                if let Some(r) = lower.strip_prefix("shift-") {
                    shift = true;
                    rest = &rest[rest.len() - r.len()..];
                    continue;
                }
            }
            break;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if shift { c.to_ascii_uppercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if shift => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                f if f.len() >= 2 && f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n) if (1..=12).contains(&n) => KeyCode::F(n),
                    _ => return Err(format!("unknown key `{text}`")),
                },
                _ => return Err(format!("unknown key `{text}`")),
            },
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The built-in keys of an action.
pub fn default_keys(action: Action) -> Vec<Key> {
    use KeyCode as K;
    match action {
        Action::Quit => vec![Key::char('q')],
        Action::Help => vec![Key::char('?')],
        Action::Palette => vec![Key::char(':')],
        Action::NextPane => vec![Key::code(K::Tab)],
        Action::PrevPane => vec![Key::code(K::BackTab)],
        Action::Up => vec![Key::char('k'), Key::code(K::Up)],
        Action::Down => vec![Key::char('j'), Key::code(K::Down)],
        Action::PageUp => vec![Key::code(K::PageUp), Key::ctrl('u')],
        Action::PageDown => vec![Key::code(K::PageDown), Key::ctrl('d')],
        Action::Top => vec![Key::char('g'), Key::code(K::Home)],
        Action::Bottom => vec![Key::char('G'), Key::code(K::End)],
        Action::Select => vec![Key::code(K::Enter)],
        Action::Back => vec![Key::code(K::Esc)],
        Action::NextTab => vec![Key::char(']'), Key::char('l'), Key::code(K::Right)],
        Action::PrevTab => vec![Key::char('['), Key::char('h'), Key::code(K::Left)],
        Action::TabDeploy => vec![Key::char('1')],
        Action::TabLogs => vec![Key::char('2')],
        Action::TabHistory => vec![Key::char('3')],
        Action::TabStatus => vec![Key::char('4')],
        Action::Deploy => vec![Key::char('d')],
        Action::Rollback => vec![Key::char('r')],
        Action::Cancel => vec![Key::char('x'), Key::ctrl('c')],
        Action::Refresh => vec![Key::char('R'), Key::ctrl('r')],
        Action::Shell => vec![Key::char('s')],
        Action::Filter => vec![Key::char('/')],
        Action::Follow => vec![Key::char('f')],
        Action::Wrap => vec![Key::char('w')],
        Action::Timestamps => vec![Key::char('t')],
        Action::Priority => vec![Key::char('p')],
    }
}

/// A problem in `[ui.keymap]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError(pub Vec<String>);

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
                .map(|a| (a, default_keys(a)))
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `[ui.keymap]` applied: each listed action gets
    /// exactly the keys given. Unknown actions or keys, and one key bound to
    /// two actions, are errors.
    pub fn with_overrides(
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        let mut errors = Vec::new();
        for (name, keys) in overrides {
            let Some(action) = Action::from_name(name) else {
                let hint = crate::util::did_you_mean(name, Action::ALL.iter().map(|a| a.name()))
                    .map(|m| format!(" — did you mean `{m}`?"))
                    .unwrap_or_default();
                errors.push(format!(
                    "unknown action `{name}`{hint} (`?` in the console lists them)"
                ));
                continue;
            };
            let mut parsed = Vec::new();
            for k in keys {
                match Key::parse(k) {
                    Ok(key) => parsed.push(key),
                    Err(e) => errors.push(format!(
                        "{name}: {e} (keys look like `d`, `D`, `ctrl-r`, `shift-tab`, `enter`, `f5`)"
                    )),
                }
            }
            map.keys.insert(action, parsed);
        }
        let mut owner: BTreeMap<String, Action> = BTreeMap::new();
        for (action, keys) in &map.keys {
            for k in keys {
                if let Some(other) = owner.insert(k.to_string(), *action) {
                    errors.push(format!(
                        "key `{k}` is bound to both `{}` and `{}`; rebind one of them",
                        other.name(),
                        action.name()
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(KeymapError(errors))
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

    #[test]
    fn parses_keys() {
        assert_eq!(Key::parse("q"), Ok(Key::char('q')));
        assert_eq!(Key::parse("Q"), Ok(Key::char('Q')));
        assert_eq!(Key::parse("shift-q"), Ok(Key::char('Q')));
        assert_eq!(Key::parse("ctrl-r"), Ok(Key::ctrl('r')));
        assert_eq!(Key::parse("shift-tab"), Ok(Key::code(KeyCode::BackTab)));
        assert_eq!(Key::parse("F5"), Ok(Key::code(KeyCode::F(5))));
        assert_eq!(Key::parse("-"), Ok(Key::char('-')));
        assert_eq!(Key::parse("ctrl--"), Ok(Key::ctrl('-')));
        assert!(Key::parse("ctrl-").is_err());
        assert!(Key::parse("hyper-x").is_err());
        assert!(Key::parse("f13").is_err());
    }

    #[test]
    fn events_normalize_like_parsed_keys() {
        let e = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&e), Key::char('G'));
        let e = KeyEvent::new(KeyCode::Tab, KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&e), Key::code(KeyCode::BackTab));
        let e = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&e), Key::ctrl('r'));
    }

    #[test]
    fn defaults_have_no_conflicts() {
        assert!(Keymap::with_overrides(&BTreeMap::new()).is_ok());
    }

    #[test]
    fn overrides_replace_an_actions_keys() {
        let mut o = BTreeMap::new();
        o.insert("deploy".to_string(), vec!["D".to_string()]);
        let k = Keymap::with_overrides(&o).unwrap();
        assert_eq!(k.action(Key::char('D')), Some(Action::Deploy));
        assert_eq!(k.action(Key::char('d')), None);
    }

    #[test]
    fn bad_overrides_are_reported_together() {
        let mut o = BTreeMap::new();
        o.insert("deplyo".to_string(), vec!["D".to_string()]);
        o.insert("quit".to_string(), vec!["hyper-q".to_string()]);
        o.insert("wrap".to_string(), vec!["d".to_string()]);
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
}
