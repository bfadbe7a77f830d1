//! Model blocks and inlines → XHTML: the one place that turns content into markup, shared by
//! the HTML site and the EPUB. Every piece of source text goes through [`escape`]; no element,
//! attribute or URL scheme ever comes from source text.

use crate::bidi;
use crate::diag::Diagnostic;
use crate::model::{Align, Block, Digits, Dir, ImageRef, Inline, Part, Row};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Which document type the markup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// HTML5 pages of the site.
    Html,
    /// XHTML content documents of an EPUB 3 (adds `epub:type`).
    Epub,
}

/// How to render a part's body.
#[derive(Debug, Clone)]
pub struct Options {
    /// HTML or EPUB.
    pub flavor: Flavor,
    /// Digits of generated numbers (footnote marks, list numbers).
    pub digits: Digits,
    /// Added to model heading levels (1 → h2 with offset 1).
    pub heading_offset: u8,
    /// Prefix for generated ids, so several parts can share one page.
    pub id_prefix: String,
    /// Where each asset of the book is in this output, by asset id.
    pub images: std::sync::Arc<ImageFiles>,
}

/// An image file as one output serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Relative URL from a content document (`images/0123abcd.png`).
    pub href: String,
    /// Width in CSS pixels, for the `width` attribute (no layout shift while loading).
    pub width: u32,
    /// Height in CSS pixels.
    pub height: u32,
}

/// Asset id → the file an output serves it as.
pub type ImageFiles = BTreeMap<String, ImageFile>;

/// The asset files of a book under `images/`, each with its own name and size; the HTML writer
/// swaps in smaller versions of large photos.
pub fn image_files(book: &crate::model::Book) -> ImageFiles {
    book.assets
        .values()
        .map(|a| {
            (
                a.id.clone(),
                ImageFile {
                    href: format!("images/{}", a.file_name()),
                    width: a.width,
                    height: a.height,
                },
            )
        })
        .collect()
}

/// A paragraph anchor, for the search index and links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// Element id on the page.
    pub id: String,
    /// Plain text of the block.
    pub text: String,
}

/// A section of a part for the contents: a heading of the model's level 1 among the part's
/// top-level blocks (a `##` under the part's `#` title in Markdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Element id of the heading on the page (deterministic: the renderer's counter, with the
    /// page's prefix, so unique within the page).
    pub id: String,
    /// Plain text of the heading (notes dropped).
    pub text: String,
    /// ` dir="…" lang="…"` when the heading is in another language than its part, else empty:
    /// already escaped, for an element of the contents.
    pub voice: String,
}

/// A rendered part body.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The blocks as markup, footnotes at the end.
    pub html: String,
    /// Anchors of paragraphs and headings, in order.
    pub anchors: Vec<Anchor>,
    /// The part's sections, in order, for the contents.
    pub sections: Vec<Section>,
    /// What could not be rendered as written.
    pub diagnostics: Vec<Diagnostic>,
}

/// Escape text for element content and attribute values (`&`, `<`, `>`, `"`, `'`), and drop
/// characters XML forbids (reported by [`forbidden_chars`]).
pub fn escape(s: &str) -> String {
    let clean: std::borrow::Cow<'_, str> = if s.chars().any(is_forbidden) {
        s.chars()
            .filter(|c| !is_forbidden(*c))
            .collect::<String>()
            .into()
    } else {
        s.into()
    };
    quick_xml::escape::escape(clean.as_ref()).into_owned()
}

/// Characters that may not appear in XML 1.0 documents (or are discouraged non-characters).
pub fn is_forbidden(c: char) -> bool {
    let u = c as u32;
    (u < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
        || (0x7F..=0x9F).contains(&u)
        || (0xFDD0..=0xFDEF).contains(&u)
        || (u & 0xFFFE) == 0xFFFE
}

/// Does `url` start with a scheme (`https:`, `mailto:`), i.e. is it not a relative reference?
fn has_scheme(url: &str) -> bool {
    url.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// Percent-encode the ASCII characters a URL may not contain (space, `"`, `<`, `>`, `\\`, `^`,
/// `` ` ``, `{`, `|`, `}`, controls, a `#` after the fragment's, a `%` not starting an escape,
/// and `[`/`]` outside the host), so the link is a valid URL with the same meaning. Non-ASCII
/// characters are kept: they are valid in URLs as written in (X)HTML.
pub fn encode_url(url: &str) -> String {
    // `[` and `]` are allowed only in the host (IPv6 literals): `scheme://[::1]/`.
    let host = url.find("://").map(|i| {
        let start = i + 3;
        let end = url[start..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |j| start + j);
        start..end
    });
    let bytes = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    let mut seen_hash = false;
    for (i, c) in url.char_indices() {
        let in_host = host.as_ref().is_some_and(|h| h.contains(&i));
        let encode = match c {
            ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' => true,
            '[' | ']' => !in_host,
            '#' => std::mem::replace(&mut seen_hash, true),
            '%' => {
                !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            }
            c => c.is_ascii_control(),
        };
        if encode {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The forbidden characters in `s`, each once, for diagnostics.
pub fn forbidden_chars(s: &str) -> Vec<char> {
    let mut out: Vec<char> = s.chars().filter(|c| is_forbidden(*c)).collect();
    out.sort();
    out.dedup();
    out
}

/// Render text set in a block of direction `dir`, isolating in `<bdi dir="ltr">` only the
/// Latin runs the bidi algorithm alone would misread ([`bidi::isolates`]).
pub fn text_with_isolates(text: &str, dir: Dir, out: &mut String) {
    let mut pos = 0;
    for r in bidi::isolates(text, dir) {
        out.push_str(&escape(&text[pos..r.start]));
        out.push_str("<bdi dir=\"ltr\">");
        out.push_str(&escape(&text[r.clone()]));
        out.push_str("</bdi>");
        pos = r.end;
    }
    out.push_str(&escape(&text[pos..]));
}

/// The ` dir="…" lang="…"` attributes of a block whose language or direction differs from
/// its part's ([`bidi::block_voice`]), and the direction its text is set in.
fn voice_attrs(part: &Part, content: &[Inline], flavor: Flavor) -> (String, Dir) {
    match bidi::block_voice(&Inline::plain(content), &part.lang) {
        Some((lang, dir)) => {
            let l = escape(lang.as_str());
            let xml = if flavor == Flavor::Epub {
                format!(" xml:lang=\"{l}\"")
            } else {
                String::new()
            };
            (format!(" dir=\"{}\" lang=\"{l}\"{xml}", dir.as_str()), dir)
        }
        None => (String::new(), part.dir),
    }
}

struct Renderer<'a> {
    part: &'a Part,
    opts: &'a Options,
    /// Direction of the block being rendered.
    dir: Dir,
    /// Footnote label → number, in order of first reference.
    note_numbers: BTreeMap<String, usize>,
    note_order: Vec<String>,
    notes: BTreeMap<String, &'a [Block]>,
    anchors: Vec<Anchor>,
    diagnostics: Vec<Diagnostic>,
    counter: usize,
}

/// Render the body of `part` (its blocks, then its footnotes).
pub fn part_body(part: &Part, opts: &Options) -> Body {
    let mut r = Renderer::new(part, opts);
    collect_notes(&part.blocks, &mut r.notes);
    let mut html = String::new();
    let mut sections = Vec::new();
    for b in &part.blocks {
        r.block(b, &mut html);
        if let Block::Heading {
            level: 1, content, ..
        } = b
            && let Some(a) = r.anchors.last()
        {
            sections.push(Section {
                id: a.id.clone(),
                text: a.text.clone(),
                voice: voice_attrs(part, content, opts.flavor).0,
            });
        }
    }
    r.footnotes(&mut html);
    let forbidden = forbidden_chars_in(part);
    if !forbidden.is_empty() {
        let list: Vec<String> = forbidden
            .iter()
            .map(|c| format!("U+{:04X}", *c as u32))
            .collect();
        r.diagnostics.push(
            Diagnostic::warning(
                "forbidden-char",
                format!(
                    "characters not allowed in HTML/XML were left out: {}",
                    list.join(", ")
                ),
            )
            .file(part.source.path.clone())
            .hint("remove these control characters from the source"),
        );
    }
    Body {
        html,
        anchors: r.anchors,
        sections,
        diagnostics: r.diagnostics,
    }
}

/// Render inline content (e.g. a part title) to markup.
pub fn inlines(part: &Part, content: &[Inline], opts: &Options) -> String {
    let mut r = Renderer::new(part, opts);
    let mut out = String::new();
    r.inlines(content, &mut out, false);
    out
}

fn forbidden_chars_in(part: &Part) -> Vec<char> {
    fn walk_inlines(is: &[Inline], out: &mut Vec<char>) {
        for i in is {
            match i {
                Inline::Text { text, .. } | Inline::Code { text, .. } => {
                    out.extend(forbidden_chars(text))
                }
                Inline::Emph { content, .. }
                | Inline::Strong { content, .. }
                | Inline::Link { content, .. } => walk_inlines(content, out),
                Inline::Image { image, .. } => out.extend(forbidden_chars(&image.alt)),
                Inline::NoteRef { .. } | Inline::LineBreak { .. } => {}
            }
        }
    }
    fn walk(bs: &[Block], out: &mut Vec<char>) {
        for b in bs {
            match b {
                Block::Heading { content, .. } | Block::Para { content, .. } => {
                    walk_inlines(content, out)
                }
                Block::Quote { blocks, .. } | Block::Footnote { blocks, .. } => walk(blocks, out),
                Block::Verse { lines, .. } => lines.iter().for_each(|l| walk_inlines(l, out)),
                Block::List { items, .. } => items.iter().for_each(|i| walk(i, out)),
                Block::Code { text, .. } => out.extend(forbidden_chars(text)),
                Block::Break { .. } => {}
                Block::Figure { image, caption, .. } => {
                    out.extend(forbidden_chars(&image.alt));
                    walk_inlines(caption, out);
                }
                Block::Table {
                    caption,
                    head,
                    rows,
                    ..
                } => {
                    walk_inlines(caption, out);
                    head.iter()
                        .chain(rows.iter().flatten())
                        .for_each(|c| walk_inlines(c, out));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk_inlines(&part.title, &mut out);
    walk(&part.blocks, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect_notes<'a>(blocks: &'a [Block], notes: &mut BTreeMap<String, &'a [Block]>) {
    for b in blocks {
        match b {
            Block::Footnote { label, blocks, .. } => {
                notes.entry(label.clone()).or_insert(blocks);
            }
            Block::Quote { blocks, .. } => collect_notes(blocks, notes),
            Block::List { items, .. } => items.iter().for_each(|i| collect_notes(i, notes)),
            _ => {}
        }
    }
}

impl<'a> Renderer<'a> {
    fn new(part: &'a Part, opts: &'a Options) -> Self {
        Renderer {
            part,
            opts,
            dir: part.dir,
            note_numbers: BTreeMap::new(),
            note_order: Vec::new(),
            notes: BTreeMap::new(),
            anchors: Vec::new(),
            diagnostics: Vec::new(),
            counter: 0,
        }
    }
}

impl Renderer<'_> {
    /// Run `f` with the block direction set to `dir`.
    fn voiced(&mut self, dir: Dir, f: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(&mut self.dir, dir);
        f(self);
        self.dir = outer;
    }

    fn id(&mut self, kind: &str) -> String {
        self.counter += 1;
        format!("{}{kind}{}", self.opts.id_prefix, self.counter)
    }

    fn warn(&mut self, code: &'static str, line: u32, msg: String) {
        self.diagnostics.push(
            Diagnostic::warning(code, msg)
                .file(self.part.source.path.clone())
                .line(line),
        );
    }

    fn block(&mut self, b: &Block, out: &mut String) {
        match b {
            Block::Heading { level, content, .. } => {
                let h = (level + self.opts.heading_offset).clamp(1, 6);
                let id = self.id("h");
                let (attrs, dir) = voice_attrs(self.part, content, self.opts.flavor);
                let _ = write!(out, "<h{h} id=\"{id}\"{attrs}>");
                self.voiced(dir, |r| r.inlines(content, out, true));
                let _ = writeln!(out, "</h{h}>");
                self.anchors.push(Anchor {
                    id,
                    text: Inline::plain(content),
                });
            }
            Block::Para { content, .. } => {
                let id = self.id("p");
                let (attrs, dir) = voice_attrs(self.part, content, self.opts.flavor);
                let class = if bidi::is_vowelled(&Inline::plain(content)) {
                    " class=\"vowelled\""
                } else {
                    ""
                };
                let _ = write!(out, "<p id=\"{id}\"{class}{attrs}>");
                self.voiced(dir, |r| r.inlines(content, out, true));
                out.push_str("</p>\n");
                self.anchors.push(Anchor {
                    id,
                    text: Inline::plain(content),
                });
            }
            Block::Quote { blocks, .. } => {
                out.push_str("<blockquote>\n");
                for b in blocks {
                    self.block(b, out);
                }
                out.push_str("</blockquote>\n");
            }
            Block::List { start, items, .. } => {
                match start {
                    Some(n) => {
                        let style = match self.opts.digits {
                            Digits::ArabicIndic => "arabic-indic",
                            Digits::Persian => "persian",
                            Digits::Western => "decimal",
                        };
                        let _ = write!(out, "<ol class=\"{style}\"");
                        if *n != 1 {
                            let _ = write!(out, " start=\"{n}\"");
                            // The EPUB numbers items with a CSS counter (epub.css: «١-», not
                            // «١.», in reading systems without @counter-style); it starts here.
                            if self.opts.flavor == Flavor::Epub {
                                let _ = write!(
                                    out,
                                    " style=\"counter-reset: list-number {}\"",
                                    i128::from(*n) - 1
                                );
                            }
                        }
                        out.push_str(">\n");
                    }
                    None => out.push_str("<ul>\n"),
                }
                for item in items {
                    // A tight item of one paragraph renders without <p>. In the HTML site it
                    // gets an id and an anchor, so search can link to it (issue 5).
                    match item.as_slice() {
                        [Block::Para { content, .. }] if self.opts.flavor == Flavor::Html => {
                            let id = self.id("p");
                            let (attrs, dir) = voice_attrs(self.part, content, self.opts.flavor);
                            let _ = write!(out, "<li id=\"{id}\"{attrs}>");
                            self.voiced(dir, |r| r.inlines(content, out, true));
                            self.anchors.push(Anchor {
                                id,
                                text: Inline::plain(content),
                            });
                        }
                        [Block::Para { content, .. }] => {
                            let (attrs, dir) = voice_attrs(self.part, content, self.opts.flavor);
                            let _ = write!(out, "<li{attrs}>");
                            self.voiced(dir, |r| r.inlines(content, out, true));
                        }
                        blocks => {
                            out.push_str("<li>\n");
                            for b in blocks {
                                self.block(b, out);
                            }
                        }
                    }
                    out.push_str("</li>\n");
                }
                out.push_str(if start.is_some() {
                    "</ol>\n"
                } else {
                    "</ul>\n"
                });
            }
            Block::Code { text, .. } => {
                out.push_str("<pre dir=\"ltr\"><code>");
                out.push_str(&escape(text));
                out.push_str("</code></pre>\n");
            }
            Block::Verse { lines, .. } => {
                let all: Vec<Inline> = lines.iter().flatten().cloned().collect();
                let (attrs, dir) = voice_attrs(self.part, &all, self.opts.flavor);
                // An even number of lines is couplets: the theme may set each pair side by side.
                let mut class = String::from("verse");
                if lines.len() % 2 == 0 {
                    class.push_str(" couplets");
                }
                if bidi::is_vowelled(&Inline::plain(&all)) {
                    class.push_str(" vowelled");
                }
                let id = self.id("p");
                let _ = writeln!(out, "<div class=\"{class}\" id=\"{id}\"{attrs}>");
                for line in lines {
                    out.push_str("<p class=\"line\">");
                    self.voiced(dir, |r| r.inlines(line, out, true));
                    out.push_str("</p>\n");
                }
                out.push_str("</div>\n");
                let text: Vec<String> = lines.iter().map(|l| Inline::plain(l)).collect();
                self.anchors.push(Anchor {
                    id,
                    text: text.join(" / "),
                });
            }
            Block::Footnote { .. } => {} // rendered at the end, in reference order
            Block::Break { .. } => out.push_str("<hr/>\n"),
            Block::Figure {
                image,
                caption,
                attr,
                ..
            } => {
                let lead = attr.classes.iter().any(|c| c == "lead");
                if image.asset.is_none() {
                    // A refused image (`image-outside`): its description stays, as text.
                    if !image.alt.is_empty() {
                        out.push_str("<p>");
                        text_with_isolates(&image.alt, self.dir, out);
                        out.push_str("</p>\n");
                    }
                    return;
                }
                out.push_str(if lead {
                    "<figure class=\"lead\">"
                } else {
                    "<figure>"
                });
                self.img(image, false, out);
                if !caption.is_empty() {
                    out.push_str("<figcaption>");
                    self.inlines(caption, out, true);
                    out.push_str("</figcaption>");
                }
                out.push_str("</figure>\n");
            }
            Block::Table {
                caption,
                align,
                head,
                rows,
                ..
            } => self.table(caption, align, head, rows, out),
        }
    }

    /// `<img>` for an image the book holds; an image without a file (refused, which stops the
    /// build before writers run) shows its description.
    fn img(&mut self, image: &ImageRef, inline: bool, out: &mut String) {
        let file = image.asset.as_ref().and_then(|a| self.opts.images.get(a));
        let Some(file) = file else {
            text_with_isolates(&image.alt, self.dir, out);
            return;
        };
        let _ = write!(
            out,
            "<img src=\"{}\" alt=\"{}\" width=\"{}\" height=\"{}\"",
            escape(&file.href),
            escape(&image.alt),
            file.width,
            file.height
        );
        if !image.title.is_empty() {
            let _ = write!(out, " title=\"{}\"", escape(&image.title));
        }
        if inline {
            out.push_str(" class=\"inline\"");
        }
        if self.opts.flavor == Flavor::Html {
            out.push_str(" loading=\"lazy\" decoding=\"async\"");
        }
        out.push_str("/>");
    }

    /// A table in its own scrolling box, so a wide table never makes the page scroll sideways.
    fn table(
        &mut self,
        caption: &[Inline],
        align: &[Align],
        head: &Row,
        rows: &[Row],
        out: &mut String,
    ) {
        // The box is focusable so keyboard users can scroll it (axe: scrollable-region-focusable).
        out.push_str("<div class=\"table-box\" tabindex=\"0\">\n<table>\n");
        if !caption.is_empty() {
            out.push_str("<caption>");
            self.inlines(caption, out, true);
            out.push_str("</caption>\n");
        }
        let class = |i: usize| match align.get(i).copied().unwrap_or_default() {
            Align::Default => "",
            Align::Start => " class=\"al-start\"",
            Align::Center => " class=\"al-center\"",
            Align::End => " class=\"al-end\"",
        };
        if head.iter().any(|c| !c.is_empty()) {
            out.push_str("<thead>\n<tr>");
            for (i, cell) in head.iter().enumerate() {
                let _ = write!(out, "<th scope=\"col\"{}>", class(i));
                self.inlines(cell, out, true);
                out.push_str("</th>");
            }
            out.push_str("</tr>\n</thead>\n");
        }
        out.push_str("<tbody>\n");
        for row in rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let _ = write!(out, "<td{}>", class(i));
                self.inlines(cell, out, true);
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
    }

    fn inlines(&mut self, content: &[Inline], out: &mut String, notes: bool) {
        for i in content {
            match i {
                Inline::Text { text, .. } => text_with_isolates(text, self.dir, out),
                Inline::Emph { content, .. } => {
                    out.push_str("<em>");
                    self.inlines(content, out, notes);
                    out.push_str("</em>");
                }
                Inline::Strong { content, .. } => {
                    out.push_str("<strong>");
                    self.inlines(content, out, notes);
                    out.push_str("</strong>");
                }
                Inline::Link { url, content, span } => {
                    // Inside an EPUB a relative link points into the package, where the
                    // source's pages (e.g. `part-1.html`) do not exist (EPUBCheck RSC-007).
                    if self.opts.flavor == Flavor::Epub && !has_scheme(url) {
                        self.warn(
                            "epub-relative-link",
                            span.line,
                            format!("relative link `{url}` left out of the EPUB, which has no such file; its text is kept"),
                        );
                        self.inlines(content, out, notes);
                    } else if crate::read::markdown::safe_url(url) {
                        // EPUBCheck (RSC-020) and the Nu checker reject hrefs that are not
                        // valid URLs.
                        let href = encode_url(url);
                        let _ = write!(out, "<a href=\"{}\">", escape(&href));
                        self.inlines(content, out, notes);
                        out.push_str("</a>");
                    } else {
                        self.warn(
                            "unsafe-link",
                            span.line,
                            format!("link to `{url}` removed; its text is kept"),
                        );
                        self.inlines(content, out, notes);
                    }
                }
                Inline::Code { text, .. } => {
                    out.push_str("<code dir=\"ltr\">");
                    out.push_str(&escape(text));
                    out.push_str("</code>");
                }
                Inline::LineBreak { .. } => out.push_str("<br/>"),
                Inline::Image { image, .. } => self.img(image, true, out),
                Inline::NoteRef { label, span } => {
                    if !notes {
                        continue;
                    }
                    if !self.notes.contains_key(label) {
                        self.warn(
                            "footnote-missing",
                            span.line,
                            format!("footnote `[^{label}]` is referenced but never defined; the reference is shown as text"),
                        );
                        let _ = write!(out, "[^{}]", escape(label));
                        continue;
                    }
                    let next = self.note_numbers.len() + 1;
                    let n = *self.note_numbers.entry(label.clone()).or_insert_with(|| {
                        self.note_order.push(label.clone());
                        next
                    });
                    let p = &self.opts.id_prefix;
                    let epub = if self.opts.flavor == Flavor::Epub {
                        " epub:type=\"noteref\""
                    } else {
                        ""
                    };
                    // Only the first reference gets the id the backlink points to.
                    let id = if n == next {
                        format!(" id=\"{p}fnref{n}\"")
                    } else {
                        String::new()
                    };
                    let _ = write!(
                        out,
                        "<a class=\"noteref\" href=\"#{p}fn{n}\"{id} role=\"doc-noteref\"{epub}>{}</a>",
                        self.opts.digits.format(n as u64)
                    );
                }
            }
        }
    }

    fn footnotes(&mut self, out: &mut String) {
        // Notes never referenced are still printed (after the others), with a warning.
        let unreferenced: Vec<String> = self
            .notes
            .keys()
            .filter(|l| !self.note_numbers.contains_key(*l))
            .cloned()
            .collect();
        // One walk for every note's line, and a set to look labels up: per-note scans made
        // 10,000 notes quadratic (issue 17).
        let mut lines = BTreeMap::new();
        note_lines(&self.part.blocks, &mut lines);
        let unreferenced_set: std::collections::BTreeSet<&str> =
            unreferenced.iter().map(String::as_str).collect();
        for label in &unreferenced {
            let line = lines.get(label.as_str()).copied().unwrap_or(0);
            self.warn(
                "footnote-unused",
                line,
                format!("footnote `[^{label}]` is defined but never referenced; it is printed after the others"),
            );
            let n = self.note_numbers.len() + 1;
            self.note_numbers.insert(label.clone(), n);
            self.note_order.push(label.clone());
        }
        if self.note_order.is_empty() {
            return;
        }
        let epub = self.opts.flavor == Flavor::Epub;
        if epub {
            out.push_str("<section class=\"footnotes\">\n<hr/>\n");
        } else {
            // HTML: a section needs a heading (the Nu checker warns otherwise, issue 5), one
            // level below the part's headings so the outline stays in order.
            // With an id prefix (the whole-book page, where every part has its notes and its
            // heading is `{prefix}title`), the section is also named by its part's heading: a
            // page's landmarks need names that tell them apart (axe-core: landmark-unique).
            let p = &self.opts.id_prefix;
            let h = (self.opts.heading_offset + 1).clamp(1, 6);
            let part_heading = if p.is_empty() {
                String::new()
            } else {
                format!(" {p}title")
            };
            let _ = writeln!(
                out,
                "<section class=\"footnotes\" aria-labelledby=\"{p}footnotes{part_heading}\">\n<hr/>\n<h{h} id=\"{p}footnotes\" class=\"footnotes-heading\">{}</h{h}>",
                notes_heading(self.part.lang.as_str())
            );
        }
        let order = std::mem::take(&mut self.note_order);
        for label in &order {
            let n = self.note_numbers[label];
            let p = self.opts.id_prefix.clone();
            let num = self.opts.digits.format(n as u64);
            let et = if epub { " epub:type=\"footnote\"" } else { "" };
            let _ = writeln!(
                out,
                "<aside id=\"{p}fn{n}\" class=\"footnote\" role=\"doc-footnote\"{et}>"
            );
            let blocks: &[Block] = self.notes.get(label).copied().unwrap_or(&[]);
            let backlink = if unreferenced_set.contains(label.as_str()) {
                format!("<span class=\"note-number\">{num}</span> ")
            } else {
                format!(
                    "<a class=\"note-number\" href=\"#{p}fnref{n}\" role=\"doc-backlink\">{num}</a> "
                )
            };
            match blocks {
                [Block::Para { content, .. }, rest @ ..] => {
                    let id = self.id("p");
                    let (attrs, dir) = voice_attrs(self.part, content, self.opts.flavor);
                    let _ = write!(out, "<p id=\"{id}\"{attrs}>{backlink}");
                    self.voiced(dir, |r| r.inlines(content, out, false));
                    out.push_str("</p>\n");
                    if !epub {
                        // Footnotes are searchable in the site (issue 5).
                        self.anchors.push(Anchor {
                            id,
                            text: Inline::plain(content),
                        });
                    }
                    for b in rest {
                        self.block(b, out);
                    }
                }
                blocks => {
                    out.push_str(&backlink);
                    for b in blocks {
                        self.block(b, out);
                    }
                }
            }
            out.push_str("</aside>\n");
        }
        out.push_str("</section>\n");
    }
}

/// The heading of the footnotes section in the part's language.
fn notes_heading(lang: &str) -> &'static str {
    match lang.split(['-', '_']).next().unwrap_or("") {
        "ar" => "الحواشي",
        "fa" => "پانوشت‌ها",
        "ur" => "حواشی",
        _ => "Notes",
    }
}

/// The line of every footnote definition (the first, for a label defined twice).
fn note_lines<'a>(blocks: &'a [Block], out: &mut BTreeMap<&'a str, u32>) {
    for b in blocks {
        match b {
            Block::Footnote { label, span, .. } => {
                out.entry(label.as_str()).or_insert(span.line);
            }
            // Depth is bounded by the model's nesting cap.
            Block::Quote { blocks, .. } => note_lines(blocks, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_percent_encoded_only_where_invalid() {
        for (input, want) in [
            (
                "https://example.org/?a=1&b=<2>",
                "https://example.org/?a=1&b=%3C2%3E",
            ),
            (
                "https://example.org/a b/\"q\"#f#g",
                "https://example.org/a%20b/%22q%22#f%23g",
            ),
            ("https://[::1]:8080/x[1]", "https://[::1]:8080/x%5B1%5D"),
            (
                "https://example.org/%D8%A7%zz",
                "https://example.org/%D8%A7%25zz",
            ),
            (
                "https://ar.wikipedia.org/wiki/بغداد",
                "https://ar.wikipedia.org/wiki/بغداد",
            ),
            (
                "mailto:a@example.org?subject=x{y}",
                "mailto:a@example.org?subject=x%7By%7D",
            ),
        ] {
            assert_eq!(encode_url(input), want, "{input}");
        }
    }

    #[test]
    fn relative_urls_have_no_scheme() {
        assert!(has_scheme("https://example.org/a:b"));
        assert!(has_scheme("mailto:a@example.org"));
        assert!(!has_scheme("part-1.html"));
        assert!(!has_scheme("../a:b"));
        assert!(!has_scheme("#note"));
        assert!(!has_scheme("فصل:١"));
    }

    #[test]
    fn escape_hostile_strings() {
        for (input, want) in [
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("&amp;", "&amp;amp;"),
            ("]]>", "]]&gt;"),
            ("\"'", "&quot;&apos;"),
            ("a\0b\u{1}c\u{FFFE}", "abc"),
            ("#[$*_\\", "#[$*_\\"),
        ] {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }
}
