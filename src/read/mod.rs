//! Readers: source files → [`Part`]s plus diagnostics. Readers never panic and never fail:
//! whatever the bytes, the result is a part, diagnostics, or both.

pub mod arabic;
pub mod decode;
pub mod markdown;
pub mod raw;
pub mod series;

use crate::diag::Diagnostic;
use crate::model::{Part, Source};
use crate::theme::JunkConfig;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A source file about to be read.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown in diagnostics (relative to the book folder when possible).
    pub path: String,
    /// Provenance recorded in the model.
    pub source: Source,
}

/// What a reader returns: a part (unless the file is unusable) and what it noticed.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// The part, or `None` when the file could not be read as a part.
    pub part: Option<Part>,
    /// Warnings and errors about this file.
    pub diagnostics: Vec<Diagnostic>,
}

/// Source formats `publish` reads, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// Raw scraped text (`.txt`).
    Raw,
    /// Markdown with front matter (`.md`, `.markdown`).
    Markdown,
}

impl Format {
    /// The reader for a file name, if its extension is one `publish` reads.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "txt" | "text" => Some(Format::Raw),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// Byte offset → 1-based line, by binary search over line starts.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line of byte `offset`.
    pub fn line(&self, offset: usize) -> u32 {
        match self.starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }
}

/// Read one part from its bytes. `display` is the path shown in diagnostics.
pub fn read_bytes(bytes: &[u8], display: &str, format: Format, junk: &JunkConfig) -> ReadResult {
    let sha256 = hex(&Sha256::digest(bytes));
    let decoded = match decode::decode(bytes, display) {
        Ok(d) => d,
        Err(diag) => {
            return ReadResult {
                part: None,
                diagnostics: vec![diag],
            };
        }
    };
    let src = SourceFile {
        path: display.to_owned(),
        source: Source {
            path: display.to_owned(),
            sha256,
            encoding: decoded.encoding.to_owned(),
        },
    };
    let mut result = match format {
        Format::Raw => raw::read(&src, &decoded.text, junk),
        Format::Markdown => markdown::read(&src, &decoded.text),
    };
    result.diagnostics.splice(0..0, decoded.warnings);
    result
        .diagnostics
        .extend(bidi::check(&decoded.text, display));
    result
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Whether a file name is one that editors and tools leave beside the files they edit, never
/// a part: hidden files (`.x.swp`, `.#x` lock links, `.goutputstream-…`), backups (`x~`),
/// autosaves (`#x#`) and temporary names (`x.tmp`, `x.bak`, `x.orig`, `x___jb_tmp___`).
pub fn is_editor_junk(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || (name.starts_with('#') && name.ends_with('#'))
        || name.ends_with("___jb_tmp___")
        || name.ends_with("___jb_old___")
        || [".tmp", ".bak", ".orig", ".swp", ".swx", ".swo"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// The source files in `dir` that `publish` reads, sorted by path (order is decided later by
/// part number, never by name). Other files are ignored, and so are editors' temporary,
/// backup and swap files ([`is_editor_junk`]) and hidden files and folders.
/// Links, FIFOs and other special files with a source's extension are listed, so that reading
/// them (through [`crate::safe_fs`]) refuses them with a diagnostic instead of skipping them
/// silently; the entry's type is taken without following links, so nothing blocks here.
pub fn list_sources(dir: &Path) -> std::io::Result<Vec<(PathBuf, Format)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .is_none_or(|n| is_editor_junk(&n));
        if hidden || entry.file_type()?.is_dir() {
            continue;
        }
        if let Some(format) = Format::from_path(&path) {
            out.push((path, format));
        }
    }
    out.sort();
    Ok(out)
}

pub mod bidi {
    //! Checks for bidi control characters that are left open (an override or isolate without
    //! its closing PDF/PDI), which would reorder the rest of a line in every output.

    use crate::diag::Diagnostic;

    /// Warn about each line whose explicit bidi embeddings, overrides or isolates are unbalanced.
    pub fn check(text: &str, file: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let mut embeds = 0i32;
            let mut isolates = 0i32;
            for c in line.chars() {
                match c {
                    '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}' => embeds += 1,
                    '\u{202C}' => embeds -= 1,
                    '\u{2066}'..='\u{2068}' => isolates += 1,
                    '\u{2069}' => isolates -= 1,
                    _ => {}
                }
            }
            if embeds > 0 || isolates > 0 {
                out.push(
                    Diagnostic::warning(
                        "bidi-unclosed",
                        "bidi override/embedding/isolate control left open on this line",
                    )
                    .file(file)
                    .line(i as u32 + 1)
                    .hint("close it with U+202C (PDF) or U+2069 (PDI), or remove it; writers isolate each paragraph so it cannot leak"),
                );
            }
        }
        out
    }
}
