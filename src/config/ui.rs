//! `[ui]`: the console's keymap overrides, checked against its actions and key syntax
//! (`crate::keys`), and the theme `[ui] theme` names, found and checked by `theme`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::model::UiConfig;
use super::read::{filled, string};
use super::theme::{self, ThemeError};
use super::tree::{Cx, Spanned, TableRef};
use crate::keys::{Keymap, KeymapProblem};

pub(super) fn ui(cx: &mut Cx<'_>, t: &TableRef<'_>) -> UiConfig {
    let d = UiConfig::default();
    let keymap = t
        .table("keymap")
        .map(|k| keymap(cx, &k))
        .unwrap_or_default();
    UiConfig {
        theme: string(t, "theme").unwrap_or(d.theme),
        keymap,
    }
}

/// `[ui.keymap]`: action names and keys as the console takes them, each problem at the
/// action's key or at the key value concerned.
fn keymap(cx: &mut Cx<'_>, k: &TableRef<'_>) -> BTreeMap<String, Vec<String>> {
    let entries = k.entries();
    // Keys of the wrong type, or blank, were reported by the schema pass.
    let given: Vec<(&str, Vec<Spanned<&str>>)> = entries
        .iter()
        .map(|e| {
            let keys = match e.as_str() {
                Some(s) => vec![s],
                None => e.as_str_list().unwrap_or_default(),
            };
            let keys = keys.into_iter().filter_map(|s| filled(Some(s))).collect();
            (e.key, keys)
        })
        .collect();
    let overrides = given
        .iter()
        .map(|(name, keys)| (*name, keys.iter().map(|s| s.value)));
    if let Err(err) = Keymap::with_overrides(overrides) {
        for problem in &err.0 {
            let (name, index) = match problem {
                KeymapProblem::UnknownAction { name } => (name.as_str(), None),
                KeymapProblem::BadKey { action, index, .. }
                | KeymapProblem::Conflict { action, index, .. } => (action.name(), Some(*index)),
            };
            let Some(entry) = entries.iter().find(|e| e.key == name) else {
                continue;
            };
            let value = index.and_then(|i| given.iter().find(|(n, _)| *n == name)?.1.get(i));
            let (at, path) = match value {
                Some(v) => (v.at, v.path.as_str()),
                None => (entry.key_at, entry.path.as_str()),
            };
            cx.error(at, path, problem.message(), Some(problem.hint()));
        }
    }
    entries
        .iter()
        .filter_map(|e| {
            let keys = match e.as_str() {
                Some(s) => vec![s.value.to_string()],
                None => e
                    .as_str_list()?
                    .into_iter()
                    .map(|s| s.value.to_string())
                    .collect(),
            };
            Some((e.key.to_string(), keys))
        })
        .collect()
}

/// The theme `[ui] theme` names (or the default) is built in or a file in `dirs`,
/// and that file is valid; its problems are reported in the theme file itself.
pub(super) fn check_theme(cx: &mut Cx<'_>, root: &TableRef<'_>, name: &str, dirs: &[PathBuf]) {
    let named = root.table("ui").and_then(|t| t.str("theme"));
    if named.as_ref().is_some_and(|n| n.value.trim().is_empty()) {
        return;
    }
    match theme::resolve(name, dirs) {
        Ok(_) => {}
        Err(ThemeError::Invalid(diagnostics)) => cx.diagnostics.extend(diagnostics),
        Err(ThemeError::Unknown { name }) => {
            let (at, path) = named.map_or((0, "ui.theme".to_string()), |n| (n.at, n.path));
            let hint = match theme::suggest(&name, dirs) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "built-in themes: {}; a theme of your own is a file {name}.toml in `themes/` beside this file or in ~/.config/raijin/themes/",
                    theme::builtin_names().collect::<Vec<_>>().join(", ")
                ),
            };
            cx.error(at, &path, format!("unknown theme `{name}`"), Some(hint));
        }
    }
}
