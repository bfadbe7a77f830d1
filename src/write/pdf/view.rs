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
//! - `parts`: `{label, title, title-plain, blocks}` (the PDF writer moves each part's `blocks`
//!   into its own file and leaves `module`, the path the template imports them from);
//!   `colophon`: `{sources: [{path, number,
//!   sha256}], date, version}`; `sample`: paragraphs for reference renders;
//! - `print` (modes `print` and `spread` only): the print geometry in points — `media`,
//!   `trim` (`{width, height}`), `offset` (media edge to trim), `bleed`, `marks`; for the
//!   interior `inside`, `outside`, `top`, `bottom`, `pad-to`; for the cover `spine`,
//!   `spine-text` (whether it holds text), `spine-dir` (`ttb`/`btt`), `blurb`, `barcode`
//!   (`{bars: [[start, width]…] in modules, digits, text}` or `none`); `volume`: `none` or
//!   the volume's title;
//! - nodes have a kind `k`: inline `t` (text), `ltr` (an isolated Latin run), `emph`, `strong`,
//!   `link` (`url`), `code`, `br`, `note` (`b`: blocks); blocks `p`, `h` (`level`; `toc`: a
//!   section of its part, bookmarked), `quote`, `list` (`start`: `none` for bullets, `items`),
//!   `pre` (code block), `break`. Text is in `s`,
//!   inline children in `c`, block children in `b`.
//! - images: inline `img` and block `figure` with `src` (a path the world serves, under
//!   [`IMAGE_DIR`]), `alt` (`none` when absent), `w` (printed width in points: the text width,
//!   or less so the figure is at most two thirds of the text block high), `lead` (a part's lead
//!   image) and `c` (caption); `figure-numbers` in `strings` says whether figures are numbered;
//! - `table`: `align` (`start`/`center`/`end`/`auto` per column), `head` and `rows` (cells of
//!   inline nodes), `c` (caption), `size` (text scale, below 1 for tables too wide to fit).

use crate::Context;
use crate::bidi;
use crate::diag::Diagnostic;
use crate::model::{Align, Asset, Block, Digits, Dir, ImageRef, Inline, MAX_NESTING, Part};
use serde_json::{Value, json};
use std::cell::Cell;
use std::collections::BTreeMap;

/// The longest text (in characters) the PDF gets where it becomes a PDF string: metadata,
/// headings and part titles (outline entries and structure tags). PDF/A allows 32,767 bytes;
/// 8,000 characters stay below it even at four bytes a character. Longer values are shortened
/// with a `pdf-string-shortened` warning.
pub const MAX_PDF_STRING_CHARS: usize = 8000;

/// The longest run of characters without a space the PDF accepts (`word-too-long`, an error):
/// typst cannot map such a run back to text in an archival PDF, and no language has words
/// this long.
pub const MAX_WORD_CHARS: usize = 10_000;

/// The longest paragraph handed to typst, in bytes: typst's line breaking grows faster than
/// the paragraph, so a longer one is split at spaces into paragraphs of about this size
/// (`paragraph-split`, a warning). No written paragraph comes near it.
pub const MAX_PARAGRAPH_BYTES: usize = 16 * 1024;

/// `s` cut to [`MAX_PDF_STRING_CHARS`] characters (with an ellipsis), if it is longer.
fn shortened(s: &str) -> Option<String> {
    let (cut, _) = s.char_indices().nth(MAX_PDF_STRING_CHARS)?;
    Some(format!("{}…", &s[..cut]))
}

/// The length of the longest run of non-space characters in `s`, if over [`MAX_WORD_CHARS`].
fn overlong_word(s: &str) -> Option<usize> {
    let (mut run, mut longest) = (0usize, 0usize);
    for c in s.chars() {
        if c.is_whitespace() {
            run = 0;
        } else {
            run += 1;
            longest = longest.max(run);
        }
    }
    (longest > MAX_WORD_CHARS).then_some(longest)
}

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
    let page = page_size(ctx, &mut diags);
    let (text_w, text_h) = text_block(&page);
    let conv = Conv {
        body_digits,
        assets: &book.assets,
        text_w,
        text_h,
        dir: Cell::new(book.meta.dir),
        depth: Cell::new(0),
        flattened: Cell::new(None),
    };
    let (lang, region) = typst_lang(book.meta.lang.as_str(), &mut diags);
    let digit_table: Vec<String> = (0..10).map(|d| digits.format(d)).collect();
    let mut parts = Vec::new();
    let mut sources = Vec::new();
    for part in &book.parts {
        conv.dir.set(part.dir);
        let notes = collect_notes(part);
        let mut used = BTreeMap::new();
        let mut blocks = conv.blocks(&part.blocks, &notes, &mut used, part, &mut diags);
        // The part's sections (its top-level headings of the model's level 1) are bookmarks
        // under the part's own; deeper headings and headings in quotes or lists are not.
        for b in &mut blocks {
            if b["k"] == "h" && b["level"] == 1 {
                b["toc"] = json!(true);
            }
        }
        if let Some(line) = conv.flattened.take() {
            diags.push(
                Diagnostic::warning(
                    "nesting-too-deep",
                    format!(
                        "footnotes cited inside footnotes nest more than {MAX_NESTING} levels \
                         deep; the deeper ones are printed in brackets in their parent note"
                    ),
                )
                .file(part.source.path.clone())
                .line(line)
                .hint("cite the notes from the text instead of from each other"),
            );
        }
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
        let title_plain = part.title_text();
        let (title, title_plain) = match shortened(&title_plain) {
            Some(short) => {
                diags.push(shortened_warning(part, 1, "part title"));
                (conv.text(&short), short)
            }
            None => (
                conv.inlines(&part.title, &notes, &mut used, part, &mut diags),
                title_plain,
            ),
        };
        parts.push(json!({
            "label": part.label(style, digits),
            "title": title,
            "title-plain": title_plain,
            "lang": typst_lang(part.lang.as_str(), &mut diags).0,
            "dir": part.dir.as_str(),
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
            "figure": "شكل",
            "table": "جدول",
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
            "figure": "Figure",
            "table": "Table",
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
    // Metadata becomes PDF strings (document info, XMP): shortened to what PDF/A allows.
    let mut meta_string = |key: &str, value: Option<&str>| -> Option<String> {
        let value = value?;
        Some(match shortened(value) {
            Some(short) => {
                diags.push(
                    Diagnostic::warning(
                        "pdf-string-shortened",
                        format!(
                            "the book's {key} is longer than {MAX_PDF_STRING_CHARS} characters; the PDF shows it shortened"
                        ),
                    )
                    .file("publish.toml")
                    .hint(format!("shorten `{key}` (in publish.toml or the parts' front matter)")),
                );
                short
            }
            None => value.to_owned(),
        })
    };
    let meta_title = meta_string("title", Some(&book.meta.title));
    let meta_subtitle = meta_string("subtitle", book.meta.subtitle.as_deref());
    let meta_author = meta_string("author", book.meta.author.as_deref());
    let meta_publisher = meta_string("publisher", book.meta.publisher.as_deref());
    let meta_rights = meta_string("rights", book.meta.rights.as_deref());
    let keywords: Vec<String> = book
        .meta
        .keywords
        .iter()
        .filter_map(|k| meta_string("keywords", Some(k)))
        .collect();
    let view = json!({
        "meta": {
            "title": meta_title,
            "subtitle": meta_subtitle,
            "author": meta_author,
            "lang": lang,
            "region": region,
            "dir": book.meta.dir.as_str(),
            "keywords": keywords,
            "publisher": meta_publisher,
            "rights": meta_rights,
        },
        "fonts": {
            "body": ctx.theme.config.fonts.body,
            "lang": ctx.theme.config.fonts.lang,
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
        "figure-numbers": ctx.config.images.figure_numbers.unwrap_or(false),
    });
    (view, diags)
}

/// Where the world serves the book's images: `/publish/images/<hash>.<ext>`.
pub const IMAGE_DIR: &str = "/publish/images/";

/// Width and height of the text block in points, for the page sizes of [`page_size`] and the
/// margins of the default template (22 + 15 mm across, 20 + 20 mm down).
fn text_block(page: &Value) -> (f64, f64) {
    let (w, h) = match page.get("paper").and_then(Value::as_str) {
        Some("a4") => (595.28, 841.89),
        Some("iso-b5") => (498.9, 708.66),
        Some("us-trade") => (432.0, 648.0),
        Some(_) => (419.53, 595.28),
        None => (
            page.get("width").and_then(Value::as_f64).unwrap_or(419.53),
            page.get("height").and_then(Value::as_f64).unwrap_or(595.28),
        ),
    };
    let mm = 72.0 / 25.4;
    ((w - 37.0 * mm).max(36.0), (h - 40.0 * mm).max(36.0))
}

/// Effective resolution below which print suffers (warned), and below which it is visibly
/// blurred (warned louder).
const PRINT_DPI: f64 = 300.0;
const POOR_DPI: f64 = 150.0;

/// The body text size of the default template, in points (table widths are estimated in it).
const BODY_PT: f64 = 11.0;

/// Average advance of a letter, in em, for Arabic and Latin text faces (Amiri ≈ 0.48, Latin
/// serif faces ≈ 0.5); bold header cells take a tenth more.
const LETTER_EM: f64 = 0.52;

/// A cell's horizontal inset on both sides, in em (the template's `inset: (x: 0.45em)`).
const CELL_INSET_EM: f64 = 0.9;

/// The narrowest a table can be set, in points at the body size: typst wraps cell text at
/// spaces, so each column needs at least its longest word (and its insets). The longest word
/// of a cell is counted in characters, marks and joiners left out.
fn table_min_width(head: &[Vec<Inline>], rows: &[Vec<Vec<Inline>>]) -> f64 {
    let longest = |cell: &[Inline]| -> usize {
        Inline::plain(cell)
            .split_whitespace()
            .map(|w| {
                w.chars()
                    .filter(|c| !crate::bidi::is_mark_or_control(*c))
                    .count()
            })
            .max()
            .unwrap_or(0)
    };
    let columns = head.len().max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut width_em = vec![CELL_INSET_EM; columns];
    for (c, cell) in head.iter().enumerate() {
        width_em[c] = width_em[c].max(CELL_INSET_EM + longest(cell) as f64 * LETTER_EM * 1.1);
    }
    for row in rows {
        for (c, cell) in row.iter().enumerate() {
            width_em[c] = width_em[c].max(CELL_INSET_EM + longest(cell) as f64 * LETTER_EM);
        }
    }
    width_em.iter().sum::<f64>() * BODY_PT
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

fn shortened_warning(part: &Part, line: u32, what: &str) -> Diagnostic {
    Diagnostic::warning(
        "pdf-string-shortened",
        format!(
            "the {what} is longer than {MAX_PDF_STRING_CHARS} characters, more than a PDF/A \
             outline entry holds; the PDF shows it shortened"
        ),
    )
    .file(part.source.path.clone())
    .line(line)
    .hint(format!("shorten the {what}"))
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

struct Conv<'a> {
    body_digits: Option<Digits>,
    assets: &'a BTreeMap<String, Asset>,
    /// Text block width and height in points.
    text_w: f64,
    text_h: f64,
    /// Direction of the block being converted (the part's, or the block's own).
    dir: Cell<Dir>,
    /// Containers open around the node being converted: the data typst gets never nests
    /// deeper than [`MAX_NESTING`], even through chains of notes citing notes.
    depth: Cell<usize>,
    /// The line of the first note flattened for depth in the current part.
    flattened: Cell<Option<u32>>,
}

impl Conv<'_> {
    /// Open a container if the depth allows it; `false` means flatten it into its parent.
    fn enter(&self) -> bool {
        let d = self.depth.get();
        if d >= MAX_NESTING {
            return false;
        }
        self.depth.set(d + 1);
        true
    }

    fn leave(&self) {
        self.depth.set(self.depth.get().saturating_sub(1));
    }

    /// A container's children, nested when the depth allows it and spliced into the parent
    /// otherwise (`wrap` builds the container from its converted children).
    fn nest(
        &self,
        out: &mut Vec<Value>,
        children: impl FnOnce() -> Vec<Value>,
        wrap: impl FnOnce(Vec<Value>) -> Value,
    ) {
        if self.enter() {
            let c = children();
            self.leave();
            out.push(wrap(c));
        } else {
            out.extend(children());
        }
    }
}

/// Plain text of blocks, paragraphs separated by spaces (for a note set in brackets).
fn blocks_plain(blocks: &[Block], out: &mut String) {
    for b in blocks {
        match b {
            Block::Heading { content, .. } | Block::Para { content, .. } => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push_str(&Inline::plain(content));
            }
            Block::Quote { blocks, .. } => blocks_plain(blocks, out),
            Block::List { items, .. } => items.iter().for_each(|i| blocks_plain(i, out)),
            Block::Code { text, .. } => {
                out.push(' ');
                out.push_str(text);
            }
            Block::Verse { lines, .. } => {
                for l in lines {
                    out.push(' ');
                    out.push_str(&Inline::plain(l));
                }
            }
            Block::Table { caption, .. } => out.push_str(&Inline::plain(caption)),
            Block::Figure { caption, .. } => out.push_str(&Inline::plain(caption)),
            Block::Footnote { .. } | Block::Break { .. } => {}
        }
    }
}

type Notes = BTreeMap<String, Block>;
type Used = BTreeMap<String, ()>;

impl Conv<'_> {
    /// The asset of an image and the path the world serves it at.
    fn image(&self, image: &ImageRef) -> Option<(&Asset, String)> {
        let a = self.assets.get(image.asset.as_ref()?)?;
        Some((a, format!("{IMAGE_DIR}{}", a.file_name())))
    }

    fn figure(
        &self,
        image: &ImageRef,
        caption: Value,
        lead: bool,
        part: &Part,
        line: u32,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Value> {
        let (a, src) = self.image(image)?;
        // Scaled to the text width, but never taller than two thirds of the text block.
        let ratio = f64::from(a.width) / f64::from(a.height.max(1));
        let w = self.text_w.min(self.text_h * 2.0 / 3.0 * ratio);
        if a.media_type != "image/svg+xml" {
            let dpi = f64::from(a.width) / (w / 72.0);
            if dpi < PRINT_DPI {
                let poor = dpi < POOR_DPI;
                diags.push(
                    Diagnostic::warning(
                        "image-low-resolution",
                        format!(
                            "image `{}` is printed at {:.0} dpi ({} pixels across {:.0} mm){}",
                            image.src,
                            dpi,
                            a.width,
                            w / 72.0 * 25.4,
                            if poor {
                                ": it will look blurred in print"
                            } else {
                                ", under the 300 dpi printers ask for"
                            }
                        ),
                    )
                    .file(part.source.path.clone())
                    .line(line)
                    .hint(format!(
                        "use an image at least {} pixels wide for the PDF",
                        (w / 72.0 * PRINT_DPI).ceil()
                    )),
                );
            }
        }
        Some(json!({
            "k": "figure",
            "src": src,
            "alt": if image.alt.is_empty() { None } else { Some(&image.alt) },
            "w": (w * 100.0).round() / 100.0,
            "lead": lead,
            "c": caption,
        }))
    }

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
            match b {
                Block::Heading {
                    level,
                    content,
                    span,
                    ..
                } => {
                    let mut v = json!({ "k": "h", "level": level });
                    let outer = self.voice(part, content, &mut v);
                    // A heading becomes an outline entry: a PDF string.
                    let c = match shortened(&Inline::plain(content)) {
                        Some(short) => {
                            diags.push(shortened_warning(part, span.line, "heading"));
                            self.text(&short)
                        }
                        None => self.inlines(content, notes, used, part, diags),
                    };
                    v["c"] = Value::Array(c);
                    self.dir.set(outer);
                    out.push(v);
                }
                Block::Para { content, span } => {
                    let mut attrs = json!({});
                    if bidi::is_vowelled(&Inline::plain(content)) {
                        attrs["vowelled"] = json!(true);
                    }
                    let outer = self.voice(part, content, &mut attrs);
                    let c = self.inlines(content, notes, used, part, diags);
                    self.dir.set(outer);
                    let first = out.len();
                    split_paragraph(c, &mut out, part, span.line, diags);
                    // Each piece of a split paragraph keeps the paragraph's voice.
                    if let Value::Object(attrs) = attrs {
                        for p in &mut out[first..] {
                            for (k, v) in &attrs {
                                p[k] = v.clone();
                            }
                        }
                    }
                }
                Block::Quote { blocks, .. } => self.nest(
                    &mut out,
                    || self.blocks(blocks, notes, used, part, diags),
                    |b| json!({ "k": "quote", "b": b }),
                ),
                Block::List { start, items, .. } => {
                    if self.enter() {
                        let items: Vec<Value> = items
                            .iter()
                            .map(|i| Value::Array(self.blocks(i, notes, used, part, diags)))
                            .collect();
                        self.leave();
                        out.push(json!({
                            "k": "list",
                            // typst numbers are 64-bit signed; a list cannot start beyond that.
                            "start": start.map(|n| n.min(i64::MAX as u64 / 2)),
                            "items": items,
                        }));
                    } else {
                        for i in items {
                            out.extend(self.blocks(i, notes, used, part, diags));
                        }
                    }
                }
                Block::Code { text, span, .. } => {
                    self.check_words(text, part, span.line, diags);
                    out.push(json!({ "k": "pre", "s": text }))
                }
                // Footnotes are typeset where they are referenced.
                Block::Footnote { .. } => continue,
                Block::Verse { lines, .. } => {
                    let all: Vec<Inline> = lines.iter().flatten().cloned().collect();
                    let mut v = json!({ "k": "verse" });
                    if bidi::is_vowelled(&Inline::plain(&all)) {
                        v["vowelled"] = json!(true);
                    }
                    let outer = self.voice(part, &all, &mut v);
                    v["lines"] = lines
                        .iter()
                        .map(|l| Value::Array(self.inlines(l, notes, used, part, diags)))
                        .collect();
                    self.dir.set(outer);
                    out.push(v);
                }
                Block::Break { .. } => out.push(json!({ "k": "break" })),
                Block::Figure {
                    image,
                    caption,
                    attr,
                    span,
                } => {
                    let c = self.inlines(caption, notes, used, part, diags);
                    let lead = attr.classes.iter().any(|c| c == "lead");
                    match self.figure(image, Value::Array(c), lead, part, span.line, diags) {
                        Some(v) => out.push(v),
                        // A refused image (`image-outside`): its description stays, as text.
                        None if !image.alt.is_empty() => {
                            out.push(json!({ "k": "p", "c": self.text(&image.alt) }))
                        }
                        None => {}
                    }
                }
                Block::Table {
                    caption,
                    align,
                    head,
                    rows,
                    span,
                    ..
                } => {
                    // Typst wraps cells at spaces; a table whose longest words alone are
                    // wider than the text is set smaller, down to half size.
                    let need = table_min_width(head, rows);
                    let size = if need > self.text_w {
                        let size = (self.text_w / need).max(0.5);
                        diags.push(
                            Diagnostic::warning(
                                "table-wide",
                                format!(
                                    "table of {} columns needs about {:.0} mm even with its cells wrapped; the text is {:.0} mm wide, so the PDF sets it at {:.0}% of the text size",
                                    align.len(),
                                    need / 72.0 * 25.4,
                                    self.text_w / 72.0 * 25.4,
                                    size * 100.0
                                ),
                            )
                            .file(part.source.path.clone())
                            .line(span.line)
                            .hint("split the table, shorten its longest words, or turn it so that rows become columns"),
                        );
                        size
                    } else {
                        1.0
                    };
                    let mut cells = |row: &[Vec<Inline>]| -> Value {
                        Value::Array(
                            row.iter()
                                .map(|c| Value::Array(self.inlines(c, notes, used, part, diags)))
                                .collect(),
                        )
                    };
                    let head = cells(head);
                    let rows: Vec<Value> = rows.iter().map(|r| cells(r)).collect();
                    out.push(json!({
                        "k": "table",
                        "align": align.iter().map(|a| match a {
                            Align::Default => "auto",
                            Align::Start => "start",
                            Align::Center => "center",
                            Align::End => "end",
                        }).collect::<Vec<_>>(),
                        "head": head,
                        "rows": rows,
                        "size": size,
                        "c": self.inlines(caption, notes, used, part, diags),
                    }));
                }
            }
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
                Inline::Text { text, span } => {
                    self.check_words(text, part, span.line, diags);
                    out.extend(self.text(text))
                }
                Inline::Emph { content, .. } => self.nest(
                    &mut out,
                    || self.inlines(content, notes, used, part, diags),
                    |c| json!({ "k": "emph", "c": c }),
                ),
                Inline::Strong { content, .. } => self.nest(
                    &mut out,
                    || self.inlines(content, notes, used, part, diags),
                    |c| json!({ "k": "strong", "c": c }),
                ),
                Inline::Link { url, content, span } => {
                    if !self.enter() {
                        out.extend(self.inlines(content, notes, used, part, diags));
                        continue;
                    }
                    let c = self.inlines(content, notes, used, part, diags);
                    self.leave();
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
                Inline::Code { text, span } => {
                    self.check_words(text, part, span.line, diags);
                    out.push(json!({ "k": "code", "s": text }))
                }
                Inline::LineBreak { .. } => out.push(json!({ "k": "br" })),
                Inline::Image { image, .. } => match self.image(image) {
                    Some((_, src)) => out.push(json!({
                        "k": "img",
                        "src": src,
                        "alt": if image.alt.is_empty() { None } else { Some(&image.alt) },
                    })),
                    None => out.extend(self.text(&image.alt)),
                },
                Inline::NoteRef { label, span } => match notes.get(label) {
                    // A note referenced twice is printed once, at its first reference.
                    Some(Block::Footnote { blocks, .. }) if !used.contains_key(label) => {
                        used.insert(label.clone(), ());
                        if self.enter() {
                            let b = self.blocks(blocks, notes, used, part, diags);
                            self.leave();
                            out.push(json!({ "k": "note", "b": b }));
                        } else {
                            // Too deep for another note: its text in brackets, where it is cited.
                            if self.flattened.get().is_none() {
                                self.flattened.set(Some(span.line));
                            }
                            let mut text = String::new();
                            blocks_plain(blocks, &mut text);
                            out.extend(self.text(&format!(" ({})", text.trim())));
                        }
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

    /// An error for a run of text without spaces longer than [`MAX_WORD_CHARS`].
    fn check_words(&self, text: &str, part: &Part, line: u32, diags: &mut Vec<Diagnostic>) {
        if text.len() <= MAX_WORD_CHARS {
            return;
        }
        if let Some(n) = overlong_word(text) {
            diags.push(
                Diagnostic::error(
                    "word-too-long",
                    format!(
                        "a word of {n} characters without a space; the PDF accepts at most {MAX_WORD_CHARS}"
                    ),
                )
                .file(part.source.path.clone())
                .line(line)
                .hint("break the text with spaces or line breaks (a pasted blob? an encoded file?)"),
            );
        }
    }

    /// Plain text → runs: text as is for the bidi algorithm, the Latin runs it would misread
    /// marked `ltr` for isolation ([`bidi::isolates`]); digits converted to the body digits
    /// only in right-to-left text outside Latin runs (`Firefox 3` keeps its 3).
    fn text(&self, text: &str) -> Vec<Value> {
        let dir = self.dir.get();
        let digits = self.body_digits.filter(|_| dir == Dir::Rtl);
        let mut out = Vec::new();
        let mut push = |s: &str, k: &str, convert: bool| {
            if s.is_empty() {
                return;
            }
            let s = match digits {
                Some(d) if convert => convert_digits(s, d),
                _ => s.to_owned(),
            };
            match out.last_mut() {
                Some(Value::Object(m)) if m["k"] == "t" && k == "t" => {
                    let joined = format!("{}{s}", m["s"].as_str().unwrap_or(""));
                    m.insert("s".into(), Value::String(joined));
                }
                _ => out.push(json!({ "k": k, "s": s })),
            }
        };
        // In a right-to-left block every Latin run is set as one left-to-right embedding
        // with LRMs at its ends. Runs the UBA would misread ([`bidi::isolates`]) need it for
        // their order; the others are ordered the same with or without it (the corpus test
        // checks the visual order of every case), and it lets text extraction (poppler's
        // reading order, copy and paste) recover the run whole instead of moving `[`, `*` or
        // `#` across it.
        let isolated = bidi::isolates(text, dir);
        let mut pos = 0;
        for r in bidi::latin_runs(text) {
            push(&text[pos..r.start], "t", true);
            let k = if dir == Dir::Rtl || isolated.contains(&r) {
                "ltr"
            } else {
                "t"
            };
            push(&text[r.clone()], k, false);
            pos = r.end;
        }
        push(&text[pos..], "t", true);
        out
    }

    /// The block's own `lang`/`dir` when they differ from the part's
    /// ([`bidi::block_voice`]), set for the conversion of its content.
    fn voice(&self, part: &Part, content: &[Inline], v: &mut Value) -> Dir {
        let outer = self.dir.get();
        if let Some((lang, dir)) = bidi::block_voice(&Inline::plain(content), &part.lang) {
            v["lang"] = json!(lang.as_str().split(['-', '_']).next().unwrap_or("und"));
            v["dir"] = json!(dir.as_str());
            self.dir.set(dir);
        }
        outer
    }
}

/// A paragraph's inline nodes as one `p`, or, when they hold more than
/// [`MAX_PARAGRAPH_BYTES`] of text, as several split at spaces of top-level text runs.
fn split_paragraph(
    c: Vec<Value>,
    out: &mut Vec<Value>,
    part: &Part,
    line: u32,
    diags: &mut Vec<Diagnostic>,
) {
    fn size(v: &Value) -> usize {
        // Only top-level runs are measured and split; nested nodes count by their JSON size
        // bound, which is the depth-capped model's own text.
        match v.get("s").and_then(Value::as_str) {
            Some(s) => s.len(),
            None => v.to_string().len(),
        }
    }
    let total: usize = c.iter().map(size).sum();
    if total <= MAX_PARAGRAPH_BYTES {
        out.push(json!({ "k": "p", "c": c }));
        return;
    }
    diags.push(
        Diagnostic::warning(
            "paragraph-split",
            format!(
                "a paragraph of {total} bytes is split at spaces into paragraphs of at most \
                 {MAX_PARAGRAPH_BYTES} bytes in the PDF"
            ),
        )
        .file(part.source.path.clone())
        .line(line)
        .hint("break the text into paragraphs with blank lines"),
    );
    let mut current: Vec<Value> = Vec::new();
    let mut filled = 0usize;
    let flush = |current: &mut Vec<Value>, filled: &mut usize, out: &mut Vec<Value>| {
        if !current.is_empty() {
            out.push(json!({ "k": "p", "c": std::mem::take(current) }));
        }
        *filled = 0;
    };
    for v in c {
        let kind = v.get("k").and_then(Value::as_str).unwrap_or("").to_owned();
        let text = v.get("s").and_then(Value::as_str).map(str::to_owned);
        match text {
            Some(mut s)
                if (kind == "t" || kind == "ltr") && filled + s.len() > MAX_PARAGRAPH_BYTES =>
            {
                // Cut the run at the last space that fits; the space itself becomes the
                // paragraph break.
                while filled + s.len() > MAX_PARAGRAPH_BYTES {
                    let room = MAX_PARAGRAPH_BYTES.saturating_sub(filled);
                    let mut at = room.min(s.len());
                    while !s.is_char_boundary(at) {
                        at -= 1;
                    }
                    match s[..at].rfind(char::is_whitespace) {
                        Some(sp) => {
                            let rest = s[sp..].trim_start().to_owned();
                            s.truncate(sp);
                            if !s.is_empty() {
                                current.push(json!({ "k": kind, "s": s }));
                            }
                            flush(&mut current, &mut filled, out);
                            s = rest;
                        }
                        // No space in reach: start a new paragraph, or take the run whole.
                        None if filled > 0 => flush(&mut current, &mut filled, out),
                        None => break,
                    }
                }
                filled += s.len();
                if !s.is_empty() {
                    current.push(json!({ "k": kind, "s": s }));
                }
            }
            _ => {
                filled += size(&v);
                current.push(v);
            }
        }
    }
    flush(&mut current, &mut filled, out);
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

#[cfg(test)]
mod tests {
    use super::*;

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
