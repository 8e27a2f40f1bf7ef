//! The History pane: one row per version of the selected app, merged over its
//! hosts (when, commit, who), with a mark per host for where it is current, kept,
//! bad or missing, and the hosts whose history could not be read.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::state::{App, Focus, VersionRow};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let h = &app.history;
    if h.app.is_empty() || (h.hosts.is_empty() && h.loading) {
        let text = if h.loading {
            " loading history…"
        } else {
            " No app selected."
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dimmed())), area);
        return;
    }
    let wide = area.width >= 90;
    let hosts: Vec<&str> = h.hosts.iter().map(|(n, _)| n.as_str()).collect();
    let head = if wide {
        format!(
            "   {:<26} {:<13} {:<20} {:<20} hosts",
            "version", "commit", "deployed", "by"
        )
    } else {
        format!("   {:<14} {:<12} hosts", "version", "deployed")
    };
    let mut lines = vec![Line::from(Span::styled(head, theme.dimmed()))];
    if h.versions.is_empty() && !h.loading {
        lines.push(Line::from(Span::styled("   (no releases)", theme.dimmed())));
    }
    for (i, v) in h.versions.iter().enumerate() {
        lines.push(row(app, theme, v, &hosts, i == h.selected, wide));
    }
    for (host, res) in &h.hosts {
        if let Err(e) = res {
            lines.push(Line::from(Span::styled(
                format!(" {host}: {e}"),
                theme.color(theme.error),
            )));
        }
    }
    if h.loading {
        lines.push(Line::from(Span::styled(" refreshing…", theme.dimmed())));
    } else if !h.versions.is_empty() {
        lines.push(Line::from(Span::styled(
            " ● current ○ kept ✗ bad · not kept",
            theme.dimmed(),
        )));
    }
    // Keep the selection on screen.
    let offset = h.offset_for(usize::from(area.height));
    frame.render_widget(Paragraph::new(lines).scroll((offset as u16, 0)), area);
}

fn row<'a>(
    app: &App,
    theme: &Theme,
    v: &VersionRow,
    hosts: &[&str],
    sel: bool,
    wide: bool,
) -> Line<'a> {
    let current = !v.current_on.is_empty();
    let mark = if current { "▶" } else { " " };
    let deployed = v.deployed_at.replace('T', " ");
    let text = if wide {
        let deployed = deployed.get(..19).unwrap_or(&deployed);
        format!(
            " {mark} {:<26} {:<13} {:<20} {:<20} ",
            v.version,
            v.commit.as_deref().unwrap_or("—"),
            deployed,
            v.by
        )
    } else {
        let deployed = deployed.get(5..16).unwrap_or(&deployed);
        format!(" {mark} {:<14} {:<12} ", v.version, deployed)
    };
    let base = if sel && app.focus == Focus::Main {
        theme.selected()
    } else if sel {
        theme.bold(theme.accent)
    } else if current {
        theme.bold(theme.fg)
    } else {
        theme.text()
    };
    let mut spans = vec![Span::styled(text, base)];
    for host in hosts {
        let has = |list: &[String]| list.iter().any(|x| x == host);
        let (sym, style) = if has(&v.current_on) {
            ("●", theme.bold(theme.ok))
        } else if has(&v.bad_on) {
            ("✗", theme.color(theme.error))
        } else if has(&v.kept_on) {
            ("○", theme.text())
        } else {
            ("·", theme.dimmed())
        };
        spans.push(Span::styled(format!("{sym}{host} "), style));
    }
    if current {
        spans.push(Span::styled(" current", theme.bold(theme.ok)));
    }
    if !v.bad_on.is_empty() {
        spans.push(Span::styled(" BAD", theme.bold(theme.error)));
    }
    Line::from(spans)
}
