//! The Audit pane: what was done to the selected app on its hosts (deploys,
//! rollbacks, starts, stops, restarts, prunes, downs), newest first: when, where,
//! what, which version, by whom, the outcome and any error; then the hosts whose
//! log could not be read.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::inspect::AuditEntry;
use crate::tui::state::App;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let a = &app.audit;
    let log = match &a.log {
        None => {
            let text = if a.loading {
                " loading the audit log…"
            } else {
                " No app selected."
            };
            frame.render_widget(Paragraph::new(Span::styled(text, theme.dimmed())), area);
            return;
        }
        Some(Err(e)) => {
            let line = Span::styled(format!(" {e}"), theme.color(theme.error));
            frame.render_widget(Paragraph::new(line), area);
            return;
        }
        Some(Ok(log)) => log,
    };
    let wide = area.width >= 90;
    let head = if wide {
        format!(
            "   {:<20} {:<6} {:<16} {:<24} {:<20} outcome",
            "when", "host", "action", "version", "by"
        )
    } else {
        format!(
            "   {:<11} {:<5} {:<10} {:<12} outcome",
            "when", "host", "action", "version"
        )
    };
    let mut lines = vec![Line::from(Span::styled(head, theme.dimmed()))];
    if log.entries.is_empty() {
        lines.push(Line::from(Span::styled(
            "   (nothing recorded yet)",
            theme.dimmed(),
        )));
    }
    for e in log.entries.iter().skip(a.scroll) {
        entry_lines(&mut lines, app, e, theme, wide);
    }
    for (host, _, why) in &log.errors {
        lines.push(Line::from(Span::styled(
            format!(" {host}: {why}"),
            theme.color(theme.error),
        )));
    }
    if a.loading {
        lines.push(Line::from(Span::styled(" refreshing…", theme.dimmed())));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn entry_lines(
    lines: &mut Vec<Line<'static>>,
    app: &App,
    e: &AuditEntry,
    theme: &Theme,
    wide: bool,
) {
    let at = e.at.replace('T', " ");
    let at = at.trim_end_matches('Z');
    let idx = app.hosts.iter().position(|h| h.name == e.host).unwrap_or(0);
    let (at, host, action, version) = if wide {
        (
            format!("   {:<20} ", at.get(..19).unwrap_or(at)),
            format!("{:<6} ", e.host),
            format!("{:<16} ", e.action),
            format!("{:<24} {:<20} ", e.version, e.by),
        )
    } else {
        (
            format!("   {:<11} ", at.get(5..16).unwrap_or(at)),
            format!("{:<5} ", e.host),
            format!("{:<10} ", e.action),
            format!("{:<12} ", e.version),
        )
    };
    let ok = e.outcome == "ok";
    lines.push(Line::from(vec![
        Span::styled(at, theme.dimmed()),
        Span::styled(host, theme.color(theme.host(idx))),
        Span::styled(action, theme.bold(theme.fg)),
        Span::styled(version, theme.text()),
        Span::styled(
            e.outcome.clone(),
            theme.bold(if ok { theme.ok } else { theme.error }),
        ),
    ]));
    if let Some(err) = &e.error {
        lines.push(Line::from(Span::styled(
            format!("     {err}"),
            theme.color(theme.error),
        )));
    }
}
