//! Arabic-aware search for the HTML site: the normaliser, word splitting, clitic stripping and
//! the index written at build time as `search-index.js`.
//!
//! `themes/default/search.js` applies the same rules to queries; `tests/html.rs` runs both on
//! one table so they cannot drift apart. Everything here must stay in step with that script.

use crate::read::arabic;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Normalise text for matching: the readers' loose spelling fold ([`arabic::fold`]: tashkeel,
/// tatweel and invisible marks removed; alef forms, ى/ي, ة/ه, ؤ/و, Persian ی/ک unified;
/// Arabic-Indic and Persian digits → Western; lower-cased), which `search.js` mirrors.
pub fn normalize(s: &str) -> String {
    arabic::fold(s)
}

/// Is `c` part of a word? Letters and numbers (Unicode `Alphabetic` and `N*`), the same set as
/// `/[\p{Alphabetic}\p{N}]/u` in the script.
pub fn is_word_char(c: char) -> bool {
    // Arabic letters (and tatweel) first: `is_alphabetic` is a slow table search outside ASCII.
    ('\u{0620}'..='\u{064A}').contains(&c) || c.is_alphabetic() || c.is_numeric()
}

/// The normalised words of `s`, in order (duplicates kept).
pub fn words(s: &str) -> Vec<String> {
    normalize(s)
        .split(|c: char| !is_word_char(c))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Shortest stem (in characters) kept after stripping prefixes, so «وقت» never becomes «قت».
const MIN_STEM: usize = 3;

/// A normalised word without its common proclitics: an optional conjunction (و، ف), then an
/// optional preposition (ب، ل، ك), then an optional article (ال; «لل» is ل + ال). Returns every
/// distinct stem other than the word itself that keeps at least three letters, longest first.
pub fn stems(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for conj in ["", "و", "ف"] {
        let Some(r1) = word.strip_prefix(conj) else {
            continue;
        };
        let mut after_prep: Vec<&str> = Vec::new();
        for prep in ["", "ب", "ل", "ك"] {
            match r1.strip_prefix(prep) {
                // «لل» is ل + ال (handled below), never ل + a word starting with ل.
                Some(r2) if prep == "ل" && r2.starts_with('ل') => {}
                Some(r2) => after_prep.push(r2),
                None => {}
            }
        }
        let mut candidates: Vec<&str> = Vec::new();
        for r2 in after_prep {
            candidates.push(r2);
            if let Some(r3) = r2.strip_prefix("ال") {
                candidates.push(r3);
            }
        }
        if let Some(r3) = r1.strip_prefix("لل") {
            candidates.push(r3);
        }
        for c in candidates {
            if c != word && c.chars().count() >= MIN_STEM && !out.iter().any(|o| o == c) {
                out.push(c.to_owned());
            }
        }
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out
}

/// A searchable unit: one paragraph or heading (or a part title) of one part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Doc {
    /// Index of the part in [`Index::parts`].
    pub part: usize,
    /// Element id on the part's page.
    pub anchor: String,
    /// The text exactly as in the source (for snippets).
    pub text: String,
}

/// A part as search results show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartEntry {
    /// «الجزء الرابع عشر».
    pub label: String,
    /// The part title (plain text).
    pub title: String,
    /// The part's page, relative to the site root.
    pub href: String,
}

/// The search index: parts, documents, and normalised words and stems → document numbers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Index {
    /// Digits for numbers the script writes: `arabic-indic`, `western` or `persian`.
    pub digits: String,
    /// Words of the results area: `found` (with `%d` for the count) and `none`.
    pub strings: BTreeMap<String, String>,
    /// Parts in reading order.
    pub parts: Vec<PartEntry>,
    /// Documents in reading order.
    pub docs: Vec<Doc>,
    /// Whole normalised words → documents containing them (ascending, each once). A hash map
    /// while the index is built; the script gets the words sorted.
    pub words: HashMap<String, Vec<usize>>,
}

impl Index {
    /// Add a part; returns its number for [`Index::add_doc`].
    pub fn add_part(&mut self, entry: PartEntry) -> usize {
        self.parts.push(entry);
        self.parts.len() - 1
    }

    /// Add a document of part `part` and index its words.
    pub fn add_doc(&mut self, part: usize, anchor: &str, text: &str) {
        self.add_doc_words(part, anchor.to_owned(), text.to_owned(), words(text));
    }

    /// Add a document whose normalised words (see [`words`]) are already split, e.g. in
    /// parallel for several parts.
    pub fn add_doc_words(&mut self, part: usize, anchor: String, text: String, words: Vec<String>) {
        let n = self.docs.len();
        for w in words {
            push_once(self.words.entry(w).or_default(), n);
        }
        self.docs.push(Doc { part, anchor, text });
    }

    /// Stems (words without proclitics) → documents (ascending, each once). Computed once per
    /// distinct word, not once per occurrence: books repeat their words.
    pub fn stems(&self) -> BTreeMap<String, Vec<usize>> {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (word, docs) in &self.words {
            for s in stems(word) {
                out.entry(s).or_default().extend_from_slice(docs);
            }
        }
        for docs in out.values_mut() {
            docs.sort_unstable();
            docs.dedup();
        }
        out
    }

    /// The index as a script assigning `window.publishSearchIndex`, so the site can load it
    /// with a `<script>` element from `file://` (where `fetch` is not allowed).
    pub fn to_js(&self) -> String {
        let stems = self.stems();
        // Maps become sorted arrays of [key, docs]: smaller, and ordered for the script.
        #[derive(Serialize)]
        struct Out<'a> {
            digits: &'a str,
            strings: &'a BTreeMap<String, String>,
            parts: &'a [PartEntry],
            docs: Vec<(usize, &'a str, &'a str)>,
            words: Vec<(&'a str, &'a [usize])>,
            stems: Vec<(&'a str, &'a [usize])>,
        }
        let out = Out {
            digits: &self.digits,
            strings: &self.strings,
            parts: &self.parts,
            docs: self
                .docs
                .iter()
                .map(|d| (d.part, d.anchor.as_str(), d.text.as_str()))
                .collect(),
            words: {
                let mut w: Vec<(&str, &[usize])> = self
                    .words
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_slice()))
                    .collect();
                w.sort_unstable_by(|a, b| a.0.cmp(b.0));
                w
            },
            stems: stems
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect(),
        };
        let json = serde_json::to_string(&out).unwrap_or_else(|_| "null".to_owned());
        // `<`, `>` and `&` only occur inside JSON strings: as \u escapes they read the same in
        // JavaScript, and source text such as `</script>` can never end a script element even if
        // the index is ever inlined into a page.
        let mut js = String::with_capacity(json.len() + 64);
        js.push_str("window.publishSearchIndex = ");
        let mut rest = json.as_str();
        while let Some(i) = rest.find(['<', '>', '&']) {
            js.push_str(&rest[..i]);
            js.push_str(match rest.as_bytes()[i] {
                b'<' => "\\u003c",
                b'>' => "\\u003e",
                _ => "\\u0026",
            });
            rest = &rest[i + 1..];
        }
        js.push_str(rest);
        js.push_str(";\n");
        js
    }
}

fn push_once(v: &mut Vec<usize>, n: usize) {
    if v.last() != Some(&n) {
        v.push(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_punctuation_and_keep_digits() {
        assert_eq!(
            words("في ١٧ أكتوبر 2017، سيطرت «القوات»."),
            ["في", "17", "اكتوبر", "2017", "سيطرت", "القوات"]
        );
    }

    #[test]
    fn stems_strip_proclitics_but_keep_short_words() {
        assert_eq!(stems("والموصل"), ["الموصل", "موصل"]);
        assert_eq!(stems("للمدينه"), ["مدينه"]);
        assert_eq!(stems("وقت"), Vec::<String>::new());
        assert_eq!(stems("بالرقه"), ["الرقه", "رقه"]);
    }

    #[test]
    fn index_lists_each_doc_once_per_word() {
        let mut idx = Index::default();
        let p = idx.add_part(PartEntry {
            label: "الجزء الأول".into(),
            title: "ت".into(),
            href: "part-1.html".into(),
        });
        idx.add_doc(p, "p1", "الموصل والموصل الموصل");
        idx.add_doc(p, "p2", "بالموصل");
        assert_eq!(idx.words["الموصل"], [0]);
        let stems = idx.stems();
        assert_eq!(stems["موصل"], [0, 1]);
        assert_eq!(stems["الموصل"], [0, 1]);
        assert!(idx.to_js().starts_with("window.publishSearchIndex = {"));
    }
}
