//! A read-only view of the parsed TOML document that keeps byte positions and key paths
//! at hand, plus the context (`Cx`) that turns positions into reported diagnostics.

use std::path::Path;

use toml_edit::{Item, TableLike, Value};

use super::diagnostics::{Diagnostic, LineIndex, Severity};

/// Collects diagnostics for a file, or for a file and the environment file layered
/// over it: positions from `split` on are in the second file.
pub(crate) struct Cx<'a> {
    pub file: &'a Path,
    /// The file's text, then (after one `\n`) the environment file's.
    pub text: &'a str,
    lines: LineIndex<'a>,
    layer: Option<Layer<'a>>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The environment file: where its text starts in `Cx::text`.
struct Layer<'a> {
    split: usize,
    file: &'a Path,
    lines: LineIndex<'a>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Cx {
            file,
            text,
            lines: LineIndex::new(text),
            layer: None,
            diagnostics: Vec::new(),
        }
    }

    /// `text` is the base file's text of `split - 1` bytes, a `\n`, then `layer_file`'s.
    pub(crate) fn layered(
        file: &'a Path,
        layer_file: &'a Path,
        text: &'a str,
        split: usize,
    ) -> Self {
        Cx {
            file,
            text,
            lines: LineIndex::new(&text[..split.saturating_sub(1)]),
            layer: Some(Layer {
                split,
                file: layer_file,
                lines: LineIndex::new(&text[split..]),
            }),
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn report(
        &mut self,
        severity: Severity,
        at: usize,
        key_path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let (file, (line, column)) = match &self.layer {
            Some(l) if at >= l.split => (l.file, l.lines.position(at - l.split)),
            _ => (self.file, self.lines.position(at)),
        };
        self.diagnostics.push(Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            key_path: key_path.to_string(),
            message: message.into(),
            hint,
            severity,
        });
    }

    pub(crate) fn error(
        &mut self,
        at: usize,
        key_path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.report(Severity::Error, at, key_path, message, hint);
    }

    pub(crate) fn warning(
        &mut self,
        at: usize,
        key_path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.report(Severity::Warning, at, key_path, message, hint);
    }

    /// The source text of a value, for hints such as "put it in quotes".
    pub(crate) fn source_of(&self, value: &Value) -> Option<&'a str> {
        self.text.get(value.span()?)
    }
}

/// Lays `top` over `base`: tables written as `[tables]` (or implied by one) merge key
/// by key, every other value of `top` (strings, arrays, inline tables) replaces the
/// one in `base`. Keys and values keep their positions.
pub(crate) fn overlay(base: &mut toml_edit::Table, top: &toml_edit::Table) {
    for (key, item) in top.iter() {
        let Some((k, _)) = top.get_key_value(key) else {
            continue;
        };
        match (base.get_mut(key), item) {
            (Some(Item::Table(b)), Item::Table(t)) => overlay(b, t),
            _ => {
                base.insert_formatted(k, item.clone());
            }
        }
    }
}

/// `parent.key`, quoting `key` when it is not a bare TOML key.
pub(crate) fn join(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// "a string", "an integer", ... for "expected X, found Y".
pub(crate) fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => value_type_name(v),
    }
}

pub(crate) fn value_type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "a table",
    }
}

/// Where a value starts, falling back to its key.
fn value_at(item: &Item, key_at: usize) -> usize {
    let span = match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => t.span(),
        Item::ArrayOfTables(a) => a.span(),
        Item::None => None,
    };
    span.map_or(key_at, |s| s.start)
}

/// A value with where it starts and the key path that leads to it.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub value: T,
    pub at: usize,
    pub path: String,
}

/// One key of a table and its value.
#[derive(Clone)]
pub(crate) struct Entry<'a> {
    pub key: &'a str,
    /// Where the key starts.
    pub key_at: usize,
    pub item: &'a Item,
    pub path: String,
}

impl<'a> Entry<'a> {
    /// Where the value starts.
    pub(crate) fn at(&self) -> usize {
        value_at(self.item, self.key_at)
    }

    pub(crate) fn as_table(&self) -> Option<TableRef<'a>> {
        let table = self.item.as_table_like()?;
        // A table written with its own `[header]` is located by the header; one written
        // inline, with dotted keys or only implied by a deeper header, by its key.
        let at = match self.item {
            Item::Table(t) if !t.is_implicit() && !t.is_dotted() => {
                t.span().map_or(self.key_at, |s| s.start)
            }
            _ => self.key_at,
        };
        Some(TableRef {
            table,
            path: self.path.clone(),
            at,
        })
    }

    pub(crate) fn as_str(&self) -> Option<Spanned<&'a str>> {
        self.item.as_str().map(|value| Spanned {
            value,
            at: self.at(),
            path: self.path.clone(),
        })
    }

    pub(crate) fn as_int(&self) -> Option<Spanned<i64>> {
        self.item.as_integer().map(|value| Spanned {
            value,
            at: self.at(),
            path: self.path.clone(),
        })
    }

    /// The strings of an array value (non-strings skipped); `None` if not an array.
    pub(crate) fn as_str_list(&self) -> Option<Vec<Spanned<&'a str>>> {
        let array = self.item.as_array()?;
        Some(
            array
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    v.as_str().map(|value| Spanned {
                        value,
                        at: v.span().map_or(self.at(), |s| s.start),
                        path: format!("{}[{i}]", self.path),
                    })
                })
                .collect(),
        )
    }

    /// The elements of an array value with their positions and paths; empty if the
    /// value is not an array.
    pub(crate) fn elements(&self) -> Vec<Element<'a>> {
        let Some(array) = self.item.as_array() else {
            return Vec::new();
        };
        array
            .iter()
            .enumerate()
            .map(|(i, value)| Element {
                value,
                at: value.span().map_or(self.at(), |s| s.start),
                path: format!("{}[{i}]", self.path),
            })
            .collect()
    }
}

/// One element of an array.
pub(crate) struct Element<'a> {
    pub value: &'a Value,
    pub at: usize,
    pub path: String,
}

/// A table (header, dotted or inline) with its key path and where to report problems
/// about the table as a whole.
#[derive(Clone)]
pub(crate) struct TableRef<'a> {
    table: &'a dyn TableLike,
    pub path: String,
    pub at: usize,
}

impl<'a> TableRef<'a> {
    pub(crate) fn root(table: &'a dyn TableLike) -> Self {
        TableRef {
            table,
            path: String::new(),
            at: 0,
        }
    }

    /// Every key in document order.
    pub(crate) fn entries(&self) -> Vec<Entry<'a>> {
        self.table
            .iter()
            .filter_map(|(key, _)| self.entry_owned(key))
            .collect()
    }

    fn entry_owned(&self, key: &str) -> Option<Entry<'a>> {
        let (k, item) = self.table.get_key_value(key)?;
        if item.is_none() {
            return None;
        }
        Some(Entry {
            key: k.get(),
            key_at: k.span().map_or(self.at, |s| s.start),
            item,
            path: join(&self.path, k.get()),
        })
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.entry_owned(key).is_some()
    }

    pub(crate) fn str(&self, key: &str) -> Option<Spanned<&'a str>> {
        self.entry_owned(key)?.as_str()
    }

    pub(crate) fn int(&self, key: &str) -> Option<Spanned<i64>> {
        self.entry_owned(key)?.as_int()
    }

    pub(crate) fn table(&self, key: &str) -> Option<TableRef<'a>> {
        self.entry_owned(key)?.as_table()
    }

    pub(crate) fn get(&self, key: &str) -> Option<Entry<'a>> {
        self.entry_owned(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_quote_keys_that_are_not_bare() {
        assert_eq!(join("", "hosts"), "hosts");
        assert_eq!(join("hosts", "web-1"), "hosts.web-1");
        assert_eq!(join("hosts", "my host"), "hosts.\"my host\"");
        assert_eq!(join("apps", "a.b"), "apps.\"a.b\"");
        assert_eq!(join("x", ""), "x.\"\"");
    }

    #[test]
    fn tables_are_located_by_header_or_key() {
        let text = "[hosts.web1]\naddress = \"a\"\n\n[hosts]\nweb2 = { port = 1 }\nweb3.user = \"u\"\n\n[apps.x.processes.web]\ncommand = \"c\"\n";
        let doc = toml_edit::Document::parse(text).unwrap();
        let root = TableRef::root(doc.as_table());
        let hosts = root.table("hosts").unwrap();
        assert_eq!(hosts.table("web1").unwrap().at, 0);
        assert_eq!(hosts.table("web2").unwrap().at, text.find("web2").unwrap());
        assert_eq!(hosts.table("web3").unwrap().at, text.find("web3").unwrap());
        let apps = root.table("apps").unwrap();
        assert_eq!(
            apps.table("x").unwrap().at,
            text.find("x.processes").unwrap()
        );
        let address = hosts.table("web1").unwrap().str("address").unwrap();
        assert_eq!(address.value, "a");
        assert_eq!(address.at, text.find("\"a\"").unwrap());
        assert_eq!(address.path, "hosts.web1.address");
        let keys: Vec<_> = hosts.entries().iter().map(|e| e.key).collect();
        assert_eq!(keys, ["web1", "web2", "web3"]);
    }
}
