//! Volumes of the print edition: which parts go into which binding.
//!
//! `[[volume]]` tables name the parts of each volume; `[print] max-pages` splits between parts
//! (never inside one). The page counts are not known before typesetting, and typesetting the
//! whole book first would cost the time the volumes save (each volume is one typst compile,
//! and they run in parallel). So the first split packs parts by their estimated pages with a
//! safety margin; a volume that still comes out too long is split again by the pages its
//! parts really took, and only those pieces are typeset again.

use std::ops::Range;

/// One volume: its parts (positions in the book) and its title.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// Parts it holds, 0-based positions in the series.
    pub parts: Range<usize>,
    /// Title on its title page and cover («المجلد الأول»).
    pub title: String,
}

/// Share of `max-pages` the first, estimated split aims at: estimates are off by a few
/// percent either way, and a second layout of a volume costs more than a slightly thinner one.
pub const FIRST_FILL: f64 = 0.9;

/// Rounds of re-splitting a volume that came out too long, before giving up with a warning
/// (a single part longer than `max-pages` cannot be split).
pub const MAX_ROUNDS: usize = 3;

/// The default title of volume `n` (1-based): «المجلد الأول» for Arabic books, `Volume 1`
/// otherwise.
pub fn default_title(n: usize, arabic: bool) -> String {
    if arabic {
        match crate::read::arabic::ordinal_words(n as u32) {
            Some(w) => format!("المجلد {w}"),
            None => format!("المجلد {n}"),
        }
    } else {
        format!("Volume {n}")
    }
}

/// Pack parts of `pages` estimated pages each into volumes of at most `budget` pages, with
/// `overhead(parts)` pages of front and back matter for a volume of `parts` parts. A part
/// longer than the budget gets a volume of its own. Returns the ranges, in order.
pub fn pack(pages: &[f64], budget: f64, overhead: impl Fn(usize) -> f64) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut sum = 0.0;
    for (i, &p) in pages.iter().enumerate() {
        let count = i + 1 - start;
        if i > start && sum + p + overhead(count) > budget {
            out.push(start..i);
            start = i;
            sum = 0.0;
        }
        sum += p;
    }
    if start < pages.len() {
        out.push(start..pages.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_between_parts() {
        // Ten parts of 30 pages, 10 pages of front and back matter, volumes of at most 100.
        let v = pack(&[30.0; 10], 100.0, |_| 10.0);
        assert_eq!(v, vec![0..3, 3..6, 6..9, 9..10]);
        // A part longer than a volume gets one of its own.
        let v = pack(&[20.0, 150.0, 20.0], 100.0, |_| 10.0);
        assert_eq!(v, vec![0..1, 1..2, 2..3]);
        assert_eq!(pack(&[], 100.0, |_| 0.0), Vec::<Range<usize>>::new());
    }

    #[test]
    fn titles() {
        assert_eq!(default_title(1, true), "المجلد الأول");
        assert_eq!(default_title(3, false), "Volume 3");
    }
}
