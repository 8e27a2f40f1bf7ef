//! The mouse: a click focuses a panel or selects a row or tab, the wheel scrolls
//! what is under the pointer.

use super::*;

impl App {
    /// Click to focus a panel or select a row or tab; the wheel scrolls what is
    /// under the pointer.
    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        if self.overlay.is_some() || !self.prompts.is_empty() {
            return Vec::new();
        }
        let areas = Areas::new(self.size, self.hosts.len());
        let (col, row) = (m.column, m.row);
        let inside = |r: Rect| r.contains(Position::new(col, row));
        let target = if inside(areas.apps) {
            Focus::Apps
        } else if inside(areas.hosts) {
            Focus::Hosts
        } else if inside(areas.main) || inside(areas.tabs) {
            Focus::Main
        } else {
            return Vec::new();
        };
        match m.kind {
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let before = self.focus;
                self.focus = target;
                let fx = self.act(if m.kind == MouseEventKind::ScrollUp {
                    Action::Up
                } else {
                    Action::Down
                });
                if target != Focus::Main {
                    self.focus = before;
                }
                fx
            }
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = target;
                if inside(areas.tabs) {
                    return match areas.tab_at(col) {
                        Some(tab) => self.set_tab(tab),
                        None => Vec::new(),
                    };
                }
                match target {
                    Focus::Apps => {
                        let mut y = areas.apps.y + 1;
                        for (i, a) in self.apps.iter().enumerate() {
                            let h = 1 + a.hosts.len() as u16;
                            if row >= y && row < y + h {
                                if self.app_sel != i {
                                    self.app_sel = i;
                                    return self.follow_selection().into_iter().collect();
                                }
                                break;
                            }
                            y += h;
                        }
                    }
                    Focus::Hosts => {
                        let i = usize::from(row.saturating_sub(areas.hosts.y + 1));
                        if i < self.hosts.len() {
                            self.host_sel = i;
                        }
                    }
                    Focus::Main => {
                        // Lines start below the block border.
                        let first = areas.main.y + 1;
                        if self.tab == Tab::History && row >= first {
                            let height = usize::from(areas.main.height.saturating_sub(2));
                            self.history.click(usize::from(row - first), height);
                        }
                    }
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}
