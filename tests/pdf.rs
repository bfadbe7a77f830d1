//! The PDF edition (issue 3): validity, metadata, text layer, hostile input, missing glyphs,
//! reproducibility and reference renders of shaping and direction.
//!
//! External tools: qpdf and poppler-utils (`apt-get install qpdf poppler-utils`).
//! Reference renders live in `tests/fixtures/pdf/ref/*.png`; after a deliberate change of the
//! template or fonts, regenerate them with `PUBLISH_ACCEPT=1 cargo test --release --test pdf`
//! and look at the new images before committing them.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Build `book` (a temporary book folder) to PDF; returns the PDF path.
fn build_pdf(book: &Path) -> PathBuf {
    publish()
        .args(["--format", "pdf", "--book"])
        .arg(book)
        .assert()
        .success();
    book.join("output").join("book.pdf")
}

fn seed_book() -> tempfile::TempDir {
    let bytes = std::fs::read(seed()).unwrap();
    book_with(&[("000_45698de3c11125b4.txt", &bytes)])
}

fn run(program: &str, args: &[&str], path: &Path) -> String {
    let mut args = args.to_vec();
    args.push(path.to_str().expect("a UTF-8 path"));
    run_tool(program, &args)
}

fn pdftotext(pdf: &Path, raw: bool) -> String {
    let mut args = vec!["-enc", "UTF-8"];
    if raw {
        args.push("-raw");
    }
    let out = Command::new("pdftotext")
        .args(&args)
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).expect("pdftotext gives UTF-8")
}

fn tools() -> bool {
    require_tool("qpdf", &["--version"], "apt-get install qpdf")
        && require_tool("pdftotext", &["-v"], "apt-get install poppler-utils")
        && require_tool("pdffonts", &["-v"], "apt-get install poppler-utils")
}

#[test]
fn seed_book_is_a_valid_archival_pdf() {
    if !tools() {
        return;
    }
    let book = seed_book();
    let pdf = build_pdf(book.path());
    let check = run("qpdf", &["--check"], &pdf);
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );

    // Every font embedded (the `emb` column).
    let fonts = run("pdffonts", &[], &pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts listed:\n{fonts}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert!(n >= 7, "unexpected pdffonts row {row}");
        assert_eq!(cols[n - 5], "yes", "font not embedded: {row}");
        assert!(
            // PublishTextLayer: the glyphless font of the logical text layer (issue 11).
            cols[0].contains("Amiri")
                || cols[0].contains("Noto")
                || cols[0].contains("PublishTextLayer"),
            "not a theme font: {row}"
        );
    }

    // Catalog: language and right-to-left reading; XMP claims PDF/A-2u.
    let qdf = book.path().join("qdf.pdf");
    let out = Command::new("qpdf")
        .args(["--qdf", "--object-streams=disable"])
        .arg(&pdf)
        .arg(&qdf)
        .status()
        .unwrap();
    assert!(out.success());
    let text = String::from_utf8_lossy(&std::fs::read(&qdf).unwrap()).into_owned();
    let catalog_start = text.find("/Type /Catalog").expect("a catalog");
    let obj_start = text[..catalog_start].rfind(" obj").unwrap();
    let obj_end = catalog_start + text[catalog_start..].find("endobj").unwrap();
    let catalog = &text[obj_start..obj_end];
    assert!(catalog.contains("/Lang (ar)"), "{catalog}");
    assert!(catalog.contains("/Direction /R2L"), "{catalog}");
    assert!(
        catalog.contains("/Outlines"),
        "bookmarks missing: {catalog}"
    );
    assert!(catalog.contains("/StructTreeRoot"), "not tagged: {catalog}");
    assert!(
        text.contains("<pdfaid:part>2</pdfaid:part>"),
        "XMP lacks pdfaid:part 2"
    );
    assert!(text.contains("<pdfaid:conformance>U</pdfaid:conformance>"));

    // Document info: title and author from the model.
    let info = run("pdfinfo", &[], &pdf);
    assert!(info.contains("وهم الخلافة"), "{info}");
    assert!(info.contains("عزيز جلال"), "{info}");
    assert!(
        info.contains("Page size:       419.528 x 595.276 pts"),
        "A5 by default: {info}"
    );
}

/// Remove what PDF text extraction shuffles or splits: whitespace, direction marks, combining
/// marks (harakat) and tatweel.
fn normalise(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            !(c.is_whitespace()
                || matches!(c as u32,
                    0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0x061C | 0x0640
                    | 0x0300..=0x036F | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670
                    | 0x06D6..=0x06ED | 0x08D3..=0x08FF))
        })
        .collect()
}

#[test]
fn text_layer_holds_the_source_words_in_order() {
    if !tools() {
        return;
    }
    let book = seed_book();
    let pdf = build_pdf(book.path());
    let layer = normalise(&pdftotext(&pdf, false));
    // The source's words, except on lines the reader removed as website junk (and said so).
    let out = publish()
        .args(["check", "--diagnostics", "json", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let junk: Vec<u64> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|d| d["code"] == "junk-removed")
        .filter_map(|d| d["line"].as_u64())
        .collect();
    assert!(
        !junk.is_empty(),
        "the seed has a junk line the reader reports"
    );
    let source = std::fs::read_to_string(seed()).unwrap();
    let words: Vec<String> = source
        .lines()
        .enumerate()
        .filter(|(i, _)| !junk.contains(&(*i as u64 + 1)))
        .flat_map(|(_, l)| l.split_whitespace().map(normalise).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect();
    let mut pos = 0;
    let mut found = 0;
    let mut missing = Vec::new();
    for w in &words {
        match layer[pos..].find(w.as_str()) {
            Some(i) => {
                found += 1;
                pos += i + w.len();
            }
            None => missing.push(w.clone()),
        }
    }
    let ratio = found as f64 / words.len() as f64;
    eprintln!(
        "text layer: {found}/{} source words in order ({:.2}%); missing: {missing:?}",
        words.len(),
        ratio * 100.0
    );
    assert!(words.len() > 400, "the seed is a real article");
    assert!(ratio >= 0.98, "only {:.2}% of the words", ratio * 100.0);
}

#[test]
fn hostile_text_prints_literally_and_reads_nothing() {
    if !tools() {
        return;
    }
    let book = book_from_dir(&fixture("pdf/hostile"));
    let pdf = build_pdf(book.path());
    let layer = pdftotext(&pdf, false);
    let raw = pdftotext(&pdf, true);
    // Each Latin run prints intact and in its own order, as written and as poppler reorders a
    // line for reading (copy and paste); the neutrals around a run (`[`…`]` around `a`, the
    // `/)` after `-rf`) are placed by the bidi algorithm in the paragraph's direction, which
    // `tests/bidi.rs` checks, and every character is counted below.
    for token in [
        "#read(\"/etc/passwd\")",
        "*x*",
        "$x$",
        "[a]",
        "<b>",
        "@x",
        "#include \"x\"",
        "$(rm -rf /)",
        "&amp;",
        "_y_",
        "`z`",
    ] {
        let runs = publish::bidi::latin_runs(token);
        assert!(!runs.is_empty(), "`{token}` has a Latin run");
        for run in runs {
            let run = &token[run];
            assert!(raw.contains(run), "`{run}` not printed literally:\n{raw}");
            assert!(
                normalise(&layer).contains(&normalise(run)),
                "`{run}` not in reading order:\n{layer}"
            );
        }
    }
    // Every character of the hostile paragraphs is in the text layer, as often as typed.
    let source = std::fs::read_to_string(fixture("pdf/hostile/001.txt")).unwrap();
    let paragraphs: String = source.lines().skip(6).collect();
    let mut chars: Vec<char> = paragraphs.chars().filter(|c| !c.is_whitespace()).collect();
    chars.sort();
    chars.dedup();
    for c in chars {
        let want = paragraphs.chars().filter(|&x| x == c).count();
        let got = layer.chars().filter(|&x| x == c).count();
        assert!(got >= want, "«{c}» printed {got} times, typed {want} times");
    }
    // Nothing outside the book was read.
    if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
        for line in passwd.lines().filter(|l| l.len() > 3) {
            assert!(
                !layer.contains(line),
                "the PDF contains /etc/passwd: {line}"
            );
            assert!(!raw.contains(line), "the PDF contains /etc/passwd: {line}");
        }
    }
    assert!(!layer.contains("root:"), "the PDF contains /etc/passwd");
}

#[test]
fn missing_glyph_fails_naming_char_file_and_line() {
    let book = book_from_dir(&fixture("pdf/missing-glyph"));
    // `check` runs the PDF writer's checks: sources error → exit code 1.
    let out = publish()
        .args(["check", "--format", "pdf", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("sources/001.txt:9:") && stderr.contains("漢") && stderr.contains("U+6F22"),
        "{stderr}"
    );
    assert!(stderr.contains("[missing-glyph]"), "{stderr}");
    assert_eq!(
        stderr.matches("[missing-glyph]").count(),
        1,
        "reported once: {stderr}"
    );
    // A build fails too, and leaves no PDF behind.
    let out = publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error in the sources: {stderr}"
    );
    assert!(
        stderr.contains("sources/001.txt:9:") && stderr.contains("漢"),
        "{stderr}"
    );
    assert!(!book.path().join("output/book.pdf").exists());
}

#[test]
fn two_builds_are_byte_identical() {
    let book = seed_book();
    let a = std::fs::read(build_pdf(book.path())).unwrap();
    let other = book.path().join("second");
    publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .arg("--output")
        .arg(&other)
        .assert()
        .success();
    let b = std::fs::read(other.join("book.pdf")).unwrap();
    assert!(a.len() > 10_000);
    assert!(a == b, "two builds of the same sources differ");
}

#[test]
fn paper_sizes_and_standards_come_from_the_config() {
    if !tools() {
        return;
    }
    for (toml, size) in [
        ("[pdf]\npaper = \"us-trade\"\n", "432 x 648 pts"),
        (
            "[pdf]\npaper = \"custom\"\nwidth = \"5in\"\nheight = \"8in\"\nstandard = [\"a-3b\"]\n\
             body-digits = \"arabic-indic\"\n",
            "360 x 576 pts",
        ),
        (
            "[pdf]\npaper = \"a4\"\nstandard = []\n",
            "595.276 x 841.89 pts",
        ),
    ] {
        let book = seed_book();
        std::fs::write(book.path().join("publish.toml"), toml).unwrap();
        let pdf = build_pdf(book.path());
        let info = run("pdfinfo", &[], &pdf);
        assert!(info.contains(size), "{toml}: {info}");
        let meta = run("pdfinfo", &["-meta"], &pdf);
        let body = normalise(&pdftotext(&pdf, false));
        if toml.contains("a-3b") {
            assert!(meta.contains("<pdfaid:part>3</pdfaid:part>"), "{meta}");
            // Body digits converted on request…
            assert!(body.contains("عام٢٠١٤") && !body.contains("2014"), "{body}");
        } else {
            // …and as typed by default.
            assert!(body.contains("2014") && !body.contains("٢٠١٤"), "{body}");
        }
        if toml.contains("standard = []") {
            assert!(!meta.contains("pdfaid:part"), "{meta}");
        }
    }
    // Bad values are errors naming the key, not a silent default.
    let book = seed_book();
    std::fs::write(
        book.path().join("publish.toml"),
        "[pdf]\npaper = \"letterish\"\nstandard = [\"a-9z\"]\nbody-digits = \"roman\"\n",
    )
    .unwrap();
    let out = publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("paper `letterish`"), "{stderr}");
    assert!(stderr.contains("body-digits `roman`"), "{stderr}");
    assert!(stderr.contains("standard `a-9z`"), "{stderr}");
}

fn context() -> (tempfile::TempDir, publish::Context) {
    let book = seed_book();
    let opts = publish::Options {
        book_dir: book.path().to_path_buf(),
        sources: None,
        output: None,
        config: None,
        theme: None,
        formats: vec![],
        jobs: Some(1),
        check_only: true,
        check_print: false,
    };
    let ctx = publish::load(&opts, &mut Vec::new()).expect("the seed book loads");
    (book, ctx)
}

fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    use typst::visualize::{ExchangeFormat, RasterImage};
    let img = RasterImage::plain(
        typst::foundations::Bytes::new(png.to_vec()),
        ExchangeFormat::Png,
    )
    .expect("a PNG");
    (
        img.width(),
        img.height(),
        img.dynamic().to_rgba8().into_raw(),
    )
}

/// Reference renders of shaping and direction cases, compared pixel by pixel with a small
/// tolerance (anti-aliasing may differ across platforms).
#[test]
fn reference_renders_of_shaping_and_direction() {
    let cases: &[(&str, &[&str])] = &[
        // Letters join, harakat sit on their letters, lam-alef ligature.
        (
            "joining",
            &["بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ", "لا إله إلا الله، مُحَمَّدٌ"],
        ),
        // Western and Arabic-Indic numbers read left to right inside Arabic text.
        (
            "digits",
            &["من عام 2014 إلى عام 2019، أي ٥ سنوات و١٢ شهرًا."],
        ),
        // Latin, code-like text and URLs are isolated and keep their own order.
        (
            "isolation",
            &["معيار PKCS #11 ودالة #read(\"/etc/passwd\") في https://example.org/a?b=1 هنا."],
        ),
        // Punctuation on the correct side; brackets mirrored; Hebrew from the fallback font.
        (
            "punctuation",
            &["قال: «مرحبًا»، ثم (ذهب)؟ نعم!", "עברית: שָׁלוֹם"],
        ),
    ];
    let (_book, ctx) = context();
    let accept = std::env::var("PUBLISH_ACCEPT").is_ok_and(|v| v == "1");
    let dir = fixture("pdf/ref");
    let mut failures = Vec::new();
    for (name, paragraphs) in cases {
        let png = publish::write::pdf::render_sample_png(&ctx, paragraphs, 1.5)
            .unwrap_or_else(|d| panic!("{name}: {d}"));
        let path = dir.join(format!("{name}.png"));
        if accept || !path.exists() {
            assert!(
                accept,
                "{} is missing: run with PUBLISH_ACCEPT=1",
                path.display()
            );
            std::fs::write(&path, &png).unwrap();
            continue;
        }
        let (w1, h1, got) = decode(&png);
        let (w2, h2, want) = decode(&std::fs::read(&path).unwrap());
        if (w1, h1) != (w2, h2) {
            failures.push(format!("{name}: size {w1}×{h1}, reference {w2}×{h2}"));
            continue;
        }
        let differing = got
            .chunks(4)
            .zip(want.chunks(4))
            .filter(|(a, b)| a.iter().zip(b.iter()).any(|(x, y)| x.abs_diff(*y) > 48))
            .count();
        let share = differing as f64 / (w1 * h1) as f64;
        if share > 0.002 {
            let out = std::env::temp_dir().join(format!("publish-{name}.png"));
            std::fs::write(&out, &png).unwrap();
            failures.push(format!(
                "{name}: {:.2}% of pixels differ (new render in {})",
                share * 100.0,
                out.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\nif the change is intended: PUBLISH_ACCEPT=1"
    );
}

#[test]
fn cover_png_is_about_1600_pixels_high() {
    let (_book, ctx) = context();
    let png = publish::write::pdf::render_cover_png(&ctx).expect("a cover");
    // To look at it: PUBLISH_SAVE_COVER=/tmp/cover.png cargo test --release --test pdf cover
    if let Ok(path) = std::env::var("PUBLISH_SAVE_COVER") {
        std::fs::write(path, &png).unwrap();
    }
    let (w, h, px) = decode(&png);
    assert!((1590..=1610).contains(&h), "height {h}");
    assert!(w > 1000 && w < h, "portrait: {w}×{h}");
    // Not a blank page: the title is drawn in a colour different from the background.
    let first = &px[..4];
    assert!(px.chunks(4).any(|p| p != first), "the cover is blank");
}

/// Markdown features (emphasis, notes, lists, quote, code, breaks) typeset without typst
/// warnings; parts open on recto (odd) pages; blank versos carry no folio.
#[test]
fn markdown_features_and_recto_parts() {
    if !tools() {
        return;
    }
    let book = book_from_dir(&fixture("pdf/features"));
    let out = publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("[typst]"), "typst warned: {stderr}");
    let pdf = book.path().join("output/book.pdf");
    let layer = pdftotext(&pdf, false);
    let pages: Vec<String> = layer.split('\u{c}').map(normalise).collect();
    let opening = |label: &str| {
        pages
            .iter()
            .rposition(|p| p.starts_with(&normalise(label)))
            .unwrap_or_else(|| panic!("no page opens with {label}: {pages:#?}"))
            + 1
    };
    let third = opening("الجزء الثالث");
    let fourth = opening("الجزء الرابع");
    assert!(
        third % 2 == 1 && fourth % 2 == 1,
        "parts on pages {third} and {fourth}"
    );
    // The contents lists both parts with their pages in Arabic-Indic digits.
    let contents = &pages[2];
    assert!(contents.starts_with("المحتويات"), "{contents}");
    let digit = |n: usize| char::from_u32(0x0660 + n as u32).unwrap();
    assert!(
        contents.contains(digit(third)) && contents.contains(digit(fourth)),
        "{contents}"
    );
    // A blank verso before a part has no folio or running head.
    assert!(
        fourth > third + 1 && pages[fourth - 2].is_empty(),
        "{:?}",
        pages[fourth - 2]
    );
    // Footnotes, list numbers in configured digits with no `.`, code as typed.
    // (Content-stream order: poppler's own reordering of mixed lines would scramble these.)
    let all = normalise(&layer) + &normalise(&pdftotext(&pdf, true));
    for want in [
        "نصالحاشية.",
        "حاشيةالجزءالرابع.",
        "١-",
        "٢-",
        "fnmain(){}",
        "تأكيد",
        "***",
    ] {
        assert!(all.contains(want), "missing {want}: {all}");
    }
    let chars: Vec<char> = all.chars().collect();
    let indic = |c: char| ('\u{0660}'..='\u{0669}').contains(&c);
    assert!(
        !chars
            .windows(3)
            .any(|w| indic(w[0]) && w[1] == '.' && indic(w[2])),
        "`.` between Arabic-Indic digits (reads as ٠ in Amiri)"
    );
}

#[test]
fn cover_with_a_missing_glyph_is_an_error() {
    let (_book, mut ctx) = context();
    ctx.book.meta.title = "كتاب 漢".into();
    let err = publish::write::pdf::render_cover_png(&ctx).expect_err("no tofu on covers");
    assert_eq!(err.code, "missing-glyph");
    assert!(err.message.contains("U+6F22"), "{}", err.message);
}

#[test]
fn digits_labels_and_accessibility_standard_from_the_config() {
    if !tools() {
        return;
    }
    let book = seed_book();
    std::fs::write(
        book.path().join("publish.toml"),
        "[book]\ndigits = \"western\"\npart-label = \"number\"\nkeywords = [\"تاريخ\", \"Mosul\"]\n\
         subtitle = \"دراسة\"\n[pdf]\nstandard = [\"a-2a\", \"ua-1\"]\n",
    )
    .unwrap();
    let pdf = build_pdf(book.path());
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-f", "3", "-l", "3"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let contents = normalise(&String::from_utf8_lossy(&out.stdout));
    assert!(contents.contains("المحتويات"), "{contents}");
    assert!(
        contents.contains("14") && contents.contains('5'),
        "{contents}"
    );
    assert!(
        !contents
            .chars()
            .any(|c| ('\u{0660}'..='\u{0669}').contains(&c)),
        "{contents}"
    );
    let meta = run("pdfinfo", &["-meta"], &pdf);
    assert!(meta.contains("pdfuaid:part"), "{meta}");
    let info = run("pdfinfo", &[], &pdf);
    assert!(info.contains("Keywords:        تاريخ, Mosul"), "{info}");
    assert!(info.contains("Subject:         دراسة"), "{info}");

    // Two PDF/A parts at once cannot be met: an error, not a silent choice.
    std::fs::write(
        book.path().join("publish.toml"),
        "[pdf]\nstandard = [\"a-2u\", \"a-3b\"]\n",
    )
    .unwrap();
    let out = publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("at most one PDF/A"), "{stderr}");
}

/// A theme's template can override the default, but our World still serves nothing from disk:
/// a template error or a `read` of a system file is a diagnostic naming the template line.
#[test]
fn template_errors_are_diagnostics_and_the_disk_is_closed() {
    for (template, want) in [
        ("#let x = (\n", "themes/default/book.typ:1:"),
        (
            "#let data = json(\"/publish/book.json\")\n#read(\"/etc/passwd\")\n",
            "themes/default/book.typ:2:",
        ),
        (
            "\n\n#image(\"../../sources/000.txt\")\n",
            "themes/default/book.typ:3:",
        ),
    ] {
        let book = seed_book();
        let theme = book.path().join("themes/default");
        std::fs::create_dir_all(&theme).unwrap();
        std::fs::write(theme.join("book.typ"), template).unwrap();
        let out = publish()
            .args(["--format", "pdf", "--book"])
            .arg(book.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{template}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains(want) && stderr.contains("[typst]"),
            "{template}: {stderr}"
        );
        assert!(!book.path().join("output/book.pdf").exists());
    }
}

mod never_panics {
    use super::context;
    use proptest::prelude::*;
    use publish::model::{Block, Inline, Span};

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,40}",
            "[#*$@<>\\[\\]\\\\/_`'\"a-z0-9 ءابتثجحخدذرزسشصضطظعغفقكلمنهوي\u{064B}-\u{0652}\u{200c}\u{200f}\u{202e}\u{2067}]{0,60}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        /// Any text, link target or list start gives a PDF or diagnostics, never a panic.
        #[test]
        fn any_text_renders_or_reports(
            a in text(), b in text(), url in "\\PC{0,12}", start in any::<u64>()
        ) {
            let (_book, mut ctx) = context();
            let s = Span { start: 0, end: 1, line: 7 };
            let para = Block::Para {
                content: vec![
                    Inline::text(a.clone(), s),
                    Inline::Link { url, content: vec![Inline::text(b.clone(), s)], span: s },
                    Inline::Code { text: b, span: s },
                ],
                span: s,
            };
            let list = Block::List {
                start: Some(start),
                items: vec![vec![Block::Para { content: vec![Inline::text(a, s)], span: s }]],
                span: s,
            };
            ctx.book.parts[0].blocks = vec![para, list];
            let r = publish::write::pdf::render(&ctx);
            match r.artifact {
                Some(publish::write::Artifact::File { bytes, .. }) => {
                    prop_assert!(bytes.starts_with(b"%PDF-"));
                }
                Some(_) => prop_assert!(false, "a PDF is one file"),
                None => prop_assert!(r.diagnostics.iter().any(|d| d.is_error())),
            }
        }
    }
}

/// Text extents per page from `pdftotext -bbox-layout`: (min x, max x, page width).
fn extents(pdf: &Path) -> Vec<(f64, f64, f64)> {
    let html = run("pdftotext", &["-bbox-layout"], pdf);
    let html = if html.contains("<page") {
        html
    } else {
        std::fs::read_to_string(pdf.with_extension("html")).unwrap()
    };
    let attr = |s: &str, name: &str| -> f64 {
        let i = s.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        s[i..].split('"').next().unwrap().parse().unwrap()
    };
    html.split("<page ")
        .skip(1)
        .map(|page| {
            let width = attr(page, "width");
            let lines: Vec<&str> = page.split("<line ").skip(1).collect();
            let min = lines
                .iter()
                .map(|l| attr(l, "xMin"))
                .fold(f64::MAX, f64::min);
            let max = lines.iter().map(|l| attr(l, "xMax")).fold(0.0, f64::max);
            (min, max, width)
        })
        .collect()
}

/// Right binding: the inside margin is on the right of odd (recto) pages and on the left of
/// even ones. No running head or folio on the title page or a part's opening page.
#[test]
fn right_binding_running_heads_and_folios() {
    if !tools() {
        return;
    }
    let book = seed_book();
    let pdf = build_pdf(book.path());
    let pages = extents(&pdf);
    assert_eq!(
        pages.len(),
        7,
        "title, blank, contents, blank, part (2 pages), colophon"
    );
    let (l5, r5, w) = pages[4];
    let (l6, r6, _) = pages[5];
    let (right5, right6) = (w - r5, w - r6);
    assert!(
        right5 > l5 + 15.0,
        "odd page: inside (right) {right5:.1} vs outside {l5:.1}"
    );
    assert!(
        l6 > right6 + 15.0,
        "even page: inside (left) {l6:.1} vs outside {right6:.1}"
    );

    let layer = pdftotext(&pdf, false);
    let texts: Vec<String> = layer.split('\u{c}').map(normalise).collect();
    let title = normalise("وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار!");
    let indic = |s: &str| s.chars().any(|c| ('\u{0660}'..='\u{0669}').contains(&c));
    assert!(!indic(&texts[0]), "a folio on the title page: {}", texts[0]);
    assert!(
        texts[1].is_empty() && texts[3].is_empty(),
        "blank versos: {texts:?}"
    );
    assert!(
        !texts[4].contains(&title),
        "a running head on the part opening"
    );
    assert!(texts[4].ends_with('٥'), "folio ٥ on page 5: {}", texts[4]);
    // The even page carries the book title, the odd page after it would carry the part title.
    assert!(
        texts[5].starts_with(&title),
        "running head on page 6: {}",
        texts[5]
    );
    assert!(texts[5].ends_with('٦'), "folio ٦ on page 6: {}", texts[5]);
}

/// A theme whose fonts cannot show the generated part labels or digits is named as the cause.
#[test]
fn theme_fonts_must_cover_generated_text() {
    let book = seed_book();
    let theme = book.path().join("themes/default");
    std::fs::create_dir_all(&theme).unwrap();
    std::fs::write(
        theme.join("theme.toml"),
        "[fonts]\nfiles = [\"fonts/NotoSansMono-Regular.ttf\"]\nbody = [\"Noto Sans Mono\"]\ncode = [\"Noto Sans Mono\"]\n",
    )
    .unwrap();
    let out = publish()
        .args(["check", "--format", "pdf", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr
            .contains("themes/default/theme.toml: error: no font of the theme has a glyph for «٠»"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sources/000_45698de3c11125b4.txt:7:"),
        "{stderr}"
    );
}

/// A contents of several pages is right, and typst lays the book out in two passes, not three:
/// the contents keeps its length on the first pass, so no page moves after it (each further
/// pass re-lays the whole book). The passes are read from typst's own trace.
#[test]
fn long_contents_is_right_after_two_layout_passes() {
    if !tools() {
        return;
    }
    let parts: Vec<(String, Vec<u8>)> = (1..=150)
        .map(|n| {
            let title = if n == 150 { "الفصل الأخير" } else { "فصل من الفصول" };
            let text = format!(
                "+++\ntitle = \"{title}\"\npart = {n}\nseries = \"كتاب الفهرس الطويل\"\n+++\n\nفقرة قصيرة في الفصل.\n"
            );
            (format!("{n:03}.md"), text.into_bytes())
        })
        .collect();
    let files: Vec<(&str, &[u8])> = parts.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
    let book = book_with(&files);
    let trace = book.path().join("trace.json");
    publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .env("PUBLISH_TYPST_TRACE", &trace)
        .assert()
        .success();
    let events: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    let passes = events
        .iter()
        .filter(|e| e["ph"] == "B" && e["name"].as_str().is_some_and(|n| n.starts_with("iter (")))
        .count();
    assert_eq!(passes, 2, "typst layout passes");

    let pdf = book.path().join("output").join("book.pdf");
    let texts: Vec<String> = pdftotext(&pdf, false)
        .split('\u{c}')
        .map(normalise)
        .collect();
    let last = normalise("الفصل الأخير");
    let holding: Vec<usize> = (0..texts.len())
        .filter(|&i| texts[i].contains(&last))
        .collect();
    assert_eq!(
        holding.len(),
        2,
        "one contents page and the part itself: {holding:?}"
    );
    let (contents, opening) = (holding[0], holding[1] + 1);
    assert!(
        contents >= 6,
        "the contents spans several pages (ends on page {})",
        contents + 1
    );
    // The entry reads «label: title ..... folio»; the folio is in Arabic-Indic digits.
    let entry = &texts[contents][texts[contents].find(&last).unwrap()..];
    let folio: String = entry
        .chars()
        .skip_while(|c| !('٠'..='٩').contains(c))
        .take_while(|c| ('٠'..='٩').contains(c))
        .map(|c| char::from(b'0' + (c as u32 - 0x660) as u8))
        .collect();
    assert_eq!(folio, opening.to_string(), "contents entry: {entry}");
}

/// Issue 12: the bookmarks list each part's sections (its `##` headings) under the part, on
/// the part's pages; deeper headings are not bookmarked; the parts are titled by their `#`
/// headings, not by the series name their front matter repeats.
#[test]
fn bookmarks_list_sections_under_their_parts() {
    if !tools() {
        return;
    }
    let book = book_from_dir(&fixture("toc"));
    let pdf = build_pdf(book.path());
    let json: serde_json::Value =
        serde_json::from_str(&run("qpdf", &["--json", "--json-key=outlines"], &pdf)).unwrap();
    let outlines = json["outlines"].as_array().expect("outlines");
    let tree: Vec<(String, Vec<String>)> = outlines
        .iter()
        .map(|o| {
            (
                o["title"].as_str().unwrap().to_owned(),
                o["kids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| {
                        assert_eq!(k["kids"], serde_json::json!([]), "too deep: {k}");
                        k["title"].as_str().unwrap().to_owned()
                    })
                    .collect(),
            )
        })
        .collect();
    let expected: Vec<(String, Vec<String>)> = [
        (
            "البداية في الموصل",
            vec!["المدينة القديمة", "الجسور على النهر"],
        ),
        (
            "الطريق إلى الرقة",
            vec!["عبور الصحراء", "The Euphrates crossing", "الوصول"],
        ),
        ("العودة", vec![]),
    ]
    .into_iter()
    .map(|(t, k)| (t.to_owned(), k.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(tree, expected);
    // Each section bookmark points at the page its heading is printed on.
    for part in outlines {
        for kid in part["kids"].as_array().unwrap() {
            let page = kid["destpageposfrom1"].as_u64().unwrap().to_string();
            let text = Command::new("pdftotext")
                .args(["-enc", "UTF-8", "-f", &page, "-l", &page])
                .arg(&pdf)
                .arg("-")
                .output()
                .unwrap();
            let text = String::from_utf8(text.stdout).unwrap();
            let title = kid["title"].as_str().unwrap();
            // Arabic comes out of pdftotext in logical order; compare without spaces.
            let squash = |s: &str| s.split_whitespace().collect::<String>();
            assert!(
                squash(&text).contains(&squash(title)),
                "{title} is not on page {page}:\n{text}"
            );
        }
    }
}
