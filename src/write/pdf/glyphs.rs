//! Missing glyphs are errors, not tofu (issue 3): every character of the book is checked
//! against the theme fonts' character maps before typesetting.

use super::world::FontSet;
use crate::Context;
use crate::diag::Diagnostic;
use std::collections::{BTreeSet, HashMap};

/// Characters that never need a glyph: whitespace, controls and Unicode default-ignorables
/// (bidi controls, ZWNJ/ZWJ, variation selectors, tags…).
pub fn is_ignorable(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5
            | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
            | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// One piece of book text and where it comes from.
struct Place<'a> {
    text: &'a str,
    file: &'a str,
    line: Option<u32>,
}

/// Which characters the fonts can show, remembered: a book has a few hundred distinct
/// characters but millions of them, and asking every font's character map each time is what
/// would cost.
struct Coverage<'f> {
    fonts: &'f FontSet,
    /// Basic Multilingual Plane: 0 not asked yet, 1 shown, 2 missing.
    bmp: Vec<u8>,
    astral: HashMap<char, bool>,
}

impl Coverage<'_> {
    fn shows(&mut self, c: char) -> bool {
        let fonts = self.fonts;
        match self.bmp.get_mut(c as usize) {
            Some(known @ 0) => {
                let shown = fonts.covers(c);
                *known = if shown { 1 } else { 2 };
                shown
            }
            Some(known) => *known == 1,
            None => *self.astral.entry(c).or_insert_with(|| fonts.covers(c)),
        }
    }
}

/// Report every character of the book that no theme font can show, once per file and line.
pub fn check(ctx: &Context, fonts: &FontSet) -> Vec<Diagnostic> {
    let meta = &ctx.book.meta;
    let book_cfg = &ctx.config.book;
    let first_source = ctx
        .book
        .parts
        .first()
        .map_or("publish.toml", |p| p.source.path.as_str());
    // Metadata comes from publish.toml when configured there, else from the parts.
    let meta_file = |configured: bool| {
        if configured {
            "publish.toml"
        } else {
            first_source
        }
    };
    let theme_toml = format!("themes/{}/theme.toml", ctx.theme.name);
    // Generated text (part labels, digits of page numbers) must print too; a theme whose fonts
    // lack it is what needs fixing.
    let digits = book_cfg.digits.unwrap_or_default();
    let style = book_cfg.part_label.unwrap_or_default();
    let generated: Vec<String> = ctx
        .book
        .parts
        .iter()
        .map(|p| p.label(style, digits))
        .chain([(0..10).map(|d| digits.format(d)).collect::<String>()])
        .collect();
    let mut places = Vec::new();
    places.push(Place {
        text: &meta.title,
        file: meta_file(book_cfg.title.is_some()),
        line: None,
    });
    for (text, configured) in [
        (&meta.subtitle, book_cfg.subtitle.is_some()),
        (&meta.author, book_cfg.author.is_some()),
        (&meta.publisher, true),
        (&meta.rights, true),
    ] {
        if let Some(text) = text {
            places.push(Place {
                text,
                file: meta_file(configured),
                line: None,
            });
        }
    }
    for k in &meta.keywords {
        places.push(Place {
            text: k,
            file: "publish.toml",
            line: None,
        });
    }
    for part in &ctx.book.parts {
        let file = part.source.path.as_str();
        part.for_each_text(&mut |text, line, _| push_lines(text, file, line, &mut places));
    }
    for text in &generated {
        places.push(Place {
            text,
            file: &theme_toml,
            line: None,
        });
    }
    let mut coverage = Coverage {
        fonts,
        bmp: vec![0; 0x10000],
        astral: HashMap::new(),
    };
    let mut seen: BTreeSet<(char, &str, Option<u32>)> = BTreeSet::new();
    let mut out = Vec::new();
    for place in &places {
        for c in place.text.chars() {
            if is_ignorable(c) || coverage.shows(c) {
                continue;
            }
            if !seen.insert((c, place.file, place.line)) {
                continue;
            }
            let mut d = Diagnostic::error(
                "missing-glyph",
                format!(
                    "no font of the theme has a glyph for «{c}» (U+{:04X}); it would print as an empty box",
                    c as u32
                ),
            )
            .file(place.file)
            .hint(format!(
                "remove or replace the character, or add a font that covers it to the theme's [fonts] files (theme fonts: {})",
                ctx.theme.config.fonts.files.join(", ")
            ));
            if let Some(line) = place.line {
                d = d.line(line);
            }
            out.push(d);
        }
    }
    out
}

/// Text spanning several source lines is split so each character gets its own line number.
fn push_lines<'a>(text: &'a str, file: &'a str, first: u32, out: &mut Vec<Place<'a>>) {
    for (n, line) in text.split('\n').enumerate() {
        out.push(Place {
            text: line,
            file,
            line: Some(first.saturating_add(n as u32)),
        });
    }
}
