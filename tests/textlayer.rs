//! The PDF's logical text layer (issue 11): every extractor copies the source text back, the
//! renders match typst's native output, the file stays valid, tagged and reproducible.
//!
//! External tools: the text-layer extractors of `measure.py` (`tests/common::textlayer_measure`),
//! poppler-utils (`pdftoppm`, `pdfinfo`, `pdffonts`) and qpdf.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Build `book` with an optional `publish.toml`; returns the output folder.
fn build(book: &Path, formats: &str, toml: Option<&str>) -> PathBuf {
    if let Some(t) = toml {
        std::fs::write(book.join("publish.toml"), t).unwrap();
    }
    publish()
        .args(["--format", formats, "--book"])
        .arg(book)
        .assert()
        .success();
    book.join("output")
}

/// The book's own text from its HTML pages (tags dropped, entities of the writer decoded): the
/// ceiling `measure.py --text` scores, since the book leaves the title line and junk out.
fn html_text(html_dir: &Path) -> String {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(html_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("part-") && n.ends_with(".html"))
        })
        .collect();
    pages.sort();
    let mut text = String::new();
    for p in pages {
        let html = std::fs::read_to_string(p).unwrap();
        let body = html.split("<main").nth(1).unwrap_or(&html);
        let mut inside = false;
        for c in body.chars() {
            match c {
                '<' => inside = true,
                '>' => {
                    inside = false;
                    text.push(' ');
                }
                c if !inside => text.push(c),
                _ => {}
            }
        }
        text.push('\n');
    }
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// `measure.py`'s figures: extractor → (letters, exact, words); and the ceiling's.
struct Scores {
    ceiling: (f64, f64, f64),
    by: Vec<(String, (f64, f64, f64))>,
}

fn measure(out: &Path, sources: &[PathBuf]) -> Option<Scores> {
    let script = textlayer_measure();
    if !require_found(
        "textlayer measure.py",
        script.is_some(),
        "scripts/install-test-tools",
    ) {
        return None;
    }
    let script = script.unwrap();
    let srcs: Vec<String> = sources
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let text = out.join("ceiling.txt");
    std::fs::write(&text, html_text(&out.join("html"))).unwrap();
    let mut args = vec![
        script.to_string_lossy().into_owned(),
        "--text".into(),
        text.to_string_lossy().into_owned(),
    ];
    args.extend(srcs.iter().cloned());
    let line = run_tool(
        "python3",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    // "text L / E / W len×…"
    let nums: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let ceiling = (nums[0], nums[1], nums[2]);
    let mut args = vec![
        script.to_string_lossy().into_owned(),
        out.join("book.pdf").to_string_lossy().into_owned(),
    ];
    args.extend(srcs);
    args.push("--json".into());
    let json = run_tool(
        "python3",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("measure.py --json");
    let by = v
        .as_object()
        .unwrap()
        .iter()
        .map(|(ex, r)| {
            let f = |k: &str| r[k][0].as_f64().unwrap();
            (ex.clone(), (f("letters"), f("exact"), f("words")))
        })
        .collect();
    eprintln!("ceiling {ceiling:?}");
    Some(Scores { ceiling, by })
}

fn sources_of(book: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(book.join("sources"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// The targets, as shares of the ceiling (the book's own text scored the same way).
const LETTERS: f64 = 0.97;
const EXACT: f64 = 0.95;

/// Hold every extractor to the targets, except the known gaps, which are held to a
/// floor (the figures measured when the gap was written down, less a margin) so that they
/// cannot get worse unseen. Gaps are printed loudly.
fn check(s: &Scores, gaps: &[(&str, f64, f64)]) -> Vec<String> {
    let (cl, ce, _) = s.ceiling;
    let mut failed = Vec::new();
    for (ex, (l, e, w)) in &s.by {
        eprintln!("{ex:10} letters {l:.3} exact {e:.3} words {w:.3} (ceiling {cl:.3} / {ce:.3})");
        let met = *l >= LETTERS * cl && *e >= EXACT * ce;
        match gaps.iter().find(|g| g.0 == ex) {
            Some((_, fl, fe)) => {
                if !met {
                    eprintln!(
                        "KNOWN GAP: {ex} is below the issue's target ({LETTERS} / {EXACT} of the ceiling)"
                    );
                }
                if *l < *fl || *e < *fe {
                    failed.push(format!(
                        "{ex}: letters {l:.3} exact {e:.3}, below its floor {fl} / {fe}"
                    ));
                }
            }
            None if !met => failed.push(format!("{ex}: letters {l:.3} exact {e:.3}")),
            None => {}
        }
    }
    failed
}

#[test]
fn seed_copies_back_in_every_extractor() {
    let bytes = std::fs::read(seed()).unwrap();
    let book = book_with(&[("000_45698de3c11125b4.txt", &bytes)]);
    let out = build(book.path(), "pdf,html", None);
    let Some(s) = measure(&out, &sources_of(book.path())) else {
        return;
    };
    // Every extractor meets the target: PDFium once a weak run (`2017،`) stays in one text
    // object, pdfminer once the ends of a left-to-right run are widened (see the README).
    let failed = check(&s, &[]);
    assert_eq!(s.by.len(), 6, "six extractors");
    assert!(failed.is_empty(), "below target: {failed:?}");
    // Spaces between words: poppler, PDFium and pdf.js meet the target (and both MuPDFs and
    // pdfminer, which the issue does not ask for). pdf.js finds them from the `Tw` only it
    // applies to code 32 (see `pdfjs.rs`), the numbers' among them: a space before `2014`
    // moves into the number's text object.
    let words = |ex: &str| s.by.iter().find(|(e, _)| e == ex).map_or(0.0, |(_, v)| v.2);
    for ex in [
        "pdftotext",
        "pdfium",
        "pdfjs",
        "mutool",
        "pdfminer",
        "pymupdf",
    ] {
        assert!(words(ex) >= 0.90, "{ex} words {}", words(ex));
    }
}

#[test]
fn vowelled_text_copies_back() {
    let book = book_from_dir(&fixture("vowelled"));
    let out = build(book.path(), "pdf,html", None);
    let Some(s) = measure(&out, &sources_of(book.path())) else {
        return;
    };
    // The corpus: 4,342 words of Quran (verse markers ﴿١﴾ and ۝١), hadith and poetry. All but
    // pdf.js meet the target; pdf.js drops U+06DD (a format character) and reverses the
    // expansion of ﷺ: held to the figure of the commit less 0.02.
    let failed = check(&s, &[("pdfjs", 0.92, 0.92)]);
    assert!(failed.is_empty(), "below target: {failed:?}");
    // Spaces between words in poppler, PDFium and pdf.js (the target): pdf.js's are
    // as many as its letters, short of the target only where its letters are.
    let spaced = |ex: &str| s.by.iter().find(|(e, _)| e == ex).map_or(0.0, |(_, v)| v.2);
    for ex in ["pdftotext", "pdfium", "pdfjs"] {
        assert!(spaced(ex) >= 0.90, "{ex} words {}", spaced(ex));
    }
    let words = sources_of(book.path())
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .split_whitespace()
                .count()
        })
        .sum::<usize>();
    assert!(words >= 3000, "the vowelled corpus has {words} words");
}

/// Arabic prose with numbers, percentages, a verse reference and verse markers (`﴿٢﴾`, and
/// `۝١٣`, whose digits Amiri draws inside the ornament), each line a paragraph.
const NUMBERED_PROSE: [&str; 7] = [
    "بلغ عدد السكان عام 2014 نحو 23 مليون نسمة، ثم تراجع إلى 17 مليونا عام 2020.",
    "ارتفعت الأسعار 15% في عام 2017، ثم انخفضت بنسبة ٣٠٪ بعد ذلك.",
    "قال تعالى: ﴿إِنَّ اللَّهَ مَعَ الصَّابِرِينَ﴾ [البقرة: 153]، وهي الآية ١٥٣ من السورة.",
    "﴿الْحَمْدُ لِلَّهِ رَبِّ الْعَالَمِينَ ﴿٢﴾ الرَّحْمَٰنِ الرَّحِيمِ ﴿٣﴾ مَالِكِ يَوْمِ الدِّينِ ﴿٤﴾",
    "صدر الجزء 14 من السلسلة في 12 صفحة، وفيه 3 فصول.",
    "إِنَّهُۥ عَلِيمٌۢ بِذَاتِ ٱلصُّدُورِ ۝١٣ أَلَا يَعْلَمُ مَنْ خَلَقَ",
    "قُلْ هُوَ ٱلَّذِىٓ أَنشَأَكُمْ ۝٢٣ قُلْ هُوَ ٱلَّذِى ذَرَأَكُمْ ۝٢٤",
];

/// poppler reorders a right-to-left line itself and, after a number, takes the space and
/// punctuation next to it into the number's left-to-right embedding (`عام  2014ثم`, `﴿ ﴾١`); the
/// layer puts a right-to-left mark after each number so that it cannot (see the README). Every
/// sentence (each a paragraph of one line) comes back from `pdftotext` as one line, in order,
/// as the source has it, bidi controls aside.
#[test]
fn poppler_reads_numbers_in_arabic_prose_in_order() {
    if !require_tool("pdftotext", &["-v"], "apt-get install poppler-utils") {
        return;
    }
    let md = format!(
        "---\ntitle: أرقام\npart: 1\nlang: ar\n---\n\n{}\n",
        NUMBERED_PROSE.join("\n\n")
    );
    let book = book_with(&[("part-1.md", md.as_bytes())]);
    let pdf = build(book.path(), "pdf", None).join("book.pdf");
    let text = run_tool("pdftotext", &["-enc", "UTF-8", pdf.to_str().unwrap(), "-"]);
    // poppler marks embeddings with bidi controls (U+202A…U+202C), and the layer keeps the
    // LRMs typst sets around a Latin run: not text.
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'))
        .collect();
    let missing: Vec<&str> = NUMBERED_PROSE
        .into_iter()
        .filter(|s| !text.lines().any(|line| line.trim() == *s))
        .collect();
    assert!(
        missing.is_empty(),
        "not in order from pdftotext: {missing:#?}\n--- pdftotext:\n{text}"
    );
}

#[test]
fn renders_match_native_output() {
    if !require_tool("pdftoppm", &["-v"], "apt-get install poppler-utils") {
        return;
    }
    let bytes = std::fs::read(fixture("vowelled").join("001_quran.txt")).unwrap();
    let seed_bytes = std::fs::read(seed()).unwrap();
    let files: [(&str, &[u8]); 2] = [
        ("000_45698de3c11125b4.txt", &seed_bytes),
        ("001_quran.txt", &bytes),
    ];
    let logical = book_with(&files);
    let native = book_with(&files);
    let a = build(logical.path(), "pdf", None).join("book.pdf");
    let b = build(
        native.path(),
        "pdf",
        Some("[pdf]\ntext-layer = \"native\"\n"),
    )
    .join("book.pdf");
    let (share, real) = render_difference(&a, &b);
    eprintln!("pixels differing from native: {share:.5}; beyond anti-aliasing: {real:.6}");
    // poppler snaps a font's glyphs to its pixel grid and fills paths where they are, so
    // most edge pixels differ a little; a pixel that no neighbour of the other render comes
    // within a quarter of the grey scale of is a real difference.
    assert!(
        real <= 0.005,
        "{real:.4} of pixels differ from the native render beyond anti-aliasing"
    );
    assert!(share <= 0.08, "{share:.4} of pixels differ at all");
}

#[test]
fn valid_embedded_tagged_and_reproducible() {
    let bytes = std::fs::read(fixture("vowelled").join("002_hadith.txt")).unwrap();
    let book = book_with(&[("002_hadith.txt", &bytes)]);
    let pdf = build(book.path(), "pdf", None).join("book.pdf");
    let first = std::fs::read(&pdf).unwrap();
    build(book.path(), "pdf", None);
    assert!(first == std::fs::read(&pdf).unwrap(), "two builds differ");
    if require_tool("qpdf", &["--version"], "apt-get install qpdf") {
        let out = Command::new("qpdf")
            .arg("--check")
            .arg(&pdf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !text.contains("WARNING"), "{text}");
    }
    if !require_tool("pdffonts", &["-v"], "apt-get install poppler-utils") {
        return;
    }
    let fonts = run_tool("pdffonts", &[pdf.to_str().unwrap()]);
    for line in fonts.lines().skip(2) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let n = cols.len();
        assert!(
            n >= 7 && cols[n - 5] == "yes" && cols[n - 3] == "yes",
            "font not embedded or without Unicode: {line}"
        );
    }
    assert!(fonts.contains("PublishTextLayer"), "{fonts}");
    let tagged = run_tool("pdfinfo", &["-struct-text", pdf.to_str().unwrap()]);
    // pdfinfo prints each marked-content run of an element as a quoted string on its line.
    let squash = |s: &str| {
        s.lines()
            .filter_map(|l| l.trim().strip_prefix('"').and_then(|l| l.strip_suffix('"')))
            .collect::<String>()
            .split_whitespace()
            .collect::<String>()
    };
    let plain = |s: &str| s.split_whitespace().collect::<String>();
    assert!(
        squash(&tagged).contains(&plain("لَا يُؤْمِنُ أَحَدُكُمْ حَتَّى يُحِبَّ لِأَخِيهِ")),
        "the structure tree does not hold the logical text:\n{tagged}"
    );
    // The running head (the series title on every page) is a pagination artifact: the text
    // layer draws it, but the structure tree holds it only where the book prints it as text
    // (title pages, contents), not once per page.
    let pages: usize = run_tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    let head = plain("أحاديث نبوية مشكولة");
    let in_tree = squash(&tagged).matches(&head).count();
    let on_pages = plain(&run_tool("pdftotext", &[pdf.to_str().unwrap(), "-"]))
        .matches(&head)
        .count();
    assert!(pages >= 8, "{pages} pages");
    assert!(
        on_pages >= 3 && in_tree + 2 <= on_pages,
        "running head: {on_pages} times on the pages, {in_tree} times in the structure tree"
    );
}

#[test]
fn unknown_text_layer_is_a_config_error() {
    let bytes = std::fs::read(seed()).unwrap();
    let book = book_with(&[("000_45698de3c11125b4.txt", &bytes)]);
    std::fs::write(
        book.path().join("publish.toml"),
        "[pdf]\ntext-layer = \"fancy\"\n",
    )
    .unwrap();
    publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .assert()
        .failure()
        .stderr(predicates::str::contains("text-layer"));
}
