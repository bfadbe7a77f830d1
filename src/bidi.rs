//! Bidi by the algorithm: the one place that decides how mixed right-to-left and left-to-right
//! text is ordered, for all three writers.
//!
//! Browsers and typst both order text with the Unicode Bidirectional Algorithm (UAX #9). The
//! UBA reads almost every mixed sentence right on its own — brackets, quotes and punctuation
//! included, through its paired-bracket and neutral rules — so writers pass text through as it
//! is, and isolate only the Latin runs the UBA misreads: runs whose own symbols it would detach
//! (`$hostname`, `#read(…)`, `C++`, a URL's trailing `/`, a path's leading `/`). The test is
//! the algorithm itself: a run is isolated exactly when the UBA, run on the block, gives its
//! characters different embedding levels. The block's direction and language are decided here
//! too ([`block_voice`], [`detect_lang`]), so every writer renders the same reading.

use crate::model::{Dir, Lang};
use std::ops::Range;
use unicode_bidi::{BidiInfo, Level};

/// Is `c` a strong right-to-left character (Arabic, Hebrew, Syriac, Thaana, N'Ko…)?
pub fn is_rtl_char(c: char) -> bool {
    matches!(c as u32,
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
        && !('\u{0660}'..='\u{0669}').contains(&c)
        && !('\u{06F0}'..='\u{06F9}').contains(&c)
}

/// Is `c` a strong left-to-right letter (Latin, Greek, Cyrillic, CJK…)?
pub fn is_ltr_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    !is_rtl_char(c) && c.is_alphabetic()
}

/// Does `text` hold a strong left-to-right letter? A byte scan first: only ASCII letters and
/// characters outside the Arabic block (whose UTF-8 lead bytes are D8–DB) can be one, so the
/// Arabic text that makes up most of a book is passed over without decoding it.
pub fn has_ltr_char(text: &str) -> bool {
    text.bytes()
        .any(|b| b.is_ascii_alphabetic() || (b >= 0xC0 && !(0xD8..=0xDB).contains(&b)))
        && text.chars().any(is_ltr_char)
}

/// Punctuation, quotes and brackets at the ends of a run belong to the sentence around it: the
/// UBA's neutral and paired-bracket rules place them, so an isolate never takes them in.
fn is_edge_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | '،'
            | '؛'
            | ';'
            | ':'
            | '!'
            | '?'
            | '؟'
            | '…'
            | '»'
            | '«'
            | '"'
            | '\''
            | '“'
            | '”'
            | '‘'
            | '’'
            | '„'
            | '‹'
            | '›'
    )
}

fn is_quote(c: char) -> bool {
    matches!(
        c,
        '»' | '«' | '"' | '\'' | '“' | '”' | '‘' | '’' | '„' | '‹' | '›'
    )
}

fn opening(c: char) -> Option<char> {
    match c {
        ')' => Some('('),
        ']' => Some('['),
        '}' => Some('{'),
        '>' => Some('<'),
        _ => None,
    }
}

fn closing(c: char) -> Option<char> {
    match c {
        '(' => Some(')'),
        '[' => Some(']'),
        '{' => Some('}'),
        '<' => Some('>'),
        _ => None,
    }
}

/// Byte ranges of the left-to-right runs of `text` to isolate when it is set in a block of
/// direction `base`. A Latin run is a sequence of whitespace-separated words without a
/// right-to-left letter that starts and ends with a word holding a left-to-right letter
/// (`Encrypted Media Extensions`, `PKCS #11`), less the sentence punctuation, quotes and
/// unbalanced brackets at its ends. It is isolated only if the UBA, run on the whole text,
/// does not give all its characters one level — i.e. only where the algorithm alone would
/// tear the run apart. Ranges are in order and never overlap.
pub fn isolates(text: &str, base: Dir) -> Vec<Range<usize>> {
    // Most of a right-to-left book has no left-to-right letter at all: `latin_runs` answers
    // that in one byte scan.
    let runs = latin_runs(text);
    if runs.is_empty() {
        return runs;
    }
    let level = match base {
        Dir::Rtl => Level::rtl(),
        Dir::Ltr => Level::ltr(),
    };
    let info = BidiInfo::new(text, Some(level));
    runs.into_iter()
        .filter(|r| {
            let levels = &info.levels[r.clone()];
            levels.iter().any(|l| *l != levels[0])
        })
        .collect()
}

/// The Latin runs of `text` (see [`isolates`]), whether or not the UBA needs help with them;
/// writers keep their digits as written.
pub fn latin_runs(text: &str) -> Vec<Range<usize>> {
    if !has_ltr_char(text) {
        return Vec::new();
    }
    // Words: (range, has ltr letter, has rtl letter).
    let mut words: Vec<(Range<usize>, bool, bool)> = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                let w: &str = &text[s..i];
                words.push((s..i, w.chars().any(is_ltr_char), w.chars().any(is_rtl_char)));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    let mut runs = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !words[i].1 || words[i].2 {
            i += 1;
            continue;
        }
        let mut last = i;
        let mut j = i + 1;
        while j < words.len() && !words[j].2 {
            if words[j].1 {
                last = j;
            }
            j += 1;
        }
        let (s, e) = trim(text, words[i].0.start, words[last].0.end);
        if e > s {
            runs.push(s..e);
        }
        i = last + 1;
    }
    runs
}

/// Shrink a run so the punctuation, quotes and unbalanced brackets at its ends stay outside.
fn trim(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    loop {
        let s = &text[start..end];
        let Some(last) = s.chars().next_back() else {
            break;
        };
        let first = s.chars().next().unwrap_or(' ');
        let count = |c: char| s.chars().filter(|&x| x == c).count();
        // `&amp;` keeps its `;`.
        let drop_last = (is_edge_punct(last) && !(last == ';' && s.contains('&')))
            || opening(last).is_some_and(|o| count(last) > count(o));
        if drop_last {
            end -= last.len_utf8();
            continue;
        }
        // At the start only quotes are the sentence's: `.NET` keeps its dot.
        let drop_first = (is_edge_punct(first) && is_quote(first))
            || closing(first).is_some_and(|c| count(first) > count(c));
        if drop_first {
            start += first.len_utf8();
            continue;
        }
        // A run wrapped whole in a bracket pair: the pair belongs to the sentence.
        if let Some(c) = closing(first)
            && last == c
            && s.len() > 2
            && balanced(&s[first.len_utf8()..s.len() - 1], first, c)
        {
            start += first.len_utf8();
            end -= c.len_utf8();
            continue;
        }
        break;
    }
    (start, end)
}

fn balanced(s: &str, open: char, close: char) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth < 0 {
                return false;
            }
        }
    }
    depth == 0
}

/// Counts of strong letters by script, the evidence for direction and language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Letters {
    /// Strong left-to-right letters.
    pub ltr: usize,
    /// Arabic-script letters.
    pub arabic: usize,
    /// Hebrew letters.
    pub hebrew: usize,
    /// Letters only Persian (and Urdu) use: پ چ ژ گ.
    pub persian: usize,
    /// Persian/Urdu yeh ی and keheh ک (Arabic writes ي and ك).
    pub persian_yk: usize,
    /// Arabic yeh ي, kaf ك, teh marbuta ة and alef maksura ى: rare in Persian and Urdu.
    pub arabic_only: usize,
    /// Letters only Urdu uses: ٹ ڈ ڑ ں ے.
    pub urdu: usize,
    /// English function words (`the`, `and`, `of`…), the evidence that Latin text is English.
    pub english_words: usize,
    /// Latin words.
    pub latin_words: usize,
    /// Words with a left-to-right letter and no right-to-left one.
    pub ltr_words: usize,
    /// Words with a right-to-left letter.
    pub rtl_words: usize,
}

impl Letters {
    /// Count the letters of `text`.
    pub fn of(text: &str) -> Letters {
        let mut n = Letters::default();
        n.add(text);
        n
    }

    /// Add the letters of `text`.
    pub fn add(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '\u{05D0}'..='\u{05EA}' | '\u{FB1D}'..='\u{FB4F}' => self.hebrew += 1,
                '\u{067E}' | '\u{0686}' | '\u{0698}' | '\u{06AF}' => {
                    self.arabic += 1;
                    self.persian += 1;
                }
                '\u{06CC}' | '\u{06A9}' => {
                    self.arabic += 1;
                    self.persian_yk += 1;
                }
                '\u{064A}' | '\u{0643}' | '\u{0629}' | '\u{0649}' => {
                    self.arabic += 1;
                    self.arabic_only += 1;
                }
                '\u{0679}' | '\u{0688}' | '\u{0691}' | '\u{06BA}' | '\u{06D2}' => {
                    self.arabic += 1;
                    self.urdu += 1;
                }
                c if is_rtl_char(c) && c.is_alphabetic() => self.arabic += 1,
                c if is_ltr_char(c) => self.ltr += 1,
                _ => {}
            }
        }
        for w in text.split_whitespace() {
            if w.chars().any(is_rtl_char) {
                self.rtl_words += 1;
            } else if w.chars().any(is_ltr_char) {
                self.ltr_words += 1;
            }
        }
        if has_ltr_char(text) {
            for w in text.split(|c: char| !c.is_ascii_alphabetic() && c != '\'') {
                if w.is_empty() {
                    continue;
                }
                self.latin_words += 1;
                if ENGLISH.contains(&w.to_ascii_lowercase().as_str()) {
                    self.english_words += 1;
                }
            }
        }
    }

    fn rtl(&self) -> usize {
        self.arabic + self.hebrew
    }
}

/// English function words: two of them in a Latin block make it English.
const ENGLISH: &[&str] = &[
    "the", "and", "of", "to", "in", "is", "was", "that", "with", "for", "on", "are", "this", "be",
    "by", "from", "it", "as", "his", "he", "said", "saying", "an", "at", "not", "or", "which",
    "you", "we", "they", "have", "has",
];

/// What script detection concluded about a text's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// The letters leave no doubt.
    Sure(Lang),
    /// Some evidence for `Lang`, not enough to be sure: keep the default and say so.
    Unsure(Lang),
    /// Nothing points away from the default.
    Default,
}

/// The language of a right-to-left part from its letters, a documented heuristic:
/// - Hebrew letters outnumber Arabic-script ones → `he`;
/// - Urdu-only letters (ٹ ڈ ڑ ں ے) make up at least 1% of the Arabic-script letters (and at
///   least 3 of them) → `ur`;
/// - Persian-only letters (پ چ ژ گ) and Persian ی/ک together make up at least 2% (at least 5),
///   and outnumber Arabic ي ك ة ى four to one → `fa`;
/// - some such letters but below those marks (a Persian name in an Arabic text, a mixed
///   quotation) → [`Detected::Unsure`], for a warning;
/// - otherwise the default (`ar`).
pub fn detect_lang(text: &str) -> Detected {
    decide(&Letters::of(text))
}

fn decide(n: &Letters) -> Detected {
    if n.hebrew > n.arabic && n.hebrew > 0 {
        return Detected::Sure(Lang("he".into()));
    }
    if n.arabic == 0 {
        return Detected::Default;
    }
    let urdu_sure = n.urdu >= 3 && n.urdu * 100 >= n.arabic;
    let fa = n.persian + n.persian_yk;
    let fa_sure = fa >= 5 && fa * 50 >= n.arabic && fa >= 4 * n.arabic_only;
    if urdu_sure && n.urdu * 4 >= n.arabic_only {
        return Detected::Sure(Lang("ur".into()));
    }
    if fa_sure && n.urdu == 0 {
        return Detected::Sure(Lang("fa".into()));
    }
    if n.urdu > 0 {
        return Detected::Unsure(Lang("ur".into()));
    }
    // A few پ چ ژ گ are names in Arabic text (بيتكوين aside, «گوگل»): only Persian ی/ک in
    // quantity makes a real doubt.
    if fa >= 5 && n.persian_yk > 0 {
        return Detected::Unsure(Lang("fa".into()));
    }
    Detected::Default
}

/// Is `text` dense in marks (tashkeel, niqqud, Quranic annotation): at least one mark for
/// every two letters? Fully vowelled text (Quran, hadith with complete tashkeel) has about one
/// per letter, ordinary text a few per paragraph. Writers give such blocks leading that follows
/// the marks' real extents instead of the plain text's.
pub fn is_vowelled(text: &str) -> bool {
    let (mut marks, mut letters) = (0usize, 0usize);
    for c in text.chars() {
        if is_mark(c) {
            marks += 1;
        } else if c.is_alphabetic() {
            letters += 1;
        }
    }
    letters >= 8 && marks * 2 >= letters
}

/// Is `c` a combining mark of the scripts a series holds (Hebrew points, Arabic tashkeel and
/// Quranic annotation, Latin combining accents)? Marks take no width of their own.
pub fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F
        | 0x0591..=0x05C7
        | 0x0610..=0x061A
        | 0x064B..=0x065F
        | 0x0670
        | 0x06D6..=0x06ED
        | 0x08D3..=0x08FF)
}

/// Is `c` a mark ([`is_mark`]) or an invisible format control (joiners, direction marks,
/// embeddings and isolates)? Neither adds width to a word.
pub fn is_mark_or_control(c: char) -> bool {
    is_mark(c) || matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF)
}

/// The language of a part whose source does not name one: [`detect_lang`] on its text, `ar`
/// when the letters say nothing else, and a `language-unsure` warning (naming `file`) when
/// they point at another language without settling it.
pub fn part_lang(text: &str, file: &str) -> (Lang, Option<crate::diag::Diagnostic>) {
    match detect_lang(text) {
        Detected::Sure(l) => (l, None),
        Detected::Default => (Lang::default(), None),
        Detected::Unsure(l) => (
            Lang::default(),
            Some(
                crate::diag::Diagnostic::warning(
                    "language-unsure",
                    format!(
                        "some letters suggest `{}`, not enough to be sure; the part is read as `ar`",
                        l.as_str()
                    ),
                )
                .file(file.to_owned())
                .hint(format!(
                    "set `lang = \"{}\"` in the front matter or `language` in publish.toml if the part is in that language",
                    l.as_str()
                )),
            ),
        ),
    }
}

/// Fewest left-to-right words that make a block of a right-to-left part left to right: a line
/// that is only a URL, a product name or `Related work` stays in the part's direction (set at
/// its start side, its Latin read left to right by the bidi algorithm); a sentence turns.
pub const LTR_BLOCK_MIN_WORDS: usize = 3;

/// The direction and language of one block (paragraph, heading, note) of a part in language
/// `part`, when they differ from the part's: a block most of whose words are left to right
/// (words, not letters: one URL must not outweigh a sentence), and at least
/// [`LTR_BLOCK_MIN_WORDS`] of them, is a left-to-right block (English when English function words are there,
/// `und` — undetermined — otherwise); a right-to-left block in another script than the part's
/// (Hebrew in an Arabic part, Arabic in a Hebrew one) gets that script's language, and an
/// Arabic-script block whose letters leave no doubt (see [`detect_lang`]) its own.
pub fn block_voice(text: &str, part: &Lang) -> Option<(Lang, Dir)> {
    let n = Letters::of(text);
    let part_dir = part.default_dir();
    if n.ltr_words > n.rtl_words && n.ltr_words >= LTR_BLOCK_MIN_WORDS {
        if part_dir == Dir::Ltr {
            return None;
        }
        let lang = if n.english_words >= 2 || (n.english_words >= 1 && n.latin_words <= 4) {
            "en"
        } else {
            "und"
        };
        return Some((Lang(lang.into()), Dir::Ltr));
    }
    if n.rtl() == 0 {
        return None;
    }
    let lang = match decide(&n) {
        Detected::Sure(l) => l,
        _ if n.hebrew == 0 => Lang("ar".into()),
        _ => return None,
    };
    let primary = |l: &Lang| l.as_str().split(['-', '_']).next().unwrap_or("").to_owned();
    if primary(&lang) == primary(part) {
        return None;
    }
    // An Arabic-script block in a Persian or Urdu part is of the part's language unless the
    // letters are sure; Arabic is what `decide` falls back to, not evidence.
    if lang.as_str() == "ar" && matches!(primary(part).as_str(), "fa" | "ur") {
        return None;
    }
    Some((lang, Dir::Rtl))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(t: &str) -> Vec<&str> {
        isolates(t, Dir::Rtl).into_iter().map(|r| &t[r]).collect()
    }

    #[test]
    fn left_to_right_letters_are_found_in_any_script() {
        assert!(!has_ltr_char("نص عربي، ٢٠١٧ و2017 «مقتبس» — שָׁלוֹם؟"));
        for t in ["نص a", "نص é", "نص Ω", "نص 漢", "нет"] {
            assert!(has_ltr_char(t), "{t}");
        }
    }

    #[test]
    fn only_what_the_algorithm_misreads_is_isolated() {
        // The UBA detaches a leading or trailing symbol from a Latin token.
        assert_eq!(iso("على { $hostname }."), vec!["$hostname"]);
        assert_eq!(
            iso("استخدم #read(\"/etc/passwd\") هنا."),
            vec!["#read(\"/etc/passwd\")"]
        );
        assert_eq!(
            iso("الموقع https://example.org/ مفيد"),
            vec!["https://example.org/"]
        );
        assert_eq!(iso("لغة C++ قديمة"), vec!["C++"]);
        // The UBA alone reads these right: no isolate, quotes and brackets stay its business.
        assert!(iso("\"عن Firefox\"").is_empty());
        assert!(iso("”فحص الوِب Web scanning“").is_empty());
        assert!(iso("«Encrypted Media Extensions» في المتصفح").is_empty());
        assert!(iso("معيار PKCS #11 للمفاتيح").is_empty());
        assert!(iso("(انظر Python)، ثم").is_empty());
        assert!(iso("عام 2017 كان").is_empty());
        // In a left-to-right block Latin runs are at the base level.
        assert!(isolates("see $x now", Dir::Ltr).is_empty());
    }

    #[test]
    fn runs_keep_their_words_together() {
        let t = "نسخة $HOME/bin Encrypted Media هنا";
        assert_eq!(iso(t), vec!["$HOME/bin Encrypted Media"]);
    }

    #[test]
    fn languages_from_letters() {
        assert_eq!(detect_lang("שָׁלוֹם עֲלֵיכֶם"), Detected::Sure(Lang("he".into())));
        assert_eq!(
            detect_lang("یہ ایک اردو جملہ ہے جس میں بڑے اور چھوٹے حروف ہیں۔ ٹوپی ڈال"),
            Detected::Sure(Lang("ur".into()))
        );
        assert_eq!(
            detect_lang("این یک جملهٔ فارسی است که پدر و مادر گفتند و چیزی نگفتند"),
            Detected::Sure(Lang("fa".into()))
        );
        assert_eq!(
            detect_lang("هذه جملة عربية فيها كلمات كثيرة ولا شيء غير ذلك"),
            Detected::Default
        );
        // One Persian name in an Arabic sentence does not make it Persian.
        assert_eq!(
            detect_lang("قال الكاتب إن شركة گوگل كبيرة جدا في هذه الأيام"),
            Detected::Default
        );
    }

    #[test]
    fn block_voices() {
        let ar = Lang("ar".into());
        assert_eq!(
            block_voice(
                "Narrated 'Umar: I heard Allah's Messenger (ﷺ) saying, \"The reward of deeds\"",
                &ar
            ),
            Some((Lang("en".into()), Dir::Ltr))
        );
        assert_eq!(block_voice("نص عربي فيه Firefox", &ar), None);
        assert_eq!(
            block_voice("בְּרֵאשִׁית בָּרָא אֱלֹהִים", &ar),
            Some((Lang("he".into()), Dir::Rtl))
        );
        assert_eq!(
            block_voice("Ωμέγα λέξη εδώ", &ar),
            Some((Lang("und".into()), Dir::Ltr))
        );
        // A URL or a product name alone stays in the part's direction.
        assert_eq!(block_voice("https://example.org/report", &ar), None);
        assert_eq!(block_voice("Firefox Nightly", &ar), None);
    }
}
