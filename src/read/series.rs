//! Series assembly: parts → a [`Book`], ordered by part number, with gaps, duplicates and
//! mismatched series titles reported.

use crate::config::BookConfig;
use crate::diag::Diagnostic;
use crate::model::{Block, Book, Dir, Lang, Meta, Part};
use std::collections::BTreeMap;

/// Build date and timestamp for the book (from config or `SOURCE_DATE_EPOCH`).
#[derive(Debug, Clone)]
pub struct BuildDate {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
}

/// Order the parts and derive the book metadata. Errors (duplicates) are returned as
/// diagnostics; the book is still assembled so every problem is reported in one run.
pub fn assemble(
    mut parts: Vec<Part>,
    config: &BookConfig,
    date: BuildDate,
) -> (Book, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    titles_from_headings(&mut parts);
    // Stable sort: numbered parts by number, then unnumbered ones in file order.
    parts.sort_by_key(|p| (p.number.is_none(), p.number.unwrap_or(0)));

    let mut by_number: BTreeMap<u32, &Part> = BTreeMap::new();
    for part in &parts {
        let Some(n) = part.number else { continue };
        if let Some(first) = by_number.get(&n) {
            diags.push(
                Diagnostic::error(
                    "duplicate-part",
                    format!(
                        "part {n} is in two files: {} and {}",
                        first.source.path, part.source.path
                    ),
                )
                .file(part.source.path.clone())
                .line(1)
                .hint("remove one of the files or correct its part number"),
            );
        } else {
            by_number.insert(n, part);
        }
    }
    for (&n, part) in by_number.range(MAX_PART_NUMBER + 1..) {
        diags.push(
            Diagnostic::warning(
                "part-number-too-large",
                format!("part number {n} is larger than {MAX_PART_NUMBER}; is it a typo?"),
            )
            .file(part.source.path.clone())
            .line(1)
            .hint("check the part marker, the front matter `part` or the number in the file name"),
        );
    }
    // Gaps as ranges between the numbers present: no work per missing number.
    let mut gaps: Vec<(u32, u32)> = Vec::new();
    let mut next = 1u32;
    for &n in by_number.keys() {
        if n > next {
            gaps.push((next, n - 1));
        }
        next = n.saturating_add(1);
    }
    {
        if !gaps.is_empty() {
            diags.push(
                Diagnostic::warning(
                    "series-gap",
                    format!("the series has no part {}", gap_ranges(&gaps)),
                )
                .hint("add the missing parts to the sources folder, or ignore this if the book is a selection"),
            );
        }
    }

    let series = most_common(parts.iter().filter_map(|p| p.series.as_deref()));
    if let Some(series) = &series {
        for part in &parts {
            if let Some(s) = &part.series
                && crate::read::arabic::fold(s) != crate::read::arabic::fold(series)
            {
                diags.push(
                    Diagnostic::warning(
                        "series-mismatch",
                        format!("series title «{s}» differs from the other parts' «{series}»"),
                    )
                    .file(part.source.path.clone())
                    .line(1)
                    .hint("check that this part belongs to the series"),
                );
            }
        }
    }
    let author = most_common(parts.iter().filter_map(|p| p.author.as_deref()));
    let lang = config
        .language
        .clone()
        .map(Lang)
        .or_else(|| most_common(parts.iter().map(|p| p.lang.as_str())).map(Lang))
        .unwrap_or_default();
    let dir = match config.dir.as_deref() {
        Some("ltr") => Dir::Ltr,
        Some("rtl") => Dir::Rtl,
        _ => lang.default_dir(),
    };
    let title = config
        .title
        .clone()
        .or(series)
        .or_else(|| {
            parts
                .first()
                .map(|p| p.title_text())
                .filter(|t| !t.is_empty())
        })
        .unwrap_or_else(|| "كتاب".to_owned());
    let meta = Meta {
        title,
        subtitle: config.subtitle.clone(),
        author: config.author.clone().or(author),
        lang,
        dir,
        identifier: config.identifier.clone(),
        date: config.date.clone().unwrap_or(date.date),
        timestamp: date.timestamp,
        publisher: config.publisher.clone(),
        rights: config.rights.clone(),
        keywords: config.keywords.clone().unwrap_or_default(),
        slug: config.slug.clone().unwrap_or_else(|| "book".to_owned()),
    };
    (
        Book {
            meta,
            parts,
            assets: Default::default(),
        },
        diags,
    )
}

/// Part titles when the front matter of every part gives the series name as `title`.
///
/// The rule: if there are at least two parts, every part's title is the same (compared
/// [folded](crate::read::arabic::fold)), and at least one part's body opens with a `#` heading
/// ([`Part::leading_heading`]), that shared title is the series title, not a part title. Each
/// part that opens with a `#` heading takes it as its title (it leaves the body, whose
/// headings move up a level so its `##` sections are the model's level 1); a part without
/// one keeps the shared title. When no part names its `series`, the shared title becomes
/// every part's, so the book is still called by it. Titles that differ between parts are always the
/// parts' own, and a `#` heading under them stays a heading of the body.
pub fn titles_from_headings(parts: &mut [Part]) {
    use crate::read::arabic::fold;
    if parts.len() < 2 || !parts.iter().any(|p| p.leading_heading) {
        return;
    }
    let shared = parts[0].title_text();
    let key = fold(shared.trim());
    if key.is_empty() || parts.iter().any(|p| fold(p.title_text().trim()) != key) {
        return;
    }
    // Parts that name their series keep it (a `series` warning stays about what they say).
    let named = parts.iter().any(|p| p.series.is_some());
    for part in parts.iter_mut() {
        if !named {
            part.series = Some(shared.trim().to_owned());
        }
        if !part.leading_heading {
            continue;
        }
        // The heading is the first of the body: only a lead image can stand before it.
        let Some(i) = part
            .blocks
            .iter()
            .position(|b| matches!(b, Block::Heading { .. }))
        else {
            continue;
        };
        if let Block::Heading { content, .. } = part.blocks.remove(i) {
            part.title = content;
        }
        part.leading_heading = false;
        crate::read::markdown::shift_headings(&mut part.blocks);
    }
}

/// Part numbers above this are reported as probable typos (`part-number-too-large`); they
/// still build, since nothing is allocated per number.
pub const MAX_PART_NUMBER: u32 = 100_000;

/// The most frequent value (ties: the first seen), in one pass over the values.
fn most_common<'a>(values: impl Iterator<Item = &'a str>) -> Option<String> {
    // value → (count, first position)
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, v) in values.enumerate() {
        counts.entry(v).or_insert((0, i)).0 += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, (n, first))| (*n, std::cmp::Reverse(*first)))
        .map(|(k, _)| k.to_owned())
}

/// «1–13, 15» for sorted, disjoint inclusive ranges; long lists are cut after a few dozen.
fn gap_ranges(gaps: &[(u32, u32)]) -> String {
    const SHOWN: usize = 30;
    let mut out: Vec<String> = gaps
        .iter()
        .take(SHOWN)
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}–{b}")
            }
        })
        .collect();
    if gaps.len() > SHOWN {
        out.push(format!("and {} more gaps", gaps.len() - SHOWN));
    }
    out.join(", ")
}

/// «1–13, 15» for a sorted list of numbers.
pub fn ranges(numbers: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end + 1 {
            i += 1;
            end = numbers[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    out.join(", ")
}
