//! Where each part of the screen goes. Drawing and mouse handling both use
//! [`Areas`], so a click lands on what was drawn there.

use ratatui::layout::{Constraint, Layout, Rect};

use super::focus::Tab;

#[derive(Clone, Copy, Debug)]
pub struct Areas {
    pub header: Rect,
    pub apps: Rect,
    pub hosts: Rect,
    pub tabs: Rect,
    pub main: Rect,
    pub footer: Rect,
}

/// `" Deploy "` and so on, with a one-column separator between.
pub fn tab_label(tab: Tab) -> String {
    format!(" {} ", tab.title())
}

impl Areas {
    pub fn new(size: Rect, hosts: usize) -> Areas {
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(size);
        let left_w = if size.width >= 120 { 34 } else { 26 };
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_w), Constraint::Min(10)]).areas(body);
        let hosts_h = (hosts as u16 + 2).min(left.height / 2).max(3);
        let [apps, hosts] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(hosts_h)]).areas(left);
        let [tabs, main] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(right);
        Areas {
            header,
            apps,
            hosts,
            tabs,
            main,
            footer,
        }
    }

    /// The tab whose title is at column `col` of the tab bar.
    pub fn tab_at(&self, col: u16) -> Option<Tab> {
        let mut x = self.tabs.x;
        for tab in Tab::ALL {
            let w = tab_label(tab).chars().count() as u16;
            if col >= x && col < x + w {
                return Some(tab);
            }
            x += w + 1;
        }
        None
    }
}
