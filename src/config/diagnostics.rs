//! Problems found in a configuration file: the `Diagnostic` type, the `ConfigErrors`
//! report with its `file:line:column: error: ...` rendering, and byte offset to
//! line/column mapping.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is. Warnings never make loading fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a configuration file.
///
/// `line` and `column` are 1-based and the column counts characters. A `line` of 0 means
/// the problem concerns the whole file (for example: it cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the key concerned, e.g. `hosts.web1.port` or `apps.hello.hosts[1]`;
    /// empty when no key is concerned (syntax errors).
    pub key_path: String,
    pub message: String,
    pub hint: Option<String>,
    pub severity: Severity,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `FILE:LINE:COL: error: MESSAGE (KEY.PATH)` and, when there is one, a second line
    /// `  hint: HINT`. No trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": {}: {}", self.severity, self.message)?;
        if !self.key_path.is_empty() {
            write!(f, " ({})", self.key_path)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one configuration file, in file order.
///
/// Returned by `load` when at least one diagnostic is an error; it may also hold warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file as it was given (never canonicalized).
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigErrors {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

impl fmt::Display for ConfigErrors {
    /// One block per diagnostic, then `FILE: N errors[, M warnings]`. No trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Report::new(&self.file, &self.diagnostics).fmt(f)
    }
}

impl std::error::Error for ConfigErrors {}

/// Renders a list of diagnostics the way `ConfigErrors` does; used on its own to print the
/// warnings of a configuration that loaded.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub file: &'a Path,
    pub diagnostics: &'a [Diagnostic],
}

impl<'a> Report<'a> {
    pub fn new(file: &'a Path, diagnostics: &'a [Diagnostic]) -> Self {
        Report { file, diagnostics }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in self.diagnostics {
            writeln!(f, "{diagnostic}")?;
        }
        let errors = self.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = self.diagnostics.len() - errors;
        let mut parts = Vec::new();
        if errors > 0 || warnings == 0 {
            parts.push(plural(errors, "error"));
        }
        if warnings > 0 {
            parts.push(plural(warnings, "warning"));
        }
        write!(f, "{}: {}", self.file.display(), parts.join(", "))
    }
}

/// `1 error`, `2 errors`, `0 hosts`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Maps byte offsets in a text to 1-based line and character column.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// 1-based (line, column); offsets past the end map to the end of the text.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line.saturating_sub(1)];
        let column = self.text[start..offset].chars().count() + 1;
        (line.max(1), column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nλμ = \"x\"\n\nlast";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(4), (1, 5));
        assert_eq!(index.position(6), (2, 1));
        // `=` after two 2-byte characters and a space: byte 11, column 4.
        assert_eq!(index.position(text.rfind('=').unwrap_or(0)), (2, 4));
        assert_eq!(index.position(text.find("last").unwrap_or(0)), (4, 1));
        assert_eq!(index.position(10_000), (4, 5));
        // Inside a multi-byte character: snaps back to its start.
        assert_eq!(index.position(7), (2, 1));
    }

    #[test]
    fn report_counts_errors_and_warnings() {
        let d = |severity, line| Diagnostic {
            file: PathBuf::from("raijin.toml"),
            line,
            column: 1,
            key_path: "hosts.web1.adress".into(),
            message: "unknown key `adress`".into(),
            hint: Some("did you mean `address`?".into()),
            severity,
        };
        let errors = ConfigErrors {
            file: PathBuf::from("raijin.toml"),
            diagnostics: vec![d(Severity::Error, 12), d(Severity::Warning, 13)],
        };
        assert_eq!(
            errors.to_string(),
            "raijin.toml:12:1: error: unknown key `adress` (hosts.web1.adress)\n  \
             hint: did you mean `address`?\n\
             raijin.toml:13:1: warning: unknown key `adress` (hosts.web1.adress)\n  \
             hint: did you mean `address`?\n\
             raijin.toml: 1 error, 1 warning"
        );
        assert_eq!(errors.error_count(), 1);
        assert_eq!(errors.warning_count(), 1);
        let whole_file = Diagnostic {
            line: 0,
            key_path: String::new(),
            hint: None,
            message: "cannot read the file: gone".into(),
            ..d(Severity::Error, 0)
        };
        assert_eq!(
            whole_file.to_string(),
            "raijin.toml: error: cannot read the file: gone"
        );
    }
}
