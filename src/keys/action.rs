//! The console's named actions. Every key runs one of these, so the keymap, the `:`
//! palette and the `?` help all list the same names and descriptions. The list below
//! is the only place an action is written: its variant, its name in `[ui.keymap]` and
//! the palette, its built-in keys and its description.

use super::key::{Key, KeyCode};

/// Generates [`Action`] and its tables from one list of
/// `Variant "name" [default keys] "description";`, in the order help and the palette
/// show them.
macro_rules! actions {
    ($($variant:ident $name:literal [$($key:expr),+ $(,)?] $description:literal;)+) => {
        /// Something the user can ask the console to do.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant,)+
        }

        impl Action {
            /// Every action, in the order help and the palette list them.
            pub const ALL: [Action; [$($name),+].len()] = [$(Action::$variant,)+];

            /// The name used in `[ui.keymap]` and the palette.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }

            /// One line for help and the palette.
            pub fn description(self) -> &'static str {
                match self {
                    $(Action::$variant => $description,)+
                }
            }

            /// The keys that run the action unless `[ui.keymap]` says otherwise.
            pub fn default_keys(self) -> Vec<Key> {
                use KeyCode as K;
                match self {
                    $(Action::$variant => vec![$($key),+],)+
                }
            }
        }
    };
}

actions! {
    Deploy "deploy" [Key::char('d')]
        "Deploy the selected app (asks first)";
    Rollback "rollback" [Key::char('r')]
        "Roll the selected app back (History row, else the previous release)";
    Shell "shell" [Key::char('s')]
        "Open a shell as the app user (selected host, else the app's first)";
    Restart "restart" [Key::char('e')]
        "Restart the selected app, or the Status tab's selected process (asks first)";
    Stop "stop" [Key::char('S')]
        "Stop the selected app, or the Status tab's selected process (asks first)";
    Start "start" [Key::char('u')]
        "Start the selected app, or the Status tab's selected process (asks first)";
    Cancel "cancel" [Key::char('x'), Key::ctrl('c')]
        "Cancel the running deploy or rollback (asks first)";
    Refresh "refresh" [Key::char('R'), Key::ctrl('r')]
        "Reload status, history and the audit log";
    Select "select" [Key::code(K::Enter)]
        "Open the selection (History: roll back to it)";
    Back "back" [Key::code(K::Esc)]
        "Close the dialog or the error shown, clear the filter";
    Up "up" [Key::char('k'), Key::code(K::Up)]
        "Move the selection up";
    Down "down" [Key::char('j'), Key::code(K::Down)]
        "Move the selection down";
    PageUp "page_up" [Key::code(K::PageUp), Key::ctrl('u')]
        "Move the selection a page up";
    PageDown "page_down" [Key::code(K::PageDown), Key::ctrl('d')]
        "Move the selection a page down";
    Top "top" [Key::char('g'), Key::code(K::Home)]
        "Jump to the first row";
    Bottom "bottom" [Key::char('G'), Key::code(K::End)]
        "Jump to the last row (logs: newest, and follow)";
    NextPane "next_pane" [Key::code(K::Tab)]
        "Focus the next panel";
    PrevPane "prev_pane" [Key::code(K::BackTab)]
        "Focus the previous panel";
    NextTab "next_tab" [Key::char(']'), Key::char('l'), Key::code(K::Right)]
        "Show the next tab";
    PrevTab "prev_tab" [Key::char('['), Key::char('h'), Key::code(K::Left)]
        "Show the previous tab";
    TabDeploy "tab_deploy" [Key::char('1')]
        "Show the Deploy tab";
    TabLogs "tab_logs" [Key::char('2')]
        "Show the Logs tab";
    TabHistory "tab_history" [Key::char('3')]
        "Show the History tab";
    TabStatus "tab_status" [Key::char('4')]
        "Show the Status tab";
    TabAudit "tab_audit" [Key::char('5')]
        "Show the Audit tab";
    Filter "filter" [Key::char('/')]
        "Filter the logs";
    Follow "follow" [Key::char('f')]
        "Logs: follow new lines, or pause";
    Wrap "wrap" [Key::char('w')]
        "Logs: wrap long lines";
    Timestamps "timestamps" [Key::char('t')]
        "Logs: show timestamps";
    Priority "priority" [Key::char('p')]
        "Logs: cycle the lowest priority shown";
    Palette "palette" [Key::char(':')]
        "Open the command palette";
    Help "help" [Key::char('?')]
        "Show the keys of every action";
    Quit "quit" [Key::char('q')]
        "Quit the console";
}

impl Action {
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
            assert!(seen.insert(a.name()), "duplicate {}", a.name());
        }
        assert_eq!(Action::ALL.len(), 33);
    }

    #[test]
    fn every_action_has_keys_and_words() {
        for a in Action::ALL {
            assert!(!a.default_keys().is_empty(), "{a:?}");
            assert!(!a.description().is_empty(), "{a:?}");
            assert!(
                a.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{a:?}"
            );
        }
    }
}
