//! The Status pane: the units of every app per host with any drift.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::state::App;
use crate::tui::theme::Theme;

pub fn status(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = Vec::new();
    if app.status.apps.is_empty() {
        lines.push(Line::from(Span::styled(" loading status…", theme.dimmed())));
    }
    for (name, hosts) in &app.status.apps {
        lines.push(Line::from(Span::styled(
            format!(" {name}"),
            theme.bold(theme.title),
        )));
        for s in hosts {
            let idx = app.hosts.iter().position(|x| x.name == s.host).unwrap_or(0);
            let mut spans = vec![Span::styled(
                format!("   {:<6} ", s.host),
                theme.color(theme.host(idx)),
            )];
            match (&s.error, &s.current) {
                (Some(e), _) => spans.push(Span::styled(
                    format!("error: {e}"),
                    theme.color(theme.error),
                )),
                (None, None) => spans.push(Span::styled("not deployed", theme.dimmed())),
                (None, Some(v)) => spans.push(Span::styled(v.clone(), theme.bold(theme.accent))),
            }
            lines.push(Line::from(spans));
            for sl in &s.slots {
                lines.push(Line::from(vec![
                    Span::styled(format!("          slot {} ", sl.slot), theme.dimmed()),
                    Span::styled(format!("{:<24} ", sl.release), theme.text()),
                    if sl.serving {
                        Span::styled("serving", theme.bold(theme.ok))
                    } else {
                        Span::styled("standby", theme.dimmed())
                    },
                ]));
            }
            for u in &s.units {
                let color = match u.active.as_str() {
                    "active" => theme.ok,
                    "activating" | "reloading" => theme.warn,
                    _ => theme.error,
                };
                lines.push(Line::from(vec![
                    Span::styled("          ● ", theme.color(color)),
                    Span::styled(format!("{:<30} ", u.unit), theme.text()),
                    Span::styled(format!("{}/{}", u.active, u.sub), theme.color(color)),
                    Span::styled(format!("  since {}", u.since), theme.dimmed()),
                ]));
            }
            for d in &s.drift {
                lines.push(Line::from(vec![
                    Span::styled("          ! drift ", theme.bold(theme.warn)),
                    Span::styled(d.clone(), theme.text()),
                ]));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines).scroll((app.status.scroll as u16, 0)),
        area,
    );
}
