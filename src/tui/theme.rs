//! The console's colors as terminal styles. Theme files are found and checked by
//! `config::theme` (the same checks `raijin config check` runs); here their colors
//! become ratatui styles. `NO_COLOR` turns every color off (selection shows as
//! reverse).

use std::path::Path;

use ratatui::style::{Color, Modifier, Style};

use crate::config::theme::{self as files, Palette, ThemeColor};

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub fg: Color,
    pub bg: Color,
    pub dim: Color,
    pub accent: Color,
    pub title: Color,
    pub border: Color,
    pub border_focus: Color,
    pub selection_fg: Color,
    pub selection_bg: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub info: Color,
    pub progress: Color,
    pub matched: Color,
    pub hosts: [Color; 6],
    /// Colors are off (`NO_COLOR`): styles use modifiers only.
    pub mono: bool,
}

impl Default for Theme {
    fn default() -> Self {
        // The built-in dark theme always parses (a unit test checks it).
        files::resolve("dark", &[]).map_or_else(|_| Theme::mono(), |p| Theme::from_palette(&p))
    }
}

impl Theme {
    /// No colors at all.
    pub fn mono() -> Theme {
        Theme {
            fg: Color::Reset,
            bg: Color::Reset,
            dim: Color::Reset,
            accent: Color::Reset,
            title: Color::Reset,
            border: Color::Reset,
            border_focus: Color::Reset,
            selection_fg: Color::Reset,
            selection_bg: Color::Reset,
            ok: Color::Reset,
            warn: Color::Reset,
            error: Color::Reset,
            info: Color::Reset,
            progress: Color::Reset,
            matched: Color::Reset,
            hosts: [Color::Reset; 6],
            mono: true,
        }
    }

    /// The theme named in `[ui] theme`, found as `config::theme::resolve` finds it
    /// (a file `<name>.toml` in the user's or the project's `themes/`, over the
    /// built-in of that name, or dark); `NO_COLOR` wins over everything.
    pub fn load(name: &str, project_dir: &Path) -> Result<Theme, String> {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Ok(Theme::mono());
        }
        files::resolve(name, &files::search_dirs(project_dir))
            .map(|p| Theme::from_palette(&p))
            .map_err(|e| e.to_string())
    }

    /// The colors of a theme file as terminal colors.
    pub fn from_palette(p: &Palette) -> Theme {
        Theme {
            fg: color(p.fg),
            bg: color(p.bg),
            dim: color(p.dim),
            accent: color(p.accent),
            title: color(p.title),
            border: color(p.border),
            border_focus: color(p.border_focus),
            selection_fg: color(p.selection_fg),
            selection_bg: color(p.selection_bg),
            ok: color(p.ok),
            warn: color(p.warn),
            error: color(p.error),
            info: color(p.info),
            progress: color(p.progress),
            matched: color(p.matched),
            hosts: p.hosts.map(color),
            mono: false,
        }
    }

    pub fn text(&self) -> Style {
        Style::default().fg(self.fg)
    }

    pub fn dimmed(&self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            Style::default().fg(self.dim)
        }
    }

    pub fn color(&self, c: Color) -> Style {
        Style::default().fg(c)
    }

    pub fn bold(&self, c: Color) -> Style {
        Style::default().fg(c).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().fg(self.selection_fg).bg(self.selection_bg)
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        match (self.mono, focused) {
            (true, true) => Style::default().add_modifier(Modifier::BOLD),
            (true, false) => Style::default(),
            (false, true) => Style::default().fg(self.border_focus),
            (false, false) => Style::default().fg(self.border),
        }
    }

    pub fn highlight(&self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
                .fg(self.matched)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    /// The color of the n-th host, cycling.
    pub fn host(&self, n: usize) -> Color {
        self.hosts[n % self.hosts.len()]
    }
}

fn color(c: ThemeColor) -> Color {
    match c {
        ThemeColor::Reset => Color::Reset,
        ThemeColor::Black => Color::Black,
        ThemeColor::Red => Color::Red,
        ThemeColor::Green => Color::Green,
        ThemeColor::Yellow => Color::Yellow,
        ThemeColor::Blue => Color::Blue,
        ThemeColor::Magenta => Color::Magenta,
        ThemeColor::Cyan => Color::Cyan,
        ThemeColor::Gray => Color::Gray,
        ThemeColor::DarkGray => Color::DarkGray,
        ThemeColor::LightRed => Color::LightRed,
        ThemeColor::LightGreen => Color::LightGreen,
        ThemeColor::LightYellow => Color::LightYellow,
        ThemeColor::LightBlue => Color::LightBlue,
        ThemeColor::LightMagenta => Color::LightMagenta,
        ThemeColor::LightCyan => Color::LightCyan,
        ThemeColor::White => Color::White,
        ThemeColor::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_dark_theme_in_color() {
        let t = Theme::default();
        assert!(!t.mono);
        let dark = files::resolve("dark", &[]).unwrap();
        assert_eq!(t, Theme::from_palette(&dark));
        assert_ne!(t.accent, Color::Reset);
    }

    #[test]
    fn unknown_theme_name_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = Theme::load("no-such-theme", dir.path());
        if std::env::var_os("NO_COLOR").is_none() {
            assert!(e.unwrap_err().contains("unknown theme `no-such-theme`"));
        }
    }
}
