//! Reading values out of the checked document for `build`: a value whose type the
//! schema pass rejected, or a blank string, reads as absent (it was reported once,
//! there); integers are taken if they fit; paths resolve against the configuration
//! file's directory and HOME.

use std::path::{Path, PathBuf};

use super::rules::Problem;
use super::tree::{Cx, Spanned, TableRef};

/// Everything `build` needs besides the document.
pub(crate) struct Env {
    /// Directory relative paths are resolved against.
    pub base_dir: PathBuf,
    /// Where `~/` points; `None` when HOME is not set.
    pub home: Option<PathBuf>,
    /// Where theme files are looked for; `None`: the theme is not checked.
    pub theme_dirs: Option<Vec<PathBuf>>,
}

/// A string value that is not blank (blank ones were reported by the schema pass).
pub(super) fn filled(value: Option<Spanned<&str>>) -> Option<Spanned<&str>> {
    value.filter(|s| !s.value.trim().is_empty())
}

pub(super) fn report(cx: &mut Cx<'_>, at: usize, path: &str, problem: Problem) {
    cx.error(at, path, problem.message, problem.hint);
}

/// `n` as `T`, if it fits (ranges were checked by the schema pass).
pub(super) fn int<T: TryFrom<i64>>(table: &TableRef<'_>, key: &str) -> Option<T> {
    table.int(key).and_then(|n| T::try_from(n.value).ok())
}

pub(super) fn string(table: &TableRef<'_>, key: &str) -> Option<String> {
    table.str(key).map(|s| s.value.to_string())
}

/// Resolves a path value: `~/` expands to HOME, relative paths join the base directory.
pub(super) fn path(cx: &mut Cx<'_>, table: &TableRef<'_>, key: &str, env: &Env) -> Option<PathBuf> {
    let value = table.str(key)?;
    resolve(cx, &value, env)
}

pub(super) fn resolve(cx: &mut Cx<'_>, value: &Spanned<&str>, env: &Env) -> Option<PathBuf> {
    let raw = value.value;
    if raw.trim().is_empty() {
        return None;
    }
    if raw == "~" || raw.starts_with("~/") {
        let Some(home) = &env.home else {
            cx.error(
                value.at,
                &value.path,
                format!("cannot expand `~` in `{raw}`: HOME is not set"),
                Some("write the full path".to_string()),
            );
            return None;
        };
        let rest = raw.trim_start_matches('~').trim_start_matches('/');
        return Some(if rest.is_empty() {
            home.clone()
        } else {
            home.join(rest)
        });
    }
    if raw.starts_with('~') {
        cx.error(
            value.at,
            &value.path,
            format!("cannot expand `{raw}`: only `~/` is expanded"),
            Some("write the full path".to_string()),
        );
        return None;
    }
    let p = Path::new(raw);
    Some(if p.is_absolute() {
        p.to_path_buf()
    } else {
        env.base_dir.join(p)
    })
}
