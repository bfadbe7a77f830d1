//! Diagnostics: typed warnings and errors with a source position, rendered for humans or as JSON.
//!
//! Readers and writers never print; they return [`Diagnostic`] values. The pipeline collects
//! them, sorts them by file and line, and prints each once.

use serde::Serialize;
use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was repaired, removed or looks wrong; the book is still built.
    Warning,
    /// The book cannot be built correctly.
    Error,
}

/// One message about the sources, the configuration or an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Warning or error.
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `series-gap`, `junk-removed`, `missing-glyph`.
    pub code: &'static str,
    /// File the diagnostic is about, relative to the book folder, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in characters, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A warning with a code and message.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    /// An error with a code and message.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            file: None,
            line: None,
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Attach the file the diagnostic is about.
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Attach a 1-based line.
    pub fn line(mut self, line: u32) -> Self {
        self.line = Some(line);
        self
    }

    /// Attach a 1-based column.
    pub fn column(mut self, column: u32) -> Self {
        self.column = Some(column);
        self
    }

    /// Attach a hint saying what to do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Is this an error?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// One JSON object on one line (the `--diagnostics json` format).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// Sort key: file, line, column, then severity and message, so output order is stable.
    fn key(&self) -> impl Ord + '_ {
        (
            self.file.as_deref().unwrap_or(""),
            self.line.unwrap_or(0),
            self.column.unwrap_or(0),
            self.severity,
            self.code,
            &self.message,
        )
    }
}

/// Text safe to print on a terminal or in a log: control characters (C0 — newline, ESC, BEL…
/// —, DEL, C1), line and paragraph separators and bidi controls are shown as escapes
/// (`\n`, `\u{1b}`), so a file name or source text cannot forge a diagnostic line, move the
/// cursor or reorder the line it is printed on. Everything else is kept as is.
pub fn escape_control(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

impl fmt::Display for Diagnostic {
    /// `path:line:col: warning: message [code]` followed by an indented hint line. The file,
    /// message and hint are printed through [`escape_control`]: they may hold names and text
    /// from the sources.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", escape_control(file))?;
            if let Some(line) = self.line {
                write!(f, "{line}:")?;
                if let Some(col) = self.column {
                    write!(f, "{col}:")?;
                }
            }
            write!(f, " ")?;
        }
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{sev}: {} [{}]",
            escape_control(&self.message),
            self.code
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", escape_control(hint))?;
        }
        Ok(())
    }
}

/// Sort diagnostics by file and line and drop exact duplicates, so each is printed once.
pub fn sort_dedup(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| a.key().cmp(&b.key()));
    diags.dedup();
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() as u32 + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_forge_lines_or_reach_the_terminal() {
        let d = Diagnostic::error("io", "bad\u{1b}]0;pwned\u{7}")
            .file("a\nsources/x.txt:1: error: forged\u{202E}.txt")
            .hint("h\r");
        let shown = d.to_string();
        assert_eq!(shown.lines().count(), 2, "{shown}");
        assert!(
            !shown
                .chars()
                .any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202E}' || c == '\r')
        );
        assert!(shown.contains("a\\nsources/x.txt"), "{shown}");
        assert!(shown.contains("\\u{1b}]0;pwned\\u{7}"), "{shown}");
        // JSON keeps the exact text, escaped by JSON's own rules.
        let v: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(v["file"], "a\nsources/x.txt:1: error: forged\u{202E}.txt");
        assert_eq!(escape_control("«نص» plain"), "«نص» plain");
    }
}
