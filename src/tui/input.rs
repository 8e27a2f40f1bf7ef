//! Keys and mouse to actions. Modal layers (prompts, dialogs, palette, help,
//! the filter line) take keys first with their own few keys; everything else
//! goes through the keymap to a named [`Action`].

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::keymap::key_of;
use super::state::{App, Effect, Focus, Overlay, Prompt, Tab};
use super::ui::layout::Areas;
use crate::keys::Action;

/// The action the keymap gives a key event.
fn action_of(app: &App, k: &KeyEvent) -> Option<Action> {
    key_of(k).and_then(|key| app.keymap.action(key))
}

fn ctrl(k: &KeyEvent) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL)
}

pub fn on_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if k.kind == KeyEventKind::Release {
        return Vec::new();
    }
    if !app.prompts.is_empty() {
        on_prompt_key(app, k);
        return Vec::new();
    }
    if let Some(overlay) = app.overlay.take() {
        return on_overlay_key(app, overlay, k);
    }
    if app.filter_edit {
        match k.code {
            KeyCode::Enter => app.filter_edit = false,
            KeyCode::Esc => {
                app.filter_edit = false;
                app.logs.filter.clear();
            }
            KeyCode::Backspace => {
                app.logs.filter.pop();
            }
            KeyCode::Char(c) if !ctrl(&k) => app.logs.filter.push(c),
            _ => {}
        }
        return Vec::new();
    }
    match action_of(app, &k) {
        Some(a) => app.act(a),
        None => Vec::new(),
    }
}

fn on_prompt_key(app: &mut App, k: KeyEvent) {
    let Some(prompt) = app.prompts.first_mut() else {
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
    match app.prompts.remove(0) {
        Prompt::HostKey { reply, .. } => {
            let _ = reply.send(yes);
        }
        Prompt::Passphrase { reply, input, .. } => {
            let _ = reply.send(yes.then_some(input));
        }
    }
}

fn on_overlay_key(app: &mut App, overlay: Overlay, k: KeyEvent) -> Vec<Effect> {
    match overlay {
        Overlay::Confirm(c) => match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => app.confirmed(c.pending),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                Vec::new()
            }
            _ => {
                app.overlay = Some(Overlay::Confirm(c));
                Vec::new()
            }
        },
        Overlay::Help { scroll } => {
            let action = action_of(app, &k);
            let scroll = match (k.code, action) {
                (KeyCode::Esc, _) | (_, Some(Action::Help | Action::Quit | Action::Back)) => {
                    return Vec::new();
                }
                (_, Some(Action::Down)) => scroll + 1,
                (_, Some(Action::Up)) => scroll.saturating_sub(1),
                (_, Some(Action::PageDown)) => scroll + 10,
                (_, Some(Action::PageUp)) => scroll.saturating_sub(10),
                _ => scroll,
            };
            app.overlay = Some(Overlay::Help { scroll });
            Vec::new()
        }
        Overlay::Palette(mut p) => {
            match k.code {
                KeyCode::Esc => return Vec::new(),
                KeyCode::Enter => {
                    return match p.chosen().map(|e| e.target.clone()) {
                        Some(t) => app.choose(t),
                        None => Vec::new(),
                    };
                }
                KeyCode::Up => p.up(),
                KeyCode::Down | KeyCode::Tab => p.down(),
                KeyCode::Backspace => p.backspace(),
                KeyCode::Char('p') if ctrl(&k) => p.up(),
                KeyCode::Char('n') if ctrl(&k) => p.down(),
                KeyCode::Char(c) => p.push_char(c),
                _ => {}
            }
            app.overlay = Some(Overlay::Palette(p));
            Vec::new()
        }
    }
}

fn inside(r: Rect, col: u16, row: u16) -> bool {
    r.contains(Position::new(col, row))
}

/// Click to focus a panel or select a row or tab; the wheel scrolls what is
/// under the pointer.
pub fn on_mouse(app: &mut App, m: MouseEvent) -> Vec<Effect> {
    if app.overlay.is_some() || !app.prompts.is_empty() {
        return Vec::new();
    }
    let areas = Areas::new(app.size, app.hosts.len());
    let (col, row) = (m.column, m.row);
    let target = if inside(areas.apps, col, row) {
        Focus::Apps
    } else if inside(areas.hosts, col, row) {
        Focus::Hosts
    } else if inside(areas.main, col, row) || inside(areas.tabs, col, row) {
        Focus::Main
    } else {
        return Vec::new();
    };
    match m.kind {
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            let before = app.focus;
            app.focus = target;
            let fx = app.act(if m.kind == MouseEventKind::ScrollUp {
                Action::Up
            } else {
                Action::Down
            });
            if target != Focus::Main {
                app.focus = before;
            }
            fx
        }
        MouseEventKind::Down(MouseButton::Left) => {
            app.focus = target;
            if inside(areas.tabs, col, row) {
                if let Some(tab) = areas.tab_at(col) {
                    return app.set_tab(tab);
                }
                return Vec::new();
            }
            match target {
                Focus::Apps => {
                    let mut y = areas.apps.y + 1;
                    for (i, a) in app.apps.iter().enumerate() {
                        let h = 1 + a.hosts.len() as u16;
                        if row >= y && row < y + h {
                            if app.app_sel != i {
                                app.app_sel = i;
                                return app.history_for_selection().into_iter().collect();
                            }
                            break;
                        }
                        y += h;
                    }
                }
                Focus::Hosts => {
                    let i = usize::from(row.saturating_sub(areas.hosts.y + 1));
                    if i < app.hosts.len() {
                        app.host_sel = i;
                    }
                }
                Focus::Main => {
                    if app.tab == Tab::History {
                        // Lines start below the block border.
                        let first = areas.main.y + 1;
                        let height = usize::from(areas.main.height.saturating_sub(2));
                        if row >= first {
                            let line = app.history.offset_for(height) + usize::from(row - first);
                            if let Some(i) = app.history.row_at_line(line) {
                                app.history.selected = i;
                            }
                        }
                    }
                }
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::Keymap;
    use crate::tui::state::{AppInfo, HostInfo, Pending};
    use crossterm::event::KeyModifiers;
    use std::time::Instant;

    fn app() -> App {
        App::new(
            vec![
                AppInfo {
                    name: "hello".into(),
                    hosts: vec!["h1".into(), "h2".into()],
                },
                AppInfo {
                    name: "pyhello".into(),
                    hosts: vec!["h1".into()],
                },
            ],
            vec![HostInfo {
                name: "h1".into(),
                addr: "10.0.0.1".into(),
                link: crate::ssh::LinkState::Idle,
                rtt: None,
            }],
            Keymap::default(),
            Instant::now(),
        )
    }

    fn key(app: &mut App, c: KeyCode) -> Vec<Effect> {
        on_key(app, KeyEvent::new(c, KeyModifiers::NONE))
    }

    #[test]
    fn vim_keys_and_arrows_move_the_same_selection() {
        let mut a = app();
        key(&mut a, KeyCode::Char('j'));
        assert_eq!(a.app_sel, 1);
        key(&mut a, KeyCode::Up);
        assert_eq!(a.app_sel, 0);
        key(&mut a, KeyCode::Up);
        assert_eq!(a.app_sel, 0);
    }

    #[test]
    fn deploy_plans_then_confirms_then_starts() {
        let mut a = app();
        let fx = key(&mut a, KeyCode::Char('d'));
        assert!(matches!(&fx[..], [Effect::PlanDeploy { app, .. }] if app == "hello"));
        let now = Instant::now();
        a.update(
            crate::tui::state::Msg::DeployPlanned {
                app: "hello".into(),
                plan: Ok(crate::tui::state::DeployPlan {
                    version: "v2".into(),
                    commits: vec!["abc fix".into()],
                }),
            },
            now,
        );
        let Some(Overlay::Confirm(c)) = &a.overlay else {
            panic!("no confirm")
        };
        assert!(matches!(&c.pending, Pending::Deploy { version, .. } if version == "v2"));
        // `n` backs out without starting anything.
        assert!(key(&mut a, KeyCode::Char('n')).is_empty());
        assert!(a.overlay.is_none() && a.run.is_none());
    }

    #[test]
    fn confirming_a_deploy_switches_to_the_deploy_tab() {
        let mut a = app();
        a.tab = Tab::Logs;
        a.overlay = Some(Overlay::Confirm(crate::tui::state::Confirm {
            title: String::new(),
            lines: vec![],
            pending: Pending::Deploy {
                app: "hello".into(),
                hosts: vec!["h1".into()],
                version: "v2".into(),
            },
        }));
        let fx = key(&mut a, KeyCode::Char('y'));
        assert!(
            matches!(&fx[..], [Effect::Deploy { req, .. }] if req.version.as_deref() == Some("v2"))
        );
        assert_eq!(a.tab, Tab::Deploy);
        assert!(a.run.as_ref().is_some_and(|r| r.running()));
        // Quitting now asks first.
        key(&mut a, KeyCode::Char('q'));
        assert!(!a.quit);
        let fx = key(&mut a, KeyCode::Char('y'));
        assert!(a.quit);
        assert!(matches!(&fx[..], [Effect::Cancel { .. }]));
    }

    #[test]
    fn filter_line_takes_typing_and_esc_clears_it() {
        let mut a = app();
        key(&mut a, KeyCode::Char('/'));
        assert_eq!(a.tab, Tab::Logs);
        key(&mut a, KeyCode::Char('q'));
        assert!(!a.quit, "q is text while the filter is typed");
        assert_eq!(a.logs.filter, "q");
        key(&mut a, KeyCode::Esc);
        assert!(a.logs.filter.is_empty() && !a.filter_edit);
    }

    #[test]
    fn s_asks_the_loop_for_a_shell_on_the_apps_first_host() {
        let mut a = app();
        assert!(key(&mut a, KeyCode::Char('s')).is_empty());
        assert_eq!(a.shell_request, Some(("hello".into(), "h1".into())));
    }

    #[test]
    fn palette_runs_the_chosen_action() {
        let mut a = app();
        key(&mut a, KeyCode::Char(':'));
        for c in "tab_hist".chars() {
            key(&mut a, KeyCode::Char(c));
        }
        let fx = key(&mut a, KeyCode::Enter);
        assert_eq!(a.tab, Tab::History);
        assert!(matches!(&fx[..], [Effect::LoadHistory { app, .. }] if app == "hello"));
    }

    #[test]
    fn host_key_prompt_answers_through_its_channel() {
        let mut a = app();
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        a.prompts.push(Prompt::HostKey {
            host: "h1".into(),
            addr: "10.0.0.1:22".into(),
            fingerprint: "SHA256:x".into(),
            reply: tx,
        });
        key(&mut a, KeyCode::Char('d'));
        assert!(rx.try_recv().is_err(), "other keys do not answer");
        key(&mut a, KeyCode::Char('y'));
        assert_eq!(rx.try_recv(), Ok(true));
        assert!(a.prompts.is_empty());
    }

    #[test]
    fn remapped_keys_run_their_action() {
        let mut o = std::collections::BTreeMap::new();
        o.insert("quit".to_string(), vec!["ctrl-q".to_string()]);
        let mut a = app();
        a.keymap = Keymap::with_overrides(&o).unwrap();
        key(&mut a, KeyCode::Char('q'));
        assert!(!a.quit);
        on_key(
            &mut a,
            KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL),
        );
        assert!(a.quit);
    }
}
