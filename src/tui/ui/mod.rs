//! Drawing: a read-only view of [`App`]. Header (hosts, link state, RTT), the
//! side panels (Apps, Hosts), the tabbed main panel, the footer (key hints
//! from the keymap, toasts) and any overlay on top.

mod audit;
mod deploy;
mod history;
mod logs;
mod overlay;
mod status;

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::layout::{Areas, tab_label};
use super::state::{App, Focus, Level, Tab};
use super::theme::Theme;
use crate::keys::Action;
use crate::ssh::LinkState;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if theme.bg != ratatui::style::Color::Reset {
        frame.render_widget(Block::new().style(Style::default().bg(theme.bg)), area);
    }
    let areas = Areas::new(area, app.hosts.len());
    header(frame, areas.header, app, theme);
    apps_panel(frame, areas.apps, app, theme);
    hosts_panel(frame, areas.hosts, app, theme);
    tabs(frame, areas.tabs, app, theme);
    let block = panel(theme, app.focus == Focus::Main, &main_title(app));
    let inner = block.inner(areas.main);
    frame.render_widget(block, areas.main);
    match app.tab {
        Tab::Deploy => deploy::draw(frame, inner, app, theme),
        Tab::Logs => logs::draw(frame, inner, app, theme),
        Tab::History => history::draw(frame, inner, app, theme),
        Tab::Status => status::draw(frame, inner, app, theme),
        Tab::Audit => audit::draw(frame, inner, app, theme),
    }
    footer(frame, areas.footer, app, theme);
    errors(frame, areas.main, app, theme);
    overlay::draw(frame, area, app, theme);
}

fn main_title(app: &App) -> String {
    match app.tab {
        Tab::Deploy => match &app.deploy.run {
            Some(r) => format!("{} {}", r.kind.verb(), r.app),
            None => "deploy".into(),
        },
        Tab::Logs => {
            let mut t = format!("logs · {} lines", app.logs.len());
            if app.logs.dropped > 0 {
                t.push_str(&format!(" · {} dropped", app.logs.dropped));
            }
            t
        }
        Tab::History => format!("history · {}", app.history.app),
        Tab::Status => "status".into(),
        Tab::Audit => format!("audit · {}", app.audit.app),
    }
}

/// The newest error not yet dismissed, over the bottom of the main panel, wrapped
/// to at most four lines; it stays until Esc.
fn errors(frame: &mut Frame, main: Rect, app: &App, theme: &Theme) {
    let Some(text) = app.errors.last() else {
        return;
    };
    let inner_w = usize::from(main.width.saturating_sub(4)).max(1);
    let wrapped = wrapped_lines(text, inner_w).clamp(1, 4) as u16;
    let h = (wrapped + 2).min(main.height);
    let r = Rect::new(main.x, main.y + main.height - h, main.width, h);
    let title = match app.errors.len() {
        1 => "error · esc dismiss".to_string(),
        n => format!("error (1 of {n}) · esc dismiss"),
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.bold(theme.error))
        .padding(ratatui::widgets::Padding::horizontal(1))
        .title(Span::styled(format!(" {title} "), theme.bold(theme.error)));
    frame.render_widget(ratatui::widgets::Clear, r);
    frame.render_widget(
        Paragraph::new(Span::styled(text.clone(), theme.color(theme.error)))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(block),
        r,
    );
}

/// How many lines `text` takes when wrapped at words to `width` columns.
fn wrapped_lines(text: &str, width: usize) -> usize {
    let (mut lines, mut col) = (1, 0);
    for word in text.split_whitespace() {
        let w = word.chars().count();
        if col > 0 && col + 1 + w > width {
            lines += 1;
            col = 0;
        }
        col += if col > 0 { 1 + w } else { w };
        while col > width {
            lines += 1;
            col -= width;
        }
    }
    lines
}

/// A bordered block titled with `title`, highlighted when focused.
pub fn panel<'a>(theme: &Theme, focused: bool, title: &str) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(
            format!(" {title} "),
            if focused {
                theme.bold(theme.title)
            } else {
                theme.color(theme.title)
            },
        ))
}

/// `1.2s`, `1m04s`.
pub fn fmt_elapsed(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// Symbol and color of a link state.
pub fn link_badge(theme: &Theme, state: &LinkState) -> (Span<'static>, &'static str) {
    match state {
        LinkState::Connected => (Span::styled("●", theme.color(theme.ok)), "up"),
        LinkState::Connecting => (Span::styled("◌", theme.color(theme.warn)), "connecting"),
        LinkState::Idle => (Span::styled("○", theme.dimmed()), "idle"),
        LinkState::Reconnecting { .. } => {
            (Span::styled("◌", theme.color(theme.warn)), "reconnecting")
        }
        LinkState::Failed { .. } => (Span::styled("✗", theme.color(theme.error)), "failed"),
    }
}

pub fn fmt_rtt(rtt: Option<Duration>) -> String {
    match rtt {
        Some(d) if d < Duration::from_millis(10) => format!("{:.1}ms", d.as_secs_f64() * 1000.0),
        Some(d) => format!("{}ms", d.as_millis()),
        None => "—".into(),
    }
}

fn header(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = vec![Span::styled(" raijin ", theme.bold(theme.accent))];
    if let Some(env) = &app.environment {
        spans.push(Span::styled(format!("{env} "), theme.selected()));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled("│", theme.dimmed()));
    for h in &app.hosts {
        let (badge, word) = link_badge(theme, &h.link);
        spans.push(Span::raw(" "));
        spans.push(badge);
        spans.push(Span::styled(format!(" {} ", h.name), theme.text()));
        let extra = match &h.link {
            LinkState::Connected => fmt_rtt(h.rtt),
            _ => word.to_string(),
        };
        spans.push(Span::styled(extra, theme.dimmed()));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn apps_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focused = app.focus == Focus::Apps;
    let block = panel(theme, focused, "Apps");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    for (i, a) in app.apps.iter().enumerate() {
        let selected = i == app.app_sel;
        let style = if selected && focused {
            theme.selected()
        } else if selected {
            theme.bold(theme.accent)
        } else {
            theme.bold(theme.fg)
        };
        let marker = if selected { "▌" } else { " " };
        lines.push(Line::from(vec![
            Span::styled(marker, theme.color(theme.accent)),
            Span::styled(
                format!(
                    "{:<w$}",
                    a.name,
                    w = usize::from(inner.width).saturating_sub(1)
                ),
                style,
            ),
        ]));
        let status = app.status.apps.get(&a.name);
        for h in &a.hosts {
            let hs = status.and_then(|s| s.iter().find(|x| &x.host == h));
            let (sym, color, text) = match hs {
                None => ("·", theme.dim, "…".to_string()),
                Some(s) if s.error.is_some() => ("✗", theme.error, "unreachable".to_string()),
                Some(s) => match &s.current {
                    None => ("○", theme.dim, "not deployed".to_string()),
                    Some(v) => {
                        let all_up =
                            !s.units.is_empty() && s.units.iter().all(|u| u.active == "active");
                        let drift = !s.drift.is_empty();
                        if all_up && !drift {
                            ("●", theme.ok, v.clone())
                        } else if drift {
                            ("!", theme.warn, format!("{v} drift"))
                        } else {
                            ("●", theme.error, format!("{v} down"))
                        }
                    }
                },
            };
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(sym, theme.color(color)),
                Span::styled(format!(" {h:<5} "), theme.dimmed()),
                Span::styled(text, theme.text()),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn hosts_panel(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focused = app.focus == Focus::Hosts;
    let block = panel(theme, focused, "Hosts");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = app
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (badge, word) = link_badge(theme, &h.link);
            let detail = match &h.link {
                LinkState::Connected => fmt_rtt(h.rtt),
                LinkState::Failed { error } | LinkState::Reconnecting { error, .. } => {
                    format!("{word}: {error}")
                }
                _ => word.to_string(),
            };
            let name_style = if i == app.host_sel && focused {
                theme.selected()
            } else {
                theme.color(theme.host(i))
            };
            Line::from(vec![
                Span::raw(" "),
                badge,
                Span::raw(" "),
                Span::styled(format!("{:<5}", h.name), name_style),
                Span::styled(format!(" {} ", h.addr), theme.dimmed()),
                Span::styled(detail, theme.text()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn tabs(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    for (i, t) in Tab::ALL.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled("│", theme.dimmed()));
        }
        let style = if t == app.tab {
            theme.bold(theme.accent).add_modifier(Modifier::REVERSED)
        } else {
            theme.dimmed()
        };
        spans.push(Span::styled(tab_label(t), style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The actions hinted in the footer for the current context.
fn hint_actions(app: &App) -> Vec<Action> {
    let mut v = Vec::new();
    match (app.focus, app.tab) {
        (Focus::Main, Tab::History) => v.extend([Action::Select, Action::Refresh]),
        (_, Tab::Status) => v.extend([Action::Restart, Action::Stop, Action::Start]),
        (Focus::Main, Tab::Logs) | (_, Tab::Logs) => v.extend([
            Action::Filter,
            Action::Follow,
            Action::Priority,
            Action::Wrap,
        ]),
        _ => v.push(Action::Deploy),
    }
    if app.deploy.run.as_ref().is_some_and(|r| r.running()) {
        v.push(Action::Cancel);
    } else if app.tab != Tab::Logs {
        v.push(Action::Rollback);
    }
    v.extend([
        Action::NextPane,
        Action::NextTab,
        Action::Palette,
        Action::Help,
        Action::Quit,
    ]);
    v
}

fn footer(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if app.logs.editing {
        let line = Line::from(vec![
            Span::styled(" / ", theme.bold(theme.accent)),
            Span::styled(app.logs.filter.clone(), theme.text()),
            Span::styled("█", theme.color(theme.accent)),
            Span::styled("  enter keep · esc clear", theme.dimmed()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut spans = Vec::new();
    for a in hint_actions(app) {
        if let Some(k) = app.keymap.hint(a) {
            spans.push(Span::styled(format!(" {k}"), theme.bold(theme.accent)));
            spans.push(Span::styled(
                format!(" {}", a.name().replace('_', " ")),
                theme.dimmed(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    if let Some(t) = app.toasts.last() {
        let color = match t.level {
            Level::Info => theme.info,
            Level::Ok => theme.ok,
            Level::Error => theme.error,
        };
        let text = format!(" {} ", t.text);
        let w = (text.chars().count() as u16).min(area.width);
        let r = Rect::new(area.x + area.width - w, area.y, w, 1);
        let style = if theme.mono {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().fg(theme.selection_fg).bg(color)
        };
        frame.render_widget(ratatui::widgets::Clear, r);
        frame.render_widget(Paragraph::new(Span::styled(text, style)), r);
    }
}
