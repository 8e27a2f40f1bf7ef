//! The console's named actions. Every key runs one of these, so the keymap,
//! the `:` palette and the `?` help all list the same names and descriptions.

/// Something the user can ask the console to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    Palette,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Select,
    Back,
    NextTab,
    PrevTab,
    TabDeploy,
    TabLogs,
    TabHistory,
    TabStatus,
    Deploy,
    Rollback,
    Cancel,
    Refresh,
    Filter,
    Follow,
    Wrap,
    Timestamps,
    Priority,
    Shell,
}

impl Action {
    /// Every action, in the order help and the palette list them.
    pub const ALL: [Action; 29] = [
        Action::Deploy,
        Action::Rollback,
        Action::Shell,
        Action::Cancel,
        Action::Refresh,
        Action::Select,
        Action::Back,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::NextPane,
        Action::PrevPane,
        Action::NextTab,
        Action::PrevTab,
        Action::TabDeploy,
        Action::TabLogs,
        Action::TabHistory,
        Action::TabStatus,
        Action::Filter,
        Action::Follow,
        Action::Wrap,
        Action::Timestamps,
        Action::Priority,
        Action::Palette,
        Action::Help,
        Action::Quit,
    ];

    /// The name used in `[ui.keymap]` and the palette.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Palette => "palette",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Select => "select",
            Action::Back => "back",
            Action::NextTab => "next_tab",
            Action::PrevTab => "prev_tab",
            Action::TabDeploy => "tab_deploy",
            Action::TabLogs => "tab_logs",
            Action::TabHistory => "tab_history",
            Action::TabStatus => "tab_status",
            Action::Deploy => "deploy",
            Action::Rollback => "rollback",
            Action::Cancel => "cancel",
            Action::Refresh => "refresh",
            Action::Filter => "filter",
            Action::Follow => "follow",
            Action::Wrap => "wrap",
            Action::Timestamps => "timestamps",
            Action::Priority => "priority",
            Action::Shell => "shell",
        }
    }

    /// One line for help and the palette.
    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "Quit the console",
            Action::Help => "Show the keys of every action",
            Action::Palette => "Open the command palette",
            Action::NextPane => "Focus the next panel",
            Action::PrevPane => "Focus the previous panel",
            Action::Up => "Move the selection up",
            Action::Down => "Move the selection down",
            Action::PageUp => "Move the selection a page up",
            Action::PageDown => "Move the selection a page down",
            Action::Top => "Jump to the first row",
            Action::Bottom => "Jump to the last row (logs: newest, and follow)",
            Action::Select => "Open the selection (History: roll back to it)",
            Action::Back => "Close the dialog, clear the filter",
            Action::NextTab => "Show the next tab",
            Action::PrevTab => "Show the previous tab",
            Action::TabDeploy => "Show the Deploy tab",
            Action::TabLogs => "Show the Logs tab",
            Action::TabHistory => "Show the History tab",
            Action::TabStatus => "Show the Status tab",
            Action::Deploy => "Deploy the selected app (asks first)",
            Action::Rollback => {
                "Roll the selected app back (History row, else the previous release)"
            }
            Action::Cancel => "Cancel the running deploy or rollback (asks first)",
            Action::Refresh => "Reload history and status",
            Action::Filter => "Filter the logs",
            Action::Follow => "Logs: follow new lines, or pause",
            Action::Wrap => "Logs: wrap long lines",
            Action::Timestamps => "Logs: show timestamps",
            Action::Priority => "Logs: cycle the lowest priority shown",
            Action::Shell => "Open a shell as the app user (selected host, else the app's first)",
        }
    }

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
    }
}
