//! Missing glyphs are errors, not tofu (issue 3): every character of the book is checked
//! against the theme fonts' character maps before typesetting.

use super::world::FontSet;
use crate::Context;
use crate::diag::Diagnostic;
use crate::model::{Block, Inline};
use std::collections::BTreeSet;

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
    file: String,
    line: Option<u32>,
}

/// Report every character of the book that no theme font can show, once per file and line.
pub fn check(ctx: &Context, fonts: &FontSet) -> Vec<Diagnostic> {
    let mut places = Vec::new();
    let meta = &ctx.book.meta;
    let book_cfg = &ctx.config.book;
    let first_source = ctx
        .book
        .parts
        .first()
        .map(|p| p.source.path.clone())
        .unwrap_or_else(|| "publish.toml".into());
    // Metadata comes from publish.toml when configured there, else from the parts.
    let meta_file = |configured: bool| {
        if configured {
            "publish.toml".to_owned()
        } else {
            first_source.clone()
        }
    };
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
            file: "publish.toml".into(),
            line: None,
        });
    }
    for part in &ctx.book.parts {
        let file = &part.source.path;
        inlines(&part.title, file, &mut places);
        blocks(&part.blocks, file, &mut places);
    }
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
    let theme_toml = format!("themes/{}/theme.toml", ctx.theme.name);
    for text in &generated {
        places.push(Place {
            text,
            file: theme_toml.clone(),
            line: None,
        });
    }
    let mut seen: BTreeSet<(char, String, Option<u32>)> = BTreeSet::new();
    let mut out = Vec::new();
    for place in &places {
        for c in place.text.chars() {
            if is_ignorable(c) || fonts.covers(c) {
                continue;
            }
            if !seen.insert((c, place.file.clone(), place.line)) {
                continue;
            }
            let mut d = Diagnostic::error(
                "missing-glyph",
                format!(
                    "no font of the theme has a glyph for «{c}» (U+{:04X}); it would print as an empty box",
                    c as u32
                ),
            )
            .file(place.file.clone())
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

fn blocks<'a>(bs: &'a [Block], file: &str, out: &mut Vec<Place<'a>>) {
    for b in bs {
        match b {
            Block::Heading { content, .. } | Block::Para { content, .. } => {
                inlines(content, file, out)
            }
            Block::Quote { blocks: inner, .. } | Block::Footnote { blocks: inner, .. } => {
                blocks(inner, file, out)
            }
            Block::List { items, .. } => items.iter().for_each(|i| blocks(i, file, out)),
            Block::Code { text, span, .. } => push_lines(text, file, span.line, out),
            Block::Break { .. } => {}
        }
    }
}

fn inlines<'a>(is: &'a [Inline], file: &str, out: &mut Vec<Place<'a>>) {
    for i in is {
        match i {
            Inline::Text { text, span } | Inline::Code { text, span } => {
                push_lines(text, file, span.line, out)
            }
            Inline::Emph { content, .. } | Inline::Strong { content, .. } => {
                inlines(content, file, out)
            }
            Inline::Link { content, .. } => inlines(content, file, out),
            Inline::NoteRef { .. } | Inline::LineBreak { .. } => {}
        }
    }
}

/// Text spanning several source lines is split so each character gets its own line number.
fn push_lines<'a>(text: &'a str, file: &str, first: u32, out: &mut Vec<Place<'a>>) {
    for (n, line) in text.split('\n').enumerate() {
        out.push(Place {
            text: line,
            file: file.to_owned(),
            line: Some(first.saturating_add(n as u32)),
        });
    }
}
