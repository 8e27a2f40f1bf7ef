//! The console's actions and the keys that run them, as plain data: the names
//! `[ui.keymap]` may use, the key syntax it is written in, the built-in bindings and
//! the checks an override must pass. Nothing here knows a terminal: the console maps
//! terminal events onto [`Key`]s, and `config` checks `[ui.keymap]` with the same rules
//! the console applies.

mod action;
mod key;
mod keymap;

pub use action::Action;
pub use key::{Key, KeyCode, KeyParseError};
pub use keymap::{Keymap, KeymapError, KeymapProblem};
