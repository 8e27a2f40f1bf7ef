//! Terminal key events as raijin's [`Key`]s, so the console can look them up in the
//! [`Keymap`] (which, with the actions and key syntax, lives in `crate::keys`).

use crossterm::event::{KeyCode as TermCode, KeyEvent, KeyModifiers};

pub use crate::keys::{Key, KeyCode, Keymap};

/// The key of a crossterm event, normalized as `Key::parse` normalizes written keys;
/// `None` for keys raijin never binds (media keys, modifiers alone, ...).
pub fn key_of(e: &KeyEvent) -> Option<Key> {
    let shift = e.modifiers.contains(KeyModifiers::SHIFT);
    let code = match e.code {
        TermCode::Char(c) if shift => KeyCode::Char(c.to_ascii_uppercase()),
        TermCode::Char(c) => KeyCode::Char(c),
        TermCode::Tab if shift => KeyCode::BackTab,
        TermCode::Tab => KeyCode::Tab,
        TermCode::BackTab => KeyCode::BackTab,
        TermCode::Enter => KeyCode::Enter,
        TermCode::Esc => KeyCode::Esc,
        TermCode::Backspace => KeyCode::Backspace,
        TermCode::Delete => KeyCode::Delete,
        TermCode::Insert => KeyCode::Insert,
        TermCode::Up => KeyCode::Up,
        TermCode::Down => KeyCode::Down,
        TermCode::Left => KeyCode::Left,
        TermCode::Right => KeyCode::Right,
        TermCode::Home => KeyCode::Home,
        TermCode::End => KeyCode::End,
        TermCode::PageUp => KeyCode::PageUp,
        TermCode::PageDown => KeyCode::PageDown,
        TermCode::F(n) => KeyCode::F(n),
        _ => return None,
    };
    Some(Key {
        code,
        ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
        alt: e.modifiers.contains(KeyModifiers::ALT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_normalize_like_parsed_keys() {
        let e = KeyEvent::new(TermCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(key_of(&e), Some(Key::char('G')));
        let e = KeyEvent::new(TermCode::Tab, KeyModifiers::SHIFT);
        assert_eq!(key_of(&e), Some(Key::code(KeyCode::BackTab)));
        let e = KeyEvent::new(TermCode::Char('r'), KeyModifiers::CONTROL);
        assert_eq!(key_of(&e), Some(Key::ctrl('r')));
        let e = KeyEvent::new(TermCode::Char('g'), KeyModifiers::SHIFT);
        assert_eq!(key_of(&e), Key::parse("G").ok());
        let e = KeyEvent::new(TermCode::CapsLock, KeyModifiers::NONE);
        assert_eq!(key_of(&e), None);
    }
}
