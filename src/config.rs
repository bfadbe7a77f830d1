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
    /// Image limits and figure settings.
    #[serde(default)]
    pub images: ImagesConfig,
}

/// `[images]`: limits against oversized images, and how figures are shown.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImagesConfig {
    /// Largest image file accepted, in bytes (default 25 MB).
    pub max_bytes: Option<u64>,
    /// Largest pixel count accepted, width × height (default 50 million).
    pub max_pixels: Option<u64>,
    /// Number figure captions «شكل ١: …» (default false).
    pub figure_numbers: Option<bool>,
    /// Widest image the HTML site serves, in pixels; wider photos are scaled down for the
    /// site only (default 1400: twice the text column).
    pub html_max_width: Option<u32>,
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

impl Config {
    /// Parse `publish.toml` text; `file` names the file in the error.
    pub fn parse(text: &str, file: &Path) -> Result<Config, crate::Error> {
        toml::from_str(text).map_err(|e| {
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
        })
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
