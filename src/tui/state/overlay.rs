//! The modal layers over the screen, which take the keys first: SSH questions
//! ([`Prompt`], answered through their channel), the confirmation dialog, the `:`
//! palette, the `?` help and the version asked for when an app has no version
//! source. Each handles its own few keys here and says what the
//! console should do next ([`OverlayKey`]).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::oneshot;

use crate::keys::Action;
use crate::operate::UnitAction;
use crate::tui::palette::{Palette, Target};

/// What the confirmation dialog will start on yes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    Deploy {
        app: String,
        hosts: Vec<String>,
        version: String,
    },
    Rollback {
        app: String,
        hosts: Vec<String>,
        to: Option<String>,
    },
    /// Start, stop or restart the units of the app's `processes` (none: all) on
    /// these hosts.
    Control {
        app: String,
        processes: Vec<String>,
        hosts: Vec<String>,
        action: UnitAction,
    },
    Cancel,
    Quit,
}

#[derive(Clone, Debug)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    pub pending: Pending,
}

/// The deploy dialog of an app whose version source gave no version: the version
/// is typed, checked as `--version` is, and deployed to the hosts shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInput {
    pub app: String,
    pub hosts: Vec<String>,
    /// Why no version could be derived.
    pub reason: String,
    /// `host: version` of each host now.
    pub current: Vec<String>,
    pub input: String,
    /// Why the typed version cannot be used.
    pub error: Option<String>,
}

impl VersionInput {
    fn on_key(mut self, k: &KeyEvent) -> OverlayKey {
        match k.code {
            KeyCode::Esc => return OverlayKey::Close,
            KeyCode::Enter => {
                let version = self.input.trim().to_string();
                match crate::deploy::check_version(&version) {
                    Ok(()) => {
                        return OverlayKey::Confirmed(Pending::Deploy {
                            app: self.app,
                            hosts: self.hosts,
                            version,
                        });
                    }
                    Err(e) => self.error = Some(e),
                }
            }
            KeyCode::Backspace => {
                self.input.pop();
                self.error = None;
            }
            KeyCode::Char(c) if !ctrl(k) => {
                self.input.push(c);
                self.error = None;
            }
            _ => {}
        }
        OverlayKey::Keep(Overlay::Version(self))
    }
}

/// A question from the SSH layer, answered through a dialog.
pub enum Prompt {
    HostKey {
        host: String,
        addr: String,
        fingerprint: String,
        reply: oneshot::Sender<bool>,
    },
    Passphrase {
        host: String,
        key_file: String,
        input: String,
        reply: oneshot::Sender<Option<String>>,
    },
}

/// A modal layer over the screen; it gets the keys first.
pub enum Overlay {
    Confirm(Confirm),
    Palette(Palette),
    Help { scroll: usize },
    Version(VersionInput),
}

/// What a key on an overlay leads to.
pub enum OverlayKey {
    /// The overlay stays, as it now is.
    Keep(Overlay),
    /// The overlay closes, nothing else happens.
    Close,
    /// The dialog was answered yes.
    Confirmed(Pending),
    /// A palette entry was chosen; its label goes into the palette's history.
    Chosen { target: Target, label: String },
}

fn ctrl(k: &KeyEvent) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL)
}

impl Overlay {
    /// Handle a key; `action` is what the keymap makes of it (help scrolls and closes
    /// with the navigation keys the user has bound).
    pub fn on_key(self, k: &KeyEvent, action: Option<Action>) -> OverlayKey {
        match self {
            Overlay::Confirm(c) => match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                    OverlayKey::Confirmed(c.pending)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    OverlayKey::Close
                }
                _ => OverlayKey::Keep(Overlay::Confirm(c)),
            },
            Overlay::Version(v) => v.on_key(k),
            Overlay::Help { scroll } => {
                let scroll = match (k.code, action) {
                    (KeyCode::Esc, _) | (_, Some(Action::Help | Action::Quit | Action::Back)) => {
                        return OverlayKey::Close;
                    }
                    (_, Some(Action::Down)) => scroll + 1,
                    (_, Some(Action::Up)) => scroll.saturating_sub(1),
                    (_, Some(Action::PageDown)) => scroll + 10,
                    (_, Some(Action::PageUp)) => scroll.saturating_sub(10),
                    _ => scroll,
                };
                OverlayKey::Keep(Overlay::Help { scroll })
            }
            Overlay::Palette(mut p) => {
                match k.code {
                    KeyCode::Esc => return OverlayKey::Close,
                    KeyCode::Enter => {
                        return match p.chosen() {
                            Some(e) => OverlayKey::Chosen {
                                target: e.target.clone(),
                                label: e.label.clone(),
                            },
                            None => OverlayKey::Close,
                        };
                    }
                    // Up and Down recall earlier commands until something is typed.
                    KeyCode::Up if p.recalling() => p.older(),
                    KeyCode::Down if p.recalling() => p.newer(),
                    KeyCode::Up => p.up(),
                    KeyCode::Down | KeyCode::Tab => p.down(),
                    KeyCode::Backspace => p.backspace(),
                    KeyCode::Char('p') if ctrl(k) => p.up(),
                    KeyCode::Char('n') if ctrl(k) => p.down(),
                    KeyCode::Char(c) => p.push_char(c),
                    _ => {}
                }
                OverlayKey::Keep(Overlay::Palette(p))
            }
        }
    }
}

/// A key for the first waiting SSH question: answers it (and takes it off the queue)
/// or edits the passphrase being typed.
pub fn prompt_key(prompts: &mut Vec<Prompt>, k: &KeyEvent) {
    let Some(prompt) = prompts.first_mut() else {
        return;
    };
    let answer = match prompt {
        Prompt::HostKey { .. } => match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => Some(true),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(false),
            _ => None,
        },
        Prompt::Passphrase { input, .. } => match k.code {
            KeyCode::Enter => Some(true),
            KeyCode::Esc => Some(false),
            KeyCode::Backspace => {
                input.pop();
                None
            }
            KeyCode::Char(c) => {
                input.push(c);
                None
            }
            _ => None,
        },
    };
    let Some(yes) = answer else {
        return;
    };
    match prompts.remove(0) {
        Prompt::HostKey { reply, .. } => {
            let _ = reply.send(yes);
        }
        Prompt::Passphrase { reply, input, .. } => {
            let _ = reply.send(yes.then_some(input));
        }
    }
}
