//! Reader golden tests: every fixture in `tests/fixtures/read/` → model + diagnostics as JSON,
//! compared with a reviewed snapshot in `tests/snapshots/` (update with `cargo insta review`,
//! or `INSTA_UPDATE=always cargo test --release --test read` and review the diff).

use publish::model::{Digits, LabelStyle};
use publish::read::{self, Format, arabic};
use publish::theme::Theme;

fn read_fixture(path: &std::path::Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    let format = Format::from_path(path).unwrap();
    let theme = Theme::builtin();
    let result = read::read_bytes(
        &bytes,
        &format!("sources/{name}"),
        format,
        &theme.config.junk,
    );
    serde_json::json!({ "part": result.part, "diagnostics": result.diagnostics })
}

#[test]
fn reader_golden_files() {
    insta::glob!("fixtures/read/*.*", |path| {
        insta::assert_json_snapshot!(read_fixture(path));
    });
}

#[test]
fn seed_reads_as_part_14_without_junk() {
    let v = read_fixture(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sources/000_45698de3c11125b4.txt"),
    );
    assert_eq!(v["part"]["number"], 14);
    assert_eq!(v["part"]["author"], "عزيز جلال");
    assert_eq!(v["part"]["title"][0]["text"], "من الموصل إلى سقوط الرقة");
    let text = v["part"]["blocks"].to_string();
    assert!(!text.contains("Exit mobile version"));
    assert!(
        text.contains("تدريجيًا"),
        "text kept exactly, tanween included"
    );
    let diags = v["diagnostics"].as_array().unwrap();
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "junk-removed" && d["line"] == 21)
    );
}

/// A 200 KB single paragraph is read as one paragraph, quickly and whole.
#[test]
fn huge_paragraph() {
    let sentence = "هذه جملة طويلة تتكرر كثيرًا في فقرة واحدة ضخمة جدًا، ";
    let mut body = String::new();
    while body.len() < 200_000 {
        body.push_str(sentence);
    }
    body.push('.');
    let text = format!("سلسلة الجزء الأول\n\nكاتب\n\nعنوان\n\n{body}\n");
    let theme = Theme::builtin();
    let r = read::read_bytes(
        text.as_bytes(),
        "sources/huge.txt",
        Format::Raw,
        &theme.config.junk,
    );
    let part = r.part.expect("part");
    assert_eq!(part.blocks.len(), 1);
    let publish::model::Block::Para { content, .. } = &part.blocks[0] else {
        panic!("not a paragraph")
    };
    assert_eq!(publish::model::Inline::plain(content), body);
}

/// Ordinal words 1–100 as the labels write them, and the traps between similar words.
#[test]
fn ordinal_table() {
    for n in 1..=100u32 {
        let words = arabic::ordinal_words(n).unwrap();
        let m = arabic::parse_number(&words).unwrap_or_else(|| panic!("{n}: {words} not parsed"));
        assert_eq!((m.value, m.len), (n, words.len()), "{words}");
        // Without «ال», with the marker glued, and with hamza dropped.
        let bare: Vec<String> = words
            .split(' ')
            .map(|w| match (w.strip_prefix("وال"), w.strip_prefix("ال")) {
                (Some(rest), _) => format!("و{rest}"),
                (None, Some(rest)) => rest.to_owned(),
                _ => w.to_owned(),
            })
            .collect();
        let bare = bare.join(" ");
        assert_eq!(
            arabic::parse_number(&bare).map(|m| m.value),
            Some(n),
            "{bare}"
        );
        let plain = words.replace('أ', "ا");
        assert_eq!(
            arabic::parse_number(&plain).map(|m| m.value),
            Some(n),
            "{plain}"
        );
        let line = format!("عنوان السلسلة الجزء{words}");
        let (_, end) = arabic::find_marker(&line).expect("marker");
        assert_eq!(
            arabic::parse_number(&line[end..]).map(|m| m.value),
            Some(n),
            "{line}"
        );
    }
    for (text, n) in [
        ("الثاني", 2),
        ("الثاني عشر", 12),
        ("الحادي عشر", 11),
        ("الحادية عشرة", 11),
        ("الثانية عشرة", 12),
        ("العاشر", 10),
        ("العشرون", 20),
        ("الحادي والعشرون", 21),
        ("الحادي و العشرين", 21),
        ("الأولى", 1),
        ("الاول", 1),
        ("المئة", 100),
        ("المائة", 100),
        ("ثلاثة", 3),
        ("14", 14),
        ("١٤", 14),
        ("۱۴", 14),
        ("رقم 7", 7),
        ("الثالثة: عنوان", 3),
    ] {
        assert_eq!(
            arabic::parse_number(text).map(|m| m.value),
            Some(n),
            "{text}"
        );
    }
    for text in ["الحادي", "عنوان", "", "الجزء"] {
        assert_eq!(arabic::parse_number(text), None, "{text}");
    }
    assert_eq!(
        arabic::part_label(Some(14), LabelStyle::Words, Digits::ArabicIndic),
        "الجزء الرابع عشر"
    );
    assert_eq!(
        arabic::part_label(Some(14), LabelStyle::Number, Digits::ArabicIndic),
        "الجزء ١٤"
    );
    assert_eq!(
        arabic::part_label(Some(101), LabelStyle::Words, Digits::Western),
        "الجزء 101"
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

        /// Any bytes → a part or diagnostics; never a panic, for either reader.
        #[test]
        fn readers_accept_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let theme = Theme::builtin();
            for format in [Format::Raw, Format::Markdown] {
                let r = read::read_bytes(&bytes, "sources/x", format, &theme.config.junk);
                prop_assert!(r.part.is_some() || r.diagnostics.iter().any(|d| d.is_error()));
            }
        }

        /// Text made of the characters that matter to the readers (markers, ordinals, Markdown
        /// syntax, fences, bidi controls) never panics either.
        #[test]
        fn readers_accept_any_text(s in "(الجزء|الرابع|عشر|و|ال|١٤|\\+\\+\\+|---|\\n|\\r|#|\\*|\\[\\^1\\]|\\[|\\]|\\(|\\)|>|-|`|\u{202E}|\u{200C}| |a|ـ|Exit mobile version|شارك هذا المقال|Facebook){0,60}") {
            let theme = Theme::builtin();
            for format in [Format::Raw, Format::Markdown] {
                let r = read::read_bytes(s.as_bytes(), "sources/x", format, &theme.config.junk);
                prop_assert!(r.part.is_some() || r.diagnostics.iter().any(|d| d.is_error()));
            }
        }
    }
}

/// Read every Markdown part of a fixture folder and assemble the series.
fn assemble_dir(dir: &std::path::Path) -> publish::model::Book {
    let theme = Theme::builtin();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let parts = files
        .iter()
        .filter_map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            read::read_bytes(
                &std::fs::read(p).unwrap(),
                &format!("sources/{name}"),
                Format::from_path(p).unwrap(),
                &theme.config.junk,
            )
            .part
        })
        .collect();
    let date = read::series::BuildDate {
        date: "2026-01-01".into(),
        timestamp: 1_767_225_600,
    };
    read::series::assemble(parts, &Default::default(), date).0
}

/// The headings of the model's level 1 (the sections) of each part, as plain text.
fn sections(book: &publish::model::Book) -> Vec<Vec<String>> {
    book.parts
        .iter()
        .map(|p| {
            p.blocks
                .iter()
                .filter_map(|b| match b {
                    publish::model::Block::Heading {
                        level: 1, content, ..
                    } => Some(publish::model::Inline::plain(content)),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// Issue 12: parts whose front matter all give the series name as `title` take their `#`
/// heading as title; the shared title names the book; `##` sections become level 1.
#[test]
fn shared_front_matter_title_is_the_series_and_hash_headings_title_the_parts() {
    let book = assemble_dir(&common_fixture("toc"));
    let titles: Vec<String> = book.parts.iter().map(|p| p.title_text()).collect();
    assert_eq!(titles, ["البداية في الموصل", "الطريق إلى الرقة", "العودة"]);
    assert_eq!(book.meta.title, "رحلة الفهرس");
    assert_eq!(
        sections(&book),
        [
            vec!["المدينة القديمة", "الجسور على النهر"],
            vec!["عبور الصحراء", "The Euphrates crossing", "الوصول"],
            vec![],
        ]
    );
    // The `###` heading is one level below the sections.
    let levels: Vec<u8> = book.parts[0]
        .blocks
        .iter()
        .filter_map(|b| match b {
            publish::model::Block::Heading { level, .. } => Some(*level),
            _ => None,
        })
        .collect();
    assert_eq!(levels, [1, 2, 1]);
    assert!(book.parts.iter().all(|p| !p.leading_heading));
}

/// Titles that differ are the parts' own: a `#` heading under one stays in the body.
#[test]
fn distinct_front_matter_titles_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    for (n, title) in [(1, "أ"), (2, "ب")] {
        std::fs::write(
            dir.path().join(format!("0{n}.md")),
            format!(
                "+++\ntitle = \"{title}\"\npart = {n}\n+++\n\n# عنوان\n\nنص.\n\n## قسم\n\nنص.\n"
            ),
        )
        .unwrap();
    }
    let book = assemble_dir(dir.path());
    let titles: Vec<String> = book.parts.iter().map(|p| p.title_text()).collect();
    assert_eq!(titles, ["أ", "ب"]);
    assert_eq!(sections(&book)[0], ["عنوان"]);
    // One part alone: its title is its own even with a `#` heading.
    std::fs::remove_file(dir.path().join("02.md")).unwrap();
    let one = assemble_dir(dir.path());
    assert_eq!(one.parts[0].title_text(), "أ");
}

fn common_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// With a `series` in the front matter, the book keeps that name; the shared `title` still
/// gives way to the parts' `#` headings, and a part without one keeps it.
#[test]
fn shared_title_with_named_series() {
    let dir = tempfile::tempdir().unwrap();
    for (n, heading) in [(1, "# الأول\n\n"), (2, "# الثاني\n\n"), (3, "")] {
        std::fs::write(
            dir.path().join(format!("0{n}.md")),
            format!(
                "+++\ntitle = \"العنوان المشترك\"\nseries = \"السلسلة\"\npart = {n}\n+++\n\n{heading}نص.\n"
            ),
        )
        .unwrap();
    }
    let book = assemble_dir(dir.path());
    let titles: Vec<String> = book.parts.iter().map(|p| p.title_text()).collect();
    assert_eq!(titles, ["الأول", "الثاني", "العنوان المشترك"]);
    assert_eq!(book.meta.title, "السلسلة");
}
