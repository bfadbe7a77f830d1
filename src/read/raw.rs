//! Reader for raw scraped text (`*.txt`): title line with part marker, author, section heading,
//! paragraphs separated by blank lines, website junk removed and reported.

use super::{ReadResult, SourceFile};
use crate::diag::Diagnostic;
use crate::model::{Block, Inline, Part, Span};
use crate::read::arabic;
use crate::theme::JunkConfig;

/// One physical line of the source.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// Text without the line ending, trimmed of surrounding whitespace.
    text: &'a str,
    /// Byte offset of `text` in the source.
    start: usize,
    /// 1-based line number.
    number: u32,
}

impl Line<'_> {
    fn span(&self) -> Span {
        Span {
            start: self.start,
            end: self.start + self.text.len(),
            line: self.number,
        }
    }
    fn is_blank(&self) -> bool {
        self.text.is_empty()
    }
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let without_cr = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed_start = without_cr.trim_start_matches(is_trim);
        let lead = without_cr.len() - trimmed_start.len();
        let trimmed = trimmed_start.trim_end_matches(is_trim);
        out.push(Line {
            text: trimmed,
            start: offset + lead,
            number: i as u32 + 1,
        });
        offset += raw.len() + 1;
    }
    out
}

/// Whitespace trimmed from line ends: Unicode white space and a stray BOM, never ZWNJ/ZWJ or
/// direction marks (those are text).
fn is_trim(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

/// Punctuation that ends a sentence; a line ending in one is not a heading.
fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end_matches(['»', '"', '”', ')', ']', '\'', '’', '\u{200F}', '\u{200E}']);
    t.ends_with(['.', '!', '?', '؟', '…', ':', '؛', ';', '،', ','])
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Most words a subheading has; a longer line without final punctuation is a sentence.
const HEADING_MAX_WORDS: usize = 9;

/// Most words a verse line (a hemistich, or a whole bayt) has.
const VERSE_MAX_WORDS: usize = 12;

/// A subheading: a short line of words without final punctuation. Not a heading: a URL or a
/// path (`https://…`, `www.…`, `a/b`), a number or measure (`150٪`, `2024`, `٣٥ كم`), a line
/// with fewer letters than other characters, or a sentence of more than
/// [`HEADING_MAX_WORDS`] words.
fn is_heading_like(text: &str) -> bool {
    let n = word_count(text);
    (1..=HEADING_MAX_WORDS).contains(&n)
        && !ends_sentence(text)
        && !is_link_like(text)
        && has_words(text)
}

/// Does `text` look like a URL, an e-mail address or a path rather than words?
fn is_link_like(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    t.contains("://")
        || t.starts_with("www.")
        || t.split_whitespace().any(|w| {
            w.contains('@') && w.contains('.')
                || (w.contains('/') && w.chars().filter(|c| c.is_alphabetic()).count() > 2)
                || (w.starts_with("www.") || w.ends_with(".com") || w.ends_with(".org"))
        })
}

/// Are most of `text`'s characters letters, with at least one word of two letters or more?
/// Numbers, percentages and measures (`150٪`, `٣٥ كم`) are not headings.
fn has_words(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let other = text
        .chars()
        .filter(|c| !c.is_alphabetic() && !c.is_whitespace() && !is_mark(*c))
        .count();
    let long_word = text.split_whitespace().any(|w| {
        w.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !w.chars().any(|c| c.is_numeric())
    });
    let words = text
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphabetic()) && !w.chars().any(|c| c.is_numeric()))
        .count();
    long_word && letters > other && words * 2 >= word_count(text)
}

/// Combining marks (tashkeel, niqqud): neither letters nor punctuation.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0591..=0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED | 0x08D3..=0x08FF)
}

/// A group of lines that is verse: two or more short lines (at most [`VERSE_MAX_WORDS`]
/// words), none ending with sentence punctuation, none a link. Prose hard-wrapped by a website
/// has long lines, or ends its last line with a full stop.
fn is_verse(group: &[Line<'_>]) -> bool {
    group.len() >= 2
        && group.iter().all(|l| {
            (1..=VERSE_MAX_WORDS).contains(&word_count(l.text))
                && !ends_sentence(l.text)
                && !is_link_like(l.text)
        })
}

fn junk_key(text: &str) -> String {
    arabic::fold(text.trim_end_matches([':', '：', ' ', '.', '…']).trim())
}

/// Lines longer than this are text, never a junk line or the start of a junk block.
const MAX_JUNK_LINE_BYTES: usize = 200;

/// Mark junk lines. Returns one flag per line and the diagnostics describing what was removed.
fn find_junk(lines: &[Line<'_>], junk: &JunkConfig, file: &str) -> (Vec<bool>, Vec<Diagnostic>) {
    let mut is_junk = vec![false; lines.len()];
    let mut diags = Vec::new();
    let line_keys: Vec<String> = junk.lines.iter().map(|l| junk_key(l)).collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.is_blank() {
            i += 1;
            continue;
        }
        // Junk lines and block starts are short: long lines (paragraphs) are never compared.
        if line.text.len() > MAX_JUNK_LINE_BYTES {
            i += 1;
            continue;
        }
        let key = junk_key(line.text);
        if line_keys.contains(&key) {
            is_junk[i] = true;
            diags.push(
                Diagnostic::warning(
                    "junk-removed",
                    format!("removed website line «{}»", line.text),
                )
                .file(file)
                .line(line.number),
            );
            i += 1;
            continue;
        }
        let block = junk
            .blocks
            .iter()
            .find(|b| b.start.iter().any(|s| junk_key(s) == key));
        if let Some(block) = block {
            let item_keys: Vec<String> = block.items.iter().map(|s| junk_key(s)).collect();
            let is_item = |text: &str| {
                if item_keys.is_empty() {
                    word_count(text) <= block.max_item_words.unwrap_or(20)
                } else {
                    // A line may hold several network names: «فيسبوك تويتر واتساب».
                    let k = junk_key(text);
                    item_keys.contains(&k)
                        || text
                            .split(['|', '·', '•', ','])
                            .map(junk_key)
                            .all(|p| p.is_empty() || item_keys.contains(&p))
                            && text.split(['|', '·', '•', ',']).count() > 1
                }
            };
            let mut j = i + 1;
            let mut last_item = None;
            while j < lines.len() {
                if lines[j].is_blank() {
                    j += 1;
                    continue;
                }
                if is_item(lines[j].text) && !line_keys.contains(&junk_key(lines[j].text)) {
                    last_item = Some(j);
                    j += 1;
                } else {
                    break;
                }
            }
            let only_blank_after = lines[i + 1..].iter().all(|l| l.is_blank());
            if let Some(end) = last_item.or(only_blank_after.then_some(i)) {
                for flag in &mut is_junk[i..=end] {
                    *flag = true;
                }
                let range = if end > i {
                    format!("lines {}–{}", line.number, lines[end].number)
                } else {
                    format!("line {}", line.number)
                };
                diags.push(
                    Diagnostic::warning(
                        "junk-removed",
                        format!("removed {} «{}» ({range})", block.name, line.text),
                    )
                    .file(file)
                    .line(line.number),
                );
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    (is_junk, diags)
}

/// What line 1 says: series title, part number and any text after the number.
#[derive(Debug, Default, PartialEq)]
pub struct TitleLine {
    /// Series title (before the marker).
    pub series: Option<String>,
    /// Part number read from the marker.
    pub number: Option<u32>,
    /// Text after the number (a part title some sites put on line 1).
    pub rest: Option<String>,
}

/// Split a title line such as «وهم الخلافة… الجزءالرابع عشر» into series title and number.
pub fn parse_title_line(text: &str) -> TitleLine {
    let seps: &[char] = &[
        ' ', ':', '-', '–', '—', '|', '،', ',', '(', ')', '\u{200F}', '\u{200E}',
    ];
    match arabic::find_marker(text) {
        Some((start, end)) => {
            let number = arabic::parse_number(&text[end..]);
            let series = text[..start]
                .trim_end_matches(seps)
                .trim_end_matches(is_trim);
            let series = series.trim_end_matches(['(', '[']).trim_end();
            let rest = number
                .as_ref()
                .map(|m| {
                    text[end + m.len..]
                        .trim_start_matches(seps)
                        .trim_end_matches([')', ' '])
                })
                .unwrap_or("");
            TitleLine {
                series: (!series.is_empty()).then(|| series.to_owned()),
                number: number.map(|m| m.value),
                rest: (!rest.is_empty()).then(|| rest.to_owned()),
            }
        }
        None => TitleLine {
            series: Some(text.to_owned()),
            number: None,
            rest: None,
        },
    }
}

/// A part number from a file name: a token of digits (≥ 1) such as `part-14.txt` or `١٤.txt`.
pub fn number_from_file_name(path: &str) -> Option<u32> {
    let stem = path.rsplit('/').next().unwrap_or(path);
    let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
    if let Some((_, end)) = arabic::find_marker(stem)
        && let Some(m) = arabic::parse_number(&stem[end..])
    {
        return Some(m.value);
    }
    stem.split(|c: char| !c.is_alphanumeric())
        .filter_map(|tok| {
            let m = arabic::parse_number(tok)?;
            (m.len == tok.len() && m.value >= 1).then_some(m.value)
        })
        .next_back()
}

/// Read a raw scraped text part.
pub fn read(src: &SourceFile, text: &str, junk: &JunkConfig) -> ReadResult {
    let file = src.path.as_str();
    let lines = split_lines(text);
    let (is_junk, mut diags) = find_junk(&lines, junk, file);
    let content: Vec<(usize, Line<'_>)> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !is_junk[*i])
        .map(|(i, l)| (i, *l))
        .collect();
    let mut nonblank = content.iter().filter(|(_, l)| !l.is_blank());

    let Some((_, title_line)) = nonblank.next().copied() else {
        let what = if lines.iter().all(|l| l.is_blank()) {
            "the file is empty"
        } else {
            "the file holds only website junk"
        };
        diags.push(
            Diagnostic::error("empty-source", format!("{what}: no title, no text"))
                .file(file)
                .hint("remove the file, or put the part's text in it"),
        );
        return ReadResult {
            part: None,
            diagnostics: diags,
        };
    };
    let title = parse_title_line(title_line.text);
    let mut number = title.number;
    if number.is_none() {
        number = number_from_file_name(file);
        let msg = match number {
            Some(n) => format!(
                "no part marker (such as «الجزء الأول») on line 1; using part number {n} from the file name"
            ),
            None => {
                "no part marker (such as «الجزء الأول») on line 1 and no number in the file name"
                    .to_owned()
            }
        };
        diags.push(
            Diagnostic::warning("no-part-number", msg)
                .file(file)
                .line(title_line.number)
                .hint("write the part number on line 1 after the series title, e.g. «… الجزء الرابع عشر»"),
        );
    }

    // Author: the next non-empty line, when it is short and unpunctuated.
    let mut rest: Vec<Line<'_>> = Vec::new();
    let mut author = None;
    let mut heading = None;
    for (_, line) in content
        .iter()
        .skip_while(|(_, l)| l.number <= title_line.number)
    {
        rest.push(*line);
    }
    let mut idx = 0;
    fn next_nonblank<'a>(idx: &mut usize, rest: &[Line<'a>]) -> Option<Line<'a>> {
        while *idx < rest.len() && rest[*idx].is_blank() {
            *idx += 1;
        }
        rest.get(*idx).copied()
    }
    if let Some(l) = next_nonblank(&mut idx, &rest)
        && word_count(l.text) <= 6
        && !ends_sentence(l.text)
    {
        author = Some(l.text.to_owned());
        idx += 1;
    }
    if author.is_none() {
        diags.push(
            Diagnostic::warning("no-author", "no author line after the title line")
                .file(file)
                .line(title_line.number + 1)
                .hint("put the author's name alone on the line after the title"),
        );
    }
    if let Some(l) = next_nonblank(&mut idx, &rest)
        && is_heading_like(l.text)
    {
        heading = Some(l);
        idx += 1;
    }
    let part_title = match (heading, &title.rest) {
        (Some(h), _) => vec![Inline::text(h.text, h.span())],
        (None, Some(r)) => vec![Inline::text(r.clone(), title_line.span())],
        (None, None) => {
            diags.push(
                Diagnostic::warning("no-part-title", "no section heading before the first paragraph")
                    .file(file)
                    .line(title_line.number)
                    .hint("put the part's title, a short line without final punctuation, after the author"),
            );
            Vec::new()
        }
    };

    let blocks = body_blocks(&rest[idx..]);
    if blocks.is_empty() {
        diags.push(
            Diagnostic::error("empty-source", "the part has a title but no text")
                .file(file)
                .line(title_line.number)
                .hint("add the part's paragraphs after the heading"),
        );
    }
    // Raw text names no language: the letters decide where they are sure (`src/bidi.rs`).
    let (lang, unsure) = crate::bidi::part_lang(text, file);
    diags.extend(unsure);
    let part = Part {
        number,
        title: part_title,
        series: title.series,
        author,
        dir: lang.default_dir(),
        lang,
        source: src.source.clone(),
        blocks,
        leading_heading: false,
    };
    ReadResult {
        part: Some(part),
        diagnostics: diags,
    }
}

/// Paragraph groups (separated by blank lines) → blocks.
fn body_blocks(lines: &[Line<'_>]) -> Vec<Block> {
    let groups: Vec<&[Line<'_>]> = lines
        .split(|l| l.is_blank())
        .filter(|g| !g.is_empty())
        .collect();
    let mut blocks = Vec::new();
    for (gi, group) in groups.iter().enumerate() {
        let is_last = gi + 1 == groups.len();
        if group.len() == 1 && !is_last && is_heading_like(group[0].text) {
            let l = group[0];
            blocks.push(Block::Heading {
                level: 1,
                content: vec![Inline::text(l.text, l.span())],
                attr: Default::default(),
                span: l.span(),
            });
            continue;
        }
        if is_verse(group) {
            let first = group[0];
            let last = group[group.len() - 1];
            blocks.push(Block::Verse {
                lines: group
                    .iter()
                    .map(|l| vec![Inline::text(l.text, l.span())])
                    .collect(),
                span: Span {
                    start: first.start,
                    end: last.start + last.text.len(),
                    line: first.number,
                },
            });
            continue;
        }
        // Lines that each end a sentence are paragraphs of their own (one <p> per line on the
        // web page); otherwise the group is one hard-wrapped paragraph, joined with spaces.
        if group.len() > 1 && group.iter().all(|l| ends_sentence(l.text)) {
            for l in group.iter() {
                blocks.push(Block::Para {
                    content: vec![Inline::text(l.text, l.span())],
                    span: l.span(),
                });
            }
        } else {
            let first = group[0];
            let last = group[group.len() - 1];
            let span = Span {
                start: first.start,
                end: last.start + last.text.len(),
                line: first.number,
            };
            let text = group.iter().map(|l| l.text).collect::<Vec<_>>().join(" ");
            blocks.push(Block::Para {
                content: vec![Inline::text(text, span)],
                span,
            });
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_need_words() {
        for h in [
            "عنوان فرعي قصير",
            "من الموصل إلى سقوط الرقة",
            "الفصل 3",
            "Firefox",
        ] {
            assert!(is_heading_like(h), "{h}");
        }
        for p in [
            "150٪",
            "٣٥ كم",
            "2024",
            "https://example.org/a",
            "www.example.org",
            "وقد أعلنت الحكومة أمس أنها ستبدأ تنفيذ الخطة الجديدة خلال الأسبوع المقبل",
            "نهاية الجملة.",
        ] {
            assert!(!is_heading_like(p), "{p}");
        }
    }

    #[test]
    fn glued_marker() {
        let t = parse_title_line("وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار! الجزءالرابع عشر");
        assert_eq!(t.number, Some(14));
        assert_eq!(
            t.series.as_deref(),
            Some("وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار!")
        );
        assert_eq!(t.rest, None);
    }

    #[test]
    fn file_name_numbers() {
        assert_eq!(number_from_file_name("sources/part-14.txt"), Some(14));
        assert_eq!(
            number_from_file_name("sources/000_45698de3c11125b4.txt"),
            None
        );
        assert_eq!(number_from_file_name("sources/الجزء-٣.txt"), Some(3));
    }
}
