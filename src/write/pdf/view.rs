//! The book as data for the template: a JSON view of the model with everything generated
//! (part labels, digits, colophon) computed here, and Latin/code runs marked for isolation.
//!
//! Text is never turned into typst markup: the template reads this JSON with `json(...)` and
//! shows every string as plain text, so `#read(...)`, `*x*` or `$x$` in a source stay literal.
//!
//! The data a theme's `book.typ` receives at `/publish/book.json` (its contract):
//! - `meta`: `title`, `subtitle`, `author`, `lang`, `region`, `dir` (`rtl`/`ltr`), `keywords`,
//!   `publisher`, `rights` (absent values are `none`);
//! - `fonts`: `body` and `code` family lists from `theme.toml`;
//! - `page`: `{paper}` (a typst paper name) or `{width, height}` in points;
//! - `digits`: the ten digit strings of generated numbers; `strings`: generated words
//!   (`contents`, `colophon`, …) in the book's language;
//! - `parts`: `{label, title, title-plain, blocks}`; `colophon`: `{sources: [{path, number,
//!   sha256}], date, version}`; `sample`: paragraphs for reference renders;
//! - `print` (modes `print` and `spread` only): the print geometry in points — `media`,
//!   `trim` (`{width, height}`), `offset` (media edge to trim), `bleed`, `marks`; for the
//!   interior `inside`, `outside`, `top`, `bottom`, `pad-to`; for the cover `spine`,
//!   `spine-text` (whether it holds text), `spine-dir` (`ttb`/`btt`), `blurb`, `barcode`
//!   (`{bars: [[start, width]…] in modules, digits, text}` or `none`); `volume`: `none` or
//!   the volume's title;
//! - nodes have a kind `k`: inline `t` (text), `ltr` (an isolated Latin run), `emph`, `strong`,
//!   `link` (`url`), `code`, `br`, `note` (`b`: blocks); blocks `p`, `h` (`level`), `quote`,
//!   `list` (`start`: `none` for bullets, `items`), `pre` (code block), `break`. Text is in `s`,
//!   inline children in `c`, block children in `b`.

use crate::Context;
use crate::bidi::{has_ltr_char, is_ltr_char, is_rtl_char};
use crate::diag::Diagnostic;
use crate::model::{Block, Digits, Inline, Part};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the template should typeset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The whole book.
    Book,
    /// The cover page alone (for the EPUB cover image).
    Cover,
    /// Sample paragraphs on a small page (reference renders).
    Sample,
    /// The print interior: the book at the media size, content offset by the bleed (`print`).
    Print,
    /// The print cover: back, spine and front on one spread (`print`).
    Spread,
}

impl Mode {
    /// The name passed to the template in `sys.inputs.mode`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Book => "book",
            Mode::Cover => "cover",
            Mode::Sample => "sample",
            Mode::Print => "print",
            Mode::Spread => "spread",
        }
    }
}

/// Build the JSON view; errors (bad config values) and warnings (dropped notes) are returned
/// beside it.
pub fn book_view(ctx: &Context, samples: &[&str]) -> (Value, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let book = &ctx.book;
    let digits = ctx.config.book.digits.unwrap_or_default();
    let style = ctx.config.book.part_label.unwrap_or_default();
    let body_digits = match ctx.config.pdf.body_digits.as_deref() {
        None | Some("as-typed") => None,
        Some("arabic-indic") => Some(Digits::ArabicIndic),
        Some("western") => Some(Digits::Western),
        Some("persian") => Some(Digits::Persian),
        Some(other) => {
            diags.push(
                Diagnostic::error(
                    "config",
                    format!("[pdf] body-digits `{other}` is not known"),
                )
                .file("publish.toml")
                .hint("use one of as-typed, arabic-indic, western, persian"),
            );
            None
        }
    };
    let conv = Conv { body_digits };
    let page = page_size(ctx, &mut diags);
    let (lang, region) = typst_lang(book.meta.lang.as_str(), &mut diags);
    let digit_table: Vec<String> = (0..10).map(|d| digits.format(d)).collect();
    let mut parts = Vec::new();
    let mut sources = Vec::new();
    for part in &book.parts {
        let notes = collect_notes(part);
        let mut used = BTreeMap::new();
        let blocks = conv.blocks(&part.blocks, &notes, &mut used, part, &mut diags);
        for (label, block) in &notes {
            if !used.contains_key(label) {
                diags.push(
                    Diagnostic::warning(
                        "footnote-unused",
                        format!(
                            "footnote `{label}` is never referenced and is left out of the PDF"
                        ),
                    )
                    .file(part.source.path.clone())
                    .line(block.span().line),
                );
            }
        }
        parts.push(json!({
            "label": part.label(style, digits),
            "title": conv.inlines(&part.title, &notes, &mut used, part, &mut diags),
            "title-plain": part.title_text(),
            "blocks": blocks,
        }));
        sources.push(json!({
            "path": part.source.path,
            "number": part.number.map(|n| digits.format(n.into())),
            "sha256": part.source.sha256,
        }));
    }
    let arabic = matches!(
        book.meta.lang.as_str().split(['-', '_']).next(),
        Some("ar" | "fa" | "ur" | "ps" | "ckb" | "sd" | "ug")
    );
    let strings = if arabic {
        json!({
            "contents": "المحتويات",
            "colophon": "بيانات النشر",
            "sources": "المصادر",
            "file": "الملف",
            "part": "رقم الجزء",
            "date": "تاريخ البناء",
            "made-with": "صُنع بواسطة",
        })
    } else {
        json!({
            "contents": "Contents",
            "colophon": "Colophon",
            "sources": "Sources",
            "file": "File",
            "part": "Part",
            "date": "Build date",
            "made-with": "Made with",
        })
    };
    let date: String = book
        .meta
        .date
        .split('-')
        .map(|p| match p.parse::<u64>() {
            // Zero-padded in the configured digits: `{:02}` would pad with a Western `0`.
            Ok(n) if n < 10 && p.len() == 2 => digits.format(0) + &digits.format(n),
            Ok(n) => digits.format(n),
            Err(_) => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let sample: Vec<Value> = samples.iter().map(|s| Value::Array(conv.text(s))).collect();
    let view = json!({
        "meta": {
            "title": book.meta.title,
            "subtitle": book.meta.subtitle,
            "author": book.meta.author,
            "lang": lang,
            "region": region,
            "dir": book.meta.dir.as_str(),
            "keywords": book.meta.keywords,
            "publisher": book.meta.publisher,
            "rights": book.meta.rights,
        },
        "fonts": {
            "body": ctx.theme.config.fonts.body,
            "code": ctx.theme.config.fonts.code,
        },
        "page": page,
        "digits": digit_table,
        "strings": strings,
        "parts": parts,
        "colophon": {
            "sources": sources,
            "date": date,
            "version": env!("CARGO_PKG_VERSION"),
        },
        "sample": sample,
    });
    (view, diags)
}

/// typst wants an ISO 639 language and an ISO 3166 region apart: `ar-EG` → (`ar`, `EG`).
fn typst_lang(tag: &str, diags: &mut Vec<Diagnostic>) -> (String, Option<String>) {
    let mut it = tag.split(['-', '_']);
    let primary = it.next().unwrap_or("").to_ascii_lowercase();
    let region = it
        .find(|s| s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()))
        .map(|s| s.to_ascii_uppercase());
    if (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic()) {
        (primary, region)
    } else {
        diags.push(
            Diagnostic::warning(
                "language",
                format!(
                    "language tag `{tag}` is not of the form `ar` or `ar-EG`; the PDF says `ar`"
                ),
            )
            .file("publish.toml"),
        );
        ("ar".to_owned(), None)
    }
}

/// Page size: a typst paper name, or width and height in points.
fn page_size(ctx: &Context, diags: &mut Vec<Diagnostic>) -> Value {
    let pdf = &ctx.config.pdf;
    let named = |name: &str| json!({ "paper": name });
    match pdf.paper.as_deref().unwrap_or("a5") {
        "a5" => named("a5"),
        "a4" => named("a4"),
        "b5" => named("iso-b5"),
        "us-trade" => named("us-trade"),
        "custom" => {
            let w = pdf.width.as_deref().and_then(length_pt);
            let h = pdf.height.as_deref().and_then(length_pt);
            match (w, h) {
                (Some(w), Some(h)) => json!({ "width": w, "height": h }),
                _ => {
                    diags.push(
                        Diagnostic::error(
                            "config",
                            "[pdf] paper = \"custom\" needs a width and a height such as `148mm`",
                        )
                        .file("publish.toml")
                        .hint("lengths are a number and a unit: mm, cm, in or pt, between 50mm and 1000mm"),
                    );
                    named("a5")
                }
            }
        }
        other => {
            diags.push(
                Diagnostic::error("config", format!("[pdf] paper `{other}` is not known"))
                    .file("publish.toml")
                    .hint("use a5, a4, b5, us-trade, or custom with width and height"),
            );
            named("a5")
        }
    }
}

/// A length such as `148mm`, `6in`, `14.8cm` or `420pt` in points, within sane page limits.
pub fn length_pt(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let pt = match unit.trim() {
        "mm" => n * 72.0 / 25.4,
        "cm" => n * 72.0 / 2.54,
        "in" => n * 72.0,
        "pt" => n,
        _ => return None,
    };
    // 50 mm to 1 m: anything else is a typo, not a book.
    (pt.is_finite() && (141.0..=2835.0).contains(&pt)).then_some(pt)
}

fn collect_notes(part: &Part) -> BTreeMap<String, Block> {
    fn walk(blocks: &[Block], out: &mut BTreeMap<String, Block>) {
        for b in blocks {
            match b {
                Block::Footnote { label, .. } => {
                    out.entry(label.clone()).or_insert_with(|| b.clone());
                }
                Block::Quote { blocks, .. } => walk(blocks, out),
                Block::List { items, .. } => items.iter().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&part.blocks, &mut out);
    out
}

struct Conv {
    body_digits: Option<Digits>,
}

type Notes = BTreeMap<String, Block>;
type Used = BTreeMap<String, ()>;

impl Conv {
    fn blocks(
        &self,
        blocks: &[Block],
        notes: &Notes,
        used: &mut Used,
        part: &Part,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for b in blocks {
            let v = match b {
                Block::Heading { level, content, .. } => json!({
                    "k": "h",
                    "level": level,
                    "c": self.inlines(content, notes, used, part, diags),
                }),
                Block::Para { content, .. } => json!({
                    "k": "p",
                    "c": self.inlines(content, notes, used, part, diags),
                }),
                Block::Quote { blocks, .. } => json!({
                    "k": "quote",
                    "b": self.blocks(blocks, notes, used, part, diags),
                }),
                Block::List { start, items, .. } => json!({
                    "k": "list",
                    // typst numbers are 64-bit signed; a list cannot start beyond that.
                    "start": start.map(|n| n.min(i64::MAX as u64 / 2)),
                    "items": items
                        .iter()
                        .map(|i| Value::Array(self.blocks(i, notes, used, part, diags)))
                        .collect::<Vec<_>>(),
                }),
                Block::Code { text, .. } => json!({ "k": "pre", "s": text }),
                // Footnotes are typeset where they are referenced.
                Block::Footnote { .. } => continue,
                Block::Break { .. } => json!({ "k": "break" }),
            };
            out.push(v);
        }
        out
    }

    fn inlines(
        &self,
        inlines: &[Inline],
        notes: &Notes,
        used: &mut Used,
        part: &Part,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for i in inlines {
            match i {
                Inline::Text { text, .. } => out.extend(self.text(text)),
                Inline::Emph { content, .. } => out.push(json!({
                    "k": "emph", "c": self.inlines(content, notes, used, part, diags),
                })),
                Inline::Strong { content, .. } => out.push(json!({
                    "k": "strong", "c": self.inlines(content, notes, used, part, diags),
                })),
                Inline::Link { url, content, span } => {
                    let c = self.inlines(content, notes, used, part, diags);
                    // typst refuses empty and very long URLs: keep the text, say so.
                    if url.is_empty() || url.len() > 8000 {
                        diags.push(
                            Diagnostic::warning(
                                "link-dropped",
                                "a link with an empty or over-long target is printed as plain text",
                            )
                            .file(part.source.path.clone())
                            .line(span.line),
                        );
                        out.extend(c);
                    } else {
                        out.push(json!({ "k": "link", "url": url, "c": c }));
                    }
                }
                Inline::Code { text, .. } => out.push(json!({ "k": "code", "s": text })),
                Inline::LineBreak { .. } => out.push(json!({ "k": "br" })),
                Inline::NoteRef { label, span } => match notes.get(label) {
                    // A note referenced twice is printed once, at its first reference.
                    Some(Block::Footnote { blocks, .. }) if !used.contains_key(label) => {
                        used.insert(label.clone(), ());
                        let b = self.blocks(blocks, notes, used, part, diags);
                        out.push(json!({ "k": "note", "b": b }));
                    }
                    Some(_) => {}
                    None => diags.push(
                        Diagnostic::warning(
                            "footnote-missing",
                            format!("footnote `{label}` is referenced but not defined; the mark is left out"),
                        )
                        .file(part.source.path.clone())
                        .line(span.line),
                    ),
                },
            }
        }
        out
    }

    /// Plain text → runs: right-to-left text as is, Latin runs marked `ltr` for isolation.
    fn text(&self, text: &str) -> Vec<Value> {
        split_runs(text)
            .into_iter()
            .map(|(ltr, s)| {
                if ltr {
                    json!({ "k": "ltr", "s": s })
                } else {
                    let s = match self.body_digits {
                        Some(d) => convert_digits(&s, d),
                        None => s,
                    };
                    json!({ "k": "t", "s": s })
                }
            })
            .collect()
    }
}

/// Replace every decimal digit (Western, Arabic-Indic or Persian) by the same digit in `to`.
pub fn convert_digits(s: &str, to: Digits) -> String {
    s.chars()
        .map(|c| {
            let d = match c {
                '0'..='9' => c as u32 - '0' as u32,
                '\u{0660}'..='\u{0669}' => c as u32 - 0x0660,
                '\u{06F0}'..='\u{06F9}' => c as u32 - 0x06F0,
                _ => return c,
            };
            to.format(d.into()).chars().next().unwrap_or(c)
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Ltr,
    Rtl,
    Neutral,
}

fn class(word: &str) -> Class {
    // Letters decide; Arabic punctuation (، ؛ ؟) and digits are neutral.
    let rtl = word.chars().any(|c| is_rtl_char(c) && c.is_alphabetic());
    if rtl {
        Class::Rtl
    } else if word.chars().any(is_ltr_char) {
        Class::Ltr
    } else {
        Class::Neutral
    }
}

/// Split text into `(is_ltr, text)` runs. A run of Latin words (with the neutral words between
/// them, and a following `#11`-like word) is one left-to-right run, so `#read("/etc/passwd")` or
/// `PKCS #11` display in their own order; punctuation of the surrounding Arabic sentence and
/// unbalanced brackets stay outside the run.
pub fn split_runs(text: &str) -> Vec<(bool, String)> {
    // Most of a right-to-left book has no left-to-right letter at all: answer that in one scan.
    if !has_ltr_char(text) {
        return if text.is_empty() {
            Vec::new()
        } else {
            vec![(false, text.to_owned())]
        };
    }
    // Tokens: (start, end, is_space).
    let mut tokens: Vec<(usize, usize, bool)> = Vec::new();
    for (i, c) in text.char_indices() {
        let sp = c.is_whitespace();
        match tokens.last_mut() {
            Some(t) if t.2 == sp => t.1 = i + c.len_utf8(),
            _ => tokens.push((i, i + c.len_utf8(), sp)),
        }
    }
    let words: Vec<(usize, usize)> = tokens.iter().filter(|t| !t.2).map(|t| (t.0, t.1)).collect();
    let classes: Vec<Class> = words.iter().map(|w| class(&text[w.0..w.1])).collect();
    // Mark words that belong to an LTR run.
    let mut in_run = vec![false; words.len()];
    for i in 0..words.len() {
        match classes[i] {
            Class::Ltr => in_run[i] = true,
            Class::Neutral => {
                let prev_ltr = i > 0 && in_run[i - 1];
                let next_ltr = classes[i + 1..]
                    .iter()
                    .find(|c| **c != Class::Neutral)
                    .is_some_and(|c| *c == Class::Ltr);
                let ascii_start = text[words[i].0..].starts_with(|c: char| c.is_ascii_graphic());
                in_run[i] = prev_ltr && (next_ltr || ascii_start);
            }
            Class::Rtl => {}
        }
    }
    let mut runs: Vec<(bool, String)> = Vec::new();
    let push = |ltr: bool, s: &str, runs: &mut Vec<(bool, String)>| {
        if s.is_empty() {
            return;
        }
        match runs.last_mut() {
            Some(last) if last.0 == ltr => last.1.push_str(s),
            _ => runs.push((ltr, s.to_owned())),
        }
    };
    let mut pos = 0;
    let mut i = 0;
    while i < words.len() {
        if !in_run[i] {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < words.len() && in_run[j + 1] {
            j += 1;
        }
        let (start, end) = trim_run(text, words[i].0, words[j].1);
        push(false, &text[pos..start], &mut runs);
        push(true, &text[start..end], &mut runs);
        pos = end;
        i = j + 1;
    }
    push(false, &text[pos..], &mut runs);
    runs
}

/// Shrink an LTR run so sentence punctuation and unbalanced brackets or quotes at its ends
/// stay with the surrounding right-to-left text.
fn trim_run(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    const PUNCT: &[char] = &['،', '؛', '؟', '.', ',', ';', ':', '!', '?', '«', '»', '…'];
    loop {
        let s = &text[start..end];
        let count = |c: char| s.chars().filter(|&x| x == c).count();
        let Some(last) = s.chars().next_back() else {
            break;
        };
        // `&amp;` keeps its `;`; elsewhere a final `;` belongs to the Arabic sentence.
        let drop_last = (PUNCT.contains(&last) && !(last == ';' && s.contains('&')))
            || (last == ')' && count(')') > count('('))
            || (last == ']' && count(']') > count('['))
            || (last == '"' && count('"') % 2 == 1)
            || (last == '\'' && count('\'') % 2 == 1);
        if drop_last {
            end -= last.len_utf8();
            continue;
        }
        let first = s.chars().next().unwrap_or(' ');
        let drop_first = PUNCT.contains(&first)
            || (first == '(' && count('(') > count(')'))
            || (first == '[' && count('[') > count(']'))
            || (first == '"' && count('"') % 2 == 1)
            || (first == '\'' && count('\'') % 2 == 1);
        if drop_first {
            start += first.len_utf8();
            continue;
        }
        break;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ltr_runs(s: &str) -> Vec<String> {
        split_runs(s)
            .into_iter()
            .filter(|r| r.0)
            .map(|r| r.1)
            .collect()
    }

    #[test]
    fn latin_runs_are_isolated() {
        assert_eq!(ltr_runs("معيار PKCS #11 في التشفير"), ["PKCS #11"]);
        assert_eq!(
            ltr_runs("جرّب #read(\"/etc/passwd\") هنا"),
            ["#read(\"/etc/passwd\")"]
        );
        assert_eq!(ltr_runs("(انظر Python)، ثم"), ["Python"]);
        assert_eq!(ltr_runs("لغة Rust."), ["Rust"]);
        assert_eq!(ltr_runs("و &amp; و"), ["&amp;"]);
        assert_eq!(ltr_runs("عام 2014 ثم"), Vec::<String>::new());
        // Every character is kept, in order.
        let s = "أ *x* $x$ [a] <b> @x \\ // ب";
        let joined: String = split_runs(s).into_iter().map(|r| r.1).collect();
        assert_eq!(joined, s);
    }

    #[test]
    fn language_tags() {
        let mut d = Vec::new();
        assert_eq!(
            typst_lang("ar-EG", &mut d),
            ("ar".into(), Some("EG".into()))
        );
        assert_eq!(typst_lang("fa", &mut d), ("fa".into(), None));
        assert!(d.is_empty());
        assert_eq!(typst_lang("x", &mut d), ("ar".into(), None));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn lengths() {
        assert_eq!(length_pt("6in"), Some(432.0));
        assert!((length_pt("148mm").unwrap() - 419.53).abs() < 0.01);
        assert_eq!(length_pt("12"), None);
        assert_eq!(length_pt("1mm"), None);
        assert_eq!(length_pt("5furlong"), None);
    }

    #[test]
    fn digits_convert() {
        assert_eq!(convert_digits("عام 2014", Digits::ArabicIndic), "عام ٢٠١٤");
        assert_eq!(convert_digits("٢٠١٤", Digits::Western), "2014");
    }
}
