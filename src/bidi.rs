//! Bidi helpers: find the left-to-right runs (Latin words, URLs, code-like tokens) inside
//! right-to-left text, so writers can isolate them and `#read(...)` or `PKCS #11` keep their
//! own order inside an Arabic sentence.

use std::ops::Range;

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

/// Sentence punctuation that belongs to the surrounding (Arabic) sentence, not to a Latin run.
fn is_trailing_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '،' | '؛' | ';' | ':' | '!' | '?' | '؟' | '…' | '»' | '«'
    )
}

/// Byte ranges of the left-to-right runs in `text`. A run is a sequence of whitespace-separated
/// tokens that contain a left-to-right letter and no right-to-left letter, together with the
/// tokens of digits and symbols between them (`PKCS #11`); trailing sentence punctuation is left
/// out. Text that is entirely left-to-right yields one run covering it.
pub fn ltr_runs(text: &str) -> Vec<Range<usize>> {
    // Most of a right-to-left book has no left-to-right letter at all: answer that in one scan.
    if !has_ltr_char(text) {
        return Vec::new();
    }
    let mut tokens: Vec<(Range<usize>, Kind)> = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                tokens.push((s..i, kind(&text[s..i])));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].1 != Kind::Ltr {
            i += 1;
            continue;
        }
        let run_start = tokens[i].0.start;
        let mut last_ltr = i;
        let mut j = i + 1;
        while j < tokens.len() && tokens[j].1 != Kind::Rtl {
            if tokens[j].1 == Kind::Ltr {
                last_ltr = j;
            }
            j += 1;
        }
        // Neutral tokens after the last Latin one join only when they hold digits (`#11`).
        let mut end_tok = last_ltr;
        while end_tok + 1 < j
            && tokens[end_tok + 1].1 == Kind::Neutral
            && text[tokens[end_tok + 1].0.clone()]
                .chars()
                .any(|c| c.is_ascii_digit())
        {
            end_tok += 1;
        }
        let mut end = tokens[end_tok].0.end;
        while let Some(c) = text[run_start..end].chars().next_back() {
            if is_trailing_punct(c) {
                end -= c.len_utf8();
            } else {
                break;
            }
        }
        if end > run_start {
            runs.push(run_start..end);
        }
        i = end_tok + 1;
    }
    runs
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ltr,
    Rtl,
    Neutral,
}

fn kind(token: &str) -> Kind {
    if token.chars().any(is_rtl_char) {
        Kind::Rtl
    } else if token.chars().any(is_ltr_char) {
        Kind::Ltr
    } else {
        Kind::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(t: &str) -> Vec<&str> {
        ltr_runs(t).into_iter().map(|r| &t[r]).collect()
    }

    #[test]
    fn left_to_right_letters_are_found_in_any_script() {
        assert!(!has_ltr_char("نص عربي، ٢٠١٧ و2017 «مقتبس» — שָׁלוֹם؟"));
        for t in ["نص a", "نص é", "نص Ω", "نص 漢", "нет"] {
            assert!(has_ltr_char(t), "{t}");
        }
    }

    #[test]
    fn finds_latin_runs_in_arabic() {
        assert_eq!(
            runs("استخدم #read(\"/etc/passwd\") هنا."),
            vec!["#read(\"/etc/passwd\")"]
        );
        assert_eq!(runs("معيار PKCS #11 للمفاتيح"), vec!["PKCS #11"]);
        assert_eq!(runs("كتب بلغة Python."), vec!["Python"]);
        assert_eq!(runs("عام 2017 كان"), Vec::<&str>::new());
        assert_eq!(
            runs("see https://example.org/a?b=1 now"),
            vec!["see https://example.org/a?b=1 now"]
        );
    }
}
