//! Reader for Markdown parts (`*.md`) with TOML (`+++`) or YAML (`---`) front matter.
//!
//! Parsing never fails: pulldown-cmark accepts any text, and front-matter problems become
//! diagnostics. Raw HTML is never passed through: it is kept as literal text, with a warning.

use super::{LineIndex, ReadResult, SourceFile};
use crate::diag::Diagnostic;
use crate::model::{Align, Attr, Block, Dir, ImageRef, Inline, Lang, Part, Row, Span};
use crate::read::arabic;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Front matter fields `publish` understands.
#[derive(Debug, Default)]
struct FrontMatter {
    title: Option<String>,
    part: Option<u32>,
    author: Option<String>,
    series: Option<String>,
    lang: Option<String>,
    dir: Option<String>,
    image: Option<String>,
    image_alt: Option<String>,
    image_caption: Option<String>,
}

const KNOWN_KEYS: &[&str] = &[
    "title",
    "part",
    "author",
    "series",
    "lang",
    "dir",
    "image",
    "image-alt",
    "image-caption",
];

/// Captions of tables: a paragraph right after a table that starts with one of these (pandoc's
/// `Table:` convention, and its Arabic form).
const CAPTION_PREFIXES: &[&str] = &["Table:", "جدول:", "الجدول:"];

/// How deeply quotes, lists, emphasis, links and footnote definitions may nest in a Markdown
/// part. No real book nests deeper; every writer (typst's show-rule depth included) renders
/// this depth. Deeper containers are flattened into their parent with a `nesting-too-deep`
/// warning: their text is kept, only the extra nesting is lost.
pub const MAX_NESTING: usize = crate::model::MAX_NESTING;

/// The largest front matter read, in bytes: real front matter is a few lines; a megabyte of it
/// (a pasted body, a runaway value) is refused before a parser spends time on it.
pub const MAX_FRONT_MATTER: usize = 64 * 1024;

/// The longest `title`, `author` or `series` value in front matter, in characters.
pub const MAX_META_CHARS: usize = 1000;

/// Front matter found at the top of a file: its raw text, its kind (`+` TOML, `-` YAML) and
/// the byte offset where the body starts.
type FrontMatterSplit<'a> = Option<(&'a str, char, usize)>;

/// Split off front matter, or say (line, message) why it is malformed.
fn split_front_matter(text: &str) -> Result<FrontMatterSplit<'_>, (u32, String)> {
    let first_line_end = text.find('\n').map_or(text.len(), |i| i + 1);
    let first = text[..first_line_end].trim_end();
    let (fence, kind) = match first {
        "+++" => ("+++", '+'),
        "---" => ("---", '-'),
        _ => return Ok(None),
    };
    let mut offset = first_line_end;
    while offset < text.len() {
        let end = text[offset..]
            .find('\n')
            .map_or(text.len(), |i| offset + i + 1);
        let line = text[offset..end].trim_end();
        if line == fence || (kind == '-' && line == "...") {
            return Ok(Some((&text[first_line_end..offset], kind, end)));
        }
        offset = end;
    }
    Err((
        1,
        format!("front matter opened with `{fence}` on line 1 is never closed"),
    ))
}

/// The deepest nesting of `[`/`{` front matter may have; no real front matter comes near it.
pub const MAX_FRONT_MATTER_NESTING: usize = 32;

/// The (0-based) line where brackets outside quoted strings first nest deeper than
/// [`MAX_FRONT_MATTER_NESTING`], and that depth. One pass, no parsing.
fn flow_too_deep(raw: &str) -> Option<(u32, usize)> {
    let (mut depth, mut line) = (0usize, 0u32);
    let mut quote: Option<char> = None;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\n') => {
                line += 1;
                // Quoted scalars in front matter do not span lines in practice; a stray
                // quote must not hide the rest of the text from the count.
                quote = None;
            }
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_FRONT_MATTER_NESTING {
                    return Some((line, depth));
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, '#') => {
                // A comment runs to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_front_matter(
    raw: &str,
    kind: char,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Result<FrontMatter, Diagnostic> {
    // The parsers' cost grows faster than the nesting of flow collections (a YAML `[[[…]]]`
    // 20,000 deep took a minute): refuse deep nesting before parsing.
    if let Some((line, depth)) = flow_too_deep(raw) {
        return Err(Diagnostic::error(
            "front-matter",
            format!(
                "front matter nests brackets more than {MAX_FRONT_MATTER_NESTING} levels deep ({depth} here)"
            ),
        )
        .file(file)
        .line(line + 1)
        .hint("front matter holds titles, numbers and short lists; move the rest into the text"));
    }
    // Both formats become a JSON value so the fields are read one way.
    let value: serde_json::Value = if kind == '+' {
        toml::from_str::<toml::Table>(raw)
            .map_err(|e| {
                let line = e
                    .span()
                    .map_or(0, |s| crate::diag::line_col(raw, s.start).0);
                Diagnostic::error(
                    "front-matter",
                    format!("invalid TOML front matter: {}", e.message()),
                )
                .file(file)
                .line(line + 1)
            })
            .and_then(|t| {
                serde_json::to_value(t).map_err(|e| {
                    Diagnostic::error("front-matter", format!("invalid front matter: {e}"))
                        .file(file)
                })
            })?
    } else {
        if raw.trim().is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_norway::from_str::<serde_json::Value>(raw).map_err(|e| {
                let line = e.location().map_or(1, |l| l.line() as u32 + 1);
                let msg = e.to_string();
                let msg = msg.split(" at line").next().unwrap_or(&msg).to_owned();
                Diagnostic::error("front-matter", format!("invalid YAML front matter: {msg}"))
                    .file(file)
                    .line(line)
            })?
        }
    };
    let serde_json::Value::Object(map) = value else {
        return Err(
            Diagnostic::error("front-matter", "front matter is not a table of keys")
                .file(file)
                .line(2),
        );
    };
    // A `\u0007` escape gets past the decoder's control-character check (issue 17).
    for (key, v) in &map {
        if let serde_json::Value::String(text) = v
            && let Some(c) = text
                .chars()
                .find(|&c| c.is_control() && c != '\n' && c != '\t')
        {
            let line = raw
                .lines()
                .position(|l| l.trim_start().starts_with(key.as_str()))
                .map_or(1, |i| i as u32 + 2);
            return Err(Diagnostic::error(
                "front-matter",
                format!(
                    "front matter `{key}` holds the control character U+{:04X}",
                    c as u32
                ),
            )
            .file(file)
            .line(line)
            .hint("remove it: only printable text belongs in a title, author or series"));
        }
    }
    let mut fm = FrontMatter::default();
    let string = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    for (key, v) in &map {
        if let serde_json::Value::String(s) = v
            && s.chars().nth(MAX_META_CHARS).is_some()
            && matches!(key.as_str(), "title" | "author" | "series")
        {
            return Err(Diagnostic::error(
                "front-matter-too-long",
                format!(
                    "front matter `{key}` is {} characters long, more than {MAX_META_CHARS}",
                    s.chars().count()
                ),
            )
            .file(file)
            .line(2));
        }
        match key.as_str() {
            "title" => fm.title = string(v),
            "author" => fm.author = string(v),
            "series" => fm.series = string(v),
            "lang" => fm.lang = string(v),
            "dir" => fm.dir = string(v),
            "image" => fm.image = string(v),
            "image-alt" => fm.image_alt = string(v),
            "image-caption" => fm.image_caption = string(v),
            "part" => {
                fm.part = match v {
                    serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    serde_json::Value::String(s) => arabic::parse_number(s)
                        .filter(|m| m.len == s.trim_end().len())
                        .map(|m| m.value),
                    _ => None,
                };
                if fm.part.is_none() {
                    diags.push(
                        Diagnostic::warning(
                            "no-part-number",
                            format!("front matter `part` is not a part number: {v}"),
                        )
                        .file(file)
                        .hint("write `part = 14` (or an ordinal such as «الرابع عشر»)"),
                    );
                }
            }
            other => diags.push(
                Diagnostic::warning(
                    "front-matter-key",
                    format!("unknown front matter key `{other}` ignored"),
                )
                .file(file)
                .hint(format!("known keys: {}", KNOWN_KEYS.join(", "))),
            ),
        }
    }
    Ok(fm)
}

/// The error for front matter over [`MAX_FRONT_MATTER`]: it names the key on the longest line,
/// which is almost always the culprit (a pasted body as a `title`).
fn front_matter_too_long(raw: &str, file: &str) -> Diagnostic {
    let (line, text) = raw
        .split('\n')
        .enumerate()
        .max_by_key(|(i, l)| (l.len(), usize::MAX - i))
        .unwrap_or((0, ""));
    let key: String = text
        .split(['=', ':'])
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(40)
        .collect();
    let what = if key.is_empty() || key.len() == text.trim().len() {
        String::new()
    } else {
        format!(" (key `{key}` is {} bytes)", text.len())
    };
    Diagnostic::error(
        "front-matter-too-long",
        format!(
            "the front matter is {} bytes, more than the {MAX_FRONT_MATTER} bytes read{what}",
            raw.len()
        ),
    )
    .file(file)
    .line(line as u32 + 2)
    .hint("front matter holds short fields (title, part, author); put long text in the body")
}

/// Read a Markdown part.
pub fn read(src: &SourceFile, text: &str) -> ReadResult {
    let file = src.path.as_str();
    let mut diags = Vec::new();
    let (fm, body_offset) = match split_front_matter(text) {
        Ok(None) => (FrontMatter::default(), 0),
        Ok(Some((raw, _, _))) if raw.len() > MAX_FRONT_MATTER => {
            diags.push(front_matter_too_long(raw, file));
            return ReadResult {
                part: None,
                diagnostics: diags,
            };
        }
        Ok(Some((raw, kind, offset))) => match parse_front_matter(raw, kind, file, &mut diags) {
            Ok(fm) => (fm, offset),
            Err(d) => {
                diags.push(d.hint("fix the front matter between the `+++`/`---` lines"));
                return ReadResult {
                    part: None,
                    diagnostics: diags,
                };
            }
        },
        Err((line, msg)) => {
            diags.push(
                Diagnostic::error("front-matter", msg)
                    .file(file)
                    .line(line)
                    .hint("close the front matter with the same fence (`+++` or `---`) on a line of its own"),
            );
            return ReadResult {
                part: None,
                diagnostics: diags,
            };
        }
    };
    let index = LineIndex::new(text);
    let mut builder = Builder {
        base: body_offset,
        body: &text[body_offset..],
        index: &index,
        file,
        diags: &mut diags,
        depth: 0,
        too_deep: None,
    };
    let mut blocks = builder.parse(&text[body_offset..]);
    if let Some((line, count)) = builder.too_deep {
        diags.push(
            Diagnostic::warning(
                "nesting-too-deep",
                format!(
                    "quotes, lists, emphasis or links nest more than {MAX_NESTING} levels deep; \
                     {count} deeper level(s) are flattened into their parent (the text is kept)"
                ),
            )
            .file(file)
            .line(line)
            .hint(format!("nest at most {MAX_NESTING} levels")),
        );
    }

    // With no `title` in the front matter, a leading level-1 heading is the part title.
    let mut title = fm.title.map(|t| {
        vec![Inline::text(
            t,
            Span {
                start: 0,
                end: 0,
                line: 1,
            },
        )]
    });
    // With both, the heading stays in the body; the series decides which one is the part's
    // title (see `series::assemble`).
    let opens_with_heading = matches!(blocks.first(), Some(Block::Heading { level: 1, .. }));
    let leading_heading = title.is_some() && opens_with_heading;
    if title.is_none()
        && opens_with_heading
        && let Block::Heading { content, .. } = blocks.remove(0)
    {
        title = Some(content);
    }
    shift_headings(&mut blocks);
    if let Some(src) = fm.image.filter(|s| !s.is_empty()) {
        // The lead image is shown under the part heading, before the body.
        let line = text[..body_offset]
            .lines()
            .position(|l| l.trim_start().starts_with("image"))
            .map_or(1, |i| i as u32 + 1);
        let span = Span {
            start: 0,
            end: 0,
            line,
        };
        let caption = fm
            .image_caption
            .filter(|c| !c.is_empty())
            .map(|c| vec![Inline::text(c, span)])
            .unwrap_or_default();
        blocks.insert(
            0,
            Block::Figure {
                image: ImageRef {
                    src,
                    alt: fm.image_alt.unwrap_or_default(),
                    ..ImageRef::default()
                },
                caption,
                attr: Attr {
                    classes: vec!["lead".into()],
                    ..Attr::default()
                },
                span,
            },
        );
    }
    let number = fm.part.or_else(|| {
        let n = super::raw::number_from_file_name(file);
        diags.push(
            Diagnostic::warning(
                "no-part-number",
                match n {
                    Some(n) => format!(
                        "no `part` in the front matter; using part number {n} from the file name"
                    ),
                    None => {
                        "no `part` in the front matter and no number in the file name".to_owned()
                    }
                },
            )
            .file(file)
            .line(1)
            .hint("add `part = 14` to the front matter"),
        );
        n
    });
    if title.is_none() {
        diags.push(
            Diagnostic::warning(
                "no-part-title",
                "no `title` in the front matter and no leading `# heading`",
            )
            .file(file)
            .line(1)
            .hint("add `title = \"…\"` to the front matter"),
        );
    }
    if blocks.is_empty() {
        diags.push(
            Diagnostic::error("empty-source", "the part has no text")
                .file(file)
                .line(1)
                .hint("add the part's paragraphs after the front matter"),
        );
    }
    // Without a `lang` in the front matter, the letters decide where they are sure.
    let lang = match fm.lang {
        Some(l) => Lang(l),
        None => {
            let (lang, unsure) = crate::bidi::part_lang(text, file);
            diags.extend(unsure);
            lang
        }
    };
    let dir = match fm.dir.as_deref() {
        Some("rtl") => Dir::Rtl,
        Some("ltr") => Dir::Ltr,
        Some(other) => {
            diags.push(
                Diagnostic::warning(
                    "front-matter",
                    format!("`dir` must be `rtl` or `ltr`, not `{other}`"),
                )
                .file(file),
            );
            lang.default_dir()
        }
        None => lang.default_dir(),
    };
    ReadResult {
        part: Some(Part {
            number,
            title: title.unwrap_or_default(),
            series: fm.series,
            author: fm.author,
            lang,
            dir,
            source: src.source.clone(),
            blocks,
            leading_heading,
        }),
        diagnostics: diags,
    }
}

/// Is a link target safe to keep? Relative references and a few schemes only.
pub fn safe_url(url: &str) -> bool {
    let trimmed: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    match trimmed.split_once(':') {
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            matches!(
                scheme.to_ascii_lowercase().as_str(),
                "http" | "https" | "mailto"
            )
        }
        _ => true,
    }
}

struct Builder<'a> {
    base: usize,
    /// The Markdown body (after front matter), for counting the cells of table rows as typed.
    body: &'a str,
    index: &'a LineIndex,
    file: &'a str,
    diags: &'a mut Vec<Diagnostic>,
    /// Open quotes, lists, footnotes, emphasis and links around the current event.
    depth: usize,
    /// The line of the first container flattened for depth, and how many were.
    too_deep: Option<(u32, usize)>,
}

/// A container being built while walking the event stream.
enum Frame {
    Blocks {
        tag: Open,
        blocks: Vec<Block>,
        span: Span,
    },
    Inlines {
        tag: Open,
        inlines: Vec<Inline>,
        span: Span,
    },
    Table {
        align: Vec<Align>,
        head: Row,
        rows: Vec<Row>,
        span: Span,
    },
    Row {
        cells: Row,
        span: Span,
    },
}

enum Open {
    Root,
    Para,
    Heading(u8, Attr),
    Quote,
    List(Option<u64>, Vec<Vec<Block>>),
    Item,
    Footnote(String),
    Emph,
    Strong,
    Link(Option<String>),
    Image(ImageRef),
    Cell,
    Other,
    /// A block container flattened because it nests too deeply: its blocks join the parent.
    Flat,
}

impl Open {
    /// Does this container add a level of nesting to the model?
    fn nests(&self) -> bool {
        matches!(
            self,
            Open::Quote
                | Open::List(..)
                | Open::Footnote(_)
                | Open::Emph
                | Open::Strong
                | Open::Link(Some(_))
        )
    }
}

impl Builder<'_> {
    fn span(&self, range: std::ops::Range<usize>) -> Span {
        let start = self.base + range.start;
        Span {
            start,
            end: self.base + range.end,
            line: self.index.line(start),
        }
    }

    fn warn(&mut self, code: &'static str, span: Span, msg: String, hint: &str) {
        self.diags.push(
            Diagnostic::warning(code, msg)
                .file(self.file)
                .line(span.line)
                .hint(hint),
        );
    }

    fn parse(&mut self, body: &str) -> Vec<Block> {
        let opts =
            Options::ENABLE_FOOTNOTES | Options::ENABLE_HEADING_ATTRIBUTES | Options::ENABLE_TABLES;
        let mut stack: Vec<Frame> = vec![Frame::Blocks {
            tag: Open::Root,
            blocks: vec![],
            span: Span::default(),
        }];
        for (event, range) in Parser::new_ext(body, opts).into_offset_iter() {
            let span = self.span(range.clone());
            match event {
                Event::Start(tag) => {
                    let frame = match tag {
                        Tag::Paragraph => Frame::Inlines {
                            tag: Open::Para,
                            inlines: vec![],
                            span,
                        },
                        Tag::Heading {
                            level,
                            id,
                            classes,
                            attrs,
                        } => {
                            let attr = Attr {
                                id: id.map(|s| s.to_string()).unwrap_or_default(),
                                classes: classes.iter().map(|c| c.to_string()).collect(),
                                kv: attrs
                                    .iter()
                                    .map(|(k, v)| {
                                        (
                                            k.to_string(),
                                            v.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                                        )
                                    })
                                    .collect(),
                            };
                            Frame::Inlines {
                                tag: Open::Heading(heading_level(level), attr),
                                inlines: vec![],
                                span,
                            }
                        }
                        Tag::BlockQuote(_) => Frame::Blocks {
                            tag: Open::Quote,
                            blocks: vec![],
                            span,
                        },
                        Tag::List(start) => Frame::Blocks {
                            tag: Open::List(start, vec![]),
                            blocks: vec![],
                            span,
                        },
                        Tag::Item => Frame::Blocks {
                            tag: Open::Item,
                            blocks: vec![],
                            span,
                        },
                        Tag::FootnoteDefinition(label) => Frame::Blocks {
                            tag: Open::Footnote(label.to_string()),
                            blocks: vec![],
                            span,
                        },
                        Tag::CodeBlock(kind) => {
                            let lang = match kind {
                                CodeBlockKind::Fenced(info) => {
                                    info.split_whitespace().next().map(str::to_owned)
                                }
                                CodeBlockKind::Indented => None,
                            };
                            let lang = lang.filter(|l| !l.is_empty());
                            Frame::Inlines {
                                tag: Open::Other,
                                inlines: vec![Inline::Code {
                                    text: lang.unwrap_or_default(),
                                    span,
                                }],
                                span,
                            }
                        }
                        Tag::Emphasis => Frame::Inlines {
                            tag: Open::Emph,
                            inlines: vec![],
                            span,
                        },
                        Tag::Strong => Frame::Inlines {
                            tag: Open::Strong,
                            inlines: vec![],
                            span,
                        },
                        Tag::Link { dest_url, .. } => {
                            let url = dest_url.to_string();
                            let keep = if safe_url(&url) {
                                Some(url)
                            } else {
                                self.warn(
                                    "unsafe-link",
                                    span,
                                    format!("link to `{url}` removed (only http, https, mailto and relative links are kept); its text is kept"),
                                    "link to a web page instead",
                                );
                                None
                            };
                            Frame::Inlines {
                                tag: Open::Link(keep),
                                inlines: vec![],
                                span,
                            }
                        }
                        // The path is checked (inside the book folder, a real image) when the
                        // book is assembled, by `crate::assets`: readers touch no files.
                        Tag::Image {
                            dest_url, title, ..
                        } => Frame::Inlines {
                            tag: Open::Image(ImageRef {
                                src: dest_url.to_string(),
                                title: title.to_string(),
                                ..ImageRef::default()
                            }),
                            inlines: vec![],
                            span,
                        },
                        Tag::Table(aligns) => Frame::Table {
                            align: aligns
                                .iter()
                                .map(|a| match a {
                                    pulldown_cmark::Alignment::None => Align::Default,
                                    pulldown_cmark::Alignment::Left => Align::Start,
                                    pulldown_cmark::Alignment::Center => Align::Center,
                                    pulldown_cmark::Alignment::Right => Align::End,
                                })
                                .collect(),
                            head: vec![],
                            rows: vec![],
                            span,
                        },
                        Tag::TableHead | Tag::TableRow => Frame::Row {
                            cells: vec![],
                            span,
                        },
                        Tag::TableCell => Frame::Inlines {
                            tag: Open::Cell,
                            inlines: vec![],
                            span,
                        },
                        Tag::HtmlBlock => Frame::Inlines {
                            tag: Open::Para,
                            inlines: vec![],
                            span,
                        },
                        _ => Frame::Inlines {
                            tag: Open::Other,
                            inlines: vec![],
                            span,
                        },
                    };
                    // A code block's frame remembers it is code through the marker inline.
                    let frame = self.limit_depth(frame, span);
                    stack.push(frame);
                }
                Event::End(end) => {
                    // The root frame is never closed by an event.
                    if stack.len() < 2 {
                        continue;
                    }
                    let Some(frame) = stack.pop() else { continue };
                    if let Frame::Blocks { tag, .. } | Frame::Inlines { tag, .. } = &frame
                        && tag.nests()
                    {
                        self.depth -= 1;
                    }
                    self.close(frame, end, &mut stack);
                }
                Event::Text(t) => self.push_inline(
                    &mut stack,
                    Inline::Text {
                        text: t.to_string(),
                        span,
                    },
                ),
                Event::Code(t) => self.push_inline(
                    &mut stack,
                    Inline::Code {
                        text: t.to_string(),
                        span,
                    },
                ),
                Event::Html(t) | Event::InlineHtml(t) => {
                    self.warn(
                        "raw-html",
                        span,
                        format!("raw HTML `{}` kept as literal text", t.trim()),
                        "write the text without HTML tags",
                    );
                    self.push_inline(
                        &mut stack,
                        Inline::Text {
                            text: t.to_string(),
                            span,
                        },
                    );
                }
                Event::SoftBreak => self.push_inline(
                    &mut stack,
                    Inline::Text {
                        text: " ".into(),
                        span,
                    },
                ),
                Event::HardBreak => self.push_inline(&mut stack, Inline::LineBreak { span }),
                Event::FootnoteReference(label) => self.push_inline(
                    &mut stack,
                    Inline::NoteRef {
                        label: label.to_string(),
                        span,
                    },
                ),
                Event::Rule => self.push_block(&mut stack, Block::Break { span }),
                Event::TaskListMarker(done) => self.push_inline(
                    &mut stack,
                    Inline::Text {
                        text: if done { "☑ " } else { "☐ " }.into(),
                        span,
                    },
                ),
                Event::InlineMath(t) | Event::DisplayMath(t) => self.push_inline(
                    &mut stack,
                    Inline::Code {
                        text: t.to_string(),
                        span,
                    },
                ),
            }
        }
        match stack.pop() {
            Some(Frame::Blocks { blocks, .. }) => blocks,
            _ => Vec::new(),
        }
    }

    /// Count a nesting container, or flatten it when it would nest deeper than
    /// [`MAX_NESTING`]. A footnote definition is never flattened (its label must survive);
    /// what it holds is, since the depth is already at the cap.
    fn limit_depth(&mut self, frame: Frame, span: Span) -> Frame {
        // Tables and rows are not nesting containers (they hold no quotes or lists).
        let tag = match &frame {
            Frame::Blocks { tag, .. } | Frame::Inlines { tag, .. } => tag,
            _ => return frame,
        };
        if !tag.nests() {
            return frame;
        }
        if self.depth < MAX_NESTING || matches!(tag, Open::Footnote(_)) {
            self.depth += 1;
            return frame;
        }
        let (line, count) = self.too_deep.get_or_insert((span.line, 0));
        let _ = line;
        *count += 1;
        match frame {
            Frame::Blocks { blocks, span, .. } => Frame::Blocks {
                tag: Open::Flat,
                blocks,
                span,
            },
            Frame::Inlines { inlines, span, .. } => Frame::Inlines {
                tag: Open::Other,
                inlines,
                span,
            },
            other => other,
        }
    }

    fn push_inline(&mut self, stack: &mut [Frame], inline: Inline) {
        match stack.last_mut() {
            Some(Frame::Inlines { inlines, .. }) => {
                // Merge adjacent text so the model stays small.
                if let (
                    Some(Inline::Text {
                        text: prev,
                        span: ps,
                    }),
                    Inline::Text { text, span },
                ) = (inlines.last_mut(), &inline)
                    && (ps.end == span.start || text == " " || prev.ends_with(' '))
                {
                    prev.push_str(text);
                    ps.end = span.end.max(ps.end);
                    return;
                }
                inlines.push(inline)
            }
            Some(Frame::Blocks { blocks, .. }) => {
                // Tight list items hold text directly: wrap it in a paragraph.
                let span = match &inline {
                    Inline::Text { span, .. }
                    | Inline::Code { span, .. }
                    | Inline::LineBreak { span }
                    | Inline::NoteRef { span, .. } => *span,
                    Inline::Emph { span, .. }
                    | Inline::Strong { span, .. }
                    | Inline::Link { span, .. }
                    | Inline::Image { span, .. } => *span,
                };
                if let Some(Block::Para { content, span: ps }) = blocks.last_mut() {
                    content.push(inline);
                    ps.end = span.end.max(ps.end);
                    return;
                }
                blocks.push(Block::Para {
                    content: vec![inline],
                    span,
                });
            }
            Some(Frame::Table { .. } | Frame::Row { .. }) | None => {}
        }
    }

    fn push_block(&mut self, stack: &mut [Frame], block: Block) {
        match stack.last_mut() {
            Some(Frame::Blocks { blocks, .. }) => blocks.push(block),
            Some(Frame::Inlines { .. } | Frame::Table { .. } | Frame::Row { .. }) | None => {}
        }
    }

    /// Cells typed on a table row's line (unescaped `|` outside the outer pipes), to tell
    /// ragged rows apart: pulldown-cmark pads and truncates them silently.
    fn typed_cells(&self, span: Span) -> usize {
        let start = span.start.saturating_sub(self.base);
        let line = self.body.get(start..).unwrap_or("");
        let line = line.split('\n').next().unwrap_or("").trim();
        let line = line.strip_prefix('|').unwrap_or(line);
        let bytes = line.as_bytes();
        let mut pipes = Vec::new();
        let mut escaped = false;
        for (i, b) in bytes.iter().enumerate() {
            match b {
                b'\\' if !escaped => escaped = true,
                b'|' if !escaped => {
                    pipes.push(i);
                    escaped = false
                }
                _ => escaped = false,
            }
        }
        // A closing pipe ends the row rather than starting a cell.
        let trailing = pipes
            .last()
            .is_some_and(|&i| line[i + 1..].trim().is_empty());
        pipes.len() + 1 - usize::from(trailing)
    }

    fn close(&mut self, frame: Frame, end: TagEnd, stack: &mut [Frame]) {
        match frame {
            Frame::Table {
                align,
                head,
                rows,
                span,
            } => self.push_block(
                stack,
                Block::Table {
                    caption: vec![],
                    align,
                    head,
                    rows,
                    attr: Attr::default(),
                    span,
                },
            ),
            Frame::Row { mut cells, span } => {
                if let Some(Frame::Table {
                    align, head, rows, ..
                }) = stack.last_mut()
                {
                    let columns = align.len();
                    if end == TagEnd::TableHead {
                        cells.resize(columns, Vec::new());
                        *head = cells;
                        return;
                    }
                    let typed = self.typed_cells(span);
                    if typed != columns {
                        let what = if typed < columns {
                            "empty cells added at its end"
                        } else {
                            "the extra cells are left out"
                        };
                        self.diags.push(
                            Diagnostic::warning(
                                "table-ragged",
                                format!("table row has {typed} cells but the header has {columns}; {what}"),
                            )
                            .file(self.file)
                            .line(span.line)
                            .hint("give every row as many `|` cells as the header row"),
                        );
                    }
                    cells.resize(columns, Vec::new());
                    rows.push(cells);
                }
            }
            Frame::Inlines {
                tag: Open::Cell,
                inlines,
                ..
            } => {
                if let Some(Frame::Row { cells, .. }) = stack.last_mut() {
                    cells.push(inlines);
                }
            }
            Frame::Inlines { tag, inlines, span } => match (tag, end) {
                (Open::Para, _) => {
                    // pandoc's implicit figure: a paragraph holding only an image.
                    if let [Inline::Image { image, .. }] = inlines.as_slice() {
                        let caption = if image.alt.is_empty() {
                            vec![]
                        } else {
                            vec![Inline::text(image.alt.clone(), span)]
                        };
                        let image = image.clone();
                        self.push_block(
                            stack,
                            Block::Figure {
                                image,
                                caption,
                                attr: Attr::default(),
                                span,
                            },
                        );
                    } else if let Some(caption) = table_caption(stack, &inlines) {
                        *caption = strip_caption_prefix(inlines);
                    } else if !inlines.is_empty() {
                        self.push_block(
                            stack,
                            Block::Para {
                                content: inlines,
                                span,
                            },
                        )
                    }
                }
                (Open::Image(mut image), _) => {
                    image.alt = Inline::plain(&inlines).trim().to_owned();
                    self.push_inline(stack, Inline::Image { image, span });
                }
                (Open::Heading(level, attr), _) => self.push_block(
                    stack,
                    Block::Heading {
                        level,
                        content: inlines,
                        attr,
                        span,
                    },
                ),
                (Open::Other, TagEnd::CodeBlock) => {
                    let mut it = inlines.into_iter();
                    let lang = match it.next() {
                        Some(Inline::Code { text, .. }) if !text.is_empty() => Some(text),
                        _ => None,
                    };
                    let text: String = it
                        .map(|i| match i {
                            Inline::Text { text, .. } | Inline::Code { text, .. } => text,
                            _ => String::new(),
                        })
                        .collect();
                    self.push_block(stack, Block::Code { text, lang, span });
                }
                (Open::Emph, _) => self.push_inline(
                    stack,
                    Inline::Emph {
                        content: inlines,
                        span,
                    },
                ),
                (Open::Strong, _) => self.push_inline(
                    stack,
                    Inline::Strong {
                        content: inlines,
                        span,
                    },
                ),
                (Open::Link(Some(url)), _) => self.push_inline(
                    stack,
                    Inline::Link {
                        url,
                        content: inlines,
                        span,
                    },
                ),
                (Open::Link(None), _) | (Open::Cell, _) | (Open::Other, _) => {
                    for i in inlines {
                        self.push_inline(stack, i);
                    }
                }
                (_, _) => {
                    for i in inlines {
                        self.push_inline(stack, i);
                    }
                }
            },
            Frame::Blocks { tag, blocks, span } => match tag {
                Open::Quote => self.push_block(stack, Block::Quote { blocks, span }),
                Open::Footnote(label) => self.push_block(
                    stack,
                    Block::Footnote {
                        label,
                        blocks,
                        span,
                    },
                ),
                Open::Item => {
                    if let Some(Frame::Blocks {
                        tag: Open::List(_, items),
                        ..
                    }) = stack.last_mut()
                    {
                        items.push(blocks);
                    } else {
                        // An item of a list flattened for depth: its blocks join the parent.
                        for b in blocks {
                            self.push_block(stack, b);
                        }
                    }
                }
                Open::List(start, items) => {
                    self.push_block(stack, Block::List { start, items, span })
                }
                _ => {
                    for b in blocks {
                        self.push_block(stack, b);
                    }
                }
            },
        }
    }
}

/// The caption slot of a caption-less table just before a paragraph that starts with a caption
/// prefix (`Table: …`), if that is what `inlines` is.
fn table_caption<'s>(stack: &'s mut [Frame], inlines: &[Inline]) -> Option<&'s mut Vec<Inline>> {
    let Some(Inline::Text { text, .. }) = inlines.first() else {
        return None;
    };
    if !CAPTION_PREFIXES.iter().any(|p| text.starts_with(p)) {
        return None;
    }
    match stack.last_mut() {
        Some(Frame::Blocks { blocks, .. }) => match blocks.last_mut() {
            Some(Block::Table { caption, .. }) if caption.is_empty() => Some(caption),
            _ => None,
        },
        _ => None,
    }
}

/// The caption text without its `Table:` prefix.
fn strip_caption_prefix(mut inlines: Vec<Inline>) -> Vec<Inline> {
    if let Some(Inline::Text { text, .. }) = inlines.first_mut()
        && let Some(p) = CAPTION_PREFIXES.iter().find(|p| text.starts_with(*p))
    {
        *text = text[p.len()..].trim_start().to_owned();
        if text.is_empty() {
            inlines.remove(0);
        }
    }
    inlines
}

/// Shift heading levels so the highest heading in the body is level 1 (a part whose sections
/// start at `##` still gets headings in order below the part title).
pub(crate) fn shift_headings(blocks: &mut [Block]) {
    fn min_level(blocks: &[Block]) -> Option<u8> {
        blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading { level, .. } => Some(*level),
                Block::Quote { blocks, .. } | Block::Footnote { blocks, .. } => min_level(blocks),
                Block::List { items, .. } => items.iter().filter_map(|i| min_level(i)).min(),
                _ => None,
            })
            .min()
    }
    fn shift(blocks: &mut [Block], by: u8) {
        for b in blocks {
            match b {
                Block::Heading { level, .. } => *level -= by,
                Block::Quote { blocks, .. } | Block::Footnote { blocks, .. } => shift(blocks, by),
                Block::List { items, .. } => items.iter_mut().for_each(|i| shift(i, by)),
                _ => {}
            }
        }
    }
    if let Some(min) = min_level(blocks) {
        shift(blocks, min - 1);
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_nesting_is_counted_outside_strings_and_comments() {
        let deep = format!("a: 1\ntags: {}{}\n", "[".repeat(33), "]".repeat(33));
        assert_eq!(flow_too_deep(&deep), Some((1, 33)));
        let ok = format!("tags: {}{}\n", "[".repeat(32), "]".repeat(32));
        assert_eq!(flow_too_deep(&ok), None);
        // Brackets in strings and comments are text.
        let quoted = format!(
            "title: \"{}\"\nx: '{}'\n# {}\n",
            "[".repeat(40),
            "{".repeat(40),
            "[".repeat(40)
        );
        assert_eq!(flow_too_deep(&quoted), None);
        // An escaped quote does not end the string.
        assert_eq!(
            flow_too_deep(&format!("t = \"\\\"{}\"", "[".repeat(40))),
            None
        );
    }
}
