//! Modal layers drawn over the screen: SSH prompts (unknown host key,
//! passphrase), confirmation dialogs, the `:` palette and `?` help (both
//! generated from the action list and the live keymap).

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::panel;
use crate::keys::Action;
use crate::tui::palette::Palette;
use crate::tui::state::{App, Confirm, Overlay, Prompt, VersionInput};
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(p) = app.prompts.first() {
        prompt(frame, area, p, theme);
        return;
    }
    match &app.overlay {
        None => {}
        Some(Overlay::Confirm(c)) => confirm(frame, area, c, theme),
        Some(Overlay::Palette(p)) => palette(frame, area, p, theme),
        Some(Overlay::Help { scroll }) => help(frame, area, app, *scroll, theme),
        Some(Overlay::Version(v)) => version(frame, area, v, theme),
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(r);
    r
}

fn dialog(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    theme: &Theme,
    w: u16,
) {
    let h = lines.len() as u16 + 2;
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel(theme, true, title)),
        r,
    );
}

fn yes_no(theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(" y", theme.bold(theme.accent)),
        Span::styled(" yes   ", theme.dimmed()),
        Span::styled("n", theme.bold(theme.accent)),
        Span::styled("/", theme.dimmed()),
        Span::styled("esc", theme.bold(theme.accent)),
        Span::styled(" no", theme.dimmed()),
    ])
}

fn confirm(frame: &mut Frame, area: Rect, c: &Confirm, theme: &Theme) {
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(format!(" {l}"), theme.text())))
        .collect();
    lines.push(Line::from(""));
    lines.push(yes_no(theme));
    let w = c
        .lines
        .iter()
        .map(|l| l.chars().count() as u16 + 4)
        .max()
        .unwrap_or(30)
        .clamp(40, 90);
    dialog(frame, area, &c.title, lines, theme, w);
}

fn version(frame: &mut Frame, area: Rect, v: &VersionInput, theme: &Theme) {
    let w = area.width.saturating_sub(6).clamp(40, 84);
    let text_w = usize::from(w.saturating_sub(4)).max(1);
    let mut lines = vec![Line::from(Span::styled(
        " No version could be derived:",
        theme.text(),
    ))];
    // The reason, wrapped by hand so the dialog's height fits it.
    let mut row = String::new();
    for word in v.reason.split_whitespace() {
        if !row.is_empty() && row.chars().count() + 1 + word.chars().count() > text_w {
            lines.push(Line::from(Span::styled(format!(" {row}"), theme.dimmed())));
            row.clear();
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
    }
    if !row.is_empty() {
        lines.push(Line::from(Span::styled(format!(" {row}"), theme.dimmed())));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!(" hosts    {}", v.hosts.join(", ")),
        theme.text(),
    )));
    if !v.current.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(" current  {}", v.current.join(", ")),
            theme.text(),
        )));
    }
    lines.push(Line::from(vec![
        Span::styled(" version  ", theme.text()),
        Span::styled(v.input.clone(), theme.bold(theme.accent)),
        Span::styled("█", theme.color(theme.accent)),
    ]));
    if let Some(e) = &v.error {
        lines.push(Line::from(Span::styled(
            format!(" {e}"),
            theme.color(theme.error),
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        " type a version · enter deploy · esc cancel",
        theme.dimmed(),
    )));
    dialog(frame, area, &format!("Deploy {}?", v.app), lines, theme, w);
}

fn prompt(frame: &mut Frame, area: Rect, p: &Prompt, theme: &Theme) {
    match p {
        Prompt::HostKey {
            host,
            addr,
            fingerprint,
            ..
        } => {
            let lines = vec![
                Line::from(Span::styled(
                    format!(" The host key of {host} ({addr}) is not known."),
                    theme.text(),
                )),
                Line::from(""),
                Line::from(vec![
                    Span::styled(" fingerprint ", theme.dimmed()),
                    Span::styled(fingerprint.clone(), theme.bold(theme.warn)),
                ]),
                Line::from(""),
                Line::from(Span::styled(
                    " Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub).",
                    theme.dimmed(),
                )),
                Line::from(Span::styled(
                    " Trust it and record it in known_hosts?",
                    theme.text(),
                )),
                Line::from(""),
                yes_no(theme),
            ];
            dialog(frame, area, "Unknown host key", lines, theme, 84);
        }
        Prompt::Passphrase {
            host,
            key_file,
            input,
            ..
        } => {
            let lines = vec![
                Line::from(Span::styled(
                    format!(" Passphrase for {key_file} ({host}):"),
                    theme.text(),
                )),
                Line::from(Span::styled(
                    format!(" {}█", "•".repeat(input.chars().count())),
                    theme.bold(theme.accent),
                )),
                Line::from(""),
                Line::from(Span::styled(
                    " enter unlock · esc skip this key",
                    theme.dimmed(),
                )),
            ];
            dialog(frame, area, "Passphrase", lines, theme, 70);
        }
    }
}

fn palette(frame: &mut Frame, area: Rect, p: &Palette, theme: &Theme) {
    let w = area.width.saturating_sub(8).clamp(30, 80);
    let h = area.height.saturating_sub(6).clamp(6, 20);
    let r = Rect {
        y: area.y + 2.min(area.height),
        ..centered(area, w, h)
    };
    let r = r.intersection(area);
    frame.render_widget(Clear, r);
    let title = if p.recalling() {
        "Command · ↑↓ earlier commands"
    } else {
        "Command"
    };
    let block = panel(theme, true, title);
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let mut lines = vec![Line::from(vec![
        Span::styled(" : ", theme.bold(theme.accent)),
        Span::styled(p.input.clone(), theme.text()),
        Span::styled("█", theme.color(theme.accent)),
    ])];
    let room = usize::from(inner.height.saturating_sub(1));
    let start = p.selected.saturating_sub(room.saturating_sub(1));
    for (n, (idx, hits)) in p.matches.iter().enumerate().skip(start).take(room) {
        let Some(e) = p.entry(*idx) else { continue };
        let sel = n == p.selected;
        let base = if sel { theme.selected() } else { theme.text() };
        let mut spans = vec![Span::styled(if sel { " ▶ " } else { "   " }, base)];
        for (ci, ch) in e.label.chars().enumerate() {
            let st = if hits.contains(&ci) {
                base.patch(theme.highlight())
            } else {
                base
            };
            spans.push(Span::styled(ch.to_string(), st));
        }
        let pad = 28usize.saturating_sub(e.label.chars().count());
        spans.push(Span::styled(" ".repeat(pad + 1), base));
        spans.push(Span::styled(
            e.detail.clone(),
            if sel { base } else { theme.dimmed() },
        ));
        lines.push(Line::from(spans));
    }
    if p.matches.is_empty() {
        lines.push(Line::from(Span::styled("   no match", theme.dimmed())));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn help(frame: &mut Frame, area: Rect, app: &App, scroll: usize, theme: &Theme) {
    let w = area.width.saturating_sub(6).clamp(30, 96);
    let h = area.height.saturating_sub(2);
    let r = centered(area, w, h);
    frame.render_widget(Clear, r);
    let key_w = Action::ALL
        .iter()
        .map(|a| app.keymap.label(*a).chars().count())
        .max()
        .unwrap_or(8)
        .min(18);
    let mut lines: Vec<Line> = Action::ALL
        .iter()
        .map(|a| {
            Line::from(vec![
                Span::styled(
                    format!(" {:>key_w$}  ", app.keymap.label(*a)),
                    theme.bold(theme.accent),
                ),
                Span::styled(format!("{:<12} ", a.name()), theme.text()),
                Span::styled(a.description(), theme.dimmed()),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        " Dialogs: y/enter yes, n/esc no. Palette and filter: type, enter, esc.",
        theme.dimmed(),
    )));
    lines.push(Line::from(Span::styled(
        " Rebind any action in [ui.keymap] of raijin.toml: deploy = \"D\".",
        theme.dimmed(),
    )));
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll as u16, 0))
            .block(panel(theme, true, "Keys")),
        r,
    );
}
