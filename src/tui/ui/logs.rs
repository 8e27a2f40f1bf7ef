//! The Logs pane: the merged stream from the ring buffer, host-colored, ANSI
//! colors kept (dropped with NO_COLOR), filter matches highlighted, with follow/pause, wrap,
//! timestamps, the priority floor and the dropped-line count in its status line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::logs::priority_name;
use crate::tui::logs::{LogLine, highlight};
use crate::tui::state::App;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if area.height < 2 {
        return;
    }
    let logs = &app.logs;
    let mut status = vec![
        Span::styled(
            if logs.follow {
                " ▼ follow"
            } else {
                " ‖ paused"
            },
            theme.bold(if logs.follow { theme.ok } else { theme.warn }),
        ),
        Span::styled(
            format!(" · ≤{}", priority_name(logs.max_priority)),
            theme.dimmed(),
        ),
    ];
    if !logs.filter.is_empty() {
        status.push(Span::styled(" · filter ", theme.dimmed()));
        status.push(Span::styled(format!("/{}", logs.filter), theme.highlight()));
    }
    if logs.wrap {
        status.push(Span::styled(" · wrap", theme.dimmed()));
    }
    if logs.unseen > 0 {
        status.push(Span::styled(
            format!(" · {} new below", logs.unseen),
            theme.color(theme.info),
        ));
    }
    if logs.dropped > 0 {
        status.push(Span::styled(
            format!(" · {} dropped", logs.dropped),
            theme.color(theme.warn),
        ));
    }
    frame.render_widget(
        Paragraph::new(Line::from(status)),
        Rect { height: 1, ..area },
    );
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    let visible = logs.visible(usize::from(body.height));
    if visible.is_empty() {
        let text = if logs.is_empty() {
            " No log lines yet."
        } else {
            " No lines match the filter."
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.dimmed())), body);
        return;
    }
    let lines: Vec<Line> = visible.iter().map(|l| render(l, app, theme)).collect();
    let mut p = Paragraph::new(lines);
    if logs.wrap {
        p = p.wrap(Wrap { trim: false });
        // Wrapped lines take more rows: keep the newest at the bottom.
        let rows: u16 = visible
            .iter()
            .map(|l| {
                let w = l.plain.chars().count() + 24;
                (w / usize::from(body.width.max(1)) + 1) as u16
            })
            .sum();
        p = p.scroll((rows.saturating_sub(body.height), 0));
    }
    frame.render_widget(p, body);
}

fn render(l: &LogLine, app: &App, theme: &Theme) -> Line<'static> {
    let r = &l.record;
    let idx = app.hosts.iter().position(|h| h.name == r.host).unwrap_or(0);
    let mut spans = Vec::new();
    if app.logs.timestamps {
        spans.push(Span::styled(
            format!(" {} ", clock(r.time_us)),
            theme.dimmed(),
        ));
    }
    spans.push(Span::styled(
        format!("{:<5}", r.host),
        theme.color(theme.host(idx)),
    ));
    let unit = r.unit.trim_end_matches(".service");
    spans.push(Span::styled(format!(" {unit} "), theme.dimmed()));
    let msg_style = match r.priority {
        0..=3 => Some(theme.color(theme.error)),
        4 => Some(theme.color(theme.warn)),
        _ => None,
    };
    let mut msg = highlight(&l.styled, &app.logs.filter, theme.highlight());
    if theme.mono {
        // NO_COLOR: the message's own ANSI colors go too; bold and the like stay.
        for span in &mut msg.spans {
            span.style.fg = None;
            span.style.bg = None;
        }
    }
    if let Some(s) = msg_style {
        msg = msg.patch_style(s);
    }
    spans.extend(msg.spans);
    Line::from(spans)
}

/// `HH:MM:SS` (UTC) of a time in microseconds since the Unix epoch.
fn clock(time_us: u64) -> String {
    let s = time_us / 1_000_000 % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
