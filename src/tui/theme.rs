//! Themes: flat semantic colors from TOML. The built-in themes are embedded, so
//! a missing `themes/` directory still works; a theme file only needs the keys
//! it changes. `NO_COLOR` turns every color off (selection shows as reverse).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

const DARK: &str = include_str!("../../themes/dark.toml");
const LIGHT: &str = include_str!("../../themes/light.toml");
const HIGH_CONTRAST: &str = include_str!("../../themes/high-contrast.toml");

/// The built-in themes by name.
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", DARK),
    ("light", LIGHT),
    ("high-contrast", HIGH_CONTRAST),
];

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
        // The embedded dark theme always parses (a unit test checks it).
        parse(DARK, None).unwrap_or_else(|_| Theme::mono())
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

    /// The theme named in `[ui] theme`: a file `<name>.toml` in
    /// `$XDG_CONFIG_HOME/raijin/themes/` or in the project's `themes/`, over
    /// the built-in of that name (or dark); `NO_COLOR` wins over everything.
    pub fn load(name: &str, project_dir: &Path) -> Result<Theme, String> {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Ok(Theme::mono());
        }
        let builtin = BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(d) = directories::BaseDirs::new() {
            dirs.push(d.config_dir().join("raijin").join("themes"));
        }
        dirs.push(project_dir.join("themes"));
        for dir in dirs {
            let path = dir.join(format!("{name}.toml"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                let base = parse(builtin.unwrap_or(DARK), None)?;
                return parse(&text, Some(base)).map_err(|e| format!("{}: {e}", path.display()));
            }
        }
        match builtin {
            Some(text) => parse(text, None),
            None => Err(format!(
                "unknown theme `{name}`: not built in ({}) and no {name}.toml in the themes directories",
                BUILTIN.map(|(n, _)| n).join(", ")
            )),
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

/// Parse a theme file; keys it leaves out come from `base` (or must all be
/// present when there is no base).
pub fn parse(text: &str, base: Option<Theme>) -> Result<Theme, String> {
    let table: BTreeMap<String, toml::Value> =
        toml::from_str(text).map_err(|e| format!("not a theme file: {e}"))?;
    let mut t = base.unwrap_or_else(Theme::mono);
    t.mono = false;
    for (key, value) in &table {
        let Some(s) = value.as_str() else {
            return Err(format!("`{key}` must be a color string like \"#7aa2f7\""));
        };
        let c = parse_color(s).ok_or_else(|| {
            format!("`{key}`: `{s}` is not a color (\"#rrggbb\", a color name, or \"reset\")")
        })?;
        let slot = match key.as_str() {
            "fg" => &mut t.fg,
            "bg" => &mut t.bg,
            "dim" => &mut t.dim,
            "accent" => &mut t.accent,
            "title" => &mut t.title,
            "border" => &mut t.border,
            "border_focus" => &mut t.border_focus,
            "selection_fg" => &mut t.selection_fg,
            "selection_bg" => &mut t.selection_bg,
            "ok" => &mut t.ok,
            "warn" => &mut t.warn,
            "error" => &mut t.error,
            "info" => &mut t.info,
            "progress" => &mut t.progress,
            "match" => &mut t.matched,
            k => match k
                .strip_prefix("host_")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=6).contains(n))
            {
                Some(n) => &mut t.hosts[n - 1],
                None => {
                    let known = KEYS.iter().copied();
                    let hint = crate::util::did_you_mean(k, known)
                        .map(|m| format!(" — did you mean `{m}`?"))
                        .unwrap_or_default();
                    return Err(format!("unknown theme key `{k}`{hint}"));
                }
            },
        };
        *slot = c;
    }
    Ok(t)
}

/// Every key a theme file may set.
pub const KEYS: [&str; 21] = [
    "fg",
    "bg",
    "dim",
    "accent",
    "title",
    "border",
    "border_focus",
    "selection_fg",
    "selection_bg",
    "ok",
    "warn",
    "error",
    "info",
    "progress",
    "match",
    "host_1",
    "host_2",
    "host_3",
    "host_4",
    "host_5",
    "host_6",
];

fn parse_color(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    Some(match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "dark_gray" | "darkgrey" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_set_every_key() {
        for (name, text) in BUILTIN {
            let t = parse(text, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!t.mono);
            let table: BTreeMap<String, toml::Value> = toml::from_str(text).unwrap();
            for k in KEYS {
                assert!(table.contains_key(k), "{name} lacks {k}");
            }
        }
    }

    #[test]
    fn partial_files_override_the_base() {
        let base = Theme::default();
        let t = parse("ok = \"#000001\"\n", Some(base.clone())).unwrap();
        assert_eq!(t.ok, Color::Rgb(0, 0, 1));
        assert_eq!(t.error, base.error);
    }

    #[test]
    fn bad_keys_and_colors_are_named() {
        let e = parse("eror = \"red\"\n", None).unwrap_err();
        assert!(
            e.contains("unknown theme key `eror` — did you mean `error`?"),
            "{e}"
        );
        let e = parse("ok = \"#12\"\n", None).unwrap_err();
        assert!(e.contains("`ok`"), "{e}");
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
