//! Series assembly: parts → a [`Book`], ordered by part number, with gaps, duplicates and
//! mismatched series titles reported.

use crate::config::BookConfig;
use crate::diag::Diagnostic;
use crate::model::{Book, Dir, Lang, Meta, Part};
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
    if let Some((&max, _)) = by_number.last_key_value() {
        let missing: Vec<u32> = (1..max).filter(|n| !by_number.contains_key(n)).collect();
        if !missing.is_empty() {
            diags.push(
                Diagnostic::warning(
                    "series-gap",
                    format!("the series has no part {}", ranges(&missing)),
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

/// The most frequent value (ties: the first seen).
fn most_common<'a>(values: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(k, _)| *k == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(k, _)| k.to_owned())
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
