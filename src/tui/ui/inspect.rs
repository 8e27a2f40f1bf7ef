//! The History and Status panes: kept releases per host (current, bad, time,
//! commit, who), and the units of every app per host with any drift.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::state::{App, Focus};
use crate::tui::theme::Theme;

pub fn history(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
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
    let mut lines = vec![Line::from(Span::styled(
        if wide {
            format!(
                "   {:<26} {:<13} {:<22} {:<20} {}",
                "version", "commit", "deployed", "by", ""
            )
        } else {
            format!("   {:<22} {:<16} {}", "version", "deployed", "")
        },
        theme.dimmed(),
    ))];
    let mut row = 0usize;
    for (hi, (host, res)) in h.hosts.iter().enumerate() {
        let idx = app.hosts.iter().position(|x| &x.name == host).unwrap_or(hi);
        lines.push(Line::from(Span::styled(
            format!(" {host}"),
            theme.bold(theme.host(idx)),
        )));
        match res {
            Err(e) => lines.push(Line::from(Span::styled(
                format!("   error: {e}"),
                theme.color(theme.error),
            ))),
            Ok(hist) if hist.releases.is_empty() => {
                lines.push(Line::from(Span::styled("   (no releases)", theme.dimmed())))
            }
            Ok(hist) => {
                for r in &hist.releases {
                    let sel = row == h.selected;
                    let mark = if r.current { "▶" } else { " " };
                    let deployed = r.deployed_at.replace('T', " ");
                    let deployed = deployed.get(..19).unwrap_or(&deployed).to_string();
                    let text = if wide {
                        format!(
                            " {mark} {:<26} {:<13} {:<22} {:<20} ",
                            r.version,
                            r.commit.as_deref().unwrap_or("—"),
                            deployed,
                            r.by
                        )
                    } else {
                        format!(
                            " {mark} {:<22} {:<16} ",
                            r.version,
                            deployed.get(5..).unwrap_or(&deployed)
                        )
                    };
                    let base = if sel && app.focus == Focus::Main {
                        theme.selected()
                    } else if sel {
                        theme.bold(theme.accent)
                    } else if r.current {
                        theme.bold(theme.fg)
                    } else {
                        theme.text()
                    };
                    let mut spans = vec![Span::styled(text, base)];
                    if r.current {
                        spans.push(Span::styled("current ", theme.bold(theme.ok)));
                    }
                    if r.bad {
                        spans.push(Span::styled("BAD", theme.bold(theme.error)));
                    }
                    lines.push(Line::from(spans));
                    row += 1;
                }
            }
        }
    }
    if h.loading {
        lines.push(Line::from(Span::styled(" refreshing…", theme.dimmed())));
    }
    // Keep the selection on screen.
    let offset = h.offset_for(usize::from(area.height));
    frame.render_widget(Paragraph::new(lines).scroll((offset as u16, 0)), area);
}

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
