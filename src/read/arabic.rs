//! Arabic text helpers: ordinal words ↔ numbers, digit forms, and loose matching of spellings.

use crate::model::{Digits, LabelStyle};

/// Fold spelling variants so that words can be compared loosely: drop tashkeel, tatweel and
/// invisible marks; unify alef forms, ى/ي, ة/ه, ؤ/و, ئ/ي; fold Arabic-Indic and Persian digits
/// to Western; lower-case (the whole string at once, as JavaScript's `toLowerCase`, so the site's
/// search script folds the same way). Used for matching only, never for the text of the book.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            // Tashkeel (harakat, tanwin, shadda, sukun, dagger alef…) and Quranic marks.
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' => {}
            // Tatweel, format marks (ZWNJ, ZWJ, LRM, RLM, ALM), bidi controls, BOM.
            '\u{0640}'
            | '\u{200B}'..='\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}' => {}
            'أ' | 'إ' | 'آ' | 'ٱ' | 'ٲ' | 'ٳ' => out.push('ا'),
            'ى' | 'ئ' | 'ی' => out.push('ي'),
            'ة' => out.push('ه'),
            'ؤ' => out.push('و'),
            'ک' => out.push('ك'),
            '\u{0660}'..='\u{0669}' => out.push(char::from(b'0' + (c as u32 - 0x0660) as u8)),
            '\u{06F0}'..='\u{06F9}' => out.push(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
            _ => out.push(c),
        }
    }
    // Arabic and ASCII have no case beyond A–Z: the common case avoids Unicode case tables.
    if out
        .chars()
        .all(|c| c.is_ascii() || ('\u{0600}'..='\u{06FF}').contains(&c))
    {
        out.make_ascii_lowercase();
        return out;
    }
    out.to_lowercase()
}

/// Ordinal (and cardinal) unit words after [`fold`] and without «ال», with their value.
const UNITS: &[(&str, u32)] = &[
    ("اول", 1),
    ("اولي", 1),
    ("حادي", 1),
    ("حاديه", 1),
    ("واحد", 1),
    ("واحده", 1),
    ("ثاني", 2),
    ("ثانيه", 2),
    ("اثنان", 2),
    ("اثنين", 2),
    ("اثنا", 2),
    ("اثني", 2),
    ("ثالث", 3),
    ("ثالثه", 3),
    ("ثلاثه", 3),
    ("ثلاث", 3),
    ("رابع", 4),
    ("رابعه", 4),
    ("اربعه", 4),
    ("اربع", 4),
    ("خامس", 5),
    ("خامسه", 5),
    ("خمسه", 5),
    ("خمس", 5),
    ("سادس", 6),
    ("سادسه", 6),
    ("سته", 6),
    ("ست", 6),
    ("سابع", 7),
    ("سابعه", 7),
    ("سبعه", 7),
    ("سبع", 7),
    ("ثامن", 8),
    ("ثامنه", 8),
    ("ثمانيه", 8),
    ("ثماني", 8),
    ("ثمان", 8),
    ("تاسع", 9),
    ("تاسعه", 9),
    ("تسعه", 9),
    ("تسع", 9),
    ("عاشر", 10),
    ("عاشره", 10),
    ("عشره", 10),
    ("عشر", 10),
];

/// Tens words after [`fold`] and without «ال».
const TENS: &[(&str, u32)] = &[
    ("عشرون", 20),
    ("عشرين", 20),
    ("ثلاثون", 30),
    ("ثلاثين", 30),
    ("اربعون", 40),
    ("اربعين", 40),
    ("خمسون", 50),
    ("خمسين", 50),
    ("ستون", 60),
    ("ستين", 60),
    ("سبعون", 70),
    ("سبعين", 70),
    ("ثمانون", 80),
    ("ثمانين", 80),
    ("تسعون", 90),
    ("تسعين", 90),
];

/// Words for 100 after [`fold`] and without «ال».
const HUNDRED: &[&str] = &["مايه", "ميه", "مائه", "مئه"];

/// Masculine ordinal words for 1..=10 as the label writes them.
const ORDINAL_WORDS: [&str; 10] = [
    "الأول",
    "الثاني",
    "الثالث",
    "الرابع",
    "الخامس",
    "السادس",
    "السابع",
    "الثامن",
    "التاسع",
    "العاشر",
];

/// Tens as the label writes them (20..=90).
const TENS_WORDS: [&str; 8] = [
    "العشرون",
    "الثلاثون",
    "الأربعون",
    "الخمسون",
    "الستون",
    "السبعون",
    "الثمانون",
    "التسعون",
];

fn strip_al(word: &str) -> &str {
    word.strip_prefix("ال")
        .filter(|w| !w.is_empty())
        .unwrap_or(word)
}

fn unit(word: &str) -> Option<u32> {
    let w = strip_al(word);
    UNITS.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

fn tens(word: &str) -> Option<u32> {
    let w = strip_al(word);
    TENS.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

fn is_hundred(word: &str) -> bool {
    HUNDRED.contains(&strip_al(word))
}

fn is_teen_ten(word: &str) -> bool {
    matches!(word, "عشر" | "عشره")
}

/// The result of reading a number at the start of some text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberMatch {
    /// The number read.
    pub value: u32,
    /// How many bytes of the (unfolded) input it used.
    pub len: usize,
}

/// Read a part number at the start of `text`: digits (Western, Arabic-Indic, Persian) or
/// ordinal/cardinal words up to 100 («الرابع عشر», «الحادي والعشرون», «المائة»), with or
/// without «ال» and with spelling variants. Leading whitespace is skipped (and counted).
pub fn parse_number(text: &str) -> Option<NumberMatch> {
    let trimmed = text.trim_start_matches(is_space);
    let lead = text.len() - trimmed.len();
    // Optional «رقم» ("number") before digits.
    let digits_at = |s: &str| -> Option<NumberMatch> {
        let mut value: u32 = 0;
        let mut len = 0;
        for c in s.chars() {
            let d = match c {
                '0'..='9' => c as u32 - '0' as u32,
                '\u{0660}'..='\u{0669}' => c as u32 - 0x0660,
                '\u{06F0}'..='\u{06F9}' => c as u32 - 0x06F0,
                _ => break,
            };
            value = value.checked_mul(10)?.checked_add(d)?;
            len += c.len_utf8();
        }
        (len > 0).then_some(NumberMatch { value, len })
    };
    if let Some(m) = digits_at(trimmed) {
        return Some(NumberMatch {
            value: m.value,
            len: lead + m.len,
        });
    }
    if let Some(rest) = trimmed.strip_prefix("رقم") {
        let rest_trim = rest.trim_start_matches(is_space);
        if let Some(m) = digits_at(rest_trim) {
            return Some(NumberMatch {
                value: m.value,
                len: lead + "رقم".len() + (rest.len() - rest_trim.len()) + m.len,
            });
        }
    }
    parse_words(trimmed).map(|m| NumberMatch {
        value: m.value,
        len: lead + m.len,
    })
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{0640}' | '\u{200C}' | '\u{200D}' | '\u{200E}' | '\u{200F}'
        )
}

/// Split `text` into words with their byte end offsets (words are runs of non-space letters).
fn words(text: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let is_word = !is_space(c) && !is_separator(c);
        match (is_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((&text[s..i], i));
                start = None;
                if is_separator(c) {
                    break;
                }
            }
            (false, None) if is_separator(c) => break,
            _ => {}
        }
        if out.len() >= 4 {
            break;
        }
    }
    if let (Some(s), true) = (start, out.len() < 4) {
        out.push((&text[s..], text.len()));
    }
    out
}

/// Punctuation that ends a number phrase.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ':' | '،'
            | ','
            | '؛'
            | ';'
            | '-'
            | '–'
            | '—'
            | '|'
            | '('
            | ')'
            | '.'
            | '!'
            | '؟'
            | '?'
            | '«'
            | '»'
            | '"'
            | '/'
    )
}

fn parse_words(text: &str) -> Option<NumberMatch> {
    let ws = words(text);
    let folded: Vec<String> = ws.iter().map(|(w, _)| fold(w)).collect();
    let first = folded.first()?;
    let end = |i: usize| ws[i].1;
    // «المائة» / «مئة».
    if is_hundred(first) {
        return Some(NumberMatch {
            value: 100,
            len: end(0),
        });
    }
    // A bare tens word: «العشرون».
    if let Some(t) = tens(first) {
        return Some(NumberMatch {
            value: t,
            len: end(0),
        });
    }
    let u = unit(first)?;
    // «الحادي عشر», «الثاني عشر»: unit followed by عشر/عشرة.
    if let Some(second) = folded.get(1) {
        if is_teen_ten(second) && u < 10 {
            return Some(NumberMatch {
                value: 10 + u,
                len: end(1),
            });
        }
        // «الحادي والعشرون» or «الحادي و العشرون».
        let (tens_word, tens_idx) = match second.strip_prefix('و') {
            Some("") => (folded.get(2).map(String::as_str), 2),
            Some(rest) => (Some(rest), 1),
            None => (None, 0),
        };
        if let Some(t) = tens_word.and_then(tens)
            && u < 10
        {
            return Some(NumberMatch {
                value: t + u,
                len: end(tens_idx),
            });
        }
    }
    // «الحادي» alone is not a number; «الأول», «الثاني»… are.
    if matches!(strip_al(first), "حادي" | "حاديه" | "اثنا" | "اثني") {
        return None;
    }
    Some(NumberMatch {
        value: u,
        len: end(0),
    })
}

/// The ordinal word(s) for `n` as the label writes them («الرابع عشر»), for 1..=100.
pub fn ordinal_words(n: u32) -> Option<String> {
    match n {
        1..=10 => Some(ORDINAL_WORDS[n as usize - 1].to_owned()),
        11 => Some("الحادي عشر".to_owned()),
        12..=19 => Some(format!("{} عشر", ORDINAL_WORDS[n as usize - 11])),
        20..=99 => {
            let tens = TENS_WORDS[(n / 10) as usize - 2];
            match n % 10 {
                0 => Some(tens.to_owned()),
                1 => Some(format!("الحادي و{tens}")),
                u => Some(format!("{} و{tens}", ORDINAL_WORDS[u as usize - 1])),
            }
        }
        100 => Some("المئة".to_owned()),
        _ => None,
    }
}

/// The label of a part: «الجزء الرابع عشر» (words) or «الجزء ١٤» (number in `digits`).
/// Numbers above 100 are always written with digits; a part without a number is «جزء».
pub fn part_label(number: Option<u32>, style: LabelStyle, digits: Digits) -> String {
    match (number, style) {
        (None, _) => "جزء".to_owned(),
        (Some(n), LabelStyle::Words) => match ordinal_words(n) {
            Some(w) => format!("الجزء {w}"),
            None => format!("الجزء {}", digits.format(n.into())),
        },
        (Some(n), LabelStyle::Number) => format!("الجزء {}", digits.format(n.into())),
    }
}

/// Where a part marker («الجزء», «الحلقة»…) stands in a line: byte offsets of the marker word.
pub fn find_marker(line: &str) -> Option<(usize, usize)> {
    const MARKERS: &[&str] = &["الجزء", "الجزؤ", "الحلقة", "جزء", "حلقة"];
    let mut best: Option<(usize, usize)> = None;
    for marker in MARKERS {
        for (i, _) in line.match_indices(marker) {
            // The marker must start a word.
            let before_ok = line[..i]
                .chars()
                .next_back()
                .is_none_or(|c| is_space(c) || is_separator(c));
            if !before_ok {
                continue;
            }
            let end = i + marker.len();
            // Followed by a number (possibly glued: «الجزءالرابع»).
            if parse_number(&line[end..]).is_some()
                && best.is_none_or(|(b, _)| i > b || (i == b && end > best.map_or(0, |x| x.1)))
            {
                best = Some((i, end));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_unifies_variants() {
        assert_eq!(fold("تدريجيًا"), "تدريجيا");
        assert_eq!(fold("أإآٱ"), "اااا");
        assert_eq!(fold("مدرسة"), "مدرسه");
        assert_eq!(fold("١٤ ۱۴"), "14 14");
        assert_eq!(fold("عـــربي"), "عربي");
    }
}
