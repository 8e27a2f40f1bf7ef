//! The schema-driven pass over the whole document: unknown keys (with "did you mean"),
//! value types, empty strings, integer ranges, allowed enum values and missing required
//! keys. Everything that needs more than one key at a time lives in `build`.

use toml_edit::{Item, Value};

use super::schema::{self, Field, Kind, Section};
use super::tree::{Cx, Element, Entry, TableRef, type_name, value_type_name};
use crate::util::did_you_mean;

/// Checks `table` and everything below it against `section`.
pub(crate) fn check_table(cx: &mut Cx<'_>, table: &TableRef<'_>, section: &'static Section) {
    for entry in table.entries() {
        match section.field(entry.key) {
            Some(field) => check_value(cx, &entry, field),
            None => unknown_key(cx, &entry, section),
        }
    }
    for field in section.fields.iter().filter(|f| f.required) {
        if !table.contains(field.name) {
            cx.error(
                table.at,
                &super::tree::join(&table.path, field.name),
                format!("missing required key `{}`", field.name),
                Some(format!("add `{}`", field.example)),
            );
        }
    }
}

fn unknown_key(cx: &mut Cx<'_>, entry: &Entry<'_>, section: &'static Section) {
    let hint = if let Some(close) = did_you_mean(entry.key, section.names()) {
        format!("did you mean `{close}`?")
    } else {
        let elsewhere = schema::sections_with(entry.key, section);
        if elsewhere.is_empty() {
            let known: Vec<_> = section.names().collect();
            format!("known keys here: {}", known.join(", "))
        } else {
            let titles: Vec<_> = elsewhere.iter().map(|s| s.title).collect();
            format!(
                "`{}` is a key of {}, not of {}",
                entry.key,
                titles.join(" and "),
                section.title
            )
        }
    };
    cx.error(
        entry.key_at,
        &entry.path,
        format!("unknown key `{}`", entry.key),
        Some(hint),
    );
}

fn check_value(cx: &mut Cx<'_>, entry: &Entry<'_>, field: &'static Field) {
    match field.kind {
        Kind::Retired => cx.warning(
            entry.key_at,
            &entry.path,
            format!("`{}` is no longer read", entry.key),
            field.note.map(str::to_string),
        ),
        Kind::Str | Kind::Path => {
            if let Some(value) = expect_value(cx, entry, field.kind, Value::is_str) {
                check_string(cx, value, entry.at(), &entry.path, field.name);
            }
        }
        Kind::Int { min, max } => {
            let Some(n) =
                expect_value(cx, entry, field.kind, Value::is_integer).and_then(Value::as_integer)
            else {
                return;
            };
            if n < min || n > max {
                // Upper bounds that only guard the integer type are not worth mentioning
                // until they are hit.
                let type_bound = max == i64::MAX || max == i64::from(u32::MAX);
                let range = match (type_bound, n < min) {
                    (true, true) => format!("at least {min}"),
                    (true, false) => format!("at most {max}"),
                    (false, _) => format!("between {min} and {max}"),
                };
                cx.error(
                    entry.at(),
                    &entry.path,
                    format!("`{}` must be {range}, found {n}", field.name),
                    field.note.map(str::to_string),
                );
            }
        }
        Kind::Enum(allowed) => {
            let Some(s) =
                expect_value(cx, entry, field.kind, Value::is_str).and_then(Value::as_str)
            else {
                return;
            };
            if !allowed.contains(&s) {
                let list = allowed.join(", ");
                let mut hint = match did_you_mean(s, allowed.iter().copied()) {
                    Some(close) => format!("did you mean \"{close}\"? allowed values: {list}"),
                    None => format!("allowed values: {list}"),
                };
                if let Some(note) = field.note {
                    hint = format!("{hint} ({note})");
                }
                cx.error(
                    entry.at(),
                    &entry.path,
                    format!("unknown {} \"{s}\"", field.name),
                    Some(hint),
                );
            }
        }
        Kind::StrList => {
            if expect_value(cx, entry, field.kind, Value::is_array).is_none() {
                return;
            }
            for element in entry.elements() {
                check_element(cx, &element);
            }
        }
        Kind::Table(section) => {
            if let Some(table) = expect_table(cx, entry) {
                check_table(cx, &table, section);
            }
        }
        Kind::Named(section) => {
            let Some(table) = expect_table(cx, entry) else {
                return;
            };
            for named in table.entries() {
                match named.as_table() {
                    Some(inner) => check_table(cx, &inner, section),
                    None => cx.error(
                        named.at(),
                        &named.path,
                        format!("expected a table, found {}", type_name(named.item)),
                        Some(format!(
                            "each entry is a table: write [{}] and its keys below it",
                            named.path
                        )),
                    ),
                }
            }
        }
        Kind::FreeStrings => {
            let Some(table) = expect_table(cx, entry) else {
                return;
            };
            for free in table.entries() {
                if !free.item.is_str() {
                    type_error(cx, &free, "a string");
                }
            }
        }
        Kind::FreeKeys => {
            let Some(table) = expect_table(cx, entry) else {
                return;
            };
            for free in table.entries() {
                check_keys(cx, &free);
            }
        }
        Kind::StrOrTable(section) => {
            if let Some(value) = entry.item.as_value().filter(|v| v.is_str()) {
                check_string(cx, value, entry.at(), &entry.path, field.name);
            } else if let Some(table) = entry.as_table() {
                check_table(cx, &table, section);
            } else {
                type_error(cx, entry, field.kind.expected());
            }
        }
    }
}

/// A non-empty string or a non-empty array of non-empty strings (`[ui.keymap]` values).
fn check_keys(cx: &mut Cx<'_>, entry: &Entry<'_>) {
    const EXPECTED: &str = "a string or an array of strings";
    match entry.item.as_value() {
        Some(value @ Value::String(_)) => check_string(cx, value, entry.at(), &entry.path, ""),
        Some(Value::Array(array)) => {
            if array.is_empty() {
                cx.error(
                    entry.at(),
                    &entry.path,
                    "the list of keys is empty",
                    Some("give at least one key, e.g. [\"j\", \"down\"]".to_string()),
                );
            }
            for element in entry.elements() {
                check_element(cx, &element);
            }
        }
        _ => type_error(cx, entry, EXPECTED),
    }
}

/// An array element that must be a non-empty string.
fn check_element(cx: &mut Cx<'_>, element: &Element<'_>) {
    if element.value.is_str() {
        check_string(cx, element.value, element.at, &element.path, "");
    } else {
        cx.error(
            element.at,
            &element.path,
            format!(
                "expected a string, found {}",
                value_type_name(element.value)
            ),
            quote_hint(cx, element.value),
        );
    }
}

/// Reports an empty string. `name` is the key's name, or "" for array elements.
fn check_string(cx: &mut Cx<'_>, value: &Value, at: usize, path: &str, name: &str) {
    if value.as_str().is_some_and(|s| s.trim().is_empty()) {
        let what = if name.is_empty() {
            "value".to_string()
        } else {
            format!("`{name}`")
        };
        cx.error(
            at,
            path,
            format!("{what} must not be empty"),
            (!name.is_empty()).then(|| "remove the key, or give it a value".to_string()),
        );
    }
}

/// The value if `is_ok` holds for it, else reports a type error.
fn expect_value<'a>(
    cx: &mut Cx<'_>,
    entry: &Entry<'a>,
    kind: Kind,
    is_ok: fn(&Value) -> bool,
) -> Option<&'a Value> {
    match entry.item.as_value() {
        Some(v) if is_ok(v) => Some(v),
        _ => {
            type_error(cx, entry, kind.expected());
            None
        }
    }
}

fn expect_table<'a>(cx: &mut Cx<'_>, entry: &Entry<'a>) -> Option<TableRef<'a>> {
    let table = entry.as_table();
    if table.is_none() {
        type_error(cx, entry, "a table");
    }
    table
}

fn type_error(cx: &mut Cx<'_>, entry: &Entry<'_>, expected: &str) {
    let found = type_name(entry.item);
    let hint = match entry.item {
        Item::Value(v) if expected.starts_with("a string") => quote_hint(cx, v),
        Item::Value(Value::String(s)) if expected == "an integer" => {
            let s = s.value().trim();
            s.parse::<i64>()
                .ok()
                .map(|_| format!("remove the quotes: `{} = {s}`", entry.key))
        }
        Item::Value(Value::String(s)) if expected == "an array of strings" => Some(format!(
            "write a list, even of one: `{} = [\"{}\"]`",
            entry.key,
            s.value()
        )),
        Item::ArrayOfTables(_) if expected == "a table" => {
            Some("write the header with single brackets: [...], not [[...]]".to_string())
        }
        _ => None,
    };
    cx.error(
        entry.at(),
        &entry.path,
        format!("expected {expected}, found {found}"),
        hint,
    );
}

/// "put it in quotes" for a number, boolean or date given where a string is expected.
fn quote_hint(cx: &Cx<'_>, value: &Value) -> Option<String> {
    match value {
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime(_) => cx
            .source_of(value)
            .map(|src| format!("put it in quotes: \"{}\"", src.trim())),
        _ => None,
    }
}
