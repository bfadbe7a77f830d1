//! The shared document model: one `Book` that every reader produces and every writer consumes.
//!
//! Modelled on pandoc's AST: a small, closed set of block and inline kinds, each carrying the
//! byte range it came from so diagnostics can point at `file:line`. The file a span refers to is
//! the `source` of the [`Part`] that holds it. Language and direction are data, never assumptions.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How deeply containers (quotes, lists, emphasis, links, footnotes) may nest in the model.
/// Readers flatten anything deeper with a `nesting-too-deep` warning, so code that walks the
/// model recursively is bounded by it, and every writer renders it (typst's show rules stop at
/// a depth of 64, and a nested block quote costs four of them).
pub const MAX_NESTING: usize = 12;

/// A whole book edition: metadata plus the parts in reading order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Book {
    /// Title, author, language, identifiers: everything that is not content.
    pub meta: Meta,
    /// The parts of the series, ordered by part number.
    pub parts: Vec<Part>,
    /// Every image the parts use, keyed by [`Asset::id`]: an image used twice is stored once.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assets: BTreeMap<String, Asset>,
}

/// One image file of the book, checked and loaded by `crate::assets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Lower-case hex SHA-256 of the bytes (of the cleaned bytes for SVG): the key in
    /// [`Book::assets`] and the stem of the file name in every output.
    pub id: String,
    /// Media type sniffed from the bytes: `image/png`, `image/jpeg`, `image/gif`, `image/webp`,
    /// `image/svg+xml`.
    pub media_type: String,
    /// Width in pixels (CSS pixels for SVG), after EXIF orientation.
    pub width: u32,
    /// Height in pixels (CSS pixels for SVG), after EXIF orientation.
    pub height: u32,
    /// The first path it was found at, relative to the book folder, `/`-separated.
    pub source: String,
    /// The bytes writers embed (for SVG: re-serialised from a parsed tree, never the source).
    #[serde(skip)]
    pub bytes: Arc<Vec<u8>>,
}

impl Asset {
    /// The file extension of the media type (`png`, `jpg`, `gif`, `webp`, `svg`).
    pub fn extension(&self) -> &'static str {
        match self.media_type.as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/gif" => "gif",
            "image/webp" => "webp",
            _ => "svg",
        }
    }

    /// A file name unique per content: `<first 16 hex digits of the hash>.<ext>`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", &self.id[..16.min(self.id.len())], self.extension())
    }
}

/// An image as the source refers to it; [`ImageRef::asset`] is filled in when the file has been
/// found and checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImageRef {
    /// The path as written in the source (relative to the part's file).
    pub src: String,
    /// Text alternative (the description); empty when the source gives none.
    pub alt: String,
    /// Optional title (`![alt](src "title")`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// The key of the checked file in [`Book::assets`]; `None` until resolved (or when refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
}

/// Horizontal alignment of a table column, in the writing direction: `Start` is the right edge
/// in a right-to-left book (GFM `:---`), `End` the left (`---:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// No alignment given: the start of the line.
    #[default]
    Default,
    /// `:---`: the start edge (right in RTL).
    Start,
    /// `:---:`: centred.
    Center,
    /// `---:`: the end edge (left in RTL); numbers line up here.
    End,
}

/// Cells of one table row, each inline content.
pub type Row = Vec<Vec<Inline>>;

/// Book-level metadata, taken from the parts and overridden by `publish.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Book title (the series title unless configured).
    pub title: String,
    /// Optional subtitle.
    pub subtitle: Option<String>,
    /// Author shown on the title page and in metadata.
    pub author: Option<String>,
    /// BCP 47 language tag of the book (e.g. `ar`).
    pub lang: Lang,
    /// Base writing direction of the book.
    pub dir: Dir,
    /// Identifier (ISBN, URN or UUID URN); writers derive a stable one when absent.
    pub identifier: Option<String>,
    /// Build / publication date as `YYYY-MM-DD`, from config or `SOURCE_DATE_EPOCH`.
    pub date: String,
    /// Build timestamp in seconds since the Unix epoch (from the same source as `date`).
    pub timestamp: i64,
    /// Publisher name.
    pub publisher: Option<String>,
    /// Rights statement.
    pub rights: Option<String>,
    /// Keywords for PDF/EPUB metadata.
    pub keywords: Vec<String>,
    /// Output file stem (`<slug>.pdf`, `<slug>.epub`).
    pub slug: String,
}

/// A BCP 47 language tag such as `ar` or `fa`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lang(pub String);

impl Lang {
    /// The tag as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The direction scripts of this language are written in.
    pub fn default_dir(&self) -> Dir {
        let primary = self
            .0
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "ar" | "fa" | "ur" | "he" | "yi" | "ps" | "sd" | "ug" | "ckb" | "dv" => Dir::Rtl,
            _ => Dir::Ltr,
        }
    }
}

impl Default for Lang {
    fn default() -> Self {
        Lang("ar".to_owned())
    }
}

/// Base writing direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Right to left (Arabic, Persian, Hebrew…).
    #[default]
    Rtl,
    /// Left to right.
    Ltr,
}

impl Dir {
    /// `"rtl"` or `"ltr"`, as HTML, OPF and typst spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Rtl => "rtl",
            Dir::Ltr => "ltr",
        }
    }
}

/// One part (article) of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Part number from the marker (`الجزء الرابع عشر` → 14), front matter or file name.
    pub number: Option<u32>,
    /// The part's own title (its section heading), without the part label.
    pub title: Vec<Inline>,
    /// Series title as written in this part, used to check that all parts belong together.
    pub series: Option<String>,
    /// Author as written in this part.
    pub author: Option<String>,
    /// Language of this part.
    pub lang: Lang,
    /// Base direction of this part.
    pub dir: Dir,
    /// Where the part came from.
    pub source: Source,
    /// Body content.
    pub blocks: Vec<Block>,
    /// The body opens with a source `#` heading although the front matter gives the title. When
    /// every part's front-matter title is the same (the series name), assembly makes that
    /// heading the part's title ([`crate::read::series::assemble`]); otherwise it stays a
    /// heading of the body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leading_heading: bool,
}

/// The source file of a part, for diagnostics and the colophon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Path relative to the book folder, with `/` separators.
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Encoding the file was decoded from (`utf-8`, `utf-16le`, `windows-1256`…).
    pub encoding: String,
}

/// A byte range in the part's decoded source text, with the 1-based line it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// 1-based line of `start`.
    pub line: u32,
}

/// Generic attributes, as pandoc's `Attr`: an identifier, classes and key/value pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attr {
    /// Identifier (anchor); empty when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Other attributes, in source order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kv: Vec<(String, String)>,
}

/// Block-level content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A heading inside a part; level 1 is the highest level below the part title.
    Heading {
        /// 1 to 6.
        level: u8,
        /// Heading text.
        content: Vec<Inline>,
        /// Identifier and classes.
        attr: Attr,
        /// Source range.
        span: Span,
    },
    /// A paragraph.
    Para {
        /// Paragraph text.
        content: Vec<Inline>,
        /// Source range.
        span: Span,
    },
    /// A block quotation.
    Quote {
        /// Quoted blocks.
        blocks: Vec<Block>,
        /// Source range.
        span: Span,
    },
    /// An ordered or bullet list.
    List {
        /// `Some(first number)` for an ordered list, `None` for bullets.
        start: Option<u64>,
        /// Items, each a sequence of blocks.
        items: Vec<Vec<Block>>,
        /// Source range.
        span: Span,
    },
    /// Verbatim code, shown left to right in a monospace font.
    Code {
        /// The code exactly as written.
        text: String,
        /// Info string language, if given.
        lang: Option<String>,
        /// Source range.
        span: Span,
    },
    /// A footnote's text; referenced by [`Inline::NoteRef`] with the same label.
    Footnote {
        /// Label as written in the source (unique within the part).
        label: String,
        /// Footnote content.
        blocks: Vec<Block>,
        /// Source range.
        span: Span,
    },
    /// Verse: lines kept with their breaks (a poem, the hemistichs of couplets). The theme
    /// decides whether a couplet's two hemistichs stand side by side or stacked.
    Verse {
        /// The lines, in order.
        lines: Vec<Vec<Inline>>,
        /// Source range.
        span: Span,
    },
    /// A thematic break (scene change).
    Break {
        /// Source range.
        span: Span,
    },
    /// A figure: one image shown on its own, with an optional caption below (pandoc's
    /// implicit figure: a paragraph holding only an image, captioned by its description).
    Figure {
        /// The image.
        image: ImageRef,
        /// Caption; empty for none.
        caption: Vec<Inline>,
        /// Classes: `lead` for a part's lead image.
        attr: Attr,
        /// Source range.
        span: Span,
    },
    /// A table: a header row, body rows and per-column alignment; every row has one cell per
    /// column (the reader pads or truncates ragged rows).
    Table {
        /// Caption (`Table: …` / `جدول: …` after the table); empty for none.
        caption: Vec<Inline>,
        /// Alignment of each column.
        align: Vec<Align>,
        /// Header cells.
        head: Row,
        /// Body rows.
        rows: Vec<Row>,
        /// Identifier and classes.
        attr: Attr,
        /// Source range.
        span: Span,
    },
}

impl Block {
    /// The source range of this block.
    pub fn span(&self) -> Span {
        match self {
            Block::Heading { span, .. }
            | Block::Para { span, .. }
            | Block::Quote { span, .. }
            | Block::List { span, .. }
            | Block::Code { span, .. }
            | Block::Footnote { span, .. }
            | Block::Break { span }
            | Block::Figure { span, .. }
            | Block::Table { span, .. }
            | Block::Verse { span, .. } => *span,
        }
    }
}

/// Inline content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inline {
    /// Plain text, exactly as in the source.
    Text {
        /// The text.
        text: String,
        /// Source range.
        span: Span,
    },
    /// Emphasis (italic in Latin, usually a different weight or colour in Arabic).
    Emph {
        /// Emphasised content.
        content: Vec<Inline>,
        /// Source range.
        span: Span,
    },
    /// Strong emphasis.
    Strong {
        /// Strong content.
        content: Vec<Inline>,
        /// Source range.
        span: Span,
    },
    /// A hyperlink; `url` is already checked to be a safe scheme or a relative reference.
    Link {
        /// Target URL.
        url: String,
        /// Link text.
        content: Vec<Inline>,
        /// Source range.
        span: Span,
    },
    /// Inline code, shown left to right.
    Code {
        /// The code.
        text: String,
        /// Source range.
        span: Span,
    },
    /// A reference to a [`Block::Footnote`] with the same label in the same part.
    NoteRef {
        /// Footnote label.
        label: String,
        /// Source range.
        span: Span,
    },
    /// A hard line break.
    LineBreak {
        /// Source range.
        span: Span,
    },
    /// An image inside a line of text.
    Image {
        /// The image and its text alternative.
        image: ImageRef,
        /// Source range.
        span: Span,
    },
}

impl Inline {
    /// Plain text of inline content (markup removed, notes dropped), for titles and metadata.
    pub fn plain(inlines: &[Inline]) -> String {
        let mut out = String::new();
        Self::push_plain(inlines, &mut out);
        out
    }

    fn push_plain(inlines: &[Inline], out: &mut String) {
        for inline in inlines {
            match inline {
                Inline::Text { text, .. } | Inline::Code { text, .. } => out.push_str(text),
                Inline::Emph { content, .. }
                | Inline::Strong { content, .. }
                | Inline::Link { content, .. } => Self::push_plain(content, out),
                Inline::NoteRef { .. } => {}
                Inline::Image { image, .. } => out.push_str(&image.alt),
                Inline::LineBreak { .. } => out.push(' '),
            }
        }
    }

    /// A plain text inline.
    pub fn text(text: impl Into<String>, span: Span) -> Inline {
        Inline::Text {
            text: text.into(),
            span,
        }
    }
}

impl Part {
    /// The label of the part in the book's language, e.g. «الجزء الرابع عشر».
    pub fn label(&self, style: LabelStyle, digits: Digits) -> String {
        crate::read::arabic::part_label(self.number, style, digits)
    }

    /// The part title as plain text.
    pub fn title_text(&self) -> String {
        Inline::plain(&self.title)
    }

    /// Calls `f` with every piece of text of the part in reading order (title, blocks, notes
    /// where they stand), with the line it starts on and how it is set. Code keeps its
    /// newlines. Writers use it for what depends on all the text: glyph checks, fonts to embed.
    pub fn for_each_text<'a>(&'a self, f: &mut impl FnMut(&'a str, u32, Setting)) {
        let heading = Setting {
            bold: true,
            ..Setting::default()
        };
        each_inline_text(&self.title, heading, f);
        each_block_text(&self.blocks, Setting::default(), f);
    }
}

/// How a piece of text is set, as far as choosing a font face goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Setting {
    /// In a heading (part titles included) or strong emphasis.
    pub bold: bool,
    /// In emphasis.
    pub italic: bool,
    /// Code, inline or block: set in the monospace family.
    pub code: bool,
}

fn each_block_text<'a>(
    blocks: &'a [Block],
    set: Setting,
    f: &mut impl FnMut(&'a str, u32, Setting),
) {
    for b in blocks {
        match b {
            Block::Heading { content, .. } => {
                each_inline_text(content, Setting { bold: true, ..set }, f)
            }
            Block::Para { content, .. } => each_inline_text(content, set, f),
            Block::Verse { lines, .. } => lines.iter().for_each(|l| each_inline_text(l, set, f)),
            Block::Quote { blocks, .. } | Block::Footnote { blocks, .. } => {
                each_block_text(blocks, set, f)
            }
            Block::List { items, .. } => items.iter().for_each(|i| each_block_text(i, set, f)),
            Block::Code { text, span, .. } => f(text, span.line, Setting { code: true, ..set }),
            Block::Break { .. } => {}
            Block::Figure { caption, .. } => each_inline_text(caption, set, f),
            Block::Table {
                caption,
                head,
                rows,
                ..
            } => {
                each_inline_text(caption, set, f);
                head.iter()
                    .for_each(|c| each_inline_text(c, Setting { bold: true, ..set }, f));
                rows.iter()
                    .flatten()
                    .for_each(|c| each_inline_text(c, set, f));
            }
        }
    }
}

fn each_inline_text<'a>(
    inlines: &'a [Inline],
    set: Setting,
    f: &mut impl FnMut(&'a str, u32, Setting),
) {
    for i in inlines {
        match i {
            Inline::Text { text, span } => f(text, span.line, set),
            Inline::Code { text, span } => f(text, span.line, Setting { code: true, ..set }),
            Inline::Emph { content, .. } => each_inline_text(
                content,
                Setting {
                    italic: true,
                    ..set
                },
                f,
            ),
            Inline::Strong { content, .. } => {
                each_inline_text(content, Setting { bold: true, ..set }, f)
            }
            Inline::Link { content, .. } => each_inline_text(content, set, f),
            Inline::NoteRef { .. } | Inline::LineBreak { .. } | Inline::Image { .. } => {}
        }
    }
}

impl Book {
    /// Calls `f` with every image reference of the book (figures and inline images, in
    /// reading order), with the part it is in and the line it is on.
    pub fn for_each_image_mut(&mut self, f: &mut impl FnMut(&Part, &mut ImageRef, u32)) {
        for part in &mut self.parts {
            // The part is handed out read-only while its blocks are walked mutably.
            let mut blocks = std::mem::take(&mut part.blocks);
            let mut title = std::mem::take(&mut part.title);
            images_in_inlines(&mut title, &mut |i, l| f(part, i, l));
            images_in_blocks(&mut blocks, &mut |i, l| f(part, i, l));
            part.blocks = blocks;
            part.title = title;
        }
    }
}

impl Book {
    /// Calls `f` with every image reference of the book, in reading order.
    pub fn for_each_image(&self, f: &mut impl FnMut(&ImageRef)) {
        fn inl(inlines: &[Inline], f: &mut impl FnMut(&ImageRef)) {
            for i in inlines {
                match i {
                    Inline::Image { image, .. } => f(image),
                    Inline::Emph { content, .. }
                    | Inline::Strong { content, .. }
                    | Inline::Link { content, .. } => inl(content, f),
                    _ => {}
                }
            }
        }
        fn blk(blocks: &[Block], f: &mut impl FnMut(&ImageRef)) {
            for b in blocks {
                match b {
                    Block::Heading { content, .. } | Block::Para { content, .. } => inl(content, f),
                    Block::Quote { blocks, .. } | Block::Footnote { blocks, .. } => blk(blocks, f),
                    Block::List { items, .. } => items.iter().for_each(|i| blk(i, f)),
                    Block::Figure { image, caption, .. } => {
                        f(image);
                        inl(caption, f);
                    }
                    Block::Table {
                        caption,
                        head,
                        rows,
                        ..
                    } => {
                        inl(caption, f);
                        head.iter()
                            .chain(rows.iter().flatten())
                            .for_each(|c| inl(c, f));
                    }
                    Block::Verse { lines, .. } => lines.iter().for_each(|l| inl(l, f)),
                    Block::Code { .. } | Block::Break { .. } => {}
                }
            }
        }
        for p in &self.parts {
            inl(&p.title, f);
            blk(&p.blocks, f);
        }
    }
}

fn images_in_blocks(blocks: &mut [Block], f: &mut impl FnMut(&mut ImageRef, u32)) {
    for b in blocks {
        match b {
            Block::Heading { content, .. } | Block::Para { content, .. } => {
                images_in_inlines(content, f)
            }
            Block::Quote { blocks, .. } | Block::Footnote { blocks, .. } => {
                images_in_blocks(blocks, f)
            }
            Block::List { items, .. } => items.iter_mut().for_each(|i| images_in_blocks(i, f)),
            Block::Figure {
                image,
                caption,
                span,
                ..
            } => {
                f(image, span.line);
                images_in_inlines(caption, f);
            }
            Block::Table {
                caption,
                head,
                rows,
                ..
            } => {
                images_in_inlines(caption, f);
                head.iter_mut().for_each(|c| images_in_inlines(c, f));
                rows.iter_mut()
                    .flatten()
                    .for_each(|c| images_in_inlines(c, f));
            }
            Block::Verse { lines, .. } => lines.iter_mut().for_each(|l| images_in_inlines(l, f)),
            Block::Code { .. } | Block::Break { .. } => {}
        }
    }
}

fn images_in_inlines(inlines: &mut [Inline], f: &mut impl FnMut(&mut ImageRef, u32)) {
    for i in inlines {
        match i {
            Inline::Image { image, span } => f(image, span.line),
            Inline::Emph { content, .. }
            | Inline::Strong { content, .. }
            | Inline::Link { content, .. } => images_in_inlines(content, f),
            Inline::Text { .. }
            | Inline::Code { .. }
            | Inline::NoteRef { .. }
            | Inline::LineBreak { .. } => {}
        }
    }
}

/// How part numbers are written in labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelStyle {
    /// Ordinal words: «الجزء الرابع عشر».
    #[default]
    Words,
    /// Numbers in the configured digits: «الجزء ١٤».
    Number,
}

/// Which digits generated numbers (pages, notes, list numbers) use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Digits {
    /// Arabic-Indic digits ٠١٢٣٤٥٦٧٨٩.
    #[default]
    ArabicIndic,
    /// Western digits 0123456789.
    Western,
    /// Persian (extended Arabic-Indic) digits ۰۱۲۳۴۵۶۷۸۹.
    Persian,
}

impl Digits {
    /// Write `n` with these digits.
    pub fn format(self, n: u64) -> String {
        let zero = match self {
            Digits::Western => return n.to_string(),
            Digits::ArabicIndic => '\u{0660}',
            Digits::Persian => '\u{06F0}',
        };
        n.to_string()
            .chars()
            .map(|c| char::from_u32(zero as u32 + (c as u32 - '0' as u32)).unwrap_or(c))
            .collect()
    }
}
