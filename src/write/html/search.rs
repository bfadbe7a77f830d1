//! Arabic-aware search for the HTML site: the normaliser, word splitting, clitic stripping and
//! the index written at build time as the `search/` folder (term shards by prefix, snippet chunks).
//!
//! `themes/default/search.js` applies the same rules to queries; `tests/html.rs` runs both on
//! one table so they cannot drift apart. Everything here must stay in step with that script.

use crate::read::arabic;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Normalise text for matching: the readers' loose spelling fold ([`arabic::fold`]: tashkeel,
/// tatweel and invisible marks removed; alef forms, ى/ي, ة/ه, ؤ/و, Persian ی/ک unified;
/// Arabic-Indic and Persian digits → Western; lower-cased), which `search.js` mirrors.
/// Hebrew points (niqqud) and cantillation marks are removed too, so «אֱלֹהִים» matches «אלהים».
pub fn normalize(s: &str) -> String {
    if s.chars().any(is_hebrew_point) {
        let bare: String = s.chars().filter(|&c| !is_hebrew_point(c)).collect();
        return arabic::fold(&bare);
    }
    arabic::fold(s)
}

/// Hebrew cantillation (U+0591–U+05AF) and vowel points (U+05B0–U+05BD, U+05BF, U+05C1, U+05C2,
/// U+05C4, U+05C5, U+05C7); the maqaf (U+05BE) and sof pasuq (U+05C3) are punctuation and stay.
pub fn is_hebrew_point(c: char) -> bool {
    matches!(
        c,
        '\u{0591}'
            ..='\u{05BD}'
                | '\u{05BF}'
                | '\u{05C1}'
                | '\u{05C2}'
                | '\u{05C4}'
                | '\u{05C5}'
                | '\u{05C7}'
    )
}

/// Is `c` part of a word? Letters and numbers (Unicode `Alphabetic` and `N*`), the same set as
/// `/[\p{Alphabetic}\p{N}]/u` in the script.
pub fn is_word_char(c: char) -> bool {
    // Arabic letters (and tatweel) first: `is_alphabetic` is a slow table search outside ASCII.
    ('\u{0620}'..='\u{064A}').contains(&c) || c.is_alphabetic() || c.is_numeric()
}

/// The normalised words of `s`, in order (duplicates kept). A full stop between two ASCII
/// letters or digits, one of them a digit, stays inside the word: `H.264`, `X.509` and `1.5` are
/// one word each (while «end.The» is two).
pub fn words(s: &str) -> Vec<String> {
    let n = normalize(s);
    let chars: Vec<char> = n.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if is_word_char(c) || (c == '.' && joins_dot(&chars, i)) {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Is the `.` at `chars[i]` inside a technical token such as `H.264`?
fn joins_dot(chars: &[char], i: usize) -> bool {
    let (Some(&a), Some(&b)) = (
        i.checked_sub(1).and_then(|j| chars.get(j)),
        chars.get(i + 1),
    ) else {
        return false;
    };
    a.is_ascii_alphanumeric()
        && b.is_ascii_alphanumeric()
        && (a.is_ascii_digit() || b.is_ascii_digit())
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

/// The words and stems of one part's documents → the part's own document numbers (from 0,
/// ascending, each once). Made once per part, in parallel (and, in a watch, kept for a part
/// that did not change); [`Index::add_parts`] shifts the numbers into the book's.
#[derive(Debug, Clone, Default)]
pub struct PartPostings {
    words: Vec<(String, Vec<u32>)>,
    stems: Vec<(String, Vec<u32>)>,
}

impl PartPostings {
    /// The postings of a part whose documents have the normalised words `docs[i]` (see
    /// [`words`]). Stems are computed once per distinct word of the part.
    pub fn of<W: AsRef<[String]>>(docs: &[W]) -> PartPostings {
        let mut words: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
        for (n, ws) in docs.iter().enumerate() {
            for w in ws.as_ref() {
                push_once(words.entry(w.as_str()).or_default(), n as u32);
            }
        }
        let mut stem_map: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        for (word, docs) in &words {
            for s in stems(word) {
                stem_map.entry(s).or_default().extend_from_slice(docs);
            }
        }
        let mut stems: Vec<(String, Vec<u32>)> = stem_map
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_unstable();
                v.dedup();
                (k, v)
            })
            .collect();
        stems.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut words: Vec<(String, Vec<u32>)> =
            words.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        words.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        PartPostings { words, stems }
    }
}

/// One part for [`Index::add_parts`]: its number, its documents `(anchor, text)` and their
/// postings.
pub type PartDocs<'a> = (usize, &'a [(String, String)], &'a PartPostings);

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
    pub words: FxHashMap<String, Vec<usize>>,
    /// Stems (words without proclitics, see [`stems`]) → documents, likewise.
    pub stem_docs: FxHashMap<String, Vec<usize>>,
}

impl Index {
    /// Add a part; returns its number for [`Index::add_doc`].
    pub fn add_part(&mut self, entry: PartEntry) -> usize {
        self.parts.push(entry);
        self.parts.len() - 1
    }

    /// Add a document of part `part` and index its words.
    pub fn add_doc(&mut self, part: usize, anchor: &str, text: &str) {
        let docs = [(anchor.to_owned(), text.to_owned())];
        self.add_parts(&[(part, &docs, &PartPostings::of(&[words(text)]))]);
    }

    /// Add parts in reading order: each part's documents `(anchor, text)` with their
    /// [`PartPostings`], whose document numbers become the book's by adding the documents
    /// already indexed (so every list stays ascending). Words and stems merge in parallel.
    pub fn add_parts(&mut self, parts: &[PartDocs<'_>]) {
        let mut first = Vec::with_capacity(parts.len());
        for (part, docs, _) in parts {
            first.push(self.docs.len());
            self.docs.extend(docs.iter().map(|(anchor, text)| Doc {
                part: *part,
                anchor: anchor.clone(),
                text: text.clone(),
            }));
        }
        let merge = |map: &mut FxHashMap<String, Vec<usize>>, stems: bool| {
            for ((_, _, postings), &first) in parts.iter().zip(&first) {
                let lists = if stems {
                    &postings.stems
                } else {
                    &postings.words
                };
                for (key, local) in lists {
                    // A key already in the index is not copied again (books repeat words).
                    let docs = match map.get_mut(key.as_str()) {
                        Some(docs) => docs,
                        None => map.entry(key.clone()).or_default(),
                    };
                    docs.extend(local.iter().map(|&n| first + n as usize));
                }
            }
        };
        rayon::join(
            || merge(&mut self.words, false),
            || merge(&mut self.stem_docs, true),
        );
    }

    /// Stems (words without proclitics) → documents (ascending, each once).
    pub fn stems(&self) -> BTreeMap<String, Vec<usize>> {
        self.stem_docs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The index as files of the `search/` folder, each a script that hands its data to
    /// `PublishSearch` (a `<script>` element can load it from `file://`, where `fetch` cannot):
    ///
    /// - `meta.js`: parts, the first document of each part and of each snippet chunk, and the
    ///   prefix of each term shard: a few kilobytes, loaded when the reader first searches;
    /// - `t<N>.js`: term shards: the normalised words and stems starting with one prefix, with
    ///   the documents holding them (delta-coded), loaded only for the prefixes of a query;
    /// - `s<N>.js`: snippet chunks: the text of consecutive documents of one part, loaded only
    ///   for the results shown. The text is stored once, here.
    pub fn to_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut entries: Vec<Entry> = self
            .words
            .par_iter()
            .map(|(k, v)| Entry::new(k, 0, v))
            .chain(self.stem_docs.par_iter().map(|(k, v)| Entry::new(k, 1, v)))
            .collect();
        entries.par_sort_unstable_by(|a, b| a.key.cmp(b.key).then(a.kind.cmp(&b.kind)));
        let shards = shard(&entries);

        let mut files: Vec<(String, Vec<u8>)> = shards
            .par_iter()
            .enumerate()
            .map(|(n, s)| {
                let data: Vec<(&str, u8, &[u64])> = entries[s.range.clone()]
                    .iter()
                    .map(|e| (e.key, e.kind, e.deltas.as_slice()))
                    .collect();
                (
                    format!("search/t{n}.js"),
                    script("shard", n, &data).into_bytes(),
                )
            })
            .collect();

        // Snippet chunks: consecutive documents of one part, up to CHUNK_BYTES of text.
        let mut chunks: Vec<usize> = Vec::new();
        let mut part_first: Vec<usize> = vec![usize::MAX; self.parts.len()];
        let mut size = 0;
        for (i, d) in self.docs.iter().enumerate() {
            let new_part = part_first[d.part] == usize::MAX;
            if new_part {
                part_first[d.part] = i;
            }
            if new_part || size + d.text.len() > CHUNK_BYTES {
                chunks.push(i);
                size = 0;
            }
            size += d.text.len() + d.anchor.len();
        }
        // The text is most of the index's bytes: in a watch, a chunk whose number and
        // documents are unchanged (every chunk of a part not edited) is not written again.
        let chunk_files: Vec<(String, Vec<u8>)> = chunks
            .par_iter()
            .enumerate()
            .map(|(n, &first)| {
                let end = chunks.get(n + 1).copied().unwrap_or(self.docs.len());
                let docs = &self.docs[first..end];
                let make = || {
                    let data: Vec<(&str, &str)> = docs
                        .iter()
                        .map(|d| (d.anchor.as_str(), d.text.as_str()))
                        .collect();
                    std::sync::Arc::new(script("chunk", n, &data).into_bytes())
                };
                let bytes = if crate::write::memo::enabled() {
                    let mut key = crate::write::memo::KeyBuilder::new("html-search-chunk")
                        .bytes(&(n as u64).to_le_bytes());
                    for d in docs {
                        key = key.str(&d.anchor).str(&d.text);
                    }
                    crate::write::memo::cached(key.finish(), make)
                } else {
                    make()
                };
                (format!("search/s{n}.js"), bytes.as_ref().clone())
            })
            .collect();
        files.extend(chunk_files);

        #[derive(Serialize)]
        struct Meta<'a> {
            digits: &'a str,
            strings: &'a BTreeMap<String, String>,
            /// [label, title, href, first document] in reading order.
            parts: Vec<(&'a str, &'a str, &'a str, usize)>,
            /// First document of each snippet chunk.
            chunks: &'a [usize],
            /// [prefix, 1 if the shard holds only the prefix itself as a whole key].
            shards: Vec<(&'a str, u8)>,
            docs: usize,
        }
        let meta = Meta {
            digits: &self.digits,
            strings: &self.strings,
            parts: self
                .parts
                .iter()
                .zip(&part_first)
                .map(|(p, &f)| {
                    let first = if f == usize::MAX { self.docs.len() } else { f };
                    (p.label.as_str(), p.title.as_str(), p.href.as_str(), first)
                })
                .collect(),
            chunks: &chunks,
            shards: shards
                .iter()
                .map(|s| (s.prefix.as_str(), u8::from(s.exact)))
                .collect(),
            docs: self.docs.len(),
        };
        files.push((
            "search/meta.js".to_owned(),
            script("meta", 0, &meta).into_bytes(),
        ));
        files
    }
}

/// Text bytes per snippet chunk: a result page loads a few chunks, never a whole book.
pub const CHUNK_BYTES: usize = 12 * 1024;

/// Estimated bytes per term shard before it is split by a longer prefix.
pub const SHARD_BYTES: usize = 24 * 1024;

/// Longest shard prefix in characters: a shard whose terms all share a longer prefix stays
/// large rather than being split further (bounds the splitting loop).
pub const MAX_PREFIX: usize = 8;

/// One key of a term shard: a whole word (`kind` 0) or a stem (1), and its documents.
struct Entry<'a> {
    key: &'a str,
    kind: u8,
    /// Document numbers as differences from the previous one (the first from 0).
    deltas: Vec<u64>,
    /// Estimated bytes in the shard's script.
    size: usize,
}

impl<'a> Entry<'a> {
    fn new(key: &'a str, kind: u8, docs: &[usize]) -> Self {
        let mut prev = 0;
        let deltas: Vec<u64> = docs
            .iter()
            .map(|&d| {
                let x = (d - prev) as u64;
                prev = d;
                x
            })
            .collect();
        let size = key.len() + 8 + deltas.iter().map(|d| digits10(*d) + 1).sum::<usize>();
        Entry {
            key,
            kind,
            deltas,
            size,
        }
    }
}

fn digits10(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// A term shard: the sorted entries `range` whose keys start with `prefix` (or, when `exact`,
/// equal it: the keys left over when a prefix was split into longer ones).
#[derive(Debug)]
struct Shard {
    prefix: String,
    exact: bool,
    range: std::ops::Range<usize>,
}

/// The first `n` characters of `s` (all of it when shorter).
fn char_prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Split the sorted `entries` into shards by key prefix: first by one character, then every
/// shard over [`SHARD_BYTES`] by one character more, up to [`MAX_PREFIX`]. A work list, not
/// recursion; the shards come out sorted by prefix.
fn shard(entries: &[Entry]) -> Vec<Shard> {
    // (prefix length, group) still to place: a small book's whole index is one shard.
    let mut work: std::collections::VecDeque<(usize, Shard)> = std::collections::VecDeque::new();
    work.push_back((
        0,
        Shard {
            prefix: String::new(),
            exact: false,
            range: 0..entries.len(),
        },
    ));
    let mut out: Vec<Shard> = Vec::new();
    while let Some((len, group)) = work.pop_front() {
        let size: usize = entries[group.range.clone()].iter().map(|e| e.size).sum();
        if group.exact || size <= SHARD_BYTES || len >= MAX_PREFIX {
            out.push(group);
            continue;
        }
        // Split by the first `len + 1` characters; keys of exactly `len` characters (the
        // prefix itself) come first in sorted order and form an exact shard.
        let mut groups: Vec<Shard> = Vec::new();
        for i in group.range {
            let key = entries[i].key;
            let exact = key.chars().count() <= len;
            let p = char_prefix(key, len + 1);
            match groups.last_mut() {
                Some(g) if g.prefix == p && g.exact == exact => g.range.end = i + 1,
                _ => groups.push(Shard {
                    prefix: p.to_owned(),
                    exact,
                    range: i..i + 1,
                }),
            }
        }
        work.extend(groups.into_iter().map(|g| (len + 1, g)));
    }
    out.sort_by(|a, b| a.prefix.cmp(&b.prefix).then(b.exact.cmp(&a.exact)));
    out
}

/// `PublishSearch.<call>(n, <data as JSON>);`, with `<`, `>` and `&` escaped: they only occur
/// inside JSON strings, read the same as `\u` escapes, and source text such as `</script>` then
/// can never end a script element.
fn script<T: Serialize + ?Sized>(call: &str, n: usize, data: &T) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    let mut js = String::with_capacity(json.len() + 64);
    let _ = write!(js, "PublishSearch.{call}({n},");
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
    js.push_str(");\n");
    js
}

fn push_once<T: PartialEq + Copy>(v: &mut Vec<T>, n: T) {
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
    fn words_keep_technical_tokens_and_fold_hebrew() {
        assert_eq!(
            words("H.264 و X.509 عبر https. end.The v1.2"),
            ["h.264", "و", "x.509", "عبر", "https", "end", "the", "v1.2"]
        );
        assert_eq!(words("בָּרָא אֱלֹהִים"), ["ברא", "אלהים"]);
    }

    #[test]
    fn shards_split_by_prefix_and_cover_every_key_once() {
        let keys: Vec<String> = (0..4000).map(|i| format!("ال{i:04}")).collect();
        let docs: Vec<usize> = (0..50).collect();
        let mut entries: Vec<Entry> = keys.iter().map(|k| Entry::new(k, 0, &docs)).collect();
        entries.push(Entry::new("ال", 0, &docs));
        entries.sort_unstable_by(|a, b| a.key.cmp(b.key));
        let shards = shard(&entries);
        assert!(shards.len() > 4, "{shards:?}");
        let mut covered = vec![0; entries.len()];
        for s in &shards {
            for i in s.range.clone() {
                covered[i] += 1;
                let k = entries[i].key;
                assert!(
                    if s.exact {
                        k == s.prefix
                    } else {
                        k.starts_with(&s.prefix)
                    },
                    "{k} in {s:?}"
                );
            }
        }
        assert!(covered.iter().all(|&c| c == 1));
        // «ال» itself is left in an exact shard when «ال…» is split.
        assert!(shards.iter().any(|s| s.exact && s.prefix == "ال"));
    }

    /// Parts merged with their own postings give the index a brute-force pass over every
    /// document gives: the same documents for every word and every stem.
    #[test]
    fn merged_part_postings_equal_a_pass_over_every_document() {
        let texts = [
            vec!["والموصل في الموصل", "بالرقة وقت", "H.264 والكتاب"],
            vec!["للمدينة الموصل", "فالكتاب"],
            vec![],
            vec!["وقت وقت الموصل", "الرقة"],
        ];
        let mut idx = Index::default();
        let parts: Vec<(Vec<(String, String)>, PartPostings)> = texts
            .iter()
            .map(|docs| {
                let words: Vec<Vec<String>> = docs.iter().map(|t| words(t)).collect();
                let docs = docs
                    .iter()
                    .map(|t| ("p".to_owned(), t.to_string()))
                    .collect();
                (docs, PartPostings::of(&words))
            })
            .collect();
        let list: Vec<PartDocs> = parts
            .iter()
            .enumerate()
            .map(|(i, (d, p))| (i, d.as_slice(), p))
            .collect();
        idx.add_parts(&list);
        let all: Vec<&str> = texts.iter().flatten().copied().collect();
        assert_eq!(idx.docs.len(), all.len());
        let mut want_words: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut want_stems: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (n, t) in all.iter().enumerate() {
            for w in words(t) {
                let d = want_words.entry(w.clone()).or_default();
                if !d.contains(&n) {
                    d.push(n);
                }
                for s in stems(&w) {
                    let d = want_stems.entry(s).or_default();
                    if !d.contains(&n) {
                        d.push(n);
                    }
                }
            }
        }
        let got_words: BTreeMap<String, Vec<usize>> = idx.words.clone().into_iter().collect();
        assert_eq!(got_words, want_words);
        assert_eq!(idx.stems(), want_stems);
        assert_eq!(idx.words["الموصل"], [0, 3, 5]);
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
        let files = idx.to_files();
        assert!(files.iter().any(|(n, b)| n == "search/meta.js"
            && String::from_utf8_lossy(b).starts_with("PublishSearch.meta(0,{")));
    }
}
