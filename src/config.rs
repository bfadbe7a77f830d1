//! `publish.toml` → a typed [`Config`]; unknown keys are errors that name the key.

use crate::model::{Digits, LabelStyle};
use serde::Deserialize;
use std::path::Path;

/// The whole `publish.toml`. Every table is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Theme name: a folder `themes/<name>/` in the book folder, or `default` (compiled in).
    pub theme: Option<String>,
    /// Book metadata overrides.
    #[serde(default)]
    pub book: BookConfig,
    /// PDF edition settings.
    #[serde(default)]
    pub pdf: PdfConfig,
    /// EPUB edition settings.
    #[serde(default)]
    pub epub: EpubConfig,
    /// HTML edition settings.
    #[serde(default)]
    pub html: HtmlConfig,
    /// Print production (`[print]`): when present, the print interior and the cover are built.
    pub print: Option<PrintConfig>,
    /// `[[volume]]`: how the print edition is split into volumes.
    #[serde(default)]
    pub volume: Vec<VolumeConfig>,
}

/// `[book]`: metadata that overrides what the sources say.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BookConfig {
    /// Book title (default: the series title of the parts).
    pub title: Option<String>,
    /// Subtitle.
    pub subtitle: Option<String>,
    /// Author (default: the author of the parts).
    pub author: Option<String>,
    /// BCP 47 language tag (default `ar`).
    pub language: Option<String>,
    /// `rtl` or `ltr` (default: from the language).
    pub dir: Option<String>,
    /// ISBN or URN; default: a UUID derived from title and author.
    pub identifier: Option<String>,
    /// Publication/build date `YYYY-MM-DD`; default: `SOURCE_DATE_EPOCH`, else today.
    pub date: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// Rights statement.
    pub rights: Option<String>,
    /// Keywords for metadata.
    pub keywords: Option<Vec<String>>,
    /// Output file stem (default `book`).
    pub slug: Option<String>,
    /// How part labels are written: `words` (default, «الجزء الرابع عشر») or `number`.
    pub part_label: Option<LabelStyle>,
    /// Digits of generated numbers: `arabic-indic` (default), `western`, `persian`.
    pub digits: Option<Digits>,
}

/// `[pdf]`: the print edition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PdfConfig {
    /// Page size: `a5` (default), `a4`, `b5`, `us-trade` (6×9 in), or `custom` with width/height.
    pub paper: Option<String>,
    /// Page width for `paper = "custom"`, as a typst length (`148mm`, `6in`).
    pub width: Option<String>,
    /// Page height for `paper = "custom"`.
    pub height: Option<String>,
    /// PDF standards: one or several of `a-1b`, `a-2b`, `a-2u`, `a-3b`, `a-3u`, `a-4`, `ua-1`…
    /// Default `["a-2u"]`; an empty list for none.
    pub standard: Option<Vec<String>>,
    /// Convert digits in body text: `as-typed` (default), `arabic-indic`, `western`, `persian`.
    pub body_digits: Option<String>,
}

/// `[epub]`: the EPUB edition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EpubConfig {
    /// A cover image (PNG or JPEG) inside the book folder; default: generated from metadata.
    pub cover: Option<String>,
}

/// `[html]`: the HTML site.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HtmlConfig {
    /// Write the search index and search page (default true).
    pub search: Option<bool>,
}

/// `[print]`: the print edition a printer takes (see `write::pdf::print` for the geometry).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrintConfig {
    /// Trim size: `5.5x8.5in`, `6x9in`, `a5` (default), `b5`, `17x24cm`, `royal`, or `custom`
    /// with `width`/`height`.
    pub trim: Option<String>,
    /// Trim width for `trim = "custom"` (`150mm`, `6in`).
    pub width: Option<String>,
    /// Trim height for `trim = "custom"`.
    pub height: Option<String>,
    /// Bleed beyond the trim on every side (`3mm`; default 0).
    pub bleed: Option<String>,
    /// Crop marks outside the bleed (default false).
    pub marks: Option<bool>,
    /// Paper for the spine width: `"80gsm"` (a grammage of the documented table) or `"444ppi"`
    /// (the printer's pages per inch). Default `80gsm`.
    pub paper: Option<String>,
    /// Gutter table override: `[[min-pages, "length"], …]`, ascending page counts.
    pub gutter: Option<Vec<(u32, String)>>,
    /// Blank pages at the end so the page count is a multiple of this: 2, 4, 8, 16 or 32.
    pub pad_to: Option<u32>,
    /// Split the print edition into volumes of at most this many pages (between parts).
    pub max_pages: Option<u32>,
    /// Spine text, as read on the standing book: `top-to-bottom` (default; readable when the
    /// book lies front cover up, for Arabic as for English) or `bottom-to-top`.
    pub spine_text: Option<String>,
    /// Text on the back cover (default: the subtitle).
    pub blurb: Option<String>,
}

/// `[[volume]]`: one volume of the print edition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VolumeConfig {
    /// The parts it holds, by position in the series: `"1-50"` (1-based, inclusive).
    pub parts: String,
    /// Its title on its title page and cover («المجلد الأول»).
    pub title: Option<String>,
}

impl Config {
    /// Parse `publish.toml` text; `file` names the file in the error.
    pub fn parse(text: &str, file: &Path) -> Result<Config, crate::Error> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| crate::diag::line_col(text, s.start))
                .unwrap_or((0, 0));
            crate::Error::Config {
                file: file.display().to_string(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        // Print settings are checked here, before any reading, so a wrong trim, bleed or ISBN
        // stops the run with exit 2 naming the key.
        if let Err(message) = crate::write::pdf::print::validate(&config) {
            let key = message.split('`').nth(1).unwrap_or("print");
            let (line, column) = key_line(text, key);
            return Err(crate::Error::Config {
                file: file.display().to_string(),
                line,
                column,
                message,
            });
        }
        Ok(config)
    }

    /// Read `publish.toml` from `path`; a missing file gives the default config.
    pub fn load(path: &Path, required: bool) -> Result<Config, crate::Error> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| crate::Error::Config {
                    file: path.display().to_string(),
                    line: 0,
                    column: 0,
                    message: format!("not valid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
                })?;
                Config::parse(&text, path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(e) => Err(crate::Error::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }
}

/// The line and column of the first line that sets `key` (`[print] bleed` → `bleed = …`), or
/// (0, 0) when not found: enough to point the editor at the value.
fn key_line(text: &str, key: &str) -> (u32, u32) {
    let last = key.rsplit([' ', '.']).next().unwrap_or(key);
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with(last) && t[last.len()..].trim_start().starts_with('=') {
            return ((i + 1) as u32, (line.len() - t.len() + 1) as u32);
        }
    }
    (0, 0)
}
