//! raijin: a terminal operations console for deploying and running apps on
//! your own Linux servers over SSH.
//!
//! The engine (`config`, `ssh`, `engine`) knows nothing of terminals; the
//! faces (`cli`, and the console) drive it and render what it reports.
//! `keys` is the console's vocabulary as plain data (actions, key syntax, the
//! keymap), below both, so `config` checks `[ui.keymap]` by the console's rules.

pub mod bundle;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod engine;
pub mod inspect;
pub mod keys;
pub mod logging;
pub mod logs;
pub mod operate;
pub mod remote;
pub mod secrets;
pub mod ssh;
pub mod term;
pub mod tui;
pub mod util;
