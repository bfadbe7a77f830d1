//! Themes: `themes/<name>/` in the book folder, over defaults compiled into the binary.
//!
//! A theme is a set of files (template, CSS, script, fonts, `theme.toml`). Each file is looked
//! up first in the book's `themes/<name>/` folder and then among the compiled-in defaults, so a
//! book overrides just the files it wants to change and `publish` works anywhere.

use crate::write::pdf::world::FontSet;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Files of the default theme, compiled in. Paths are relative to `themes/default/`.
const DEFAULTS: &[(&str, &[u8])] = &[
    ("theme.toml", include_bytes!("../themes/default/theme.toml")),
    ("book.typ", include_bytes!("../themes/default/book.typ")),
    ("book.css", include_bytes!("../themes/default/book.css")),
    ("epub.css", include_bytes!("../themes/default/epub.css")),
    ("site.css", include_bytes!("../themes/default/site.css")),
    ("search.js", include_bytes!("../themes/default/search.js")),
    ("site.js", include_bytes!("../themes/default/site.js")),
    (
        "fonts/Amiri-Regular.ttf",
        include_bytes!("../themes/default/fonts/Amiri-Regular.ttf"),
    ),
    (
        "fonts/Amiri-Bold.ttf",
        include_bytes!("../themes/default/fonts/Amiri-Bold.ttf"),
    ),
    (
        "fonts/Amiri-Italic.ttf",
        include_bytes!("../themes/default/fonts/Amiri-Italic.ttf"),
    ),
    (
        "fonts/Amiri-BoldItalic.ttf",
        include_bytes!("../themes/default/fonts/Amiri-BoldItalic.ttf"),
    ),
    (
        "fonts/NotoSerifHebrew-Regular.ttf",
        include_bytes!("../themes/default/fonts/NotoSerifHebrew-Regular.ttf"),
    ),
    (
        "fonts/NotoSerifHebrew-Bold.ttf",
        include_bytes!("../themes/default/fonts/NotoSerifHebrew-Bold.ttf"),
    ),
    (
        "fonts/NotoSansMono-Regular.ttf",
        include_bytes!("../themes/default/fonts/NotoSansMono-Regular.ttf"),
    ),
    (
        "fonts/OFL-Amiri.txt",
        include_bytes!("../themes/default/fonts/OFL-Amiri.txt"),
    ),
    (
        "fonts/OFL-NotoSerifHebrew.txt",
        include_bytes!("../themes/default/fonts/OFL-NotoSerifHebrew.txt"),
    ),
    (
        "fonts/OFL-NotoSansMono.txt",
        include_bytes!("../themes/default/fonts/OFL-NotoSansMono.txt"),
    ),
];

/// `theme.toml`: the settings of a theme.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ThemeConfig {
    /// Fonts of the theme.
    pub fonts: FontsConfig,
    /// Website junk removed from scraped sources.
    #[serde(default)]
    pub junk: JunkConfig,
}

/// `[fonts]` in `theme.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FontsConfig {
    /// Font files of the theme (paths inside the theme). Only these fonts are ever used.
    pub files: Vec<String>,
    /// Family names for body text, first choice first; later ones are fallbacks.
    pub body: Vec<String>,
    /// Family names for code, first choice first.
    pub code: Vec<String>,
}

/// `[junk]` in `theme.toml`: patterns of website text that never reach the book.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JunkConfig {
    /// Whole lines that are removed wherever they stand (compared after trimming, ignoring case).
    #[serde(default)]
    pub lines: Vec<String>,
    /// Blocks: a start line followed by item lines, removed together.
    #[serde(default)]
    pub blocks: Vec<JunkBlock>,
}

/// A junk block such as «شارك هذا المقال» followed by the names of social networks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JunkBlock {
    /// Name used in the diagnostic (e.g. `share block`).
    pub name: String,
    /// Lines that start the block (compared after trimming, ignoring trailing `:` and case).
    pub start: Vec<String>,
    /// Item lines that may follow; an empty list means "any short line" (see `max-item-words`).
    #[serde(default)]
    pub items: Vec<String>,
    /// With no `items`: lines of at most this many words continue the block.
    #[serde(default)]
    pub max_item_words: Option<usize>,
}

/// A loaded theme: its settings and a way to read its files.
#[derive(Debug, Clone)]
pub struct Theme {
    /// Theme name.
    pub name: String,
    /// Parsed `theme.toml`.
    pub config: ThemeConfig,
    files: Arc<BTreeMap<String, Arc<Vec<u8>>>>,
    /// The font files parsed for typst, on first use (see [`Theme::font_set`]).
    font_set: Arc<OnceLock<Result<Arc<FontSet>, String>>>,
}

impl Theme {
    /// Load theme `name` for the book in `book_dir`: files in `book_dir/themes/<name>/` override
    /// the compiled-in defaults. A theme other than `default` must exist as a folder.
    pub fn load(book_dir: &Path, name: &str) -> Result<Theme, crate::Error> {
        crate::config::check_plain_name(name).map_err(|why| {
            crate::Error::Usage(format!(
                "theme name `{}` {why}",
                crate::diag::escape_control(name)
            ))
        })?;
        let mut files: BTreeMap<String, Arc<Vec<u8>>> = DEFAULTS
            .iter()
            .map(|(path, bytes)| ((*path).to_owned(), Arc::new(bytes.to_vec())))
            .collect();
        let dir = book_dir.join("themes").join(name);
        let shown = |p: &Path| crate::diag::escape_control(&crate::display_path(p, book_dir));
        let refused = |p: &Path, why: crate::safe_fs::Refusal| crate::Error::Config {
            file: shown(p),
            line: 0,
            column: 0,
            message: format!("theme file {why} [{}]", why.code()),
        };
        match std::fs::symlink_metadata(&dir) {
            Ok(_) => {
                // The theme folder itself may be a link, but only to a folder inside the book.
                let book_root = crate::safe_fs::root(book_dir)
                    .map_err(|e| refused(book_dir, crate::safe_fs::Refusal::Io(e)))?;
                let real = crate::safe_fs::root(&dir)
                    .map_err(|e| refused(&dir, crate::safe_fs::Refusal::Io(e)))?;
                if !real.starts_with(&book_root) {
                    return Err(refused(&dir, crate::safe_fs::Refusal::Outside(real)));
                }
                if !real.is_dir() {
                    return Err(refused(
                        &dir,
                        crate::safe_fs::Refusal::NotRegular("file where a theme folder belongs"),
                    ));
                }
                let roots = [book_root];
                // Name files by their place under `themes/<name>/`, not by their real path.
                let under = |p: &Path| dir.join(p.strip_prefix(&real).unwrap_or(p));
                let found_files =
                    crate::safe_fs::walk_files(&real).map_err(|(p, w)| refused(&under(&p), w))?;
                for found in found_files {
                    let max = if is_font(&found.rel) {
                        crate::safe_fs::FONT_MAX_BYTES
                    } else {
                        crate::safe_fs::THEME_FILE_MAX_BYTES
                    };
                    let shown_path = dir.join(&found.rel);
                    let bytes = crate::safe_fs::read_file(&found.path, &roots, max)
                        .map_err(|w| refused(&shown_path, w))?;
                    files.insert(found.rel, Arc::new(bytes));
                }
            }
            Err(_) if name == "default" => {}
            Err(_) => {
                return Err(crate::Error::Usage(format!(
                    "theme `{name}` not found: expected a folder {}",
                    shown(&dir)
                )));
            }
        }
        let toml_bytes = files
            .get("theme.toml")
            .ok_or_else(|| crate::Error::Internal("theme.toml missing".into()))?;
        let toml_path = dir.join("theme.toml");
        let text = std::str::from_utf8(toml_bytes).map_err(|_| crate::Error::Config {
            file: toml_path.display().to_string(),
            line: 0,
            column: 0,
            message: "theme.toml is not valid UTF-8".into(),
        })?;
        let config: ThemeConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| crate::diag::line_col(text, s.start))
                .unwrap_or((0, 0));
            crate::Error::Config {
                file: toml_path.display().to_string(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        for font in &config.fonts.files {
            if !files.contains_key(font) {
                return Err(crate::Error::Config {
                    file: toml_path.display().to_string(),
                    line: 0,
                    column: 0,
                    message: format!("font file `{font}` is not in the theme"),
                });
            }
        }
        Ok(Theme {
            name: name.to_owned(),
            config,
            files: Arc::new(files),
            font_set: Arc::new(OnceLock::new()),
        })
    }

    /// The compiled-in default theme, without looking at any folder.
    pub fn builtin() -> Theme {
        Theme::load(Path::new("/nonexistent-publish-book"), "default")
            .expect("the compiled-in default theme is valid")
    }

    /// The bytes of a theme file such as `book.typ` or `fonts/Amiri-Regular.ttf`.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(|b| b.as_slice())
    }

    /// The theme file as text, if it exists and is UTF-8.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.file(path).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The font files named in `theme.toml`, as `(path, bytes)` in the configured order.
    pub fn fonts(&self) -> Vec<(&str, &[u8])> {
        self.config
            .fonts
            .files
            .iter()
            .filter_map(|p| self.file(p).map(|b| (p.as_str(), b)))
            .collect()
    }

    /// The theme's fonts parsed for typst, once per loaded theme: parsing them costs more than
    /// typesetting a short book, and the PDF writer and the EPUB cover, running in parallel,
    /// share one parse (the second waits for the first). An error names the unreadable file.
    pub fn font_set(&self) -> Result<Arc<FontSet>, String> {
        self.font_set
            .get_or_init(|| FontSet::new(&self.fonts()).map(Arc::new))
            .clone()
    }

    /// Every file of the theme, in path order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

/// Font files get the larger size cap.
fn is_font(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    [".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}
