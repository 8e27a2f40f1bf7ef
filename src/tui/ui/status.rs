//! The Status pane: per app and host the current version, the web process's slots,
//! each unit with what `raijin app status` shows (state/sub, main PID, restarts,
//! memory, since when) and any drift; the selected unit is marked while the pane
//! has the focus.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::inspect::{HostStatus, UnitDetail};
use crate::tui::state::{App, Focus};
use crate::tui::theme::Theme;

/// `12.3M`, `512K`, `1.1G`.
pub fn fmt_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    let mut v = n as f64 / 1024.0;
    if v < 1.0 {
        return format!("{n}B");
    }
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if v < 10.0 {
        format!("{v:.1}{}", UNITS[i])
    } else {
        format!("{v:.0}{}", UNITS[i])
    }
}

/// Where the drawing is: the unit rows counted so far, the one selected (when the
/// pane has the focus) and the line it landed on.
struct Cursor {
    row: usize,
    selected: Option<usize>,
    line: Option<usize>,
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines = Vec::new();
    let mut at = Cursor {
        row: 0,
        selected: (app.focus == Focus::Main).then_some(app.status.selected),
        line: None,
    };
    if app.status.apps.is_empty() {
        lines.push(Line::from(Span::styled(" loading status…", theme.dimmed())));
    }
    let wide = area.width >= 90;
    for (name, hosts) in &app.status.apps {
        lines.push(Line::from(Span::styled(
            format!(" {name}"),
            theme.bold(theme.title),
        )));
        if wide {
            lines.push(Line::from(Span::styled(
                format!(
                    "       {:<26} {:<17} {:>7} {:>8} {:>6}  since",
                    "unit", "state", "pid", "restarts", "memory"
                ),
                theme.dimmed(),
            )));
        }
        for s in hosts {
            host_lines(&mut lines, &mut at, app, name, s, theme, wide);
        }
    }
    // Keep the selected unit on screen.
    let height = usize::from(area.height).max(1);
    let offset = at.line.map_or(0, |l| (l + 1).saturating_sub(height));
    frame.render_widget(Paragraph::new(lines).scroll((offset as u16, 0)), area);
}

fn host_lines(
    lines: &mut Vec<Line<'static>>,
    at: &mut Cursor,
    app: &App,
    name: &str,
    s: &HostStatus,
    theme: &Theme,
    wide: bool,
) {
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
            Span::styled(format!("     slot {} ", sl.slot), theme.dimmed()),
            Span::styled(format!("{:<24} ", sl.release), theme.text()),
            if sl.serving {
                Span::styled("serving", theme.bold(theme.ok))
            } else {
                Span::styled("standby", theme.dimmed())
            },
        ]));
    }
    let details = app
        .status
        .units
        .get(name)
        .and_then(|hs| hs.iter().find(|h| h.host == s.host));
    for u in app.status.shown_units(name, s) {
        let selected = at.selected == Some(at.row);
        if selected {
            at.line = Some(lines.len());
        }
        let first = lines.len();
        unit_lines(lines, &u, theme, wide);
        if selected {
            for span in lines[first..].iter_mut().flat_map(|l| l.spans.iter_mut()) {
                span.style = span.style.patch(theme.selected());
            }
        }
        at.row += 1;
    }
    if let Some(e) = details
        .and_then(|d| d.error.as_ref())
        .filter(|_| s.error.is_none())
    {
        lines.push(Line::from(Span::styled(
            format!("     units: {e}"),
            theme.color(theme.error),
        )));
    }
    for d in &s.drift {
        lines.push(Line::from(vec![
            Span::styled("     ! drift ", theme.bold(theme.warn)),
            Span::styled(d.clone(), theme.text()),
        ]));
    }
}

/// A unit on one line when the pane is wide, else its state on one line and the
/// numbers below it.
fn unit_lines(lines: &mut Vec<Line<'static>>, u: &UnitDetail, theme: &Theme, wide: bool) {
    let color = match u.active.as_str() {
        "active" => theme.ok,
        "activating" | "reloading" => theme.warn,
        _ => theme.error,
    };
    let dash = || "—".to_string();
    let pid = u.main_pid.map(|p| p.to_string()).unwrap_or_else(dash);
    let restarts = u.restarts.map(|n| n.to_string()).unwrap_or_else(dash);
    let mem = u.memory_bytes.map(fmt_bytes).unwrap_or_else(dash);
    let state = format!("{}/{}", u.active, u.sub);
    let serving = (u.serving == Some(true)).then(|| Span::styled(" serving", theme.bold(theme.ok)));
    if wide {
        let mut spans = vec![
            Span::styled("     ● ", theme.color(color)),
            Span::styled(format!("{:<26} ", u.unit), theme.text()),
            Span::styled(format!("{state:<17} "), theme.color(color)),
            Span::styled(format!("{pid:>7} {restarts:>8} {mem:>6}  "), theme.text()),
            Span::styled(u.since.clone(), theme.dimmed()),
        ];
        spans.extend(serving);
        lines.push(Line::from(spans));
        return;
    }
    let mut spans = vec![
        Span::styled("     ● ", theme.color(color)),
        Span::styled(format!("{} ", u.unit), theme.text()),
        Span::styled(state, theme.color(color)),
    ];
    spans.extend(serving);
    lines.push(Line::from(spans));
    lines.push(Line::from(vec![
        Span::styled("       pid ", theme.dimmed()),
        Span::styled(pid, theme.text()),
        Span::styled(" · restarts ", theme.dimmed()),
        Span::styled(restarts, theme.text()),
        Span::styled(" · ", theme.dimmed()),
        Span::styled(mem, theme.text()),
        Span::styled(format!(" · since {}", u.since), theme.dimmed()),
    ]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_short() {
        assert_eq!(fmt_bytes(512), "512B");
        assert_eq!(fmt_bytes(12_900_000), "12M");
        assert_eq!(fmt_bytes(1_048_576 * 3 / 2), "1.5M");
    }
}
