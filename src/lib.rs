//! raijin: a terminal operations console for deploying and running apps on
//! your own Linux servers over SSH.
//!
//! The crate stands in floors, each using only the ones below it (ARCHITECTURE.md
//! at the top of the repository draws them):
//!
//! - the faces: `cli` (subcommands for scripts and CI) and `tui` (the console),
//!   with `term`, which lends the local terminal to a remote shell. They present;
//!   they never touch a session, a host script or git.
//! - the operations, one function per user action: `deploy` (the pipeline and
//!   rollback), `logs` (the merged journal follow), `operate` (run, bootstrap,
//!   exec, the app shell) and `inspect` (hosts, history, status).
//! - the engine's core, `engine`: the configuration, one SSH session per host, app
//!   lookup, [`engine::Host`] (a host reached as root, as the app's user or as the
//!   login user) and the progress [`engine::events`].
//! - what the engine is made of: `remote` (the host layout, systemd units, the
//!   Caddy site and every host-side script, rendered and never run), `ssh`,
//!   `secrets` and `bundle` (chunks and manifests).
//! - the ground: `config` (raijin.toml, checked with positions), `keys` (the
//!   console's actions and keys as plain data, so `config` checks `[ui.keymap]`),
//!   `util` and `logging`.

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
