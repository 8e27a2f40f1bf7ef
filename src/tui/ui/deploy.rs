//! The Deploy pane: the running (or last) deploy or rollback, per host × step,
//! with push bars, elapsed times, the failing step's journal lines, streamed
//! output and the final summary.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::fmt_elapsed;
use crate::ssh::OutputKind;
use crate::tui::run::{Lane, Outcome, Run, StepRow, StepState};
use crate::tui::state::App;
use crate::tui::theme::Theme;
use crate::util::human_bytes;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(run) = &app.deploy.run else {
        let hint = app
            .keymap
            .hint(crate::keys::Action::Deploy)
            .unwrap_or_else(|| ":deploy".into());
        let lines = vec![
            Line::from(""),
            Line::from(Span::styled(
                format!(" No deploy yet. Select an app and press {hint} to deploy it."),
                theme.dimmed(),
            )),
        ];
        frame.render_widget(Paragraph::new(lines), area);
        return;
    };
    let mut lines = head(run, app, theme);
    if !run.local.steps.is_empty() || run.local.error.is_some() {
        lines.push(lane_line("local", &run.local, None, app, theme, area.width));
    }
    for (i, (host, lane)) in run.lanes.iter().enumerate() {
        lines.push(lane_line(host, lane, Some(i), app, theme, area.width));
        lines.extend(chips(lane, theme));
        if let Some(bar) = push_bar(lane, theme, area.width) {
            lines.push(bar);
        }
    }
    for (host, lane) in
        std::iter::once(("local", &run.local)).chain(run.lanes.iter().map(|(h, l)| (h.as_str(), l)))
    {
        if let Some((step, err)) = &lane.error {
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                format!(" ✗ {host}: {} failed", step.name()),
                theme.bold(theme.error),
            )));
            for l in err.lines() {
                lines.push(Line::from(Span::styled(
                    format!("   {l}"),
                    theme.color(theme.error),
                )));
            }
            for j in &lane.journal {
                lines.push(Line::from(vec![
                    Span::styled("   journal │ ", theme.dimmed()),
                    Span::styled(j.clone(), theme.text()),
                ]));
            }
        }
    }
    if let Some(Outcome::Report(r)) = &run.outcome {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            " summary",
            theme.bold(theme.title),
        )));
        for h in &r.hosts {
            let line = match &h.error {
                None => Line::from(vec![
                    Span::styled(format!("   ✓ {:<6} ", h.host), theme.color(theme.ok)),
                    Span::styled(
                        format!(
                            "{}{} in {}, sent {}",
                            h.from_version
                                .as_ref()
                                .map(|f| format!("{f} → "))
                                .unwrap_or_default(),
                            h.version,
                            fmt_elapsed(std::time::Duration::from_millis(h.elapsed_ms)),
                            human_bytes(h.bytes_sent)
                        ),
                        theme.text(),
                    ),
                ]),
                Some(e) => Line::from(vec![
                    Span::styled(format!("   ✗ {:<6} ", h.host), theme.color(theme.error)),
                    Span::styled(e.clone(), theme.text()),
                ]),
            };
            lines.push(line);
        }
    }
    let used = lines.len() as u16;
    let top = Rect {
        height: used.min(area.height),
        ..area
    };
    frame.render_widget(Paragraph::new(lines), top);
    // The rest: streamed output, newest at the bottom.
    if area.height > used + 2 {
        let out_area = Rect {
            y: area.y + used + 1,
            height: area.height - used - 1,
            ..area
        };
        output(frame, out_area, run, app, theme);
    }
}

fn head(run: &Run, app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let elapsed = run.elapsed(app.now);
    let (sym, word, color) = match &run.outcome {
        None => (
            SPINNER[(elapsed.as_millis() / 100) as usize % SPINNER.len()],
            "running",
            theme.accent,
        ),
        Some(Outcome::Report(r)) if r.ok() => ("✓", "done", theme.ok),
        Some(Outcome::Cancelled) => ("■", "cancelled", theme.warn),
        Some(_) => ("✗", "failed", theme.error),
    };
    vec![Line::from(vec![
        Span::styled(format!(" {} ", run.kind.verb()), theme.bold(theme.title)),
        Span::styled(run.app.clone(), theme.bold(theme.fg)),
        Span::styled(
            format!(" {}", run.version.clone().unwrap_or_else(|| "…".into())),
            theme.color(theme.accent),
        ),
        Span::styled(format!(" → {}   ", run.hosts.join(", ")), theme.dimmed()),
        Span::styled(
            format!("{sym} {word} {}", fmt_elapsed(elapsed)),
            theme.bold(color),
        ),
    ])]
}

fn state_sym(s: StepState, theme: &Theme) -> (&'static str, Style) {
    match s {
        StepState::Running => ("●", theme.color(theme.accent)),
        StepState::Done => ("✓", theme.color(theme.ok)),
        StepState::Failed => ("✗", theme.color(theme.error)),
    }
}

fn lane_line(
    name: &str,
    lane: &Lane,
    host_index: Option<usize>,
    app: &App,
    theme: &Theme,
    width: u16,
) -> Line<'static> {
    let name_style = match host_index {
        Some(i) => theme.bold(theme.host(i)),
        None => theme.bold(theme.fg),
    };
    let mut spans = vec![Span::styled(format!(" {name:<7}"), name_style)];
    if host_index.is_none() {
        // The local side is short: every step inline.
        for s in &lane.steps {
            let (sym, st) = state_sym(s.state, theme);
            spans.push(Span::styled(format!("{sym} "), st));
            spans.push(Span::styled(s.step.name().to_string(), theme.text()));
            spans.push(Span::styled(
                format!(" {}  ", step_time(s, app)),
                theme.dimmed(),
            ));
        }
        if lane.steps.is_empty() {
            spans.push(Span::styled("waiting", theme.dimmed()));
        }
        return Line::from(spans);
    }
    match (&lane.done, lane.current()) {
        (Some((ok, summary)), _) => {
            let (sym, st) = if *ok {
                ("✓", theme.color(theme.ok))
            } else {
                ("✗", theme.color(theme.error))
            };
            spans.push(Span::styled(format!("{sym} "), st));
            let room = usize::from(width).saturating_sub(12);
            spans.push(Span::styled(truncate(summary, room), theme.text()));
        }
        (None, Some(s)) => {
            let (sym, st) = state_sym(s.state, theme);
            spans.push(Span::styled(format!("{sym} "), st));
            spans.push(Span::styled(format!("{:<9}", s.step.name()), theme.text()));
            spans.push(Span::styled(step_time(s, app), theme.dimmed()));
            if let Some(d) = &s.detail {
                let room = usize::from(width).saturating_sub(30);
                spans.push(Span::styled(
                    format!("  {}", truncate(d, room)),
                    theme.dimmed(),
                ));
            }
        }
        (None, None) => spans.push(Span::styled("waiting", theme.dimmed())),
    }
    Line::from(spans)
}

/// Every step of a host so far: `✓lock ✓push ●install`.
fn chips(lane: &Lane, theme: &Theme) -> Option<Line<'static>> {
    if lane.steps.len() < 2 {
        return None;
    }
    let mut spans = vec![Span::raw("        ")];
    for s in &lane.steps {
        let (sym, st) = state_sym(s.state, theme);
        spans.push(Span::styled(sym, st));
        spans.push(Span::styled(format!("{} ", s.step.name()), theme.dimmed()));
    }
    Some(Line::from(spans))
}

fn push_bar(lane: &Lane, theme: &Theme, width: u16) -> Option<Line<'static>> {
    let s = lane
        .steps
        .iter()
        .rev()
        .find(|s| s.step == crate::engine::events::Step::Push)?;
    let (done, total) = s.progress?;
    if s.state != StepState::Running || total == 0 {
        return None;
    }
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    let bar_w = usize::from(width).saturating_sub(40).clamp(10, 40);
    let filled = (pct as usize * bar_w) / 100;
    Some(Line::from(vec![
        Span::styled("        push ", theme.dimmed()),
        Span::styled("█".repeat(filled), theme.color(theme.progress)),
        Span::styled("░".repeat(bar_w - filled), theme.dimmed()),
        Span::styled(
            format!(" {pct:>3}% {} / {}", human_bytes(done), human_bytes(total)),
            theme.text(),
        ),
    ]))
}

fn step_time(s: &StepRow, app: &App) -> String {
    fmt_elapsed(
        s.elapsed
            .unwrap_or_else(|| app.now.saturating_duration_since(s.started)),
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn output(frame: &mut Frame, area: Rect, run: &Run, app: &App, theme: &Theme) {
    let n = usize::from(area.height.saturating_sub(1));
    let end = run.output.len().saturating_sub(app.deploy.scroll);
    let start = end.saturating_sub(n);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " output{}",
            if app.deploy.scroll > 0 {
                format!(" (scrolled {} up)", app.deploy.scroll)
            } else {
                String::new()
            }
        ),
        theme.bold(theme.title),
    ))];
    let host_idx = |h: &str| run.hosts.iter().position(|x| x == h).unwrap_or(0);
    for (host, stream, line) in run.output.range(start..end) {
        let (tag, tag_style) = match host {
            Some(h) => (format!(" {h:<6}"), theme.color(theme.host(host_idx(h)))),
            None => (" local ".to_string(), theme.dimmed()),
        };
        let sep = if *stream == OutputKind::Stderr {
            "! "
        } else {
            "│ "
        };
        lines.push(Line::from(vec![
            Span::styled(tag, tag_style),
            Span::styled(sep, theme.dimmed()),
            Span::styled(line.clone(), theme.text()),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}
