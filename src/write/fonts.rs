//! The theme fonts an EPUB embeds and the HTML site serves: only the faces its text can use.
//!
//! Every face costs the reader's download and the build's compression time (the default theme's
//! seven files are 2.1 MB, more than the text of a 100,000-word book), so a face is embedded
//! only when the book sets text in it: the italic faces only for emphasis, a fallback family
//! (Noto Serif Hebrew after Amiri) only for characters the families before it lack, the code
//! family only for code. A reading system picks the exact face when it is there, so leaving
//! out the others changes nothing it shows.

use crate::Context;
use crate::diag::Diagnostic;
use crate::model::Setting;
use crate::write::pdf::world::FontSet;

/// A theme font embedded in the EPUB.
pub(crate) struct Font<'a> {
    /// Path inside `OEBPS/`.
    pub href: String,
    pub bytes: &'a [u8],
    pub media_type: &'static str,
    pub family: String,
    pub bold: bool,
    pub italic: bool,
    /// The theme file it comes from.
    pub path: &'a str,
}

/// The text `publish` writes around the parts (title page, navigation, colophon), all of it
/// set in the body fonts.
pub(crate) struct Text<'a> {
    pub generated: &'a [&'a str],
}

/// The theme's fonts that the book's text uses, with family, weight and style taken from file
/// names such as `fonts/NotoSerifHebrew-Bold.ttf` matched against the families named in
/// `theme.toml`.
pub(crate) fn embedded<'a>(
    ctx: &'a Context,
    text: &Text<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Font<'a>> {
    let all = theme_fonts(ctx, diags);
    // Without parsed fonts there is no coverage to go by: embed them all. (The PDF writer
    // reports the unreadable file.)
    let Ok(set) = ctx.theme.font_set() else {
        return all;
    };
    let uses = Uses::of(ctx, text);
    let cfg = &ctx.theme.config.fonts;
    let covers = |family: &str, c: char| {
        all.iter()
            .filter(|f| f.family == family)
            .any(|f| face_covers(&set, f.path, c))
    };
    // A family is used when text falls to it: the first body family always (its headings and
    // generated text), the first code family when there is code, a later family when the text
    // has a character it shows and no family before it does.
    let used_family = |list: &[String], chars: &CharSet, family: &str| -> bool {
        let Some(k) = list.iter().position(|f| f == family) else {
            return false;
        };
        if chars.is_empty() {
            return false;
        }
        k == 0
            || chars
                .iter()
                .any(|c| covers(family, c) && !list[..k].iter().any(|f| covers(f, c)))
    };
    let mut keep = Vec::with_capacity(all.len());
    for f in &all {
        let in_body = cfg.body.contains(&f.family);
        let in_code = cfg.code.contains(&f.family);
        if !in_body && !in_code {
            // Not one of the families the style sheet names: a theme's own CSS may use it.
            keep.push(true);
            continue;
        }
        let mut styles = [false; 4];
        if used_family(&cfg.body, &uses.body_chars, &f.family) {
            or_into(&mut styles, &uses.body_styles);
        }
        if used_family(&cfg.code, &uses.code_chars, &f.family) {
            or_into(&mut styles, &uses.code_styles);
        }
        let has_regular = all
            .iter()
            .any(|g| g.family == f.family && !g.bold && !g.italic);
        // A family without a regular face sets regular text in whatever face it has.
        let wanted = styles[style(f.bold, f.italic)] || (!has_regular && styles.iter().any(|s| *s));
        keep.push(wanted);
    }
    all.into_iter()
        .zip(keep)
        .filter_map(|(f, k)| k.then_some(f))
        .collect()
}

fn or_into(into: &mut [bool; 4], from: &[bool; 4]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a |= *b;
    }
}

/// Index of a style in `[regular, bold, italic, bold italic]`.
fn style(bold: bool, italic: bool) -> usize {
    usize::from(bold) + 2 * usize::from(italic)
}

fn face_covers(set: &FontSet, path: &str, c: char) -> bool {
    set.fonts
        .iter()
        .zip(&set.files)
        .any(|(font, file)| file == path && font.info().coverage.contains(c as u32))
}

/// The styles and characters of body text and of code.
struct Uses {
    body_styles: [bool; 4],
    code_styles: [bool; 4],
    body_chars: CharSet,
    code_chars: CharSet,
}

impl Uses {
    fn of(ctx: &Context, text: &Text<'_>) -> Uses {
        let mut uses = Uses {
            body_styles: [false; 4],
            code_styles: [false; 4],
            body_chars: CharSet::default(),
            code_chars: CharSet::default(),
        };
        // Generated text: regular, and bold in the title page's and the parts' headings.
        uses.body_styles[style(false, false)] = true;
        uses.body_styles[style(true, false)] = true;
        for t in text.generated {
            uses.body_chars.insert_str(t);
        }
        // The parts in parallel (a book has millions of characters), then merged.
        use rayon::prelude::*;
        let parts = ctx
            .book
            .parts
            .par_iter()
            .map(|part| {
                let mut one = Uses {
                    body_styles: [false; 4],
                    code_styles: [false; 4],
                    body_chars: CharSet::default(),
                    code_chars: CharSet::default(),
                };
                part.for_each_text(&mut |t, _, set: Setting| {
                    let (styles, chars) = if set.code {
                        (&mut one.code_styles, &mut one.code_chars)
                    } else {
                        (&mut one.body_styles, &mut one.body_chars)
                    };
                    styles[style(set.bold, set.italic)] = true;
                    chars.insert_str(t);
                });
                one
            })
            .collect::<Vec<Uses>>();
        for one in parts {
            or_into(&mut uses.body_styles, &one.body_styles);
            or_into(&mut uses.code_styles, &one.code_styles);
            uses.body_chars.union(&one.body_chars);
            uses.code_chars.union(&one.code_chars);
        }
        uses
    }
}

/// A set of characters as a bitmap: a book has millions of characters but few distinct ones.
#[derive(Default)]
struct CharSet {
    bits: Vec<u64>,
}

impl CharSet {
    /// Add the characters of `s`. Every character goes in (a tight loop over millions of
    /// them); white space and controls are left out when the set is read.
    fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            let i = c as usize;
            if self.bits.len() <= i / 64 {
                // The Basic Multilingual Plane at once: most books never grow it again.
                self.bits.resize((i / 64 + 1).max(1024), 0);
            }
            self.bits[i / 64] |= 1 << (i % 64);
        }
    }

    /// Add every character of `other`.
    fn union(&mut self, other: &CharSet) {
        if self.bits.len() < other.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= *b;
        }
    }

    fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The characters, white space and controls left out.
    fn iter(&self) -> impl Iterator<Item = char> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, bits)| {
            (0..64)
                .filter(move |b| bits & (1 << b) != 0)
                .filter_map(move |b| char::from_u32((w * 64 + b) as u32))
                .filter(|c| !c.is_whitespace() && !c.is_control())
        })
    }
}

/// Every font file of the theme that an EPUB can carry (none reported).
pub(crate) fn all(ctx: &Context) -> Vec<Font<'_>> {
    theme_fonts(ctx, &mut Vec::new())
}

/// Every font file of the theme that an EPUB can carry.
fn theme_fonts<'a>(ctx: &'a Context, diags: &mut Vec<Diagnostic>) -> Vec<Font<'a>> {
    let cfg = &ctx.theme.config.fonts;
    let families: Vec<&String> = cfg.body.iter().chain(cfg.code.iter()).collect();
    let mut out = Vec::new();
    for (i, (path, bytes)) in ctx.theme.fonts().into_iter().enumerate() {
        let file = path.rsplit('/').next().unwrap_or(path);
        let (stem, ext) = file.rsplit_once('.').unwrap_or((file, ""));
        let media_type = match ext.to_ascii_lowercase().as_str() {
            "ttf" => "font/ttf",
            "otf" => "font/otf",
            "woff" => "font/woff",
            "woff2" => "font/woff2",
            _ => {
                diags.push(
                    Diagnostic::warning(
                        "font-not-embedded",
                        format!("theme font `{path}` is not a TrueType, OpenType or WOFF file; it is not embedded in the EPUB"),
                    ),
                );
                continue;
            }
        };
        let safe = file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let href = if safe {
            format!("fonts/{file}")
        } else {
            format!("fonts/font-{i}.{}", ext.to_ascii_lowercase())
        };
        let (base, style) = stem.split_once('-').unwrap_or((stem, ""));
        let family = families
            .iter()
            .find(|f| f.replace(' ', "").eq_ignore_ascii_case(base))
            .map_or_else(|| base.to_owned(), |f| (*f).clone());
        out.push(Font {
            href,
            bytes,
            media_type,
            family,
            bold: style.contains("Bold"),
            italic: style.contains("Italic"),
            path,
        });
    }
    out
}

/// If a comment (`/* … */`) or a quoted string starts at byte `i` of `css`, the byte just
/// after it (the end of `css` when it is not closed), else `None`. The style-sheet scanners
/// (the site's `@font-face` rewriter, the EPUB's clean-up, [`rule_end`]) skip both, so that
/// braces and keywords inside them are never read as structure.
pub(crate) fn skip_comment_or_string(css: &str, i: usize) -> Option<usize> {
    let rest = css.get(i..)?;
    if let Some(comment) = rest.strip_prefix("/*") {
        return Some(comment.find("*/").map_or(css.len(), |e| i + 2 + e + 2));
    }
    let q = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let mut escaped = false;
    for (j, d) in rest.char_indices().skip(1) {
        if escaped {
            escaped = false;
        } else if d == '\\' {
            escaped = true;
        } else if d == q {
            return Some(i + j + 1);
        }
    }
    Some(css.len())
}

/// Where the rule starting at `start` ends: after its block's closing brace (or its `;`),
/// skipping braces inside strings and comments.
pub(crate) fn rule_end(css: &str, start: usize) -> usize {
    let mut depth = 0usize;
    let bytes = css.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        if let Some(end) = skip_comment_or_string(css, i) {
            i = end;
            continue;
        }
        match bytes[i] {
            b'{' => depth += 1,
            b'}' if depth <= 1 => return i + 1,
            b'}' => depth -= 1,
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    css.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_set_keeps_distinct_characters() {
        let mut s = CharSet::default();
        assert!(s.is_empty());
        s.insert_str("بب a\n😀");
        assert_eq!(s.iter().collect::<String>(), "aب😀");
    }
}
