//! Theme files: the built-in themes, where the theme named by `[ui] theme` is found,
//! and the colors a theme file sets, each problem with file, line and column. A file
//! only needs the keys it changes; the others come from the built-in theme of the same
//! name, else from `dark`. Colors stay plain data here; the console makes terminal
//! styles of them.

use std::fmt;
use std::path::{Path, PathBuf};

use toml_edit::{Item, Value};

use super::diagnostics::{Diagnostic, Severity};
use super::tree::Cx;
use crate::util::did_you_mean;

/// The built-in themes by name, as their files read.
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// The names of the built-in themes.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _)| *name)
}

/// One color of a theme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThemeColor {
    /// The terminal's own color.
    Reset,
    Black,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    DarkGray,
    LightRed,
    LightGreen,
    LightYellow,
    LightBlue,
    LightMagenta,
    LightCyan,
    White,
    Rgb(u8, u8, u8),
}

impl ThemeColor {
    /// `"#rrggbb"`, a color name (`red`, `light-blue`, `dark_gray`, ...) or `"reset"`.
    pub fn parse(s: &str) -> Option<ThemeColor> {
        use ThemeColor as C;
        if let Some(hex) = s.strip_prefix('#') {
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let v = u32::from_str_radix(hex, 16).ok()?;
            let [_, r, g, b] = v.to_be_bytes();
            return Some(C::Rgb(r, g, b));
        }
        Some(match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "reset" | "default" => C::Reset,
            "black" => C::Black,
            "red" => C::Red,
            "green" => C::Green,
            "yellow" => C::Yellow,
            "blue" => C::Blue,
            "magenta" => C::Magenta,
            "cyan" => C::Cyan,
            "gray" | "grey" => C::Gray,
            "darkgray" | "dark_gray" | "darkgrey" => C::DarkGray,
            "light_red" => C::LightRed,
            "light_green" => C::LightGreen,
            "light_yellow" => C::LightYellow,
            "light_blue" => C::LightBlue,
            "light_magenta" => C::LightMagenta,
            "light_cyan" => C::LightCyan,
            "white" => C::White,
            _ => return None,
        })
    }
}

/// Every color of a theme, by its semantic key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Palette {
    pub fg: ThemeColor,
    pub bg: ThemeColor,
    pub dim: ThemeColor,
    pub accent: ThemeColor,
    pub title: ThemeColor,
    pub border: ThemeColor,
    pub border_focus: ThemeColor,
    pub selection_fg: ThemeColor,
    pub selection_bg: ThemeColor,
    pub ok: ThemeColor,
    pub warn: ThemeColor,
    pub error: ThemeColor,
    pub info: ThemeColor,
    pub progress: ThemeColor,
    /// The key `match`: text a filter matched.
    pub matched: ThemeColor,
    /// `host_1` to `host_6`, cycled through the hosts.
    pub hosts: [ThemeColor; 6],
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

impl Palette {
    /// Every color `Reset`: the start of a theme file read without a base.
    pub const fn blank() -> Palette {
        Palette {
            fg: ThemeColor::Reset,
            bg: ThemeColor::Reset,
            dim: ThemeColor::Reset,
            accent: ThemeColor::Reset,
            title: ThemeColor::Reset,
            border: ThemeColor::Reset,
            border_focus: ThemeColor::Reset,
            selection_fg: ThemeColor::Reset,
            selection_bg: ThemeColor::Reset,
            ok: ThemeColor::Reset,
            warn: ThemeColor::Reset,
            error: ThemeColor::Reset,
            info: ThemeColor::Reset,
            progress: ThemeColor::Reset,
            matched: ThemeColor::Reset,
            hosts: [ThemeColor::Reset; 6],
        }
    }

    /// The color a theme key sets.
    fn slot(&mut self, key: &str) -> Option<&mut ThemeColor> {
        Some(match key {
            "fg" => &mut self.fg,
            "bg" => &mut self.bg,
            "dim" => &mut self.dim,
            "accent" => &mut self.accent,
            "title" => &mut self.title,
            "border" => &mut self.border,
            "border_focus" => &mut self.border_focus,
            "selection_fg" => &mut self.selection_fg,
            "selection_bg" => &mut self.selection_bg,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "error" => &mut self.error,
            "info" => &mut self.info,
            "progress" => &mut self.progress,
            "match" => &mut self.matched,
            k => {
                let n = k.strip_prefix("host_")?.parse::<usize>().ok()?;
                self.hosts.get_mut(n.checked_sub(1)?)?
            }
        })
    }
}

/// Why a theme cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeError {
    /// Neither built in nor a file in the theme directories.
    Unknown { name: String },
    /// The theme file is broken: every problem in it.
    Invalid(Vec<Diagnostic>),
}

impl fmt::Display for ThemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThemeError::Unknown { name } => write!(
                f,
                "unknown theme `{name}`: not built in ({}) and no {name}.toml in the themes directories",
                builtin_names().collect::<Vec<_>>().join(", ")
            ),
            ThemeError::Invalid(diagnostics) => {
                for (i, d) in diagnostics.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{d}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ThemeError {}

/// Where theme files are looked for, first match wins: the user's
/// `raijin/themes/` configuration directory (`~/.config/raijin/themes/` on Linux),
/// then `themes/` in `project_dir` (the directory of `raijin.toml`).
pub fn search_dirs(project_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = directories::BaseDirs::new() {
        dirs.push(d.config_dir().join("raijin").join("themes"));
    }
    dirs.push(project_dir.join("themes"));
    dirs
}

/// The colors of the theme `name`: the file `NAME.toml` in the first of `dirs` that has
/// one, over the built-in theme of that name (or `dark`); else the built-in theme.
pub fn resolve(name: &str, dirs: &[PathBuf]) -> Result<Palette, ThemeError> {
    let builtin = BUILTIN.iter().find(|(n, _)| *n == name);
    for dir in dirs {
        let path = dir.join(format!("{name}.toml"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ThemeError::Invalid(vec![Diagnostic {
                    file: path,
                    line: 0,
                    column: 0,
                    key_path: String::new(),
                    message: format!("cannot read the theme file: {e}"),
                    hint: None,
                    severity: Severity::Error,
                }]));
            }
        };
        let base = builtin.map_or(BUILTIN[0], |b| *b);
        let base = parse(base.1, Path::new(base.0), Palette::blank())?;
        return parse(&text, &path, base);
    }
    match builtin {
        Some((builtin_name, text)) => parse(text, Path::new(builtin_name), Palette::blank()),
        None => Err(ThemeError::Unknown {
            name: name.to_string(),
        }),
    }
}

/// For an unknown theme: the closest theme name there is, built in or a file in `dirs`.
pub fn suggest(name: &str, dirs: &[PathBuf]) -> Option<String> {
    let mut names: Vec<String> = builtin_names().map(str::to_string).collect();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        names.extend(entries.filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "toml")
                .then(|| path.file_stem()?.to_str().map(str::to_string))
                .flatten()
        }));
    }
    did_you_mean(name, names.iter().map(String::as_str)).map(str::to_string)
}

/// Reads the theme file `text` (from `path`, for messages) over `base`.
fn parse(text: &str, path: &Path, base: Palette) -> Result<Palette, ThemeError> {
    let mut cx = Cx::new(path, text);
    let mut palette = base;
    match toml_edit::Document::parse(text) {
        Err(err) => {
            let at = err.span().map_or(text.len(), |s| s.start);
            cx.error(
                at,
                "",
                format!("invalid TOML: {}", err.message().trim()),
                None,
            );
        }
        Ok(doc) => {
            for (key, item) in doc.as_table().iter() {
                let key_at = doc
                    .as_table()
                    .key(key)
                    .and_then(|k| k.span())
                    .map_or(0, |s| s.start);
                set(&mut cx, &mut palette, key, key_at, item);
            }
        }
    }
    if cx.diagnostics.is_empty() {
        Ok(palette)
    } else {
        Err(ThemeError::Invalid(std::mem::take(&mut cx.diagnostics)))
    }
}

/// One `key = "color"` line of a theme file.
fn set(cx: &mut Cx<'_>, palette: &mut Palette, key: &str, key_at: usize, item: &Item) {
    let Some(slot) = palette.slot(key) else {
        let hint = match did_you_mean(key, KEYS) {
            Some(close) => format!("did you mean `{close}`?"),
            None if key.starts_with("host_") => "host colors are host_1 to host_6".to_string(),
            None => format!("theme keys: {}", KEYS.join(", ")),
        };
        cx.error(
            key_at,
            key,
            format!("unknown theme key `{key}`"),
            Some(hint),
        );
        return;
    };
    let value_at = item
        .as_value()
        .and_then(Value::span)
        .map_or(key_at, |s| s.start);
    let Some(s) = item.as_str() else {
        cx.error(
            value_at,
            key,
            format!(
                "expected a color string, found {}",
                super::tree::type_name(item)
            ),
            Some("write a color like \"#7aa2f7\"".to_string()),
        );
        return;
    };
    match ThemeColor::parse(s) {
        Some(color) => *slot = color,
        None => cx.error(
            value_at,
            key,
            format!("`{s}` is not a color"),
            Some(
                "write \"#rrggbb\", a color name such as \"light-blue\", or \"reset\"".to_string(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(result: Result<Palette, ThemeError>) -> Vec<String> {
        match result {
            Err(ThemeError::Invalid(d)) => d.iter().map(ToString::to_string).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn builtins_parse_and_set_every_key() {
        for (name, text) in BUILTIN {
            parse(text, Path::new(name), Palette::blank()).unwrap_or_else(|e| panic!("{e}"));
            let table: toml::Table = toml::from_str(text).unwrap();
            for k in KEYS {
                assert!(table.contains_key(k), "{name} lacks {k}");
            }
            for k in table.keys() {
                assert!(Palette::blank().slot(k).is_some(), "{name}: {k}");
            }
        }
    }

    #[test]
    fn partial_files_override_the_base() {
        let base = resolve("dark", &[]).unwrap();
        let t = parse("ok = \"#000001\"\n", Path::new("t.toml"), base.clone()).unwrap();
        assert_eq!(t.ok, ThemeColor::Rgb(0, 0, 1));
        assert_eq!(t.error, base.error);
    }

    #[test]
    fn bad_keys_and_colors_are_located() {
        let text = "ok = \"#12\"\neror = \"red\"\nhost_7 = \"red\"\nfg = 3\n";
        assert_eq!(
            messages(parse(text, Path::new("t.toml"), Palette::blank())),
            [
                "t.toml:1:6: error: `#12` is not a color (ok)\n  hint: write \"#rrggbb\", a color name such as \"light-blue\", or \"reset\"",
                "t.toml:2:1: error: unknown theme key `eror` (eror)\n  hint: did you mean `error`?",
                "t.toml:3:1: error: unknown theme key `host_7` (host_7)\n  hint: host colors are host_1 to host_6",
                "t.toml:4:6: error: expected a color string, found an integer (fg)\n  hint: write a color like \"#7aa2f7\"",
            ]
        );
        assert_eq!(
            messages(parse("fg = \"red\n", Path::new("t.toml"), Palette::blank()))[0]
                .split(": ")
                .take(3)
                .collect::<Vec<_>>(),
            ["t.toml:1:10", "error", "invalid TOML"]
        );
    }

    #[test]
    fn colors() {
        assert_eq!(
            ThemeColor::parse("#7aa2f7"),
            Some(ThemeColor::Rgb(0x7a, 0xa2, 0xf7))
        );
        assert_eq!(ThemeColor::parse("light-blue"), Some(ThemeColor::LightBlue));
        assert_eq!(ThemeColor::parse("Reset"), Some(ThemeColor::Reset));
        for bad in ["#12", "#12345g", "#+12345", "blurple", ""] {
            assert_eq!(ThemeColor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn files_come_before_builtins_and_unknown_names_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("light.toml"), "ok = \"#000002\"\n").unwrap();
        std::fs::write(dir.path().join("mine.toml"), "ok = \"#000003\"\n").unwrap();
        let dirs = [dir.path().to_path_buf()];
        let light = resolve("light", &dirs).unwrap();
        assert_eq!(light.ok, ThemeColor::Rgb(0, 0, 2));
        assert_eq!(light.fg, resolve("light", &[]).unwrap().fg);
        let mine = resolve("mine", &dirs).unwrap();
        assert_eq!(mine.fg, resolve("dark", &[]).unwrap().fg);
        let e = resolve("no-such-theme", &dirs).unwrap_err();
        assert!(
            e.to_string().contains("unknown theme `no-such-theme`"),
            "{e}"
        );
        assert_eq!(suggest("mien", &dirs).as_deref(), Some("mine"));
        assert_eq!(suggest("ligth", &[]).as_deref(), Some("light"));
    }
}
