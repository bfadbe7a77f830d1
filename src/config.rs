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
    /// Print production (`[print]`): when present, the print interior and the cover are built.
    pub print: Option<PrintConfig>,
    /// `[[volume]]`: how the print edition is split into volumes.
    #[serde(default)]
    pub volume: Vec<VolumeConfig>,
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
    /// The PDF's text layer: `logical` (default; the source text in logical order over glyphs
    /// drawn as outlines) or `native` (typst's own text).
    pub text_layer: Option<String>,
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

/// Longest theme name or slug.
pub const NAME_MAX_CHARS: usize = 64;

/// Is `name` a plain name usable as a file or folder name (`[book] slug`, the theme name)?
/// The pattern is `[A-Za-z0-9][A-Za-z0-9._-]*`, at most [`NAME_MAX_CHARS`] characters: no
/// `/`, `\`, `..`, leading dot, space or control character, so the name can never lead out of
/// its folder. `Err` says what is wrong.
pub fn check_plain_name(name: &str) -> Result<(), String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() {
        Err("is empty".into())
    } else if name.chars().count() > NAME_MAX_CHARS {
        Err(format!("is longer than {NAME_MAX_CHARS} characters"))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Err("must start with a letter or digit (no leading dot, slash or dash)".into())
    } else if name.contains("..") {
        Err("must not contain `..`".into())
    } else if !name.chars().all(plain) {
        Err("may only hold letters A-Z a-z, digits, `.`, `_` and `-` (it is a file name, not a path)".into())
    } else {
        Ok(())
    }
}

/// Is `c` a control character that has no place in a config string? Every C0 and C1 control
/// and DEL, except tab and line feed (a multi-line `rights` statement is fine).
fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The first string in `value` (walked iteratively) holding a control character: its key path.
fn control_char_key(value: &toml::Value) -> Option<(String, char)> {
    let mut stack: Vec<(String, &toml::Value)> = vec![(String::new(), value)];
    while let Some((key, v)) = stack.pop() {
        match v {
            toml::Value::String(s) => {
                if let Some(c) = s.chars().find(|&c| is_forbidden_control(c)) {
                    return Some((key, c));
                }
            }
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((format!("{key}[{i}]"), item));
                }
            }
            toml::Value::Table(t) => {
                for (k, item) in t.iter().rev() {
                    let path = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}.{k}")
                    };
                    if let Some(c) = k.chars().find(|&c| is_forbidden_control(c)) {
                        return Some((path, c));
                    }
                    stack.push((path, item));
                }
            }
            _ => {}
        }
    }
    None
}

/// PDF paper names `[pdf] paper` accepts.
pub const PAPERS: &[&str] = &["a5", "a4", "b5", "us-trade", "custom"];

impl Config {
    /// Check the values serde cannot: plain names, known paper and standards, page sizes, a
    /// real calendar date, no control characters. A problem is a configuration error (exit 2)
    /// naming the key; `file` is the config file as shown.
    pub fn validate(&self, text: &str, file: &str) -> Result<(), crate::Error> {
        // Every problem is collected, so one run reports every mistake at once.
        let mut problems: Vec<(String, String)> = Vec::new();
        let err = |key: &str, message: String| (key.to_owned(), message);
        if let Ok(table) = toml::from_str::<toml::Table>(text)
            && let Some((key, c)) = control_char_key(&toml::Value::Table(table))
        {
            problems.push(err(
                key.rsplit('.').next().unwrap_or(&key),
                format!(
                    "`{key}` holds the control character U+{:04X}; remove it (only printable text belongs in the configuration)",
                    c as u32
                ),
            ));
        }
        if let Some(theme) = &self.theme
            && let Err(why) = check_plain_name(theme)
        {
            problems.push(err(
                "theme",
                format!("`theme` = `{}` {why}", crate::diag::escape_control(theme)),
            ));
        }
        if let Some(slug) = &self.book.slug
            && let Err(why) = check_plain_name(slug)
        {
            problems.push(err(
                "slug",
                format!("[book] slug `{}` {why}", crate::diag::escape_control(slug)),
            ));
        }
        if let Some(date) = &self.book.date
            && crate::parse_date(date).is_none()
        {
            problems.push(err(
                "date",
                format!("[book] date `{date}` is not a real calendar date of the form YYYY-MM-DD"),
            ));
        }
        let paper = self.pdf.paper.as_deref().unwrap_or("a5");
        if !PAPERS.contains(&paper) {
            problems.push(err(
                "paper",
                format!(
                    "[pdf] paper `{paper}` is not known: use a5, a4, b5, us-trade, or custom with width and height"
                ),
            ));
        }
        if paper == "custom" {
            for (key, v) in [("width", &self.pdf.width), ("height", &self.pdf.height)] {
                let ok = v
                    .as_deref()
                    .and_then(crate::write::pdf::view::length_pt)
                    .is_some();
                if !ok {
                    problems.push(err(
                        key,
                        format!(
                            "[pdf] {key} must be a length between {PAGE_MIN_MM} mm and {PAGE_MAX_MM} mm such as `148mm` with paper = \"custom\""
                        ),
                    ));
                }
            }
        }
        if let Some(d) = self.pdf.body_digits.as_deref()
            && !["as-typed", "arabic-indic", "western", "persian"].contains(&d)
        {
            problems.push(err(
                "body-digits",
                format!(
                    "[pdf] body-digits `{d}` is not known: use as-typed, arabic-indic, western or persian"
                ),
            ));
        }
        if let Some(names) = &self.pdf.standard {
            let mut list = Vec::new();
            let mut known = true;
            for name in names {
                match serde_json::from_value::<typst_pdf::PdfStandard>(serde_json::Value::String(
                    name.clone(),
                )) {
                    Ok(std) => list.push(std),
                    Err(_) => {
                        known = false;
                        problems.push(err(
                            "standard",
                            format!(
                                "[pdf] standard `{name}` is not known: use a-1b, a-2b, a-2u, a-3b, a-3u, a-4, ua-1"
                            ),
                        ));
                    }
                }
            }
            if known && let Err(e) = typst_pdf::PdfStandards::new(&list) {
                problems.push(err(
                    "standard",
                    format!(
                        "[pdf] standard {names:?} cannot be combined: {}",
                        e.message()
                    ),
                ));
            }
        }
        let Some((first_key, _)) = problems.first() else {
            return Ok(());
        };
        let (line, column) = key_position(text, first_key);
        Err(crate::Error::Config {
            file: file.to_owned(),
            line,
            column,
            message: problems
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// Smallest custom page side (see `write::pdf::view::length_pt`).
pub const PAGE_MIN_MM: u32 = 50;
/// Largest custom page side.
pub const PAGE_MAX_MM: u32 = 1000;

/// Line and column of the first line that sets `key` (`key =`), or (0, 0).
fn key_position(text: &str, key: &str) -> (u32, u32) {
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return (i as u32 + 1, (line.len() - t.len()) as u32 + 1);
        }
    }
    (0, 0)
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
    /// What the printer prints the interior in: `colour` (default) or `grey` (black and white:
    /// the preflight then names every image and colour fill that is not grey).
    pub colour: Option<String>,
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
            // Name the key the value belongs to (`digits: unknown variant …`).
            let key = e
                .span()
                .and_then(|sp| text.get(..sp.start))
                .map(|before| &text[before.rfind('\n').map_or(0, |i| i + 1)..])
                .and_then(|line| line.split_once('='))
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty() && !k.starts_with('['));
            let message = match key {
                Some(k) if !e.message().contains(k) => format!("`{k}`: {}", e.message()),
                _ => e.message().to_owned(),
            };
            crate::Error::Config {
                file: file.display().to_string(),
                line,
                column,
                message,
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

    /// Read and check `publish.toml` at `path`; a missing file gives the default config unless
    /// `required`. `roots` are where the file may really be (see [`crate::safe_fs`]; empty for
    /// a file named on the command line); `shown` is its name in messages.
    pub fn load(
        path: &Path,
        required: bool,
        roots: &[std::path::PathBuf],
        shown: &str,
    ) -> Result<Config, crate::Error> {
        let config_err = |message: String| crate::Error::Config {
            file: shown.to_owned(),
            line: 0,
            column: 0,
            message,
        };
        let bytes = match crate::safe_fs::read_file(path, roots, crate::safe_fs::CONFIG_MAX_BYTES) {
            Ok(bytes) => bytes,
            Err(crate::safe_fs::Refusal::Io(e))
                if e.kind() == std::io::ErrorKind::NotFound && !required =>
            {
                // A dangling link is not "no config": only a name that is not there at all.
                if std::fs::symlink_metadata(path).is_ok() {
                    return Err(config_err(format!(
                        "{} [io]",
                        crate::safe_fs::Refusal::Io(e)
                    )));
                }
                return Ok(Config::default());
            }
            Err(why) => return Err(config_err(format!("{why} [{}]", why.code()))),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            config_err(format!(
                "not valid UTF-8 at byte {}",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let config = Config::parse(&text, Path::new(shown))?;
        config.validate(&text, shown)?;
        Ok(config)
    }
}

/// The line and column of the first line that sets `key` (`[print] bleed` → `bleed = …`), or
/// (0, 0) when not found: enough to point the editor at the value.
fn key_line(text: &str, key: &str) -> (u32, u32) {
    key_position(text, key.rsplit([' ', '.']).next().unwrap_or(key))
}
